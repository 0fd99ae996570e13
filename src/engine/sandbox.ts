// A container's network sandbox: its network namespace, one endpoint per network, its
// published ports. Every step that builds something registers how to undo it, so a failure
// anywhere leaves nothing behind (no netns, veth, address, nft element or port reservation).
import * as path from 'node:path';
import type { ContainerRecord, EndpointRecord, EndpointSpec, NetworkRecord, PortMapping, Proto } from './types';
import type { Networks } from './networks';
import type { PortPublisher } from './portmap/publisher';
import { EPHEMERAL_RANGE, HostPortAllocator } from './portmap/hostports';
import { expandBindings } from './portmap/spec';
import { macFromIp } from '../ipam';
import { badRequest, conflict, forbidden, ApiError, HOST_NETWORK_CONNECT } from '../util/errors';
import { newId, shortId } from '../util/ids';
import { createNetns, deleteNetns } from '../kernel/netns';
import { configuredNetworks, parseNetworkMode } from './netmode';
import { boundPorts } from '../kernel/procnet';
import { randomBytes } from 'node:crypto';
import { traitsOf, type Drivers } from './drivers/registry';
import { networkMtu } from './drivers/driver';
import { gateway6Of, v4Config, v6Config } from './ipamview';
import type { EndpointRequest, OverlayEndpoint } from '../cluster/state';
import { log } from '../util/log';


/** Undo steps, run newest first. */
class Undo {
  private steps: Array<() => Promise<unknown> | unknown> = [];
  add(step: () => Promise<unknown> | unknown): void { this.steps.push(step); }
  async run(): Promise<void> {
    for (const s of this.steps.reverse()) {
      try { await s(); } catch { /* keep undoing the rest */ }
    }
    this.steps = [];
  }
}


/** Where endpoints on swarm networks get their addresses: the cluster (engine/swarm.ts wires it). */
export interface OverlayHooks {
  nodeId(): string;
  addEndpoint(req: EndpointRequest): Promise<OverlayEndpoint>;
  removeEndpoint(id: string): Promise<void>;
}

export class Sandboxes {
  readonly hostPorts = new HostPortAllocator();
  overlay: OverlayHooks | null = null;

  constructor(private readonly nets: Networks, private readonly drivers: Drivers,
              private readonly publisher: PortPublisher, private readonly execRoot: string) {}

  netnsPath(id: string): string { return path.join(this.execRoot, 'netns', shortId(id)); }

  /**
   * Build the networking of a starting container and record it in `c` (netnsPath,
   * endpoints, ports). `lookup` finds another container for --network container:NAME.
   */
  async setup(c: ContainerRecord, lookup: (ref: string) => ContainerRecord): Promise<void> {
    const mode = parseNetworkMode(c.HostConfig.NetworkMode);
    if (mode.kind === 'host') { c.netnsPath = null; return; }
    if (mode.kind === 'container') {
      const other = lookup(mode.ref);
      if (!other.State.Running || !other.netnsPath) {
        throw conflict(`cannot join network of a non running container: ${other.Name}`);
      }
      c.netnsPath = other.netnsPath;
      return;
    }
    const undo = new Undo();
    try {
      // Ports first: a port that is taken fails the start before anything is made. Only a
      // bridge network publishes ports, or an overlay one through docker_gwbridge (on
      // macvlan/ipvlan, as with Docker, -p does nothing).
      const names = configuredNetworks(c);
      const primaryNet = names.length ? this.nets.get(names[0]) : undefined;
      const ports = primaryNet ? traitsOf(primaryNet).ports : 'none';
      const publishes = ports === 'direct' || (ports === 'gateway-bridge' && !primaryNet!.Internal);
      // A dual-stack network that publishes directly gives the container an IPv6 address the
      // kernel can NAT to (SCTP's IPv6 side needs one: see reservePorts).
      const natV6 = ports === 'direct' && !!this.nets.allocator6(primaryNet!);
      const wanted = publishes ? this.reservePorts(c, undo, natV6) : [];
      c.noPortMap = mode.kind === 'network' && !publishes ? true : undefined;
      const ns = this.netnsPath(c.Id);
      await createNetns(ns);
      undo.add(() => deleteNetns(ns));
      c.netnsPath = ns;
      c.endpoints = {};
      undo.add(() => { c.endpoints = {}; c.netnsPath = null; });
      if (primaryNet) {
        const primary = primaryNet;
        const cfgs = c.NetworkingConfig?.EndpointsConfig ?? {};
        for (const name of names) {
          const net = this.nets.get(name);
          if (c.endpoints[net.Name]) continue; // one network given by name and by id
          const cfg = cfgs[name] ?? cfgs[net.Name] ?? cfgs[net.Id] ?? {};
          await this.addEndpoint(c, net, cfg, undo, net.Id === primary.Id);
        }
        await this.addGatewayIfNeeded(c, undo);
        // Ports of a container on an overlay network are published on its docker_gwbridge side.
        const gw = Object.entries(c.endpoints).find(([, e]) => e.hidden);
        const target = traitsOf(primary).ports !== 'gateway-bridge' ? { net: primary, ep: c.endpoints[primary.Name] }
          : gw ? { net: this.nets.get(gw[0]), ep: gw[1] } : null;
        if (!target) for (const w of wanted) this.releasePort({ ...w, containerIp: '', bridgeName: '' });
        // The IPv6 side goes to the container's IPv6 address when it has one (kernel NAT), else
        // to its IPv4 address (through the port relay).
        const mappings = target ? wanted.map((w) => ({
          ...w, containerIp: w.hostIp.includes(':') && target.ep.GlobalIPv6Address ? target.ep.GlobalIPv6Address : target.ep.IPAddress,
          bridgeName: target.net.bridgeName!,
        })) : [];
        if (mappings.length) {
          await this.publisher.publish(mappings, c.Name);
          undo.add(() => this.publisher.unpublish(mappings));
        }
        c.ports = mappings;
      }
    } catch (e) {
      await undo.run();
      throw e;
    }
  }

  /** Take down everything setup() built; safe to call twice. */
  async teardown(c: ContainerRecord): Promise<void> {
    const mode = parseNetworkMode(c.HostConfig.NetworkMode);
    if (c.ports?.length) {
      await this.publisher.unpublish(c.ports).catch(logErr('unpublish'));
      for (const p of c.ports) this.releasePort(p);
    }
    c.ports = [];
    c.noPortMap = undefined;
    for (const [name, ep] of Object.entries(c.endpoints ?? {})) {
      await this.removeEndpoint(c, name, ep).catch(logErr(`detach ${name}`));
    }
    c.endpoints = {};
    if (c.netnsPath && mode.kind !== 'container' && mode.kind !== 'host') {
      await deleteNetns(c.netnsPath).catch(logErr('delete netns'));
    }
    c.netnsPath = null;
  }

  /** After a daemon restart: claim the addresses and ports of a running container again. */
  async adopt(c: ContainerRecord): Promise<void> {
    for (const [name, ep] of Object.entries(c.endpoints ?? {})) {
      const net = this.nets.find(ep.NetworkID) ?? this.nets.find(name);
      if (!net) continue;
      if (traitsOf(net).addresses === 'local') {
        this.nets.allocator(net).reserve(ep.IPAddress);
        if (ep.GlobalIPv6Address) this.nets.allocator6(net)?.reserve(ep.GlobalIPv6Address);
      }
      const spec = this.endpointSpec(c, net, ep, ep.ifname === 'eth0');
      // CHECK before repair: what a restart finds changed is said, then made right.
      const differs = await this.drivers.of(net).checkEndpoint(net, spec).catch((e) => [(e as Error).message]);
      if (differs.length) log.warn(`container ${c.Name} on ${net.Name}: ${differs.join('; ')}`);
      await this.attachLink(net, spec);
    }
    for (const p of c.ports ?? []) {
      for (let i = 0; i < p.count; i++) this.hostPorts.reserve(p.proto, p.hostIp, p.hostPort + i);
    }
    if (c.ports?.length) await this.publisher.publish(c.ports, c.Name);
  }

  /** `network connect` on a running container. */
  async connect(c: ContainerRecord, net: NetworkRecord, cfg: any): Promise<void> {
    if (!c.netnsPath) throw badRequest(`container ${c.Name} has no network namespace`);
    const undo = new Undo();
    try {
      await this.addEndpoint(c, net, cfg ?? {}, undo, false);
    } catch (e) {
      await undo.run();
      throw e;
    }
  }

  async disconnect(c: ContainerRecord, net: NetworkRecord): Promise<void> {
    const ep = c.endpoints[net.Name];
    if (!ep) return;
    if (c.ports?.some((p) => (p.containerIp === ep.IPAddress || p.containerIp === ep.GlobalIPv6Address) && p.bridgeName === net.bridgeName)) {
      // The published ports point at this endpoint's address: they go with it.
      await this.publisher.unpublish(c.ports);
      for (const p of c.ports) this.releasePort(p);
      c.ports = [];
    }
    await this.removeEndpoint(c, net.Name, ep);
  }

  /**
   * A container on overlay networks only gets a way out through docker_gwbridge (eth<N>, the
   * default route), as with Docker: overlay networks have no gateway of their own.
   */
  private async addGatewayIfNeeded(c: ContainerRecord, undo: Undo): Promise<void> {
    const eps = Object.values(c.endpoints);
    const nets = eps.map((e) => this.nets.find(e.NetworkID)).filter((n): n is NetworkRecord => !!n);
    if (!nets.some((n) => traitsOf(n).gatewayBridge && !n.Internal)) return;
    if (nets.some((n) => !traitsOf(n).gatewayBridge && !n.Internal)) return;
    const gw = await this.nets.gatewayBridge();
    await this.addEndpoint(c, gw, {}, undo, false, true);
  }

  private async addEndpoint(c: ContainerRecord, net: NetworkRecord, cfg: any, undo: Undo, primary: boolean, hidden = false): Promise<void> {
    if (traitsOf(net).namespace !== 'own') {
      throw badRequest(HOST_NETWORK_CONNECT);
    }
    if (c.endpoints[net.Name]) throw forbidden(`endpoint with name ${c.Name} already exists in network ${net.Name}`);
    const wantIp: string | undefined = cfg?.IPAMConfig?.IPv4Address || undefined;
    const wantIp6: string | undefined = cfg?.IPAMConfig?.IPv6Address || undefined;
    const endpointId = newId();
    let ip: string;
    let ip6: string | undefined;
    let overlayMac = '';
    if (traitsOf(net).addresses === 'cluster') {
      // Addresses on an overlay network come from the cluster's manager, for every host.
      if (!this.overlay) throw badRequest(`network ${net.Name} is an overlay network and this node is not part of a swarm`);
      if (!net.Attachable) {
        throw forbidden(`Could not attach to network ${net.Name}: rpc error: code = PermissionDenied desc = network ${net.Name} not manually attachable`);
      }
      const hooks = this.overlay;
      const remote = await hooks.addEndpoint({
        id: endpointId, networkId: net.Id, nodeId: hooks.nodeId(), containerId: c.Id, name: c.Name.replace(/^\//, ''),
        hostname: c.Config.Hostname, aliases: Array.isArray(cfg?.Aliases) ? cfg.Aliases : [], ip: wantIp,
        ...(wantIp6 ? { ip6: wantIp6 } : {}), mac: cfg?.MacAddress || (primary ? c.Config.MacAddress : '') || '',
      });
      ip = remote.ip;
      ip6 = remote.ip6;
      overlayMac = remote.mac;
      undo.add(() => hooks.removeEndpoint(endpointId));
    } else {
      const alloc = this.nets.allocator(net);
      if (wantIp) this.nets.checkRequestedIp(net, wantIp);
      if (wantIp6) this.nets.checkRequestedIp6(net, wantIp6);
      ip = alloc.allocate(wantIp);
      undo.add(() => alloc.release(ip));
      // A dual-stack network: an IPv6 address too (the one asked with --ip6, or the next free).
      const alloc6 = this.nets.allocator6(net);
      if (alloc6) {
        const got = alloc6.allocate(wantIp6);
        ip6 = got;
        undo.add(() => alloc6.release(got));
      }
    }
    const used = new Set(Object.values(c.endpoints).map((e) => e.ifname));
    let n = 0;
    while (used.has(`eth${n}`)) n++;
    const mac = overlayMac || cfg?.MacAddress || (primary ? c.Config.MacAddress : '') || macFromIp(ip);
    const ep: EndpointRecord = {
      NetworkID: net.Id,
      EndpointID: endpointId,
      IPAddress: ip,
      IPPrefixLen: Number(v4Config(net)!.Subnet.split('/')[1]),
      // (a network that never gives the default route, overlay, shows no gateway: Docker's swarm shape)
      Gateway: traitsOf(net).defaultRoute ? v4Config(net)!.Gateway : '',
      MacAddress: mac,
      Aliases: Array.isArray(cfg?.Aliases) && cfg.Aliases.length ? [...cfg.Aliases] : null,
      Links: null,
      IPAMConfig: wantIp || wantIp6 ? { ...(wantIp ? { IPv4Address: wantIp } : {}), ...(wantIp6 ? { IPv6Address: wantIp6 } : {}) } : null,
      ...(ip6 ? v6Fields(net, ip6) : {}),
      ifname: `eth${n}`,
      hostIfname: traitsOf(net).link === 'veth' ? `veth${randomBytes(4).toString('hex').slice(0, 7)}` : '',
      ...(hidden ? { hidden: true } : {}),
    };
    // (an overlay network has no gateway: it never gives the default route)
    const hasDefaultRoute = Object.values(c.endpoints).some((e) => e.ifname === 'eth0' && !this.isInternal(e) &&
      this.defaultRouteOn(e));
    const spec = this.endpointSpec(c, net, ep, !hasDefaultRoute && !net.Internal);
    await this.attachLink(net, spec);
    undo.add(() => this.detachLink(net, spec));
    c.endpoints[net.Name] = ep;
    undo.add(() => { delete c.endpoints[net.Name]; });
  }

  /** May this endpoint carry the default route (an endpoint whose network is gone still may, as before)? */
  private defaultRouteOn(e: EndpointRecord): boolean {
    const net = this.nets.find(e.NetworkID);
    return !net || traitsOf(net).defaultRoute;
  }

  /** The container's interface on `net`, made by the network's driver. */
  private async attachLink(net: NetworkRecord, spec: EndpointSpec): Promise<void> {
    if (traitsOf(net).addresses === 'cluster' && !this.overlay) {
      throw badRequest(`network ${net.Name} is an overlay network and this node is not part of a swarm`);
    }
    await this.drivers.of(net).attach(net, spec);
  }

  private async detachLink(net: NetworkRecord, spec: EndpointSpec): Promise<void> {
    await this.drivers.of(net).detach(net, spec);
  }

  private isInternal(ep: EndpointRecord): boolean {
    return this.nets.find(ep.NetworkID)?.Internal ?? false;
  }

  private async removeEndpoint(c: ContainerRecord, name: string, ep: EndpointRecord): Promise<void> {
    const net = this.nets.find(ep.NetworkID);
    if (net) {
      await this.detachLink(net, this.endpointSpec(c, net, ep, false));
      if (traitsOf(net).addresses === 'cluster') await this.overlay?.removeEndpoint(ep.EndpointID);
      else {
        this.nets.allocator(net).release(ep.IPAddress);
        if (ep.GlobalIPv6Address) this.nets.allocator6(net)?.release(ep.GlobalIPv6Address);
      }
    }
    delete c.endpoints[name];
  }

  private endpointSpec(c: ContainerRecord, net: NetworkRecord, ep: EndpointRecord, defaultRoute: boolean): EndpointSpec {
    return {
      networkId: net.Id,
      containerId: c.Id,
      endpointId: ep.EndpointID,
      netnsPath: c.netnsPath!,
      ifname: ep.ifname,
      hostIfname: ep.hostIfname,
      address: ep.IPAddress,
      prefixLen: ep.IPPrefixLen,
      gateway: ep.Gateway,
      mac: ep.MacAddress,
      mtu: networkMtu(net),
      defaultRoute,
      ...(ep.GlobalIPv6Address ? { address6: ep.GlobalIPv6Address, prefixLen6: ep.GlobalIPv6PrefixLen, gateway6: ep.IPv6Gateway } : {}),
    };
  }

  /** Resolve every wanted binding to concrete host ports, reserving them; undo releases them. */
  private reservePorts(c: ContainerRecord, undo: Undo, natV6: boolean): Array<Omit<PortMapping, 'containerIp' | 'bridgeName'>> {
    const wanted = expandBindings(c.Config.ExposedPorts ?? {}, c.HostConfig.PortBindings ?? {}, !!c.HostConfig.PublishAllPorts);
    const out: Array<Omit<PortMapping, 'containerIp' | 'bridgeName'>> = [];
    const busy = new Map<Proto, Set<number>>();
    // Something else on the host listens there. A port berth already holds is judged by the
    // allocator alone: the socket listening on it may be berth's own port relay.
    const hostBusy = (proto: Proto, port: number) => {
      if (this.hostPorts.held(proto, port)) return false;
      if (!busy.has(proto)) busy.set(proto, boundPorts(proto));
      return busy.get(proto)!.has(port);
    };
    for (const w of wanted) {
      // No address: every address of both families, on the same port (Docker 20.10+). SCTP's
      // IPv6 side is the kernel's NAT to a container's own IPv6 address, so it is there only
      // for a container on a dual-stack network: nftables has no NAT from IPv6 to IPv4, and
      // the relay cannot carry SCTP (this kernel has no SCTP sockets, docker-proxy fails the
      // same way). [::1] is never NATed: SCTP on [::1] is refused.
      const sctp6 = natV6 && w.hostIp !== '::1';
      const ips = w.hostIp ? [w.hostIp] : w.proto === 'sctp' && !sctp6 ? ['0.0.0.0'] : ['0.0.0.0', '::'];
      const proto = w.proto as Proto;
      if (proto === 'sctp' && ips[0].includes(':') && !sctp6) {
        throw badRequest(`cannot publish ${w.containerPort}/sctp on ${ips[0]}: SCTP reaches IPv6 addresses only by NAT, `
          + `to a container with an IPv6 address (on a network made with --ipv6), and never [::1]`);
      }
      const freeEverywhere = (pr: Proto, p: number) => !hostBusy(pr, p) && ips.every((ip) => this.hostPorts.isFree(pr, ip, p));
      if (w.hostPort === 0 || w.hostPortEnd) {
        // A free port from the ephemeral range, or from the user's host range for "8000-8010:80".
        const range: [number, number] = w.hostPort === 0 ? EPHEMERAL_RANGE : [w.hostPort, w.hostPortEnd!];
        const port = this.hostPorts.allocate(proto, ips[0], range, freeEverywhere);
        undo.add(() => this.hostPorts.release(proto, ips[0], port));
        for (const ip of ips.slice(1)) {
          this.hostPorts.reserve(proto, ip, port);
          undo.add(() => this.hostPorts.release(proto, ip, port));
        }
        for (const ip of ips) out.push({ proto, hostIp: ip, hostPort: port, containerPort: w.containerPort, count: 1 });
        continue;
      }
      const count = w.count ?? 1;
      for (const hostIp of ips) {
        for (let i = 0; i < count; i++) {
          const port = w.hostPort + i;
          if (hostBusy(proto, port)) {
            const fam = hostIp.includes(':') ? '6' : '4';
            const shown = hostIp.includes(':') ? `[${hostIp}]` : hostIp;
            throw new ApiError(500, `driver failed programming external connectivity on endpoint ${c.Name}: ` +
              `Error starting userland proxy: listen ${proto}${fam} ${shown}:${port}: bind: address already in use`);
          }
          this.hostPorts.reserve(proto, hostIp, port);
          undo.add(() => this.hostPorts.release(proto, hostIp, port));
        }
        out.push({ proto, hostIp, hostPort: w.hostPort, containerPort: w.containerPort, count });
      }
    }
    return out;
  }

  private releasePort(p: PortMapping): void {
    for (let i = 0; i < p.count; i++) this.hostPorts.release(p.proto, p.hostIp, p.hostPort + i);
  }
}

/** An endpoint's IPv6 fields on a dual-stack network, as Docker shows them (no gateway on overlay, as its swarm). */
function v6Fields(net: NetworkRecord, ip6: string): Pick<EndpointRecord, 'GlobalIPv6Address' | 'GlobalIPv6PrefixLen' | 'IPv6Gateway'> {
  const c6 = v6Config(net)!;
  return { GlobalIPv6Address: ip6, GlobalIPv6PrefixLen: Number(c6.Subnet.split('/')[1]), IPv6Gateway: traitsOf(net).defaultRoute ? gateway6Of(c6) : '' };
}

function logErr(what: string) {
  return (e: unknown) => log.warn(`teardown: ${what}: ${(e as Error).message}`);
}

