// The resolver process's side of the control protocol (control.ts): it makes and serves each
// container's sockets (kernel/nsbind.ts) and their port-53 redirect (kernel/dnsredirect.ts),
// takes name snapshots from berthd, and keeps what it needs to start again (state.ts) in a
// file under the exec-root. Started from that file it reopens every container's sockets and
// points the redirects at them before it listens for berthd, so a replacement (a new build,
// or one started after the last died) serves at once.
import * as fs from 'node:fs';
import * as net from 'node:net';
import { Resolver } from './resolver';
import { buildId, controlSocket, encode, LineReader, parseRequest, stateFile, type Hello, type Request } from './control';
import { parseState, printState } from './state';
import type { DnsView } from './records';
import { bindInNetns } from '../kernel/nsbind';
import { setDnsRedirect } from '../kernel/dnsredirect';
import { setDebug } from '../kernel/exec';
import { EMBEDDED_DNS } from './address';
import { log as logger } from '../util/log';

export class ResolverServer {
  private readonly resolver: Resolver;
  /** container id → network namespace file, for each container served */
  private readonly serving = new Map<string, string>();
  private view: DnsView = { containers: [] };
  private readonly clients = new Set<net.Socket>();
  private server: net.Server | null = null;
  /** serve/unserve one at a time, in the order asked (they run nft) */
  private queue: Promise<unknown> = Promise.resolve();
  private saveQueued = false;
  readonly build = buildId();

  constructor(private readonly dir: string, private readonly onExit: () => void) {
    this.resolver = new Resolver((m) => this.log(m));
  }

  log(msg: string): void {
    logger.info(msg);
    const ev = encode({ event: 'log', msg });
    for (const c of this.clients) c.write(ev);
  }

  /** Serve again what the state file lists, then listen for berthd. */
  async start(): Promise<void> {
    const saved = parseState(readOrNull(stateFile(this.dir)));
    if (saved) {
      this.sync(saved.view);
      for (const [id, ns] of Object.entries(saved.serving)) {
        await this.serve(id, ns).catch((e) => this.log(`not serving ${id.slice(0, 12)} again: ${(e as Error).message}`));
      }
    }
    await this.listen();
  }

  private listen(): Promise<void> {
    const path = controlSocket(this.dir);
    // A socket file left by a resolver that died, or the one a replaced resolver still holds
    // open: berthd finds whoever is bound on the path now.
    fs.rmSync(path, { force: true });
    const server = net.createServer((sock) => this.client(sock));
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(path, () => { server.off('error', reject); resolve(); });
    });
  }

  private client(sock: net.Socket): void {
    this.clients.add(sock);
    sock.on('close', () => this.clients.delete(sock));
    sock.on('error', () => undefined);
    const reader = new LineReader();
    sock.on('data', (d: Buffer) => {
      let msgs: unknown[];
      try { msgs = reader.push(d); } catch (e) {
        this.log(`control: ${(e as Error).message}`);
        sock.destroy();
        return;
      }
      for (const m of msgs) {
        let req: Request;
        try { req = parseRequest(m); } catch (e) {
          const id = typeof (m as { id?: unknown })?.id === 'number' ? (m as { id: number }).id : -1;
          sock.write(encode({ id, ok: false, error: (e as Error).message }));
          continue;
        }
        this.handle(req).then(
          (data) => { if (!sock.destroyed) sock.write(encode({ id: req.id, ok: true, data })); },
          (e) => { if (!sock.destroyed) sock.write(encode({ id: req.id, ok: false, error: (e as Error).message })); },
        );
      }
    });
  }

  private async handle(req: Request): Promise<unknown> {
    switch (req.op) {
      case 'hello': return { pid: process.pid, build: this.build, serving: Object.fromEntries(this.serving) } satisfies Hello;
      case 'sync': this.sync(req.view); return undefined;
      case 'debug': setDebug(req.on); return undefined;
      case 'serve': return this.enqueue(() => this.serve(req.container, req.netns));
      case 'unserve': return this.enqueue(async () => this.unserve(req.container));
      case 'exit':
        // Answer first, then go: the sockets close with the process (the replacement's
        // redirects already point at its own).
        setImmediate(() => this.exit());
        return undefined;
    }
  }

  private enqueue<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.queue.then(fn);
    this.queue = p.catch(() => undefined);
    return p;
  }

  private sync(view: DnsView): void {
    this.view = view;
    this.resolver.sync(view);
    this.save();
  }

  /** Open the container's sockets in its namespace and point port 53 at them (idempotent). */
  private async serve(id: string, netns: string): Promise<void> {
    if (this.serving.get(id) === netns && this.resolver.serving(id)) return;
    const { udp, tcp } = bindInNetns(netns, EMBEDDED_DNS);
    try {
      await setDnsRedirect(netns, { udp: udp.port, tcp: tcp.port });
    } catch (e) {
      fs.closeSync(udp.fd);
      fs.closeSync(tcp.fd);
      throw e;
    }
    this.resolver.serve(id, udp.fd, tcp.fd);
    this.serving.set(id, netns);
    this.save();
  }

  private unserve(id: string): void {
    this.resolver.unserve(id);
    if (this.serving.delete(id)) this.save();
  }

  /** Write the state file once per turn, whatever changed: a whole new file, renamed over. */
  private save(): void {
    if (this.saveQueued) return;
    this.saveQueued = true;
    setImmediate(() => {
      this.saveQueued = false;
      const file = stateFile(this.dir);
      const tmp = `${file}.tmp`;
      try {
        const fd = fs.openSync(tmp, 'w', 0o600);
        try {
          fs.writeSync(fd, printState({ serving: Object.fromEntries(this.serving), view: this.view }));
          fs.fsyncSync(fd);
        } finally {
          fs.closeSync(fd);
        }
        fs.renameSync(tmp, file);
      } catch (e) {
        this.log(`cannot save ${file}: ${(e as Error).message}`);
      }
    });
  }

  private exit(): void {
    this.server?.close();
    for (const c of this.clients) c.end();
    this.resolver.close();
    this.onExit();
  }
}

function readOrNull(file: string): string | null {
  try { return fs.readFileSync(file, 'utf8'); } catch { return null; }
}
