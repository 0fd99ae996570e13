// berth's nft table as text: the base ruleset, what a network and a published port add, and
// the add/delete scripts (nft itself checks the syntax in the e2e tests), and what a daemon start
// applies: the whole table in one transaction, or only the elements that differ from the
// kernel's listing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  addElementsScript, baseRuleset, deleteElementsScript, elementDiffScript, networkElements, parseTableListing,
  parsePortsFrom, portElements, replaceTableScript, userParts,
} from '../../src/engine/firewall/ruleset';
import type { NetworkSpec, PortMapping } from '../../src/engine/types';

const net: NetworkSpec = {
  id: 'a'.repeat(64), name: 'n1', bridgeName: 'br-aaaaaaaaaaaa', subnet: '10.5.0.0/16', gateway: '10.5.0.1',
  internal: false, icc: true, masquerade: true, mtu: 1500,
};
const port = (o: Partial<PortMapping>): PortMapping => ({
  proto: 'tcp', hostIp: '0.0.0.0', hostPort: 8080, containerIp: '10.5.0.2', containerPort: 80, count: 1, bridgeName: 'br-aaaaaaaaaaaa', ...o,
});

test('the base table: one table, maps for ports, fixed rules', () => {
  const t = baseRuleset();
  assert.match(t, /^table ip berth \{/);
  for (const m of ['pub_port', 'pub_addr', 'pub_addrport']) assert.match(t, new RegExp(`map ${m} \\{`));
  assert.match(t, /fib daddr type local jump publish/);
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
  assert.match(baseRuleset(), /chain localnet \{\n    type filter hook prerouting priority raw; policy accept;\n    iifname != "lo" ip daddr 127\.0\.0\.0\/8 drop\n  \}/);
});

test('--ports-from: outside sources not listed cannot reach published ports; values checked and made canonical', () => {
  const t = baseRuleset({ portsFrom: ['10.0.0.0/8', '192.0.2.7/32'] });
  assert.match(t, /oifname @bridges ct state established,related accept\n    oifname @bridges ct status dnat ip saddr != \{ 10\.0\.0\.0\/8, 192\.0\.2\.7\/32 \} drop\n    oifname @bridges ct status dnat accept/);
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
  assert.deepEqual(portElements(port({ hostIp: '::' })), [], 'IPv6 host addresses are not published');
});

test('add and delete scripts group map elements per map', () => {
  const maps = [...portElements(port({})), ...portElements(port({ hostPort: 8081 }))];
  const add = addElementsScript([['bridges', '"br0"']], maps);
  assert.equal(add, 'add element ip berth bridges { "br0" }\nadd element ip berth pub_port { tcp . 8080 : 10.5.0.2 . 80, tcp . 8081 : 10.5.0.2 . 80 }\n');
  assert.equal(deleteElementsScript([], maps), 'delete element ip berth pub_port { tcp . 8080, tcp . 8081 }\n');
});

test('the whole table with its elements replaces any old one in one script', () => {
  const empty = replaceTableScript();
  assert.ok(empty.startsWith('add table ip berth\ndelete table ip berth\ntable ip berth {'));
  assert.equal(empty, `add table ip berth\ndelete table ip berth\n${baseRuleset()}`);
  const full = replaceTableScript(networkElements(net), portElements(port({})));
  assert.equal(full, empty + addElementsScript(networkElements(net), portElements(port({}))));
  // One script: nothing between the delete and the new table's elements is applied apart.
  assert.equal(full.match(/delete table/g)!.length, 1);
});

/** What nft 1.0.6 lists for a table like berth's (elements wrap across lines). */
const LISTING = `table ip berth {
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
    'delete element ip berth bridges { "br-aaaa" }',
    'delete element ip berth pub_port { tcp . 8080 }',
    'add element ip berth internal { "br-int" }',
    'add element ip berth pub_port { tcp . 8080 : 10.5.0.3 . 80 }',
  ].join('\n') + '\n');
  assert.equal(elementDiffScript(want, live), [
    'delete element ip berth internal { "br-int" }',
    'delete element ip berth pub_port { tcp . 8080 }',
    'add element ip berth bridges { "br-aaaa" }',
    'add element ip berth pub_port { tcp . 8080 : 10.5.0.2 . 80 }',
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
const WITH_USER = `table ip berth {
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
  assert.equal(replaceTableScript(), `add table ip berth\ndelete table ip berth\n${baseRuleset()}`);
});

// ---- IPv6: the table `ip6 berth`, of the same shape ----

const net6: NetworkSpec = { ...net, subnet6: 'fd00:1::/64', gateway6: 'fd00:1::1' };

test('the IPv6 table: the same sets, maps and forward chain, keyed by IPv6 addresses', () => {
  const t4 = baseRuleset();
  const t6 = baseRuleset({ family: 'ip6' });
  assert.match(t6, /^table ip6 berth \{/);
  assert.match(t6, /map pub_port \{ type inet_proto \. inet_service : ipv6_addr \. inet_service; \}/);
  assert.match(t6, /set hairpin \{ type ifname \. ipv6_addr; flags interval; \}/);
  assert.match(t6, /dnat ip6 to ip6 daddr \. meta l4proto \. th dport map @pub_addrport/);
  // isolation and --internal exactly as in IPv4
  const fwd = (t: string) => /chain forward \{\n([^}]*)\}/.exec(t)![1];
  assert.equal(fwd(t6), fwd(t4));
  // ::1 is never NATed (the kernel routes no ::1 packet off the host: the relay's); no route_localnet masquerade
  assert.match(t6, /fib daddr type local ip6 daddr != ::1 jump publish/);
  assert.match(t6, /iifname != "lo" ip6 daddr ::1 drop/);
  assert.doesNotMatch(t6, /127\.0\.0\.0/);
  // --ports-from lists IPv4 sources: in IPv6 no outside source reaches a published port
  assert.match(baseRuleset({ family: 'ip6', portsFrom: ['192.168.1.0/24'] }), /oifname @bridges ct status dnat drop\n/);
});

test('a dual-stack network: its IPv6 subnet for hairpin; masquerade only when berthd opts in', () => {
  assert.deepEqual(networkElements(net6, 'ip6'), [
    ['bridges', '"br-aaaaaaaaaaaa"'],
    ['samebr', '"br-aaaaaaaaaaaa" . "br-aaaaaaaaaaaa"'],
    ['hairpin', '"br-aaaaaaaaaaaa" . fd00:1::/64'],
  ]);
  assert.deepEqual(networkElements({ ...net6, masquerade6: true }, 'ip6').at(-1), ['masq', 'fd00:1::/64']);
  assert.deepEqual(networkElements({ ...net6, masquerade6: true, internal: true }, 'ip6').at(-1), ['internal', '"br-aaaaaaaaaaaa"']);
  // an IPv4-only network still joins the IPv6 table's bridge sets: its bridge is isolated in both families
  assert.deepEqual(networkElements(net, 'ip6'), [['bridges', '"br-aaaaaaaaaaaa"'], ['samebr', '"br-aaaaaaaaaaaa" . "br-aaaaaaaaaaaa"']]);
  // the IPv4 table is as before
  assert.deepEqual(networkElements(net6, 'ip'), networkElements(net, 'ip'));
});

test('published ports per family: IPv6 NAT only to an IPv6 container address, never on ::1', () => {
  const p6 = port({ hostIp: '::', containerIp: 'fd00:1::2' });
  assert.deepEqual(portElements(p6, 'ip6'), [['pub_port', 'tcp . 8080', 'fd00:1::2 . 80']]);
  assert.deepEqual(portElements(p6, 'ip'), []);
  assert.deepEqual(portElements(port({ hostIp: 'fd99::1', containerIp: 'fd00:1::2', hostPort: 9000, containerPort: 9000, count: 3 }), 'ip6'),
    [['pub_addr', 'fd99::1 . tcp . 9000-9002', 'fd00:1::2']]);
  assert.deepEqual(portElements(port({ hostIp: '::', containerIp: '10.5.0.2' }), 'ip6'), [], 'IPv4-only container: the relay');
  assert.deepEqual(portElements(port({ hostIp: '::1', containerIp: 'fd00:1::2' }), 'ip6'), [], '::1: the relay');
  assert.deepEqual(portElements(port({}), 'ip6'), []);
  assert.deepEqual(portElements(port({}), 'ip'), [['pub_port', 'tcp . 8080', '10.5.0.2 . 80']]);
});

test('the IPv6 table is replaced and changed by its own name', () => {
  const s = replaceTableScript([['bridges', '"b"']], [['pub_port', 'tcp . 1', 'fd00::2 . 1']], { family: 'ip6' });
  assert.match(s, /^add table ip6 berth\ndelete table ip6 berth\ntable ip6 berth \{/);
  assert.match(s, /add element ip6 berth pub_port \{ tcp \. 1 : fd00::2 \. 1 \}/);
  assert.equal(deleteElementsScript([['bridges', '"b"']], [], 'ip6 berth'), 'delete element ip6 berth bridges { "b" }\n');
});
