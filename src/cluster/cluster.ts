// Several berthd hosts as one cluster, for overlay networks: `swarm init` makes a node the
// manager, `swarm join --token T MANAGER:2377` adds a worker. The manager keeps the cluster
// state (state.ts) and serves it over HTTP on its advertised address, port 2377; every change
// (a network, a container endpoint) goes through it, and every node follows the state by
// long-polling it and builds its overlay networks from it. Requests carry the join token, over
// TLS: the token names the manager's certificate (tls.ts), so the secret never goes to anyone
// else. (Docker goes further with mutual TLS, a certificate per node; berth does not yet.)
import * as http from 'node:http';
import * as https from 'node:https';
import * as os from 'node:os';
import { promises as fs } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { ApiError } from '../util/errors';
import * as S from './state';
import { Store } from '../store/store';
import { certDigest, fetchManagerCert, loadManagerCert, makeManagerCert, tokenDigest, TokenMismatch } from './tls';
import { log } from '../util/log';

export const CLUSTER_PORT = 2377;
const POLL_WAIT_MS = 20_000;
/** The store kind of this node's membership (config) and its copy of the state. */
const KIND = 'swarm';
/** A worker not heard from for this long is shown as down (it polls at least every 20 s). */
const NODE_DOWN_MS = 45_000;

export interface ClusterConfig {
  role: 'manager' | 'worker';
  nodeId: string;
  clusterId: string;
  advertiseAddr: string;
  managerAddr: string;       // "ip:port"
  token: string;
  managerCert: string;       // PEM: the manager's certificate, as checked against the token
  createdAt: string;
}

const NOT_IN_SWARM = 'This node is not a swarm manager. Use "docker swarm init" or "docker swarm join" to connect this node to swarm and try again.';
const ALREADY = 'This node is already part of a swarm. Use "docker swarm leave" to leave this swarm and join another one.';

export class Cluster {
  private cfg: ClusterConfig | null = null;
  private state: S.ClusterState | null = null;
  private server: https.Server | null = null;
  private readonly waiters = new Set<() => void>();
  private polling: AbortController | null = null;
  private readonly store: Store;
  /** Manager: when each node last asked for anything (workers ask at least every 20 s). */
  private readonly lastSeen = new Map<string, number>();

  /** `onChange`: the node's overlay networks and names follow the state (called in order). */
  constructor(private readonly dir: string, private readonly onChange: (s: S.ClusterState | null) => Promise<void>,
              private readonly usedSubnets: () => Promise<string[]> = async () => []) {
    this.store = new Store(dir);
  }

  get config(): ClusterConfig | null { return this.cfg; }
  get current(): S.ClusterState | null { return this.state; }
  get nodeId(): string { return this.cfg?.nodeId ?? ''; }

  /** At daemon start: take up the role this node had. */
  async load(): Promise<void> {
    const cfg = await this.store.get<ClusterConfig>(KIND, 'config');
    if (!cfg) return;
    this.cfg = cfg;
    // A worker starts from its last copy, so its containers keep their overlay networks even
    // while the manager is away, and takes the manager's newer state when it answers.
    this.state = await this.store.get<S.ClusterState>(KIND, 'state');
    if (cfg.role === 'manager') {
      if (!this.state) this.state = S.emptyState(cfg.clusterId, this.self());
      await this.listen().catch((e) => log.warn(`cluster: cannot listen on ${cfg.advertiseAddr}:${CLUSTER_PORT}: ${(e as Error).message}`));
    } else {
      this.follow();
    }
    if (this.state) await this.changed();
  }

  /** One init, join or leave at a time (each starts by checking what the last one left). */
  private membership: Promise<unknown> = Promise.resolve();
  private oneAtATime<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.membership.then(fn, fn);
    this.membership = run.catch(() => undefined);
    return run;
  }

  init(body: { AdvertiseAddr?: string; ListenAddr?: string }): Promise<string> {
    return this.oneAtATime(() => this.doInit(body));
  }

  join(body: { RemoteAddrs?: string[]; JoinToken?: string; AdvertiseAddr?: string; ListenAddr?: string }): Promise<void> {
    return this.oneAtATime(() => this.doJoin(body));
  }

  leave(force: boolean): Promise<void> {
    return this.oneAtATime(() => this.doLeave(force));
  }

  private async doInit(body: { AdvertiseAddr?: string; ListenAddr?: string }): Promise<string> {
    if (this.cfg) throw new ApiError(503, ALREADY);
    const advertiseAddr = chooseAdvertise(body.AdvertiseAddr || body.ListenAddr);
    const nodeId = randomId(25);
    const clusterId = randomId(25);
    try {
      const mc = await makeManagerCert(this.dir);
      this.cfg = {
        role: 'manager', nodeId, clusterId, advertiseAddr, managerAddr: `${advertiseAddr}:${CLUSTER_PORT}`,
        token: `SWMTKN-1-${certDigest(mc.cert)}-${randomId(25)}`, managerCert: mc.cert,
        createdAt: new Date().toISOString(),
      };
      this.state = S.emptyState(clusterId, this.self());
      await this.listen();
      await this.save();
    } catch (e) {
      this.server?.close();
      this.server = null;
      this.cfg = null;
      this.state = null;
      await fs.rm(this.dir, { recursive: true, force: true });
      throw new ApiError(400, `cannot start the swarm manager on ${advertiseAddr}:${CLUSTER_PORT}: ${(e as Error).message}`);
    }
    await this.changed();
    return nodeId;
  }

  private async doJoin(body: { RemoteAddrs?: string[]; JoinToken?: string; AdvertiseAddr?: string; ListenAddr?: string }): Promise<void> {
    if (this.cfg) throw new ApiError(503, ALREADY);
    const remote = body.RemoteAddrs?.[0];
    if (!remote) throw new ApiError(400, 'at least 1 RemoteAddr is required to join');
    if (!body.JoinToken) throw new ApiError(400, 'invalid join token');
    const managerAddr = remote.includes(':') ? remote : `${remote}:${CLUSTER_PORT}`;
    const advertiseAddr = chooseAdvertise(body.AdvertiseAddr || body.ListenAddr);
    const nodeId = randomId(25);
    const digest = tokenDigest(body.JoinToken);
    if (!digest) throw new ApiError(400, 'invalid join token');
    const [host, port] = managerAddr.split(':');
    const managerCert = await fetchManagerCert(host, Number(port), digest).catch((e) => {
      // A wrong token is the user's to fix (400); an unreachable manager is not (503).
      throw new ApiError(e instanceof TokenMismatch ? 400 : 503, `cannot join the swarm at ${managerAddr}: ${(e as Error).message}`);
    });
    const manager = { addr: managerAddr, token: body.JoinToken, ca: managerCert };
    const r = await call<{ state: S.ClusterState }>(manager, 'POST', '/cluster/join', { id: nodeId, addr: advertiseAddr, hostname: os.hostname() });
    this.cfg = {
      role: 'worker', nodeId, clusterId: r.state.clusterId, advertiseAddr, managerAddr, token: body.JoinToken, managerCert,
      createdAt: new Date().toISOString(),
    };
    try {
      await this.save();
    } catch (e) {
      // The manager has this node now: take it back out, so nothing is left half-joined.
      this.cfg = null;
      await call(manager, 'POST', '/cluster/leave', { id: nodeId }).catch(() => undefined);
      await fs.rm(this.dir, { recursive: true, force: true });
      throw e;
    }
    await this.adopt(r.state);
    this.follow();
  }

  private async doLeave(force: boolean): Promise<void> {
    if (!this.cfg) throw new ApiError(503, 'This node is not part of a swarm');
    if (this.cfg.role === 'manager') {
      if (!force) {
        throw new ApiError(503, 'You are attempting to leave the swarm on a node that is participating as a manager. ' +
          'Removing the last manager erases all current state of the swarm. Use `--force` to ignore this message. ');
      }
      this.server?.close();
      this.server = null;
      for (const w of this.waiters) w();
    } else {
      this.polling?.abort();
      this.polling = null;
      await call(this.manager(), 'POST', '/cluster/leave', { id: this.cfg.nodeId }).catch(() => undefined);
    }
    this.cfg = null;
    this.state = null;
    await fs.rm(this.dir, { recursive: true, force: true });
    await this.onChange(null);
  }

  close(): void {
    this.polling?.abort();
    this.server?.close();
    for (const w of this.waiters) w();
  }

  /** Manager: whether a node has been heard from lately (the manager itself always has). */
  nodeReady(id: string): boolean {
    if (id === this.cfg?.nodeId) return true;
    return Date.now() - (this.lastSeen.get(id) ?? 0) < NODE_DOWN_MS;
  }

  /** Manager: forget a node that is gone for good (`node rm`); its endpoints go with it. */
  async removeNode(id: string, force: boolean): Promise<void> {
    if (!this.cfg || this.cfg.role !== 'manager' || !this.state) throw new ApiError(503, NOT_IN_SWARM);
    if (id === this.cfg.nodeId) {
      throw new ApiError(400, `rpc error: code = FailedPrecondition desc = node ${id} is a cluster manager and is a member of the raft cluster. It must be demoted to worker before removal`);
    }
    if (this.nodeReady(id) && !force) {
      throw new ApiError(400, `rpc error: code = FailedPrecondition desc = node ${id} is not down and can't be removed`);
    }
    await this.serialized(() => this.apply(S.removeNode(this.state!, id)));
    this.lastSeen.delete(id);
  }

  // ---------------------------------------------------------------- changes, from any node

  async createNetwork(req: S.NetworkRequest): Promise<S.OverlayNetwork> {
    const s = await this.change('POST', '/cluster/networks', req, async (st) => S.addNetwork(st, req, await this.usedSubnets()));
    return s.networks.find((n) => n.id === req.id)!;
  }

  async removeNetwork(id: string): Promise<void> {
    await this.change('DELETE', `/cluster/networks/${id}`, undefined, async (st) => S.removeNetwork(st, id));
  }

  async addEndpoint(req: S.EndpointRequest): Promise<S.OverlayEndpoint> {
    const s = await this.change('POST', '/cluster/endpoints', req, async (st) => S.addEndpoint(st, req).state);
    return s.endpoints.find((e) => e.id === req.id)!;
  }

  async removeEndpoint(id: string): Promise<void> {
    await this.change('DELETE', `/cluster/endpoints/${id}`, undefined, async (st) => S.removeEndpoint(st, id));
  }

  /** The manager changes its state; a worker asks the manager and takes the state it answers. */
  private async change(method: string, url: string, body: unknown, f: (s: S.ClusterState) => Promise<S.ClusterState>): Promise<S.ClusterState> {
    if (!this.cfg || !this.state) throw new ApiError(503, NOT_IN_SWARM);
    if (this.cfg.role === 'manager') return this.serialized(async () => this.apply(await f(this.state!)));
    const r = await call<{ state: S.ClusterState }>(this.manager(), method, url, body, { node: this.cfg.nodeId });
    await this.adopt(r.state);
    return r.state;
  }

  // ---------------------------------------------------------------- the manager

  private self(): S.ClusterNode {
    return { id: this.cfg!.nodeId, addr: this.cfg!.advertiseAddr, hostname: os.hostname() };
  }

  private lock: Promise<unknown> = Promise.resolve();
  /** Manager: one change of the state at a time (each reads the state the last one left). */
  private serialized<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.lock.then(fn, fn);
    this.lock = run.catch(() => undefined);
    return run;
  }

  private async apply(next: S.ClusterState): Promise<S.ClusterState> {
    if (next === this.state) return next;
    this.state = next;
    await this.save();
    for (const w of [...this.waiters]) w();
    await this.changed();
    return next;
  }

  private async listen(): Promise<void> {
    for (const n of this.state?.nodes ?? []) this.lastSeen.set(n.id, Date.now());
    const mc = await loadManagerCert(this.dir);
    if (!mc) throw new Error('the manager\'s certificate is missing');
    const server = https.createServer({ key: mc.key, cert: mc.cert }, (req, res) => { void this.serve(req, res); });
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(CLUSTER_PORT, this.cfg!.advertiseAddr, () => { server.off('error', reject); resolve(); });
    });
  }

  private async serve(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const reply = (status: number, body: unknown) => {
      if (res.headersSent) return;
      res.writeHead(status, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    try {
      if (!this.cfg || !this.state || req.headers['x-berth-token'] !== this.cfg.token) {
        return reply(401, { message: 'invalid join token' });
      }
      const from = req.headers['x-berth-node'];
      if (typeof from === 'string') this.lastSeen.set(from, Date.now());
      const url = new URL(req.url ?? '/', 'http://manager');
      const body = req.method === 'POST' ? await readBody(req) : undefined;
      const m = (method: string, re: RegExp) => req.method === method ? re.exec(url.pathname) : null;
      let hit: RegExpExecArray | null;
      if ((hit = m('GET', /^\/cluster\/state$/))) {
        const after = Number(url.searchParams.get('after') ?? 0);
        if (this.state.version <= after) await this.waitChange(POLL_WAIT_MS);
        return reply(200, { state: this.state });
      }
      if ((hit = m('POST', /^\/cluster\/join$/))) {
        const b = body as S.ClusterNode;
        if (typeof b?.id !== 'string' || typeof b?.addr !== 'string') return reply(400, { message: 'a node id and address are required' });
        return reply(200, { state: await this.serialized(() => this.apply(S.addNode(this.state!, { id: b.id, addr: b.addr, hostname: String(b.hostname ?? '') }))) });
      }
      if ((hit = m('POST', /^\/cluster\/leave$/))) {
        return reply(200, { state: await this.serialized(() => this.apply(S.removeNode(this.state!, String((body as any)?.id ?? '')))) });
      }
      if ((hit = m('POST', /^\/cluster\/networks$/))) {
        const b = body as S.NetworkRequest;
        if (!isId(b?.id) || typeof b.name !== 'string' || !b.name) return reply(400, { message: 'a network id and name are required' });
        const clean: S.NetworkRequest = {
          id: b.id, name: b.name, created: String(b.created ?? new Date().toISOString()),
          subnet: str(b.subnet), gateway: str(b.gateway), ipRange: str(b.ipRange),
          attachable: !!b.attachable, internal: !!b.internal, labels: strMap(b.labels), options: strMap(b.options),
        };
        return reply(200, { state: await this.serialized(() => this.apply(S.addNetwork(this.state!, clean))) });
      }
      if ((hit = m('DELETE', /^\/cluster\/networks\/([0-9a-f]{64})$/))) {
        return reply(200, { state: await this.serialized(() => this.apply(S.removeNetwork(this.state!, hit![1]))) });
      }
      if ((hit = m('POST', /^\/cluster\/endpoints$/))) {
        const b = body as S.EndpointRequest;
        if (!isId(b?.id) || !isId(b.networkId) || !isId(b.containerId) || typeof b.nodeId !== 'string') {
          return reply(400, { message: 'an endpoint needs ids of its own, its network, its container and its node' });
        }
        const clean: S.EndpointRequest = {
          id: b.id, networkId: b.networkId, nodeId: b.nodeId, containerId: b.containerId, name: String(b.name ?? ''),
          hostname: String(b.hostname ?? ''), aliases: Array.isArray(b.aliases) ? b.aliases.map(String) : [],
          mac: String(b.mac ?? ''), ...(b.ip ? { ip: String(b.ip) } : {}),
        };
        return reply(200, { state: await this.serialized(() => this.apply(S.addEndpoint(this.state!, clean).state)) });
      }
      if ((hit = m('DELETE', /^\/cluster\/endpoints\/([0-9a-f]{64})$/))) {
        return reply(200, { state: await this.serialized(() => this.apply(S.removeEndpoint(this.state!, hit![1]))) });
      }
      return reply(404, { message: 'page not found' });
    } catch (e) {
      const status = e instanceof ApiError ? e.status : 400;
      return reply(status, { message: (e as Error).message });
    }
  }

  private waitChange(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => { clearTimeout(t); this.waiters.delete(done); resolve(); };
      const t = setTimeout(done, ms);
      this.waiters.add(done);
    });
  }

  // ---------------------------------------------------------------- a worker

  /** Long-poll the manager for each new state, for as long as this node is a worker. */
  private follow(): void {
    const ac = new AbortController();
    this.polling = ac;
    void (async () => {
      // After a restart: register again (the manager keeps this node's endpoints).
      let registered = false;
      while (!ac.signal.aborted && this.cfg) {
        try {
          if (!registered) {
            const r = await call<{ state: S.ClusterState }>(this.manager(), 'POST', '/cluster/join',
              { id: this.cfg.nodeId, addr: this.cfg.advertiseAddr, hostname: os.hostname() }, { signal: ac.signal, node: this.cfg.nodeId });
            registered = true;
            await this.adopt(r.state);
          }
          const r = await call<{ state: S.ClusterState }>(this.manager(), 'GET', `/cluster/state?after=${this.state?.version ?? 0}`,
            undefined, { signal: ac.signal, timeoutMs: POLL_WAIT_MS + 10_000, node: this.cfg.nodeId });
          await this.adopt(r.state);
        } catch {
          if (!ac.signal.aborted) await new Promise((r) => setTimeout(r, 1000));
        }
      }
    })();
  }

  private manager(): Peer {
    return { addr: this.cfg!.managerAddr, token: this.cfg!.token, ca: this.cfg!.managerCert };
  }

  private async adopt(s: S.ClusterState): Promise<void> {
    if (this.state && s.version <= this.state.version && s.clusterId === this.state.clusterId) return;
    this.state = s;
    if (this.cfg) await this.save().catch(() => undefined);
    await this.changed();
  }

  private chain: Promise<void> = Promise.resolve();
  /** Hand the new state to the node, one change after another. */
  private changed(): Promise<void> {
    const s = this.state;
    this.chain = this.chain.then(() => this.onChange(s)).catch((e) => {
      log.warn(`cluster: ${(e as Error).message}`);
    });
    return this.chain;
  }

  private async save(): Promise<void> {
    await this.store.put(KIND, 'config', this.cfg);
    if (this.state) await this.store.put(KIND, 'state', this.state);
  }
}

/** The address to advertise: the one given, or the host's only global IPv4 address. */
function chooseAdvertise(given?: string): string {
  if (given) {
    const ip = given.replace(/:\d+$/, '');
    if (!/^\d+\.\d+\.\d+\.\d+$/.test(ip)) throw new ApiError(400, `advertise address must be a non-zero IP address or network interface (with optional port number): ${given}`);
    return ip;
  }
  const addrs = Object.values(os.networkInterfaces()).flat()
    .filter((a) => a && a.family === 'IPv4' && !a.internal).map((a) => a!.address);
  if (addrs.length === 1) return addrs[0];
  if (!addrs.length) throw new ApiError(400, 'could not find the system\'s IP address - specify one with --advertise-addr');
  throw new ApiError(400, `could not choose an IP address to advertise since this system has multiple addresses (${addrs.join(' and ')}) - specify one with --advertise-addr`);
}

const isId = (v: unknown): v is string => typeof v === 'string' && /^[0-9a-f]{64}$/.test(v);
const str = (v: unknown): string | undefined => (typeof v === 'string' && v ? v : undefined);
function strMap(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) out[k] = String(x);
  return out;
}

function randomId(n: number): string {
  const abc = 'abcdefghijklmnopqrstuvwxyz0123456789';
  return [...randomBytes(n)].map((b) => abc[b % abc.length]).join('');
}

function readBody(req: http.IncomingMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > 1 << 20) { reject(new ApiError(413, 'request too large')); req.destroy(); return; }
      chunks.push(c);
    });
    req.on('end', () => {
      try { resolve(chunks.length ? JSON.parse(Buffer.concat(chunks).toString()) : {}); } catch { reject(new ApiError(400, 'invalid JSON')); }
    });
    req.on('error', reject);
  });
}

interface Peer { addr: string; token: string; ca: string }

/**
 * One request to the manager, over TLS with its certificate pinned (the name in it is not
 * checked: the pin is the check); its error message and status come back as an ApiError.
 */
function call<T>(peer: Peer, method: string, url: string, body?: unknown,
  opts: { signal?: AbortSignal; timeoutMs?: number; node?: string } = {}): Promise<T> {
  const [host, port] = peer.addr.split(':');
  const { signal, timeoutMs = 10_000, node = '' } = opts;
  const token = peer.token, addr = peer.addr;
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const req = https.request({
      host, port: Number(port || CLUSTER_PORT), method, path: url, signal, timeout: timeoutMs,
      ca: peer.ca, checkServerIdentity: () => undefined,
      headers: { 'x-berth-token': token, ...(node ? { 'x-berth-node': node } : {}), ...(data ? { 'content-type': 'application/json', 'content-length': data.length } : {}) },
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        let v: any;
        try { v = JSON.parse(Buffer.concat(chunks).toString() || '{}'); } catch { v = {}; }
        if (res.statusCode === 200) resolve(v as T);
        else reject(new ApiError(res.statusCode === 401 ? 400 : (res.statusCode ?? 500), v.message ?? `manager answered ${res.statusCode}`));
      });
    });
    req.on('timeout', () => req.destroy(new Error(`the manager at ${addr} did not answer`)));
    req.on('error', (e) => reject(e instanceof ApiError ? e : new ApiError(503, `cannot reach the manager at ${addr}: ${e.message}`)));
    if (data) req.write(data);
    req.end();
  });
}
