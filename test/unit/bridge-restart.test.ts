// What the bridge driver changes on the kernel for a network's bridge and an endpoint's veth:
// everything when they are new, and at a daemon start (they exist, carrying running
// containers' traffic) only what differs from what they should be, usually nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bridgeLines, portLines } from '../../src/engine/drivers/bridge';
import type { LinkState } from '../../src/kernel/ip';
import type { EndpointSpec, NetworkSpec } from '../../src/engine/types';

const net: NetworkSpec = {
  id: 'ab12cd34'.repeat(8), name: 'n1', bridgeName: 'br-ab12cd34ab12', subnet: '10.5.0.0/16', gateway: '10.5.0.1',
  internal: false, icc: true, masquerade: true, mtu: 1500,
};
const ep: EndpointSpec = {
  networkId: net.id, containerId: 'c0ffee00'.repeat(8), endpointId: 'e'.repeat(64), netnsPath: '/run/berth/netns/c0ffee00',
  ifname: 'eth0', hostIfname: 'veth1234567', address: '10.5.0.2', prefixLen: 16, gateway: '10.5.0.1',
  mac: '02:42:0a:05:00:02', mtu: 1500, defaultRoute: true,
};
const bridgeNow: LinkState = { up: true, mtu: 1500, ifalias: 'berth:ab12cd34ab12', addrs: ['10.5.0.1/16'], addrs6: [] };
const vethNow: LinkState = {
  up: true, mtu: 1500, master: 'br-ab12cd34ab12', ifalias: 'berth:c0ffee00c0ff', addrs: [], addrs6: [], port: { hairpin: true, isolated: false },
};

test('a new bridge: made with its fixed MAC, addressed and up', () => {
  assert.deepEqual(bridgeLines(net, null), [
    'link add name br-ab12cd34ab12 address 02:42:ab:12:cd:34 mtu 1500 type bridge',
    'link set dev br-ab12cd34ab12 alias berth:ab12cd34ab12',
    'addr replace 10.5.0.1/16 brd + dev br-ab12cd34ab12',
    'link set dev br-ab12cd34ab12 up',
  ]);
});

test('an existing bridge as it should be: nothing changes; otherwise only what differs', () => {
  assert.deepEqual(bridgeLines(net, bridgeNow), []);
  assert.deepEqual(bridgeLines(net, { ...bridgeNow, addrs: ['10.5.0.1/16', '192.168.7.1/24'] }), [], 'another address is left alone');
  assert.deepEqual(bridgeLines(net, { ...bridgeNow, addrs: [] }), ['addr replace 10.5.0.1/16 brd + dev br-ab12cd34ab12']);
  assert.deepEqual(bridgeLines(net, { ...bridgeNow, up: false }), ['link set dev br-ab12cd34ab12 up']);
});

test('a new endpoint: the veth pair, on the bridge, hairpin, isolated only without icc', () => {
  assert.deepEqual(portLines(net, ep, null), [
    'link add veth1234567 mtu 1500 type veth peer name eth0 address 02:42:0a:05:00:02 mtu 1500 netns /run/berth/netns/c0ffee00',
    'link set dev veth1234567 alias berth:c0ffee00c0ff master br-ab12cd34ab12 up',
    'link set dev veth1234567 type bridge_slave hairpin on',
  ]);
  assert.equal(portLines({ ...net, icc: false }, ep, null)[2], 'link set dev veth1234567 type bridge_slave hairpin on isolated on');
});

test('an existing endpoint as it should be: nothing changes; otherwise only what differs', () => {
  assert.deepEqual(portLines(net, ep, vethNow), []);
  assert.deepEqual(portLines({ ...net, icc: false }, ep, { ...vethNow, port: { hairpin: true, isolated: true } }), []);
  assert.deepEqual(portLines({ ...net, icc: false }, ep, vethNow), ['link set dev veth1234567 type bridge_slave hairpin on isolated on']);
  assert.deepEqual(portLines(net, ep, { ...vethNow, port: { hairpin: false, isolated: false } }),
    ['link set dev veth1234567 type bridge_slave hairpin on isolated off']);
  assert.deepEqual(portLines(net, ep, { ...vethNow, up: false }), ['link set dev veth1234567 alias berth:c0ffee00c0ff master br-ab12cd34ab12 up']);
  // Off its bridge: put back on it, and its port flags (new port, defaults) set again.
  assert.deepEqual(portLines(net, ep, { ...vethNow, master: undefined, port: undefined }), [
    'link set dev veth1234567 alias berth:c0ffee00c0ff master br-ab12cd34ab12 up',
    'link set dev veth1234567 type bridge_slave hairpin on isolated off',
  ]);
});

test('a dual-stack bridge gets its IPv6 gateway too (no DAD wait); an existing one only what it lacks', () => {
  const net6 = { ...net, subnet6: 'fd00:1::/64', gateway6: 'fd00:1::1' };
  assert.deepEqual(bridgeLines(net6, null).slice(2), [
    'addr replace 10.5.0.1/16 brd + dev br-ab12cd34ab12',
    'addr replace fd00:1::1/64 dev br-ab12cd34ab12 nodad',
    'link set dev br-ab12cd34ab12 up',
  ]);
  assert.deepEqual(bridgeLines(net6, bridgeNow), ['addr replace fd00:1::1/64 dev br-ab12cd34ab12 nodad']);
  assert.deepEqual(bridgeLines(net6, { ...bridgeNow, addrs6: ['fd00:1::1/64'] }), []);
});

test('an IPv6 gateway the network no longer has leaves berth\'s own bridge, not a bridge berth did not make', () => {
  // berthd --ipv6 --fixed-cidr-v6 fd00:17::/64, then started again without (or with another subnet)
  assert.deepEqual(bridgeLines(net, { ...bridgeNow, addrs6: ['fd00:17::1/64'] }), ['addr del fd00:17::1/64 dev br-ab12cd34ab12']);
  const net6 = { ...net, subnet6: 'fd00:18::/64', gateway6: 'fd00:18::1' };
  assert.deepEqual(bridgeLines(net6, { ...bridgeNow, addrs6: ['fd00:17::1/64'] }),
    ['addr replace fd00:18::1/64 dev br-ab12cd34ab12 nodad', 'addr del fd00:17::1/64 dev br-ab12cd34ab12']);
  assert.deepEqual(bridgeLines(net, { ...bridgeNow, ifalias: undefined, addrs6: ['2001:db8::1/64'] }), []);
});
