// IPAM: subnet math, default pools, network-create validation and per-network allocation.
// Expected messages and choices were taken from the reference Docker 20.10 (network create /
// run --ip through the Engine API).
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { ApiError } from '../../src/util/errors';
import {
  Allocator, DEFAULT_POOLS, POOLS_EXHAUSTED, broadcast, canonicalCidr, chooseSubnet, contains,
  containsSubnet, macFromIp, networkAddress, overlaps, parseIPv4, parseSubnet, prefixLen,
  validateIpamConfig,
} from '../../src/ipam';

function apiErr(fn: () => unknown, status: number, message: string) {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof ApiError, `expected ApiError, got ${e}`);
    assert.equal(e.message, message);
    assert.equal(e.status, status);
    return true;
  });
}

test('subnet math', () => {
  assert.equal(parseIPv4('10.1.2.3'), 0x0a010203);
  assert.equal(parseIPv4('255.255.255.255'), 0xffffffff);
  for (const bad of ['abc', '1.2.3', '1.2.3.4.5', '01.2.3.4', '256.1.1.1', '', '::1', '1.2.3.4/8'])
    assert.equal(parseIPv4(bad), null, bad);
  const s = parseSubnet('172.20.1.0/16');
  assert.equal(s.prefix, 16);
  assert.equal(s.size, 65536);
  assert.equal(canonicalCidr('172.20.1.0/16'), '172.20.0.0/16');
  assert.equal(networkAddress('172.20.1.7/16'), '172.20.0.0');
  assert.equal(broadcast('172.20.1.7/16'), '172.20.255.255');
  assert.equal(broadcast('0.0.0.0/0'), '255.255.255.255');
  assert.equal(prefixLen('10.0.0.0/8'), 8);
  assert.equal(canonicalCidr('10.1.2.3/32'), '10.1.2.3/32');
  for (const bad of ['abc', '10.0.0.0/33', '10.0.0.0', '10.0.0.0/', '10.0.0/8', 'fd00::/64', '10.0.0.0/-1'])
    assert.throws(() => parseSubnet(bad), { message: `invalid CIDR address: ${bad}` });
  assert.ok(contains('10.1.0.0/16', '10.1.255.255'));
  assert.ok(contains('10.1.0.0/16', '10.1.0.0'));
  assert.ok(!contains('10.1.0.0/16', '10.2.0.0'));
  assert.ok(!contains('10.1.0.0/16', 'junk'));
  assert.ok(containsSubnet('10.1.0.0/16', '10.1.2.0/24'));
  assert.ok(!containsSubnet('10.1.2.0/24', '10.1.0.0/16'));
  assert.ok(overlaps('172.17.0.0/16', '172.17.5.0/24'));
  assert.ok(overlaps('172.17.5.0/24', '172.17.0.0/16'));
  assert.ok(overlaps('10.0.0.0/8', '10.0.0.0/8'));
  assert.ok(!overlaps('172.17.0.0/16', '172.18.0.0/16'));
  assert.ok(!overlaps('192.168.0.0/20', '192.168.16.0/20'));
});

test('macFromIp follows Docker 02:42 + address bytes', () => {
  assert.equal(macFromIp('172.25.0.3'), '02:42:ac:19:00:03');
  assert.equal(macFromIp('10.255.0.1'), '02:42:0a:ff:00:01');
  assert.throws(() => macFromIp('nope'));
});

test('default pools: 172.17-31/16 then 192.168/16 in /20s', () => {
  assert.equal(DEFAULT_POOLS.length, 15 + 16);
  assert.equal(DEFAULT_POOLS[0], '172.17.0.0/16');
  assert.equal(DEFAULT_POOLS[14], '172.31.0.0/16');
  assert.equal(DEFAULT_POOLS[15], '192.168.0.0/20');
  assert.equal(DEFAULT_POOLS[30], '192.168.240.0/20');
  assert.equal(chooseSubnet([]), '172.17.0.0/16');
  assert.equal(chooseSubnet(['172.17.0.0/16']), '172.18.0.0/16');
  // a host route inside a pool makes it unusable; unrelated or unparsable routes do not
  assert.equal(chooseSubnet(['172.17.3.0/24', '10.0.0.0/8', 'fe80::/64', 'default']), '172.18.0.0/16');
  // a covering route (172.16.0.0/12) takes every 172 pool
  assert.equal(chooseSubnet(['172.16.0.0/12']), '192.168.0.0/20');
  assert.equal(chooseSubnet(['172.16.0.0/12', '192.168.1.0/24']), '192.168.16.0/20');
  apiErr(() => chooseSubnet(['172.16.0.0/12', '192.168.0.0/16']), 400, POOLS_EXHAUSTED);
});

test('validateIpamConfig fills gateway and keeps the subnet as written', () => {
  assert.deepEqual(validateIpamConfig({ Subnet: '10.1.0.0/16' }, []), { Subnet: '10.1.0.0/16', Gateway: '10.1.0.1' });
  // Docker keeps "172.20.1.0/16" as given; the gateway is the subnet's first address
  assert.deepEqual(validateIpamConfig({ Subnet: '172.20.1.0/16' }, []), { Subnet: '172.20.1.0/16', Gateway: '172.20.0.1' });
  // with an IP range the gateway is the range's first address (Docker: 172.20.2.0 here)
  assert.deepEqual(validateIpamConfig({ Subnet: '172.20.1.0/16', IPRange: '172.20.2.128/24' }, []),
    { Subnet: '172.20.1.0/16', Gateway: '172.20.2.0', IPRange: '172.20.2.128/24' });
  // a range starting at the network address skips it
  assert.equal(validateIpamConfig({ Subnet: '10.1.0.0/16', IPRange: '10.1.0.0/24' }, []).Gateway, '10.1.0.1');
  // user gateway outside the range but inside the subnet is fine
  assert.deepEqual(validateIpamConfig({ Subnet: '10.1.0.0/16', IPRange: '10.1.2.0/24', Gateway: '10.1.5.1' }, []),
    { Subnet: '10.1.0.0/16', Gateway: '10.1.5.1', IPRange: '10.1.2.0/24' });
  assert.deepEqual(validateIpamConfig({ Subnet: '10.1.0.0/16', AuxiliaryAddresses: { a: '10.1.0.9' } }, []),
    { Subnet: '10.1.0.0/16', Gateway: '10.1.0.1', AuxiliaryAddresses: { a: '10.1.0.9' } });
  // aux outside the range is still fine (it is in the subnet)
  assert.equal(validateIpamConfig({ Subnet: '10.20.0.0/16', IPRange: '10.20.0.0/24', AuxiliaryAddresses: { a: '10.20.1.0' } }, []).Gateway, '10.20.0.1');
  // /30 has two usable addresses
  assert.equal(validateIpamConfig({ Subnet: '10.16.0.0/30' }, []).Gateway, '10.16.0.1');
  // no subnet: a default pool
  assert.deepEqual(validateIpamConfig({}, ['172.17.0.0/16']), { Subnet: '172.18.0.0/16', Gateway: '172.18.0.1' });
  // a non-overlapping used subnet does not matter
  assert.equal(validateIpamConfig({ Subnet: '10.2.0.0/16' }, ['10.1.0.0/16']).Subnet, '10.2.0.0/16');
});

test('validateIpamConfig errors carry Docker messages', () => {
  const v = (cfg: object, used: string[] = []) => () => validateIpamConfig(cfg, used, 'tn3');
  apiErr(v({ Subnet: 'abc' }), 400, 'Invalid subnet abc : invalid CIDR address: abc');
  apiErr(v({ Subnet: '172.20.0.0/33' }), 400, 'Invalid subnet 172.20.0.0/33 : invalid CIDR address: 172.20.0.0/33');
  apiErr(v({ Subnet: 'fd00::/64' }), 400, 'IPv6 subnets are not supported by berth yet: fd00::/64');
  apiErr(v({ Gateway: '10.1.0.1' }), 400, 'every ip-range or gateway must have a corresponding subnet');
  apiErr(v({ IPRange: '10.1.0.0/24' }), 400, 'every ip-range or gateway must have a corresponding subnet');
  apiErr(v({ Subnet: '172.17.5.0/24' }, ['172.17.0.0/16']), 403, 'Pool overlaps with other one on this address space');
  apiErr(v({ Subnet: '172.17.0.0/16' }, ['172.17.0.0/16']), 403, 'Pool overlaps with other one on this address space');
  apiErr(v({ Subnet: '10.1.0.0/16', Gateway: 'abc' }), 400, 'invalid gateway address abc in Ipam configuration');
  apiErr(v({ Subnet: '10.1.0.0/16', Gateway: '10.2.0.1' }), 400, 'failed to allocate gateway (10.2.0.1): Requested address is out of range');
  apiErr(v({ Subnet: '10.12.0.0/16', Gateway: '10.12.0.0' }), 400, 'failed to allocate gateway (10.12.0.0): Address already in use');
  apiErr(v({ Subnet: '10.13.0.0/16', Gateway: '10.13.255.255' }), 400, 'failed to allocate gateway (10.13.255.255): Address already in use');
  apiErr(v({ Subnet: '10.14.0.0/31' }), 400, 'failed to allocate gateway (): No available addresses on this pool');
  apiErr(v({ Subnet: '10.15.0.0/32' }), 400, 'failed to allocate gateway (): No available addresses on this pool');
  apiErr(v({ Subnet: '10.1.0.0/16', IPRange: 'abc' }), 400,
    'failed to parse pool request for address space "LocalDefault" pool "10.1.0.0/16" subpool "abc": Invalid Address SubPool');
  apiErr(v({ Subnet: '10.1.0.0/16', IPRange: '10.2.0.0/24' }), 400, 'no matching subnet for range 10.2.0.0/24');
  apiErr(v({ Subnet: '10.1.0.0/16', IPRange: '10.1.0.0/8' }), 400, 'no matching subnet for range 10.1.0.0/8');
  apiErr(v({ Subnet: '10.11.0.0/16', AuxiliaryAddresses: { a: 'abc' } }), 400, 'non parsable secondary ip address (a:abc) passed for network tn3');
  apiErr(v({ Subnet: '10.1.0.0/16', AuxiliaryAddresses: { a: '10.2.0.1' } }), 403, 'auxiliary address: (a:10.2.0.1) must belong to the master pool: 10.1.0.0/16');
  apiErr(v({ Subnet: '10.17.0.0/16', Gateway: '10.17.0.5', AuxiliaryAddresses: { a: '10.17.0.5' } }), 400,
    'failed to allocate secondary ip address (a:10.17.0.5): Address already in use');
  apiErr(v({ Subnet: '10.18.0.0/16', AuxiliaryAddresses: { a: '10.18.0.1' } }), 400,
    'failed to allocate secondary ip address (a:10.18.0.1): Address already in use');
  apiErr(v({ Subnet: '10.19.0.0/16', AuxiliaryAddresses: { a: '10.19.0.0' } }), 400,
    'failed to allocate secondary ip address (a:10.19.0.0): Address already in use');
  apiErr(v({ Subnet: '10.19.0.0/16', AuxiliaryAddresses: { a: '10.19.0.7', b: '10.19.0.7' } }), 400,
    'failed to allocate secondary ip address (b:10.19.0.7): Address already in use');
});

test('allocator hands out the first free address, skipping gateway and aux', () => {
  const a = new Allocator({ Subnet: '10.77.0.0/29', Gateway: '10.77.0.1' }, { name: 'tn5', id: 'abc123' });
  assert.equal(a.allocate('10.77.0.3'), '10.77.0.3');
  assert.equal(a.allocate(), '10.77.0.2');
  assert.equal(a.allocate(), '10.77.0.4');
  assert.equal(a.allocate(), '10.77.0.5');
  assert.equal(a.allocate(), '10.77.0.6');
  apiErr(() => a.allocate(), 403, "no available IPv4 addresses on this network's address pools: tn5 (abc123)");
  a.release('10.77.0.4');
  assert.ok(!a.inUse('10.77.0.4'));
  assert.equal(a.allocate(), '10.77.0.4');
  // released lower addresses come back first
  a.release('10.77.0.5');
  a.release('10.77.0.2');
  assert.equal(a.allocate(), '10.77.0.2');
  assert.equal(a.allocate(), '10.77.0.5');
  assert.equal(a.usedCount, 5);

  const b = new Allocator({ Subnet: '10.1.0.0/24', Gateway: '10.1.0.2', AuxiliaryAddresses: { x: '10.1.0.3', y: '10.1.0.5' } });
  assert.deepEqual([b.allocate(), b.allocate(), b.allocate()], ['10.1.0.1', '10.1.0.4', '10.1.0.6']);
  for (const ip of ['10.1.0.0', '10.1.0.2', '10.1.0.3', '10.1.0.255', '10.1.0.1']) assert.ok(b.inUse(ip), ip);
  assert.ok(!b.inUse('10.1.0.7'));
  assert.ok(!b.inUse('garbage'));
});

test('allocator with an IP range and --ip anywhere in the subnet', () => {
  const cfg = validateIpamConfig({ Subnet: '172.20.1.0/16', IPRange: '172.20.2.128/24' }, []);
  const a = new Allocator(cfg);
  assert.equal(a.allocate(), '172.20.2.1'); // as Docker: gateway took 172.20.2.0
  assert.equal(a.allocate('172.20.0.1'), '172.20.0.1');
  assert.equal(a.allocate('172.20.9.9'), '172.20.9.9');
  apiErr(() => a.allocate('172.20.0.1'), 403, 'Address already in use');
  apiErr(() => a.allocate('172.20.2.0'), 403, 'Address already in use');
  apiErr(() => a.allocate('172.20.0.0'), 403, 'Address already in use');
  apiErr(() => a.allocate('172.20.255.255'), 403, 'Address already in use');
  apiErr(() => a.allocate('10.9.9.9'), 400, 'no configured subnet or ip-range contain the IP address 10.9.9.9');
  apiErr(() => a.allocate('abc'), 400, 'invalid IPv4 address: abc');
  apiErr(() => a.check('abc'), 400, 'invalid IPv4 address: abc');
  apiErr(() => a.check('10.9.9.9'), 400, 'no configured subnet or ip-range contain the IP address 10.9.9.9');
  a.check('172.20.0.1'); // in use but check only validates
  // the range ends at 172.20.2.255
  const r = new Allocator({ Subnet: '10.0.0.0/16', Gateway: '10.0.0.1', IPRange: '10.0.5.0/30' });
  assert.deepEqual([r.allocate(), r.allocate(), r.allocate(), r.allocate()], ['10.0.5.0', '10.0.5.1', '10.0.5.2', '10.0.5.3']);
  assert.throws(() => r.allocate(), ApiError);
});

test('reserve (restoring state) and release are idempotent', () => {
  const a = new Allocator({ Subnet: '10.5.0.0/24', Gateway: '10.5.0.1' });
  a.reserve('10.5.0.2');
  a.reserve('10.5.0.2');
  assert.ok(a.inUse('10.5.0.2'));
  assert.equal(a.allocate(), '10.5.0.3');
  apiErr(() => a.reserve('10.6.0.1'), 400, 'no configured subnet or ip-range contain the IP address 10.6.0.1');
  a.release('10.5.0.2');
  a.release('10.5.0.2');
  a.release('not an ip');
  a.release('10.5.0.1'); // the gateway is not released by mistake
  assert.ok(a.inUse('10.5.0.1'));
  assert.equal(a.allocate(), '10.5.0.2');
});

test('a /16 fills up and drains address by address', () => {
  const a = new Allocator({ Subnet: '10.9.0.0/16', Gateway: '10.9.0.1' });
  const got = new Set<string>();
  for (let i = 0; i < 65533; i++) got.add(a.allocate());
  assert.equal(got.size, 65533);
  assert.ok(!got.has('10.9.0.1') && !got.has('10.9.0.0') && !got.has('10.9.255.255'));
  assert.throws(() => a.allocate(), ApiError);
  a.release('10.9.128.7');
  assert.equal(a.allocate(), '10.9.128.7');
});
