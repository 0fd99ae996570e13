// Where each published port is carried: the kernel's NAT (berth's nft table, `inet berth`) for every
// binding it can translate, the port relay (src/relay/) for the IPv6 side of a container that
// has no IPv6 address (nftables cannot NAT IPv6 to IPv4) and for [::1]. The sandboxes speak only of
// published ports; this module decides which of the two carries each.
//
// Like the firewall, the relay's table is collected from the records at a daemon start
// (init() … sync()) while the relay left running keeps serving, then handed over whole: ports
// that stay are never closed, so their connections survive a restart of berthd.
import type { PortMapping } from '../types';
import type { Firewall } from '../firewall/firewall';
import { findRelay, obtainRelay, syncRelay } from '../../relay/client';
import { portKey, type RelayPort } from '../../relay/protocol';
import { Mutex } from '../../util/lock';
import { serverError } from '../../util/errors';

const isV6 = (ip: string) => ip.includes(':');

/**
 * The relay's entries for a mapping (one per port of a run): the IPv6 side of a container
 * without an IPv6 address (nftables cannot NAT IPv6 to IPv4), and [::1] whatever the container
 * has (the kernel never routes a packet from ::1 off the host, so NAT cannot carry it). The
 * rest is the kernel's (firewall/ruleset.ts portElements).
 */
export function relayPorts(m: PortMapping): RelayPort[] {
  if (!isV6(m.hostIp) || m.proto === 'sctp') return []; // (SCTP on IPv6 is refused before: sandbox.ts)
  const listen = isV6(m.containerIp) ? (m.hostIp === '::' || m.hostIp === '::1' ? '::1' : '') : m.hostIp;
  if (!listen) return [];
  const out: RelayPort[] = [];
  for (let i = 0; i < m.count; i++) {
    out.push({ proto: m.proto, hostIp: listen, hostPort: m.hostPort + i, targetIp: m.containerIp, targetPort: m.containerPort + i });
  }
  return out;
}

export class PortPublisher {
  private readonly relayed = new Map<string, RelayPort>();
  private starting = false;
  private readonly serial = new Mutex();

  /** `hostOnly` (berthd --ports-from): the relay carries only the host's own connections. */
  constructor(private readonly firewall: Firewall, private readonly relayDir: string,
              private readonly log: (msg: string) => void, private readonly hostOnly = false) {}

  /** Daemon start: collect what the records publish; the relay running keeps serving. */
  async init(): Promise<void> {
    await this.serial.run(async () => { this.starting = true; this.relayed.clear(); });
  }

  /** Daemon start done: the relay (if any is needed or running) gets the whole table. */
  async sync(): Promise<void> {
    await this.serial.run(async () => {
      this.starting = false;
      if (!this.relayed.size && !(await findRelay(this.relayDir))) return;
      await this.push();
    });
  }

  /** Publish mappings; all or nothing. `name` names the container in Docker's error. */
  async publish(ms: PortMapping[], name = ''): Promise<void> {
    // (the firewall takes from each mapping what the kernel can carry)
    await this.firewall.publish(ms);
    const rel = ms.flatMap(relayPorts);
    if (!rel.length) return;
    try {
      await this.serial.run(async () => {
        const added = rel.filter((p) => !this.relayed.has(portKey(p)));
        for (const p of added) this.relayed.set(portKey(p), p);
        if (this.starting) return;
        try {
          await this.push();
        } catch (e) {
          for (const p of added) this.relayed.delete(portKey(p));
          throw e;
        }
      });
    } catch (e) {
      await this.firewall.unpublish(ms).catch(() => undefined);
      // Docker's words for a port its proxy cannot bind.
      throw serverError(`driver failed programming external connectivity on endpoint ${name}: Error starting userland proxy: ${(e as Error).message}`);
    }
  }

  /** Taking away what is not there is fine. */
  async unpublish(ms: PortMapping[]): Promise<void> {
    await this.firewall.unpublish(ms);
    const rel = ms.flatMap(relayPorts);
    if (!rel.length) return;
    await this.serial.run(async () => {
      let changed = false;
      for (const p of rel) changed = this.relayed.delete(portKey(p)) || changed;
      if (changed && !this.starting) await this.push();
    });
  }

  private async push(): Promise<void> {
    await obtainRelay(this.relayDir, this.log);
    await syncRelay(this.relayDir, [...this.relayed.values()], this.hostOnly);
  }
}
