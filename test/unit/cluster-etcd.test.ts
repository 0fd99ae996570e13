// The etcd-backed cluster store (src/cluster/kv.ts) against a real etcd (Debian's etcd-server)
// that the test starts in a network namespace of its own (loopback only) with its data in a
// temporary directory: the key layout, transactions that never hand out a name or an address
// twice under parallel clients, leases that take a dead node's endpoints with them, watches
// that bring every change, and the clear error when etcd is out of reach.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ClusterStore } from '../../src/cluster/kv';
import * as K from '../../src/cluster/keys';
import type { NetworkRequest, EndpointRequest } from '../../src/cluster/state';

const INNER = process.env.BERTH_ETCD_TEST_INNER === '1';
const haveEtcd = spawnSync('etcd', ['--version']).status === 0;
const skip = process.getuid?.() !== 0 ? 'needs root (a network namespace)' : !haveEtcd ? 'needs etcd (Debian etcd-server)' : false;

if (!INNER) {
  // The outer run: the same file again, inside a new network namespace with only loopback.
  test('cluster store on a real etcd (in a network namespace of its own)', { skip }, () => {
    const r = spawnSync('unshare', ['--net', 'sh', '-c', `ip link set lo up && exec "${process.execPath}" --test "${__filename}"`],
      // (without NODE_TEST_CONTEXT: the inner run reports and exits as a run of its own)
      { env: { ...process.env, NODE_TEST_CONTEXT: undefined, BERTH_ETCD_TEST_INNER: '1' }, encoding: 'utf8', timeout: 120_000 });
    assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
  });
} else {
  const hex = (c: string) => c.repeat(64);
  const PORT = 23790;
  let etcd: ChildProcess;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'berth-etcd-'));
  const startEtcd = () => spawn('etcd', ['--name', 't', '--data-dir', path.join(dir, 'data'),
    '--listen-client-urls', `http://127.0.0.1:${PORT}`, '--advertise-client-urls', `http://127.0.0.1:${PORT}`,
    '--listen-peer-urls', 'http://127.0.0.1:23800', '--initial-advertise-peer-urls', 'http://127.0.0.1:23800',
    '--initial-cluster', 't=http://127.0.0.1:23800', '--logger', 'zap', '--log-outputs', path.join(dir, 'etcd.log')], { stdio: 'ignore' });
  const store = () => new ClusterStore({ hosts: [`http://127.0.0.1:${PORT}`], timeoutMs: 2000 });
  const net = (name: string, id: string): NetworkRequest => ({ id, name, created: new Date().toISOString(), attachable: true, internal: false, labels: {}, options: {} });
  const ep = (id: string, networkId: string, nodeId: string): EndpointRequest =>
    ({ id, networkId, nodeId, containerId: id, name: `c-${id.slice(0, 4)}`, hostname: 'h', aliases: [], mac: '' });
  const views: ClusterStore[] = [];
  const follow = async (s: ClusterStore) => { views.push(s); await s.follow(() => undefined); return s; };

  /** Until the store's view (its watch) shows what `ok` wants. */
  const seen = async (s: ClusterStore, ok: (v: ClusterStore['view']) => boolean) => {
    for (let i = 0; i < 100 && !ok(s.view); i++) await new Promise((r) => setTimeout(r, 100));
    assert.ok(ok(s.view), 'the watch brought the change');
  };

  /** Until etcd answers (a new client each time: a client's circuit breaker stays open a while). */
  const answers = async () => {
    for (let i = 0; i < 200; i++) {
      const s = store();
      try { await s.client.get('x').string(); return; } catch { await new Promise((r) => setTimeout(r, 100)); } finally { s.close(); }
    }
    throw new Error('etcd did not start');
  };

  test('setup: etcd answers', async () => {
    etcd = startEtcd();
    await answers();
  });

  test('networks: two hosts racing for one name, one wins; VNIs and subnets stay unique; keys as keys.ts says', async () => {
    const [a, b] = await Promise.all([follow(store()), follow(store())]);
    const r = await Promise.allSettled([a.createNetwork(net('ov', hex('a')), []), b.createNetwork(net('ov', hex('b')), [])]);
    assert.deepEqual(r.map((x) => x.status).sort(), ['fulfilled', 'rejected']);
    assert.match(String((r.find((x) => x.status === 'rejected') as PromiseRejectedResult).reason.message), /network with name ov already exists/);
    // Many at once from both: every one made, none sharing a VNI or a subnet.
    const made = await Promise.all([...'cdefgh'].map((c, i) => (i % 2 ? a : b).createNetwork(net(`n${c}`, hex(c)), [])));
    assert.equal(new Set(made.map((n) => n.vni)).size, made.length);
    assert.equal(new Set(made.map((n) => n.subnet)).size, made.length);
    const won = (r.find((x) => x.status === 'fulfilled') as PromiseFulfilledResult<any>).value;
    assert.equal(await a.client.get(K.name('ov')).string(), won.id);
    assert.equal(await a.client.get(K.vni(won.vni)).string(), won.id);
    assert.equal(await a.client.get(K.subnet(won.subnet)).string(), won.id);
    await a.caughtUp();
    assert.equal(a.view.networks.length, 7, 'the watch brought them all');
  });

  test('a change made again whose first answer was lost (a try again after a leader\'s loss): its own success, not a conflict', async () => {
    const [a] = views;
    // A client that has not seen the network yet makes it again: the one made, no 409.
    const late = store();
    const again = await late.createNetwork(net('nc', hex('c')), []);
    assert.deepEqual(again, a.view.networks.find((n) => n.id === hex('c')));
    // A client whose view still shows a network that was removed meanwhile: removed, as asked.
    late.view = a.view;
    await a.removeNetwork(hex('h'));
    await late.removeNetwork(hex('h'));
    assert.equal(await a.client.get(K.name('nh')).string(), null);
    late.close();
  });

  test('endpoints: parallel hosts never get the same address; a removed network keeps none; lease expiry removes a dead host\'s', async () => {
    const [a, b] = views;
    const id = b.view.networks.find((n) => n.name === 'ov')!.id;
    const la = await a.lease(2), lb = await b.lease(30);
    const eps = await Promise.all([...'0123456789'].map((c, i) => (i % 2 ? b : a).addEndpoint(ep(hex(c), id, i % 2 ? 'B' : 'A'), i % 2 ? lb.id : la.id)));
    assert.equal(new Set(eps.map((e) => e.ip)).size, eps.length, eps.map((e) => e.ip).join(' '));
    for (const e of eps) assert.equal(await a.client.get(K.addr(id, e.ip)).string(), e.id);
    await assert.rejects(b.removeNetwork(id), /has active endpoints/);
    // Host A dies: its lease is not kept alive; etcd removes its endpoints and addresses.
    la.lease.release();
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline && b.view.endpoints.some((e) => e.nodeId === 'A')) await new Promise((r) => setTimeout(r, 100));
    assert.equal(b.view.endpoints.filter((e) => e.nodeId === 'A').length, 0, 'A\'s endpoints went with its lease');
    assert.equal(b.view.endpoints.filter((e) => e.nodeId === 'B').length, 5);
    assert.equal((await b.client.getAll().prefix(`${K.CLUSTER}addrs/${id}/`).keys()).length, 5);
    for (const e of eps.filter((x) => x.nodeId === 'B')) await b.removeEndpoint(e);
    await b.removeNetwork(id);
    assert.equal(await b.client.get(K.name('ov')).string(), null);
    lb.lease.release();
  });

  test('dual-stack: one network per IPv6 subnet; parallel hosts never share an IPv6 address; both freed together', async () => {
    const [a, b] = views;
    const v6 = (name: string, id: string, subnet6: string): NetworkRequest => ({ ...net(name, id), enableIPv6: true, subnet6 });
    // Two hosts racing for one IPv6 subnet (written two ways): one network gets it.
    const r = await Promise.allSettled([a.createNetwork(v6('d1', hex('i'), 'fd00:7::/64'), []), b.createNetwork(v6('d2', hex('j'), 'fd00:7:0::/64'), [])]);
    assert.deepEqual(r.map((x) => x.status).sort(), ['fulfilled', 'rejected']);
    assert.match(String((r.find((x) => x.status === 'rejected') as PromiseRejectedResult).reason.message), /Pool overlaps with other one on this address space/);
    const made = (r.find((x) => x.status === 'fulfilled') as PromiseFulfilledResult<any>).value;
    assert.equal(await a.client.get(K.subnet('fd00:7::/64')).string(), made.id);
    await Promise.all([seen(a, (v) => v.networks.some((n) => n.id === made.id)), seen(b, (v) => v.networks.some((n) => n.id === made.id))]);
    const la = await a.lease(30), lb = await b.lease(30);
    const eps = await Promise.all([...'0123456789'].map((c, i) => (i % 2 ? b : a).addEndpoint(ep(hex(c), made.id, i % 2 ? 'B' : 'A'), i % 2 ? lb.id : la.id)));
    assert.equal(new Set(eps.map((e) => e.ip6)).size, eps.length, eps.map((e) => e.ip6).join(' '));
    for (const e of eps) {
      assert.match(e.ip6!, /^fd00:7::[0-9a-f]+$/);
      assert.equal(await a.client.get(K.addr(made.id, e.ip6!)).string(), e.id);
    }
    // An --ip6 another endpoint holds (one the asking view has not seen yet either): refused.
    const late = store();
    late.view = { ...b.view, endpoints: [] };
    await assert.rejects(late.addEndpoint({ ...ep(hex('f'), made.id, 'B'), ip6: eps[0].ip6 }, lb.id), /Address already in use/);
    late.close();
    for (const e of eps) await (e.nodeId === 'A' ? a : b).removeEndpoint(e);
    assert.equal((await a.client.getAll().prefix(`${K.CLUSTER}addrs/${made.id}/`).keys()).length, 0, 'both families\' addresses freed');
    await seen(a, (v) => !v.endpoints.some((e) => e.networkId === made.id));
    await a.removeNetwork(made.id);
    assert.equal(await a.client.get(K.subnet('fd00:7::/64')).string(), null, 'the IPv6 subnet is free again');
    la.lease.release(); lb.lease.release();
  });

  test('out of reach: a clear error, and nothing is made', async () => {
    const [a] = views;
    const id = a.view.networks[0].id;
    etcd.kill('SIGKILL');
    await new Promise((r) => etcd.once('exit', r));
    await assert.rejects(a.addEndpoint(ep(hex('e'), id, 'A'), '1'), /the cluster store is not reachable: /);
    await assert.rejects(a.createNetwork(net('late', hex('f')), []), /the cluster store is not reachable: /);
    etcd = startEtcd();
    await answers();
    const s = store();
    assert.equal(await s.client.get(K.name('late')).string(), null, 'nothing half-made');
    assert.equal((await s.client.getAll().prefix(`${K.CLUSTER}endpoints/`).keys()).length, 0);
    s.close();
  });

  test('teardown', () => {
    for (const v of views) v.close();
    etcd.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });
}
