// The macvlan and ipvlan drivers: a container's interface is a sub-interface of a host
// interface (the "parent"), so it sits directly on the parent's network: its own MAC with
// macvlan, the parent's MAC with ipvlan. No bridge, no NAT, no published ports (like Docker,
// -p is accepted and does nothing). The interface is made straight inside the container's
// namespace (`ip link add link PARENT ... netns NS`), named eth<N> there.
//
// The parent: `-o parent=eth0`; `-o parent=eth0.10` makes VLAN 10 on eth0 if it does not exist
// (and removes it with the network); no parent gives the network a private parent of its own,
// so its containers reach only each other (Docker uses a dummy link "dm-<id>"; where the kernel
// has no dummy links, a veth pair whose other end stays unused does the same).
import type { EndpointSpec, NetworkRecord } from '../types';
import type { DriverFields, DriverTraits, NetworkDriver, NewNetwork } from './driver';
import { networkMtu } from './driver';
import { badRequest, ApiError } from '../../util/errors';
import { deleteLink, ipBatch, linkExists, linkExistsIn, listLinksIn } from '../../kernel/ip';
import { log } from '../../util/log';
import { containerSide, defaultRoutes } from './endpoint';

export type LowerKind = 'macvlan' | 'ipvlan';

interface LowerNetworkSpec {
  id: string;
  kind: LowerKind;
  parent: string;
  mode: string;            // macvlan: bridge|private|vepa|passthru; ipvlan: l2|l3|l3s
  flag: string;            // ipvlan only: bridge|private|vepa
  createdParent: boolean;  // berth made the parent (VLAN sub-interface or private link)
  mtu: number;
}

const MACVLAN_MODES = ['bridge', 'private', 'vepa', 'passthru'];
const IPVLAN_MODES = ['l2', 'l3', 'l3s'];
const IPVLAN_FLAGS = ['bridge', 'private', 'vepa'];

/** Link alias of a parent link berth made for a network ("berth:parent-<12 hex of the network id>"). */
export const PARENT_ALIAS = 'berth:parent-';

/** A network's mode option, or the driver's default (macvlan: bridge; ipvlan: l2). */
function lowerMode(kind: LowerKind, opts: Record<string, string>): string {
  return kind === 'macvlan' ? opts.macvlan_mode || 'bridge' : opts.ipvlan_mode || 'l2';
}

/** Docker's name for a network's private parent: "dm-" (macvlan) or "di-" (ipvlan) + 12 hex of its id. */
export function privateParentName(kind: LowerKind, networkId: string): string {
  return `${kind === 'macvlan' ? 'dm' : 'di'}-${networkId.slice(0, 12)}`;
}

/**
 * Check a new network's driver options, Docker's way and with Docker's messages. Pure: what
 * exists on the host and which networks use which parent come in as arguments.
 * Returns the parent to use and whether berth has to make it.
 */
export function checkLowerOptions(kind: LowerKind, networkId: string, opts: Record<string, string>,
  others: Array<{ id: string; kind: string; parent?: string }>, exists: (ifname: string) => boolean,
): { parent: string; mode: string; flag: string; make: 'none' | 'vlan' | 'private' } {
  let mode: string, flag = '';
  if (kind === 'macvlan') {
    mode = opts.macvlan_mode || 'bridge';
    if (!MACVLAN_MODES.includes(mode)) {
      throw badRequest(`requested macvlan mode '${mode}' is not valid, 'bridge' mode is the macvlan driver default`);
    }
  } else {
    mode = opts.ipvlan_mode || 'l2';
    if (!IPVLAN_MODES.includes(mode)) {
      throw badRequest(`requested ipvlan mode '${mode}' is not valid, 'l2' mode is the ipvlan driver default`);
    }
    flag = opts.ipvlan_flag || 'bridge';
    if (!IPVLAN_FLAGS.includes(flag)) {
      throw badRequest(`requested ipvlan flag '${flag}' is not valid, 'bridge' is the ipvlan driver default`);
    }
  }
  let parent = opts.parent || '';
  let make: 'none' | 'vlan' | 'private' = 'none';
  if (!parent) {
    parent = privateParentName(kind, networkId);
    make = 'private';
  } else {
    if (parent === 'lo') throw badRequest(`loopback interface is not a valid ${kind} parent link`);
    if (!/^[a-zA-Z0-9_.@-]{1,15}$/.test(parent)) throw badRequest(`invalid parent interface name ${JSON.stringify(parent)}`);
    if (!exists(parent)) {
      const vlan = /^(.+)\.(\d+)$/.exec(parent);
      if (!vlan || Number(vlan[2]) < 1 || Number(vlan[2]) > 4094) {
        throw badRequest(`invalid subinterface vlan name ${parent}, example formatting is eth0.10`);
      }
      if (!exists(vlan[1])) throw badRequest(`-o parent interface was not found on the host: ${vlan[1]}`);
      make = 'vlan';
    }
  }
  // (Docker checks within one driver: macvlan networks among themselves, ipvlan likewise.)
  const taken = others.find((n) => n.kind === kind && n.parent === parent && n.id !== networkId);
  if (taken) throw badRequest(`network ${privateParentName(kind, taken.id)} is already using parent interface ${parent}`);
  return { parent, mode, flag, make };
}

/** What the macvlan/ipvlan driver builds for a network, from its record. */
function lowerSpec(kind: LowerKind, n: NetworkRecord): LowerNetworkSpec {
  return {
    id: n.Id, kind, parent: n.parent!, createdParent: !!n.createdParent,
    mode: lowerMode(kind, n.Options),
    flag: n.Options.ipvlan_flag || 'bridge',
    mtu: networkMtu(n),
  };
}

const traits = (name: LowerKind): DriverTraits => ({
  name, scope: 'local', made: 'local', namespace: 'own', addresses: 'local', link: 'sub-interface',
  ports: 'none', gatewayBridge: false, defaultRoute: true, dns: true, ipv6: true,
});
export const MACVLAN_TRAITS = traits('macvlan');
export const IPVLAN_TRAITS = traits('ipvlan');

export class LowerDriver implements NetworkDriver {
  readonly traits: DriverTraits;
  constructor(readonly kind: LowerKind) { this.traits = kind === 'macvlan' ? MACVLAN_TRAITS : IPVLAN_TRAITS; }

  async validate(req: NewNetwork, existing: NetworkRecord[]): Promise<DriverFields> {
    const { parent, make } = checkLowerOptions(this.kind, req.id, req.options,
      existing.map((n) => ({ id: n.Id, kind: n.Driver, parent: n.parent })), linkExists);
    return { options: { ...req.options }, parent, createdParent: make !== 'none' };
  }

  /**
   * Make the parent if the network needs one of its own; idempotent. At a daemon start a parent
   * that cannot be made (its VLAN's interface gone) is a warning: the network's containers
   * then fail to start saying the parent is missing.
   */
  async createNetwork(rec: NetworkRecord, opts: { restoring?: boolean } = {}): Promise<void> {
    const made = this.makeParent(lowerSpec(this.kind, rec));
    if (!opts.restoring) return made;
    await made.catch((e) => log.warn(`network ${rec.Name}: ${(e as Error).message}`));
  }

  private async makeParent(net: LowerNetworkSpec): Promise<void> {
    if (!net.createdParent || linkExists(net.parent)) return;
    // Marked as berth's in the same batch that makes it: a restart that finds it named by no
    // network record (berthd was killed before the record) removes it (drivers/sweep.ts).
    const mark = `link set dev ${net.parent} alias ${PARENT_ALIAS}${net.id.slice(0, 12)}`;
    const vlan = /^(.+)\.(\d+)$/.exec(net.parent);
    if (vlan && !net.parent.startsWith('dm-') && !net.parent.startsWith('di-')) {
      await ipBatch([`link add link ${vlan[1]} name ${net.parent} type vlan id ${vlan[2]}`, mark, `link set dev ${net.parent} up`])
        .catch((e) => { throw unsupported(e, `802.1q VLAN sub-interfaces (${net.parent})`); });
      return;
    }
    // A private parent: a dummy link, or where the kernel has none a veth pair (its peer is
    // never used; it only gives the parent a carrier).
    const peer = `${net.parent.slice(0, 14)}p`;
    try {
      await ipBatch([`link add ${net.parent} mtu ${net.mtu} type dummy`, mark, `link set dev ${net.parent} up`]);
    } catch {
      await deleteLink(net.parent); // (a batch that failed after the link was made)
      await ipBatch([`link add ${net.parent} mtu ${net.mtu} type veth peer name ${peer} mtu ${net.mtu}`, mark,
        `link set dev ${peer} up`, `link set dev ${net.parent} up`]);
    }
  }

  async deleteNetwork(rec: NetworkRecord): Promise<void> {
    if (rec.createdParent && rec.parent) await deleteLink(rec.parent);
  }

  async checkNetwork(rec: NetworkRecord): Promise<string[]> {
    return rec.parent && !linkExists(rec.parent) ? [`parent interface ${rec.parent} of network ${rec.Name} is missing`] : [];
  }

  links(rec: NetworkRecord): string[] { return rec.createdParent && rec.parent ? [rec.parent] : []; }

  /** The container's sub-interface, made inside its namespace, addressed and up; idempotent. */
  async attach(rec: NetworkRecord, ep: EndpointSpec): Promise<void> {
    const net = lowerSpec(this.kind, rec);
    if (!linkExists(net.parent)) throw new ApiError(500, `parent interface ${net.parent} of network ${ep.networkId.slice(0, 12)} was not found on the host`);
    if (await linkExistsIn(ep.netnsPath, ep.ifname)) return;
    const type = net.kind === 'macvlan'
      ? `address ${ep.mac} type macvlan mode ${net.mode}`
      : `type ipvlan mode ${net.mode} ${net.flag}`;
    await ipBatch([`link add link ${net.parent} name ${ep.ifname} netns ${ep.netnsPath} mtu ${ep.mtu} ${type}`])
      .catch((e) => { throw unsupported(e, `${net.kind} interfaces`); });
    const inside = containerSide(ep);
    if (ep.defaultRoute) {
      // ipvlan l3: the parent routes, there is no gateway to ARP for.
      inside.push(...defaultRoutes(ep, net.kind === 'ipvlan' && net.mode !== 'l2'));
    }
    try {
      await ipBatch(inside, ep.netnsPath);
    } catch (e) {
      await ipBatch([`link del dev ${ep.ifname}`], ep.netnsPath).catch(() => undefined);
      throw e;
    }
  }

  async detach(_rec: NetworkRecord, ep: EndpointSpec): Promise<void> {
    await ipBatch([`link del dev ${ep.ifname}`], ep.netnsPath).catch(() => undefined);
  }

  async checkEndpoint(_rec: NetworkRecord, ep: EndpointSpec): Promise<string[]> {
    const link = (await listLinksIn(ep.netnsPath)).find((l) => l.ifname === ep.ifname);
    if (!link) return [`${this.kind} interface ${ep.ifname} of container ${ep.containerId.slice(0, 12)} is missing`];
    return link.kind === this.kind ? [] : [`${ep.ifname} of container ${ep.containerId.slice(0, 12)} is a ${link.kind ?? 'link'}, not ${this.kind}`];
  }
}

/** A kernel without the link type answers "Unknown device type": say what is missing. */
function unsupported(e: unknown, what: string): Error {
  const msg = (e as Error).message;
  if (/Unknown device type|Operation not supported|not supported/i.test(msg)) {
    return new ApiError(500, `this kernel does not support ${what}`);
  }
  return e as Error;
}
