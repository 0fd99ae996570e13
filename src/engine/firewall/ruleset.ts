// berth's nftables tables, as text. Pure: the nft backend's table (table.ts) applies them.
//
// Two tables of the same shape, `ip berth` for IPv4 and `ip6 berth` for IPv6 (the same sets of
// bridges, the same maps keyed by the family's addresses, the same chains), so isolation,
// --internal, enable_icc=false, hairpin and published ports hold in both families. The IPv6
// table differs in three places: no route_localnet (the kernel never routes ::1 off the host,
// so [::1] published ports are carried by the port relay and the table leaves ::1 alone),
// masquerade only for networks that opt in (berthd --ip6-masquerade, as Docker's ip6tables
// option), and --ports-from (IPv4 CIDRs) lets no IPv6 source from outside reach a published
// port.
//
// In each table, Everything that grows with the number of networks or published ports
// is an element of a set or map, so the rules a packet walks never grow:
//   bridges   every berth bridge              samebr   "br"."br" pairs (br_netfilter-bridged traffic)
//   internal  bridges of --internal networks  masq     subnets whose traffic leaving is masqueraded
//   hairpin   "br" . subnet: a container reaching a published port of its own network (itself
//             included) through a host address is masqueraded, or the answer would skip the NAT
//   pub_port      proto . port → container address . container port: the common case (one
//                 port on every host address), an exact-match hash lookup whatever its size
//   pub_addr      host addr . proto . port(s) → container address (same port on both sides;
//                 a range like 5000-10000:5000-10000 is ONE interval element)
//   pub_addrport  host addr . proto . port    → container address . container port
// A host address of 0.0.0.0/0 means "every local address", 127.0.0.1 included: the output
// chain DNATs the host's own connections and route_localnet on the bridge lets them leave.
//
// What may reach a container (as Docker's FORWARD policy DROP and DOCKER chain allow):
// traffic from its own bridge, another bridge's traffic to a published port, replies to
// connections the container made, and outside traffic to a published port (DNATed here; a
// neighbour that routes a container subnet via this host reaches nothing directly). In
// nftables a drop in any base chain on a hook is final whatever the other chains say, so
// these drops hold next to any other firewall on the machine; berth's accepts only end
// berth's own chain.
//
// route_localnet lets the host's own 127.0.0.1 connections be DNATed out through a bridge; it
// would also let a container send packets to the host's 127.0.0.1 services (the class of
// CVE-2020-8558). The `localnet` chain drops every packet addressed to 127.0.0.0/8 that
// arrives on any interface but lo, before conntrack sees it (the host's own connections leave
// through the output hook and their answers arrive addressed to the gateway, not 127.0.0.1).
//
// The `user` chain is the user's (as Docker's DOCKER-USER): berth never writes a rule in it
// and keeps its rules when it replaces the table (see userParts). It is jumped to first for
// all forwarded traffic to or from a berth bridge, after the DNAT of published ports: there
// `tcp dport` is the container's port, `meta l4proto tcp ct original proto-dst` the published one, and
// `ct original ip daddr` the host address the client used.
import type { NetworkSpec, PortMapping } from '../types';
import { canonicalCidr } from '../../ipam';
import { tryParseSubnet } from '../../ipam/subnet';
import { canonicalCidr6 } from '../../ipam/subnet6';

const TABLE = 'ip berth';
const TABLE6 = 'ip6 berth';
export type Family = 'ip' | 'ip6';
export const tableOf = (fam: Family) => (fam === 'ip' ? TABLE : TABLE6);
/** The user's chain in berth's table: never flushed or rewritten by berth. */
const USER_CHAIN = 'user';

export interface TableOptions {
  /** berthd --ports-from: the only sources outside the bridges that may reach published ports (empty: any). */
  portsFrom?: string[];
  /** Which table: IPv4 (the default) or IPv6. */
  family?: Family;
}

/**
 * berthd --ports-from values, canonical ("10.1.2.3/8" -> "10.0.0.0/8", an address alone is
 * /32); a clear error names the first value that is not an IPv4 address or CIDR.
 */
export function parsePortsFrom(values: string[]): string[] {
  return values.map((v) => {
    const cidr = v.includes('/') ? v : `${v}/32`;
    if (!tryParseSubnet(cidr)) throw new Error(`invalid --ports-from ${JSON.stringify(v)}: expected an IPv4 address or CIDR such as 192.168.1.0/24`);
    return canonicalCidr(cidr);
  });
}

/**
 * What the user keeps in berth's table across berthd restarts and upgrades: the rules of the
 * `user` chain, and every set, map or chain whose name starts with "user" (sets a user rule
 * looks up, chains it jumps to). Anything else in the table is berth's and is rewritten.
 */
interface UserParts {
  /** Whole blocks as nft lists them ("set userallow { … }"), sets and maps first. */
  objects: string[];
  /** The user chain's rules, one a line, as nft lists them. */
  rules: string[];
}

export const NO_USER_PARTS: UserParts = { objects: [], rules: [] };

/** The user's parts of a `nft list table` listing of berth's table (none for no table). */
export function userParts(listing: string): UserParts {
  const objects: Array<{ kind: string; text: string }> = [];
  let rules: string[] = [];
  let block: { kind: string; name: string; lines: string[] } | null = null;
  for (const line of listing.split('\n')) {
    if (!block) {
      // A top-level block of the table: one tab, "<kind> <name> {" (kind: set, map, chain, …).
      const m = /^\t([a-z][a-z ]*) (\S+) \{$/.exec(line);
      if (m) block = { kind: m[1], name: m[2], lines: [line] };
      continue;
    }
    block.lines.push(line);
    if (line !== '\t}') continue;
    if (block.kind === 'chain' && block.name === USER_CHAIN) {
      rules = block.lines.slice(1, -1).map((l) => l.trim()).filter(Boolean);
    } else if (block.name.startsWith(USER_CHAIN)) {
      objects.push({ kind: block.kind, text: block.lines.join('\n') });
    }
    block = null;
  }
  // Sets and maps before the chains whose rules name them.
  objects.sort((a, b) => Number(a.kind === 'chain') - Number(b.kind === 'chain'));
  return { objects: objects.map((o) => o.text), rules };
}

export function baseRuleset(opts: TableOptions = {}, user: UserParts = NO_USER_PARTS): string {
  const fam = opts.family ?? 'ip';
  const v6 = fam === 'ip6';
  const addr = v6 ? 'ipv6_addr' : 'ipv4_addr';
  const kept = user.objects.map((o) => `${o}\n`).join('');
  const userRules = user.rules.map((r) => `    ${r}\n`).join('');
  // --ports-from lists IPv4 sources: in IPv6 no outside source may reach a published port.
  const from = !opts.portsFrom?.length ? ''
    : v6 ? '    oifname @bridges ct status dnat drop\n'
    : `    oifname @bridges ct status dnat ip saddr != { ${opts.portsFrom.join(', ')} } drop\n`;
  // The host's own connections to ::1 are the relay's (the kernel routes no ::1 packet out).
  const local = v6 ? 'fib daddr type local ip6 daddr != ::1' : 'fib daddr type local';
  return `table ${tableOf(fam)} {
  set bridges { type ifname; }
  set samebr { type ifname . ifname; }
  set internal { type ifname; }
  set masq { type ${addr}; flags interval; }
  set hairpin { type ifname . ${addr}; flags interval; }
  map pub_port { type inet_proto . inet_service : ${addr} . inet_service; }
  map pub_addr { type ${addr} . inet_proto . inet_service : ${addr}; flags interval; }
  map pub_addrport { type ${addr} . inet_proto . inet_service : ${addr} . inet_service; flags interval; }
${kept}  chain ${USER_CHAIN} {
${userRules}  }
  chain localnet {
    type filter hook prerouting priority raw; policy accept;
    iifname != "lo" ${v6 ? 'ip6 daddr ::1' : 'ip daddr 127.0.0.0/8'} drop
  }
  chain prerouting {
    type nat hook prerouting priority dstnat; policy accept;
    ${local} jump publish
  }
  chain output {
    type nat hook output priority -100; policy accept;
    ${local} jump publish
  }
  chain publish {
    meta l4proto { tcp, udp, sctp } dnat ${fam} to meta l4proto . th dport map @pub_port
    meta l4proto { tcp, udp, sctp } dnat ${fam} to ${fam} daddr . meta l4proto . th dport map @pub_addrport
    meta l4proto { tcp, udp, sctp } dnat ${fam} to ${fam} daddr . meta l4proto . th dport map @pub_addr
  }
  chain postrouting {
    type nat hook postrouting priority srcnat; policy accept;
${v6 ? '' : '    ip saddr 127.0.0.0/8 oifname @bridges masquerade\n'}    ct status dnat oifname . ${fam} saddr @hairpin masquerade
    oifname != @bridges ${fam} saddr @masq masquerade
  }
  chain forward {
    type filter hook forward priority filter; policy accept;
    iifname @bridges jump ${USER_CHAIN}
    iifname != @bridges oifname @bridges jump ${USER_CHAIN}
    iifname . oifname @samebr accept
    iifname @internal drop
    oifname @internal drop
    iifname @bridges oifname @bridges ct status dnat accept
    iifname @bridges oifname @bridges drop
    oifname @bridges ct state established,related accept
${from}    oifname @bridges ct status dnat accept
    oifname @bridges drop
  }
}
`;
}

export type SetElem = [set: string, elem: string];
export type MapElem = [map: string, key: string, value: string];

/**
 * The whole table with these elements, replacing any table of that name in the same
 * transaction: the kernel swaps the old table for the new one at once, so no packet ever sees
 * a missing or half-filled table, and connections already NATed keep their conntrack entries.
 */
export function replaceTableScript(sets: SetElem[] = [], maps: MapElem[] = [], opts: TableOptions = {},
  user: UserParts = NO_USER_PARTS): string {
  // "add" then "delete" so the delete cannot fail when the table does not exist yet.
  const t = tableOf(opts.family ?? 'ip');
  const elems = sets.length || maps.length ? addElementsScript(sets, maps, t) : '';
  return `add table ${t}\ndelete table ${t}\n${baseRuleset(opts, user)}${elems}`;
}

/** `nft list table` output, split into what defines the table and the elements of its sets and maps. */
interface TableListing {
  /** Everything but the elements: sets' and maps' types and flags, chains, rules. */
  skeleton: string;
  /** Elements as nft lists them (and accepts them back), by set or map name. */
  elements: Map<string, string[]>;
  maps: Set<string>;
}

/** Parse `nft list table …`; null for no table (empty output). */
export function parseTableListing(text: string): TableListing | null {
  if (!text.trim()) return null;
  const skeleton: string[] = [];
  const elements = new Map<string, string[]>();
  const maps = new Set<string>();
  let current = '';
  let pending: string | null = null;   // an elements block still open across lines
  const take = (body: string) => {
    const list = elements.get(current) ?? [];
    list.push(...body.split(',').map((e) => e.trim()).filter(Boolean));
    elements.set(current, list);
  };
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (pending !== null) {
      pending += ` ${line}`;
      if (line.endsWith('}')) { take(pending.slice(0, -1)); pending = null; }
      continue;
    }
    const head = /^(set|map) (\S+) \{$/.exec(line);
    if (head) {
      current = head[2];
      if (head[1] === 'map') maps.add(current);
      elements.set(current, []);
    }
    const el = /^elements = \{(.*)$/.exec(line);
    if (el) {
      if (el[1].endsWith('}')) take(el[1].slice(0, -1));
      else pending = el[1];
      continue;
    }
    if (line) skeleton.push(line);
  }
  return { skeleton: skeleton.join('\n'), elements, maps };
}

/**
 * One script that turns the table listed as `live` into the one listed as `want` by adding and
 * deleting elements only ('' when they hold the same); null when their sets, maps or rules
 * differ, so the table must be replaced whole (replaceTableScript).
 */
export function elementDiffScript(live: TableListing, want: TableListing, table = TABLE): string | null {
  if (live.skeleton !== want.skeleton) return null;
  const dels: string[] = [];
  const adds: string[] = [];
  for (const [name, wanted] of want.elements) {
    const have = new Set(live.elements.get(name) ?? []);
    const need = new Set(wanted);
    // A map element is deleted by its key (an element is listed as "key : value").
    const gone = [...have].filter((e) => !need.has(e)).map((e) => (want.maps.has(name) ? e.split(' : ')[0] : e));
    const added = wanted.filter((e) => !have.has(e));
    if (gone.length) dels.push(`delete element ${table} ${name} { ${gone.join(', ')} }`);
    if (added.length) adds.push(`add element ${table} ${name} { ${added.join(', ')} }`);
  }
  // Deletes first: a map key whose value changed is deleted and added again in one transaction.
  const lines = [...dels, ...adds];
  return lines.length ? lines.join('\n') + '\n' : '';
}

const q = (ifname: string) => JSON.stringify(ifname);

/** Set elements a network contributes to the table of one family. */
export function networkElements(net: NetworkSpec, fam: Family = 'ip'): SetElem[] {
  const out: SetElem[] = [
    ['bridges', q(net.bridgeName)],
    ['samebr', `${q(net.bridgeName)} . ${q(net.bridgeName)}`],
  ];
  const subnet = fam === 'ip' ? canonicalCidr(net.subnet) : net.subnet6 ? canonicalCidr6(net.subnet6) : '';
  if (subnet) out.push(['hairpin', `${q(net.bridgeName)} . ${subnet}`]);
  const masq = fam === 'ip' ? net.masquerade : net.masquerade && !!net.masquerade6;
  if (net.internal) out.push(['internal', q(net.bridgeName)]);
  else if (masq && subnet) out.push(['masq', subnet]);
  return out;
}

function hostKey(hostIp: string): string {
  if (!hostIp || hostIp === '0.0.0.0') return '0.0.0.0/0';
  return hostIp === '::' ? '::/0' : hostIp;
}

/**
 * Map elements one published mapping contributes to the table of its family: [map, key,
 * value]. None for what the kernel cannot carry (an IPv6 host address to an IPv4 container,
 * and ::1: the port relay's, see portmap/publisher.ts).
 */
export function portElements(m: PortMapping, fam: Family = 'ip'): MapElem[] {
  const v6host = m.hostIp.includes(':');
  if (v6host !== (fam === 'ip6')) return [];
  if (v6host && (!m.containerIp.includes(':') || m.hostIp === '::1')) return [];
  const h = hostKey(m.hostIp);
  if ((h === '0.0.0.0/0' || h === '::/0') && m.count === 1) {
    return [['pub_port', `${m.proto} . ${m.hostPort}`, `${m.containerIp} . ${m.containerPort}`]];
  }
  if (m.hostPort === m.containerPort) {
    const ports = m.count > 1 ? `${m.hostPort}-${m.hostPort + m.count - 1}` : `${m.hostPort}`;
    return [['pub_addr', `${h} . ${m.proto} . ${ports}`, m.containerIp]];
  }
  const out: MapElem[] = [];
  for (let i = 0; i < m.count; i++) {
    out.push(['pub_addrport', `${h} . ${m.proto} . ${m.hostPort + i}`, `${m.containerIp} . ${m.containerPort + i}`]);
  }
  return out;
}

export function addElementsScript(sets: SetElem[], maps: MapElem[], table = TABLE): string {
  return [
    ...sets.map(([s, e]) => `add element ${table} ${s} { ${e} }`),
    ...groupMaps(maps).map(([m, elems]) => `add element ${table} ${m} { ${elems.map(([k, v]) => `${k} : ${v}`).join(', ')} }`),
  ].join('\n') + '\n';
}

export function deleteElementsScript(sets: SetElem[], maps: MapElem[], table = TABLE): string {
  return [
    ...sets.map(([s, e]) => `delete element ${table} ${s} { ${e} }`),
    ...groupMaps(maps).map(([m, elems]) => `delete element ${table} ${m} { ${elems.map(([k]) => k).join(', ')} }`),
  ].join('\n') + '\n';
}

function groupMaps(maps: MapElem[]): Array<[string, Array<[string, string]>]> {
  const by = new Map<string, Array<[string, string]>>();
  for (const [m, k, v] of maps) {
    if (!by.has(m)) by.set(m, []);
    by.get(m)!.push([k, v]);
  }
  return [...by.entries()];
}
