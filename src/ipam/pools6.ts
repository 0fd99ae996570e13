// Validation of a network's IPv6 IPAM configuration, with Docker 20.10's messages (see
// pools.ts for IPv4). Docker has no default IPv6 pool: `--ipv6` needs a --subnet.
import { ApiError, badRequest, forbidden } from '../util/errors';
import { IpamConfigRecord } from './config';
import { IpamInput, POOL_OVERLAP } from './pools';
import { allocationBounds6 } from './allocator6';
import { Subnet6, contains6, ip6ToString, overlaps6, parseIPv6, tryParseSubnet6 } from './subnet6';

export const POOLS_EXHAUSTED_V6 =
  'could not find an available, non-overlapping IPv6 address pool among the defaults to assign to the network';

/**
 * Blocks no network may use (Docker accepts some and then fails in the kernel, or worse):
 * the unspecified and loopback addresses, link-local (every interface has its own fe80::/64
 * already), multicast, and IPv4-mapped addresses.
 */
const RESERVED_V6: ReadonlyArray<{ cidr: string; what: string }> = [
  { cidr: '::/127', what: 'unspecified and loopback (::/127)' },
  { cidr: '::ffff:0:0/96', what: 'IPv4-mapped (::ffff:0:0/96)' },
  { cidr: 'fe80::/10', what: 'link-local (fe80::/10)' },
  { cidr: 'ff00::/8', what: 'multicast (ff00::/8)' },
];

export function reservedSubnet6(cidr: string): string | null {
  const s = tryParseSubnet6(cidr);
  if (!s) return null;
  const hit = RESERVED_V6.find((b) => overlaps6(s, tryParseSubnet6(b.cidr)!));
  return hit ? `invalid subnet ${cidr}: it overlaps the ${hit.what} addresses, which cannot be a network's` : null;
}

/** Checks one IPv6 IPAM config of `network create` and completes its gateway (the first usable address). */
export function validateIpamConfig6(cfg: IpamInput, usedSubnets: string[], networkName = ''): IpamConfigRecord {
  const aux = cfg.AuxiliaryAddresses ?? {};
  const subnetStr = cfg.Subnet ?? '';
  if (!subnetStr) throw new ApiError(400, POOLS_EXHAUSTED_V6);
  const subnet = tryParseSubnet6(subnetStr);
  if (!subnet) throw badRequest(`Invalid subnet ${subnetStr} : invalid CIDR address: ${subnetStr}`);
  const reserved = reservedSubnet6(subnetStr);
  if (reserved) throw badRequest(reserved);

  let range: Subnet6 | null = null;
  if (cfg.IPRange) {
    range = tryParseSubnet6(cfg.IPRange);
    if (!range)
      throw badRequest(`failed to parse pool request for address space "LocalDefault" pool "${subnetStr}" subpool "${cfg.IPRange}": Invalid Address SubPool`);
    if (range.network < subnet.network || range.last > subnet.last)
      throw badRequest(`no matching subnet for range ${cfg.IPRange}`);
  }

  let gw: bigint | null = null;
  if (cfg.Gateway) {
    gw = parseIPv6(cfg.Gateway);
    if (gw === null) throw badRequest(`invalid gateway address ${cfg.Gateway} in Ipam configuration`);
  }

  const used = usedSubnets.map(tryParseSubnet6).filter((u): u is Subnet6 => u !== null);
  if (used.some((u) => overlaps6(subnet, u))) throw forbidden(POOL_OVERLAP);

  const taken = new Set<bigint>();
  if (gw !== null) {
    if (!contains6(subnet, gw))
      throw badRequest(`failed to allocate gateway (${cfg.Gateway}): Requested address is out of range`);
    if (gw === subnet.network) throw badRequest(`failed to allocate gateway (${cfg.Gateway}): Address already in use`);
  } else {
    const b = allocationBounds6(subnet, range);
    if (!b) throw badRequest('failed to allocate gateway (): No available addresses on this pool');
    gw = b[0];
  }
  taken.add(gw);

  for (const [name, value] of Object.entries(aux)) {
    const n = parseIPv6(value);
    if (n === null) throw badRequest(`non parsable secondary ip address (${name}:${value}) passed for network ${networkName}`);
    if (!contains6(subnet, n))
      throw forbidden(`auxiliary address: (${name}:${value}) must belong to the master pool: ${subnetStr}`);
    if (n === subnet.network || taken.has(n))
      throw badRequest(`failed to allocate secondary ip address (${name}:${value}): Address already in use`);
    taken.add(n);
  }

  const rec: IpamConfigRecord = { Subnet: subnetStr, Gateway: ip6ToString(gw) };
  if (cfg.IPRange) rec.IPRange = cfg.IPRange;
  if (Object.keys(aux).length > 0) rec.AuxiliaryAddresses = { ...aux };
  return rec;
}
