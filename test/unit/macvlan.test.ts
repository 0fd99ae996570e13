// The macvlan/ipvlan drivers' option checks (pure): modes, parents, Docker's messages.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkLowerOptions, privateParentName } from '../../src/engine/drivers/macvlan';

const ID = 'abcdef0123456789'.repeat(4);
const host = (...names: string[]) => (n: string) => names.includes(n);

test('defaults: bridge mode, l2 mode, bridge flag', () => {
  assert.deepEqual(checkLowerOptions('macvlan', ID, { parent: 'eth0' }, [], host('eth0')), { parent: 'eth0', mode: 'bridge', flag: '', make: 'none' });
  assert.deepEqual(checkLowerOptions('ipvlan', ID, { parent: 'eth0', ipvlan_mode: 'l3' }, [], host('eth0')), { parent: 'eth0', mode: 'l3', flag: 'bridge', make: 'none' });
});

test('no parent: a private one named like Docker\'s dummy link', () => {
  assert.equal(privateParentName('macvlan', ID), 'dm-abcdef012345');
  assert.equal(privateParentName('ipvlan', ID), 'di-abcdef012345');
  assert.deepEqual(checkLowerOptions('macvlan', ID, {}, [], host()).make, 'private');
});

test('a missing VLAN parent is made on an existing link; anything else is refused', () => {
  assert.equal(checkLowerOptions('macvlan', ID, { parent: 'eth0.10' }, [], host('eth0')).make, 'vlan');
  assert.throws(() => checkLowerOptions('macvlan', ID, { parent: 'eth9.10' }, [], host('eth0')), /-o parent interface was not found on the host: eth9/);
  assert.throws(() => checkLowerOptions('macvlan', ID, { parent: 'nope' }, [], host('eth0')), /invalid subinterface vlan name nope, example formatting is eth0\.10/);
  assert.throws(() => checkLowerOptions('macvlan', ID, { parent: 'eth0.5000' }, [], host('eth0')), /invalid subinterface vlan name/);
  assert.throws(() => checkLowerOptions('macvlan', ID, { parent: 'lo' }, [], host('lo')), /loopback interface is not a valid macvlan parent link/);
  assert.throws(() => checkLowerOptions('macvlan', ID, { parent: 'a b' }, [], host()), /invalid parent interface name/);
});

test('modes and flags, with Docker\'s messages', () => {
  assert.throws(() => checkLowerOptions('macvlan', ID, { parent: 'eth0', macvlan_mode: 'x' }, [], host('eth0')),
    /requested macvlan mode 'x' is not valid, 'bridge' mode is the macvlan driver default/);
  assert.throws(() => checkLowerOptions('ipvlan', ID, { parent: 'eth0', ipvlan_mode: 'l4' }, [], host('eth0')), /requested ipvlan mode 'l4'/);
  assert.throws(() => checkLowerOptions('ipvlan', ID, { parent: 'eth0', ipvlan_flag: 'x' }, [], host('eth0')), /requested ipvlan flag 'x'/);
});

test('one network per parent', () => {
  const other = { id: '1234567890ab'.repeat(5), kind: 'macvlan', parent: 'eth0' };
  assert.throws(() => checkLowerOptions('macvlan', ID, { parent: 'eth0' }, [other], host('eth0')),
    /network dm-1234567890ab is already using parent interface eth0/);
  assert.doesNotThrow(() => checkLowerOptions('macvlan', ID, { parent: 'eth1' }, [other], host('eth0', 'eth1')));
  assert.doesNotThrow(() => checkLowerOptions('ipvlan', ID, { parent: 'eth0' }, [other], host('eth0')), 'per driver, as in Docker');
});
