// A network's IPAM entries by family, and IPAM.Config as Docker shows it (asked of Docker
// 20.10.24: an IPv6 subnet given without --gateway shows no Gateway key).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gateway6Of, ipamConfigJson, v4Config, v6Config } from '../../src/engine/ipamview';
import type { NetworkRecord } from '../../src/engine/types';

const rec = (cfgs: NetworkRecord['IPAM']['Config']) => ({ IPAM: { Driver: 'default', Options: null, Config: cfgs } }) as NetworkRecord;

test('entries by family, whatever their order', () => {
  const n = rec([{ Subnet: 'fd00:1::/64', Gateway: '' }, { Subnet: '172.18.0.0/16', Gateway: '172.18.0.1' }]);
  assert.equal(v4Config(n)!.Subnet, '172.18.0.0/16');
  assert.equal(v6Config(n)!.Subnet, 'fd00:1::/64');
  assert.equal(v6Config(rec([{ Subnet: '10.0.0.0/8', Gateway: '10.0.0.1' }])), undefined);
});

test('the IPv6 gateway: the one given, else the first address of the subnet (or of its --ip-range)', () => {
  assert.equal(gateway6Of({ Subnet: 'fd00:1::/64', Gateway: '' }), 'fd00:1::1');
  assert.equal(gateway6Of({ Subnet: 'fd00:1::/64', Gateway: 'fd00:1::fe' }), 'fd00:1::fe');
  assert.equal(gateway6Of({ Subnet: 'fd00:1::/64', Gateway: '', IPRange: 'fd00:1::100/120' }), 'fd00:1::100');
});

test('IPAM.Config as Docker prints it', () => {
  assert.deepEqual(ipamConfigJson([{ Subnet: '172.18.0.0/16', Gateway: '172.18.0.1' }, { Subnet: 'fd00:1::/64', Gateway: '' }]),
    [{ Subnet: '172.18.0.0/16', Gateway: '172.18.0.1' }, { Subnet: 'fd00:1::/64' }]);
  assert.deepEqual(ipamConfigJson([{ Subnet: 'fd00:2::/64', Gateway: 'fd00:2::1', IPRange: 'fd00:2::/80' }]),
    [{ Subnet: 'fd00:2::/64', Gateway: 'fd00:2::1', IPRange: 'fd00:2::/80' }]);
});
