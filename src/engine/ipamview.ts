// A network's IPAM entries by family: IPv4 first (every network has one), then the IPv6 one of
// a dual-stack network. Pure.
import type { IpamConfigRecord, NetworkRecord } from './types';
import { allocationBounds6, ip6ToString, isIPv6Cidr, tryParseSubnet6 } from '../ipam';

export function v4Config(n: NetworkRecord): IpamConfigRecord | undefined {
  return n.IPAM.Config.find((c) => !isIPv6Cidr(c.Subnet));
}

export function v6Config(n: NetworkRecord): IpamConfigRecord | undefined {
  return n.IPAM.Config.find((c) => isIPv6Cidr(c.Subnet));
}

/** The IPv6 gateway: the one asked for, else the subnet's first usable address (as Docker). */
export function gateway6Of(c: IpamConfigRecord): string {
  if (c.Gateway) return c.Gateway;
  const s = tryParseSubnet6(c.Subnet);
  const b = s ? allocationBounds6(s, c.IPRange ? tryParseSubnet6(c.IPRange) : null) : null;
  return b ? ip6ToString(b[0]) : '';
}

/** IPAM.Config as Docker shows it: no Gateway key where none was given (IPv6 without --gateway). */
export function ipamConfigJson(cfgs: IpamConfigRecord[]): Array<Record<string, unknown>> {
  return cfgs.map((c) => {
    const { Subnet, Gateway, ...rest } = c;
    return Gateway ? { Subnet, Gateway, ...rest } : { Subnet, ...rest };
  });
}
