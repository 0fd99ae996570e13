// Anti-spoofing on bridge networks: a container may send frames only with its own MAC, IPv4
// packets only from its own address, ARP only with its own MAC and address as sender, so it
// can neither impersonate a neighbour nor poison the gateway's or a neighbour's ARP cache.
// (Docker lets a container do all three.)
//
// One table of its own, `bridge berth_guard`, apart from berth's `ip berth` table: the bridge
// family sees every frame a container's veth brings into its bridge (to the host or to another
// port), before any routing. Each endpoint is two set elements keyed by its host-side veth
// (ifname . MAC, ifname . IPv4); the rules never grow. A network created with
// `-o com.berth.network.allow_spoofing=true` gets no elements (NetworkSpec.allowSpoofing) (for a container that routes).
//
// On a daemon start the table keeps serving as the last daemon left it while berthd reattaches
// its containers (recording what it re-adds); sync() then swaps in the recorded table whole, in
// one transaction.
import { nftApply, nftList, nftRender } from '../../kernel/nft';
import { Mutex } from '../../util/lock';

const GUARD_TABLE = 'bridge berth_guard';

/** One guarded endpoint: its host-side veth, the MAC and IPv4 address it may send from. */
interface GuardedPort { port: string; mac: string; ip: string }

function elems(ps: GuardedPort[]): { ports: string[]; macs: string[]; ips: string[] } {
  return {
    ports: ps.map((p) => `"${p.port}"`),
    macs: ps.map((p) => `"${p.port}" . ${p.mac.toLowerCase()}`),
    ips: ps.map((p) => `"${p.port}" . ${p.ip}`),
  };
}

const list = (xs: string[]) => `{ ${xs.join(', ')} }`;

/** The whole table with `ports` as its elements; replaces any table of that name atomically. */
export function guardTableScript(ports: GuardedPort[]): string {
  const e = elems(ports);
  const elements = (_name: string, xs: string[]) => (xs.length ? `    elements = ${list(xs)}\n` : '');
  return `add table ${GUARD_TABLE}
delete table ${GUARD_TABLE}
table ${GUARD_TABLE} {
  set ports {
    type ifname;
${elements('ports', e.ports)}  }
  set port_mac {
    type ifname . ether_addr;
${elements('port_mac', e.macs)}  }
  set port_ip {
    type ifname . ipv4_addr;
${elements('port_ip', e.ips)}  }
  chain prerouting {
    type filter hook prerouting priority -300; policy accept;
    iifname @ports jump check
  }
  chain check {
    iifname . ether saddr != @port_mac drop
    ether type ip iifname . ip saddr != @port_ip drop
    ether type arp iifname . arp saddr ether != @port_mac drop
    ether type arp iifname . arp saddr ip != @port_ip drop
  }
}
`;
}

export function addScript(ps: GuardedPort[]): string {
  if (!ps.length) return '';
  const e = elems(ps);
  // The address sets first: a port is checked only once its addresses are there.
  return `add element ${GUARD_TABLE} port_mac ${list(e.macs)}
add element ${GUARD_TABLE} port_ip ${list(e.ips)}
add element ${GUARD_TABLE} ports ${list(e.ports)}
`;
}

export function deleteScript(ps: GuardedPort[]): string {
  if (!ps.length) return '';
  const e = elems(ps);
  return `delete element ${GUARD_TABLE} ports ${list(e.ports)}
delete element ${GUARD_TABLE} port_mac ${list(e.macs)}
delete element ${GUARD_TABLE} port_ip ${list(e.ips)}
`;
}

const SETS = ['ports', 'port_mac', 'port_ip'] as const;

/** A kernel listing of the table: its rules and sets without elements, and each set's elements. */
export function parseGuardListing(listing: string): { skeleton: string; elements: Record<string, Set<string>> } | null {
  if (!listing.includes('table bridge berth_guard')) return null;
  const elements: Record<string, Set<string>> = {};
  for (const name of SETS) {
    const block = new RegExp(`set ${name} \\{([^}]*)\\}`).exec(listing)?.[1] ?? '';
    const el = /elements = \{([^}]*)/.exec(block)?.[1] ?? '';
    elements[name] = new Set(el.split(',').map((e) => e.trim().replace(/\s+/g, ' ')).filter(Boolean));
  }
  const skeleton = listing.replace(/elements = \{[^}]*\}/g, '').replace(/\s+/g, ' ').trim();
  return { skeleton, elements };
}

/** The element changes that turn `live` into `want` ('' for none); adds guard a port last, deletes unguard it first. */
export function guardDiffScript(live: Record<string, Set<string>>, want: Record<string, Set<string>>): string {
  const minus = (a: Set<string>, b: Set<string>) => [...a].filter((x) => !b.has(x));
  let out = '';
  for (const name of SETS) {
    const gone = minus(live[name], want[name]);
    if (gone.length) out += `delete element ${GUARD_TABLE} ${name} ${list(gone)}\n`;
  }
  for (const name of [...SETS].reverse()) {
    const added = minus(want[name], live[name]);
    if (added.length) out += `add element ${GUARD_TABLE} ${name} ${list(added)}\n`;
  }
  return out;
}

export class SpoofGuard {
  /** The table's endpoints by veth (while starting: what it is to hold). */
  private readonly ports = new Map<string, GuardedPort>();
  private starting = false;
  private readonly serial = new Mutex();

  /** Daemon start: leave the kernel's table serving; record what the daemon re-adds. */
  async init(): Promise<void> {
    await this.serial.run(async () => { this.starting = true; this.ports.clear(); });
  }

  /**
   * Daemon start is done: the kernel's table becomes what was recorded, in one transaction that
   * changes only the elements that differ (none, when berthd merely restarted), or replaces the
   * whole table when it is missing or its rules differ (an upgrade, a table damaged by hand).
   */
  async sync(): Promise<void> {
    await this.serial.run(async () => {
      if (!this.starting) return;
      const whole = guardTableScript([...this.ports.values()]);
      const live = parseGuardListing(await nftList(GUARD_TABLE));
      const want = live ? parseGuardListing(await nftRender(whole, GUARD_TABLE).catch(() => '')) : null;
      await nftApply(live && want && live.skeleton === want.skeleton ? guardDiffScript(live.elements, want.elements) : whole);
      this.starting = false;
    });
  }

  async add(p: GuardedPort): Promise<void> {
    await this.serial.run(async () => {
      const cur = this.ports.get(p.port);
      if (cur && cur.mac === p.mac && cur.ip === p.ip) return;
      if (!this.starting) await nftApply((cur ? deleteScript([cur]) : '') + addScript([p]));
      this.ports.set(p.port, p);
    });
  }

  async remove(port: string): Promise<void> {
    await this.serial.run(async () => {
      const cur = this.ports.get(port);
      if (!cur) return;
      if (!this.starting) await nftApply(deleteScript([cur]));
      this.ports.delete(port);
    });
  }
}
