// The Docker Engine API server: node:http on a unix socket. Routes live in routes.ts; this
// file owns the transport: version prefixes, errors as `{"message": ...}`, upgraded
// (hijacked) connections for attach/exec, and never letting a request crash the daemon.
import * as http from 'node:http';
import { promises as fs } from 'node:fs';
import * as net from 'node:net';
import type { Duplex } from 'node:stream';
import type { EngineApi } from '../engine/api';
import { ApiError } from '../engine/errors';
import { stripVersion, type ApiVersionRange } from './query';
import { ResponseReply, SocketReply, type Reply } from './reply';
import { matchRoute, type Ctx } from './routes';

export const MIN_API_VERSION = '1.24';
export const MAX_API_VERSION = '1.50';

export interface ApiServerOptions {
  socketPath: string;
  /** Prints one line per request (method, path, status) when set. */
  log?: (line: string) => void;
}

/** The API version berth speaks: the engine's, capped to what this server serves. */
function serverApiVersion(engine: EngineApi): string {
  try {
    const v = engine.version()?.ApiVersion;
    if (typeof v === 'string' && /^\d+\.\d+$/.test(v)) return v;
  } catch { /* fall through */ }
  return MAX_API_VERSION;
}

export function commonHeaders(engine: EngineApi): Record<string, string> {
  return {
    'Api-Version': serverApiVersion(engine),
    'Docker-Experimental': 'false',
    Ostype: 'linux',
    Server: `Docker/berth (linux)`,
  };
}

/** Handles one request, whichever transport it came on. Exported for tests. */
export async function dispatch(engine: EngineApi, req: http.IncomingMessage, reply: Reply,
                               body: () => Promise<Buffer>): Promise<number> {
  const range: ApiVersionRange = { min: MIN_API_VERSION, max: MAX_API_VERSION };
  try {
    const url = new URL(req.url ?? '/', 'http://berth');
    const { path, version } = stripVersion(url.pathname, range);
    const m = matchRoute(req.method ?? 'GET', path);
    if (m === null) throw new ApiError(404, 'page not found');
    if ('notAllowed' in m) throw new ApiError(405, 'Method Not Allowed');
    const ctx: Ctx = { engine, req, params: m.params, query: url.searchParams, reply, body, apiVersion: version ?? serverApiVersion(engine) };
    await m.handler(ctx);
    return 200;
  } catch (e) {
    const status = e instanceof ApiError ? e.status : 500;
    const message = e instanceof Error ? e.message : String(e);
    if (status === 304) reply.empty(304);
    else reply.json(status, { message });
    return status;
  }
}

function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.once('end', () => resolve(Buffer.concat(chunks)));
    stream.once('error', reject);
  });
}

/**
 * On an upgraded connection the request body (exec start's JSON) is Content-Length bytes of
 * the raw stream; what follows is the client's stdin.
 */
function upgradeBody(socket: Duplex, head: Buffer, length: number): { body: () => Promise<Buffer>; rest: () => Buffer } {
  let rest: Buffer = Buffer.alloc(0);
  let p: Promise<Buffer> | null = null;
  const body = () => {
    if (p) return p;
    p = new Promise<Buffer>((resolve) => {
      let buf: Buffer = head;
      const check = (): boolean => {
        if (buf.length < length) return false;
        socket.removeListener('data', onData);
        socket.removeListener('end', onEnd);
        socket.pause();
        rest = buf.subarray(length);
        resolve(buf.subarray(0, length));
        return true;
      };
      const onData = (c: Buffer) => { buf = Buffer.concat([buf, c]); check(); };
      const onEnd = () => { rest = Buffer.alloc(0); resolve(buf); };
      if (!check()) { socket.on('data', onData); socket.once('end', onEnd); }
    });
    return p;
  };
  return { body, rest: () => (p ? rest : head) };
}

export async function createApiServer(engine: EngineApi, opts: ApiServerOptions): Promise<http.Server> {
  const server = http.createServer();
  // Attach, logs -f and wait responses last as long as the container: no timeouts.
  server.requestTimeout = 0;
  server.headersTimeout = 60_000;
  server.timeout = 0;
  server.keepAliveTimeout = 5_000;

  const log = opts.log;
  const base = () => commonHeaders(engine);

  server.on('request', (req, res) => {
    const reply = new ResponseReply(req, res, base());
    let bodyP: Promise<Buffer> | null = null;
    const body = () => (bodyP ??= readAll(req));
    res.on('error', () => undefined);
    req.on('error', () => undefined);
    dispatch(engine, req, reply, body).then((status) => {
      log?.(`${req.method} ${req.url} ${status}`);
    }).catch((e) => {
      try { res.destroy(e as Error); } catch { /* already gone */ }
    });
  });

  server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => undefined);
    const length = Number(req.headers['content-length'] ?? 0) || 0;
    const ub = upgradeBody(socket, head, length);
    // The reply reads the leftover (stdin bytes that arrived with the request) when it hijacks.
    const reply = new LazySocketReply(socket, base(), ub.rest);
    dispatch(engine, req, reply, ub.body).then((status) => {
      log?.(`${req.method} ${req.url} ${status} (upgraded)`);
      socket.resume();
    }).catch(() => socket.destroy());
  });

  server.on('clientError', (_err, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
    else socket.destroy();
  });
  server.on('error', (e) => log?.(`server error: ${(e as Error).message}`));

  await removeStaleSocket(opts.socketPath);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.socketPath, () => { server.removeListener('error', reject); resolve(); });
  });
  await fs.chmod(opts.socketPath, 0o660);
  return server;
}

/** SocketReply whose leftover stdin bytes are known only after the body was read. */
class LazySocketReply extends SocketReply {
  constructor(socket: Duplex, headers: Record<string, string>, private readonly restOf: () => Buffer) {
    super(socket, headers, Buffer.alloc(0));
  }
  override hijack(contentType: string) {
    const h = super.hijack(contentType);
    const rest = this.restOf();
    if (rest.length) h.input.unshift(rest);
    return h;
  }
}

/** A socket file left by a daemon that died is removed; a live one is an error. */
async function removeStaleSocket(p: string): Promise<void> {
  try {
    await fs.lstat(p);
  } catch {
    return;
  }
  const alive = await new Promise<boolean>((resolve) => {
    const c = net.connect(p);
    c.once('connect', () => { c.destroy(); resolve(true); });
    c.once('error', () => resolve(false));
  });
  if (alive) throw new Error(`another daemon is listening on ${p}`);
  await fs.rm(p, { force: true });
}
