// The cluster's shared state: its nodes, its overlay networks and every container endpoint on
// them, on whichever node. The manager (the node that ran `swarm init`) owns it and is the
// only one to change it; every node holds a copy and builds its overlay networks, and the
// names its resolver answers, from that copy. Pure: changes are functions from state to state.
import { Allocator } from '../ipam/allocator';
import { validateIpamConfig, overlaps, tryParseSubnet, macFromIp, POOLS_EXHAUSTED } from '../ipam';
import { activeEndpoints, badRequest, conflict, notFound } from '../util/errors';

export interface ClusterNode { id: string; addr: string; hostname: string }

export interface OverlayNetwork {
  id: string;
  name: string;
  created: string;
  subnet: string;
  gateway: string;
  ipRange?: string;
  vni: number;
  userSubnet?: boolean;     // --subnet given: containers may ask for an --ip (Docker's rule)
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
  mac: string;
}

export interface ClusterState {
  version: number;
  clusterId: string;
  managerNodeId: string;
  nodes: ClusterNode[];
  networks: OverlayNetwork[];
  endpoints: OverlayEndpoint[];
}

/** Docker's swarm default pool: /24s out of 10.0.0.0/8 (10.0.0.0/24 is its ingress network). */
const OVERLAY_POOL_START = 1;
const VNI_BASE = 4096;

export function emptyState(clusterId: string, manager: ClusterNode): ClusterState {
  return { version: 1, clusterId, managerNodeId: manager.id, nodes: [manager], networks: [], endpoints: [] };
}

/** A node joins, or joins again after a restart (same id: its endpoints stay, its containers run on). */
export function addNode(s: ClusterState, n: ClusterNode): ClusterState {
  const replaced = new Set(s.nodes.filter((x) => x.addr === n.addr && x.id !== n.id).map((x) => x.id));
  const nodes = s.nodes.filter((x) => x.id !== n.id && !replaced.has(x.id));
  return bump({ ...s, nodes: [...nodes, n], endpoints: s.endpoints.filter((e) => !replaced.has(e.nodeId)) });
}

/** A node leaves: it and every endpoint it had go. */
export function removeNode(s: ClusterState, nodeId: string): ClusterState {
  return bump({ ...s, nodes: s.nodes.filter((n) => n.id !== nodeId), endpoints: s.endpoints.filter((e) => e.nodeId !== nodeId) });
}

export interface NetworkRequest {
  id: string; name: string; created: string; subnet?: string; gateway?: string; ipRange?: string;
  attachable: boolean; internal: boolean; labels: Record<string, string>; options: Record<string, string>;
}

/** A new overlay network; `used` are subnets in use on the node asking (its bridges and routes). */
export function addNetwork(s: ClusterState, r: NetworkRequest, used: string[] = []): ClusterState {
  if (s.networks.some((n) => n.name === r.name)) throw conflict(`network with name ${r.name} already exists`);
  const taken = s.networks.map((n) => n.subnet);
  const cfg = r.subnet
    ? validateIpamConfig({ Subnet: r.subnet, Gateway: r.gateway, IPRange: r.ipRange }, taken)
    : validateIpamConfig({ Subnet: chooseOverlaySubnet([...taken, ...used]) }, []);
  let vni = VNI_BASE + 1;
  while (s.networks.some((n) => n.vni === vni)) vni++;
  const net: OverlayNetwork = {
    id: r.id, name: r.name, created: r.created, subnet: cfg.Subnet, gateway: cfg.Gateway, vni,
    ...(cfg.IPRange ? { ipRange: cfg.IPRange } : {}), userSubnet: !!r.subnet,
    attachable: r.attachable, internal: r.internal, labels: r.labels,
    options: { ...r.options, 'com.docker.network.driver.overlay.vxlanid_list': String(vni) },
  };
  return bump({ ...s, networks: [...s.networks, net] });
}

export function removeNetwork(s: ClusterState, ref: string): ClusterState {
  const n = findNetwork(s, ref);
  if (!n) throw notFound(`network ${ref} not found`);
  const eps = s.endpoints.filter((e) => e.networkId === n.id);
  if (eps.length) throw activeEndpoints(n.name, eps);
  return bump({ ...s, networks: s.networks.filter((x) => x.id !== n.id) });
}

export function findNetwork(s: ClusterState, ref: string): OverlayNetwork | undefined {
  return s.networks.find((n) => n.id === ref) ?? s.networks.find((n) => n.name === ref) ??
    (ref.length >= 1 ? s.networks.find((n) => n.id.startsWith(ref)) : undefined);
}

export type EndpointRequest = Omit<OverlayEndpoint, 'ip'> & { ip?: string };

/** An endpoint with its address: the one asked for (checked) or the next free one. */
export function addEndpoint(s: ClusterState, r: EndpointRequest): { state: ClusterState; endpoint: OverlayEndpoint } {
  const n = s.networks.find((x) => x.id === r.networkId);
  if (!n) throw notFound(`network ${r.networkId} not found`);
  const alloc = new Allocator({ Subnet: n.subnet, Gateway: n.gateway, IPRange: n.ipRange }, { name: n.name, id: n.id });
  for (const e of s.endpoints) if (e.networkId === n.id) alloc.reserve(e.ip);
  if (r.ip) alloc.check(r.ip);
  const ip = alloc.allocate(r.ip);
  // Every host needs the MAC (its VXLAN forwarding entries are made from this state).
  const endpoint = { ...r, ip, mac: r.mac || macFromIp(ip) };
  return { state: bump({ ...s, endpoints: [...s.endpoints.filter((e) => e.id !== r.id), endpoint] }), endpoint };
}

export function removeEndpoint(s: ClusterState, id: string): ClusterState {
  if (!s.endpoints.some((e) => e.id === id)) return s;
  return bump({ ...s, endpoints: s.endpoints.filter((e) => e.id !== id) });
}

/** The first 10.0.N.0/24 (N ≥ 1) that no network or route of the asking node uses. */
export function chooseOverlaySubnet(used: string[]): string {
  const real = used.filter((u) => tryParseSubnet(u) !== null);
  for (let i = OVERLAY_POOL_START; i < 256 * 256; i++) {
    const p = `10.${Math.floor(i / 256)}.${i % 256}.0/24`;
    if (!real.some((u) => overlaps(p, u))) return p;
  }
  throw badRequest(POOLS_EXHAUSTED);
}

function bump(s: ClusterState): ClusterState { return { ...s, version: s.version + 1 }; }
