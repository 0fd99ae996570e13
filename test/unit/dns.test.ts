// The embedded resolver's pure parts: the name table (scope, aliases, round robin, PTR), the
// answer logic (local answers, AAAA, forwarding, SERVFAIL, truncation, garbage), helpers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as packet from 'dns-packet';
import { NameTable, ptrToIp, type DnsContainer } from '../../src/dns/records';
import { answer, AnswerCache } from '../../src/dns/answer';
import { questionOf, Forwarder } from '../../src/dns/forwarder';
import { dnsRedirectScript } from '../../src/kernel/dnsredirect';

const ep = (networkId: string, networkName: string, ip: string, aliases: string[] = []) => ({ networkId, networkName, ip, aliases });
const web: DnsContainer = { id: 'a'.repeat(64), name: 'web', hostname: 'webhost', endpoints: [ep('n1', 'front', '10.1.0.2', ['www'])], upstreams: ['192.0.2.1'] };
const app: DnsContainer = { id: 'b'.repeat(64), name: 'app', hostname: 'bbbbbbbbbbbb', endpoints: [ep('n1', 'front', '10.1.0.3', ['pool']), ep('n2', 'back', '10.2.0.3')], upstreams: [] };
const db: DnsContainer = { id: 'c'.repeat(64), name: 'db', hostname: 'cccccccccccc', endpoints: [ep('n2', 'back', '10.2.0.4', ['pool'])], upstreams: [] };
const web2: DnsContainer = { id: 'd'.repeat(64), name: 'web2', hostname: 'dddddddddddd', endpoints: [ep('n1', 'front', '10.1.0.5', ['pool'])], upstreams: [] };

test('names resolve only across shared networks, by name, alias, short id, hostname, name.network', () => {
  const t = new NameTable({ containers: [web, app, db] });
  assert.equal(t.asker(web.id), web);
  assert.equal(t.asker(web2.id), undefined, 'not running: not in the table');
  for (const n of ['app', 'APP', 'app.', 'bbbbbbbbbbbb', 'app.front']) assert.deepEqual(t.lookup(web, n), ['10.1.0.3'], n);
  assert.deepEqual(t.lookup(web, 'db'), [], 'db shares no network with web');
  assert.deepEqual(t.lookup(app, 'db'), ['10.2.0.4']);
  assert.deepEqual(t.lookup(app, 'www'), ['10.1.0.2']);
  assert.deepEqual(t.lookup(app, 'webhost'), ['10.1.0.2']);
  assert.deepEqual(t.lookup(app, 'app.back'), ['10.2.0.3']);
  assert.deepEqual(t.lookup(web, 'a'.repeat(64)), [], 'the full id is not a name');
});

test('an alias on several containers answers them all, rotating', () => {
  const t = new NameTable({ containers: [web, app, db, web2] });
  const first = t.lookup(app, 'pool');
  const second = t.lookup(app, 'pool');
  assert.deepEqual([...first].sort(), ['10.1.0.3', '10.1.0.5', '10.2.0.4']);
  assert.deepEqual(second, [...first.slice(1), first[0]]);
  assert.deepEqual([...t.lookup(web, 'pool')].sort(), ['10.1.0.3', '10.1.0.5'], 'scoped to the asker');
});

const ep6 = (networkId: string, networkName: string, ip: string, ip6: string, aliases: string[] = []) => ({ networkId, networkName, ip, ip6, aliases });
const v6a: DnsContainer = { id: 'e'.repeat(64), name: 'r6', hostname: 'eeeeeeeeeeee', endpoints: [ep6('n6', 'v6a', '172.18.0.2', 'fd00:1::2', ['six'])], upstreams: [] };
const v6b: DnsContainer = { id: 'f'.repeat(64), name: 'only6', hostname: 'ffffffffffff', endpoints: [ep6('n6', 'v6a', '', 'fd00:1:0:0::3')], upstreams: [] };
const v6asker: DnsContainer = { id: '9'.repeat(64), name: 'asker', hostname: 'asker', endpoints: [ep6('n6', 'v6a', '172.18.0.4', 'fd00:1::4')], upstreams: [] };

test('dual-stack names: AAAA answers the IPv6 address, A the IPv4 one; ip6.arpa PTR', async () => {
  const t = new NameTable({ containers: [v6a, v6b, v6asker, web] });
  assert.deepEqual(t.lookup(v6asker, 'r6', true), ['fd00:1::2']);
  assert.deepEqual(t.lookup(v6asker, 'six', true), ['fd00:1::2'], 'aliases too');
  assert.deepEqual(t.lookup(v6asker, 'r6'), ['172.18.0.2']);
  assert.deepEqual(t.lookup(v6asker, 'only6', true), ['fd00:1::3'], 'stored in canonical form');
  assert.deepEqual(t.lookup(v6asker, 'only6'), [], 'an IPv6-only endpoint has no IPv4 address');
  assert.deepEqual(t.lookup(web, 'r6', true), [], 'scope holds for AAAA');
  assert.equal(ptrToIp('2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.1.0.0.0.0.0.d.f.ip6.arpa'), 'fd00:1::2');
  assert.equal(t.ptr(v6asker, '3.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.1.0.0.0.0.0.d.f.ip6.arpa.'), 'only6.v6a');
  const none = async () => null;
  const aaaa = packet.decode((await answer(query('r6', 'AAAA'), v6asker, t, none, true))!);
  assert.deepEqual(aaaa.answers?.map((x: any) => [x.type, x.data, x.ttl]), [['AAAA', 'fd00:1::2', 600]]);
  const a = packet.decode((await answer(query('only6', 'A'), v6asker, t, none, true))!);
  assert.equal((a as any).rcode, 'NOERROR', 'a local name is never forwarded, whatever the family asked');
  assert.deepEqual(a.answers, []);
  const ptr = packet.decode((await answer(query('2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.1.0.0.0.0.0.d.f.ip6.arpa', 'PTR'), v6asker, t, none, true))!);
  assert.deepEqual(ptr.answers?.map((x: any) => x.data), ['r6.v6a']);
});

test('PTR', () => {
  const t = new NameTable({ containers: [web, app] });
  assert.equal(ptrToIp('3.0.1.10.in-addr.arpa'), '10.1.0.3');
  assert.equal(ptrToIp('3.0.1.999.in-addr.arpa'), undefined);
  assert.equal(ptrToIp('example.com'), undefined);
  assert.equal(t.ptr(web, '3.0.1.10.in-addr.arpa.'), 'app.front');
  assert.equal(t.ptr(web, '3.0.2.10.in-addr.arpa'), undefined, 'not on a shared network');
});

const query = (name: string, type: string, extra: Partial<packet.Packet> = {}) =>
  packet.encode({ type: 'query', id: 4242, flags: packet.RECURSION_DESIRED, questions: [{ type: type as any, name }], ...extra });

test('answers: local A, empty AAAA, PTR; everything else forwarded; SERVFAIL when nobody answers', async () => {
  const t = new NameTable({ containers: [web, app] });
  const forwarded: Buffer[] = [];
  const none = async (q: Buffer) => { forwarded.push(q); return null; };
  const a = packet.decode((await answer(query('app', 'A'), web, t, none, true))!);
  assert.equal(a.id, 4242);
  assert.equal((a as any).rcode, 'NOERROR');
  assert.deepEqual(a.answers?.map((x: any) => [x.type, x.data, x.ttl]), [['A', '10.1.0.3', 600]]);
  assert.equal(a.flag_rd, true);
  assert.equal(a.flag_ra, true);
  const aaaa = packet.decode((await answer(query('app', 'AAAA'), web, t, none, true))!);
  assert.equal((aaaa as any).rcode, 'NOERROR');
  assert.deepEqual(aaaa.answers, []);
  const ptr = packet.decode((await answer(query('3.0.1.10.in-addr.arpa', 'PTR'), web, t, none, true))!);
  assert.deepEqual(ptr.answers?.map((x: any) => x.data), ['app.front']);
  assert.equal(forwarded.length, 0);
  const fail = packet.decode((await answer(query('example.com', 'A'), web, t, none, true))!);
  assert.equal((fail as any).rcode, 'SERVFAIL');
  assert.equal(forwarded.length, 1);
  const relayedBytes = Buffer.from('relayed');
  assert.equal(await answer(query('example.com', 'MX'), web, t, async () => relayedBytes, true), relayedBytes, 'relayed unchanged');
});

test('the answer cache: same answer under the new ID, per asker, never for rotating names', async () => {
  const t = new NameTable({ containers: [web, app, db, web2] });
  const cache = new AnswerCache();
  const none = async () => null;
  const ask = async (who: DnsContainer, name: string, id: number) =>
    packet.decode((await answer(packet.encode({ type: 'query', id, flags: packet.RECURSION_DESIRED, questions: [{ type: 'A', name }] }), who, t, none, true, cache))!);
  const first = await ask(web, 'app', 1);
  const again = await ask(web, 'app', 2);
  assert.equal(again.id, 2, 'the cached answer carries the new query ID');
  assert.deepEqual(again.answers, first.answers);
  assert.deepEqual((await ask(db, 'app', 3)).answers?.map((x: any) => x.data), ['10.2.0.3'], 'the same question from another asker: its own scope');
  assert.equal((await ask(web, 'db', 4) as any).rcode, 'SERVFAIL', 'db is not cached for web, which cannot see it');
  const pool = [await ask(app, 'pool', 5), await ask(app, 'pool', 6)].map((p) => p.answers?.map((x: any) => x.data));
  assert.deepEqual(pool[1], [...pool[0]!.slice(1), pool[0]![0]], 'round robin goes on with a cache');
  const fresh = new NameTable({ containers: [web, { ...app, endpoints: [ep('n1', 'front', '10.1.0.9')] }] });
  const moved = packet.decode((await answer(query('app', 'A'), web, fresh, none, true, new AnswerCache()))!);
  assert.deepEqual(moved.answers?.map((x: any) => x.data), ['10.1.0.9'], 'a new table comes with a new cache');
});

test('garbage, responses and odd queries get no answer or a safe one, never a throw', async () => {
  const t = new NameTable({ containers: [web] });
  const fwd = async () => null;
  for (const junk of [Buffer.alloc(0), Buffer.from([1, 2, 3]), Buffer.alloc(12, 0xff), Buffer.from('\x00\x01\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\xc0\x0c\x00\x01\x00\x01', 'binary')]) {
    assert.equal(await answer(junk, web, t, fwd, true), null);
  }
  const resp = packet.encode({ type: 'response', id: 1, questions: [{ type: 'A', name: 'web' }] });
  assert.equal(await answer(resp, web, t, fwd, true), null, 'responses are not answered');
  for (let i = 0; i < 2000; i++) {
    const len = Math.floor(Math.random() * 300);
    const b = Buffer.alloc(len);
    for (let j = 0; j < len; j++) b[j] = Math.floor(Math.random() * 256);
    await answer(b, web, t, fwd, true);
  }
});

test('an answer too big for UDP is truncated', async () => {
  const many: DnsContainer[] = Array.from({ length: 60 }, (_, i) => ({
    id: `${i}`.padStart(64, 'e'), name: `c${i}`, hostname: `h${i}`, endpoints: [ep('n1', 'front', `10.1.1.${i + 1}`, ['crowd'])], upstreams: [],
  }));
  const t = new NameTable({ containers: [web, ...many] });
  const udp = packet.decode((await answer(query('crowd', 'A'), web, t, async () => null, true))!);
  assert.equal(udp.flag_tc, true);
  const tcp = packet.decode((await answer(query('crowd', 'A'), web, t, async () => null, false))!);
  assert.equal(tcp.answers?.length, 60);
});

test('forwarder: question matching, upstream order follows the last answer', () => {
  const q = query('example.com', 'A');
  assert.equal(questionOf(q).toString('hex'), Buffer.concat([Buffer.from([7]), Buffer.from('example'), Buffer.from([3]), Buffer.from('com'), Buffer.from([0, 0, 1, 0, 1])]).toString('hex'));
  assert.equal(questionOf(Buffer.alloc(5)).length, 0);
  const f = new Forwarder();
  assert.deepEqual(f.order(['a', 'b', 'c']), ['a', 'b', 'c']);
  (f as any).preferred.set('a,b,c', 'c');
  assert.deepEqual(f.order(['a', 'b', 'c']), ['c', 'a', 'b']);
  f.close();
});

test('the in-container redirect ruleset', () => {
  const s = dnsRedirectScript({ udp: 40001, tcp: 40002 });
  assert.match(s, /priority raw/);
  assert.match(s, /ip daddr 127\.0\.0\.11 udp dport 53 notrack udp dport set 40001\n/);
  assert.match(s, /ip saddr 127\.0\.0\.11 udp sport 40001 notrack udp sport set 53\n/);
  assert.match(s, /ip daddr 127\.0\.0\.11 tcp dport 53 notrack tcp dport set 40002\n/);
  assert.match(s, /ip saddr 127\.0\.0\.11 tcp sport 40002 notrack tcp sport set 53\n/);
  assert.equal(dnsRedirectScript(null), 'add table ip berth_dns\ndelete table ip berth_dns\n');
});

test('a link alias on a user-defined network is a name for the linking container only, once its target runs', () => {
  const ep = (ip: string, links?: Record<string, string>) => ({ networkId: 'n', networkName: 'net', ip, aliases: [], ...(links ? { links } : {}) });
  const linker = { id: 'a'.repeat(64), name: 'linker', hostname: 'h1', endpoints: [ep('10.0.0.2', { lat: 'later' })], upstreams: [] };
  const other = { id: 'b'.repeat(64), name: 'other', hostname: 'h2', endpoints: [ep('10.0.0.3')], upstreams: [] };
  let t = new NameTable({ containers: [linker, other] });
  assert.deepEqual(t.lookup(linker, 'lat'), []);
  assert.equal(t.knows(linker, 'lat'), false, 'no target yet: not a local name');
  const later = { id: 'c'.repeat(64), name: 'later', hostname: 'h3', endpoints: [ep('10.0.0.4')], upstreams: [] };
  t = new NameTable({ containers: [linker, other, later] });
  assert.deepEqual(t.lookup(linker, 'LAT.'), ['10.0.0.4']);
  assert.deepEqual(t.lookup(other, 'lat'), []);
});
