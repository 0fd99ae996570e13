// When a call to the cluster store is tried again (src/cluster/retry.ts): the failures that pass
// once a member is left or a leader is elected, and only those; a pause that grows; no try
// started after the call's budget is spent.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  EtcdAuthenticationFailedError, EtcdPermissionDeniedError, GRPCDeadlineExceededError, GRPCInvalidArgumentError,
  GRPCUnavailableError, EtcdError, castGrpcError,
} from 'etcd3';
import { backoff, nextTry, transient } from '../../src/cluster/retry';

const STATUS: Record<number, string> = { 2: 'UNKNOWN', 3: 'INVALID_ARGUMENT', 4: 'DEADLINE_EXCEEDED', 14: 'UNAVAILABLE' };
/** The error the etcd3 client makes of a gRPC status, as it does for a real call (grpc-js's message shape). */
const grpc = (code: number, details: string) =>
  castGrpcError(Object.assign(new Error(`${code} ${STATUS[code]}: ${details}`), { code, details }));

test('a member out of reach or a leader being elected: tried again', () => {
  assert.ok(transient(grpc(14, 'No connection established. Last error: connect ECONNREFUSED 10.78.0.1:2377')));
  assert.ok(transient(grpc(4, 'Deadline exceeded after 2.001s,LB pick: 0.001s,remote_addr=10.78.0.2:2377')));
  assert.ok(transient(grpc(14, 'etcdserver: no leader')));
  assert.ok(transient(grpc(14, 'etcdserver: leader changed')));
  assert.ok(transient(grpc(14, 'etcdserver: request timed out, possibly due to previous leader failure')));
  assert.ok(transient(grpc(2, 'context deadline exceeded')), 'a member whose wait for the leader ran out');
  // (etcd's wording counts whatever code and class it came with)
  assert.ok(transient(new EtcdError('etcdserver: raft proposal dropped')));
  assert.ok(transient(new GRPCUnavailableError('x')));
  assert.ok(transient(new GRPCDeadlineExceededError('x')));
});

test('an answer from the store that a repeat would not change: given up at once', () => {
  assert.equal(transient(grpc(3, 'etcdserver: authentication failed, invalid user ID or password')), false);
  assert.equal(transient(new EtcdAuthenticationFailedError('etcdserver: authentication failed, invalid user ID or password')), false);
  assert.equal(transient(new EtcdPermissionDeniedError('etcdserver: permission denied')), false);
  assert.equal(transient(new GRPCInvalidArgumentError('etcdserver: duplicate key given in txn request')), false);
  assert.equal(transient(new Error('network with name x already exists')), false);
  assert.equal(transient(grpc(2, 'some other failure')), false);
  assert.equal(transient(undefined), false);
  assert.equal(nextTry(new EtcdPermissionDeniedError('etcdserver: permission denied'), 1, 0, 10_000, 0.5), null);
});

test('the pause doubles from 100 ms up to 1 s, spread by the jitter', () => {
  assert.deepEqual([1, 2, 3, 4, 5, 6, 20].map((a) => backoff(a, 1)), [100, 200, 400, 800, 1000, 1000, 1000]);
  assert.deepEqual([1, 4, 5].map((a) => backoff(a, 0)), [50, 400, 500]);
});

test('no try starts after the budget: then the clear error', () => {
  const e = new GRPCUnavailableError('etcdserver: no leader');
  assert.equal(nextTry(e, 1, 0, 10_000, 1), 100);
  assert.equal(nextTry(e, 5, 9_000, 10_000, 1), null, 'a pause that would end past the budget');
  assert.equal(nextTry(e, 1, 10_000, 10_000, 1), null, 'the budget spent');
  assert.equal(nextTry(e, 5, 8_000, 10_000, 1), 1000);
});
