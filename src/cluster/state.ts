// The cluster's shared state as one node sees it: its nodes, its overlay networks and every
// container endpoint on them, on whichever node. etcd holds it (keys.ts); every node keeps
// this view of it, built from the keys it reads and the changes its watch brings (fromKeys),
// and builds its overlay networks and the names its resolver answers from it. A change is
// decided here, on the view (a name, subnet, VNI or address that looks free), and made in etcd
// by a transaction that fails if the view was stale. Pure: no I/O.
import { Allocator } from '../ipam/allocator';
import { Allocator6 } from '../ipam/allocator6';
import { validateIpamConfig, validateIpamConfig6, overlaps, tryParseSubnet, macFromIp, canonicalCidr6, isIPv6Cidr,
  POOLS_EXHAUSTED, POOLS_EXHAUSTED_V6 } from '../ipam';
import { activeEndpoints, badRequest, conflict, notFound } from '../util/errors';
import * as K from './keys';

export interface ClusterNode { id: string; addr: string; hostname: string; role?: 'manager' | 'worker'; joined?: string }

export interface OverlayNetwork {
  id: string;
  name: string;
  created: string;
  subnet: string;
  gateway: string;
  ipRange?: string;
  vni: number;
  userSubnet?: boolean;     // --subnet given: containers may ask for an --ip (Docker's rule)
  /**
   * Dual-stack (`--ipv6`): containers get an address of `subnet6` too. A record of an older
   * berthd has none of these fields: an IPv4-only network.
   */
  enableIPv6?: boolean;
  subnet6?: string;         // as given (inspect shows it so); its key in etcd is the canonical form
  gateway6?: string;
  ipRange6?: string;
  attachable: boolean;
  internal: boolean;
  labels: Record<string, string>;
  options: Record<string, string>;
}

export interface OverlayEndpoint {
  id: string;
  networkId: string;
  nodeId: string;
  containerId: string;
  name: string;
  hostname: string;
  aliases: string[];
  ip: string;
  /** Its address on a dual-stack network (none on an IPv4-only one, or from an older berthd). */
  ip6?: string;
  mac: string;
}

/** The addresses an endpoint holds (each has its key in etcd: keys.ts addr). */
export function addressesOf(e: { ip: string; ip6?: string }): string[] {
  return e.ip6 ? [e.ip, e.ip6] : [e.ip];
}

export interface ClusterState {
  version: number;           // etcd's revision of this view
  clusterId: string;
  managerNodeId: string;     // the manager shown as Leader
  nodes: ClusterNode[];
  alive: string[];           // nodes whose lease holds (Ready)
  networks: OverlayNetwork[];
  endpoints: OverlayEndpoint[];
}

/** Docker's swarm default pool: /24s out of 10.0.0.0/8 (10.0.0.0/24 is its ingress network). */
const OVERLAY_POOL_START = 1;
const VNI_BASE = 4096;

/**
 * The view of the keys under berth/cluster/ (key → value, at etcd revision `revision`); keys
 * that do not parse, or values that are not JSON of the right shape, are left out.
 */
export function fromKeys(kvs: Map<string, string>, revision: number): ClusterState {
  const s: ClusterState = { version: revision, clusterId: '', managerNodeId: '', nodes: [], alive: [], networks: [], endpoints: [] };
  const json = (v: string): any => { try { return JSON.parse(v); } catch { return null; } };
  for (const [k, v] of kvs) {
    const p = K.parse(k);
    if (!p) continue;
    if (p.kind === 'info') s.clusterId = String(json(v)?.clusterId ?? '');
    else if (p.kind === 'leader') s.managerNodeId = v;
    else if (p.kind === 'alive') s.alive.push(p.id);
    else if (p.kind === 'node') { const n = json(v); if (n?.id === p.id && typeof n.addr === 'string') s.nodes.push(n); }
    else if (p.kind === 'network') { const n = json(v); if (n?.id === p.id && typeof n.subnet === 'string' && optString(n.subnet6)) s.networks.push(n); }
    else if (p.kind === 'endpoint') { const e = json(v); if (e?.id === p.id && e.networkId === p.net && typeof e.ip === 'string' && optString(e.ip6)) s.endpoints.push(e); }
  }
  s.nodes.sort((a, b) => (a.joined ?? '').localeCompare(b.joined ?? '') || a.id.localeCompare(b.id));
  s.networks.sort((a, b) => a.created.localeCompare(b.created) || a.id.localeCompare(b.id));
  s.alive.sort();
  return s;
}

export interface NetworkRequest {
  id: string; name: string; created: string; subnet?: string; gateway?: string; ipRange?: string;
  /** --ipv6, and the IPv6 IPAM entry (--subnet/--gateway/--ip-range of the IPv6 family). */
  enableIPv6?: boolean; subnet6?: string; gateway6?: string; ipRange6?: string;
  attachable: boolean; internal: boolean; labels: Record<string, string>; options: Record<string, string>;
}

/** A network's IPv6 subnet as its etcd key names it (one network per subnet, however it is written). */
export function subnetKey6(n: { subnet6?: string }): string | null {
  return n.subnet6 ? canonicalCidr6(n.subnet6) : null;
}

/**
 * A new overlay network; `used` are subnets in use on the node asking (its bridges and routes);
 * `takenVnis`: VNIs found taken in etcd that the view does not show yet.
 */
export function addNetwork(s: ClusterState, r: NetworkRequest, used: string[] = [], takenVnis: Iterable<number> = []): ClusterState {
  if (s.networks.some((n) => n.name === r.name)) throw conflict(`network with name ${r.name} already exists`);
  const taken = s.networks.map((n) => n.subnet);
  const vnis = new Set([...s.networks.map((n) => n.vni), ...takenVnis]);
  const cfg = r.subnet
    ? validateIpamConfig({ Subnet: r.subnet, Gateway: r.gateway, IPRange: r.ipRange }, taken)
    : validateIpamConfig({ Subnet: chooseOverlaySubnet([...taken, ...used]) }, []);
  const v6 = ipv6Config(s, r);
  let vni = VNI_BASE + 1;
  while (vnis.has(vni)) vni++;
  const net: OverlayNetwork = {
    id: r.id, name: r.name, created: r.created, subnet: cfg.Subnet, gateway: cfg.Gateway, vni,
    ...(cfg.IPRange ? { ipRange: cfg.IPRange } : {}), userSubnet: !!r.subnet, ...v6,
    attachable: r.attachable, internal: r.internal, labels: r.labels,
    options: { ...r.options, 'com.docker.network.driver.overlay.vxlanid_list': String(vni) },
  };
  return bump({ ...s, networks: [...s.networks, net] });
}

/**
 * The IPv6 part of a new network: Docker has no default IPv6 pool, so --ipv6 needs an IPv6
 * --subnet (its message); one that overlaps another network's is refused. A v6 subnet given
 * without --ipv6 is kept and used by nothing, as on a local network.
 */
function ipv6Config(s: ClusterState, r: NetworkRequest): Pick<OverlayNetwork, 'enableIPv6' | 'subnet6' | 'gateway6' | 'ipRange6'> {
  if (!r.subnet6) {
    if (r.enableIPv6) throw badRequest(POOLS_EXHAUSTED_V6);
    return {};
  }
  if (!isIPv6Cidr(r.subnet6)) throw badRequest(`Invalid subnet ${r.subnet6} : invalid CIDR address: ${r.subnet6}`);
  const taken = s.networks.flatMap((n) => (n.subnet6 ? [n.subnet6] : []));
  const c = validateIpamConfig6({ Subnet: r.subnet6, Gateway: r.gateway6, IPRange: r.ipRange6 }, taken, r.name);
  // (the gateway is recorded even when none was asked for: Docker's swarm shows the one it chose)
  return { enableIPv6: !!r.enableIPv6, subnet6: c.Subnet, gateway6: c.Gateway, ...(c.IPRange ? { ipRange6: c.IPRange } : {}) };
}

export function removeNetwork(s: ClusterState, ref: string): ClusterState {
  const n = findNetwork(s, ref);
  if (!n) throw notFound(`network ${ref} not found`);
  const eps = s.endpoints.filter((e) => e.networkId === n.id);
  if (eps.length) throw activeEndpoints(n.name, eps);
  return bump({ ...s, networks: s.networks.filter((x) => x.id !== n.id) });
}

function findNetwork(s: ClusterState, ref: string): OverlayNetwork | undefined {
  return s.networks.find((n) => n.id === ref) ?? s.networks.find((n) => n.name === ref) ??
    (ref.length >= 1 ? s.networks.find((n) => n.id.startsWith(ref)) : undefined);
}

export type EndpointRequest = Omit<OverlayEndpoint, 'ip' | 'ip6'> & { ip?: string; ip6?: string };

/** The IPv6 allocator of a dual-stack network (null for an IPv4-only one). */
function allocator6Of(n: OverlayNetwork): Allocator6 | null {
  if (!n.enableIPv6 || !n.subnet6) return null;
  return new Allocator6({ Subnet: n.subnet6, Gateway: n.gateway6 ?? '', IPRange: n.ipRange6 }, { name: n.name, id: n.id });
}

/**
 * An endpoint with its addresses: for each family the network has, the one asked for
 * (checked) or the next free one; `taken`: addresses (of either family) found taken in etcd
 * that the view does not show yet.
 */
export function addEndpoint(s: ClusterState, r: EndpointRequest, taken: Iterable<string> = []): { state: ClusterState; endpoint: OverlayEndpoint } {
  const n = s.networks.find((x) => x.id === r.networkId);
  if (!n) throw notFound(`network ${r.networkId} not found`);
  const alloc = new Allocator({ Subnet: n.subnet, Gateway: n.gateway, IPRange: n.ipRange }, { name: n.name, id: n.id });
  const alloc6 = allocator6Of(n);
  if (r.ip6 && !alloc6) throw badRequest(`network ${n.name} has no IPv6 address pool (created without --ipv6): cannot use --ip6 ${r.ip6}`);
  const mine = s.endpoints.filter((e) => e.networkId === n.id && e.id !== r.id);
  for (const e of mine) {
    alloc.reserve(e.ip);
    if (e.ip6 && alloc6?.inSubnet(e.ip6)) alloc6.reserve(e.ip6);
  }
  for (const ip of taken) {
    if (!ip.includes(':')) alloc.reserve(ip);
    else if (alloc6?.inSubnet(ip)) alloc6.reserve(ip);
  }
  if (r.ip) alloc.check(r.ip);
  if (r.ip6) alloc6!.check(r.ip6);
  const ip = alloc.allocate(r.ip);
  // (printed in RFC 5952 form: etcd's key for it has one spelling whatever the user wrote)
  const ip6 = alloc6?.allocate(r.ip6);
  // Every host needs the MAC (its VXLAN forwarding entries are made from this state).
  const endpoint: OverlayEndpoint = { ...r, ip, ...(ip6 ? { ip6 } : {}), mac: r.mac || macFromIp(ip) };
  if (!ip6) delete endpoint.ip6;
  return { state: bump({ ...s, endpoints: [...s.endpoints.filter((e) => e.id !== r.id), endpoint] }), endpoint };
}

/** The first 10.0.N.0/24 (N ≥ 1) that no network or route of the asking node uses. */
function chooseOverlaySubnet(used: string[]): string {
  const real = used.filter((u) => tryParseSubnet(u) !== null);
  for (let i = OVERLAY_POOL_START; i < 256 * 256; i++) {
    const p = `10.${Math.floor(i / 256)}.${i % 256}.0/24`;
    if (!real.some((u) => overlaps(p, u))) return p;
  }
  throw badRequest(POOLS_EXHAUSTED);
}

/** An optional field (absent in records of an older berthd) is absent or a string. */
function optString(v: unknown): boolean { return v === undefined || typeof v === 'string'; }

function bump(s: ClusterState): ClusterState { return { ...s, version: s.version + 1 }; }
