// berth's nftables table, as text. Pure: the nft backend's table (table.ts) applies it.
//
// One table for both families, `inet berth`: one set of chains whose rules cover IPv4 and IPv6
// (isolation, --internal, enable_icc=false, hairpin and published ports hold in both), with a
// set or map per family where the key is an address (masq/masq6, hairpin/hairpin6, pub_*/
// pub_*6) and one where it is not (bridges, samebr, internal). IPv6 differs in three places:
// no route_localnet (the kernel never routes ::1 off the host, so [::1] published ports are
// carried by the port relay and the table leaves ::1 alone), masquerade only for networks that
// opt in (berthd --ip6-masquerade, as Docker's ip6tables option), and --ports-from (IPv4 CIDRs)
// lets no IPv6 source from outside reach a published port. (Berth before this wrote two tables
// of the same shape, `ip berth` and `ip6 berth`: see LEGACY_TABLES.)
//
// Everything that grows with the number of networks or published ports is an element of a set
// or map, so the rules a packet walks never grow:
//   bridges   every berth bridge              samebr   "br"."br" pairs (br_netfilter-bridged traffic)
//   internal  bridges of --internal networks  masq(6)  subnets whose traffic leaving is masqueraded
//   hairpin(6)  "br" . subnet: a container reaching a published port of its own network (itself
//             included) through a host address is masqueraded, or the answer would skip the NAT
//   pub_port(6)      proto . port → container address . container port: the common case (one
//                    port on every host address), an exact-match hash lookup whatever its size
//   pub_addr(6)      host addr . proto . port(s) → container address (same port on both sides;
//                    a range like 5000-10000:5000-10000 is ONE interval element)
//   pub_addrport(6)  host addr . proto . port    → container address . container port
// A host address of 0.0.0.0/0 (::/0) means "every local address", 127.0.0.1 included: the
// output chain DNATs the host's own connections and route_localnet on the bridge lets them
// leave. A packet for a local address goes to `publish` or `publish6` by one verdict-map
// lookup on its family, so each family walks only its own three map lookups.
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
// CVE-2020-8558). The `localnet` chain drops every packet addressed to 127.0.0.0/8 (or ::1)
// that arrives on any interface but lo, before conntrack sees it (the host's own connections
// leave through the output hook and their answers arrive addressed to the gateway, not
// 127.0.0.1).
//
// The `user` chain is the user's (as Docker's DOCKER-USER): berth never writes a rule in it
// and keeps its rules when it replaces the table (see userParts). It is jumped to first for
// all forwarded traffic to or from a berth bridge, of both families, after the DNAT of
// published ports: there `tcp dport` is the container's port, `meta l4proto tcp ct original
// proto-dst` the published one, and `ct original ip daddr` the host address the client used.
import type { NetworkSpec, PortMapping } from '../types';
import { canonicalCidr } from '../../ipam';
import { tryParseSubnet } from '../../ipam/subnet';
import { canonicalCidr6 } from '../../ipam/subnet6';

/** berth's table: both families. */
export const TABLE = 'inet berth';
/**
 * The tables berth wrote before `inet berth`, one per family. A berthd that finds them removes
 * them in the transaction that makes `inet berth` (never a moment without rules), and carries
 * the user's parts of them over (legacyUserParts).
 */
export const LEGACY_TABLES = ['ip berth', 'ip6 berth'] as const;
export type Family = 'ip' | 'ip6';
/** A set's or map's name in the family whose addresses it holds: masq, masq6. */
const inFamily = (name: string, fam: Family) => (fam === 'ip6' ? `${name}6` : name);
/** The user's chain in berth's table: never flushed or rewritten by berth. */
const USER_CHAIN = 'user';

export interface TableOptions {
  /** berthd --ports-from: the only sources outside the bridges that may reach published ports (empty: any). */
  portsFrom?: string[];
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
  const kept = user.objects.map((o) => `${o}\n`).join('');
  const userRules = user.rules.map((r) => `    ${r}\n`).join('');
  // --ports-from lists IPv4 sources: in IPv6 no outside source may reach a published port.
  const from = !opts.portsFrom?.length ? ''
    : `    oifname @bridges ct status dnat ip saddr != { ${opts.portsFrom.join(', ')} } drop\n`
    + '    oifname @bridges ct status dnat meta nfproto ipv6 drop\n';
  const maps = (fam: Family) => {
    const a = fam === 'ip6' ? 'ipv6_addr' : 'ipv4_addr';
    return `  map ${inFamily('pub_port', fam)} { type inet_proto . inet_service : ${a} . inet_service; }
  map ${inFamily('pub_addr', fam)} { type ${a} . inet_proto . inet_service : ${a}; flags interval; }
  map ${inFamily('pub_addrport', fam)} { type ${a} . inet_proto . inet_service : ${a} . inet_service; flags interval; }
`;
  };
  const publish = (fam: Family) => ['pub_port', 'pub_addrport', 'pub_addr'].map((m) => {
    const key = m === 'pub_port' ? 'meta l4proto . th dport' : `${fam} daddr . meta l4proto . th dport`;
    return `    meta l4proto { tcp, udp, sctp } dnat ${fam} to ${key} map @${inFamily(m, fam)}\n`;
  }).join('');
  // A packet for a local address: one lookup on its family picks the publish chain.
  const toPublish = 'fib daddr type local meta nfproto vmap { ipv4 : jump publish, ipv6 : jump publish6 }';
  return `table ${TABLE} {
  set bridges { type ifname; }
  set samebr { type ifname . ifname; }
  set internal { type ifname; }
  set masq { type ipv4_addr; flags interval; }
  set masq6 { type ipv6_addr; flags interval; }
  set hairpin { type ifname . ipv4_addr; flags interval; }
  set hairpin6 { type ifname . ipv6_addr; flags interval; }
${maps('ip')}${maps('ip6')}${kept}  chain ${USER_CHAIN} {
${userRules}  }
  chain localnet {
    type filter hook prerouting priority raw; policy accept;
    iifname != "lo" ip daddr 127.0.0.0/8 drop
    iifname != "lo" ip6 daddr ::1 drop
  }
  chain prerouting {
    type nat hook prerouting priority dstnat; policy accept;
    ${toPublish}
  }
  chain output {
    type nat hook output priority -100; policy accept;
    ${toPublish}
  }
  chain publish {
${publish('ip')}  }
  chain publish6 {
    ip6 daddr ::1 return
${publish('ip6')}  }
  chain postrouting {
    type nat hook postrouting priority srcnat; policy accept;
    ip saddr 127.0.0.0/8 oifname @bridges masquerade
    ct status dnat oifname . ip saddr @hairpin masquerade
    ct status dnat oifname . ip6 saddr @hairpin6 masquerade
    oifname != @bridges ip saddr @masq masquerade
    oifname != @bridges ip6 saddr @masq6 masquerade
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
  const elems = sets.length || maps.length ? addElementsScript(sets, maps) : '';
  return `add table ${TABLE}\ndelete table ${TABLE}\n${baseRuleset(opts, user)}${elems}`;
}

/** Removes these tables (that exist: an `nft list` showed them), for the end of a replaceTableScript transaction. */
export function dropTablesScript(tables: readonly string[]): string {
  return tables.map((t) => `delete table ${t}\n`).join('');
}

/**
 * The user's parts of the tables older berths wrote (`ip berth`, `ip6 berth`), for `inet
 * berth`. A rule of an old user chain saw only its own family: it is carried over behind a
 * match of that family (`meta nfproto ipv4 …`), so it means what it meant. Sets, maps and
 * chains named user… are carried as they are (an IPv4 set is as valid in an inet table); when
 * both old tables have one of the same name, the `ip berth` one is kept and the other is named
 * in `dropped`. (A base chain of the user's, named user… with a hook of its own, now sees both
 * families: its rules are the user's to narrow.)
 */
export function legacyUserParts(listings: Array<[Family, string]>): UserParts & { dropped: string[] } {
  const objects: string[] = [];
  const rules: string[] = [];
  const dropped: string[] = [];
  const names = new Set<string>();
  const nameOf = (o: string) => /^\t[a-z][a-z ]* (\S+) \{/.exec(o)?.[1] ?? o;
  for (const [fam, listing] of listings) {
    const u = userParts(listing);
    for (const o of u.objects) {
      if (names.has(nameOf(o))) { dropped.push(`${fam} berth ${nameOf(o)}`); continue; }
      names.add(nameOf(o));
      objects.push(o);
    }
    rules.push(...u.rules.map((r) => `meta nfproto ${fam === 'ip6' ? 'ipv6' : 'ipv4'} ${r}`));
  }
  objects.sort((a, b) => Number(/^\tchain /.test(a)) - Number(/^\tchain /.test(b)));
  return { objects, rules, dropped };
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
export function elementDiffScript(live: TableListing, want: TableListing): string | null {
  if (live.skeleton !== want.skeleton) return null;
  const dels: string[] = [];
  const adds: string[] = [];
  for (const [name, wanted] of want.elements) {
    const have = new Set(live.elements.get(name) ?? []);
    const need = new Set(wanted);
    // A map element is deleted by its key (an element is listed as "key : value").
    const gone = [...have].filter((e) => !need.has(e)).map((e) => (want.maps.has(name) ? e.split(' : ')[0] : e));
    const added = wanted.filter((e) => !have.has(e));
    if (gone.length) dels.push(`delete element ${TABLE} ${name} { ${gone.join(', ')} }`);
    if (added.length) adds.push(`add element ${TABLE} ${name} { ${added.join(', ')} }`);
  }
  // Deletes first: a map key whose value changed is deleted and added again in one transaction.
  const lines = [...dels, ...adds];
  return lines.length ? lines.join('\n') + '\n' : '';
}

const q = (ifname: string) => JSON.stringify(ifname);

/**
 * Set elements a network contributes to the table: its bridge in the family-free sets, its
 * subnet of each family it has in that family's hairpin and masq sets. IPv6 is masqueraded
 * only when berthd opts in (net.masquerade6).
 */
export function networkElements(net: NetworkSpec): SetElem[] {
  const br = q(net.bridgeName);
  const out: SetElem[] = [['bridges', br], ['samebr', `${br} . ${br}`]];
  const subnet = canonicalCidr(net.subnet);
  const subnet6 = net.subnet6 ? canonicalCidr6(net.subnet6) : '';
  out.push(['hairpin', `${br} . ${subnet}`]);
  if (subnet6) out.push(['hairpin6', `${br} . ${subnet6}`]);
  if (net.internal) out.push(['internal', br]);
  else if (net.masquerade) {
    out.push(['masq', subnet]);
    if (subnet6 && net.masquerade6) out.push(['masq6', subnet6]);
  }
  return out;
}

function hostKey(hostIp: string): string {
  if (!hostIp || hostIp === '0.0.0.0') return '0.0.0.0/0';
  return hostIp === '::' ? '::/0' : hostIp;
}

/**
 * Map elements one published mapping contributes to the table, in the maps of its host
 * address's family: [map, key, value]. None for what the kernel cannot carry (an IPv6 host
 * address to an IPv4 container, and ::1: the port relay's, see portmap/publisher.ts).
 */
export function portElements(m: PortMapping): MapElem[] {
  const fam: Family = m.hostIp.includes(':') ? 'ip6' : 'ip';
  if (fam === 'ip6' && (!m.containerIp.includes(':') || m.hostIp === '::1')) return [];
  const h = hostKey(m.hostIp);
  if ((h === '0.0.0.0/0' || h === '::/0') && m.count === 1) {
    return [[inFamily('pub_port', fam), `${m.proto} . ${m.hostPort}`, `${m.containerIp} . ${m.containerPort}`]];
  }
  if (m.hostPort === m.containerPort) {
    const ports = m.count > 1 ? `${m.hostPort}-${m.hostPort + m.count - 1}` : `${m.hostPort}`;
    return [[inFamily('pub_addr', fam), `${h} . ${m.proto} . ${ports}`, m.containerIp]];
  }
  const out: MapElem[] = [];
  for (let i = 0; i < m.count; i++) {
    out.push([inFamily('pub_addrport', fam), `${h} . ${m.proto} . ${m.hostPort + i}`, `${m.containerIp} . ${m.containerPort + i}`]);
  }
  return out;
}

export function addElementsScript(sets: SetElem[], maps: MapElem[]): string {
  return [
    ...sets.map(([s, e]) => `add element ${TABLE} ${s} { ${e} }`),
    ...groupMaps(maps).map(([m, elems]) => `add element ${TABLE} ${m} { ${elems.map(([k, v]) => `${k} : ${v}`).join(', ')} }`),
  ].join('\n') + '\n';
}

export function deleteElementsScript(sets: SetElem[], maps: MapElem[]): string {
  return [
    ...sets.map(([s, e]) => `delete element ${TABLE} ${s} { ${e} }`),
    ...groupMaps(maps).map(([m, elems]) => `delete element ${TABLE} ${m} { ${elems.map(([k]) => k).join(', ')} }`),
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
