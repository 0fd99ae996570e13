// The relay process's work: one listening socket per relayed port (IPv6 only, so the IPv4
// side stays with the kernel's NAT), each connection or datagram flow carried to the
// container's address. TCP ports are the child berth-relay-tcp's (tcpplane.ts: connections
// cost a tenth of what they cost in Node.js), UDP flows are carried here. The table comes whole from berthd (`sync`) and is saved in a file, so
// a relay started again (it died, or a new build replaced it) listens again at once.
//
// A sync opens what is new before it closes what went away, and closes nothing that stays:
// connections through ports that remain are never cut. If a new port cannot be opened (the
// address is in use), the sync fails whole and the old table stays in force.
import * as dgram from 'node:dgram';
import * as fs from 'node:fs';
import * as os from 'node:os';
import { portKey, stateFile, type RelayPort } from './protocol';
import { TcpPlane } from './tcpplane';

/** docker-proxy's lifetime of a UDP flow without traffic. */
const UDP_IDLE_MS = 90_000;

/** close() resolves once nothing listens on the port any more. */
interface Listener { port: RelayPort; close(): Promise<void> }

/**
 * berthd --ports-from lists the IPv4 sources that may reach published ports: on the IPv6 side
 * only the host itself may then (as in berth's ip6 table). Its own addresses, looked up when a
 * client comes (they change).
 */
function fromHost(addr: string): boolean {
  if (addr === '::1') return true;
  return Object.values(os.networkInterfaces()).some((l) => l?.some((a) => a.address === addr));
}

export class Relay {
  private readonly open = new Map<string, Listener>();
  /** Only the host's own connections are carried (berthd --ports-from). */
  private hostOnly = false;

  private readonly tcp: TcpPlane;

  constructor(private readonly dir: string, private readonly log: (msg: string) => void, tcpProgram?: string) {
    this.tcp = new TcpPlane(log, tcpProgram);
  }

  ports(): RelayPort[] { return [...this.open.values()].map((l) => l.port); }

  /** Make the table `want`: all or nothing for the new ports. */
  async sync(want: RelayPort[], hostOnly = false): Promise<void> {
    this.hostOnly = hostOnly;
    await this.tcp.setHostOnly(hostOnly);
    const wanted = new Map(want.map((p) => [portKey(p), p]));
    // A port that now goes elsewhere (the same address and port, another target) is closed
    // first, or the new listener could not bind.
    const binding = (p: RelayPort) => `${p.proto} [${p.hostIp}]:${p.hostPort}`;
    const rebound = new Set([...wanted].filter(([k]) => !this.open.has(k)).map(([, p]) => binding(p)));
    await this.closeWhere((k, l) => !wanted.has(k) && rebound.has(binding(l.port)));
    const opened: Listener[] = [];
    try {
      for (const [k, p] of wanted) {
        if (this.open.has(k)) continue;
        opened.push(p.proto === 'tcp' ? await listenTcp(p, this.tcp) : await listenUdp(p, this.log, (addr) => !this.hostOnly || fromHost(addr)));
      }
    } catch (e) {
      await Promise.all(opened.map((l) => l.close()));
      throw e;
    }
    for (const l of opened) this.open.set(portKey(l.port), l);
    // A sync that has returned has closed what went away: its ports are free for anyone.
    await this.closeWhere((k) => !wanted.has(k));
    this.save();
  }

  /** Close every port; resolves when they are free to bind again. */
  async closeAll(): Promise<void> {
    await Promise.all([this.closeWhere(() => true), this.tcp.stop()]);
  }

  /** Close the open ports `drop` picks; resolves once they are closed. */
  private async closeWhere(drop: (key: string, l: Listener) => boolean): Promise<void> {
    const closing: Promise<void>[] = [];
    for (const [k, l] of this.open) {
      if (!drop(k, l)) continue;
      closing.push(l.close());
      this.open.delete(k);
    }
    await Promise.all(closing);
  }

  private save(): void {
    const file = stateFile(this.dir);
    const tmp = `${file}.tmp`;
    const fd = fs.openSync(tmp, 'w', 0o600);
    try {
      fs.writeSync(fd, JSON.stringify({ ports: this.ports(), hostOnly: this.hostOnly }));
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
  }
}

/** A datagram's or connection's source may come in (berthd --ports-from: the host's only). */
type Admit = (clientAddr: string) => boolean;

/** The kernel's reason as docker-proxy words it: "listen tcp6 [::]:8080: bind: address already in use". */
function bindError(p: RelayPort, e: NodeJS.ErrnoException): Error {
  const why = e.code === 'EADDRINUSE' ? 'address already in use' : e.code === 'EADDRNOTAVAIL' ? 'cannot assign requested address' : e.message;
  return new Error(`listen ${p.proto}6 [${p.hostIp}]:${p.hostPort}: bind: ${why}`);
}

async function listenTcp(p: RelayPort, tcp: TcpPlane): Promise<Listener> {
  let id: number;
  try {
    id = await tcp.listen(p);
  } catch (e) {
    throw bindError(p, e as NodeJS.ErrnoException);
  }
  return { port: p, close: () => tcp.close(id) };
}

function listenUdp(p: RelayPort, log: (msg: string) => void, admit: Admit): Promise<Listener> {
  const sock = dgram.createSocket({ type: 'udp6', ipv6Only: true });
  // One upstream socket per client address and port: the container's answers go back to it.
  const flows = new Map<string, { up: dgram.Socket; timer: NodeJS.Timeout }>();
  const endFlow = (k: string) => {
    const f = flows.get(k);
    if (!f) return;
    clearTimeout(f.timer);
    f.up.close();
    flows.delete(k);
  };
  sock.on('message', (msg, rinfo) => {
    const k = `${rinfo.address}|${rinfo.port}`;
    let f = flows.get(k);
    if (!f) {
      if (!admit(rinfo.address)) return;
      const up = dgram.createSocket(p.targetIp.includes(':') ? 'udp6' : 'udp4');
      up.on('message', (back) => {
        sock.send(back, rinfo.port, rinfo.address);
        const g = flows.get(k);
        if (g) g.timer.refresh();
      });
      up.on('error', () => endFlow(k));
      f = { up, timer: setTimeout(() => endFlow(k), UDP_IDLE_MS) };
      flows.set(k, f);
    }
    f.timer.refresh();
    f.up.send(msg, p.targetPort, p.targetIp);
  });
  return new Promise((resolve, reject) => {
    sock.once('error', (e) => reject(bindError(p, e as NodeJS.ErrnoException)));
    sock.bind({ address: p.hostIp, port: p.hostPort, exclusive: true }, () => {
      sock.removeAllListeners('error');
      sock.on('error', (e) => log(`${portKey(p)}: ${e.message}`));
      resolve({ port: p, close: () => new Promise<void>((done) => { for (const k of [...flows.keys()]) endFlow(k); sock.close(() => done()); }) });
    });
  });
}
