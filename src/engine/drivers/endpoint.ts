// What every driver does on the container's side of an endpoint, as ip -batch lines run
// inside its namespace: loopback up, the address, the interface up. IPv4-only networks: no
// IPv6 link-local address, so no DAD to trip over hairpin echoes.
import type { EndpointSpec } from '../types';

export function containerSide(ep: EndpointSpec): string[] {
  return [
    'link set dev lo up',
    `addr add ${ep.address}/${ep.prefixLen} brd + dev ${ep.ifname}`,
    `link set dev ${ep.ifname} addrgenmode none`,
    `link set dev ${ep.ifname} up`,
  ];
}
