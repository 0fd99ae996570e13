// Subnet choice and validation of a network's IPAM configuration, with the messages (and, where
// Docker uses a 4xx, the status codes) of Docker 20.10. Where Docker answers bad input with a
// 500, berth answers 400: the issue asks for a 4xx on every wrong input.
import { ApiError, badRequest, forbidden, RANGE_WITHOUT_SUBNET } from '../util/errors';
import { IpamConfigRecord } from './config';
import { Subnet, ipToString, isIPv6Cidr, overlaps, parseIPv4, tryParseSubnet } from './subnet';

/** Docker's default address pools, in the order Docker tries them. */
export const DEFAULT_POOLS: readonly string[] = (() => {
  const pools: string[] = [];
  for (let b = 17; b <= 31; b++) pools.push(`172.${b}.0.0/16`);
  for (let c = 0; c < 256; c += 16) pools.push(`192.168.${c}.0/20`);
  return pools;
})();

export const POOLS_EXHAUSTED =
  'could not find an available, non-overlapping IPv4 address pool among the defaults to assign to the network';

/**
 * Address blocks no network may use (Docker accepts them): a bridge given 127.0.0.0/8 makes
 * its containers' loopback addresses routable, multicast and "this network" addresses are not
 * unicast hosts at all.
 */
export const RESERVED_BLOCKS: ReadonlyArray<{ cidr: string; what: string }> = [
  { cidr: '0.0.0.0/8', what: '"this network" (0.0.0.0/8)' },
  { cidr: '127.0.0.0/8', what: 'loopback (127.0.0.0/8)' },
  { cidr: '224.0.0.0/4', what: 'multicast (224.0.0.0/4)' },
];

/** The reason a subnet cannot be a network's, or null. */
export function reservedSubnet(cidr: string): string | null {
  const hit = RESERVED_BLOCKS.find((b) => overlaps(cidr, b.cidr));
  return hit ? `invalid subnet ${cidr}: it overlaps the ${hit.what} addresses, which cannot be a network's` : null;
}

export const POOL_OVERLAP = 'Pool overlaps with other one on this address space';

/** Subnets that are not IPv4 CIDRs (e.g. IPv6 routes) are ignored when checking overlap. */
function overlapsAny(cidr: string, used: string[]): boolean {
  return used.some((u) => tryParseSubnet(u) !== null && overlaps(cidr, u));
}

/**
 * The first default pool that overlaps none of `used` (existing networks' subnets and the
 * host's own routes).
 */
export function chooseSubnet(used: string[]): string {
  for (const p of DEFAULT_POOLS) if (!overlapsAny(p, used)) return p;
  throw new ApiError(400, POOLS_EXHAUSTED);
}

/** The addresses the subnet can hand out: everything but its network and broadcast address. */
export function usableBounds(s: Subnet): [number, number] | null {
  if (s.prefix >= 31) return null;
  return [s.network + 1, s.broadcast - 1];
}

/**
 * The range addresses are allocated from: the IP range (clipped to the usable part of the
 * subnet) when there is one, else the usable part of the subnet. null when it is empty.
 */
export function allocationBounds(subnet: Subnet, ipRange?: Subnet | null): [number, number] | null {
  const u = usableBounds(subnet);
  if (!u) return null;
  if (!ipRange) return u;
  const lo = Math.max(u[0], ipRange.network);
  const hi = Math.min(u[1], ipRange.broadcast);
  return lo <= hi ? [lo, hi] : null;
}

export interface IpamInput {
  Subnet?: string;
  Gateway?: string;
  IPRange?: string;
  AuxiliaryAddresses?: Record<string, string>;
}

/**
 * Checks one IPAM config of `network create` and completes it: picks a default pool when no
 * subnet is given and the first free address (of the IP range if any) as gateway when no
 * gateway is given. The subnet keeps the user's spelling ("172.20.1.0/16" stays so, as Docker
 * shows it; its network is 172.20.0.0/16, use canonicalCidr() for the kernel).
 *
 * Note: Docker 20.10's inspect omits Gateway when the user gave --subnet but no --gateway;
 * this record always carries it (the caller decides what inspect shows).
 */
export function validateIpamConfig(cfg: IpamInput, usedSubnets: string[], networkName = ''): IpamConfigRecord {
  const aux = cfg.AuxiliaryAddresses ?? {};
  let subnetStr = cfg.Subnet ?? '';
  if (!subnetStr) {
    if (cfg.Gateway || cfg.IPRange || Object.keys(aux).length > 0)
      throw badRequest(RANGE_WITHOUT_SUBNET);
    subnetStr = chooseSubnet(usedSubnets);
  }
  if (isIPv6Cidr(subnetStr))
    throw badRequest(`IPv6 subnets are not supported by berth yet: ${subnetStr}`);
  const subnet = tryParseSubnet(subnetStr);
  if (!subnet) throw badRequest(`Invalid subnet ${subnetStr} : invalid CIDR address: ${subnetStr}`);
  const reserved = reservedSubnet(subnetStr);
  if (reserved) throw badRequest(reserved);

  let range: Subnet | null = null;
  if (cfg.IPRange) {
    range = tryParseSubnet(cfg.IPRange);
    if (!range)
      throw badRequest(`failed to parse pool request for address space "LocalDefault" pool "${subnetStr}" subpool "${cfg.IPRange}": Invalid Address SubPool`);
    // Docker's daemon accepts a range outside the subnet and then hands out addresses the
    // bridge cannot route; its CLI refuses it with this message, and so does berth.
    if (range.network < subnet.network || range.broadcast > subnet.broadcast)
      throw badRequest(`no matching subnet for range ${cfg.IPRange}`);
  }

  let gw: number | null = null;
  if (cfg.Gateway) {
    gw = parseIPv4(cfg.Gateway);
    if (gw === null) throw badRequest(`invalid gateway address ${cfg.Gateway} in Ipam configuration`);
  }

  if (overlapsAny(subnetStr, usedSubnets)) throw forbidden(POOL_OVERLAP);

  const taken = new Set<number>();
  const isReservedEdge = (n: number) => n === subnet.network || n === subnet.broadcast;
  if (gw !== null) {
    if (gw < subnet.network || gw > subnet.broadcast)
      throw badRequest(`failed to allocate gateway (${cfg.Gateway}): Requested address is out of range`);
    if (isReservedEdge(gw)) throw badRequest(`failed to allocate gateway (${cfg.Gateway}): Address already in use`);
  } else {
    const b = allocationBounds(subnet, range);
    if (!b) throw badRequest('failed to allocate gateway (): No available addresses on this pool');
    gw = b[0];
  }
  taken.add(gw);

  for (const [name, value] of Object.entries(aux)) {
    const n = parseIPv4(value);
    if (n === null) throw badRequest(`non parsable secondary ip address (${name}:${value}) passed for network ${networkName}`);
    if (n < subnet.network || n > subnet.broadcast)
      throw forbidden(`auxiliary address: (${name}:${value}) must belong to the master pool: ${subnetStr}`);
    if (isReservedEdge(n) || taken.has(n))
      throw badRequest(`failed to allocate secondary ip address (${name}:${value}): Address already in use`);
    taken.add(n);
  }

  const rec: IpamConfigRecord = { Subnet: subnetStr, Gateway: ipToString(gw) };
  if (cfg.IPRange) rec.IPRange = cfg.IPRange;
  if (Object.keys(aux).length > 0) rec.AuxiliaryAddresses = { ...aux };
  return rec;
}
