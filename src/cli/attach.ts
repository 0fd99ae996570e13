// Terminal side of attach and exec: copies the hijacked stream to stdout/stderr (demuxing when
// there is no TTY), the CLI's stdin to the stream (half-closing on EOF), raw mode and resize
// for TTYs.
import type { Duplex } from 'node:stream';
import { Client, copyOutput } from './client';

interface Session {
  socket: Duplex;
  multiplexed: boolean;
  head: Buffer;
}

interface PumpOptions { stdin: boolean; tty: boolean }

/**
 * Runs the I/O of a hijacked session until the daemon ends the output. Returns when all output
 * was written. Stdin is copied when asked; its EOF half-closes the connection so the process
 * sees EOF too.
 */
export async function pumpSession(s: Session, opts: PumpOptions): Promise<void> {
  const stdin = process.stdin;
  const raw = opts.tty && opts.stdin && stdin.isTTY;
  if (raw) stdin.setRawMode(true);
  let onData: ((c: Buffer) => void) | null = null;
  if (opts.stdin) {
    onData = (c: Buffer) => { s.socket.write(c); };
    stdin.on('data', onData);
    stdin.once('end', () => {
      const sock = s.socket as Duplex & { end: () => void };
      // Half-close: the daemon closes the process's stdin and keeps sending output.
      try { sock.end(); } catch { /* gone */ }
    });
    stdin.resume();
  }
  try {
    await copyOutput(s.socket, s.multiplexed, process.stdout, process.stderr, s.head);
  } finally {
    if (raw) stdin.setRawMode(false);
    if (onData) { stdin.removeListener('data', onData); stdin.pause(); }
    // Let the event loop finish: stdin no longer keeps the process alive.
    if (opts.stdin) (stdin as any).unref?.();
  }
}

/** Keeps the remote TTY's size in step with ours. */
export function watchResize(client: Client, path: string): () => void {
  const out = process.stdout;
  if (!out.isTTY) return () => undefined;
  const send = () => {
    client.request('POST', path, { query: { h: out.rows, w: out.columns } }).catch(() => undefined);
  };
  send();
  process.on('SIGWINCH', send);
  return () => { process.removeListener('SIGWINCH', send); };
}
