// The bridge driver: one Linux bridge per network (gateway address on it), one veth pair per
// endpoint (host end on the bridge, other end renamed eth<N> inside the container's netns).
// Isolation, masquerade and published ports live in berth's nft table (firewall/); an
// enable_icc=false network marks its bridge ports "isolated", so the bridge itself refuses
// to forward between them while each container still reaches its gateway. Ports are in
// hairpin mode (see portLines).
import type { EndpointSpec, NetworkDriver, NetworkSpec } from '../types';
import type { Firewall } from '../firewall/firewall';
import { deleteLink, ipBatch, linkExists, linkState, listLinks, type LinkState } from '../../kernel/ip';
import { containerSide } from './endpoint';
import { PARENT_ALIAS } from './macvlan';
import { setIfSysctl, setSysctl } from '../../kernel/sysctl';
import { randomBytes } from 'node:crypto';

/** Link alias that marks a kernel object as berth's, so a restart can find its leftovers. */
const ALIAS_PREFIX = 'berth:';

export class BridgeDriver implements NetworkDriver {
  readonly name = 'bridge';

  constructor(private readonly fw: Firewall) {}

  async init(): Promise<void> {
    await setSysctl('net.ipv4.ip_forward', '1');
    await this.fw.init();
  }

  async createNetwork(net: NetworkSpec): Promise<void> {
    const br = net.bridgeName;
    // At a daemon start the bridge is there, carrying running containers' traffic: only what
    // differs from what it should be is changed (usually nothing).
    await ipBatch(bridgeLines(net, linkExists(br) ? await linkState(br) : null));
    // Lets connections to 127.0.0.1:<published port> be DNATed out through the bridge. (It
    // would also let a container address the host's 127.0.0.1 services; the firewall's
    // localnet chain drops every packet to 127.0.0.0/8 that arrives off loopback.)
    await setIfSysctl(br, 'route_localnet', '1');
    // A container reaching a published port of its own network through a host address is
    // routed back out the bridge it came from; an ICMP redirect would then tell it to skip
    // the gateway (and so the DNAT) for that host address.
    await setIfSysctl(br, 'send_redirects', '0');
    await this.fw.addNetwork(net);
  }

  /**
   * Take a network's bridge away. Deleting a bridge costs the kernel 30-60 ms (RCU grace
   * periods), so `network rm` instead takes it down, strips its address and renames it to a
   * spare in about 1 ms, and the spare is deleted in the background (or at the next start).
   * `recycle: false` (undoing a half-made network) deletes it at once.
   */
  async deleteNetwork(net: NetworkSpec, opts: { recycle?: boolean } = {}): Promise<void> {
    await this.fw.removeNetwork(net);
    const br = net.bridgeName;
    if (!linkExists(br)) return;
    if (opts.recycle === false) {
      await deleteLink(br);
      return;
    }
    const spare = `bspare-${randomBytes(3).toString('hex')}`;
    await ipBatch([`link set dev ${br} down`, `addr flush dev ${br}`, `link set dev ${br} name ${spare}`,
      `link set dev ${spare} alias ${ALIAS_PREFIX}spare`]);
    this.spares.push(spare);
    this.sweep();
  }

  private readonly spares: string[] = [];
  private sweeping: Promise<void> | null = null;

  /** Delete spare bridges one after another, off the request path. */
  private sweep(): void {
    if (this.sweeping) return;
    this.sweeping = (async () => {
      for (let s = this.spares.shift(); s; s = this.spares.shift()) {
        await deleteLink(s);
      }
    })().finally(() => { this.sweeping = null; });
  }

  /** Wait for spare bridges to be gone (daemon shutdown, tests). */
  async settle(): Promise<void> { while (this.sweeping) await this.sweeping; }

  async attach(net: NetworkSpec, ep: EndpointSpec): Promise<void> {
    // A restarted daemon re-attaching a running container finds its veth in place: it changes
    // only what differs (usually nothing), and never the container's side.
    const fresh = !linkExists(ep.hostIfname);
    await ipBatch(portLines(net, ep, fresh ? null : await linkState(ep.hostIfname)));
    if (!fresh) return;
    const inside = containerSide(ep);
    if (ep.defaultRoute) inside.push(`route add default via ${ep.gateway} dev ${ep.ifname}`);
    try {
      await ipBatch(inside, ep.netnsPath);
    } catch (e) {
      await deleteLink(ep.hostIfname);
      throw e;
    }
  }

  async detach(_net: NetworkSpec, ep: EndpointSpec): Promise<void> {
    // Deleting the host end takes the container end with it.
    await deleteLink(ep.hostIfname);
  }

  /**
   * Remove bridges (overlay VXLAN devices too), veths and macvlan/ipvlan parent links berth
   * made for networks or containers that no longer exist (a restart after a crash, or after
   * removals that failed halfway).
   */
  async cleanupStale(keep: { bridges: string[]; hostIfnames: string[]; parents?: string[] }): Promise<void> {
    const bridges = new Set(keep.bridges);
    const veths = new Set(keep.hostIfnames);
    const parents = new Set(keep.parents ?? []);
    const stale = (await listLinks()).filter((l) => {
      // Parents: marked with their alias, or (made before the alias) by their private name.
      if (l.ifalias?.startsWith(PARENT_ALIAS) || /^d[mi]-[0-9a-f]{12}$/.test(l.ifname)) return !parents.has(l.ifname);
      if (!l.ifalias?.startsWith(ALIAS_PREFIX)) return false;
      return ((l.kind === 'bridge' || l.kind === 'vxlan') && !bridges.has(l.ifname)) || (l.kind === 'veth' && !veths.has(l.ifname));
    });
    // One at a time: one that is gone already (a veth whose peer went first) must not stop the rest.
    for (const l of stale) await deleteLink(l.ifname).catch(() => undefined);
  }
}

/** A stable, locally administered MAC for a network's bridge, from its id. */
export function bridgeMac(networkId: string): string {
  const b = networkId.slice(0, 8).padEnd(8, '0').match(/../g)!;
  return ['02', '42', ...b].join(':');
}

/**
 * `ip -batch` lines that make a network's bridge what it should be: all of it when there is
 * none (`cur` null), else only what differs (its gateway address, its being up).
 */
export function bridgeLines(net: NetworkSpec, cur: LinkState | null): string[] {
  const br = net.bridgeName;
  const addr = `${net.gateway}/${net.subnet.split('/')[1]}`;
  const lines: string[] = [];
  if (!cur) {
    // A fixed MAC: otherwise a bridge takes the lowest MAC of its ports, so it changes as
    // veths come and go and every container's ARP entry for the gateway goes stale.
    lines.push(`link add name ${br} address ${bridgeMac(net.id)} mtu ${net.mtu} type bridge`);
    lines.push(`link set dev ${br} alias ${ALIAS_PREFIX}${net.id.slice(0, 12)}`);
  }
  if (!cur?.addrs.includes(addr)) lines.push(`addr replace ${addr} brd + dev ${br}`);
  if (!cur?.up) lines.push(`link set dev ${br} up`);
  return lines;
}

/**
 * `ip -batch` lines for an endpoint's host-side veth: the pair made (into the container's
 * namespace) when there is none (`cur` null), else only what differs from "on its network's
 * bridge, up, marked berth's, hairpin, isolated when the network has enable_icc=false".
 */
export function portLines(net: NetworkSpec, ep: EndpointSpec, cur: LinkState | null): string[] {
  const dev = ep.hostIfname;
  const alias = `${ALIAS_PREFIX}${ep.containerId.slice(0, 12)}`;
  // hairpin: with br_netfilter (on by default), a container's connection to its own
  // published port is DNATed in the bridge and must go back out the port it came in by.
  if (!cur) {
    return [
      `link add ${dev} mtu ${ep.mtu} type veth peer name ${ep.ifname} address ${ep.mac} mtu ${ep.mtu} netns ${ep.netnsPath}`,
      `link set dev ${dev} alias ${alias} master ${net.bridgeName} up`,
      `link set dev ${dev} type bridge_slave hairpin on${net.icc ? '' : ' isolated on'}`,
    ];
  }
  const lines: string[] = [];
  if (cur.master !== net.bridgeName || cur.ifalias !== alias || !cur.up) {
    lines.push(`link set dev ${dev} alias ${alias} master ${net.bridgeName} up`);
  }
  // (a port only just put on the bridge has the default flags: hairpin off, not isolated)
  const port = cur.master === net.bridgeName ? cur.port : undefined;
  if (!port?.hairpin || port.isolated !== !net.icc) {
    lines.push(`link set dev ${dev} type bridge_slave hairpin on isolated ${net.icc ? 'off' : 'on'}`);
  }
  return lines;
}
