// What every driver does on the container's side of an endpoint, as ip -batch lines run
// inside its namespace: loopback up, the addresses, the interface up. No IPv6 link-local
// address (addrgenmode none) and no DAD on the IPv6 address of a dual-stack network (nodad):
// a bridge port in hairpin mode echoes the container's own DAD probe back, which would mark
// the address a duplicate; berth's allocator already guarantees it is unique.
import type { EndpointSpec } from '../types';

export function containerSide(ep: EndpointSpec): string[] {
  return [
    'link set dev lo up',
    `addr add ${ep.address}/${ep.prefixLen} brd + dev ${ep.ifname}`,
    ...(ep.address6 ? [`addr add ${ep.address6}/${ep.prefixLen6} dev ${ep.ifname} nodad`] : []),
    `link set dev ${ep.ifname} addrgenmode none`,
    `link set dev ${ep.ifname} up`,
  ];
}

/** The default routes through the endpoint's gateways (IPv6 too on a dual-stack network; metric 1024 as Docker's). */
export function defaultRoutes(ep: EndpointSpec, onLink = false): string[] {
  if (onLink) {
    return [`route add default dev ${ep.ifname}`, ...(ep.address6 ? [`route add ::/0 dev ${ep.ifname}`] : [])];
  }
  return [
    `route add default via ${ep.gateway} dev ${ep.ifname}`,
    ...(ep.address6 && ep.gateway6 ? [`route add default via ${ep.gateway6} dev ${ep.ifname} metric 1024`] : []),
  ];
}
