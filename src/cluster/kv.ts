// The cluster store: an etcd client (the etcd3 package) that keeps this node's view of
// berth/cluster/ (state.ts) up to date with one watch from the revision it last read, and
// makes every change as one transaction (keys.ts says which keys, and what each compares).
import { noop } from 'cockatiel';
import { Etcd3, EtcdAuthenticationFailedError, EtcdPermissionDeniedError, type Lease, type Watcher } from 'etcd3';
import * as K from './keys';
import * as S from './state';
import { ATTEMPT_MS, nextTry } from './retry';
import { ApiError, notFound } from '../util/errors';
import { POOL_OVERLAP } from '../ipam/pools';
import { log } from '../util/log';

interface StoreOptions {
  hosts: string[];                     // https://host:port or http://host:port
  ca?: Buffer; cert?: Buffer; key?: Buffer;
  auth?: { username: string; password: string };
  timeoutMs?: number;                  // one call's budget, tries included (then: "not reachable")
  attemptMs?: number;                  // one try's deadline (retry.ts's ATTEMPT_MS unless given)
}

/** How many times a transaction is tried again after its compare failed (someone else won). */
const RETRIES = 64;

export const UNREACHABLE = 'the cluster store is not reachable';

/** An error of the store's client as the API shows it: a wrong password, or the store out of reach. */
export function storeError(e: unknown): Error {
  if (e instanceof ApiError) return e;
  if (e instanceof EtcdAuthenticationFailedError) return new ApiError(400, 'invalid join token');
  if (e instanceof EtcdPermissionDeniedError) return new ApiError(403, `the cluster store refused: ${(e as Error).message}`);
  return new ApiError(503, `${UNREACHABLE}: ${(e as Error)?.message ?? e}`);
}

export class ClusterStore {
  readonly client: Etcd3;
  private readonly kvs = new Map<string, string>();
  private revision = 0;
  private watcher: Watcher | null = null;
  private closed = false;
  /** The revision of this node's last change, and who waits for the view to reach a revision. */
  private lastWrite = 0;
  private readonly waiters: Array<{ rev: number; done: () => void }> = [];
  view: S.ClusterState = S.fromKeys(new Map(), 0);

  /** How long a call may try (retry.ts: long enough for an election after the leader's loss). */
  private readonly budget: number;

  constructor(readonly opts: StoreOptions) {
    this.budget = opts.timeoutMs ?? 10_000;
    const attempt = Math.min(opts.attemptMs ?? ATTEMPT_MS, this.budget);
    this.client = new Etcd3({
      hosts: opts.hosts,
      ...(opts.ca ? { credentials: { rootCertificate: opts.ca, ...(opts.cert && opts.key ? { certChain: opts.cert, privateKey: opts.key } : {}) } } : {}),
      ...(opts.auth ? { auth: { ...opts.auth, callOptions: () => ({ deadline: Date.now() + attempt }) } } : {}),
      // One try on one member per call: call() decides about the next (retry.ts), with a budget
      // for the whole call. (The client's own policies would try 4 times without a pause and
      // trip a circuit breaker per member that concurrent calls share: while a new leader is
      // elected, failures of the calls in flight opened the breaker of every member, the
      // live ones too, and the next calls failed at once, unsent.)
      faultHandling: { host: () => noop, global: noop },
      // Streams (the watch, lease keep-alives) run for as long as they are needed.
      defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + attempt }),
    });
  }

  /**
   * Calls `fn`, again while it fails in a way that passes (a member down, a leader being
   * elected; retry.ts) and the budget lasts; turns the client's errors into the API's. Each try
   * goes to a member the client picks at random, so a dead one is left after one refused try.
   * Every `fn` given here must be safe to repeat (retry.ts says why the ones in this file are).
   */
  async call<T>(fn: (c: Etcd3) => Promise<T>): Promise<T> {
    const end = Date.now() + this.budget;
    let r: T;
    for (let attempt = 1; ; attempt++) {
      try {
        r = await fn(this.client);
        break;
      } catch (e) {
        const wait = this.closed ? null : nextTry(e, attempt, Date.now(), end, Math.random());
        if (wait === null) throw storeError(e);
        log.debug(`cluster store: ${(e as Error).message}; trying again in ${wait} ms`);
        await new Promise((res) => setTimeout(res, wait));
      }
    }
    const rev = Number((r as any)?.header?.revision ?? 0);
    if ((r as any)?.succeeded && rev > this.lastWrite) this.lastWrite = rev;
    return r;
  }

  /** Resolves when the view shows this node's last change (the watch brings it in a moment). */
  caughtUp(timeoutMs = 5000): Promise<void> {
    const rev = this.lastWrite;
    if (this.revision >= rev) return Promise.resolve();
    return new Promise((resolve) => {
      const t = setTimeout(done, timeoutMs);
      const w = { rev, done };
      function done() { clearTimeout(t); resolve(); }
      this.waiters.push(w);
    });
  }

  private wake(): void {
    for (let i = this.waiters.length - 1; i >= 0; i--) {
      if (this.waiters[i].rev <= this.revision) { this.waiters[i].done(); this.waiters.splice(i, 1); }
    }
  }

  /**
   * Read berth/cluster/ once, then follow it with a watch from the next revision; `changed`
   * is called with each new view (and again after the watch had to start over).
   */
  async follow(changed: (v: S.ClusterState) => void): Promise<void> {
    const res = await this.call((c) => c.getAll().prefix(K.CLUSTER).exec());
    this.kvs.clear();
    for (const kv of res.kvs) this.kvs.set(kv.key.toString(), kv.value.toString());
    this.revision = Number(res.header.revision);
    this.view = S.fromKeys(this.kvs, this.revision);
    changed(this.view);
    this.wake();
    const w = await this.client.watch().prefix(K.CLUSTER).startRevision(String(this.revision + 1)).create();
    if (this.closed) { await w.cancel(); return; }
    this.watcher = w;
    w.on('data', (r) => {
      for (const ev of r.events) {
        const key = ev.kv.key.toString();
        if (ev.type === 'Delete') this.kvs.delete(key); else this.kvs.set(key, ev.kv.value.toString());
        this.noteFreed(key, ev.type === 'Delete');
      }
      if (!r.events.length) return;
      this.revision = Number(r.header.revision);
      this.view = S.fromKeys(this.kvs, this.revision);
      changed(this.view);
      this.wake();
    });
    w.on('error', (e) => {
      // (a compacted revision: read everything again and watch from there)
      log.warn(`cluster store watch: ${e.message}; reading the cluster again`);
      void w.cancel().catch(() => undefined).then(() => this.retryFollow(changed));
    });
  }

  private async retryFollow(changed: (v: S.ClusterState) => void): Promise<void> {
    while (!this.closed) {
      try { await this.follow(changed); return; } catch { await new Promise((r) => setTimeout(r, 1000)); }
    }
  }

  close(): void {
    this.closed = true;
    void this.watcher?.cancel().catch(() => undefined);
    this.client.close();
  }

  // ---------------------------------------------------------------- changes

  /**
   * Addresses freed while this node watched (a container removed, or a host's lease expired):
   * given out again only when no other is free, so a host that comes back after its lease
   * expired most likely finds its containers' addresses still free to register again.
   */
  private readonly freed = new Set<string>();

  private noteFreed(key: string, deleted: boolean): void {
    const p = K.parse(key);
    if (p?.kind !== 'addr') return;
    const k = `${p.net}/${p.id}`;
    if (!deleted) { this.freed.delete(k); return; }
    this.freed.add(k);
    if (this.freed.size > 65536) this.freed.delete(this.freed.values().next().value as string);
  }

  /** A lease of `ttl` seconds, kept alive by the client. */
  async lease(ttl: number): Promise<{ lease: Lease; id: string }> {
    const lease = this.client.lease(ttl);
    try {
      return { lease, id: await lease.grant() };
    } catch (e) {
      lease.release();
      throw storeError(e);
    }
  }

  /** A node (re)registers: its record, its liveness (on its lease), and the leader key if free. */
  async registerNode(n: S.ClusterNode, leaseId: string): Promise<void> {
    await this.call((c) => c.if(K.alive(n.id), 'Create', '>', -1)
      .then(c.put(K.node(n.id)).value(JSON.stringify(n)), c.put(K.alive(n.id)).value(leaseId).lease(leaseId)).commit());
    if (n.role === 'manager') await this.claimLeader(n.id, leaseId);
  }

  /** The manager that shows as Leader: the first to claim the key; the next one when its lease goes. */
  async claimLeader(nodeId: string, leaseId: string): Promise<void> {
    await this.call((c) => c.if(K.LEADER, 'Create', '==', 0).then(c.put(K.LEADER).value(nodeId).lease(leaseId)).commit());
  }

  /** The cluster's identity, written once by the first node to come. */
  async ensureInfo(clusterId: string): Promise<string> {
    const info = JSON.stringify({ clusterId, createdAt: new Date().toISOString() });
    const r = await this.call((c) => c.if(K.INFO, 'Create', '==', 0).then(c.put(K.INFO).value(info)).else(c.get(K.INFO)).commit());
    if (r.succeeded) return clusterId;
    const kv = r.responses[0]?.response_range?.kvs?.[0];
    return String(JSON.parse(kv?.value.toString() ?? '{}').clusterId ?? clusterId);
  }

  /** A node leaves or is removed: its record, liveness, endpoints and addresses go, at once. */
  async removeNode(nodeId: string): Promise<void> {
    const eps = this.view.endpoints.filter((e) => e.nodeId === nodeId);
    await this.call((c) => c.if(K.node(nodeId), 'Create', '>', -1).then(
      c.delete().key(K.node(nodeId)), c.delete().key(K.alive(nodeId)),
      ...eps.flatMap((e) => [c.delete().key(K.endpoint(e.networkId, e.id)), ...S.addressesOf(e).map((a) => c.delete().key(K.addr(e.networkId, a)))]),
    ).commit());
  }

  /** A new overlay network: its name, VNI and subnet (subnets: IPv4 and IPv6) taken in one transaction. */
  async createNetwork(r: S.NetworkRequest, used: string[]): Promise<S.OverlayNetwork> {
    const vnis = new Set<number>();
    for (let i = 0; i < RETRIES; i++) {
      const net = S.addNetwork(this.view, r, used, vnis).networks.find((n) => n.id === r.id)!;
      const subnets = subnetKeys(net);
      const ok = await this.call((c) => subnets.reduce((t, k) => t.and(k, 'Create', '==', 0),
        c.if(K.name(net.name), 'Create', '==', 0).and(K.vni(net.vni), 'Create', '==', 0))
        .then(c.put(K.network(net.id)).value(JSON.stringify(net)), c.put(K.name(net.name)).value(net.id),
          c.put(K.vni(net.vni)).value(net.id), ...subnets.map((k) => c.put(k).value(net.id)))
        .else(c.get(K.name(net.name)), c.get(K.network(net.id)))
        .commit());
      if (ok.succeeded) return net;
      // The name is this network's already: an earlier try was applied and only its answer lost.
      const mine = ok.responses[1]?.response_range?.kvs?.[0]?.value.toString();
      if (mine && ok.responses[0]?.response_range?.kvs?.[0]?.value.toString() === net.id) return JSON.parse(mine) as S.OverlayNetwork;
      // Someone else took one of them: learn which, and decide again.
      const [name, vni, subnet, subnet6] = await Promise.all([K.name(net.name), K.vni(net.vni), ...subnets]
        .map((k) => this.call((c) => c.get(k).exists())));
      if (name) throw new ApiError(409, `network with name ${net.name} already exists`);
      if (vni) vnis.add(net.vni);
      // (an IPv6 subnet is always the user's: Docker has no default IPv6 pool)
      if (subnet6) throw new ApiError(403, POOL_OVERLAP);
      if (subnet) {
        if (r.subnet) throw new ApiError(403, POOL_OVERLAP);
        used = [...used, net.subnet];
      }
    }
    throw new ApiError(503, `${UNREACHABLE}: too many concurrent changes, try again`);
  }

  /** Remove a network with no endpoint anywhere (an endpoint made meanwhile makes it fail). */
  async removeNetwork(id: string): Promise<void> {
    for (let i = 0; i < RETRIES; i++) {
      const net = this.view.networks.find((n) => n.id === id);
      if (!net) throw notFound(`network ${id} not found`);
      const [eps, use] = await Promise.all([
        this.call((c) => c.getAll().prefix(K.endpointsOf(id)).keys()),
        this.call((c) => c.get(K.inuse(id)).exec()),
      ]);
      if (eps.length) S.removeNetwork(this.view, id);   // throws Docker's "has active endpoints" if the view shows them
      if (eps.length) throw new ApiError(403, `error while removing network: network ${net.name} has active endpoints`);
      const modRev = use.kvs[0]?.mod_revision ?? '0';
      const ok = await this.call((c) => c.if(K.inuse(id), 'Mod', '==', Number(modRev)).and(K.network(id), 'Create', '>', 0)
        .then(c.delete().key(K.network(id)), c.delete().key(K.name(net.name)), c.delete().key(K.vni(net.vni)),
          ...subnetKeys(net).map((k) => c.delete().key(k)), c.delete().key(K.inuse(id)))
        .else(c.get(K.network(id)))
        .commit());
      if (ok.succeeded) return;
      // Gone already: an earlier try was applied and only its answer lost (or another client
      // removed it at the same moment; either way it is gone, as asked).
      if (!ok.responses[0]?.response_range?.kvs?.length) return;
    }
    throw new ApiError(503, `${UNREACHABLE}: too many concurrent changes, try again`);
  }

  /**
   * An endpoint with addresses no other endpoint has (on a dual-stack network, one of each
   * family): each address key is created only if absent, in the same transaction as the
   * endpoint (all on the node's lease), and only if the network still exists.
   */
  async addEndpoint(r: S.EndpointRequest, leaseId: string): Promise<S.OverlayEndpoint> {
    const taken = new Set<string>();
    for (let i = 0; i < RETRIES; i++) {
      const recent = r.ip || r.ip6 ? [] : [...this.freed].filter((k) => k.startsWith(`${r.networkId}/`)).map((k) => k.slice(r.networkId.length + 1));
      let endpoint: S.OverlayEndpoint;
      try {
        endpoint = S.addEndpoint(this.view, r, [...taken, ...recent]).endpoint;
      } catch {
        endpoint = S.addEndpoint(this.view, r, taken).endpoint;
      }
      const ok = await this.put(endpoint, leaseId);
      if (ok === 'ok') return endpoint;
      if (ok === 'no network') throw notFound(`network ${r.networkId} not found`);
      for (const a of ok.taken) taken.add(a);
    }
    throw new ApiError(503, `${UNREACHABLE}: too many concurrent changes, try again`);
  }

  /**
   * Put an endpoint whose addresses are chosen (also: re-register one after a new lease);
   * `taken`: the addresses another endpoint holds.
   */
  async put(e: S.OverlayEndpoint, leaseId: string): Promise<'ok' | 'no network' | { taken: string[] }> {
    const addrs = S.addressesOf(e);
    const keys = addrs.map((a) => K.addr(e.networkId, a));
    for (let i = 0; i < RETRIES; i++) {
      const r = await this.call((c) => keys.reduce((t, k) => t.and(k, 'Create', '==', 0), c.if(K.network(e.networkId), 'Create', '>', 0))
        .then(...keys.map((k) => c.put(k).value(e.id).lease(leaseId)), c.put(K.endpoint(e.networkId, e.id)).value(JSON.stringify(e)).lease(leaseId),
          c.put(K.inuse(e.networkId)).value(e.id))
        .else(c.get(K.network(e.networkId)), ...keys.map((k) => c.get(k)))
        .commit());
      if (r.succeeded) return 'ok';
      if (!r.responses[0]?.response_range?.kvs?.length) return 'no network';
      const owners = keys.map((_, j) => r.responses[j + 1]?.response_range?.kvs?.[0]?.value.toString());
      const taken = addrs.filter((_, j) => owners[j] !== undefined && owners[j] !== e.id);
      if (taken.length) return { taken };
      // Each address is ours already or free (a re-registration, or an earlier try of this put
      // was applied and only its answer lost): move them to this lease (a no-op if they are on it).
      const moved = await this.call((c) => keys.reduce((t, k, j) => (owners[j] === e.id ? t.and(k, 'Value', '==', e.id) : t.and(k, 'Create', '==', 0)),
        c.if(K.network(e.networkId), 'Create', '>', 0))
        .then(...keys.map((k) => c.put(k).value(e.id).lease(leaseId)), c.put(K.endpoint(e.networkId, e.id)).value(JSON.stringify(e)).lease(leaseId))
        .commit());
      if (moved.succeeded) return 'ok';
      // (one of them changed between the two: look again)
    }
    throw new ApiError(503, `${UNREACHABLE}: too many concurrent changes, try again`);
  }

  /** Remove an endpoint and free its addresses (each only if it is still this endpoint's). */
  async removeEndpoint(e: { id: string; networkId: string; ip: string; ip6?: string }): Promise<void> {
    const keys = S.addressesOf(e).map((a) => K.addr(e.networkId, a));
    const r = await this.call((c) => keys.reduce((t, k) => t.and(k, 'Value', '==', e.id), c.if(K.endpoint(e.networkId, e.id), 'Create', '>', -1))
      .then(c.delete().key(K.endpoint(e.networkId, e.id)), ...keys.map((k) => c.delete().key(k)))
      .else(c.delete().key(K.endpoint(e.networkId, e.id)))
      .commit());
    if (r.succeeded) return;
    // Not all of them are still its (a host back after its lease expired finds one given away):
    // free those that are.
    for (const k of keys) await this.call((c) => c.if(k, 'Value', '==', e.id).then(c.delete().key(k)).commit());
  }
}

/** The subnet keys a network holds: its IPv4 subnet's, and its IPv6 subnet's when it has one. */
function subnetKeys(n: S.OverlayNetwork): string[] {
  const s6 = S.subnetKey6(n);
  return [K.subnet(n.subnet), ...(s6 ? [K.subnet(s6)] : [])];
}
