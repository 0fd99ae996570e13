// A client of a unix SOCK_SEQPACKET socket: how berthd feeds a container's stdin through
// conmon's attach socket. Node's net module makes only stream sockets, so the socket is made and
// connected through libc (koffi) and then handed to a net.Socket by its fd (libuv reads and
// writes a seqpacket socket as it would a stream: one read, one packet). What conmon sends back
// (the container's output) is read and dropped, as it must be: conmon writes it blocking, and
// berthd takes output from the log file instead.
import { closeSync, openSync } from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { getSystemErrorName } from 'node:util';
import { libc as load } from './libc';

const AF_UNIX = 1, SOCK_SEQPACKET = 5, SOCK_CLOEXEC = 0o2000000;
/** conmon reads one packet into a 32 KiB buffer: keep packets well under it. */
const PACKET = 16 * 1024;

export class SeqpacketWriter {
  private readonly sock: net.Socket;
  private gone = false;

  private constructor(sock: net.Socket) {
    this.sock = sock;
    sock.on('data', () => undefined);
    sock.on('error', () => { this.gone = true; });
    sock.on('close', () => { this.gone = true; });
  }

  /**
   * Connect to the socket at `socketPath`. The path is reached through /proc/self/fd of its
   * directory, so it may be longer than a sockaddr_un holds (a container's bundle path can be).
   */
  static connect(socketPath: string): SeqpacketWriter {
    const c = load();
    const dir = openSync(path.dirname(socketPath), 'r');
    const fd = c.socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    try {
      if (fd < 0) throw sysError('socket', c.errno(), socketPath);
      const name = Buffer.from(`/proc/self/fd/${dir}/${path.basename(socketPath)}\0`);
      if (name.length > 108) throw new Error(`socket name too long: ${socketPath}`);
      const bytes = [...name, ...new Array(108 - name.length).fill(0)];
      if (c.connect(fd, { family: AF_UNIX, path: bytes }, 110) !== 0) throw sysError('connect', c.errno(), socketPath);
      // eslint-disable-next-line @typescript-eslint/no-var-requires
      const { Pipe, constants } = (process as any).binding('pipe_wrap');
      const handle = new Pipe(constants.SOCKET);
      const err = handle.open(fd);
      if (err) throw sysError('open', -err, socketPath);
      return new SeqpacketWriter(new net.Socket({ handle, readable: true, writable: true } as any));
    } catch (e) {
      if (fd >= 0) c.close(fd);
      throw e;
    } finally {
      closeSync(dir);
    }
  }

  /** Send `data` in packets, in order with earlier writes; resolves when the socket took them. */
  async write(data: Buffer): Promise<void> {
    for (let off = 0; off < data.length && !this.gone; off += PACKET) {
      const chunk = data.subarray(off, off + PACKET);
      await new Promise<void>((resolve) => this.sock.write(chunk, () => resolve()));
    }
  }

  /** No more input: the peer reads end-of-file (conmon then closes a stdin-once container's stdin). */
  async end(): Promise<void> {
    if (this.gone) return;
    await new Promise<void>((resolve) => this.sock.end(() => resolve()));
  }

  close(): void {
    this.gone = true;
    this.sock.destroy();
  }

  get closed(): boolean { return this.gone; }
}

function sysError(call: string, errno: number, what: string): Error {
  let name = `errno ${errno}`;
  try { name = `${getSystemErrorName(-errno)} (errno ${errno})`; } catch { /* unknown to Node */ }
  const e = new Error(`${call} ${what}: ${name}`) as NodeJS.ErrnoException;
  e.errno = errno;
  return e;
}
