// The event bus behind GET /events: Docker's shape, history for `since`, filters, until.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventBus, matches, parseEventTime } from '../../src/engine/events';

test('events have Docker\'s shape and are filtered like Docker\'s', () => {
  const bus = new EventBus();
  bus.emit('container', 'start', 'abc123', { name: 'web', image: 'busybox', tier: 'front' });
  bus.emit('network', 'connect', 'net999', { name: 'my-net', type: 'bridge', container: 'abc123' });
  bus.emit('container', 'die', 'def456', { name: 'db', image: 'busybox', exitCode: '0' });
  const got: any[] = [];
  const stop = bus.subscribe({ since: 0, filters: {} }, (e) => got.push(e));
  assert.equal(got.length, 3);
  assert.equal(got[0].Type, 'container');
  assert.equal(got[0].status, 'start');
  assert.equal(got[0].id, 'abc123');
  assert.equal(got[0].from, 'busybox');
  assert.equal(typeof got[0].timeNano, 'number');
  bus.emit('container', 'stop', 'abc123', { name: 'web', image: 'busybox' });
  assert.equal(got.length, 4, 'live events follow the history');
  stop();
  bus.emit('container', 'destroy', 'abc123', { name: 'web', image: 'busybox' });
  assert.equal(got.length, 4, 'nothing after unsubscribing');
  const e = got[1];
  assert.ok(matches(e, { type: ['network'] }));
  assert.ok(!matches(e, { type: ['container'] }));
  assert.ok(matches(e, { network: ['my-net'], event: ['connect'] }));
  assert.ok(matches(got[0], { container: ['web'] }) && matches(got[0], { container: ['abc'] }));
  assert.ok(matches(got[0], { label: ['tier=front'] }) && !matches(got[0], { label: ['tier=back'] }));
  assert.ok(!matches(got[0], { event: ['die', 'stop'] }));
});

test('since/until values', () => {
  assert.equal(parseEventTime('1700000000'), 1700000000);
  assert.equal(parseEventTime('1700000000.5'), 1700000000.5);
  assert.equal(parseEventTime('2023-11-14T22:13:20Z'), 1700000000);
  assert.equal(parseEventTime(null), undefined);
  assert.equal(parseEventTime('junk'), undefined);
});
