// IPv6 IPAM: address and subnet math, network-create validation and per-network allocation.
// Expected messages were taken from the reference Docker 20.10 (network create --ipv6 and run
// --ip6 through the docker CLI; see README's IPv6 section).
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { ApiError } from '../../src/util/errors';
import {
  Allocator6, POOL_OVERLAP, POOLS_EXHAUSTED_V6, arpaToIp6, canonicalCidr6, canonicalIp6, ip6ToArpa,
  ip6ToString, overlaps6, parseIPv6, tryParseSubnet6, validateIpamConfig6,
} from '../../src/ipam';

function apiErr(fn: () => unknown, status: number, message: string) {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof ApiError, `expected ApiError, got ${e}`);
    assert.equal(e.message, message);
    assert.equal(e.status, status);
    return true;
  });
}

test('IPv6 address and subnet math', () => {
  assert.equal(parseIPv6('::1'), 1n);
  assert.equal(parseIPv6('fd00:1::2'), (0xfd00n << 112n) | (1n << 96n) | 2n);
  for (const bad of ['abc', '1.2.3.4', '::ffff:1.2.3.4', 'fe80::1%eth0', 'fd00::1/64', '', 'fd00:::1', 'g::1'])
    assert.equal(parseIPv6(bad), null, bad);
  assert.equal(ip6ToString(parseIPv6('fd00:0001:0000:0000:0000:0000:0000:0002')!), 'fd00:1::2');
  assert.equal(canonicalIp6('FD00:0:0:1::0'), 'fd00:0:0:1::');
  assert.equal(canonicalIp6('2001:db8:0:0:1:0:0:1'), '2001:db8::1:0:0:1', 'RFC 5952: the first longest run of zeros');
  assert.equal(canonicalCidr6('fd00:15::1/64'), 'fd00:15::/64');
  const s = tryParseSubnet6('fd00:1::/64')!;
  assert.equal(s.size, 1n << 64n);
  assert.equal(ip6ToString(s.last), 'fd00:1::ffff:ffff:ffff:ffff');
  assert.equal(tryParseSubnet6('fd00::/129'), null);
  assert.equal(tryParseSubnet6('10.0.0.0/8'), null);
  assert.ok(overlaps6(tryParseSubnet6('fd00::/8')!, s));
  assert.ok(!overlaps6(tryParseSubnet6('fd00:2::/64')!, s));
});

test('ip6.arpa names, both ways', () => {
  const n = parseIPv6('fd00:1::2')!;
  assert.equal(ip6ToArpa(n), '2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.1.0.0.0.0.0.d.f.ip6.arpa');
  assert.equal(arpaToIp6(ip6ToArpa(n) + '.'), n);
  assert.equal(arpaToIp6('1.0.ip6.arpa'), null, 'a partial name is a zone, not an address');
  assert.equal(arpaToIp6('3.0.1.10.in-addr.arpa'), null);
});

test('network create --ipv6: validation and completion with Docker\'s messages', () => {
  assert.deepEqual(validateIpamConfig6({ Subnet: 'fd00:1::/64' }, []), { Subnet: 'fd00:1::/64', Gateway: 'fd00:1::1' });
  assert.deepEqual(validateIpamConfig6({ Subnet: 'fd00:7::/64', IPRange: 'fd00:7:0:0:8000::/80' }, []),
    { Subnet: 'fd00:7::/64', Gateway: 'fd00:7:0:0:8000::', IPRange: 'fd00:7:0:0:8000::/80' }, 'the gateway: the first address of the range');
  assert.deepEqual(validateIpamConfig6({ Subnet: 'fd00:14::/64', IPRange: 'fd00:14::/64' }, []).Gateway, 'fd00:14::1',
    'a range as large as the subnet (Docker 20.10 fails with "invalid bit range")');
  apiErr(() => validateIpamConfig6({}, []), 400, POOLS_EXHAUSTED_V6);
  apiErr(() => validateIpamConfig6({ Subnet: 'fd00:1::/80' }, ['fd00:1::/64']), 403, POOL_OVERLAP);
  apiErr(() => validateIpamConfig6({ Subnet: 'fd00:3::/64', Gateway: 'fd00:4::1' }, []), 400,
    'failed to allocate gateway (fd00:4::1): Requested address is out of range');
  apiErr(() => validateIpamConfig6({ Subnet: 'fd00:12::/64', Gateway: 'fd00:12::' }, []), 400,
    'failed to allocate gateway (fd00:12::): Address already in use');
  apiErr(() => validateIpamConfig6({ Subnet: 'fd00:12::/64', Gateway: 'zz' }, []), 400, 'invalid gateway address zz in Ipam configuration');
  apiErr(() => validateIpamConfig6({ Subnet: 'fd00:11::/128' }, []), 400, 'failed to allocate gateway (): No available addresses on this pool');
  apiErr(() => validateIpamConfig6({ Subnet: 'fd00:8::/64', IPRange: 'fd00:9::/80' }, []), 400, 'no matching subnet for range fd00:9::/80');
  apiErr(() => validateIpamConfig6({ Subnet: 'fd00:x::/64' }, []), 400, 'Invalid subnet fd00:x::/64 : invalid CIDR address: fd00:x::/64');
  apiErr(() => validateIpamConfig6({ Subnet: 'ff00::/64' }, []), 400,
    'invalid subnet ff00::/64: it overlaps the multicast (ff00::/8) addresses, which cannot be a network\'s');
  apiErr(() => validateIpamConfig6({ Subnet: 'fe80::/64' }, []), 400,
    'invalid subnet fe80::/64: it overlaps the link-local (fe80::/10) addresses, which cannot be a network\'s');
  apiErr(() => validateIpamConfig6({ Subnet: 'fd00:13::/64', AuxiliaryAddresses: { a: 'fd00:14::5' } }, []), 403,
    'auxiliary address: (a:fd00:14::5) must belong to the master pool: fd00:13::/64');
  assert.deepEqual(validateIpamConfig6({ Subnet: 'fd00:13::/64', AuxiliaryAddresses: { a: 'fd00:13::5' } }, ['10.0.0.0/8']).AuxiliaryAddresses,
    { a: 'fd00:13::5' }, 'IPv4 subnets in use do not overlap IPv6 ones');
});

test('IPv6 allocation: first free after the gateway, --ip6, release, exhaustion', () => {
  const net = { name: 'v6e', id: 'f'.repeat(64) };
  const a = new Allocator6({ Subnet: 'fd00:1::/64', Gateway: 'fd00:1::1', AuxiliaryAddresses: { x: 'fd00:1::3' } }, net);
  assert.equal(a.allocate(), 'fd00:1::2');
  assert.equal(a.allocate(), 'fd00:1::4', 'the auxiliary address is skipped');
  assert.equal(a.allocate('fd00:1::99'), 'fd00:1::99');
  apiErr(() => a.allocate('fd00:1::99'), 403, 'Address already in use');
  apiErr(() => a.allocate('fd00:2::99'), 400, 'Invalid address fd00:2::99: It does not belong to any of this network\'s subnets');
  apiErr(() => a.allocate('zz'), 400, 'invalid IPv6 address: zz');
  a.release('fd00:1::2');
  assert.equal(a.allocate(), 'fd00:1::2', 'a released address is handed out again first');
  a.reserve('fd00:1::5');
  assert.equal(a.allocate(), 'fd00:1::6');
  assert.ok(a.inUse('fd00:1::'), 'the subnet-router anycast address is never handed out');
  const tiny = new Allocator6({ Subnet: 'fd00:5::/127', Gateway: 'fd00:5::1' }, net);
  apiErr(() => tiny.allocate(), 403, `no available IPv6 addresses on this network's address pools: v6e (${net.id})`);
});
