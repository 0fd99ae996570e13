// The in-memory host port allocator: conflicts (0.0.0.0 against any address), Docker's
// messages, round-robin choice of free ports, ranges.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { ApiError } from '../../src/util/errors';
import { EPHEMERAL_RANGE, HostPortAllocator } from '../../src/engine/portmap/hostports';

function conflict(fn: () => unknown, message: string) {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof ApiError);
    assert.equal(e.message, message);
    assert.equal(e.status, 409);
    return true;
  });
}

test('reserve: 0.0.0.0 conflicts with every address of the same proto and port', () => {
  const h = new HostPortAllocator();
  h.reserve('tcp', '0.0.0.0', 8080);
  conflict(() => h.reserve('tcp', '0.0.0.0', 8080), 'Bind for 0.0.0.0:8080 failed: port is already allocated');
  conflict(() => h.reserve('tcp', '', 8080), 'Bind for 0.0.0.0:8080 failed: port is already allocated');
  conflict(() => h.reserve('tcp', '127.0.0.1', 8080), 'Bind for 127.0.0.1:8080 failed: port is already allocated');
  h.reserve('udp', '0.0.0.0', 8080); // other protocol
  h.reserve('tcp', '0.0.0.0', 8081); // other port

  h.reserve('tcp', '127.0.0.1', 9000);
  h.reserve('tcp', '127.0.0.2', 9000); // two specific addresses do not conflict
  conflict(() => h.reserve('tcp', '127.0.0.1', 9000), 'Bind for 127.0.0.1:9000 failed: port is already allocated');
  conflict(() => h.reserve('tcp', '0.0.0.0', 9000), 'Bind for 0.0.0.0:9000 failed: port is already allocated');
  assert.ok(!h.isFree('tcp', '127.0.0.3', 8080));
  assert.ok(h.isFree('tcp', '127.0.0.3', 9000));
  assert.ok(!h.isFree('tcp', '0.0.0.0', 9000));

  h.release('tcp', '127.0.0.1', 9000);
  conflict(() => h.reserve('tcp', '', 9000), 'Bind for 0.0.0.0:9000 failed: port is already allocated');
  h.release('tcp', '127.0.0.2', 9000);
  h.reserve('tcp', '', 9000);
  h.release('tcp', '', 8080);
  h.reserve('tcp', '10.0.0.1', 8080);
  h.release('sctp', '1.2.3.4', 1); // releasing what was never taken is harmless
  assert.throws(() => h.reserve('tcp', '', 0), ApiError);
  assert.throws(() => h.reserve('tcp', '', 65536), ApiError);
});

test('reserve: :: conflicts with every IPv6 address, never with IPv4 ones', () => {
  const h = new HostPortAllocator();
  h.reserve('tcp', '0.0.0.0', 8080);
  h.reserve('tcp', '::', 8080); // the other family: Docker's -p 8080:80 holds both
  conflict(() => h.reserve('tcp', '::1', 8080), 'Bind for ::1:8080 failed: port is already allocated');
  conflict(() => h.reserve('tcp', '::', 8080), 'Bind for :::8080 failed: port is already allocated');
  h.reserve('tcp', '::1', 9000);
  h.reserve('tcp', '127.0.0.1', 9000);
  h.reserve('tcp', '0.0.0.0', 9001);
  assert.ok(h.isFree('tcp', '::1', 9001));
  conflict(() => h.reserve('tcp', '::', 9000), 'Bind for :::9000 failed: port is already allocated');
  assert.ok(h.held('tcp', 9000));
  assert.ok(!h.held('tcp', 9002));
});

test('allocate: round-robin through the ephemeral range, per protocol', () => {
  const h = new HostPortAllocator();
  assert.deepEqual(EPHEMERAL_RANGE, [32768, 60999]);
  assert.equal(h.allocate('tcp', '0.0.0.0'), 32768);
  assert.equal(h.allocate('tcp', '0.0.0.0'), 32769);
  assert.equal(h.allocate('udp', '127.0.0.1'), 32768);
  h.release('tcp', '0.0.0.0', 32768);
  // a released port is not handed out again at once (as Docker)
  assert.equal(h.allocate('tcp', '0.0.0.0'), 32770);
  h.reserve('tcp', '0.0.0.0', 32771);
  assert.equal(h.allocate('tcp', '127.0.0.1'), 32772); // 32771 is taken on 0.0.0.0
  // the host says 32773 is busy (some other program listens there)
  assert.equal(h.allocate('tcp', '0.0.0.0', undefined, (_p, port) => port !== 32773), 32774);
  assert.ok(!h.isFree('tcp', '0.0.0.0', 32774));
});

test('allocate: wraps around, and reports a full range', () => {
  const h = new HostPortAllocator();
  const r: [number, number] = [8000, 8002];
  assert.equal(h.allocate('tcp', '', r), 8000);
  assert.equal(h.allocate('tcp', '', r), 8001);
  h.release('tcp', '', 8000);
  assert.equal(h.allocate('tcp', '', r), 8002);
  assert.equal(h.allocate('tcp', '', r), 8000); // wrapped
  conflict(() => h.allocate('tcp', '', r), 'all ports are allocated');
  conflict(() => h.allocate('tcp', '', r, () => true), 'all ports are allocated');
  // another address cannot use them either (0.0.0.0 holds them)
  conflict(() => h.allocate('tcp', '127.0.0.1', r), 'all ports are allocated');
  assert.equal(h.allocate('udp', '', r), 8000);
  assert.throws(() => h.allocate('tcp', '', [10, 5]), ApiError);
  assert.throws(() => h.allocate('tcp', '', [0, 5]), ApiError);
});

test('allocate: a full ephemeral range is found free again after release', () => {
  const h = new HostPortAllocator();
  const n = EPHEMERAL_RANGE[1] - EPHEMERAL_RANGE[0] + 1;
  for (let i = 0; i < n; i++) h.allocate('tcp', '0.0.0.0');
  conflict(() => h.allocate('tcp', '0.0.0.0'), 'all ports are allocated');
  h.release('tcp', '0.0.0.0', 40000);
  assert.equal(h.allocate('tcp', '127.0.0.1'), 40000);
});

test('reserveRange is all or nothing', () => {
  const h = new HostPortAllocator();
  h.reserve('udp', '0.0.0.0', 7003);
  conflict(() => h.reserveRange('udp', '', 7000, 10), 'Bind for 0.0.0.0:7003 failed: port is already allocated');
  assert.ok(h.isFree('udp', '', 7000)); // nothing of the failed range stayed taken
  h.reserveRange('udp', '', 10000, 5001);
  assert.ok(!h.isFree('udp', '', 15000));
  assert.ok(!h.isFree('udp', '127.0.0.1', 10000));
  assert.ok(h.isFree('udp', '', 15001));
  h.releaseRange('udp', '', 10000, 5001);
  assert.ok(h.isFree('udp', '', 10000) && h.isFree('udp', '', 15000));
  assert.throws(() => h.reserveRange('tcp', '', 65535, 2), { message: 'invalid host port range: 65535-65536' });
  assert.ok(h.isFree('tcp', '', 65535));
});
