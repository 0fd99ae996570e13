// Networks as the API asks for them: create (on this host, or through the swarm's manager for
// a swarm-scoped driver), list, inspect, rm, prune, and a container's connect and disconnect
// (recorded and made in the order issue 12 set: a disconnect is recorded first, a connect is
// taken back out if its record cannot be written). The records and kernel objects of networks
// are networks.ts's; a container's endpoints are the sandbox's.
import type { NetworksApi } from './api';
import type { ContainerRecord, NetworkRecord } from './types';
import type { ContainerRecords } from './records';
import type { ContainerFiles } from './containerfiles';
import type { Networks } from './networks';
import type { Sandboxes } from './sandbox';
import type { DnsService } from './dns';
import type { Swarm } from './swarm';
import type { EventBus } from './events';
import { NOT_IN_SWARM } from './swarm';
import { configuredNetworks, parseNetworkMode } from './netmode';
import { endpointLinks } from './links';
import { networkJson } from './inspect';
import { matchNetworkFilters, validateFilters } from './filters';
import { driverTraits, traitsOf } from './drivers/registry';
import { ApiError, activeEndpoints, badRequest, conflict, noSuchContainer, noSuchNetwork, HOST_NETWORK_CONNECT } from '../util/errors';
import { log } from '../util/log';

export class NetworkService implements NetworksApi {
  constructor(private readonly records: ContainerRecords, private readonly networks: Networks,
              private readonly sandboxes: Sandboxes, private readonly files: ContainerFiles, private readonly dns: DnsService,
              private readonly swarm: Swarm, private readonly events: EventBus, private readonly refreshNames: () => Promise<void>) {}

  async createNetwork(body: any): Promise<{ Id: string; Warning: string }> {
    if (driverTraits(body?.Driver)?.made === 'swarm') {
      if (!this.swarm.cluster.config) throw new ApiError(503, NOT_IN_SWARM);
      const o = await this.swarm.cluster.createNetwork(await this.networks.overlayRequest(body));
      this.records.networkEvent(o.id, 'create');
      return { Id: o.id, Warning: '' };
    }
    const r = await this.networks.create(body);
    this.records.networkEvent(r.Id, 'create');
    return r;
  }

  async listNetworks(filters: Record<string, string[]>): Promise<any[]> {
    validateFilters(filters, ['name', 'id', 'driver', 'label', 'type', 'scope', 'dangling']);
    const all = [...this.records.values()];
    return this.networks.list()
      .filter((n) => matchNetworkFilters(n, filters, all))
      .sort((a, b) => a.Created.localeCompare(b.Created))
      .map((n) => ({ ...networkJson(n, []), Containers: {} }));
  }

  async inspectNetwork(ref: string, opts: { scope?: string } = {}): Promise<any> {
    const n = this.networks.get(ref);
    // ?scope=local|swarm|global: a network of another scope is not found (Docker).
    if (opts.scope && opts.scope !== n.Scope) throw noSuchNetwork(ref);
    const out = networkJson(n, [...this.records.values()]);
    // Docker lists the hosts of an overlay network as its peers.
    if (traitsOf(n).scope === 'swarm') out.Peers = this.swarm.peers();
    return out;
  }

  async removeNetwork(ref: string): Promise<void> {
    const n = this.networks.get(ref);
    if (traitsOf(n).scope === 'swarm') {
      const eps = this.records.endpointsOn(n.Id);
      if (eps.length) throw activeEndpoints(n.Name, eps);
      await this.swarm.cluster.removeNetwork(n.Id);
    } else {
      await this.networks.remove(ref, (x) => this.records.endpointsOn(x.Id));
    }
    this.events.emit('network', 'destroy', n.Id, { name: n.Name, type: n.Driver });
  }

  async pruneNetworks(filters: Record<string, string[]>): Promise<{ NetworksDeleted: string[] }> {
    const deleted: string[] = [];
    const all = [...this.records.values()];
    for (const n of this.networks.list()) {
      if (this.networks.isPredefined(n) || traitsOf(n).scope === 'swarm' || this.records.endpointsOn(n.Id).length) continue;
      // Docker's prune also keeps networks that a (stopped) container is configured for.
      if (all.some((c) => c.HostConfig.NetworkMode === n.Name || c.HostConfig.NetworkMode === n.Id ||
        Object.keys(c.NetworkingConfig?.EndpointsConfig ?? {}).includes(n.Name))) continue;
      if (!matchNetworkFilters(n, filters, all)) continue;
      await this.networks.remove(n.Id, () => []);
      this.events.emit('network', 'destroy', n.Id, { name: n.Name, type: n.Driver });
      deleted.push(n.Name);
    }
    return { NetworksDeleted: deleted };
  }

  async connectNetwork(ref: string, body: { Container: string; EndpointConfig?: any }): Promise<void> {
    const net = this.networks.get(ref);
    const c = this.records.get(body?.Container ?? '');
    await this.records.withLock(c.Id, async () => {
      const mode = parseNetworkMode(c.HostConfig.NetworkMode);
      if (traitsOf(net).namespace === 'host' || mode.kind === 'host') {
        throw badRequest(HOST_NETWORK_CONNECT);
      }
      if (mode.kind === 'container' || mode.kind === 'none' || traitsOf(net).namespace === 'none') {
        throw badRequest('container sharing network namespace with another container or host cannot join any other network');
      }
      const cfgs = c.NetworkingConfig.EndpointsConfig;
      const isPrimary = this.networks.find(mode.name)?.Id === net.Id;
      if (c.State.Running ? !!c.endpoints[net.Name] : this.configuredFor(c, net)) throw forbiddenDup(c.Name, net.Name);
      const cfg = { ...(body.EndpointConfig ?? {}) };
      const links = endpointLinks(cfg.Links, 'EndpointConfig', !!net.isDefault);
      if (links) cfg.Links = links; else delete cfg.Links;
      if (cfg.IPAMConfig?.IPv4Address) {
        this.networks.checkRequestedIp(net, cfg.IPAMConfig.IPv4Address);
      }
      if (cfg.IPAMConfig?.IPv6Address) this.networks.checkRequestedIp6(net, cfg.IPAMConfig.IPv6Address);
      if (cfg.Aliases?.length && net.isDefault) {
        throw badRequest('network-scoped alias is supported only for containers in user defined networks');
      }
      // The network cannot be removed while the endpoint is made and recorded.
      const release = this.networks.hold([net.Id]);
      try {
        const running = c.State.Running;
        if (running) await this.sandboxes.connect(c, net, cfg);
        cfgs[net.Name] = { ...cfg, NetworkID: net.Id };
        const wasDetached = c.primaryDetached;
        if (isPrimary) delete c.primaryDetached;
        try {
          await this.records.save(c);
        } catch (e) {
          // Not recorded, not made: take the endpoint back out.
          delete cfgs[net.Name];
          if (wasDetached) c.primaryDetached = true;
          if (running) await this.sandboxes.disconnect(c, net).catch((x) => log.warn(`undoing connect of ${c.Name}: ${(x as Error).message}`));
          throw e;
        }
        if (running) this.records.networkEvent(net.Id, 'connect', c.Id);
        if (running) await this.dns.ensure(c).catch((e) => log.warn(`embedded DNS of ${c.Name}: ${(e as Error).message}`));
        if (running) await this.files.refreshHosts(c);
        await this.refreshNames();
      } finally {
        release();
      }
    });
  }

  async disconnectNetwork(ref: string, body: { Container: string; Force?: boolean }): Promise<void> {
    const net = this.networks.get(ref);
    const c = this.records.find(body?.Container ?? '');
    if (!c) {
      if (body?.Force) return; // Docker: -f cleans up endpoints of containers already gone
      throw noSuchContainer(body?.Container ?? '');
    }
    await this.records.withLock(c.Id, async () => {
      const mode = parseNetworkMode(c.HostConfig.NetworkMode);
      if (traitsOf(net).namespace === 'host' || mode.kind === 'host') {
        throw badRequest(HOST_NETWORK_CONNECT);
      }
      const cfgs = c.NetworkingConfig.EndpointsConfig;
      const primary = mode.kind === 'network' ? this.networks.find(mode.name) : undefined;
      const connected = c.State.Running ? !!c.endpoints[net.Name] : this.configuredFor(c, net);
      // (Docker answers this with a 500; it is the client's mistake, so berth says 409 in the same words)
      if (!connected) throw conflict(`container ${c.Id} is not connected to network ${net.Name}`);
      // Recorded first (a copy without the endpoint): if that fails nothing has changed; a
      // crash after it leaves a veth no record names, which the next start removes.
      const next: ContainerRecord = structuredClone(c);
      const nextCfgs = next.NetworkingConfig.EndpointsConfig;
      delete nextCfgs[net.Name];
      delete next.endpoints[net.Name];
      // Docker keeps NetworkMode: connecting the network again gives the endpoint back.
      if (primary?.Id === net.Id) next.primaryDetached = true;
      const ep = c.endpoints[net.Name];
      if (ep && next.ports.some((p) => p.containerIp === ep.IPAddress && p.bridgeName === net.bridgeName)) next.ports = [];
      await this.records.save(next);
      if (c.State.Running) {
        await this.sandboxes.disconnect(c, net).catch((e) => {
          log.warn(`disconnecting ${c.Name} from ${net.Name}: ${(e as Error).message}`);
          delete c.endpoints[net.Name];
        });
        this.records.networkEvent(net.Id, 'disconnect', c.Id);
      }
      delete cfgs[net.Name];
      c.primaryDetached = next.primaryDetached;
      if (c.State.Running) await this.files.refreshHosts(c);
      await this.refreshNames();
    });
  }

  /** Is a (stopped) container configured for this network? */
  private configuredFor(c: ContainerRecord, net: NetworkRecord): boolean {
    return configuredNetworks(c).some((n) => this.networks.find(n)?.Id === net.Id);
  }
}

function forbiddenDup(container: string, net: string): ApiError {
  return new ApiError(403, `endpoint with name ${container} already exists in network ${net}`);
}
