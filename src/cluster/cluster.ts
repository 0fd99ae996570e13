// Several berthd hosts as one cluster, for overlay networks, on etcd (kv.ts, keys.ts).
//
// Two ways in. `berthd --cluster-store etcd://H:2379,… --cluster-advertise ADDR` joins the
// etcd cluster the user runs (Docker's classic flags). Or the swarm commands: `swarm init`
// makes a CA (pki.ts) and starts an etcd member as berthd's child process (kernel/etcd.ts) on
// the advertised address, client port 2377 (swarm's port), peer port 2380, with etcd's own
// authentication on: user "worker" may use berth/cluster/ only, user "manager" everything; the
// join tokens are those users' passwords plus the CA's digest. `swarm join --token T A:2377`
// pins the CA, logs in as the token's user and, for a manager token, issues itself a member
// certificate and adds an etcd member (MemberAdd) on this host, so three managers survive the
// loss of any one.
//
// Every node holds a lease (TTL seconds, --cluster-ttl); its liveness key, its endpoints and
// their addresses are on it, so a host that dies or is cut off is Down, and its containers
// gone from the others, when the lease expires. The node keeps its own endpoints in its local
// store too and registers them again under a new lease when it is back.
import * as os from 'node:os';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { Range, type Lease } from 'etcd3';
import { ApiError } from '../util/errors';
import * as S from './state';
import * as K from './keys';
import { ClusterStore, storeError, UNREACHABLE } from './kv';
import { Store } from '../store/store';
import { fetchCa, issue, makeCa, makeToken, parseToken, TokenMismatch } from './pki';
import { memberLogTail, startMember, stopMember, writeMemberCerts } from '../kernel/etcd';
import { log } from '../util/log';

const CLUSTER_PORT = 2377;
const PEER_PORT = 2380;
const DEFAULT_TTL = 5;
/** The store kinds of this node's membership (config), its view of the cluster, its own endpoints. */
const KIND = 'swarm';
const EP_KIND = 'swarm-endpoints';

interface ClusterConfig {
  role: 'manager' | 'worker' | 'external';
  nodeId: string;
  clusterId: string;
  advertiseAddr: string;
  managerAddr: string;       // "ip:port" of the manager this node joined through
  hosts: string[];           // etcd client URLs
  ca?: string;               // PEM: the cluster's CA, as checked against the join token
  user?: string;
  password?: string;
  token: string;             // join tokens (managers)
  managerToken: string;
  createdAt: string;
}

/** berthd --cluster-store / --cluster-advertise / --cluster-store-opt / --cluster-ttl. */
export interface ClusterOptions {
  ttl?: number;
  store?: { hosts: string[]; advertise: string; ca?: Buffer; cert?: Buffer; key?: Buffer };
}

const NOT_IN_SWARM = 'This node is not a swarm manager. Use "docker swarm init" or "docker swarm join" to connect this node to swarm and try again.';
const ALREADY = 'This node is already part of a swarm. Use "docker swarm leave" to leave this swarm and join another one.';
const EXTERNAL = 'this node is in the cluster of its --cluster-store: swarm init, join and leave do not apply';

export class Cluster {
  private cfg: ClusterConfig | null = null;
  private kv: ClusterStore | null = null;
  private saved: S.ClusterState | null = null;
  private lease: Lease | null = null;
  private leaseId = '';
  private readonly store: Store;
  private readonly mine = new Map<string, S.OverlayEndpoint>();
  private readonly ttl: number;
  private stopped = false;

  /** `onChange`: the node's overlay networks and names follow the state (called in order). */
  constructor(private readonly dir: string, private readonly onChange: (s: S.ClusterState | null) => Promise<void>,
              private readonly usedSubnets: () => Promise<string[]> = async () => [],
              private readonly opts: ClusterOptions = {}) {
    this.store = new Store(dir);
    this.ttl = opts.ttl ?? DEFAULT_TTL;
  }

  get config(): ClusterConfig | null { return this.cfg; }
  get current(): S.ClusterState | null { return this.cfg ? (this.kv && this.kv.view.version ? this.kv.view : this.saved) : null; }
  get nodeId(): string { return this.cfg?.nodeId ?? ''; }
  private get memberDir(): string { return path.join(this.dir, 'etcd'); }

  /** At daemon start: take up the role this node had (its etcd member too), or the --cluster-store's. */
  async load(): Promise<void> {
    let cfg = await this.store.get<ClusterConfig>(KIND, 'config');
    const ext = this.opts.store;
    if (ext) {
      if (!cfg || cfg.role !== 'external' || cfg.hosts.join() !== ext.hosts.join() || cfg.advertiseAddr !== ext.advertise) {
        cfg = {
          role: 'external', nodeId: cfg?.role === 'external' ? cfg.nodeId : randomId(25), clusterId: '', advertiseAddr: ext.advertise,
          managerAddr: '', hosts: ext.hosts, token: '', managerToken: '', createdAt: new Date().toISOString(),
        };
        await this.store.put(KIND, 'config', cfg);
      }
    }
    if (!cfg) return;
    this.cfg = cfg;
    for (const e of await this.store.loadAll<S.OverlayEndpoint>(EP_KIND)) this.mine.set(e.id, e);
    // The last view, so this host's overlay networks stay while the store is out of reach.
    this.saved = await this.store.get<S.ClusterState>(KIND, 'view');
    if (cfg.role === 'manager') await startMember(this.memberSpec(cfg, 'new')).catch((e) => log.warn(`cluster: ${(e as Error).message}`));
    this.connect();
    if (this.saved) await this.changed(this.saved);
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

  private memberSpec(cfg: ClusterConfig, state: 'new' | 'existing', initialCluster?: string) {
    return {
      name: cfg.nodeId, dir: this.memberDir, addr: cfg.advertiseAddr, clientPort: CLUSTER_PORT, peerPort: PEER_PORT,
      initialCluster: initialCluster ?? `${cfg.nodeId}=https://${cfg.advertiseAddr}:${PEER_PORT}`, initialState: state,
    };
  }

  private async doInit(body: { AdvertiseAddr?: string; ListenAddr?: string }): Promise<string> {
    if (this.opts.store) throw new ApiError(400, EXTERNAL);
    if (this.cfg) throw new ApiError(503, ALREADY);
    const advertiseAddr = chooseAdvertise(body.AdvertiseAddr || body.ListenAddr);
    const nodeId = randomId(25), clusterId = randomId(25);
    const workerSecret = randomId(25), managerSecret = randomId(25), rootSecret = randomId(25);
    const host = `https://${advertiseAddr}:${CLUSTER_PORT}`;
    let setup = null as ClusterStore | null;
    try {
      const ca = await makeCa();
      const member = await issue(ca, nodeId, [advertiseAddr]);
      await writeMemberCerts(this.memberDir, ca.cert, member.cert, member.key);
      const cfg: ClusterConfig = {
        role: 'manager', nodeId, clusterId, advertiseAddr, managerAddr: `${advertiseAddr}:${CLUSTER_PORT}`, hosts: [host],
        ca: ca.cert, user: 'manager', password: managerSecret,
        token: makeToken(ca.cert, workerSecret), managerToken: makeToken(ca.cert, managerSecret), createdAt: new Date().toISOString(),
      };
      await startMember(this.memberSpec(cfg, 'new'));
      // The new member, before its authentication is on: users, roles, the CA, the cluster's identity.
      // (a fresh client per try, as when clients had a circuit breaker that stayed open after failures; harmless now)
      await until(async () => {
        setup?.close();
        setup = new ClusterStore({ hosts: [host], ca: Buffer.from(ca.cert), ...DIRECT });
        return setup.client.get(K.INFO).string();
      }, 15_000).catch(async (e) => {
        throw new Error(`etcd did not start: ${(e as Error).message}\n${await memberLogTail(this.memberDir)}`);
      });
      const c = setup!.client;
      await c.role('worker').create();
      await c.role('worker').grant({ permission: 'Readwrite', range: Range.prefix(K.CLUSTER) });
      await c.user('root').create(rootSecret);
      await c.user('root').addRole('root');
      await c.user('worker').create(workerSecret);
      await c.user('worker').addRole('worker');
      await c.user('manager').create(managerSecret);
      await c.user('manager').addRole('root');
      await c.put(K.CA_CERT).value(ca.cert);
      await c.put(K.CA_KEY).value(ca.key);
      await c.put(K.TOKENS).value(JSON.stringify({ worker: cfg.token, manager: cfg.managerToken }));
      await setup!.ensureInfo(clusterId);
      await c.auth.authEnable({});
      this.cfg = cfg;
      await this.store.put(KIND, 'config', cfg);
    } catch (e) {
      this.cfg = null;
      await stopMember(this.memberDir);
      await fs.rm(this.dir, { recursive: true, force: true });
      throw new ApiError(400, `cannot start the swarm manager on ${advertiseAddr}:${CLUSTER_PORT}: ${(e as Error).message}`);
    } finally {
      setup?.close();
    }
    this.connect();
    await this.ready();
    return nodeId;
  }

  private async doJoin(body: { RemoteAddrs?: string[]; JoinToken?: string; AdvertiseAddr?: string; ListenAddr?: string }): Promise<void> {
    if (this.opts.store) throw new ApiError(400, EXTERNAL);
    if (this.cfg) throw new ApiError(503, ALREADY);
    const remote = body.RemoteAddrs?.[0];
    if (!remote) throw new ApiError(400, 'at least 1 RemoteAddr is required to join');
    const token = parseToken(body.JoinToken ?? '');
    if (!token) throw new ApiError(400, 'invalid join token');
    const managerAddr = remote.includes(':') ? remote : `${remote}:${CLUSTER_PORT}`;
    const advertiseAddr = chooseAdvertise(body.AdvertiseAddr || body.ListenAddr);
    const nodeId = randomId(25);
    const [host, port] = managerAddr.split(':');
    const ca = await fetchCa(host, Number(port), token.digest).catch((e) => {
      // A wrong token is the user's to fix (400); an unreachable manager is not (503).
      throw new ApiError(e instanceof TokenMismatch ? 400 : 503, `cannot join the swarm at ${managerAddr}: ${(e as Error).message}`);
    });
    // The token's secret is the password of the worker user or of the manager user.
    let probe: ClusterStore | null = null, user = '';
    for (const u of ['worker', 'manager']) {
      const s = new ClusterStore({ hosts: [`https://${managerAddr}`], ca: Buffer.from(ca), auth: { username: u, password: token.secret }, ...DIRECT });
      try {
        await s.call((c) => c.get(K.INFO).string());
        probe = s; user = u;
        break;
      } catch (e) {
        s.close();
        if (!(e instanceof ApiError && e.message === 'invalid join token')) throw new ApiError(503, `cannot join the swarm at ${managerAddr}: ${(e as Error).message}`);
      }
    }
    if (!probe) throw new ApiError(400, 'invalid join token');
    let added = '';
    try {
      const info = JSON.parse((await probe.call((c) => c.get(K.INFO).string())) ?? '{}');
      const members = (await probe.call((c) => c.cluster.memberList({}))).members ?? [];
      const hosts = members.flatMap((m) => m.clientURLs ?? []);
      const cfg: ClusterConfig = {
        role: user === 'manager' ? 'manager' : 'worker', nodeId, clusterId: String(info.clusterId ?? ''), advertiseAddr, managerAddr,
        hosts: hosts.length ? hosts : [`https://${managerAddr}`], ca, user, password: token.secret, token: '', managerToken: '',
        createdAt: new Date().toISOString(),
      };
      if (user === 'manager') {
        const tokens = JSON.parse((await probe.call((c) => c.get(K.TOKENS).string())) ?? '{}');
        cfg.token = tokens.worker ?? ''; cfg.managerToken = tokens.manager ?? '';
        const caKey = await probe.call((c) => c.get(K.CA_KEY).string());
        const member = await issue({ cert: ca, key: caKey ?? '' }, nodeId, [advertiseAddr]);
        await writeMemberCerts(this.memberDir, ca, member.cert, member.key);
        const peer = `https://${advertiseAddr}:${PEER_PORT}`;
        // etcd refuses a member while the last one added is not yet active ("unhealthy
        // cluster": its strict reconfiguration check); that passes in seconds.
        const r = await until(() => probe!.client.cluster.memberAdd({ peerURLs: [peer] }), 30_000,
          (e) => /unhealthy cluster/.test((e as Error).message)).catch((e) => { throw storeError(e); });
        added = String(r.member?.ID ?? '');
        const initial = (r.members ?? []).map((m) => `${m.name || nodeId}=${m.peerURLs?.[0] ?? peer}`).join(',');
        await startMember(this.memberSpec(cfg, 'existing', initial));
        cfg.hosts = [...cfg.hosts, `https://${advertiseAddr}:${CLUSTER_PORT}`];
      }
      this.cfg = cfg;
      await this.store.put(KIND, 'config', cfg);
    } catch (e) {
      // Nothing half-joined: the member this join added goes, and so does what it wrote here.
      this.cfg = null;
      if (added) await probe.call((c) => c.cluster.memberRemove({ ID: added })).catch(() => undefined);
      await stopMember(this.memberDir);
      await fs.rm(this.dir, { recursive: true, force: true });
      throw e instanceof ApiError ? e : new ApiError(503, `cannot join the swarm at ${managerAddr}: ${(e as Error).message}`);
    } finally {
      probe.close();
    }
    this.connect();
    await this.ready();
  }

  private async doLeave(force: boolean): Promise<void> {
    if (!this.cfg) throw new ApiError(503, 'This node is not part of a swarm');
    if (this.cfg.role === 'external') throw new ApiError(400, EXTERNAL);
    const kv = this.kv;
    if (this.cfg.role === 'manager') {
      if (!force) {
        throw new ApiError(503, 'You are attempting to leave the swarm on a node that is participating as a manager. ' +
          'Removing the last manager erases all current state of the swarm. Use `--force` to ignore this message. ');
      }
      // With other members left, this one goes out of the etcd cluster first (their quorum shrinks).
      if (kv) {
        const members = (await kv.call((c) => c.cluster.memberList({})).catch(() => null))?.members ?? [];
        const me = members.find((m) => m.name === this.cfg!.nodeId);
        if (me && members.length > 1) {
          await kv.removeNode(this.cfg.nodeId).catch(() => undefined);
          await kv.call((c) => c.cluster.memberRemove({ ID: me.ID })).catch((e) => log.warn(`cluster: member remove: ${e.message}`));
        }
      }
    } else if (kv) {
      await this.lease?.revoke().catch(() => undefined);
      await kv.removeNode(this.cfg.nodeId).catch(() => undefined);
    }
    this.disconnect();
    await stopMember(this.memberDir);
    this.cfg = null;
    this.saved = null;
    this.mine.clear();
    await fs.rm(this.dir, { recursive: true, force: true });
    await this.onChange(null);
  }

  close(): void {
    this.stopped = true;
    this.disconnect();
  }

  private disconnect(): void {
    this.lease?.release();
    this.lease = null;
    this.leaseId = '';
    this.kv?.close();
    this.kv = null;
  }

  /** Whether a node's lease holds. */
  nodeReady(id: string): boolean {
    return this.current?.alive.includes(id) ?? false;
  }

  /** A manager (or any node of a --cluster-store) forgets a node that is gone (`node rm`); its endpoints go with it. */
  async removeNode(id: string, force: boolean): Promise<void> {
    if (!this.cfg || this.cfg.role === 'worker') throw new ApiError(503, NOT_IN_SWARM);
    const n = this.current?.nodes.find((x) => x.id === id);
    if (n?.role === 'manager') {
      throw new ApiError(400, `rpc error: code = FailedPrecondition desc = node ${id} is a cluster manager and is a member of the raft cluster. It must be demoted to worker before removal`);
    }
    if (!force && this.nodeReady(id)) {
      throw new ApiError(400, `rpc error: code = FailedPrecondition desc = node ${id} is not down and can't be removed`);
    }
    await this.need().removeNode(id);
    await this.kv!.caughtUp();
  }

  // ---------------------------------------------------------------- changes, from any node

  async createNetwork(req: S.NetworkRequest): Promise<S.OverlayNetwork> {
    const kv = this.need();
    const net = await kv.createNetwork(req, await this.usedSubnets());
    await kv.caughtUp();
    await this.chain;
    return net;
  }

  async removeNetwork(id: string): Promise<void> {
    const kv = this.need();
    await kv.removeNetwork(id);
    await kv.caughtUp();
    await this.chain;
  }

  async addEndpoint(req: S.EndpointRequest): Promise<S.OverlayEndpoint> {
    const kv = this.need();
    if (!this.leaseId) throw new ApiError(503, `${UNREACHABLE}: this node has no lease yet`);
    const e = await kv.addEndpoint(req, this.leaseId);
    this.mine.set(e.id, e);
    try {
      await this.store.put(EP_KIND, e.id, e);
    } catch (err) {
      this.mine.delete(e.id);
      await kv.removeEndpoint(e).catch(() => undefined);
      throw err;
    }
    return e;
  }

  async removeEndpoint(id: string): Promise<void> {
    const e = this.mine.get(id);
    if (!e) return;
    // The store first: if etcd is out of reach, the endpoint goes with this node's lease.
    await this.kv?.removeEndpoint(e).catch((err) => log.warn(`cluster: endpoint ${id.slice(0, 12)}: ${(err as Error).message}`));
    this.mine.delete(id);
    await this.store.delete(EP_KIND, id);
  }

  private need(): ClusterStore {
    if (!this.cfg || !this.kv) throw new ApiError(503, NOT_IN_SWARM);
    return this.kv;
  }

  // ---------------------------------------------------------------- the connection

  private connecting: Promise<void> | null = null;
  private registered: (() => void) | null = null;
  private registeredP: Promise<void> = Promise.resolve();

  /** Connect to etcd, register, and follow (in the background, trying again until it works). */
  private connect(): void {
    const cfg = this.cfg!;
    const ext = this.opts.store;
    this.stopped = false;
    this.kv = new ClusterStore(ext
      ? { hosts: ext.hosts, ca: ext.ca, cert: ext.cert, key: ext.key }
      : { hosts: cfg.hosts, ca: Buffer.from(cfg.ca ?? ''), auth: { username: cfg.user!, password: cfg.password! } });
    this.registeredP = new Promise((r) => { this.registered = r; });
    const kv = this.kv;
    this.connecting = (async () => {
      await this.register(kv);
      while (!this.stopped && this.kv === kv) {
        try {
          await kv.follow((v) => { void this.changed(v); });
          return;
        } catch (e) {
          log.warn(`cluster: ${(e as Error).message}`);
          await sleep(1000);
        }
      }
    })();
  }

  /** A new lease, this node's record, its endpoints again; once more whenever the lease is lost. */
  private async register(kv: ClusterStore): Promise<void> {
    const cfg = this.cfg!;
    while (!this.stopped && this.kv === kv) {
      try {
        if (cfg.role === 'external') cfg.clusterId = await kv.ensureInfo(cfg.clusterId || randomId(25));
        const { lease, id } = await kv.lease(this.ttl);
        lease.on('lost', (e) => {
          if (this.lease !== lease) return;
          log.warn(`cluster: lease lost (${e.message}): registering again`);
          this.leaseId = '';
          lease.release();
          void this.register(kv);
        });
        const role = cfg.role === 'worker' ? 'worker' : 'manager';
        await kv.registerNode({ id: cfg.nodeId, addr: cfg.advertiseAddr, hostname: os.hostname(), role, joined: cfg.createdAt }, id);
        for (const e of this.mine.values()) {
          const r = await kv.put(e, id);
          if (r !== 'ok') log.warn(`cluster: endpoint ${e.id.slice(0, 12)} of container ${e.name} could not be registered again: ${r === 'no network' ? 'its network is gone' : `its address ${r.taken.join(' and ')} was given to another container meanwhile`}`);
        }
        this.lease = lease;
        this.leaseId = id;
        this.registered?.();
        return;
      } catch (e) {
        log.warn(`cluster: cannot register with the cluster store: ${(e as Error).message}`);
        await sleep(1000);
      }
    }
  }

  /** Wait until this node is registered and follows the cluster (after init or join). */
  private async ready(): Promise<void> {
    await Promise.race([this.registeredP, sleep(15_000)]);
    await Promise.race([this.connecting, sleep(15_000)]);
    await this.chain;
  }

  private chain: Promise<void> = Promise.resolve();
  private saving: NodeJS.Timeout | null = null;
  /** Hand the new view to the node, one change after another; keep it for the next start. */
  private changed(v: S.ClusterState): Promise<void> {
    // The Leader key goes with its manager's lease: another manager claims it.
    if (!v.managerNodeId && this.cfg?.role === 'manager' && this.leaseId) void this.kv?.claimLeader(this.cfg.nodeId, this.leaseId).catch(() => undefined);
    this.chain = this.chain.then(() => this.onChange(v)).catch((e) => {
      log.warn(`cluster: ${(e as Error).message}`);
    });
    this.saving ??= setTimeout(() => {
      this.saving = null;
      if (this.cfg && this.kv) void this.store.put(KIND, 'view', this.kv.view).catch(() => undefined);
    }, 200);
    return this.chain;
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

function randomId(n: number): string {
  const abc = 'abcdefghijklmnopqrstuvwxyz0123456789';
  return [...randomBytes(n)].map((b) => abc[b % abc.length]).join('');
}

/**
 * For init's and join's clients, which also make calls that are not safe to repeat (a user or
 * role created, a member added) directly, outside ClusterStore.call's retries: one try each, as
 * long as a call on a busy single member may take.
 */
const DIRECT = { attemptMs: 5000 };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** `f` again until it works, for up to `ms` (while `again` says the error may pass). */
async function until<T>(f: () => Promise<T>, ms: number, again: (e: unknown) => boolean = () => true): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    try { return await f(); } catch (e) {
      if (Date.now() > end || !again(e)) throw e;
      await sleep(200);
    }
  }
}

