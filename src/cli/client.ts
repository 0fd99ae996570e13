// A small Docker Engine API client over node:http on a unix socket: JSON requests, streamed
// responses, and hijacked (upgraded) connections for attach and exec.
import * as http from 'node:http';
import type { Duplex, Readable } from 'node:stream';
import { Demuxer } from '../api/stdstream';

/** An error answer from the daemon: docker prints it as "Error response from daemon: ...". */
export class DaemonError extends Error {
  constructor(public readonly status: number, message: string) { super(message); }
}

/** The daemon could not be reached at all. */
export class ConnectError extends Error {}

type Query = Record<string, string | number | boolean | undefined | string[]>;

function buildPath(path: string, query: Query = {}): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) {
    if (v === undefined) continue;
    if (Array.isArray(v)) for (const e of v) q.append(k, e);
    else q.append(k, typeof v === 'boolean' ? (v ? '1' : '0') : String(v));
  }
  const s = q.toString();
  return s ? `${path}?${s}` : path;
}

export function socketPathOf(host: string): string {
  if (host.startsWith('unix://')) return host.slice('unix://'.length);
  if (host.startsWith('/')) return host;
  throw new Error(`unsupported host ${JSON.stringify(host)}: berth talks to unix:///path.sock`);
}

interface Response { status: number; headers: http.IncomingHttpHeaders; body: Buffer }

export class Client {
  constructor(public readonly socketPath: string, private readonly host: string = `unix://${socketPath}`) {}

  private connectError(e: NodeJS.ErrnoException): Error {
    if (e.code === 'ENOENT' || e.code === 'ECONNREFUSED') {
      return new ConnectError(`Cannot connect to the berth daemon at ${this.host}. Is the berth daemon running?`);
    }
    if (e.code === 'EACCES') {
      return new ConnectError(`permission denied while trying to connect to the berth daemon socket at ${this.host}`);
    }
    return new ConnectError(`error during connect: ${e.message}`);
  }

  /** Sends a request and returns the raw response (not yet read). */
  raw(method: string, path: string, opts: { query?: Query; body?: unknown; stream?: Readable; headers?: Record<string, string> } = {}): Promise<http.IncomingMessage> {
    return new Promise((resolve, reject) => {
      const headers: Record<string, string> = { ...(opts.headers ?? {}) };
      let payload: Buffer | undefined;
      if (opts.body !== undefined) {
        payload = Buffer.from(JSON.stringify(opts.body));
        headers['Content-Type'] = 'application/json';
        headers['Content-Length'] = String(payload.length);
      } else if (opts.stream) {
        headers['Content-Type'] ??= 'application/x-tar';
      } else if (method === 'POST' || method === 'PUT') {
        headers['Content-Length'] = '0';
      }
      const req = http.request({ socketPath: this.socketPath, method, path: buildPath(path, opts.query), headers });
      req.on('error', (e) => reject(this.connectError(e)));
      req.on('response', resolve);
      if (opts.stream) {
        opts.stream.on('error', (e) => req.destroy(e));
        opts.stream.pipe(req);
      } else {
        req.end(payload);
      }
    });
  }

  /** A request whose answer is read whole; non-2xx (other than 304) becomes a DaemonError. */
  async request(method: string, path: string, opts: { query?: Query; body?: unknown; stream?: Readable } = {}): Promise<Response> {
    const res = await this.raw(method, path, opts);
    const body = await readAll(res);
    const status = res.statusCode ?? 0;
    if (status >= 400) throw new DaemonError(status, errorMessage(body, status));
    return { status, headers: res.headers, body };
  }

  async json<T = any>(method: string, path: string, opts: { query?: Query; body?: unknown } = {}): Promise<T> {
    const r = await this.request(method, path, opts);
    const text = r.body.toString('utf8').trim();
    return (text ? JSON.parse(text) : undefined) as T;
  }

  async get<T = any>(path: string, query?: Query): Promise<T> { return this.json<T>('GET', path, { query }); }

  /** A streamed answer (logs, progress); throws DaemonError when the status is an error. */
  async stream(method: string, path: string, opts: { query?: Query; body?: unknown; stream?: Readable } = {}): Promise<http.IncomingMessage> {
    const res = await this.raw(method, path, opts);
    const status = res.statusCode ?? 0;
    if (status >= 400) throw new DaemonError(status, errorMessage(await readAll(res), status));
    return res;
  }

  /**
   * Upgrades the connection as the docker CLI does (`Connection: Upgrade`, `Upgrade: tcp`) and
   * returns the raw socket, plus whether the stream is multiplexed (no TTY).
   */
  hijack(path: string, opts: { query?: Query; body?: unknown } = {}): Promise<{ socket: Duplex; multiplexed: boolean; head: Buffer }> {
    return new Promise((resolve, reject) => {
      const payload = opts.body !== undefined ? Buffer.from(JSON.stringify(opts.body)) : Buffer.alloc(0);
      const req = http.request({
        socketPath: this.socketPath, method: 'POST', path: buildPath(path, opts.query),
        headers: {
          Connection: 'Upgrade', Upgrade: 'tcp', 'Content-Type': opts.body !== undefined ? 'application/json' : 'text/plain',
          'Content-Length': String(payload.length),
        },
      });
      req.on('error', (e) => reject(this.connectError(e)));
      req.on('upgrade', (res, socket, head) => {
        const ct = String(res.headers['content-type'] ?? '');
        resolve({ socket, multiplexed: ct.includes('multiplexed'), head });
      });
      req.on('response', async (res) => {
        // The daemon answered without upgrading: an error, or a plain streamed answer.
        const status = res.statusCode ?? 0;
        if (status >= 400) { reject(new DaemonError(status, errorMessage(await readAll(res), status))); return; }
        const ct = String(res.headers['content-type'] ?? '');
        resolve({ socket: res as unknown as Duplex, multiplexed: ct.includes('multiplexed'), head: Buffer.alloc(0) });
      });
      req.end(payload);
    });
  }
}

function readAll(stream: Readable): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.once('end', () => resolve(Buffer.concat(chunks)));
    stream.once('error', reject);
  });
}

function errorMessage(body: Buffer, status: number): string {
  const text = body.toString('utf8').trim();
  try {
    const j = JSON.parse(text);
    if (j && typeof j.message === 'string') return j.message;
  } catch { /* not JSON */ }
  return text || `${status} ${http.STATUS_CODES[status] ?? ''}`.trim();
}

/**
 * Copies a daemon output stream to stdout/stderr, demultiplexing when needed. Resolves when
 * the stream ends.
 */
export function copyOutput(src: Readable, multiplexed: boolean, stdout: NodeJS.WritableStream, stderr: NodeJS.WritableStream,
                           head: Buffer = Buffer.alloc(0)): Promise<void> {
  return new Promise((resolve) => {
    const demux = new Demuxer();
    const onData = (c: Buffer) => {
      if (!multiplexed) { stdout.write(c); return; }
      for (const f of demux.push(c)) (f.id === 2 ? stderr : stdout).write(f.data);
    };
    if (head.length) onData(head);
    src.on('data', onData);
    let done = false;
    const finish = () => { if (!done) { done = true; resolve(); } };
    src.once('end', finish);
    src.once('close', finish);
    src.once('error', finish);
  });
}

/** Reads a JSON-lines progress stream (import, load); returns the messages, throws on errorDetail. */
export async function readJsonMessages(res: Readable): Promise<any[]> {
  const text = (await readAll(res)).toString('utf8');
  const out: any[] = [];
  for (const line of text.split(/\r?\n/)) {
    if (!line.trim()) continue;
    let m: any;
    try { m = JSON.parse(line); } catch { continue; }
    if (m.errorDetail || m.error) throw new DaemonError(500, m.errorDetail?.message ?? m.error);
    out.push(m);
  }
  return out;
}
