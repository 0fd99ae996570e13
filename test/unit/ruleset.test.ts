// berth's nft table as text: the base ruleset, what a network and a published port add, and
// the add/delete scripts (nft itself checks the syntax in the e2e tests), and what a daemon start
// applies: the whole table in one transaction, or only the elements that differ from the
// kernel's listing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  addElementsScript, baseRuleset, deleteElementsScript, dropTablesScript, elementDiffScript, legacyUserParts, networkElements,
  parseTableListing, parsePortsFrom, portElements, replaceTableScript, userParts,
} from '../../src/engine/firewall/ruleset';
import type { NetworkSpec, PortMapping } from '../../src/engine/types';

const net: NetworkSpec = {
  id: 'a'.repeat(64), name: 'n1', bridgeName: 'br-aaaaaaaaaaaa', subnet: '10.5.0.0/16', gateway: '10.5.0.1',
  internal: false, icc: true, masquerade: true, mtu: 1500,
};
const port = (o: Partial<PortMapping>): PortMapping => ({
  proto: 'tcp', hostIp: '0.0.0.0', hostPort: 8080, containerIp: '10.5.0.2', containerPort: 80, count: 1, bridgeName: 'br-aaaaaaaaaaaa', ...o,
});

test('the base table: one table for both families, maps for ports, fixed rules', () => {
  const t = baseRuleset();
  assert.match(t, /^table inet berth \{/);
  assert.equal(t.match(/^table /gm)!.length, 1);
  for (const m of ['pub_port', 'pub_addr', 'pub_addrport']) {
    assert.match(t, new RegExp(`map ${m} \\{ [^}]*ipv4_addr`));
    assert.match(t, new RegExp(`map ${m}6 \\{ [^}]*ipv6_addr`));
  }
  // one verdict-map lookup on the family: each family walks only its own publish chain
  assert.match(t, /chain prerouting \{\n[^}]*fib daddr type local meta nfproto vmap \{ ipv4 : jump publish, ipv6 : jump publish6 \}\n  \}/);
  assert.match(t, /chain output \{\n[^}]*fib daddr type local meta nfproto vmap \{ ipv4 : jump publish, ipv6 : jump publish6 \}\n  \}/);
  assert.match(t, /ip saddr 127\.0\.0\.0\/8 oifname @bridges masquerade/);
  assert.match(t, /iifname @bridges oifname @bridges drop/);
});

test('the forward chain: the user chain first, then only what Docker lets reach a container', () => {
  const fwd = /chain forward \{\n([^}]*)\}/.exec(baseRuleset())![1].trim().split('\n').map((l) => l.trim());
  assert.deepEqual(fwd, [
    'type filter hook forward priority filter; policy accept;',
    // every forwarded packet to or from a bridge meets the user's rules once, before any accept
    'iifname @bridges jump user',
    'iifname != @bridges oifname @bridges jump user',
    'iifname . oifname @samebr accept',
    'iifname @internal drop',
    'oifname @internal drop',
    'iifname @bridges oifname @bridges ct status dnat accept',
    'iifname @bridges oifname @bridges drop',
    // from outside: replies, and published ports (DNATed here); nothing else
    'oifname @bridges ct state established,related accept',
    'oifname @bridges ct status dnat accept',
    'oifname @bridges drop',
  ]);
  assert.match(baseRuleset(), /chain user \{\n  \}/, 'berth writes no rule in the user chain');
});

test('packets to 127.0.0.0/8 that arrive off loopback are dropped before conntrack', () => {
  assert.match(baseRuleset(), /chain localnet \{\n    type filter hook prerouting priority raw; policy accept;\n    iifname != "lo" ip daddr 127\.0\.0\.0\/8 drop\n    iifname != "lo" ip6 daddr ::1 drop\n  \}/);
});

test('--ports-from: outside sources not listed cannot reach published ports; values checked and made canonical', () => {
  const t = baseRuleset({ portsFrom: ['10.0.0.0/8', '192.0.2.7/32'] });
  // (IPv4 sources: in IPv6 no outside source may reach a published port)
  assert.match(t, /oifname @bridges ct state established,related accept\n    oifname @bridges ct status dnat ip saddr != \{ 10\.0\.0\.0\/8, 192\.0\.2\.7\/32 \} drop\n    oifname @bridges ct status dnat meta nfproto ipv6 drop\n    oifname @bridges ct status dnat accept/);
  assert.doesNotMatch(baseRuleset({ portsFrom: [] }), /saddr !=/);
  assert.deepEqual(parsePortsFrom(['10.1.2.3/8', '192.0.2.7']), ['10.0.0.0/8', '192.0.2.7/32']);
  for (const bad of ['10.0.0.300/8', 'fd00::/64', 'example.com', '10.0.0.0/33', '']) {
    assert.throws(() => parsePortsFrom([bad]), new RegExp(`invalid --ports-from ${JSON.stringify(JSON.stringify(bad)).slice(1, -1).replace(/[./]/g, '\\$&')}: expected an IPv4 address or CIDR`));
  }
});

test('a network adds set elements: bridge, same-bridge pair, hairpin, masquerade or internal', () => {
  assert.deepEqual(networkElements(net), [
    ['bridges', '"br-aaaaaaaaaaaa"'],
    ['samebr', '"br-aaaaaaaaaaaa" . "br-aaaaaaaaaaaa"'],
    ['hairpin', '"br-aaaaaaaaaaaa" . 10.5.0.0/16'],
    ['masq', '10.5.0.0/16'],
  ]);
  const internal = networkElements({ ...net, internal: true });
  assert.ok(internal.some(([s]) => s === 'internal') && !internal.some(([s]) => s === 'masq'));
  assert.ok(!networkElements({ ...net, masquerade: false }).some(([s]) => s === 'masq'));
  assert.deepEqual(networkElements({ ...net, subnet: '10.5.3.7/16' })[3], ['masq', '10.5.0.0/16'], 'canonical subnet');
});

test('published ports: one hash element per port, a same-number range is one interval element', () => {
  assert.deepEqual(portElements(port({})), [['pub_port', 'tcp . 8080', '10.5.0.2 . 80']]);
  assert.deepEqual(portElements(port({ hostIp: '127.0.0.1', hostPort: 9090 })), [['pub_addrport', '127.0.0.1 . tcp . 9090', '10.5.0.2 . 80']]);
  assert.deepEqual(portElements(port({ hostIp: '10.9.0.1', hostPort: 80 })), [['pub_addr', '10.9.0.1 . tcp . 80', '10.5.0.2']]);
  assert.deepEqual(portElements(port({ proto: 'udp', hostPort: 5000, containerPort: 5000, count: 5001 })),
    [['pub_addr', '0.0.0.0/0 . udp . 5000-10000', '10.5.0.2']]);
  assert.equal(portElements(port({ hostPort: 8000, containerPort: 80, count: 3 })).length, 3, 'shifted ranges: one element per port');
  assert.deepEqual(portElements(port({ hostIp: '::' })), [], 'IPv6 to an IPv4-only container: the relay\'s');
});

test('add and delete scripts group map elements per map', () => {
  const maps = [...portElements(port({})), ...portElements(port({ hostPort: 8081 }))];
  const add = addElementsScript([['bridges', '"br0"']], maps);
  assert.equal(add, 'add element inet berth bridges { "br0" }\nadd element inet berth pub_port { tcp . 8080 : 10.5.0.2 . 80, tcp . 8081 : 10.5.0.2 . 80 }\n');
  assert.equal(deleteElementsScript([], maps), 'delete element inet berth pub_port { tcp . 8080, tcp . 8081 }\n');
});

test('the whole table with its elements replaces any old one in one script', () => {
  const empty = replaceTableScript();
  assert.ok(empty.startsWith('add table inet berth\ndelete table inet berth\ntable inet berth {'));
  assert.equal(empty, `add table inet berth\ndelete table inet berth\n${baseRuleset()}`);
  const full = replaceTableScript(networkElements(net), portElements(port({})));
  assert.equal(full, empty + addElementsScript(networkElements(net), portElements(port({}))));
  // One script: nothing between the delete and the new table's elements is applied apart.
  assert.equal(full.match(/delete table/g)!.length, 1);
});

/** What nft 1.0.6 lists for a table like berth's (elements wrap across lines). */
const LISTING = `table inet berth {
\tset bridges {
\t\ttype ifname
\t\telements = { "berth0",
\t\t\t     "br-aaaa" }
\t}

\tset internal {
\t\ttype ifname
\t}

\tset masq {
\t\ttype ipv4_addr
\t\tflags interval
\t\telements = { 10.5.0.0/16, 172.17.0.0/16 }
\t}

\tmap pub_port {
\t\ttype inet_proto . inet_service : ipv4_addr . inet_service
\t\telements = { tcp . 8080 : 10.5.0.2 . 80,
\t\t\t     tcp . 8081 : 10.5.0.2 . 80 }
\t}

\tmap pub_addr {
\t\ttype ipv4_addr . inet_proto . inet_service : ipv4_addr
\t\tflags interval
\t\telements = { 0.0.0.0/0 . udp . 5400-5401 : 10.5.0.2 }
\t}

\tchain publish {
\t\tmeta l4proto { tcp, udp, sctp } dnat ip to meta l4proto . th dport map @pub_port
\t}
}
`;

test('a table listing: its skeleton apart from its elements, elements one by one', () => {
  assert.equal(parseTableListing(''), null, 'no table');
  const t = parseTableListing(LISTING)!;
  assert.deepEqual(Object.fromEntries(t.elements), {
    bridges: ['"berth0"', '"br-aaaa"'],
    internal: [],
    masq: ['10.5.0.0/16', '172.17.0.0/16'],
    pub_port: ['tcp . 8080 : 10.5.0.2 . 80', 'tcp . 8081 : 10.5.0.2 . 80'],
    pub_addr: ['0.0.0.0/0 . udp . 5400-5401 : 10.5.0.2'],
  });
  assert.deepEqual([...t.maps], ['pub_port', 'pub_addr']);
  assert.doesNotMatch(t.skeleton, /elements|br-aaaa|8080/);
  assert.match(t.skeleton, /^map pub_port \{$/m);
  assert.match(t.skeleton, /^meta l4proto \{ tcp, udp, sctp \} dnat ip to meta l4proto \. th dport map @pub_port$/m);
  // Element order is the kernel's (hash order): it does not make two tables differ.
  const reordered = parseTableListing(LISTING.replace('{ 10.5.0.0/16, 172.17.0.0/16 }', '{ 172.17.0.0/16, 10.5.0.0/16 }'))!;
  assert.equal(elementDiffScript(t, reordered), '');
});

test('same skeleton: only the elements that differ change, deletes first, map elements deleted by key', () => {
  const live = parseTableListing(LISTING)!;
  const want = parseTableListing(LISTING
    .replace('"berth0",\n\t\t\t     "br-aaaa" }', '"berth0" }')
    .replace('tcp . 8080 : 10.5.0.2 . 80', 'tcp . 8080 : 10.5.0.3 . 80')
    .replace('\t\ttype ifname\n\t}', '\t\ttype ifname\n\t\telements = { "br-int" }\n\t}'))!;
  assert.equal(elementDiffScript(live, want), [
    'delete element inet berth bridges { "br-aaaa" }',
    'delete element inet berth pub_port { tcp . 8080 }',
    'add element inet berth internal { "br-int" }',
    'add element inet berth pub_port { tcp . 8080 : 10.5.0.3 . 80 }',
  ].join('\n') + '\n');
  assert.equal(elementDiffScript(want, live), [
    'delete element inet berth internal { "br-int" }',
    'delete element inet berth pub_port { tcp . 8080 }',
    'add element inet berth bridges { "br-aaaa" }',
    'add element inet berth pub_port { tcp . 8080 : 10.5.0.2 . 80 }',
  ].join('\n') + '\n');
  assert.equal(elementDiffScript(live, live), '', 'nothing to change');
});

test('a different skeleton (a rule missing or changed, a set more or less) needs the whole table', () => {
  const live = parseTableListing(LISTING)!;
  assert.equal(elementDiffScript(parseTableListing(LISTING.replace(/\t\tmeta l4proto.*\n/, ''))!, live), null);
  assert.equal(elementDiffScript(parseTableListing(LISTING.replace('flags interval\n\t\telements = { 10.5', 'elements = { 10.5'))!, live), null);
  assert.equal(elementDiffScript(parseTableListing(LISTING.replace(/\tset internal \{\n\t\ttype ifname\n\t\}\n\n/, ''))!, live), null);
});

/** Part of what nft lists for berth's table with the user's own rules, set and chain. */
const WITH_USER = `table inet berth {
\tset bridges {
\t\ttype ifname
\t}

\tset userblock {
\t\ttype ipv4_addr
\t\telements = { 10.99.0.2 }
\t}

\tchain user {
\t\tip saddr @userblock drop
\t\tjump userlog
\t}

\tchain userlog {
\t\tcounter packets 3 bytes 180
\t}

\tchain forward {
\t\ttype filter hook forward priority filter; policy accept;
\t\tiifname @bridges jump user
\t}
}
`;

test('the user\'s parts of the table: the user chain\'s rules, and sets and chains named user…', () => {
  assert.deepEqual(userParts(''), { objects: [], rules: [] });
  const u = userParts(WITH_USER);
  assert.deepEqual(u.rules, ['ip saddr @userblock drop', 'jump userlog']);
  assert.deepEqual(u.objects, [
    '\tset userblock {\n\t\ttype ipv4_addr\n\t\telements = { 10.99.0.2 }\n\t}',
    '\tchain userlog {\n\t\tcounter packets 3 bytes 180\n\t}',
  ]);
  assert.deepEqual(userParts(WITH_USER.replace(/\tchain user \{\n[^}]*\}/, '\tchain user {\n\t}')).rules, [], 'an empty user chain');
});

test('a replaced table carries the user\'s parts over, sets before the user chain', () => {
  const t = replaceTableScript([], [], {}, userParts(WITH_USER));
  assert.ok(t.includes('\tset userblock {\n\t\ttype ipv4_addr\n\t\telements = { 10.99.0.2 }\n\t}\n'
    + '\tchain userlog {\n\t\tcounter packets 3 bytes 180\n\t}\n'
    + '  chain user {\n    ip saddr @userblock drop\n    jump userlog\n  }\n'), t);
  assert.equal(t.match(/chain user \{/g)!.length, 1);
  assert.equal(replaceTableScript(), `add table inet berth\ndelete table inet berth\n${baseRuleset()}`);
});

// ---- IPv6: the same table, sets and maps of IPv6 addresses beside the IPv4 ones ----

const net6: NetworkSpec = { ...net, subnet6: 'fd00:1::/64', gateway6: 'fd00:1::1' };

test('IPv6 in the one table: the same forward chain, IPv6-keyed sets and maps, ::1 left to the relay', () => {
  const t = baseRuleset();
  assert.match(t, /map pub_port6 \{ type inet_proto \. inet_service : ipv6_addr \. inet_service; \}/);
  assert.match(t, /set hairpin6 \{ type ifname \. ipv6_addr; flags interval; \}/);
  assert.match(t, /set masq6 \{ type ipv6_addr; flags interval; \}/);
  // each family's publish chain looks up its own maps
  const chain = (name: string) => new RegExp(`chain ${name} \\{\\n([\\s\\S]*?)\\n  \\}`).exec(t)![1].trim().split('\n').map((l) => l.trim());
  assert.deepEqual(chain('publish'), [
    'meta l4proto { tcp, udp, sctp } dnat ip to meta l4proto . th dport map @pub_port',
    'meta l4proto { tcp, udp, sctp } dnat ip to ip daddr . meta l4proto . th dport map @pub_addrport',
    'meta l4proto { tcp, udp, sctp } dnat ip to ip daddr . meta l4proto . th dport map @pub_addr',
  ]);
  assert.deepEqual(chain('publish6'), [
    // ::1 is never NATed (the kernel routes no ::1 packet off the host: the relay's)
    'ip6 daddr ::1 return',
    'meta l4proto { tcp, udp, sctp } dnat ip6 to meta l4proto . th dport map @pub_port6',
    'meta l4proto { tcp, udp, sctp } dnat ip6 to ip6 daddr . meta l4proto . th dport map @pub_addrport6',
    'meta l4proto { tcp, udp, sctp } dnat ip6 to ip6 daddr . meta l4proto . th dport map @pub_addr6',
  ]);
  // hairpin per family; route_localnet's masquerade only for IPv4
  assert.deepEqual(chain('postrouting'), [
    'type nat hook postrouting priority srcnat; policy accept;',
    'ip saddr 127.0.0.0/8 oifname @bridges masquerade',
    'ct status dnat oifname . ip saddr @hairpin masquerade',
    'ct status dnat oifname . ip6 saddr @hairpin6 masquerade',
    'oifname != @bridges ip saddr @masq masquerade',
    'oifname != @bridges ip6 saddr @masq6 masquerade',
  ]);
});

test('a dual-stack network: both subnets for hairpin; IPv6 masquerade only when berthd opts in', () => {
  assert.deepEqual(networkElements(net6), [
    ['bridges', '"br-aaaaaaaaaaaa"'],
    ['samebr', '"br-aaaaaaaaaaaa" . "br-aaaaaaaaaaaa"'],
    ['hairpin', '"br-aaaaaaaaaaaa" . 10.5.0.0/16'],
    ['hairpin6', '"br-aaaaaaaaaaaa" . fd00:1::/64'],
    ['masq', '10.5.0.0/16'],
  ]);
  assert.deepEqual(networkElements({ ...net6, masquerade6: true }).at(-1), ['masq6', 'fd00:1::/64']);
  assert.deepEqual(networkElements({ ...net6, masquerade6: true, masquerade: false }).filter(([s]) => s.startsWith('masq')), [],
    'enable_ip_masquerade=false: neither family');
  assert.deepEqual(networkElements({ ...net6, masquerade6: true, internal: true }).slice(-1), [['internal', '"br-aaaaaaaaaaaa"']]);
  assert.deepEqual(networkElements({ ...net6, subnet6: 'fd00:1::7/64' })[3], ['hairpin6', '"br-aaaaaaaaaaaa" . fd00:1::/64'], 'canonical');
});

test('published ports per family: IPv6 NAT only to an IPv6 container address, never on ::1', () => {
  const p6 = port({ hostIp: '::', containerIp: 'fd00:1::2' });
  assert.deepEqual(portElements(p6), [['pub_port6', 'tcp . 8080', 'fd00:1::2 . 80']]);
  assert.deepEqual(portElements(port({ hostIp: 'fd99::1', containerIp: 'fd00:1::2', hostPort: 9000, containerPort: 9000, count: 3 })),
    [['pub_addr6', 'fd99::1 . tcp . 9000-9002', 'fd00:1::2']]);
  assert.deepEqual(portElements(port({ hostIp: 'fd99::1', containerIp: 'fd00:1::2', hostPort: 9000 })),
    [['pub_addrport6', 'fd99::1 . tcp . 9000', 'fd00:1::2 . 80']]);
  assert.deepEqual(portElements(port({ hostIp: '::', containerIp: '10.5.0.2' })), [], 'IPv4-only container: the relay');
  assert.deepEqual(portElements(port({ hostIp: '::1', containerIp: 'fd00:1::2' })), [], '::1: the relay');
  assert.deepEqual(portElements(port({})), [['pub_port', 'tcp . 8080', '10.5.0.2 . 80']]);
});

// ---- the upgrade from `ip berth` and `ip6 berth` ----

const OLD_IP = WITH_USER.replace('table inet berth', 'table ip berth');
const OLD_IP6 = `table ip6 berth {
\tset userblock {
\t\ttype ipv6_addr
\t\telements = { fd99::2 }
\t}

\tset userblock6 {
\t\ttype ipv6_addr
\t}

\tchain user {
\t\tip6 saddr @userblock6 drop
\t}
}
`;

test('an older berth\'s tables: their user rules carried over, each behind its family; dropped in the same transaction', () => {
  const u = legacyUserParts([['ip', OLD_IP], ['ip6', OLD_IP6]]);
  assert.deepEqual(u.rules, [
    'meta nfproto ipv4 ip saddr @userblock drop',
    'meta nfproto ipv4 jump userlog',
    'meta nfproto ipv6 ip6 saddr @userblock6 drop',
  ]);
  assert.deepEqual(u.objects, [
    '\tset userblock {\n\t\ttype ipv4_addr\n\t\telements = { 10.99.0.2 }\n\t}',
    '\tset userblock6 {\n\t\ttype ipv6_addr\n\t}',
    '\tchain userlog {\n\t\tcounter packets 3 bytes 180\n\t}',
  ], 'sets before chains; the ip table\'s userblock wins the name');
  assert.deepEqual(u.dropped, ['ip6 berth userblock']);
  assert.deepEqual(legacyUserParts([]), { objects: [], rules: [], dropped: [] });
  assert.equal(dropTablesScript(['ip berth', 'ip6 berth']), 'delete table ip berth\ndelete table ip6 berth\n');
  const t = replaceTableScript([], [], {}, u) + dropTablesScript(['ip berth']);
  assert.match(t, /^add table inet berth\ndelete table inet berth\ntable inet berth \{/);
  assert.match(t, /  chain user \{\n    meta nfproto ipv4 ip saddr @userblock drop\n/);
  assert.match(t, /\ndelete table ip berth\n$/, 'the old table goes in the transaction that makes the new one');
});
