// IPv6 address allocation inside one network, as allocator.ts does it for IPv4: the first free
// address (of the IP range if the network has one), never the subnet's first address (the
// subnet-router anycast address, which Docker does not hand out either), the gateway or an
// auxiliary address. A /64 has 2^64 addresses, so "used" is a Set of the addresses handed out
// plus a cursor below which everything is taken, never a bitmap.
import { ApiError, badRequest, forbidden } from '../util/errors';
import { IpamConfigRecord } from './config';
import { ADDRESS_IN_USE } from './allocator';
import { Subnet6, contains6, ip6ToString, parseIPv6, tryParseSubnet6 } from './subnet6';

export class Allocator6 {
  readonly subnet: Subnet6;
  readonly gateway: bigint;
  private readonly bounds: [bigint, bigint] | null;
  private readonly fixed = new Set<bigint>();
  private readonly used = new Set<bigint>();
  private cursor: bigint;

  constructor(cfg: IpamConfigRecord, private readonly net: { name: string; id: string } = { name: '', id: '' }) {
    const s = tryParseSubnet6(cfg.Subnet);
    if (!s) throw new Error(`invalid CIDR address: ${cfg.Subnet}`);
    this.subnet = s;
    const range = cfg.IPRange ? tryParseSubnet6(cfg.IPRange) : null;
    this.bounds = allocationBounds6(s, range);
    const gw = parseIPv6(cfg.Gateway);
    if (gw === null) throw new Error(`invalid gateway address ${cfg.Gateway}`);
    this.gateway = gw;
    this.fixed.add(gw);
    for (const a of Object.values(cfg.AuxiliaryAddresses ?? {})) {
      const n = parseIPv6(a);
      if (n !== null) this.fixed.add(n);
    }
    this.cursor = this.bounds ? this.bounds[0] : 0n;
  }

  private parse(ip: string): bigint {
    const n = parseIPv6(ip);
    if (n === null) throw badRequest(`invalid IPv6 address: ${ip}`);
    if (!contains6(this.subnet, n)) throw badRequest(`Invalid address ${ip}: It does not belong to any of this network's subnets`);
    return n;
  }

  private taken(n: bigint): boolean {
    return n === this.subnet.network || this.fixed.has(n) || this.used.has(n);
  }

  /** The first free address, or `preferred` (--ip6), which may lie anywhere in the subnet. */
  allocate(preferred?: string): string {
    if (preferred) {
      const n = this.parse(preferred);
      if (this.taken(n)) throw forbidden(ADDRESS_IN_USE);
      this.used.add(n);
      return ip6ToString(n);
    }
    if (this.bounds) {
      const [, hi] = this.bounds;
      while (this.cursor <= hi && this.taken(this.cursor)) this.cursor++;
      if (this.cursor <= hi) {
        const n = this.cursor++;
        this.used.add(n);
        return ip6ToString(n);
      }
    }
    throw new ApiError(403, `no available IPv6 addresses on this network's address pools: ${this.net.name} (${this.net.id})`);
  }

  /** Checks a requested address (--ip6) without taking it. */
  check(ip: string): void {
    this.parse(ip);
  }

  /** Marks an address as taken (restoring recorded state); idempotent. */
  reserve(ip: string): void {
    this.used.add(this.parse(ip));
  }

  release(ip: string): void {
    const n = parseIPv6(ip);
    if (n === null || !this.used.delete(n)) return;
    if (this.bounds && n >= this.bounds[0] && n < this.cursor) this.cursor = n;
  }

  /** Whether the address lies in this network's subnet (one of another family or network does not). */
  inSubnet(ip: string): boolean {
    const n = parseIPv6(ip);
    return n !== null && contains6(this.subnet, n);
  }

  inUse(ip: string): boolean {
    const n = parseIPv6(ip);
    return n !== null && this.taken(n);
  }

  get usedCount(): number {
    return this.used.size;
  }
}

/**
 * The addresses a v6 subnet hands out: all but its first (subnet-router anycast), clipped to
 * the IP range when there is one; null when that leaves nothing.
 */
export function allocationBounds6(subnet: Subnet6, ipRange?: Subnet6 | null): [bigint, bigint] | null {
  let lo = subnet.network + 1n;
  let hi = subnet.last;
  if (ipRange) {
    if (ipRange.network > lo) lo = ipRange.network;
    if (ipRange.last < hi) hi = ipRange.last;
  }
  return lo <= hi ? [lo, hi] : null;
}
