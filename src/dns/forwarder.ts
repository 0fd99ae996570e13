// Forwarding to upstream resolvers. A dead or slow first upstream must not make every lookup
// slow (Docker's resolver tries its servers one after another, seconds each): a query goes to
// the upstream that answered last; if it has not answered within HEDGE_MS the next one is
// asked as well, and so on round the list until DEADLINE_MS; the first answer wins and its
// server is remembered for the next query. TCP opens a connection per query (used for TCP
// clients and truncated answers).
//
// Spoofing (the Kaminsky attack): an off-path attacker who wants a forged answer accepted must
// guess both the query's id and the port it left from. Forwarded UDP queries therefore leave
// from short-lived sockets, each bound to a port the kernel picks at random from the
// ephemeral range: the queries that arrive in one turn of the event loop (one burst, well
// under a millisecond) share a socket, each with a random id of its own, and the next turn's
// queries get a new socket. A socket takes no query after its turn and is closed when its
// last query is done, so no port learned from one query serves against a later one (a
// socket per query would do the same, but opening and closing one per query cut the
// forwarding rate by about a third under load: a burst shares one). An
// answer counts only if it comes from a server the query was sent to, from port 53, with the
// query's id and its question (name compared case-insensitively, type and class exactly);
// anything else is dropped and the query goes on waiting for the true answer. Over TCP the
// connection itself pins the server; the id and question are checked the same way.
//
// Short-lived sockets also keep a server whose address does not resolve on the link from
// silencing the others: its datagrams wait in the kernel's neighbour queue, charged to the
// socket that sent them, and a socket that carries at most PER_SOCKET queries of one burst
// cannot fill its send buffer that way.
import * as dgram from 'node:dgram';
import * as net from 'node:net';
import { randomInt } from 'node:crypto';
import { Outbox, literalLookup, literalLookup6 } from './outbox';

const HEDGE_MS = 300;
const DEADLINE_MS = 2500;
const TCP_TIMEOUT_MS = 2500;
const MAX_MSG = 65535;

/** Forwarded UDP queries awaiting an answer, in all; more get no answer (SERVFAIL). */
const MAX_IN_FLIGHT = 8192;
/** Queries one socket takes at most (its turn's burst may be longer: then a second socket). */
const PER_SOCKET = 64;

interface Pending {
  id: number;                 // the id the query left with
  question: Buffer;           // its question section, to match the answer against
  servers: Set<string>;       // who was asked
  done: (answer: Buffer | null, server: string) => void;
}

/**
 * A socket and the queries that left from it; an IPv6 socket beside it, opened when the burst
 * has an IPv6 upstream to ask (the same random-port rules).
 */
interface Burst {
  sock: dgram.Socket;
  sock6: dgram.Socket | null;
  pending: Map<number, Pending>;
  /** past its turn: takes no more queries, closes when the last is done */
  retired: boolean;
}

export class Forwarder {
  /** the socket this turn's queries leave from */
  private burst: Burst | null = null;
  /** every socket with queries in flight (or still in its turn) */
  private readonly bursts = new Set<Burst>();
  private inflight = 0;
  /** upstream list (joined) → the server that answered last */
  private readonly preferred = new Map<string, string>();

  /** `outbox`: queries to upstreams leave in bursts, like the resolver's replies. */
  constructor(private readonly outbox = new Outbox()) {}

  /** Queries awaiting an answer. */
  get inFlight(): number { return this.inflight; }

  /** Sockets open for forwarding (each on its own random port). */
  get sockets(): dgram.Socket[] { return [...this.bursts].flatMap((b) => (b.sock6 ? [b.sock, b.sock6] : [b.sock])); }

  close(): void {
    for (const b of [...this.bursts]) for (const p of [...b.pending.values()]) p.done(null, '');
    for (const b of [...this.bursts]) this.retire(b);
  }

  /** The upstreams in the order to ask them: the one that answered last first. */
  order(upstreams: string[]): string[] {
    const pref = this.preferred.get(upstreams.join(','));
    const i = pref ? upstreams.indexOf(pref) : -1;
    return i <= 0 ? upstreams : [...upstreams.slice(i), ...upstreams.slice(0, i)];
  }

  /** This turn's socket, opened if need be (not bound yet: its first send binds it to a random port). */
  private current(): Burst {
    if (this.burst && this.burst.pending.size < PER_SOCKET) return this.burst;
    if (this.burst) this.retire(this.burst);
    const sock = dgram.createSocket({ type: 'udp4', lookup: literalLookup });
    const b: Burst = { sock, sock6: null, pending: new Map(), retired: false };
    this.listen(b, sock);
    this.bursts.add(b);
    this.burst = b;
    setImmediate(() => this.retire(b));
    return b;
  }

  private listen(b: Burst, sock: dgram.Socket): void {
    sock.on('message', (msg, rinfo) => {
      if (msg.length < 12) return;
      const p = b.pending.get(msg.readUInt16BE(0));
      if (p && accepts(p, msg, rinfo.address, rinfo.port)) p.done(msg, rinfo.address);
    });
    sock.on('error', () => undefined);
    sock.unref();
  }

  /** The burst's socket for this server's family. */
  private socketFor(b: Burst, server: string): dgram.Socket {
    if (!server.includes(':')) return b.sock;
    if (!b.sock6) {
      b.sock6 = dgram.createSocket({ type: 'udp6', ipv6Only: true, lookup: literalLookup6 });
      this.listen(b, b.sock6);
    }
    return b.sock6;
  }

  private retire(b: Burst): void {
    b.retired = true;
    if (this.burst === b) this.burst = null;
    if (b.pending.size) return;
    this.bursts.delete(b);
    try { b.sock.close(); } catch { /* closed already */ }
    try { b.sock6?.close(); } catch { /* closed already */ }
  }

  /** Forward a query over UDP; resolves with the answer (its id restored) or null. */
  udp(query: Buffer, upstreams: string[]): Promise<Buffer | null> {
    if (!upstreams.length || query.length < 12 || this.inflight >= MAX_IN_FLIGHT) return Promise.resolve(null);
    const order = this.order(upstreams);
    const origId = query.readUInt16BE(0);
    const b = this.current();
    let id = randomInt(0, 0x10000);
    while (b.pending.has(id)) id = randomInt(0, 0x10000);
    const out = Buffer.from(query);
    out.writeUInt16BE(id, 0);
    this.inflight++;
    return new Promise((resolve) => {
      const timers: NodeJS.Timeout[] = [];
      const finish = (answer: Buffer | null, server: string) => {
        if (b.pending.get(id) !== p) return;
        for (const t of timers) clearTimeout(t);
        b.pending.delete(id);
        this.inflight--;
        if (b.retired) this.retire(b);
        if (answer && server) {
          this.preferred.set(upstreams.join(','), server);
          const a = Buffer.from(answer);
          a.writeUInt16BE(origId, 0);
          resolve(a);
        } else resolve(null);
      };
      const p: Pending = { id, question: questionOf(query), servers: new Set(), done: finish };
      b.pending.set(id, p);
      const send = (n: number) => {
        const server = order[n % order.length];
        p.servers.add(server);
        this.outbox.send(this.socketFor(b, server), out, 53, server);
        if ((n + 1) * HEDGE_MS < DEADLINE_MS) timers.push(setTimeout(() => send(n + 1), HEDGE_MS));
      };
      send(0);
      timers.push(setTimeout(() => finish(null, ''), DEADLINE_MS));
    });
  }

  /** Forward a query over TCP to the upstreams in turn; resolves with the answer or null. */
  async tcp(query: Buffer, upstreams: string[]): Promise<Buffer | null> {
    for (const server of this.order(upstreams)) {
      const a = await tcpQuery(query, server).catch(() => null);
      if (a) { this.preferred.set(upstreams.join(','), server); return a; }
    }
    return null;
  }
}

function tcpQuery(query: Buffer, server: string): Promise<Buffer | null> {
  const want: Pending = { id: query.readUInt16BE(0), question: questionOf(query), servers: new Set([server]), done: () => undefined };
  return new Promise((resolve) => {
    const sock = net.connect({ host: server, port: 53 });
    let buf = Buffer.alloc(0);
    const end = (v: Buffer | null) => { sock.destroy(); resolve(v); };
    sock.setTimeout(TCP_TIMEOUT_MS, () => end(null));
    sock.on('error', () => end(null));
    sock.on('connect', () => {
      const len = Buffer.alloc(2);
      len.writeUInt16BE(query.length);
      sock.write(Buffer.concat([len, query]));
    });
    sock.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length > MAX_MSG + 2) return end(null);
      if (buf.length < 2 || buf.length < 2 + buf.readUInt16BE(0)) return;
      // One query per connection: an answer to anything else ends it unanswered.
      const a = buf.subarray(2, 2 + buf.readUInt16BE(0));
      end(accepts(want, a, server, 53) ? a : null);
    });
    sock.on('end', () => end(null));
  });
}

/**
 * Whether `msg`, received from `from`:`port`, is the answer to query `p`: a response from a
 * server it was sent to, from port 53, with its id and its question. Whatever fails a test
 * is dropped unread.
 */
export function accepts(p: Pick<Pending, 'id' | 'question' | 'servers'>, msg: Buffer, from: string, port: number): boolean {
  if (port !== 53 || !p.servers.has(from) || msg.length < 12) return false;
  if (msg.readUInt16BE(0) !== p.id || !(msg.readUInt16BE(2) & 0x8000)) return false;
  return sameQuestion(questionOf(msg), p.question);
}

/**
 * Whether two question sections (as questionOf returns them) ask the same: the name equal
 * but for the case of ASCII letters (servers may echo it in another case, RFC 4343), type
 * and class equal. An empty section (not found) matches nothing.
 */
export function sameQuestion(a: Buffer, b: Buffer): boolean {
  if (!a.length || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    let x = a[i], y = b[i];
    if (x === y) continue;
    if (i >= a.length - 4) return false;       // type and class: exactly
    if (x >= 0x41 && x <= 0x5a) x |= 0x20;
    if (y >= 0x41 && y <= 0x5a) y |= 0x20;
    if (x !== y) return false;
  }
  return true;
}

/**
 * The question section of a message (from byte 12 up to the end of the first question), or
 * an empty buffer when it cannot be found.
 */
export function questionOf(msg: Buffer): Buffer {
  if (msg.length < 12 || msg.readUInt16BE(4) === 0) return Buffer.alloc(0);
  let i = 12;
  while (i < msg.length) {
    const len = msg[i];
    if (len === 0) { i += 1; break; }
    if ((len & 0xc0) !== 0) return Buffer.alloc(0); // no compression in a question we sent
    i += 1 + len;
  }
  if (i + 4 > msg.length) return Buffer.alloc(0);
  return msg.subarray(12, i + 4);
}
