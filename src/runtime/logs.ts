// Following a container's log file from a position until a promise says the writer is gone
// (then the rest is drained and the stream ends).
import { promises as fs, watch, type FSWatcher } from 'node:fs';
import { Readable } from 'node:stream';

/**
 * A stream of `file`'s bytes from `start`. Without `until` it ends at the current end of the
 * file; with it, it keeps following (inotify, plus a slow poll as a fallback) until `until`
 * settles, then drains what is left and ends. Destroying the stream stops the follower.
 */
export function followFile(file: string, start: number, until?: Promise<unknown>): Readable {
  let pos = start;
  let fh: fs.FileHandle | null = null;
  let watcher: FSWatcher | null = null;
  let timer: NodeJS.Timeout | null = null;
  let finished = until === undefined;
  let wake: (() => void) | null = null;
  let closed = false;
  const poke = () => { const w = wake; wake = null; w?.(); };
  until?.then(() => { finished = true; poke(); }, () => { finished = true; poke(); });

  const cleanup = async () => {
    closed = true;
    watcher?.close(); watcher = null;
    if (timer) clearInterval(timer); timer = null;
    poke();
    const h = fh; fh = null;
    await h?.close().catch(() => undefined);
  };

  const readSome = async (): Promise<Buffer | null> => {
    if (!fh) fh = await fs.open(file, 'r').catch(() => null);
    if (!fh) return null;
    const buf = Buffer.alloc(64 * 1024);
    const { bytesRead } = await fh.read(buf, 0, buf.length, pos);
    pos += bytesRead;
    return bytesRead ? buf.subarray(0, bytesRead) : null;
  };

  let busy = false;
  const stream = new Readable({
    read() {
      if (busy) return;
      busy = true;
      (async () => {
        try {
          for (;;) {
            if (closed) return;
            const wasFinished = finished;
            const chunk = await readSome();
            if (chunk) { if (!stream.push(chunk)) return; continue; }
            if (wasFinished) { await cleanup(); stream.push(null); return; }
            if (!watcher && !timer) {
              try { watcher = watch(file, () => poke()); } catch { /* file not there yet: the poll covers it */ }
              timer = setInterval(poke, 250);
            }
            await new Promise<void>((r) => { wake = r; });
          }
        } catch (e) {
          stream.destroy(e as Error);
        } finally {
          busy = false;
        }
      })();
    },
    destroy(err, cb) { cleanup().then(() => cb(err), () => cb(err)); },
  });
  return stream;
}
