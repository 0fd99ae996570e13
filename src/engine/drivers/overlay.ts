// The overlay driver: one L2 network across the cluster's hosts. On every host an overlay
// network is a bridge ("ov-<id>", no address: the host itself is not on the network) with a
// VXLAN device ("vx-<id>", the network's VNI, UDP 4789 from the host's advertised address)
// as one of its ports; containers join the bridge with a veth, as on a bridge network.
// Broadcasts (ARP) and multicast (IPv6 neighbour discovery on a dual-stack network) go to
// every other host (one all-zero FDB entry per peer, head-end replication, no multicast needed
// in the underlay). Which host has which container MAC comes from the
// cluster state as static FDB entries, not from learning: a container that goes and comes
// back elsewhere with the same address (and so the same MAC) is found there at once, not
// after the five minutes a learned entry takes to age out. The VXLAN header takes 50 bytes,
// so interfaces get an MTU of 1450.
// The network itself lives in the cluster state (its VNI, the hosts, where each container is):
// the engine's swarm glue hands the driver an OverlaySpec for it (DriverDeps.overlaySpec).
import type { EndpointSpec, NetworkRecord } from '../types';
import type { DriverDeps, DriverFields, DriverTraits, NetworkDriver, NewNetwork } from './driver';
import { bridgeBatch, deleteLink, fdbEntries, ipBatch, linkExists, linkState, type FdbEntry } from '../../kernel/ip';
import { badRequest } from '../../util/errors';
import { containerSide } from './endpoint';

const OVERLAY_MTU = 1450;
export const VXLAN_PORT = 4789;
const ALIAS = 'berth:overlay';
const ZERO_MAC = '00:00:00:00:00:00';

export interface OverlaySpec {
  id: string;
  vni: number;
  local: string;        // this host's advertised address
  peers: string[];      // the other hosts' advertised addresses
  remote: Array<{ mac: string; host: string }>;   // containers on other hosts
}

const overlayBridge = (id: string) => `ov-${id.slice(0, 12)}`;
const overlayVxlan = (id: string) => `vx-${id.slice(0, 12)}`;

export const OVERLAY_TRAITS: DriverTraits = {
  name: 'overlay', scope: 'swarm', made: 'swarm', namespace: 'own', addresses: 'cluster', link: 'veth',
  ports: 'gateway-bridge', gatewayBridge: true, defaultRoute: false, dns: true, ipv6: true,
};

export class OverlayDriver implements NetworkDriver {
  readonly traits = OVERLAY_TRAITS;

  constructor(private readonly deps: Pick<DriverDeps, 'overlaySpec'>) {}

  /** The options of a new overlay network (the cluster's manager decides the rest). */
  async validate(req: NewNetwork): Promise<DriverFields> {
    if ('encrypted' in req.options) {
      throw badRequest('encrypted overlay networks need IPsec (xfrm), which berth does not provide yet: create the network without --opt encrypted');
    }
    return { options: { ...req.options } };
  }

  /** The bridge and VXLAN device, and the flooding and remote MAC entries as the cluster state says. */
  async createNetwork(rec: NetworkRecord): Promise<void> {
    await this.ensure(this.deps.overlaySpec(rec.Id));
  }

  async deleteNetwork(rec: NetworkRecord): Promise<void> {
    for (const dev of this.links(rec).reverse()) await deleteLink(dev);
  }

  links(rec: NetworkRecord): string[] { return [overlayBridge(rec.Id), overlayVxlan(rec.Id)]; }

  async checkNetwork(rec: NetworkRecord): Promise<string[]> {
    return this.links(rec).filter((l) => !linkExists(l)).map((l) => `overlay device ${l} of network ${rec.Name} is missing`);
  }

  async checkEndpoint(rec: NetworkRecord, ep: EndpointSpec): Promise<string[]> {
    const cur = await linkState(ep.hostIfname);
    if (!cur) return [`veth ${ep.hostIfname} of container ${ep.containerId.slice(0, 12)} is missing`];
    const br = overlayBridge(rec.Id);
    return cur.master === br && cur.up ? [] : [`veth ${ep.hostIfname} is not up on ${br}`];
  }

  /** Make the bridge and VXLAN device if missing and point the flooding entries at `peers`. */
  private async ensure(net: OverlaySpec): Promise<void> {
    const br = overlayBridge(net.id), vx = overlayVxlan(net.id);
    const lines: string[] = [];
    if (!linkExists(br)) {
      // No multicast snooping: IPv6 neighbour discovery (multicast to solicited-node groups)
      // is then always flooded to every port, the VXLAN port included, whatever MLD reports or
      // queries a container sends (a container's fake query would otherwise make the bridge
      // keep unreported groups from the other hosts).
      lines.push(`link add name ${br} mtu ${OVERLAY_MTU} type bridge mcast_snooping 0`, `link set dev ${br} alias ${ALIAS}`, `link set dev ${br} up`);
    }
    if (!linkExists(vx)) {
      // Neither the VXLAN device nor the bridge learns what is behind the VXLAN port: both
      // are told, below, from the cluster state.
      lines.push(`link add ${vx} mtu ${OVERLAY_MTU} type vxlan id ${net.vni} local ${net.local} dstport ${VXLAN_PORT} nolearning`,
        `link set dev ${vx} alias ${ALIAS} master ${br} up`, `link set dev ${vx} type bridge_slave learning off`);
    }
    await ipBatch(lines);
    const entries = await this.fdb(vx);
    const fdb: string[] = [];
    const flood = new Set(entries.filter((e) => e.mac === ZERO_MAC && e.dst).map((e) => e.dst!));
    const want = new Set(net.peers);
    for (const p of want) if (!flood.has(p)) fdb.push(`fdb append ${ZERO_MAC} dev ${vx} dst ${p}`);
    for (const p of flood) if (!want.has(p)) fdb.push(`fdb del ${ZERO_MAC} dev ${vx} dst ${p}`);
    // Remote MACs: where the VXLAN device sends them (self) and that the bridge sends them to
    // the VXLAN port (master).
    const where = new Map(net.remote.map((r) => [r.mac.toLowerCase(), r.host]));
    const have = new Map(entries.filter((e) => e.mac !== ZERO_MAC && e.dst).map((e) => [e.mac.toLowerCase(), e.dst!]));
    const onPort = new Set(entries.filter((e) => !e.dst && e.master).map((e) => e.mac.toLowerCase()));
    for (const [mac, host] of where) {
      if (have.get(mac) !== host) fdb.push(`fdb replace ${mac} dev ${vx} dst ${host} self permanent`);
      if (!onPort.has(mac)) fdb.push(`fdb replace ${mac} dev ${vx} master static`);
    }
    for (const mac of have.keys()) if (!where.has(mac)) fdb.push(`fdb del ${mac} dev ${vx} self`);
    for (const mac of onPort) if (!where.has(mac)) fdb.push(`fdb del ${mac} dev ${vx} master`);
    await bridgeBatch(fdb);
  }

  /** The container's veth on the overlay bridge; idempotent (daemon restarts). */
  async attach(rec: NetworkRecord, ep: EndpointSpec): Promise<void> {
    const net = this.deps.overlaySpec(rec.Id);
    await this.ensure(net);
    if (linkExists(ep.hostIfname)) return;
    await ipBatch([
      `link add ${ep.hostIfname} mtu ${OVERLAY_MTU} type veth peer name ${ep.ifname} address ${ep.mac} mtu ${OVERLAY_MTU} netns ${ep.netnsPath}`,
      `link set dev ${ep.hostIfname} alias berth:${ep.containerId.slice(0, 12)} master ${overlayBridge(net.id)} up`,
    ]);
    try {
      await ipBatch(containerSide(ep), ep.netnsPath);
    } catch (e) {
      await deleteLink(ep.hostIfname);
      throw e;
    }
  }

  async detach(_rec: NetworkRecord, ep: EndpointSpec): Promise<void> {
    await deleteLink(ep.hostIfname);
  }

  /** The VXLAN device's entries: where it sends MACs (dst), and the bridge's entries on its port (master). */
  private async fdb(vx: string): Promise<FdbEntry[]> {
    // (the bridge's own entry for the VXLAN device's MAC is not ours to manage)
    return (await fdbEntries(vx)).filter((e) => e.dst || (e.master && !(e.flags ?? []).includes('self') && e.state !== 'permanent'));
  }
}
