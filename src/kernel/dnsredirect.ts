// Inside a container's network namespace: send 127.0.0.11:53 (Docker's embedded DNS address)
// to the resolver on a network gateway. The packets leave with source 127.0.0.1, so
// route_localnet lets them route and a masquerade gives them the container's own address,
// which is how the resolver knows who asks. One exec: a shell in the namespace sets the
// sysctl and feeds the ruleset to nft.
import { run } from './exec';

const TABLE = 'ip berth_dns';

export function dnsRedirectScript(gateway: string | null): string {
  const reset = `add table ${TABLE}\ndelete table ${TABLE}\n`;
  if (!gateway) return reset;
  return `${reset}table ${TABLE} {
  chain output {
    type nat hook output priority -100; policy accept;
    ip daddr 127.0.0.11 udp dport 53 dnat to ${gateway}:53
    ip daddr 127.0.0.11 tcp dport 53 dnat to ${gateway}:53
  }
  chain postrouting {
    type nat hook postrouting priority srcnat; policy accept;
    ip saddr 127.0.0.0/8 ip daddr ${gateway} masquerade
  }
}
`;
}

export async function setDnsRedirect(netnsPath: string, gateway: string | null): Promise<void> {
  await run('nsenter', [`--net=${netnsPath}`, 'sh', '-c',
    'echo 1 > /proc/sys/net/ipv4/conf/all/route_localnet && exec nft -f -'], { input: dnsRedirectScript(gateway) });
}
