// The cluster state (pure): nodes joining again, overlay networks (subnets, VNIs, names),
// endpoints with cluster-wide addresses, and Docker's errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as S from '../../src/cluster/state';

const hex = (c: string) => c.repeat(64);
const mgr = { id: 'm', addr: '10.77.0.1', hostname: 'h1' };
const req = (name: string, id: string, extra: Partial<S.NetworkRequest> = {}): S.NetworkRequest =>
  ({ id, name, created: 'now', attachable: true, internal: false, labels: {}, options: {}, ...extra });
const ep = (id: string, networkId: string, nodeId: string, ip?: string): S.EndpointRequest =>
  ({ id, networkId, nodeId, containerId: id, name: `c${id[0]}`, hostname: 'h', aliases: [], mac: '', ...(ip ? { ip } : {}) });

test('networks: 10.0.N.0/24 from N=1, skipping what is used; one VNI each; names unique', () => {
  let s = S.emptyState('cl', mgr);
  s = S.addNetwork(s, req('ov', hex('a')));
  s = S.addNetwork(s, req('ov2', hex('b')), ['10.0.2.0/24']);
  assert.deepEqual(s.networks.map((n) => [n.subnet, n.gateway, n.vni]), [['10.0.1.0/24', '10.0.1.1', 4097], ['10.0.3.0/24', '10.0.3.1', 4098]]);
  assert.equal(s.networks[0].options['com.docker.network.driver.overlay.vxlanid_list'], '4097');
  assert.throws(() => S.addNetwork(s, req('ov', hex('c'))), /network with name ov already exists/);
  assert.throws(() => S.addNetwork(s, req('x', hex('c'), { subnet: '10.0.1.0/25' })), /overlaps/i);
  const t = S.addNetwork(s, req('mine', hex('c'), { subnet: '192.168.90.0/24', gateway: '192.168.90.254' }));
  assert.equal(t.networks[2].gateway, '192.168.90.254');
  assert.ok(t.version > s.version);
});

test('endpoints: one address space for every node; asked-for addresses checked; removal', () => {
  let s = S.addNetwork(S.emptyState('cl', mgr), req('ov', hex('a')));
  s = S.addNode(s, { id: 'w', addr: '10.77.0.2', hostname: 'h2' });
  let r = S.addEndpoint(s, ep(hex('1'), hex('a'), 'm'));
  assert.equal(r.endpoint.ip, '10.0.1.2');
  r = S.addEndpoint(r.state, ep(hex('2'), hex('a'), 'w'));
  assert.equal(r.endpoint.ip, '10.0.1.3', 'another node, the next address');
  assert.throws(() => S.addEndpoint(r.state, ep(hex('3'), hex('a'), 'w', '10.0.1.2')), /address already in use/i);
  assert.throws(() => S.addEndpoint(r.state, ep(hex('3'), hex('a'), 'w', '10.9.9.9')), /no configured subnet or ip-range contain the IP address 10.9.9.9/);
  assert.throws(() => S.removeNetwork(r.state, 'ov'), /error while removing network: network ov has active endpoints \(name:"[^"]+" id:"[0-9a-z]{1,12}", name:"[^"]+" id:"[0-9a-z]{1,12}"\)$/);
  s = S.removeEndpoint(r.state, hex('1'));
  assert.equal(S.addEndpoint(s, ep(hex('4'), hex('a'), 'm')).endpoint.ip, '10.0.1.2', 'a freed address comes back');
});

test('nodes: joining again keeps its endpoints; leaving, or a new node on its address, drops them', () => {
  let s = S.addNetwork(S.emptyState('cl', mgr), req('ov', hex('a')));
  s = S.addNode(s, { id: 'w', addr: '10.77.0.2', hostname: 'h2' });
  s = S.addEndpoint(s, ep(hex('1'), hex('a'), 'w')).state;
  s = S.addNode(s, { id: 'w', addr: '10.77.0.2', hostname: 'h2' });
  assert.equal(s.endpoints.length, 1, 'a restarted worker');
  const other = S.addNode(s, { id: 'w2', addr: '10.77.0.2', hostname: 'h2' });
  assert.deepEqual([other.nodes.map((n) => n.id), other.endpoints.length], [['m', 'w2'], 0]);
  const left = S.removeNode(s, 'w');
  assert.deepEqual([left.nodes.map((n) => n.id), left.endpoints.length], [['m'], 0]);
});
