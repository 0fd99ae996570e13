// berth's embedded state store: one JSON file per object under <data-root>/state/<kind>/.
// Writes go to a temporary file that is fsynced and renamed over the old one (then the
// directory is fsynced), so a crash or a power loss leaves either the old record or the new
// one, never a torn file. Writes of one object are applied in the order they were asked for,
// each from a copy taken when it was asked, so racing writers never interleave or reorder.
// A write that fails (ENOSPC, EIO) leaves the old record and no temporary file behind, and
// says which object it could not write.
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';

/** A failed write of the state, worded for the user: what could not be recorded and why. */
export class StoreError extends Error {
  constructor(readonly kind: string, readonly id: string, readonly cause: NodeJS.ErrnoException) {
    super(`cannot record ${kind.replace(/s$/, '')} ${id.slice(0, 12)} in the state directory: ${cause.code ?? ''}${cause.code ? ': ' : ''}${describe(cause)}`);
  }
}

function describe(e: NodeJS.ErrnoException): string {
  if (e.code === 'ENOSPC') return 'no space left on device';
  if (e.code === 'EDQUOT') return 'disk quota exceeded';
  if (e.code === 'EIO') return 'input/output error';
  if (e.code === 'EROFS') return 'read-only file system';
  return e.message;
}

export class Store {
  /** The last write of each object, so the next one waits for it. */
  private readonly tails = new Map<string, Promise<void>>();

  constructor(private readonly dir: string) {}

  private kindDir(kind: string): string { return path.join(this.dir, kind); }

  async loadAll<T>(kind: string): Promise<T[]> {
    const dir = this.kindDir(kind);
    await fs.mkdir(dir, { recursive: true });
    const out: T[] = [];
    for (const f of await fs.readdir(dir)) {
      if (!f.endsWith('.json')) {
        if (f.endsWith('.tmp')) await fs.rm(path.join(dir, f), { force: true }); // a write cut short
        continue;
      }
      try {
        out.push(JSON.parse(await fs.readFile(path.join(dir, f), 'utf8')) as T);
      } catch (e) {
        process.stderr.write(`berthd: skipping unreadable state file ${f}: ${(e as Error).message}\n`);
      }
    }
    return out;
  }

  /** One object, or null when there is none (or it cannot be read). */
  async get<T>(kind: string, id: string): Promise<T | null> {
    try {
      return JSON.parse(await fs.readFile(path.join(this.kindDir(kind), `${id}.json`), 'utf8')) as T;
    } catch {
      return null;
    }
  }

  /** Record `obj` as it is now (serialized at once: later changes to it are not written). */
  put(kind: string, id: string, obj: unknown): Promise<void> {
    const text = JSON.stringify(obj); // throws before anything is written if obj cannot be saved
    return this.serial(kind, id, () => this.write(kind, id, text));
  }

  delete(kind: string, id: string): Promise<void> {
    return this.serial(kind, id, async () => {
      await fs.rm(path.join(this.kindDir(kind), `${id}.json`), { force: true });
    });
  }

  private serial(kind: string, id: string, op: () => Promise<void>): Promise<void> {
    const key = `${kind}/${id}`;
    const prev = this.tails.get(key) ?? Promise.resolve();
    const next = prev.then(op, op);
    const tail = next.catch(() => undefined);
    this.tails.set(key, tail);
    void tail.then(() => { if (this.tails.get(key) === tail) this.tails.delete(key); });
    return next;
  }

  private async write(kind: string, id: string, text: string): Promise<void> {
    const dir = this.kindDir(kind);
    const file = path.join(dir, `${id}.json`);
    const tmp = `${file}.${randomBytes(4).toString('hex')}.tmp`;
    try {
      await fs.mkdir(dir, { recursive: true });
      const fh = await fs.open(tmp, 'w');
      try {
        await fh.writeFile(text);
        await fh.sync();
      } finally {
        await fh.close();
      }
      await fs.rename(tmp, file);
    } catch (e) {
      await fs.rm(tmp, { force: true }).catch(() => undefined);
      throw new StoreError(kind, id, e as NodeJS.ErrnoException);
    }
    await syncDir(dir);
  }
}

/** fsync a directory, so a rename in it survives a power loss. */
async function syncDir(dir: string): Promise<void> {
  const fh = await fs.open(dir, 'r').catch(() => null);
  if (!fh) return;
  await fh.sync().catch(() => undefined);
  await fh.close().catch(() => undefined);
}
