// `ps` PORTS column and `port` lines. Inputs are the Engine API data of containers run on the
// reference Docker 20.10; expected strings are what its CLI printed for them (that Docker also
// publishes on IPv6, hence the [::] entries; berth reports IPv4 only).
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { formatPortLines, formatPortsColumn, naturalCompare, noPublicPort } from '../../src/cli/ports';
import { Exit } from '../../src/cli/errors';

// docker run -p 8000-8005:80-85 -p 127.0.0.1:9000:90/udp -p 100 --expose 443 --expose 500-502/udp
//   -p 127.0.0.1::53/udp -p 8080:100 -p 7000:7000 -p 7001:7001/udp
const p1 = [{ PrivatePort: 443, Type: 'tcp' }, { PrivatePort: 502, Type: 'udp' }, { IP: '0.0.0.0', PrivatePort: 7001, PublicPort: 7001, Type: 'udp' }, { IP: '::', PrivatePort: 7001, PublicPort: 7001, Type: 'udp' }, { IP: '0.0.0.0', PrivatePort: 81, PublicPort: 8001, Type: 'tcp' }, { IP: '::', PrivatePort: 81, PublicPort: 8001, Type: 'tcp' }, { IP: '127.0.0.1', PrivatePort: 90, PublicPort: 9000, Type: 'udp' }, { IP: '0.0.0.0', PrivatePort: 100, PublicPort: 8080, Type: 'tcp' }, { IP: '::', PrivatePort: 100, PublicPort: 8080, Type: 'tcp' }, { IP: '0.0.0.0', PrivatePort: 100, PublicPort: 32769, Type: 'tcp' }, { IP: '::', PrivatePort: 100, PublicPort: 32769, Type: 'tcp' }, { IP: '127.0.0.1', PrivatePort: 53, PublicPort: 32768, Type: 'udp' }, { IP: '0.0.0.0', PrivatePort: 82, PublicPort: 8002, Type: 'tcp' }, { IP: '::', PrivatePort: 82, PublicPort: 8002, Type: 'tcp' }, { PrivatePort: 500, Type: 'udp' }, { PrivatePort: 501, Type: 'udp' }, { IP: '0.0.0.0', PrivatePort: 7000, PublicPort: 7000, Type: 'tcp' }, { IP: '::', PrivatePort: 7000, PublicPort: 7000, Type: 'tcp' }, { IP: '0.0.0.0', PrivatePort: 83, PublicPort: 8003, Type: 'tcp' }, { IP: '::', PrivatePort: 83, PublicPort: 8003, Type: 'tcp' }, { IP: '0.0.0.0', PrivatePort: 84, PublicPort: 8004, Type: 'tcp' }, { IP: '::', PrivatePort: 84, PublicPort: 8004, Type: 'tcp' }, { IP: '0.0.0.0', PrivatePort: 80, PublicPort: 8000, Type: 'tcp' }, { IP: '::', PrivatePort: 80, PublicPort: 8000, Type: 'tcp' }, { IP: '0.0.0.0', PrivatePort: 85, PublicPort: 8005, Type: 'tcp' }, { IP: '::', PrivatePort: 85, PublicPort: 8005, Type: 'tcp' }];
const p1Ports = '443/tcp, 500-502/udp, 0.0.0.0:7000->7000/tcp, [::]:7000->7000/tcp, 0.0.0.0:7001->7001/udp, [::]:7001->7001/udp, 127.0.0.1:32768->53/udp, 0.0.0.0:8000->80/tcp, [::]:8000->80/tcp, 0.0.0.0:8001->81/tcp, [::]:8001->81/tcp, 0.0.0.0:8002->82/tcp, [::]:8002->82/tcp, 0.0.0.0:8003->83/tcp, [::]:8003->83/tcp, 0.0.0.0:8004->84/tcp, [::]:8004->84/tcp, 0.0.0.0:8005->85/tcp, [::]:8005->85/tcp, 127.0.0.1:9000->90/udp, 0.0.0.0:8080->100/tcp, 0.0.0.0:32769->100/tcp, [::]:8080->100/tcp, [::]:32769->100/tcp';
const p1Map = { '100/tcp': [{ HostIp: '0.0.0.0', HostPort: '8080' }, { HostIp: '::', HostPort: '8080' }, { HostIp: '0.0.0.0', HostPort: '32769' }, { HostIp: '::', HostPort: '32769' }], '443/tcp': null, '500/udp': null, '501/udp': null, '502/udp': null, '53/udp': [{ HostIp: '127.0.0.1', HostPort: '32768' }], '7000/tcp': [{ HostIp: '0.0.0.0', HostPort: '7000' }, { HostIp: '::', HostPort: '7000' }], '7001/udp': [{ HostIp: '0.0.0.0', HostPort: '7001' }, { HostIp: '::', HostPort: '7001' }], '80/tcp': [{ HostIp: '0.0.0.0', HostPort: '8000' }, { HostIp: '::', HostPort: '8000' }], '81/tcp': [{ HostIp: '0.0.0.0', HostPort: '8001' }, { HostIp: '::', HostPort: '8001' }], '82/tcp': [{ HostIp: '0.0.0.0', HostPort: '8002' }, { HostIp: '::', HostPort: '8002' }], '83/tcp': [{ HostIp: '0.0.0.0', HostPort: '8003' }, { HostIp: '::', HostPort: '8003' }], '84/tcp': [{ HostIp: '0.0.0.0', HostPort: '8004' }, { HostIp: '::', HostPort: '8004' }], '85/tcp': [{ HostIp: '0.0.0.0', HostPort: '8005' }, { HostIp: '::', HostPort: '8005' }], '90/udp': [{ HostIp: '127.0.0.1', HostPort: '9000' }] };

// docker run --expose 300 -p 6000-6010:200 -p 9999:99 -p 127.0.0.2:9998:99
const p2 = [{ IP: '0.0.0.0', PrivatePort: 200, PublicPort: 6000, Type: 'tcp' }, { IP: '::', PrivatePort: 200, PublicPort: 6000, Type: 'tcp' }, { PrivatePort: 300, Type: 'tcp' }, { IP: '127.0.0.2', PrivatePort: 99, PublicPort: 9998, Type: 'tcp' }, { IP: '0.0.0.0', PrivatePort: 99, PublicPort: 9999, Type: 'tcp' }, { IP: '::', PrivatePort: 99, PublicPort: 9999, Type: 'tcp' }];

// docker run -p 5000-5002:5000-5002 -p 127.0.0.1:6000-6001:6000-6001/udp --expose 80 --expose 82
//   --expose 81 --expose 90/udp --expose 443 --expose 84 -p 8080:85
const p4 = [{ PrivatePort: 90, Type: 'udp' }, { PrivatePort: 443, Type: 'tcp' }, { IP: '0.0.0.0', PrivatePort: 5000, PublicPort: 5000, Type: 'tcp' }, { IP: '::', PrivatePort: 5000, PublicPort: 5000, Type: 'tcp' }, { IP: '0.0.0.0', PrivatePort: 5001, PublicPort: 5001, Type: 'tcp' }, { IP: '::', PrivatePort: 5001, PublicPort: 5001, Type: 'tcp' }, { IP: '0.0.0.0', PrivatePort: 5002, PublicPort: 5002, Type: 'tcp' }, { IP: '::', PrivatePort: 5002, PublicPort: 5002, Type: 'tcp' }, { IP: '0.0.0.0', PrivatePort: 85, PublicPort: 8080, Type: 'tcp' }, { IP: '::', PrivatePort: 85, PublicPort: 8080, Type: 'tcp' }, { PrivatePort: 84, Type: 'tcp' }, { IP: '127.0.0.1', PrivatePort: 6000, PublicPort: 6000, Type: 'udp' }, { IP: '127.0.0.1', PrivatePort: 6001, PublicPort: 6001, Type: 'udp' }, { PrivatePort: 80, Type: 'tcp' }, { PrivatePort: 81, Type: 'tcp' }, { PrivatePort: 82, Type: 'tcp' }];

test('PORTS column as docker ps prints it', () => {
  assert.equal(formatPortsColumn(p1), p1Ports);
  assert.equal(formatPortsColumn(p2),
    '300/tcp, 0.0.0.0:9999->99/tcp, 127.0.0.2:9998->99/tcp, [::]:9999->99/tcp, 0.0.0.0:6000->200/tcp, [::]:6000->200/tcp');
  assert.equal(formatPortsColumn(p4),
    '80-82/tcp, 84/tcp, 443/tcp, 90/udp, 0.0.0.0:5000-5002->5000-5002/tcp, [::]:5000-5002->5000-5002/tcp, 127.0.0.1:6000-6001->6000-6001/udp, 0.0.0.0:8080->85/tcp, [::]:8080->85/tcp');
});

test('PORTS column: IPv4-only data, empty input, input left unchanged', () => {
  const v4 = p4.filter((p) => p.IP !== '::');
  const before = JSON.stringify(v4);
  assert.equal(formatPortsColumn(v4),
    '80-82/tcp, 84/tcp, 443/tcp, 90/udp, 0.0.0.0:5000-5002->5000-5002/tcp, 127.0.0.1:6000-6001->6000-6001/udp, 0.0.0.0:8080->85/tcp');
  assert.equal(JSON.stringify(v4), before);
  assert.equal(formatPortsColumn([]), '');
  assert.equal(formatPortsColumn(null), '');
  assert.equal(formatPortsColumn([{ IP: '0.0.0.0', PrivatePort: 80, PublicPort: 32768, Type: 'tcp' }]), '0.0.0.0:32768->80/tcp');
  assert.equal(formatPortsColumn([{ PrivatePort: 53, Type: 'udp' }, { PrivatePort: 53, Type: 'tcp' }]), '53/tcp, 53/udp');
});

test('port lines as docker port prints them', () => {
  assert.deepEqual(formatPortLines(p1Map), [
    '53/udp -> 127.0.0.1:32768',
    '80/tcp -> 0.0.0.0:8000', '80/tcp -> [::]:8000', '81/tcp -> 0.0.0.0:8001', '81/tcp -> [::]:8001',
    '82/tcp -> 0.0.0.0:8002', '82/tcp -> [::]:8002', '83/tcp -> 0.0.0.0:8003', '83/tcp -> [::]:8003',
    '84/tcp -> 0.0.0.0:8004', '84/tcp -> [::]:8004', '85/tcp -> 0.0.0.0:8005', '85/tcp -> [::]:8005',
    '90/udp -> 127.0.0.1:9000',
    '100/tcp -> 0.0.0.0:8080', '100/tcp -> 0.0.0.0:32769', '100/tcp -> [::]:8080', '100/tcp -> [::]:32769',
    '7000/tcp -> 0.0.0.0:7000', '7000/tcp -> [::]:7000', '7001/udp -> 0.0.0.0:7001', '7001/udp -> [::]:7001',
  ]);
  assert.deepEqual(formatPortLines(p1Map, '80'), ['0.0.0.0:8000', '[::]:8000']);
  assert.deepEqual(formatPortLines(p1Map, '90/udp'), ['127.0.0.1:9000']);
  assert.deepEqual(formatPortLines(p1Map, '100'), ['0.0.0.0:8080', '0.0.0.0:32769', '[::]:8080', '[::]:32769']);
  assert.deepEqual(formatPortLines(p1Map, '100/'), ['0.0.0.0:8080', '0.0.0.0:32769', '[::]:8080', '[::]:32769']);
  assert.deepEqual(formatPortLines(p1Map, '').length, 22);
  assert.deepEqual(formatPortLines({ '99/tcp': [{ HostIp: '127.0.0.2', HostPort: '9998' }, { HostIp: '0.0.0.0', HostPort: '9999' }] }),
    ['99/tcp -> 0.0.0.0:9999', '99/tcp -> 127.0.0.2:9998']);
  assert.deepEqual(formatPortLines({}), []);
  assert.deepEqual(formatPortLines(null), []);
});

test('port: not published and invalid ports', () => {
  // not published (null, absent, or typed differently from the key): nothing
  for (const f of ['443', '443/tcp', '444/udp', '80/xyz', '80/TCP', '080', '99'])
    assert.deepEqual(formatPortLines(p1Map, f), [], f);
  assert.equal(noPublicPort('443/tcp', 'p1'), "Error: No public port '443/tcp' published for p1");
  const cases: Array<[string, string]> = [
    ['abc', 'Error: invalid port (abc): strconv.ParseUint: parsing "abc": invalid syntax'],
    ['99999', 'Error: invalid port (99999): strconv.ParseUint: parsing "99999": value out of range'],
    ['80-81', 'Error: invalid port (80-81): strconv.ParseUint: parsing "80-81": invalid syntax'],
    ['/tcp', 'Error: invalid port (): strconv.ParseUint: parsing "": invalid syntax'],
  ];
  for (const [filter, msg] of cases)
    assert.throws(() => formatPortLines(p1Map, filter), (e: unknown) => {
      assert.ok(e instanceof Exit);
      assert.equal(e.code, 1);
      assert.equal(e.message, msg);
      return true;
    }, filter);
});

test('natural order compares digit runs as numbers', () => {
  const sorted = ['b10', 'a2', 'a10', 'a1', '100/tcp -> x', '53/udp -> x', '[::]:1', '0.0.0.0:9'].sort(naturalCompare);
  assert.deepEqual(sorted, ['0.0.0.0:9', '53/udp -> x', '100/tcp -> x', '[::]:1', 'a1', 'a2', 'a10', 'b10']);
  assert.ok(naturalCompare('a', 'a') === 0);
  assert.ok(naturalCompare('a', 'a1') < 0);
});
