// The engine's side of the embedded DNS resolver (src/dns/): which containers use it (those
// started on a user-defined network, decided at start as Docker does), the 127.0.0.11 redirect
// inside their namespace, and the snapshot of names the resolver answers from, sent again
// after every change (start, exit, rm, rename, network connect/disconnect).
import { promises as fs } from 'node:fs';
import type { ContainerRecord } from './types';
import type { Networks } from './networks';
import { parseNetworkMode } from './sandbox';
import { upstreams } from './etcfiles';
import { Resolver } from '../dns/resolver';
import type { DnsContainer } from '../dns/records';
import { setDnsRedirect } from '../kernel/dnsredirect';

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
    return !!net && net.Driver === 'bridge' && !net.isDefault;
  }

  /** At start, once the endpoints exist: remember the upstreams and point 127.0.0.11 at a gateway. */
  async attach(c: ContainerRecord): Promise<void> {
    if (!this.usesEmbedded(c) || !c.netnsPath) { c.dns = undefined; return; }
    const host = await fs.readFile('/etc/resolv.conf', 'utf8').catch(() => '');
    c.dns = { upstreams: upstreams(host, c.HostConfig.Dns ?? []), gateway: null };
    await this.refresh(c);
  }

  /** After network connect/disconnect: the redirect follows the first user-defined network left. */
  async refresh(c: ContainerRecord): Promise<void> {
    if (!c.dns || !c.netnsPath) return;
    const gw = this.gatewayFor(c);
    if (gw === c.dns.gateway) return;
    await setDnsRedirect(c.netnsPath, gw);
    c.dns.gateway = gw;
  }

  private gatewayFor(c: ContainerRecord): string | null {
    const eps = Object.values(c.endpoints ?? {}).sort((a, b) => a.ifname.localeCompare(b.ifname, 'en', { numeric: true }));
    for (const ep of eps) {
      const net = this.nets.find(ep.NetworkID);
      if (net && !net.isDefault && net.Driver === 'bridge') return ep.Gateway;
    }
    return null;
  }

  /** Send the resolver a new snapshot of the running containers (serialized, never throws). */
  sync(containers: Iterable<ContainerRecord>): Promise<void> {
    const view: DnsContainer[] = [];
    for (const c of containers) {
      if (!c.State.Running || !c.netnsPath) continue;
      const endpoints = Object.values(c.endpoints ?? {}).flatMap((ep) => {
        const net = this.nets.find(ep.NetworkID);
        if (!net || net.isDefault || net.Driver !== 'bridge') return [];
        return [{ networkId: net.Id, networkName: net.Name, ip: ep.IPAddress, aliases: ep.Aliases ?? [] }];
      });
      if (endpoints.length) {
        view.push({ id: c.Id, name: c.Name, hostname: c.Config.Hostname, endpoints, upstreams: c.dns?.upstreams ?? [] });
      }
    }
    const networks = this.nets.list().filter((n) => n.Driver === 'bridge' && !n.isDefault)
      .map((n) => ({ id: n.Id, gateway: n.IPAM.Config[0].Gateway }));
    this.chain = this.chain.then(() => this.resolver.sync({ containers: view }, networks)).catch(() => undefined);
    return this.chain;
  }

  close(): void { this.resolver.close(); }
}
