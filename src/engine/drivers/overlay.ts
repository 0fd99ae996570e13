// The overlay driver: one L2 network across the cluster's hosts. On every host an overlay
// network is a bridge ("ov-<id>", no address: the host itself is not on the network) with a
// VXLAN device ("vx-<id>", the network's VNI, UDP 4789 from the host's advertised address)
// as one of its ports; containers join the bridge with a veth, as on a bridge network.
// Broadcasts (ARP) go to every other host (one all-zero FDB entry per peer, head-end
// replication, no multicast needed). Which host has which container MAC comes from the
// cluster state as static FDB entries, not from learning: a container that goes and comes
// back elsewhere with the same address (and so the same MAC) is found there at once, not
// after the five minutes a learned entry takes to age out. The VXLAN header takes 50 bytes,
// so interfaces get an MTU of 1450.
import type { EndpointSpec } from '../types';
import { bridgeBatch, deleteLink, fdbEntries, ipBatch, linkExists, listLinks, type FdbEntry } from '../../kernel/ip';
import { containerSide } from './endpoint';

export const OVERLAY_MTU = 1450;
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

export const overlayBridge = (id: string) => `ov-${id.slice(0, 12)}`;
export const overlayVxlan = (id: string) => `vx-${id.slice(0, 12)}`;

export class OverlayDriver {
  /** Make the bridge and VXLAN device if missing and point the flooding entries at `peers`. */
  async ensure(net: OverlaySpec): Promise<void> {
    const br = overlayBridge(net.id), vx = overlayVxlan(net.id);
    const lines: string[] = [];
    if (!linkExists(br)) {
      lines.push(`link add name ${br} mtu ${OVERLAY_MTU} type bridge`, `link set dev ${br} alias ${ALIAS}`, `link set dev ${br} up`);
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

  async remove(id: string): Promise<void> {
    for (const dev of [overlayVxlan(id), overlayBridge(id)]) await deleteLink(dev);
  }

  /** Overlay bridges on this host (to remove those of networks that are gone). */
  async present(): Promise<string[]> {
    return (await listLinks()).filter((l) => l.kind === 'bridge' && l.ifname.startsWith('ov-')).map((l) => l.ifname);
  }

  /** The container's veth on the overlay bridge; idempotent (daemon restarts). */
  async attach(net: OverlaySpec, ep: EndpointSpec): Promise<void> {
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

  async detach(ep: EndpointSpec): Promise<void> {
    await deleteLink(ep.hostIfname);
  }

  /** The VXLAN device's entries: where it sends MACs (dst), and the bridge's entries on its port (master). */
  private async fdb(vx: string): Promise<FdbEntry[]> {
    // (the bridge's own entry for the VXLAN device's MAC is not ours to manage)
    return (await fdbEntries(vx)).filter((e) => e.dst || (e.master && !(e.flags ?? []).includes('self') && e.state !== 'permanent'));
  }
}
