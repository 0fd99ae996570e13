// Forwarding to upstream resolvers. A dead or slow first upstream must not make every lookup
// slow (Docker's resolver tries its servers one after another, seconds each): a query goes to
// the upstream that answered last; if it has not answered within HEDGE_MS the next one is
// asked as well, and so on round the list until DEADLINE_MS; the first answer wins and its
// server is remembered for the next query. UDP goes through one socket per upstream server,
// shared by all containers, with fresh query ids; TCP opens a connection per query (used for
// TCP clients and truncated answers).
//
// One socket per server, not one for all: datagrams to a server whose address does not
// resolve on the link wait in the kernel's neighbour queue, charged to the socket that sent
// them, until that socket can send nothing more; one container's dead --dns server must not
// silence everybody else's upstreams.
import * as dgram from 'node:dgram';
import * as net from 'node:net';
import { randomInt } from 'node:crypto';
import { Outbox, literalLookup } from './outbox';

const HEDGE_MS = 300;
const DEADLINE_MS = 2500;
const TCP_TIMEOUT_MS = 2500;
const MAX_MSG = 65535;

interface Pending {
  question: Buffer;           // the query's question section, to match the answer against
  servers: Set<string>;       // who was asked
  done: (answer: Buffer, server: string) => void;
}

/** Beyond this many upstream servers, the rarest share one socket. */
const MAX_SOCKETS = 256;

export class Forwarder {
  /** upstream server → the socket its queries leave from ('' : the shared one past MAX_SOCKETS) */
  private readonly sockets = new Map<string, dgram.Socket>();
  private readonly pending = new Map<number, Pending>();
  /** upstream list (joined) → the server that answered last */
  private readonly preferred = new Map<string, string>();

  /** `outbox`: queries to upstreams leave in bursts, like the resolver's replies. */
  constructor(private readonly outbox = new Outbox()) {}

  private sock(server: string): dgram.Socket {
    const key = this.sockets.has(server) || this.sockets.size < MAX_SOCKETS ? server : '';
    let s = this.sockets.get(key);
    if (s) return s;
    s = dgram.createSocket({ type: 'udp4', lookup: literalLookup });
    s.on('message', (msg, rinfo) => this.onAnswer(msg, rinfo.address));
    s.on('error', () => undefined);
    s.unref();
    this.sockets.set(key, s);
    return s;
  }

  close(): void {
    for (const s of this.sockets.values()) s.close();
    this.sockets.clear();
    for (const p of this.pending.values()) p.done(Buffer.alloc(0), '');
    this.pending.clear();
  }

  /** The upstreams in the order to ask them: the one that answered last first. */
  order(upstreams: string[]): string[] {
    const pref = this.preferred.get(upstreams.join(','));
    const i = pref ? upstreams.indexOf(pref) : -1;
    return i <= 0 ? upstreams : [...upstreams.slice(i), ...upstreams.slice(0, i)];
  }

  /** Forward a query over UDP; resolves with the answer (its id restored) or null. */
  udp(query: Buffer, upstreams: string[]): Promise<Buffer | null> {
    if (!upstreams.length || query.length < 12) return Promise.resolve(null);
    const order = this.order(upstreams);
    const origId = query.readUInt16BE(0);
    let id = randomInt(0, 0x10000);
    for (let i = 0; this.pending.has(id) && i < 100; i++) id = randomInt(0, 0x10000);
    const out = Buffer.from(query);
    out.writeUInt16BE(id, 0);
    return new Promise((resolve) => {
      const timers: NodeJS.Timeout[] = [];
      const finish = (answer: Buffer | null, server: string) => {
        for (const t of timers) clearTimeout(t);
        this.pending.delete(id);
        if (answer && answer.length >= 12 && server) {
          this.preferred.set(upstreams.join(','), server);
          const a = Buffer.from(answer);
          a.writeUInt16BE(origId, 0);
          resolve(a);
        } else resolve(null);
      };
      const p: Pending = { question: questionOf(query), servers: new Set(), done: (a, s) => finish(a.length ? a : null, s) };
      this.pending.set(id, p);
      const send = (n: number) => {
        const server = order[n % order.length];
        p.servers.add(server);
        this.outbox.send(this.sock(server), out, 53, server);
        if ((n + 1) * HEDGE_MS < DEADLINE_MS) timers.push(setTimeout(() => send(n + 1), HEDGE_MS));
      };
      send(0);
      timers.push(setTimeout(() => finish(null, ''), DEADLINE_MS));
    });
  }

  private onAnswer(msg: Buffer, from: string): void {
    if (msg.length < 12) return;
    const p = this.pending.get(msg.readUInt16BE(0));
    // Only an answer from a server we asked, to the question we asked, counts.
    if (!p || !p.servers.has(from) || !questionOf(msg).equals(p.question)) return;
    p.done(msg, from);
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
      if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) end(buf.subarray(2, 2 + buf.readUInt16BE(0)));
    });
    sock.on('end', () => end(null));
  });
}

/**
 * The question section of a message (from byte 12 up to the end of the first question), or
 * an empty buffer when it cannot be found. Names are compared case-insensitively by callers
 * that care; here exact bytes suffice because servers echo the question as sent.
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
