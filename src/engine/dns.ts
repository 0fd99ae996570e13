// The engine's side of the embedded DNS resolver (src/dns/): which containers use it (those
// started on a user-defined network, decided at start as Docker does), their resolver sockets
// on 127.0.0.11 inside their namespace and the redirect of port 53 to them, and the snapshot
// of names the resolver answers from, sent again after every change (start, exit, rm,
// rename, network connect/disconnect).
import { promises as fs, closeSync } from 'node:fs';
import type { ContainerRecord } from './types';
import type { Networks } from './networks';
import { parseNetworkMode } from './sandbox';
import { upstreams } from './etcfiles';
import { Resolver } from '../dns/resolver';
import type { DnsContainer } from '../dns/records';
import { setDnsRedirect } from '../kernel/dnsredirect';
import { bindInNetns } from '../kernel/nsbind';

export const EMBEDDED_DNS = '127.0.0.11';

/** Where a container's other queries go: its --dns servers, else the host's (not loopback). */
async function hostUpstreams(c: ContainerRecord): Promise<string[]> {
  const host = await fs.readFile('/etc/resolv.conf', 'utf8').catch(() => '');
  return upstreams(host, c.HostConfig.Dns ?? []);
}

export class DnsService {
  private readonly resolver: Resolver;
  private chain: Promise<void> = Promise.resolve();

  constructor(private readonly nets: Networks, log: (msg: string) => void) {
    this.resolver = new Resolver(log);
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
   * Open the container's resolver sockets if it needs them and has none: at start, after a
   * `network connect` (Docker starts the resolver then too, though resolv.conf stays as it
   * was) and after a daemon restart (the sockets died with the old daemon). Once open they
   * stay for the container's life; off user-defined networks it is simply not answered.
   */
  async ensure(c: ContainerRecord): Promise<void> {
    if (this.resolver.serving(c.Id) || !c.netnsPath) return;
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
    await this.open(c);
  }

  /** The container stopped: close its sockets. */
  detach(c: ContainerRecord): void {
    this.resolver.unserve(c.Id);
    c.dns = undefined;
  }

  private async open(c: ContainerRecord): Promise<void> {
    const what = (e: unknown) => new Error(`embedded DNS server for ${c.Name} (${EMBEDDED_DNS} in its network namespace): ${(e as Error).message}`);
    let socks: ReturnType<typeof bindInNetns>;
    try {
      socks = bindInNetns(c.netnsPath!, EMBEDDED_DNS);
    } catch (e) {
      throw what(e);
    }
    const { udp, tcp } = socks;
    try {
      await setDnsRedirect(c.netnsPath!, { udp: udp.port, tcp: tcp.port });
    } catch (e) {
      closeSync(udp.fd);
      closeSync(tcp.fd);
      throw what(e);
    }
    this.resolver.serve(c.Id, udp.fd, tcp.fd);
  }

  /** Send the resolver a new snapshot of the running containers (serialized, never throws). */
  sync(containers: Iterable<ContainerRecord>, remote: DnsContainer[] = []): Promise<void> {
    // Containers on the cluster's other hosts (overlay networks) can be found by name too.
    const view: DnsContainer[] = [...remote];
    for (const c of containers) {
      if (!c.State.Running || !c.netnsPath) continue;
      const endpoints = Object.values(c.endpoints ?? {}).flatMap((ep) => {
        if (ep.hidden) return [];
        const net = this.nets.find(ep.NetworkID);
        if (!net || !this.nets.isUserDefined(net)) return [];
        return [{ networkId: net.Id, networkName: net.Name, ip: ep.IPAddress, aliases: ep.Aliases ?? [] }];
      });
      // Every container on a user-defined network can be found by name; only those with
      // resolver sockets (c.dns) ever ask. Like Docker's, a container's resolver goes quiet
      // while it is on no user-defined network (it is not in the table then).
      if (endpoints.length) {
        view.push({ id: c.Id, name: c.Name, hostname: c.Config.Hostname, endpoints, upstreams: c.dns?.upstreams ?? [] });
      }
    }
    this.chain = this.chain.then(() => this.resolver.sync({ containers: view })).catch(() => undefined);
    return this.chain;
  }

  close(): void { this.resolver.close(); }
}
