// berth's nft table as text: the base ruleset, what a network and a published port add, and
// the add/delete scripts (nft itself checks the syntax in the e2e tests).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  addElementsScript, baseRuleset, deleteElementsScript, networkElements, portElements, resetScript,
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
  assert.ok(resetScript().startsWith('add table ip berth\ndelete table ip berth\n'));
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
