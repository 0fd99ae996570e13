// Anti-spoofing on bridge networks: a container may send frames only with its own MAC, IPv4
// packets only from its own address, ARP only with its own MAC and address as sender, IPv6
// only from its own addresses, and neighbour discovery only about itself; so it can neither
// impersonate a neighbour nor poison the gateway's or a neighbour's ARP or neighbour cache.
// (Docker lets a container do all of it.)
//
// One table of its own, `bridge berth_guard`, apart from berth's `inet berth` table: the bridge
// family sees every frame a container's veth brings into its bridge (to the host or to another
// port), before any routing. Each endpoint is a few set elements keyed by its host-side veth
// (ifname . MAC, ifname . address); the rules never grow. A network created with
// `-o com.berth.network.allow_spoofing=true` gets no elements (NetworkSpec.allowSpoofing) (for
// a container that routes).
//
// IPv6. A container's own addresses are its address on a dual-stack network and its link-local
// address. berth gives the container's interface none (addrgenmode none, see
// drivers/endpoint.ts), but a container with NET_ADMIN can turn the kernel's on, and the
// kernel's is always fe80::/64 plus the MAC as an EUI-64: that one is allowed too, so a
// container on an IPv4-only network may send link-local IPv6 and nothing else. The unspecified
// address :: is allowed for what the kernel sends before it has an address: duplicate address
// detection (a neighbour solicitation whose target must be its own address), MLD reports and
// router solicitations. Neighbour solicitations and advertisements are held to more:
//   - no extension header before the ICMPv6 header (so its options are where they are looked
//     for, and RFC 6980's fragments are out),
//   - an advertisement's target is one of the container's own addresses,
//   - the only option is the link-layer address (source for a solicitation, target for an
//     advertisement) and it is the container's MAC, or a DAD nonce, or there is none (what
//     Linux sends); a message with other or more options is dropped.
// Router advertisements and redirects from a container are dropped: a container is not the
// network's router (one that is belongs on an allow_spoofing network).
// nft 1.0.6 names no ICMPv6 neighbour-discovery field, so the target (bytes 8–23 of the
// message) and the option (type and length at byte 24, the address at 26–31) are matched as
// raw transport-header bits against sets declared with `typeof` those bits: their elements are
// the addresses as integers ("veth…" . 0xfe80…, "veth…" . 0x0242ac110002).
//
// On a daemon start the table keeps serving as the last daemon left it while berthd reattaches
// its containers (recording what it re-adds); sync() then changes only the elements that differ,
// or swaps in the recorded table whole (an upgrade, a table damaged by hand), in one transaction.
import type { EndpointSpec } from '../types';
import { nftApply, nftList, nftRender } from '../../kernel/nft';
import { Mutex } from '../../util/lock';
import { canonicalIp6, linkLocalFromMac, parseIPv6 } from '../../ipam/subnet6';

const GUARD_TABLE = 'bridge berth_guard';

/** One guarded endpoint: its host-side veth, the MAC, IPv4 address and IPv6 addresses it may send from. */
interface GuardedPort { port: string; mac: string; ip: string; ip6: string[] }

/** What an endpoint may send as: its MAC, its IPv4 address, its IPv6 address (if any) and its MAC's link-local address. */
export function guardedPort(ep: EndpointSpec): GuardedPort {
  const global = ep.address6 ? [canonicalIp6(ep.address6) ?? ep.address6] : [];
  return { port: ep.hostIfname, mac: ep.mac.toLowerCase(), ip: ep.address, ip6: [...global, linkLocalFromMac(ep.mac)] };
}

/** An address as the integer a raw-bits set holds. */
const raw6 = (a: string) => `0x${(parseIPv6(a) ?? 0n).toString(16).padStart(32, '0')}`;
const rawMac = (mac: string) => `0x${mac.toLowerCase().split(':').join('')}`;

/** The guard's sets, by name: adds fill them in this order and guard the port last; deletes go the other way. */
const SETS = ['ports', 'port_mac', 'port_ip', 'port_ip6', 'nd_target', 'nd_lladdr'] as const;
type SetName = typeof SETS[number];

function elems(ps: GuardedPort[]): Record<SetName, string[]> {
  const q = (p: GuardedPort) => `"${p.port}"`;
  return {
    ports: ps.map(q),
    port_mac: ps.map((p) => `${q(p)} . ${p.mac.toLowerCase()}`),
    port_ip: ps.map((p) => `${q(p)} . ${p.ip}`),
    port_ip6: ps.flatMap((p) => p.ip6.map((a) => `${q(p)} . ${a}`)),
    nd_target: ps.flatMap((p) => p.ip6.map((a) => `${q(p)} . ${raw6(a)}`)),
    nd_lladdr: ps.map((p) => `${q(p)} . ${rawMac(p.mac)}`),
  };
}

const list = (xs: string[]) => `{ ${xs.join(', ')} }`;

/** The sets' declarations: the kernel's types, or the raw ICMPv6 bits their elements are matched with. */
const SET_TYPES: Record<SetName, string> = {
  ports: 'type ifname',
  port_mac: 'type ifname . ether_addr',
  port_ip: 'type ifname . ipv4_addr',
  port_ip6: 'type ifname . ipv6_addr',
  nd_target: 'typeof iifname . @th,64,128',
  nd_lladdr: 'typeof iifname . @th,208,48',
};

/** The whole table with `ports` as its elements; replaces any table of that name atomically. */
export function guardTableScript(ports: GuardedPort[]): string {
  const e = elems(ports);
  const sets = SETS.map((name) => `  set ${name} {
    ${SET_TYPES[name]};
${e[name].length ? `    elements = ${list(e[name])}\n` : ''}  }
`).join('');
  return `add table ${GUARD_TABLE}
delete table ${GUARD_TABLE}
table ${GUARD_TABLE} {
${sets}  chain prerouting {
    type filter hook prerouting priority -300; policy accept;
    iifname @ports jump check
  }
  chain check {
    iifname . ether saddr != @port_mac drop
    ether type ip iifname . ip saddr != @port_ip drop
    ether type arp iifname . arp saddr ether != @port_mac drop
    ether type arp iifname . arp saddr ip != @port_ip drop
    ether type ip6 jump check6
  }
  chain check6 {
    ip6 saddr != :: iifname . ip6 saddr != @port_ip6 drop
    ip6 saddr :: meta l4proto != ipv6-icmp drop
    ip6 saddr :: icmpv6 type != { nd-neighbor-solicit, nd-router-solicit, mld-listener-report, mld2-listener-report } drop
    icmpv6 type { nd-router-advert, nd-redirect } drop
    icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert } jump nd
  }
  chain nd {
    ip6 nexthdr != ipv6-icmp drop
    icmpv6 type nd-neighbor-advert iifname . @th,64,128 != @nd_target drop
    ip6 saddr :: iifname . @th,64,128 != @nd_target drop
    ip6 length 24 return
    ip6 length 32 @th,192,16 0x0e01 return
    ip6 length 32 @th,192,16 { 0x0101, 0x0201 } iifname . @th,208,48 @nd_lladdr return
    drop
  }
}
`;
}

export function addScript(ps: GuardedPort[]): string {
  const e = elems(ps);
  // The address sets first: a port is checked only once its addresses are there.
  return [...SETS].reverse().filter((n) => e[n].length)
    .map((n) => `add element ${GUARD_TABLE} ${n} ${list(e[n])}\n`).join('');
}

export function deleteScript(ps: GuardedPort[]): string {
  const e = elems(ps);
  return SETS.filter((n) => e[n].length).map((n) => `delete element ${GUARD_TABLE} ${n} ${list(e[n])}\n`).join('');
}

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
      if (cur && cur.mac === p.mac && cur.ip === p.ip && cur.ip6.join() === p.ip6.join()) return;
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
