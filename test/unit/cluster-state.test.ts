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

test('dual-stack networks: the IPv6 entry as given, checked against the other networks\' with Docker\'s words', () => {
  let s = S.addNetwork(emptyState('cl', mgr), req('ov6', hex('a'), { enableIPv6: true, subnet6: 'fd00:1::/64' }));
  const n = s.networks[0];
  assert.deepEqual([n.enableIPv6, n.subnet6, n.gateway6, n.subnet], [true, 'fd00:1::/64', 'fd00:1::1', '10.0.1.0/24'],
    'the first address as gateway (Docker\'s swarm shows it); an IPv4 subnet from the pool');
  s = S.addNetwork(s, req('gw6', hex('b'), { enableIPv6: true, subnet6: 'fd00:2:0::/64', gateway6: 'fd00:2::fe', ipRange6: 'fd00:2::100/120' }));
  assert.deepEqual([s.networks[1].gateway6, s.networks[1].ipRange6], ['fd00:2::fe', 'fd00:2::100/120']);
  assert.equal(S.subnetKey6(s.networks[1]), 'fd00:2::/64', 'one etcd key per subnet, however it is written');
  assert.equal(S.subnetKey6(s.networks.find((x) => x.name === 'ov6')!), 'fd00:1::/64');
  assert.throws(() => S.addNetwork(s, req('x', hex('c'), { enableIPv6: true })),
    /could not find an available, non-overlapping IPv6 address pool among the defaults to assign to the network/);
  assert.throws(() => S.addNetwork(s, req('x', hex('c'), { enableIPv6: true, subnet6: 'fd00:1::/80' })), /Pool overlaps with other one on this address space/);
  assert.throws(() => S.addNetwork(s, req('x', hex('c'), { enableIPv6: true, subnet6: 'fe80::/64' })), /link-local/);
  assert.throws(() => S.addNetwork(s, req('x', hex('c'), { enableIPv6: true, subnet6: 'fd00:9::/64', gateway6: 'fd00:8::1' })),
    /failed to allocate gateway \(fd00:8::1\): Requested address is out of range/);
  assert.throws(() => S.addNetwork(s, req('x', hex('c'), { enableIPv6: true, subnet6: 'fd00:9::zz/64' })), /Invalid subnet fd00:9::zz\/64/);
  const v4 = S.addNetwork(s, req('v4', hex('c'))).networks[2];
  assert.deepEqual([v4.enableIPv6, v4.subnet6], [undefined, undefined], 'an IPv4-only network has no IPv6 fields');
});

test('dual-stack endpoints: an address of each family, cluster-wide; --ip6 checked; taken ones skipped', () => {
  let s = S.addNetwork(emptyState('cl', mgr), req('ov6', hex('a'), { enableIPv6: true, subnet6: 'fd00:1::/64', subnet: '10.5.0.0/24' }));
  s = S.addNetwork(s, req('v4', hex('b')));
  let r = S.addEndpoint(s, ep(hex('1'), hex('a'), 'm'));
  assert.deepEqual([r.endpoint.ip, r.endpoint.ip6], ['10.5.0.2', 'fd00:1::2']);
  assert.deepEqual(S.addressesOf(r.endpoint), ['10.5.0.2', 'fd00:1::2']);
  r = S.addEndpoint(r.state, { ...ep(hex('2'), hex('a'), 'w'), ip6: 'fd00:1:0::99' });
  assert.deepEqual([r.endpoint.ip, r.endpoint.ip6], ['10.5.0.3', 'fd00:1::99'], 'the address asked for, in RFC 5952 form (its key in etcd)');
  assert.throws(() => S.addEndpoint(r.state, { ...ep(hex('3'), hex('a'), 'w'), ip6: 'fd00:1::99' }), /address already in use/i);
  assert.throws(() => S.addEndpoint(r.state, { ...ep(hex('3'), hex('a'), 'w'), ip6: 'fd00:2::5' }),
    /Invalid address fd00:2::5: It does not belong to any of this network's subnets/);
  assert.throws(() => S.addEndpoint(r.state, { ...ep(hex('3'), hex('a'), 'w'), ip6: 'fd00:1::1' }), /address already in use/i, 'the gateway');
  assert.throws(() => S.addEndpoint(r.state, { ...ep(hex('3'), hex('b'), 'w'), ip6: 'fd00:1::7' }), /network v4 has no IPv6 address pool/);
  // Addresses of either family found taken in etcd (a failed compare) are skipped.
  const t = S.addEndpoint(r.state, ep(hex('3'), hex('a'), 'w'), ['10.5.0.4', 'fd00:1::3', 'fd00:1::4']).endpoint;
  assert.deepEqual([t.ip, t.ip6], ['10.5.0.5', 'fd00:1::5']);
  const v4 = S.addEndpoint(r.state, ep(hex('4'), hex('b'), 'w')).endpoint;
  assert.equal(v4.ip6, undefined);
  assert.deepEqual(S.addressesOf(v4), [v4.ip]);
  // A freed IPv6 address comes back.
  const u = { ...r.state, endpoints: r.state.endpoints.filter((e) => e.id !== hex('1')) };
  assert.equal(S.addEndpoint(u, ep(hex('5'), hex('a'), 'm')).endpoint.ip6, 'fd00:1::2');
});

test('records of an older berthd (no IPv6 fields) load as IPv4-only networks and endpoints', () => {
  const old = { id: hex('a'), name: 'ov', created: 'then', subnet: '10.0.1.0/24', gateway: '10.0.1.1', vni: 4097, attachable: true, internal: false, labels: {}, options: {} };
  const e = { id: hex('1'), networkId: hex('a'), nodeId: 'w', containerId: hex('1'), name: 'c', hostname: 'h', aliases: [], ip: '10.0.1.2', mac: '02:42:0a:00:01:02' };
  const v = S.fromKeys(new Map([[K.network(old.id), JSON.stringify(old)], [K.endpoint(old.id, e.id), JSON.stringify(e)],
    [K.endpoint(old.id, hex('9')), JSON.stringify({ ...e, id: hex('9'), ip6: 42 })],          // a wrong shape: left out
    [K.network(hex('b')), JSON.stringify({ ...old, id: hex('b'), subnet6: ['x'] })]]), 7);
  assert.deepEqual([v.networks.length, v.endpoints.length], [1, 1]);
  assert.equal(v.networks[0].enableIPv6, undefined);
  assert.deepEqual(S.addressesOf(v.endpoints[0]), ['10.0.1.2']);
  assert.deepEqual(S.addEndpoint(v, ep(hex('2'), hex('a'), 'm')).endpoint, { ...ep(hex('2'), hex('a'), 'm'), ip: '10.0.1.3', mac: '02:42:0a:00:01:03' });
  assert.deepEqual(K.parse(K.subnet('fd00:1::/64')), { kind: 'subnet', id: 'fd00:1::_64' });
  assert.deepEqual(K.parse(K.addr(hex('a'), 'fd00:1::2')), { kind: 'addr', net: hex('a'), id: 'fd00:1::2' });
});
