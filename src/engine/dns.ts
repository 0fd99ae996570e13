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

  /**
   * At start, once the namespace exists: remember the upstreams and open the container's
   * resolver on 127.0.0.11. Like Docker's, it stays for the container's life, whatever
   * networks it is later connected to or disconnected from.
   */
  async attach(c: ContainerRecord): Promise<void> {
    if (!this.usesEmbedded(c) || !c.netnsPath) { c.dns = undefined; return; }
    const host = await fs.readFile('/etc/resolv.conf', 'utf8').catch(() => '');
    c.dns = { upstreams: upstreams(host, c.HostConfig.Dns ?? []) };
    try {
      await this.open(c);
    } catch (e) {
      c.dns = undefined;
      throw e;
    }
  }

  /** After a daemon restart: the sockets died with the old daemon, so make new ones. */
  async reattach(c: ContainerRecord): Promise<void> {
    if (c.dns && c.netnsPath) await this.open(c);
  }

  /** The container stopped: close its sockets. */
  detach(c: ContainerRecord): void {
    this.resolver.unserve(c.Id);
    c.dns = undefined;
  }

  private async open(c: ContainerRecord): Promise<void> {
    const { udp, tcp } = bindInNetns(c.netnsPath!, EMBEDDED_DNS);
    try {
      await setDnsRedirect(c.netnsPath!, { udp: udp.port, tcp: tcp.port });
    } catch (e) {
      closeSync(udp.fd);
      closeSync(tcp.fd);
      throw e;
    }
    this.resolver.serve(c.Id, udp.fd, tcp.fd);
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
      if (c.dns) {
        view.push({ id: c.Id, name: c.Name, hostname: c.Config.Hostname, endpoints, upstreams: c.dns?.upstreams ?? [] });
      }
    }
    this.chain = this.chain.then(() => this.resolver.sync({ containers: view })).catch(() => undefined);
    return this.chain;
  }

  close(): void { this.resolver.close(); }
}
