// berthd's --cluster-store / --cluster-advertise / --cluster-store-opt / --cluster-ttl (pure parsing).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseClusterFlags, parseTtl } from '../../src/daemon/clusterflags';

test('cluster flags: etcd URLs, TLS options, clear errors', () => {
  assert.equal(parseClusterFlags(undefined, undefined, []), null);
  assert.deepEqual(parseClusterFlags('etcd://10.0.0.1:2379,10.0.0.2:2379', '10.0.0.3:2376', []),
    { hosts: ['http://10.0.0.1:2379', 'http://10.0.0.2:2379'], advertise: '10.0.0.3', cacertfile: undefined, certfile: undefined, keyfile: undefined });
  const tls = parseClusterFlags('etcd://e1:2379', '10.0.0.3', ['kv.cacertfile=/ca.pem', 'kv.certfile=/c.pem', 'kv.keyfile=/k.pem'])!;
  assert.deepEqual([tls.hosts, tls.cacertfile, tls.certfile, tls.keyfile], [['https://e1:2379'], '/ca.pem', '/c.pem', '/k.pem']);
  assert.throws(() => parseClusterFlags('consul://c:8500', '10.0.0.3', []), /unsupported KV store consul/);
  assert.throws(() => parseClusterFlags('etcd://e1', '10.0.0.3', []), /e1 is not HOST:PORT/);
  assert.throws(() => parseClusterFlags('etcd://e1:2379', undefined, []), /needs --cluster-advertise/);
  assert.throws(() => parseClusterFlags('etcd://e1:2379', 'eth0', []), /expected an IPv4 address/);
  assert.throws(() => parseClusterFlags(undefined, '10.0.0.3', []), /--cluster-advertise needs --cluster-store/);
  assert.throws(() => parseClusterFlags('etcd://e1:2379', '10.0.0.3', ['kv.path=/x']), /expected one of kv.cacertfile=FILE/);
  assert.throws(() => parseClusterFlags('etcd://e1:2379', '10.0.0.3', ['kv.certfile=/c.pem']), /go together/);
  assert.equal(parseTtl(undefined), undefined);
  assert.equal(parseTtl('3'), 3);
  assert.throws(() => parseTtl('1'), /from 2 to 3600/);
  assert.throws(() => parseTtl('x'), /from 2 to 3600/);
});
