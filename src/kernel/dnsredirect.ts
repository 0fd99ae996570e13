// Inside a container's network namespace: Docker's embedded DNS address 127.0.0.11:53 is
// served by berthd's sockets on 127.0.0.11 at kernel-chosen ports (kernel/nsbind.ts), so a
// program in the container can still bind port 53 itself. Stateless rules on loopback turn
// port 53 into the socket's port on the way in and back on the way out; the packets skip
// conntrack (notrack), which keeps each query to one trip through lo and nothing else.
import { run } from './exec';

const TABLE = 'ip berth_dns';

interface DnsPorts { udp: number; tcp: number }

export function dnsRedirectScript(ports: DnsPorts | null): string {
  const reset = `add table ${TABLE}\ndelete table ${TABLE}\n`;
  if (!ports) return reset;
  // priority raw: before conntrack, so notrack applies to this very packet.
  return `${reset}table ${TABLE} {
  chain output {
    type filter hook output priority raw; policy accept;
    ip daddr 127.0.0.11 udp dport 53 notrack udp dport set ${ports.udp}
    ip saddr 127.0.0.11 udp sport ${ports.udp} notrack udp sport set 53
    ip daddr 127.0.0.11 tcp dport 53 notrack tcp dport set ${ports.tcp}
    ip saddr 127.0.0.11 tcp sport ${ports.tcp} notrack tcp sport set 53
  }
}
`;
}

export async function setDnsRedirect(netnsPath: string, ports: DnsPorts | null): Promise<void> {
  await run('nsenter', [`--net=${netnsPath}`, 'nft', '-f', '-'], { input: dnsRedirectScript(ports) });
}
