// The embedded DNS resolver: one UDP socket and one TCP listener on port 53 of the gateway
// address of every user-defined network with running containers, in berthd's own namespace.
// Inside each container an nft rule sends 127.0.0.11:53 there (kernel/dnsredirect.ts), with
// the container's own address as source: that is how the resolver knows who asks, and it
// answers nobody else (no open resolver for the host's other neighbours or the outside).
import * as dgram from 'node:dgram';
import * as net from 'node:net';
import { answer, AnswerCache } from './answer';
import { isDebug } from '../kernel/exec';
import { Forwarder } from './forwarder';
import { NameTable, type DnsContainer, type DnsView } from './records';

const MAX_TCP_MSG = 65535;
const TCP_IDLE_MS = 10_000;
const MAX_TCP_CONNS = 256;

interface Listener {
  gateway: string;
  udp: dgram.Socket;
  tcp: net.Server;
}

export interface DnsNetwork { id: string; gateway: string }

export class Resolver {
  private table = new NameTable({ containers: [] });
  private cache = new AnswerCache();
  private readonly rotation = new Map<string, number>();
  private readonly listeners = new Map<string, Listener>();
  private readonly forwarder = new Forwarder();
  private tcpConns = 0;

  constructor(private readonly log: (msg: string) => void = () => undefined) {}

  /** Take a new snapshot: answer from it at once, listen where it needs, stop elsewhere. */
  async sync(view: DnsView, networks: DnsNetwork[]): Promise<void> {
    this.table = new NameTable(view, this.rotation);
    this.cache = new AnswerCache();
    const wanted = new Map<string, string>();
    const used = new Set(view.containers.flatMap((c) => c.endpoints.map((e) => e.networkId)));
    for (const n of networks) if (used.has(n.id)) wanted.set(n.id, n.gateway);
    for (const [id, l] of this.listeners) {
      if (wanted.get(id) !== l.gateway) { this.closeListener(l); this.listeners.delete(id); }
    }
    for (const [id, gw] of wanted) {
      if (this.listeners.has(id)) continue;
      try {
        this.listeners.set(id, await this.listen(id, gw));
      } catch (e) {
        this.log(`embedded DNS: cannot listen on ${gw}:53: ${(e as Error).message}`);
      }
    }
  }

  close(): void {
    for (const l of this.listeners.values()) this.closeListener(l);
    this.listeners.clear();
    this.forwarder.close();
  }

  /** Where a query from this network and address goes, or undefined when nobody known asks. */
  private asker(networkId: string, address: string): DnsContainer | undefined {
    return this.table.asker(networkId, address.replace(/^::ffff:/, ''));
  }

  private async listen(networkId: string, gateway: string): Promise<Listener> {
    const udp = dgram.createSocket({ type: 'udp4', reuseAddr: true });
    udp.on('message', (msg, rinfo) => this.onDatagram(udp, networkId, gateway, msg, rinfo));
    udp.on('error', (e) => this.log(`embedded DNS on ${gateway}: ${e.message}`));
    await new Promise<void>((resolve, reject) => {
      udp.once('error', reject);
      udp.bind({ address: gateway, port: 53 }, () => { udp.off('error', reject); resolve(); });
    });
    const tcp = net.createServer((sock) => this.serveTcp(networkId, sock));
    tcp.on('error', (e) => this.log(`embedded DNS on ${gateway}: ${e.message}`));
    try {
      await new Promise<void>((resolve, reject) => {
        tcp.once('error', reject);
        tcp.listen({ host: gateway, port: 53 }, () => { tcp.off('error', reject); resolve(); });
      });
    } catch (e) {
      udp.close();
      throw e;
    }
    return { gateway, udp, tcp };
  }

  /** The hot path: one query datagram, answered from the cache when it can be. */
  private onDatagram(udp: dgram.Socket, networkId: string, gateway: string, msg: Buffer, rinfo: dgram.RemoteInfo): void {
    const who = this.table.asker(networkId, rinfo.address);   // an udp4 socket: a dotted address
    if (isDebug()) this.log(`dns: udp ${msg.length} bytes from ${rinfo.address}:${rinfo.port} on ${gateway}: ${who ? who.name : 'not a container of this network: dropped'}`);
    if (!who) return;
    try {
      const a = answer(msg, who, this.table, (q) => this.forwarder.udp(q, who.upstreams), true, this.cache);
      if (a instanceof Promise) {
        a.then((r) => { if (r) udp.send(r, rinfo.port, rinfo.address); }, (e) => this.log(`embedded DNS: ${(e as Error).message}`));
      } else if (a) {
        udp.send(a, rinfo.port, rinfo.address);
      }
    } catch (e) {
      this.log(`embedded DNS: ${(e as Error).message}`);
    }
  }

  private serveTcp(networkId: string, sock: net.Socket): void {
    const who = this.asker(networkId, sock.remoteAddress ?? '');
    if (!who || this.tcpConns >= MAX_TCP_CONNS) { sock.destroy(); return; }
    this.tcpConns++;
    sock.on('close', () => { this.tcpConns--; });
    sock.on('error', () => undefined);
    sock.setTimeout(TCP_IDLE_MS, () => sock.destroy());
    let buf = Buffer.alloc(0);
    sock.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 2) {
        const len = buf.readUInt16BE(0);
        if (len > MAX_TCP_MSG) { sock.destroy(); return; }
        if (buf.length < 2 + len) break;
        const msg = buf.subarray(2, 2 + len);
        buf = buf.subarray(2 + len);
        // The asker may have left the network since the connection opened.
        const now = this.asker(networkId, sock.remoteAddress ?? '');
        if (!now) { sock.destroy(); return; }
        Promise.resolve(answer(Buffer.from(msg), now, this.table, (q) => this.forwarder.tcp(q, now.upstreams), false))
          .then((a) => {
            if (!a || sock.destroyed) return;
            const head = Buffer.alloc(2);
            head.writeUInt16BE(a.length);
            sock.write(Buffer.concat([head, a]));
          })
          .catch(() => sock.destroy());
      }
    });
  }

  private closeListener(l: Listener): void {
    try { l.udp.close(); } catch { /* already closed */ }
    l.tcp.close();
  }
}
