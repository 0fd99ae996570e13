// The Docker Engine API server: node:http on a unix socket. Routes live in routes.ts; this
// file owns the transport: version prefixes, errors as `{"message": ...}`, upgraded
// (hijacked) connections for attach/exec, and never letting a request crash the daemon.
import * as http from 'node:http';
import * as https from 'node:https';
import { promises as fs } from 'node:fs';
import * as net from 'node:net';
import type { Duplex } from 'node:stream';
import type { EngineApi } from '../engine/api';
import { ApiError, badRequest } from '../util/errors';
import { stripVersion, type ApiVersionRange } from './query';
import { ResponseReply, SocketReply, type Reply } from './reply';
import { matchRoute, type Ctx } from './routes';
import { MIN_API_VERSION } from '../engine/system';

const MAX_API_VERSION = '1.50';

interface ApiServerOptions {
  /** A unix socket to listen on, or (with tcp) none. */
  socketPath?: string;
  /** Group that owns the socket (mode 0660), as dockerd's --group; undefined: root's. */
  socketGid?: number;
  /** A TCP listener; only with TLS that verifies client certificates against `ca`. */
  tcp?: { host: string; port: number; tls: { ca: Buffer; cert: Buffer; key: Buffer } };
  /** Prints one line per request (method, path, status) when set. */
  log?: (line: string) => void;
  /** Connection limits (defaults: LIMITS). */
  limits?: Partial<ApiLimits>;
}

interface ApiLimits {
  /** A client must send a request's headers within this long of connecting (or of its last response). */
  headersMs: number;
  /** A request body that stops arriving for this long ends the connection. */
  bodyIdleMs: number;
  /** An idle kept-alive connection is closed after this long. */
  keepAliveMs: number;
  /** The largest JSON request body (image tarballs are streamed, not limited). */
  maxJsonBytes: number;
}

const LIMITS: ApiLimits = { headersMs: 20_000, bodyIdleMs: 30_000, keepAliveMs: 5_000, maxJsonBytes: 4 << 20 };

/** The API version berth speaks: the engine's, capped to what this server serves. */
function serverApiVersion(engine: EngineApi): string {
  try {
    const v = engine.system.version()?.ApiVersion;
    if (typeof v === 'string' && /^\d+\.\d+$/.test(v)) return v;
  } catch { /* fall through */ }
  return MAX_API_VERSION;
}

function commonHeaders(engine: EngineApi): Record<string, string> {
  return {
    'Api-Version': serverApiVersion(engine),
    'Docker-Experimental': 'false',
    Ostype: 'linux',
    Server: `Docker/berth (linux)`,
  };
}

/** Handles one request, whichever transport it came on. Exported for tests. */
async function dispatch(engine: EngineApi, req: http.IncomingMessage, reply: Reply,
                               body: () => Promise<Buffer>): Promise<number> {
  const range: ApiVersionRange = { min: MIN_API_VERSION, max: MAX_API_VERSION };
  try {
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://berth');
    } catch {
      throw badRequest(`invalid URL: ${JSON.stringify(req.url)}`);
    }
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
    // Read a body nobody read yet before answering: closing a connection with unread bytes
    // resets it, and the client would lose the answer (an oversize one stays unread).
    if (status !== 413 && !reply.sent() && req.readableFlowing === null && !req.readableEnded) {
      await body().catch(() => undefined);
    }
    if (status === 304) reply.empty(304);
    // The rest of an oversize body is not read: the connection cannot carry another request.
    else if (status === 413) reply.json(status, { message }, { Connection: 'close' });
    else reply.json(status, { message });
    return status;
  }
}

/** A JSON request body, whole; more than `max` bytes is a 413. */
function readAll(stream: NodeJS.ReadableStream, max: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (c: Buffer) => {
      size += c.length;
      if (size > max) {
        stream.removeListener('data', onData);
        stream.pause();
        reject(new ApiError(413, `request body too large: more than ${max} bytes`));
        return;
      }
      chunks.push(c);
    };
    stream.on('data', onData);
    stream.once('end', () => resolve(Buffer.concat(chunks)));
    stream.once('error', reject);
  });
}

/**
 * Ends a connection whose request body stops arriving (a half-open or stalled client) while
 * `pending()` holds. Checks the socket's byte count now and then: no per-byte work, and a
 * long stream (logs -f, attach, events), whose request is complete, is never affected.
 * Returns a function that stops watching.
 */
function watchBody(socket: net.Socket | Duplex, pending: () => boolean, idleMs: number): () => void {
  const step = Math.max(50, Math.min(5_000, Math.floor(idleMs / 4)));
  let last = (socket as net.Socket).bytesRead ?? 0;
  let idle = 0;
  const timer = setInterval(() => {
    if (!pending() || socket.destroyed) { stop(); return; }
    const now = (socket as net.Socket).bytesRead ?? 0;
    if (now !== last) { last = now; idle = 0; return; }
    idle += step;
    if (idle >= idleMs) { stop(); socket.destroy(); }
  }, step);
  timer.unref();
  // (one close listener per watched request, removed when it stops: keep-alive sockets serve many)
  const stop = () => { clearInterval(timer); socket.removeListener('close', stop); };
  socket.once('close', stop);
  return stop;
}

/**
 * On an upgraded connection the request body (exec start's JSON) is Content-Length bytes of
 * the raw stream; what follows is the client's stdin.
 */
function upgradeBody(socket: Duplex, head: Buffer, length: number, max: number): { body: () => Promise<Buffer>; rest: () => Buffer } {
  let rest: Buffer = Buffer.alloc(0);
  let p: Promise<Buffer> | null = null;
  const body = () => {
    if (p) return p;
    if (length > max) return (p = Promise.reject(new ApiError(413, `request body too large: more than ${max} bytes`)));
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
  const limits: ApiLimits = { ...LIMITS, ...opts.limits };
  // node checks headersTimeout every connectionsCheckingInterval (30 s by default).
  const common = { connectionsCheckingInterval: Math.min(1_000, limits.headersMs) };
  // Over TCP, only a client whose certificate our CA signed gets past the handshake (dockerd's
  // --tlsverify): the API is root on this machine. allowHalfOpen as node:http has it: a client
  // that closes its stdin (docker's CloseWrite) still reads the attached output.
  const server: http.Server = opts.tcp
    ? https.createServer({ ...common, allowHalfOpen: true, ...opts.tcp.tls, requestCert: true, rejectUnauthorized: true, minVersion: 'TLSv1.2' }) as unknown as http.Server
    : http.createServer(common);
  // Attach, logs -f and wait responses last as long as the container, and an attach without
  // an upgrade streams stdin as its request body: no timeout on a whole request or response.
  // A stalled request body is watched instead (watchBody), and a client that never finishes
  // its headers is cut off by headersTimeout, one that sends nothing at all too.
  server.requestTimeout = 0;
  server.headersTimeout = limits.headersMs;
  server.timeout = 0;
  server.keepAliveTimeout = limits.keepAliveMs;

  const log = opts.log;
  const base = () => commonHeaders(engine);

  // A connection must bring a request's headers within headersMs of opening, or of the end of
  // its previous response. (node's own headersTimeout does not cover a client that sends
  // nothing, or stops inside its headers, when requestTimeout is off.)
  const headerDeadlines = new WeakMap<Duplex, NodeJS.Timeout>();
  const awaitHeaders = (socket: Duplex | null) => {
    // (a response can finish after its socket is gone or detached: nothing to wait for then)
    if (!socket || socket.destroyed) return;
    clearTimeout(headerDeadlines.get(socket));
    const t = setTimeout(() => socket.destroy(), limits.headersMs);
    t.unref();
    headerDeadlines.set(socket, t);
  };
  const gotHeaders = (socket: Duplex) => clearTimeout(headerDeadlines.get(socket));
  server.on('connection', (socket: net.Socket) => {
    awaitHeaders(socket);
    socket.once('close', () => gotHeaders(socket));
  });

  server.on('request', (req, res) => {
    const socket = req.socket;
    gotHeaders(socket);
    res.once('finish', () => awaitHeaders(socket));
    const reply = new ResponseReply(req, res, base());
    // Until the body is in (or the handler takes the connection over for a stream of stdin).
    if (!req.complete) {
      const unwatch = watchBody(req.socket, () => !req.complete && !reply.hijacked(), limits.bodyIdleMs);
      res.once('close', unwatch);
    }
    let bodyP: Promise<Buffer> | null = null;
    const body = () => (bodyP ??= readAll(req, limits.maxJsonBytes));
    res.on('error', () => undefined);
    req.on('error', () => undefined);
    dispatch(engine, req, reply, body).then((status) => {
      log?.(`${req.method} ${req.url} ${status}`);
    }).catch((e) => {
      try { res.destroy(e as Error); } catch { /* already gone */ }
    });
  });

  server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    gotHeaders(socket);
    socket.on('error', () => undefined);
    const length = Number(req.headers['content-length'] ?? 0) || 0;
    const ub = upgradeBody(socket, head, length, limits.maxJsonBytes);
    let bodyIn = length === 0;
    if (!bodyIn) {
      watchBody(socket, () => !bodyIn, limits.bodyIdleMs);
      ub.body().then(() => { bodyIn = true; }, () => { bodyIn = true; });
    }
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

  if (opts.tcp) {
    const { host, port } = opts.tcp;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => { server.removeListener('error', reject); resolve(); });
    });
    return server;
  }
  if (!opts.socketPath) throw new Error('createApiServer: a socket path or a TCP listener is needed');
  await removeStaleSocket(opts.socketPath);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.socketPath, () => { server.removeListener('error', reject); resolve(); });
  });
  // root and the daemon's group only, as Docker's socket and its docker group.
  if (opts.socketGid !== undefined) await fs.chown(opts.socketPath, 0, opts.socketGid);
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
