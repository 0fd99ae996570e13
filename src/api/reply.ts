// How a handler answers: JSON, an empty status, a streamed body, or a hijacked connection.
// Two implementations: over node's ServerResponse (ordinary requests) and over the raw socket
// of an upgraded request (docker's `Connection: Upgrade` + `Upgrade: tcp` for attach/exec).
import type * as http from 'node:http';
import type { Duplex, Readable, Writable } from 'node:stream';
import { PassThrough } from 'node:stream';

export interface Hijacked {
  /** Bytes to the client (raw after the status line). */
  output: Writable;
  /** Bytes from the client: the attach's stdin. */
  input: Readable;
  /** True once the client went away; the handler should stop producing. */
  closed(): boolean;
  onClose(fn: () => void): void;
}

export interface Reply {
  json(status: number, body: unknown, headers?: Record<string, string>): void;
  empty(status: number, headers?: Record<string, string>): void;
  /** A streamed 200 response (logs, progress); chunked. */
  stream(status: number, contentType: string): Writable & { onClose(fn: () => void): void };
  /** Takes the connection over for a bidirectional raw stream. */
  hijack(contentType: string): Hijacked;
  /** Whether headers went out already (errors after that can only end the stream). */
  sent(): boolean;
}

const REASONS: Record<number, string> = {
  200: 'OK', 201: 'Created', 204: 'No Content', 304: 'Not Modified', 400: 'Bad Request', 403: 'Forbidden',
  404: 'Not Found', 409: 'Conflict', 500: 'Internal Server Error', 501: 'Not Implemented', 503: 'Service Unavailable',
};

function jsonText(body: unknown): string { return JSON.stringify(body) + '\n'; }

export class ResponseReply implements Reply {
  private done = false;
  private took = false;
  constructor(private readonly req: http.IncomingMessage, private readonly res: http.ServerResponse,
              private readonly baseHeaders: Record<string, string>) {}

  sent(): boolean { return this.done || this.res.headersSent; }

  /** Whether the request's body became a stream of stdin (no longer a body to wait for). */
  hijacked(): boolean { return this.took; }

  json(status: number, body: unknown, headers: Record<string, string> = {}): void {
    if (this.sent()) { this.res.end(); return; }
    this.done = true;
    const text = jsonText(body);
    this.res.writeHead(status, { ...this.baseHeaders, 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text), ...headers });
    this.res.end(text);
  }

  empty(status: number, headers: Record<string, string> = {}): void {
    if (this.sent()) { this.res.end(); return; }
    this.done = true;
    this.res.writeHead(status, { ...this.baseHeaders, ...headers });
    this.res.end();
  }

  stream(status: number, contentType: string): Writable & { onClose(fn: () => void): void } {
    this.done = true;
    this.res.writeHead(status, { ...this.baseHeaders, 'Content-Type': contentType });
    this.res.flushHeaders();
    const res = this.res as http.ServerResponse & { onClose(fn: () => void): void };
    res.onClose = (fn) => { this.res.once('close', fn); };
    return res;
  }

  hijack(contentType: string): Hijacked {
    // Without an upgrade, the output is an ordinary streamed response and the input is
    // whatever request body the client sends.
    const out = this.stream(200, contentType);
    this.took = true;
    let closed = false;
    this.res.once('close', () => { closed = true; });
    // A request without a body has no stdin to give: don't let its immediate end close the
    // container's stdin.
    const hasBody = this.req.headers['transfer-encoding'] !== undefined || Number(this.req.headers['content-length'] ?? 0) > 0;
    const input = hasBody ? this.req : new PassThrough();
    return { output: out, input, closed: () => closed, onClose: (fn) => this.res.once('close', fn) };
  }
}

/** Replies on the raw socket of an upgraded connection. */
export class SocketReply implements Reply {
  private done = false;
  constructor(private readonly socket: Duplex, private readonly baseHeaders: Record<string, string>,
              private readonly leftover: Buffer) {}

  sent(): boolean { return this.done; }

  private head(status: number, headers: Record<string, string>): string {
    const lines = [`HTTP/1.1 ${status} ${status === 101 ? 'UPGRADED' : REASONS[status] ?? 'Status'}`];
    for (const [k, v] of Object.entries({ ...this.baseHeaders, ...headers })) lines.push(`${k}: ${v}`);
    return lines.join('\r\n') + '\r\n\r\n';
  }

  json(status: number, body: unknown, headers: Record<string, string> = {}): void {
    if (this.done) { this.socket.end(); return; }
    this.done = true;
    const text = jsonText(body);
    this.socket.end(this.head(status, { 'Content-Type': 'application/json', 'Content-Length': String(Buffer.byteLength(text)), Connection: 'close', ...headers }) + text);
  }

  empty(status: number, headers: Record<string, string> = {}): void {
    if (this.done) { this.socket.end(); return; }
    this.done = true;
    const extra: Record<string, string> = status === 204 || status === 304 ? {} : { 'Content-Length': '0' };
    this.socket.end(this.head(status, { Connection: 'close', ...extra, ...headers }));
  }

  stream(status: number, contentType: string): Writable & { onClose(fn: () => void): void } {
    // An upgraded connection has no framing of its own: write until done, then close.
    this.done = true;
    this.socket.write(this.head(status, { 'Content-Type': contentType, Connection: 'close' }));
    const s = this.socket as Duplex & { onClose(fn: () => void): void };
    s.onClose = (fn) => { this.socket.once('close', fn); };
    return s;
  }

  hijack(contentType: string): Hijacked {
    this.done = true;
    this.socket.write(this.head(101, { 'Content-Type': contentType, Connection: 'Upgrade', Upgrade: 'tcp' }));
    // The input is the socket's read side, starting with bytes that came with the headers.
    const input = new PassThrough();
    if (this.leftover.length) input.write(this.leftover);
    this.socket.pipe(input);
    let closed = false;
    this.socket.once('close', () => { closed = true; input.end(); });
    return { output: this.socket, input, closed: () => closed, onClose: (fn) => this.socket.once('close', fn) };
  }
}
