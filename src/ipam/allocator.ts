// Address allocation inside one network. Docker hands out the first free address (of the IP
// range if the network has one), never the network, broadcast, gateway or auxiliary
// addresses. A Set of used addresses plus a cursor below which everything in the range is
// taken keeps allocation O(1) amortized even for a /16 full of containers.
import { ApiError, badRequest, forbidden } from '../util/errors';
import { IpamConfigRecord } from './config';
import { allocationBounds } from './pools';
import { Subnet, ipToString, parseIPv4, parseSubnet, tryParseSubnet } from './subnet';

export { macFromIp } from './subnet';

export const ADDRESS_IN_USE = 'Address already in use';

export class Allocator {
  readonly subnet: Subnet;
  readonly gateway: number;
  private readonly bounds: [number, number] | null;
  private readonly fixed = new Set<number>();   // gateway and auxiliary addresses
  private readonly used = new Set<number>();    // handed out or reserved
  private cursor: number;                       // every address of bounds below it is taken

  /** `net` names the network in the "no available addresses" error, as Docker does. */
  constructor(cfg: IpamConfigRecord, private readonly net: { name: string; id: string } = { name: '', id: '' }) {
    this.subnet = parseSubnet(cfg.Subnet);
    const range = cfg.IPRange ? tryParseSubnet(cfg.IPRange) : null;
    this.bounds = allocationBounds(this.subnet, range);
    const gw = parseIPv4(cfg.Gateway);
    if (gw === null) throw new Error(`invalid gateway address ${cfg.Gateway}`);
    this.gateway = gw;
    this.fixed.add(gw);
    for (const a of Object.values(cfg.AuxiliaryAddresses ?? {})) {
      const n = parseIPv4(a);
      if (n !== null) this.fixed.add(n);
    }
    this.cursor = this.bounds ? this.bounds[0] : 0;
  }

  private parse(ip: string): number {
    const n = parseIPv4(ip);
    if (n === null) throw badRequest(`invalid IPv4 address: ${ip}`);
    if (n < this.subnet.network || n > this.subnet.broadcast)
      throw badRequest(`no configured subnet or ip-range contain the IP address ${ip}`);
    return n;
  }

  private taken(n: number): boolean {
    return n === this.subnet.network || n === this.subnet.broadcast || this.fixed.has(n) || this.used.has(n);
  }

  /**
   * The first free address, or `preferred` (Docker's --ip / IPAMConfig.IPv4Address), which may
   * lie anywhere in the subnet, inside the IP range or not.
   */
  allocate(preferred?: string): string {
    if (preferred) {
      const n = this.parse(preferred);
      if (this.taken(n)) throw forbidden(ADDRESS_IN_USE);
      this.used.add(n);
      return ipToString(n);
    }
    if (this.bounds) {
      const [, hi] = this.bounds;
      while (this.cursor <= hi && this.taken(this.cursor)) this.cursor++;
      if (this.cursor <= hi) {
        const n = this.cursor++;
        this.used.add(n);
        return ipToString(n);
      }
    }
    throw new ApiError(403, `no available IPv4 addresses on this network's address pools: ${this.net.name} (${this.net.id})`);
  }

  /**
   * Checks a requested address (--ip) without taking it: valid IPv4 and inside the subnet.
   * Whether it is free is only known when the container starts, as with Docker.
   */
  check(ip: string): void {
    this.parse(ip);
  }

  /**
   * Marks an address as taken without the in-use check (restoring recorded state after a
   * restart); idempotent. The address must still belong to the subnet.
   */
  reserve(ip: string): void {
    this.used.add(this.parse(ip));
  }

  release(ip: string): void {
    const n = parseIPv4(ip);
    if (n === null || !this.used.delete(n)) return;
    if (this.bounds && n >= this.bounds[0] && n < this.cursor) this.cursor = n;
  }

  /** True when the address cannot be handed out: network, broadcast, gateway, aux or used. */
  inUse(ip: string): boolean {
    const n = parseIPv4(ip);
    return n !== null && this.taken(n);
  }

  /** Addresses handed out or reserved (not counting gateway and auxiliary addresses). */
  get usedCount(): number {
    return this.used.size;
  }
}
