// The engine's side of the embedded DNS resolver (src/dns/): which containers use it (those
// started on a user-defined network, decided at start as Docker does), asking the resolver
// process to serve them (their sockets on 127.0.0.11 inside their namespace and the redirect
// of port 53 to them), and the snapshot of names it answers from, sent again after every
// change (start, exit, rm, rename, network connect/disconnect).
//
// The resolver is a process of its own (src/dns/main.ts) that outlives berthd: a restarted
// berthd adopts it with everything it serves, so lookups never stop. Should it die while
// berthd runs, berthd starts another at once (it reopens every container's sockets from its
// state file) and tells it again what it must serve and answer.
import { hostResolvConf } from '../kernel/hostfiles';
import type { ContainerRecord, NetworkRecord } from './types';
import { onPrivateParent, traitsOf } from './drivers/registry';
import type { Networks } from './networks';
import { parseNetworkMode } from './netmode';
import { upstreams } from './etcfiles';
import type { DnsContainer, DnsView } from '../dns/records';
import { obtainResolver, findResolver, type Attached } from '../dns/client';
import { resolverDir } from '../dns/control';
import { EMBEDDED_DNS } from '../dns/address';


/** Where a container's other queries go: its --dns servers, else the host's (not loopback). */
async function hostUpstreams(c: ContainerRecord): Promise<string[]> {
  const host = await hostResolvConf();
  return upstreams(host, c.HostConfig.Dns ?? []);
}

/**
 * Whether a container on these networks has a way out of the machine (Docker's
 * hasExternalAccess): a network that is not --internal, null or host, and not a macvlan or
 * ipvlan network on a private parent of its own (containers there reach only each other). An
 * overlay network with a way out gives its containers a hidden gateway endpoint, which counts.
 */
export function hasWayOut(nets: NetworkRecord[]): boolean {
  return nets.some((n) => !n.Internal && traitsOf(n).namespace === 'own' && !onPrivateParent(n));
}

/** Waits between attempts to bring back a resolver that keeps dying. */
const RESTART_BACKOFF_MS = [0, 0, 500, 1000, 2000, 5000, 10_000];

export class DnsService {
  private readonly dir: string;
  private readonly debug: boolean;
  private attached: Attached | null = null;
  private attaching: Promise<Attached> | null = null;
  /** container id → namespace file: what this berthd wants served */
  private readonly wanted = new Map<string, string>();
  /** container id → namespace file: what the resolver said it serves */
  private readonly served = new Map<string, string>();
  private view: DnsView | null = null;
  private running = new Set<string>();
  private chain: Promise<void> = Promise.resolve();
  private failures = 0;
  private closed = false;

  constructor(private readonly nets: Networks, private readonly log: (msg: string) => void, opts: { execRoot?: string; debug?: boolean } = {}) {
    this.dir = resolverDir(opts.execRoot ?? '/run/berth');
    this.debug = !!opts.debug;
  }

  /** Docker's rule: the embedded resolver serves containers whose network mode is a user-defined network. */
  usesEmbedded(c: ContainerRecord): boolean {
    const mode = parseNetworkMode(c.HostConfig.NetworkMode);
    if (mode.kind !== 'network') return false;
    const net = this.nets.find(mode.name);
    return !!net && this.nets.isUserDefined(net);
  }

  /**
   * At start, once the namespace exists: decide on 127.0.0.11 in resolv.conf (Docker's rule,
   * usesEmbedded) and open the container's resolver if it is on a user-defined network.
   */
  async attach(c: ContainerRecord): Promise<void> {
    c.dns = this.usesEmbedded(c) && c.netnsPath ? { upstreams: await hostUpstreams(c) } : undefined;
    try {
      await this.ensure(c);
    } catch (e) {
      c.dns = undefined;
      throw e;
    }
  }

  /**
   * Have the container's resolver sockets served if it needs them: at start, after a
   * `network connect` (Docker starts the resolver then too, though resolv.conf stays as it
   * was) and after a daemon restart (the resolver process still serves them: adopted as they
   * are). Once open they stay for the container's life; off user-defined networks it is
   * simply not answered.
   */
  async ensure(c: ContainerRecord): Promise<void> {
    if (!c.netnsPath || this.wanted.get(c.Id) === c.netnsPath) return;
    const kind = parseNetworkMode(c.HostConfig.NetworkMode).kind;
    if (kind === 'host' || kind === 'container') return;
    if (!c.dns) {
      const userDefined = Object.values(c.endpoints ?? {}).some((ep) => {
        const net = this.nets.find(ep.NetworkID);
        return !!net && this.nets.isUserDefined(net);
      });
      if (!userDefined) return;
      c.dns = { upstreams: await hostUpstreams(c), viaConnect: true };
    }
    const netns = c.netnsPath;
    try {
      await this.call((a) => a.control.request({ op: 'serve', container: c.Id, netns }));
    } catch (e) {
      throw new Error(`embedded DNS server for ${c.Name} (${EMBEDDED_DNS} in its network namespace): ${(e as Error).message}`);
    }
    this.wanted.set(c.Id, netns);
    this.served.set(c.Id, netns);
  }

  /** The container stopped: close its sockets. */
  detach(c: ContainerRecord): void {
    const was = this.wanted.delete(c.Id) || this.served.has(c.Id);
    c.dns = undefined;
    if (!was) return;
    this.served.delete(c.Id);
    const id = c.Id;
    this.chain = this.chain.then(async () => {
      if (this.wanted.has(id)) return;   // started again meanwhile
      const a = await this.current(false);
      await a?.control.request({ op: 'unserve', container: id });
    }).catch((e) => this.log(`embedded DNS: closing ${c.Name}'s resolver: ${(e as Error).message}`));
  }

  /** Send the resolver a new snapshot of the running containers (serialized, never throws). */
  sync(containers: Iterable<ContainerRecord>, remote: DnsContainer[] = []): Promise<void> {
    // Containers on the cluster's other hosts (overlay networks) can be found by name too.
    const view: DnsContainer[] = [...remote];
    const running = new Set<string>();
    for (const c of containers) {
      if (!c.State.Running || !c.netnsPath) continue;
      running.add(c.Id);
      const endpoints = Object.values(c.endpoints ?? {}).flatMap((ep) => {
        if (ep.hidden) return [];
        const net = this.nets.find(ep.NetworkID);
        if (!net || !this.nets.isUserDefined(net)) return [];
        // --link TARGET:ALIAS on a user-defined network: ALIAS is a name for this container only.
        const links = Object.fromEntries((c.NetworkingConfig?.EndpointsConfig?.[net.Name]?.Links ?? [])
          .map((l: string) => { const [target, alias] = l.split(':'); return [(alias ?? target).toLowerCase(), target]; }));
        return [{ networkId: net.Id, networkName: net.Name, ip: ep.IPAddress, ...(ep.GlobalIPv6Address ? { ip6: ep.GlobalIPv6Address } : {}),
          aliases: ep.Aliases ?? [], ...(Object.keys(links).length ? { links } : {}) }];
      });
      // Every container on a user-defined network can be found by name; only those with
      // resolver sockets (c.dns) ever ask. Like Docker's, a container's resolver goes quiet
      // while it is on no user-defined network (it is not in the table then).
      // A container with no way out (all its networks --internal) asks no upstream: berth-dns
      // forwards from berthd's namespace, so forwarding would be a channel out of a network
      // that must have none (CVE-2024-29018). Its own networks' names still answer; anything
      // else is SERVFAIL, as with Docker. Decided anew at every change (connect, disconnect).
      if (endpoints.length) {
        const wayOut = hasWayOut(Object.values(c.endpoints ?? {}).flatMap((ep) => this.nets.find(ep.NetworkID) ?? []));
        view.push({ id: c.Id, name: c.Name, hostname: c.Config.Hostname, endpoints, upstreams: wayOut ? c.dns?.upstreams ?? [] : [] });
      }
    }
    this.view = { containers: view };
    this.running = running;
    this.chain = this.chain.then(async () => {
      // No resolver yet and nothing to serve: none is started for nothing.
      const a = await this.current(this.wanted.size > 0);
      if (!a) return;
      await a.control.request({ op: 'sync', view: this.view! });
      await this.prune(a);
    }).catch((e) => this.log(`embedded DNS: ${(e as Error).message}`));
    return this.chain;
  }

  /** berthd stops: the resolver process keeps serving; only our connection to it ends. */
  close(): void {
    this.closed = true;
    this.attached?.control.close();
  }

  /**
   * Sockets the resolver serves for containers that no longer run (they stopped or were
   * undone while berthd was down) are closed: their namespaces must not be held open.
   */
  private async prune(a: Attached): Promise<void> {
    for (const id of [...this.served.keys()]) {
      if (this.wanted.has(id) || this.running.has(id)) continue;
      this.served.delete(id);
      await a.control.request({ op: 'unserve', container: id });
    }
  }

  /** Run `fn` against the resolver; if the resolver went away meanwhile, once more against its successor. */
  private async call<T>(fn: (a: Attached) => Promise<T>): Promise<T> {
    const a = (await this.current(true))!;
    try {
      return await fn(a);
    } catch (e) {
      if (!a.control.isClosed) throw e;
      return fn((await this.current(true))!);
    }
  }

  /**
   * The attached resolver; `start`: find, adopt, start or replace one if need be (else null
   * when none runs).
   */
  private async current(start: boolean): Promise<Attached | null> {
    if (this.attached && !this.attached.control.isClosed) return this.attached;
    if (this.attaching) return this.attaching;
    if (this.closed) throw new Error('berthd is shutting down');
    if (!start) {
      // Adopt one that runs already (a berthd restart), without starting any.
      const found = await findResolver(this.dir, (m) => this.log(`dns: ${m}`));
      if (!found) return null;
      found.control.close();
    }
    this.attaching = this.attach_().finally(() => { this.attaching = null; });
    return this.attaching;
  }

  private async attach_(): Promise<Attached> {
    const wait = RESTART_BACKOFF_MS[Math.min(this.failures, RESTART_BACKOFF_MS.length - 1)];
    if (wait) await new Promise((r) => setTimeout(r, wait));
    let a: Attached;
    try {
      a = await obtainResolver(this.dir, this.debug, this.log, (m) => this.log(`dns: ${m}`));
    } catch (e) {
      this.failures++;
      throw e;
    }
    this.served.clear();
    for (const [id, ns] of Object.entries(a.hello.serving)) this.served.set(id, ns);
    await a.control.request({ op: 'debug', on: this.debug });
    // Tell it everything again: a resolver started after one that died knows only what its
    // state file said.
    if (this.view) await a.control.request({ op: 'sync', view: this.view });
    for (const [id, netns] of this.wanted) {
      await a.control.request({ op: 'serve', container: id, netns })
        .then(() => this.served.set(id, netns))
        .catch((e) => this.log(`embedded DNS: serving ${id.slice(0, 12)} again: ${(e as Error).message}`));
    }
    this.failures = 0;
    this.attached = a;
    a.control.onClose(() => this.lost(a));
    return a;
  }

  /** The resolver process went away while berthd runs: bring up another (it serves again from its state file). */
  private lost(a: Attached): void {
    if (this.closed || this.attached !== a) return;
    this.attached = null;
    this.log(`embedded DNS: resolver process ${a.hello.pid} went away; starting another`);
    this.failures++;
    this.chain = this.chain.then(async () => {
      if (this.closed || this.attached) return;
      await this.current(true);
      await this.prune(this.attached!);
    }).catch((e) => this.log(`embedded DNS: no resolver process: ${(e as Error).message}`));
  }
}
