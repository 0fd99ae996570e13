// The cluster state (pure): nodes joining again, overlay networks (subnets, VNIs, names),
// endpoints with cluster-wide addresses, and Docker's errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as S from '../../src/cluster/state';
import * as K from '../../src/cluster/keys';

const hex = (c: string) => c.repeat(64);
/** A cluster with one manager and nothing else. */
const emptyState = (clusterId: string, manager: S.ClusterState['nodes'][number]): S.ClusterState =>
  ({ version: 1, clusterId, managerNodeId: manager.id, nodes: [manager], alive: [manager.id], networks: [], endpoints: [] });
const mgr = { id: 'm', addr: '10.77.0.1', hostname: 'h1' };
const req = (name: string, id: string, extra: Partial<S.NetworkRequest> = {}): S.NetworkRequest =>
  ({ id, name, created: 'now', attachable: true, internal: false, labels: {}, options: {}, ...extra });
const ep = (id: string, networkId: string, nodeId: string, ip?: string): S.EndpointRequest =>
  ({ id, networkId, nodeId, containerId: id, name: `c${id[0]}`, hostname: 'h', aliases: [], mac: '', ...(ip ? { ip } : {}) });

test('networks: 10.0.N.0/24 from N=1, skipping what is used; one VNI each; names unique', () => {
  let s = emptyState('cl', mgr);
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
  const s0 = S.addNetwork(emptyState('cl', mgr), req('ov', hex('a')));
  let s = s0;
  let r = S.addEndpoint(s, ep(hex('1'), hex('a'), 'm'));
  assert.equal(r.endpoint.ip, '10.0.1.2');
  r = S.addEndpoint(r.state, ep(hex('2'), hex('a'), 'w'));
  assert.equal(r.endpoint.ip, '10.0.1.3', 'another node, the next address');
  assert.throws(() => S.addEndpoint(r.state, ep(hex('3'), hex('a'), 'w', '10.0.1.2')), /address already in use/i);
  assert.throws(() => S.addEndpoint(r.state, ep(hex('3'), hex('a'), 'w', '10.9.9.9')), /no configured subnet or ip-range contain the IP address 10.9.9.9/);
  assert.throws(() => S.removeNetwork(r.state, 'ov'), /error while removing network: network ov has active endpoints \(name:"[^"]+" id:"[0-9a-z]{1,12}", name:"[^"]+" id:"[0-9a-z]{1,12}"\)$/);
  s = { ...r.state, endpoints: r.state.endpoints.filter((e) => e.id !== hex('1')) };
  assert.equal(S.addEndpoint(s, ep(hex('4'), hex('a'), 'm')).endpoint.ip, '10.0.1.2', 'a freed address comes back');
});

test('taken addresses and VNIs that the view does not show yet are skipped (a failed compare-and-swap)', () => {
  const s = S.addNetwork(emptyState('cl', mgr), req('ov', hex('a')), [], [4097, 4098]);
  assert.equal(s.networks[0].vni, 4099);
  assert.equal(S.addEndpoint(s, ep(hex('1'), hex('a'), 'm'), ['10.0.1.2', '10.0.1.3']).endpoint.ip, '10.0.1.4');
  assert.throws(() => S.addEndpoint(s, ep(hex('1'), hex('a'), 'm', '10.0.1.3'), ['10.0.1.3']), /address already in use/i);
});

test('the view from etcd keys: nodes, liveness, networks, endpoints; strange keys and values left out', () => {
  const net = S.addNetwork(emptyState('cl', mgr), req('ov', hex('a'))).networks[0];
  const e = { id: hex('1'), networkId: hex('a'), nodeId: 'w', containerId: hex('1'), name: 'c', hostname: 'h', aliases: [], ip: '10.0.1.2', mac: '02:42:0a:00:01:02' };
  const kvs = new Map<string, string>([
    [K.INFO, JSON.stringify({ clusterId: 'cl', createdAt: 'now' })],
    [K.LEADER, 'm'],
    [K.node('m'), JSON.stringify({ ...mgr, role: 'manager' })],
    [K.node('w'), JSON.stringify({ id: 'w', addr: '10.77.0.2', hostname: 'h2', role: 'worker' })],
    [K.alive('m'), '1'],
    [K.network(net.id), JSON.stringify(net)],
    [K.endpoint(net.id, e.id), JSON.stringify(e)],
    [K.addr(net.id, e.ip), e.id],
    [K.node('x'), 'not json'],
    [K.endpoint(net.id, hex('2')), JSON.stringify(e)],       // id in the key and the value differ
    ['berth/cluster/unknown/x', '1'],
    ['elsewhere', '1'],
  ]);
  const v = S.fromKeys(kvs, 42);
  assert.equal(v.version, 42);
  assert.equal(v.clusterId, 'cl');
  assert.equal(v.managerNodeId, 'm');
  assert.deepEqual(v.nodes.map((n) => [n.id, n.role]), [['m', 'manager'], ['w', 'worker']]);
  assert.deepEqual(v.alive, ['m']);
  assert.deepEqual(v.networks.map((n) => n.name), ['ov']);
  assert.deepEqual(v.endpoints, [e]);
  // the view decides as the old state did: the next address after the endpoint's
  assert.equal(S.addEndpoint(v, ep(hex('3'), hex('a'), 'm')).endpoint.ip, '10.0.1.3');
});

test('key layout: every key parses back to what it names', () => {
  assert.deepEqual(K.parse(K.endpoint(hex('a'), hex('1'))), { kind: 'endpoint', net: hex('a'), id: hex('1') });
  assert.deepEqual(K.parse(K.addr(hex('a'), '10.0.1.2')), { kind: 'addr', net: hex('a'), id: '10.0.1.2' });
  assert.deepEqual(K.parse(K.subnet('10.0.1.0/24')), { kind: 'subnet', id: '10.0.1.0_24' });
  assert.deepEqual(K.parse(K.vni(4097)), { kind: 'vni', id: '4097' });
  assert.deepEqual(K.parse(K.alive('n')), { kind: 'alive', id: 'n' });
  assert.deepEqual(K.parse(K.INFO), { kind: 'info' });
  assert.equal(K.parse(`${K.CLUSTER}endpoints/x`), null);
  assert.equal(K.parse(K.CA_KEY), null, 'the CA is not part of the view');
});
