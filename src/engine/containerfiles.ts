// A container's /etc files (hosts, resolv.conf, hostname) as Docker writes them, and the legacy
// links they and its environment name: what a start writes and a connect or disconnect rewrites.
import * as path from 'node:path';
import type { ContainerRecord } from './types';
import type { ContainerRecords } from './records';
import type { Networks } from './networks';
import { parseNetworkMode } from './netmode';
import { parseLink } from './links';
import { hostsFile, resolvConf, hostnameFile } from './etcfiles';
import { hostHosts, hostResolvConf } from '../kernel/hostfiles';
import { readContainerFile, type Runtime } from '../runtime';
import { badRequest, conflict } from '../util/errors';

export class ContainerFiles {
  constructor(private readonly records: ContainerRecords, private readonly networks: Networks,
              private readonly runtime: Runtime, private readonly dataRoot: string) {}

  private containerRoot(id: string): string { return path.join(this.dataRoot, 'containers', id); }

  /**
   * The targets of a container's legacy links with their address on the default bridge. At
   * start (`strict`) every target must be running, as with Docker; later (rewriting /etc/hosts)
   * the ones that are not are left out.
   */
  legacyLinks(c: ContainerRecord, strict: boolean): Array<{ alias: string; target: ContainerRecord; ip: string }> {
    const out: Array<{ alias: string; target: ContainerRecord; ip: string }> = [];
    for (const spec of c.HostConfig.Links ?? []) {
      const l = parseLink(spec);
      const target = this.records.find(l.target);
      const ep = target?.State.Running ? Object.values(target.endpoints ?? {}).find((e) => !e.hidden) : undefined;
      if (!target || !ep) {
        if (!strict) continue;
        if (!target) throw badRequest(`could not get container for ${l.target}: No such container: ${l.target}`);
        throw conflict(`Cannot link to a non running container: /${target.Name} AS /${c.Name}/${l.alias}`);
      }
      out.push({ alias: l.alias, target, ip: ep.IPAddress });
    }
    return out;
  }

  /** /etc/hosts, /etc/resolv.conf and /etc/hostname as Docker writes them for this container. */
  async etcFiles(c: ContainerRecord): Promise<{ hosts: string; resolvConf: string; hostname: string }> {
    const mode = parseNetworkMode(c.HostConfig.NetworkMode);
    const hostResolv = await hostResolvConf();
    if (mode.kind === 'host') {
      return {
        hosts: (await hostHosts()) ?? hostsFile({ hostname: c.Config.Hostname, addresses: [], extraHosts: [] }),
        resolvConf: hostResolv,
        hostname: hostnameFile(c.Config.Hostname),
      };
    }
    if (mode.kind === 'container') {
      const other = this.records.get(mode.ref);
      const root = this.containerRoot(other.Id);
      const read = (f: string) => readContainerFile(root, f);
      return { hosts: await read('hosts'), resolvConf: await read('resolv.conf'), hostname: await read('hostname') };
    }
    // Each address its own line, the IPv6 one after the IPv4 one (as Docker writes them).
    const addresses = Object.values(c.endpoints).filter((e) => !e.hidden)
      .flatMap((e) => (e.GlobalIPv6Address ? [e.IPAddress, e.GlobalIPv6Address] : [e.IPAddress]));
    const links = this.legacyLinks(c, false).map((l) => ({ name: l.target.Name, alias: l.alias, ip: l.ip, hostname: l.target.Config.Hostname }));
    return {
      hosts: hostsFile({
        hostname: c.Config.Hostname, domainname: c.Config.Domainname, addresses,
        extraHosts: c.HostConfig.ExtraHosts ?? [], links,
        // --add-host NAME:host-gateway: the default bridge's gateway, as dockerd's default.
        hostGateway: this.networks.list().find((n) => n.isDefault)?.IPAM.Config[0]?.Gateway,
      }),
      resolvConf: resolvConf(hostResolv, {
        dns: c.HostConfig.Dns ?? [], dnsSearch: c.HostConfig.DnsSearch ?? [],
        dnsOptions: c.HostConfig.DnsOptions ?? [], embedded: !!c.dns && !c.dns.viaConnect,
      }),
      hostname: hostnameFile(c.Config.Hostname),
    };
  }

  /** Rewrite a running container's /etc/hosts after its addresses changed. */
  async refreshHosts(c: ContainerRecord): Promise<void> {
    const etc = await this.etcFiles(c);
    await this.runtime.writeEtc(c.Id, etc).catch(() => undefined);
  }
}
