// The embedded DNS resolver: for every container that uses it, one UDP socket and one TCP
// listener on 127.0.0.11 inside the container's own network namespace (made there by
// kernel/nsbind.ts, served here), as Docker's resolver does. The socket a query arrives on
// says which container asks; nobody outside that namespace can reach it, so there is no open
// resolver for the host's other neighbours or the outside. It runs in a process of its own
// (src/dns/main.ts), so names keep resolving while berthd is down.
//
// Fairness between containers: each container has its own sockets, and libuv reads at most
// 32 datagrams from one socket per turn of the event loop before it moves to the next ready
// one, so a flooding container gets its turn like every other, not all turns. What a query
// can cost beyond its turn is bounded per asker: garbage is dropped on its first cheap test
// (answer.ts), forwarded queries in flight are capped per asker (a flood of made-up names
// cannot fill the upstream path for everyone), and TCP connections are shared fairly
// (slots.ts) and closed when idle.
import * as dgram from 'node:dgram';
import * as net from 'node:net';
import { answer, AnswerCache, DROP } from './answer';
import { isDebug } from '../kernel/exec';
import { Forwarder } from './forwarder';
import { Outbox, literalLookup } from './outbox';
import { NameTable, type DnsView } from './records';
import { ConnectionSlots } from './slots';

const MAX_TCP_MSG = 65535;
/** A TCP connection with nothing to say for this long is closed (RFC 7766 asks for seconds). */
const TCP_IDLE_MS = 10_000;
/** TCP connections per asker, and in all. */
const TCP_PER_ASKER = 32;
const TCP_TOTAL = 1024;
/** Forwarded queries awaiting an upstream, per asker; more are dropped (the asker retries). */
const FORWARDS_PER_ASKER = 256;

interface Listener {
  udp: dgram.Socket;
  tcp: net.Server;
}

export class Resolver {
  private table = new NameTable({ containers: [] });
  private cache = new AnswerCache();
  private readonly rotation = new Map<string, number>();
  private readonly listeners = new Map<string, Listener>();
  private readonly outbox = new Outbox();
  private readonly forwarder = new Forwarder(this.outbox);
  private readonly tcpSlots = new ConnectionSlots<net.Socket>(TCP_PER_ASKER, TCP_TOTAL);
  /** container id → forwarded queries in flight */
  private readonly forwarding = new Map<string, number>();

  constructor(private readonly log: (msg: string) => void = () => undefined) {}

  /** Take a new snapshot of the running containers: answers come from it at once. */
  sync(view: DnsView): void {
    this.table = new NameTable(view, this.rotation);
    this.cache = new AnswerCache();
  }

  /**
   * Serve a container's sockets (fds bound inside its namespace; ours from now on). They
   * answer as that container whenever it is in the snapshot, and stay silent otherwise.
   */
  serve(containerId: string, udpFd: number, tcpFd: number): void {
    this.unserve(containerId);
    const udp = dgram.createSocket({ type: 'udp4', lookup: literalLookup });
    udp.on('message', (msg, rinfo) => this.onDatagram(udp, containerId, msg, rinfo));
    udp.on('error', (e) => this.log(`embedded DNS of ${containerId.slice(0, 12)}: ${e.message}`));
    udp.bind({ fd: udpFd });
    const tcp = net.createServer((sock) => this.serveTcp(containerId, sock));
    tcp.on('error', (e) => this.log(`embedded DNS of ${containerId.slice(0, 12)}: ${e.message}`));
    tcp.listen({ fd: tcpFd });
    this.listeners.set(containerId, { udp, tcp });
  }

  /** Close a container's sockets (it stopped): its namespace is no longer held by them. */
  unserve(containerId: string): void {
    const l = this.listeners.get(containerId);
    if (!l) return;
    this.listeners.delete(containerId);
    try { l.udp.close(); } catch { /* already closed */ }
    l.tcp.close();
  }

  serving(containerId: string): boolean { return this.listeners.has(containerId); }

  close(): void {
    for (const id of [...this.listeners.keys()]) this.unserve(id);
    this.forwarder.close();
  }

  /** Forward within the asker's budget of queries in flight, else stay silent. */
  private forward(containerId: string, send: () => Promise<Buffer | null>): Promise<Buffer | null | typeof DROP> {
    const n = this.forwarding.get(containerId) ?? 0;
    if (n >= FORWARDS_PER_ASKER) return Promise.resolve(DROP);
    this.forwarding.set(containerId, n + 1);
    return send().finally(() => {
      const left = (this.forwarding.get(containerId) ?? 1) - 1;
      if (left > 0) this.forwarding.set(containerId, left);
      else this.forwarding.delete(containerId);
    });
  }

  /** The hot path: one query datagram, answered from the cache when it can be. */
  private onDatagram(udp: dgram.Socket, containerId: string, msg: Buffer, rinfo: dgram.RemoteInfo): void {
    const who = this.table.asker(containerId);
    if (isDebug()) this.log(`dns: udp ${msg.length} bytes from ${rinfo.address}:${rinfo.port} in ${containerId.slice(0, 12)}: ${who ? who.name : 'not running: dropped'}`);
    if (!who) return;
    try {
      const a = answer(msg, who, this.table, (q) => this.forward(containerId, () => this.forwarder.udp(q, who.upstreams)), true, this.cache);
      if (a instanceof Promise) {
        a.then((r) => { if (r) this.outbox.send(udp, r, rinfo.port, rinfo.address); }, (e) => this.log(`embedded DNS: ${(e as Error).message}`));
      } else if (a) {
        this.outbox.send(udp, a, rinfo.port, rinfo.address);
      }
    } catch (e) {
      this.log(`embedded DNS: ${(e as Error).message}`);
    }
  }

  private serveTcp(containerId: string, sock: net.Socket): void {
    sock.on('error', () => undefined);
    const who = this.table.asker(containerId);
    if (!who) { sock.destroy(); return; }
    const { admitted, evict } = this.tcpSlots.admit(containerId, sock);
    for (const old of evict) old.destroy();
    if (!admitted) { sock.destroy(); return; }
    sock.on('close', () => this.tcpSlots.release(sock));
    sock.setTimeout(TCP_IDLE_MS, () => sock.destroy());
    let buf: Buffer = Buffer.alloc(0);
    sock.on('data', (d: Buffer) => {
      this.tcpSlots.touch(sock);
      buf = buf.length ? Buffer.concat([buf, d]) : d;
      while (buf.length >= 2) {
        const len = buf.readUInt16BE(0);
        if (len > MAX_TCP_MSG) { sock.destroy(); return; }
        if (buf.length < 2 + len) break;
        const msg = buf.subarray(2, 2 + len);
        buf = buf.subarray(2 + len);
        // The asker may have stopped since the connection opened.
        const now = this.table.asker(containerId);
        if (!now) { sock.destroy(); return; }
        this.tcpSlots.begin(sock);
        Promise.resolve(answer(Buffer.from(msg), now, this.table, (q) => this.forward(containerId, () => this.forwarder.tcp(q, now.upstreams)), false))
          .then((a) => {
            if (!a || sock.destroyed) return;
            const head = Buffer.alloc(2);
            head.writeUInt16BE(a.length);
            sock.write(Buffer.concat([head, a]));
          })
          .catch(() => sock.destroy())
          .finally(() => this.tcpSlots.done(sock));
      }
    });
  }
}
