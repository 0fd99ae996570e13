// The forwarder's defences against spoofed answers (issue 14 item 4) and the rule that keeps a
// container with no way out from asking any upstream (item 3): which answers are accepted,
// that every forwarded query leaves from a port of its own, and which networks give a way out.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as packet from 'dns-packet';
import { accepts, sameQuestion, questionOf, Forwarder } from '../../src/dns/forwarder';
import { hasWayOut } from '../../src/engine/dns';
import type { NetworkRecord } from '../../src/engine/types';

const query = (name: string, type: 'A' | 'AAAA' | 'TXT', id = 4242) => packet.encode({ type: 'query', id, flags: packet.RECURSION_DESIRED, questions: [{ type, name }] });
const response = (name: string, type: 'A' | 'AAAA' | 'TXT', id = 4242, klass: 'IN' | 'CH' = 'IN') =>
  packet.encode({ type: 'response', id, flags: packet.RECURSION_DESIRED | packet.RECURSION_AVAILABLE, questions: [{ type, name, class: klass }],
    answers: type === 'A' ? [{ type: 'A', name, ttl: 60, data: '198.51.100.7' }] : [] });

test('an answer counts only from a server asked, port 53, with the query id and question', () => {
  const q = query('www.example.test', 'A');
  const p = { id: 4242, question: questionOf(q), servers: new Set(['10.99.0.2']) };
  assert.equal(accepts(p, response('www.example.test', 'A'), '10.99.0.2', 53), true);
  assert.equal(accepts(p, response('WWW.Example.TEST', 'A'), '10.99.0.2', 53), true, 'the name in another case is the same question');
  assert.equal(accepts(p, response('www.example.test', 'A'), '10.99.0.9', 53), false, 'another address');
  assert.equal(accepts(p, response('www.example.test', 'A'), '10.99.0.2', 5353), false, 'another port');
  assert.equal(accepts(p, response('www.example.test', 'A', 4243), '10.99.0.2', 53), false, 'another id');
  assert.equal(accepts(p, response('www.evil.test', 'A'), '10.99.0.2', 53), false, 'another name');
  assert.equal(accepts(p, response('www.example.tesu', 'A'), '10.99.0.2', 53), false, 'a name one letter off');
  assert.equal(accepts(p, response('www.example.test', 'AAAA'), '10.99.0.2', 53), false, 'another type');
  assert.equal(accepts(p, response('www.example.test', 'A', 4242, 'CH'), '10.99.0.2', 53), false, 'another class');
  assert.equal(accepts(p, q, '10.99.0.2', 53), false, 'a query is no answer');
  const noQuestion = Buffer.from(response('www.example.test', 'A').subarray(0, 12));
  noQuestion.writeUInt16BE(0, 4);
  assert.equal(accepts(p, noQuestion, '10.99.0.2', 53), false, 'no question section');
  assert.equal(accepts(p, Buffer.alloc(8), '10.99.0.2', 53), false, 'too short');
});

test('question comparison folds ASCII letters only, never type or class', () => {
  const a = questionOf(query('Ab.test', 'A'));
  assert.equal(sameQuestion(a, questionOf(query('aB.TEST', 'A'))), true);
  assert.equal(sameQuestion(a, questionOf(query('ab.test', 'TXT'))), false);
  assert.equal(sameQuestion(a, questionOf(query('a\u00a0.test', 'A'))), false);
  assert.equal(sameQuestion(Buffer.alloc(0), Buffer.alloc(0)), false, 'nothing found matches nothing');
});

test('forwarded queries leave from short-lived sockets on random ports: one per turn of the event loop', async () => {
  // Queries to the loopback's port 53 where nothing answers; the forwarder is closed before
  // any deadline.
  const f = new Forwarder();
  const turn = () => new Promise((r) => setImmediate(r));
  const portsOf = () => f.sockets.map((s) => s.address().port);
  const pending: Promise<Buffer | null>[] = [];
  for (let i = 0; i < 30; i++) {
    pending.push(f.udp(query(`q${i}.test`, 'A', i), ['127.0.0.1']));
    await turn();   // each query in a turn of its own, as lookups at a low rate arrive
  }
  await turn();
  assert.equal(f.inFlight, 30);
  const ports = portsOf();
  assert.equal(new Set(ports).size, 30, 'a socket and port of its own for each turn\'s queries');
  const sorted = [...ports].sort((a, b) => a - b);
  assert.ok(sorted.at(-1)! - sorted[0] > 300, `ports spread over the range, not one after another: ${sorted.join(',')}`);
  // A burst in one turn shares a socket, at most 64 queries to one.
  for (let i = 0; i < 100; i++) pending.push(f.udp(query(`b${i}.test`, 'A', i), ['127.0.0.1']));
  await turn(); await turn();
  assert.equal(f.sockets.length, 32);
  const burst = portsOf().filter((p) => !ports.includes(p));
  assert.equal(burst.length, 2, 'the burst of 100: two sockets, new ports');
  f.close();
  assert.deepEqual(await Promise.all(pending), new Array(130).fill(null));
  assert.equal(f.inFlight, 0);
  assert.equal(f.sockets.length, 0, 'every socket closed once its queries are done');
});

test('no upstreams: nothing is sent, the answer is null (SERVFAIL)', async () => {
  const f = new Forwarder();
  assert.equal(await f.udp(query('x.test', 'A'), []), null);
  assert.equal(await f.tcp(query('x.test', 'A'), []), null);
  assert.equal(f.inFlight, 0);
});

test('a way out: any network that is not internal, null, host or a private macvlan/ipvlan', () => {
  const net = (Driver: NetworkRecord['Driver'], Internal: boolean, extra: Partial<NetworkRecord> = {}) =>
    ({ Id: 'f'.repeat(64), Name: 'n', Driver, Internal, ...extra } as NetworkRecord);
  assert.equal(hasWayOut([]), false);
  assert.equal(hasWayOut([net('bridge', true)]), false);
  assert.equal(hasWayOut([net('overlay', true)]), false);
  assert.equal(hasWayOut([net('bridge', true), net('overlay', true)]), false);
  assert.equal(hasWayOut([net('null', false)]), false);
  assert.equal(hasWayOut([net('host', false)]), false);
  assert.equal(hasWayOut([net('macvlan', false, { parent: `dm-${'f'.repeat(12)}`, createdParent: true })]), false);
  assert.equal(hasWayOut([net('ipvlan', false, { parent: `di-${'f'.repeat(12)}`, createdParent: true })]), false);
  assert.equal(hasWayOut([net('macvlan', false, { parent: 'eth0' })]), true);
  assert.equal(hasWayOut([net('bridge', false)]), true);
  assert.equal(hasWayOut([net('overlay', false)]), true);
  assert.equal(hasWayOut([net('bridge', true), net('bridge', false)]), true, 'internal and a way out: forwards');
});
