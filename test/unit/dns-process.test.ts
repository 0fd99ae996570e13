// The resolver process's pure parts: the control protocol's framing and request checks, the
// state file it restarts from, fair TCP connection slots, the build id that tells berthd
// whether to adopt or replace a running resolver, and the answer path's early drops.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { buildId, encode, LineReader, parseRequest } from '../../src/dns/control';
import { parseState, printState } from '../../src/dns/state';
import { ConnectionSlots } from '../../src/dns/slots';
import { answer, DROP, MAX_QUERY } from '../../src/dns/answer';
import { NameTable, type DnsContainer } from '../../src/dns/records';

const ID = 'a'.repeat(64);
const web: DnsContainer = { id: ID, name: 'web', hostname: 'web', endpoints: [{ networkId: 'n1', networkName: 'front', ip: '10.1.0.2', aliases: [] }], upstreams: ['192.0.2.1'] };

test('control lines: split across chunks, several per chunk, blank lines skipped', () => {
  const r = new LineReader();
  const a = encode({ id: 1, op: 'hello' });
  const b = encode({ id: 2, ok: true, data: { x: 'é' } });
  const bytes = Buffer.from(a + '\n' + b);
  assert.deepEqual(r.push(bytes.subarray(0, 5)), []);
  assert.deepEqual(r.push(bytes.subarray(5, bytes.length - 3)), [{ id: 1, op: 'hello' }]);
  assert.deepEqual(r.push(bytes.subarray(bytes.length - 3)), [{ id: 2, ok: true, data: { x: 'é' } }]);
  assert.throws(() => new LineReader().push(Buffer.from('{nope\n')), SyntaxError);
});

test('control requests are checked for shape', () => {
  assert.deepEqual(parseRequest({ id: 3, op: 'serve', container: ID, netns: '/run/berth/netns/x' }),
    { id: 3, op: 'serve', container: ID, netns: '/run/berth/netns/x' });
  assert.deepEqual(parseRequest({ id: 4, op: 'debug', on: 'yes' }), { id: 4, op: 'debug', on: false });
  assert.throws(() => parseRequest({ op: 'hello' }), /numeric id/);
  assert.throws(() => parseRequest({ id: 1, op: 'serve', container: ID }), /serve: "netns" must be a non-empty string/);
  assert.throws(() => parseRequest({ id: 1, op: 'sync', view: {} }), /view\.containers/);
  assert.throws(() => parseRequest({ id: 1, op: 'rm -rf' }), /unknown op "rm -rf"/);
  assert.throws(() => parseRequest(null), /numeric id/);
});

test('state file: round trip; anything unreadable or of another format starts empty', () => {
  const s = { serving: { [ID]: '/run/berth/netns/aaaaaaaaaaaa' }, view: { containers: [web] } };
  assert.deepEqual(parseState(printState(s)), s);
  assert.equal(parseState(null), null);
  assert.equal(parseState(''), null);
  assert.equal(parseState('{"format":1,"serv'), null, 'a torn write');
  assert.equal(parseState(JSON.stringify({ format: 2, serving: {}, view: { containers: [] } })), null);
  // Entries that could not be served are dropped, the rest kept.
  const odd = parseState(JSON.stringify({ format: 1, serving: { [ID]: 'relative', ['b'.repeat(64)]: '/ns/b', 'x y': '/ns' }, view: { containers: [web, { id: 3 }] } }));
  assert.deepEqual(odd, { serving: { ['b'.repeat(64)]: '/ns/b' }, view: { containers: [web] } });
});

test('TCP slots: a hoarding asker makes room from its own idle connections, never from others', () => {
  const s = new ConnectionSlots<string>(3, 5);
  for (const c of ['h1', 'h2', 'h3']) assert.deepEqual(s.admit('hog', c), { admitted: true, evict: [] });
  s.touch('h1');                                   // h2 is now the least recently active
  assert.deepEqual(s.admit('hog', 'h4'), { admitted: true, evict: ['h2'] });
  assert.equal(s.count('hog'), 3);
  assert.deepEqual(s.admit('other', 'o1'), { admitted: true, evict: [] });
  assert.deepEqual(s.admit('other', 'o2'), { admitted: true, evict: [] });
  // The total is reached: a newcomer takes the place of the biggest asker's idlest.
  assert.deepEqual(s.admit('third', 't1'), { admitted: true, evict: ['h3'] });
  assert.equal(s.count('other'), 2);
  assert.equal(s.size, 5);
});

test('TCP slots: connections with a query in progress are never evicted', () => {
  const s = new ConnectionSlots<string>(2, 10);
  s.admit('a', 'c1');
  s.admit('a', 'c2');
  s.begin('c1');
  s.begin('c2');
  assert.deepEqual(s.admit('a', 'c3'), { admitted: false, evict: [] }, 'all busy: the newcomer is refused');
  s.done('c2');
  assert.deepEqual(s.admit('a', 'c3'), { admitted: true, evict: ['c2'] });
  s.release('c1');
  s.release('c1');                                 // twice is harmless
  assert.equal(s.count('a'), 1);
  s.release('c3');
  assert.equal(s.size, 0);
});

test('build id: follows the resolver\'s files', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dnsbuild-'));
  try {
    fs.mkdirSync(path.join(dir, 'dns'));
    fs.writeFileSync(path.join(dir, 'dns', 'main.js'), 'one');
    const a = buildId(path.join(dir, 'dns'));
    assert.equal(buildId(path.join(dir, 'dns')), a, 'stable');
    fs.writeFileSync(path.join(dir, 'dns', 'main.js'), 'two');
    assert.notEqual(buildId(path.join(dir, 'dns')), a, 'another build');
    assert.match(buildId(), /^[0-9a-f]{16}$/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('answers: oversize garbage is dropped before any parsing; DROP stays silent', async () => {
  const table = new NameTable({ containers: [web] });
  const q = (name: string) => {
    const labels = Buffer.concat(name.split('.').map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)])));
    return Buffer.concat([Buffer.from([0, 7, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0]), labels, Buffer.from([0, 0, 1, 0, 1])]);
  };
  let forwarded = 0;
  const big = Buffer.concat([q('x.test'), Buffer.alloc(MAX_QUERY)]);
  assert.equal(answer(big, web, table, async () => { forwarded++; return null; }, true), null);
  assert.equal(forwarded, 0);
  const dropped = await answer(q('elsewhere.test'), web, table, async () => DROP, true);
  assert.equal(dropped, null, 'over budget: no answer at all (the asker retries)');
  const failed = await answer(q('elsewhere.test'), web, table, async () => null, true) as Buffer;
  assert.equal(failed.readUInt16BE(2) & 0xf, 2, 'no upstream answered: SERVFAIL');
});
