// -p / --expose parsing and the daemon's expansion of PortBindings. Expected values are what
// the reference docker 20.10 CLI stored (docker inspect .Config.ExposedPorts /
// .HostConfig.PortBindings) or printed for each spec.
import { addPublish } from '../../src/cli/publish';
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { ApiError } from '../../src/util/errors';
import {
  expandBindings, parseExpose, parsePortRange, parsePublish, splitProtoPort,
  validatePortBindings,
} from '../../src/engine/portmap/spec';

const b = (HostIp: string, HostPort: string) => ({ HostIp, HostPort });

function err400(fn: () => unknown, message: string) {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof ApiError);
    assert.equal(e.message, message);
    assert.equal(e.status, 400);
    return true;
  });
}

/** Several -p values merged as the CLI merges them (bindings of one port accumulate). */
function parsePublishAll(specs: string[]): { exposed: string[]; bindings: Record<string, Array<{ HostIp: string; HostPort: string }>> } {
  const exposed: Record<string, object> = {};
  const bindings: Record<string, Array<{ HostIp: string; HostPort: string }>> = {};
  for (const s of specs) addPublish(s, exposed, bindings);
  return { exposed: Object.keys(exposed), bindings };
}

test('helpers: port ranges and proto split', () => {
  assert.deepEqual(parsePortRange('80'), [80, 80]);
  assert.deepEqual(parsePortRange('080'), [80, 80]);
  assert.deepEqual(parsePortRange('80-85'), [80, 85]);
  assert.deepEqual(parsePortRange('0'), [0, 0]);
  assert.deepEqual(parsePortRange('65535'), [65535, 65535]);
  for (const bad of ['', '65536', '85-80', '-80', '80-', 'a-b', '+80', '0x50', ' 80', '1-2-3'])
    assert.equal(parsePortRange(bad), null, bad);
  assert.deepEqual(splitProtoPort('80'), ['tcp', '80']);
  assert.deepEqual(splitProtoPort('80/udp'), ['udp', '80']);
  assert.deepEqual(splitProtoPort('80/'), ['tcp', '80']);
  assert.deepEqual(splitProtoPort('80/tcp/udp'), ['tcp', '80']);
  assert.deepEqual(splitProtoPort('/udp'), ['', '']);
  assert.deepEqual(splitProtoPort(''), ['', '']);
});

test('parsePublish: every accepted form', () => {
  const cases: Array<[string, string[], Record<string, Array<{ HostIp: string; HostPort: string }>>]> = [
    ['80', ['80/tcp'], { '80/tcp': [b('', '')] }],
    ['8080:80', ['80/tcp'], { '80/tcp': [b('', '8080')] }],
    ['127.0.0.1:8080:80', ['80/tcp'], { '80/tcp': [b('127.0.0.1', '8080')] }],
    ['127.0.0.1::80', ['80/tcp'], { '80/tcp': [b('127.0.0.1', '')] }],
    ['127.0.0.1::53/udp', ['53/udp'], { '53/udp': [b('127.0.0.1', '')] }],
    [':80', ['80/tcp'], { '80/tcp': [b('', '')] }],
    ['::80', ['80/tcp'], { '80/tcp': [b('', '')] }],
    ['0:80', ['80/tcp'], { '80/tcp': [b('', '0')] }],
    ['80:0', ['0/tcp'], { '0/tcp': [b('', '80')] }],
    ['80/udp', ['80/udp'], { '80/udp': [b('', '')] }],
    ['80/', ['80/tcp'], { '80/tcp': [b('', '')] }],
    ['80/tcp/udp', ['80/tcp'], { '80/tcp': [b('', '')] }],
    ['8080:80/TCP', ['80/tcp'], { '80/tcp': [b('', '8080')] }],
    ['080', ['80/tcp'], { '80/tcp': [b('', '')] }],
    ['65535', ['65535/tcp'], { '65535/tcp': [b('', '')] }],
    ['80-80', ['80/tcp'], { '80/tcp': [b('', '')] }],
    ['8000-8000:80', ['80/tcp'], { '80/tcp': [b('', '8000')] }],
    ['8000-8010:80', ['80/tcp'], { '80/tcp': [b('', '8000-8010')] }],
    ['[::1]:80:80', ['80/tcp'], { '80/tcp': [b('::1', '80')] }],
    ['[::1]::80', ['80/tcp'], { '80/tcp': [b('::1', '')] }],
    ['::1:80:80', ['80/tcp'], { '80/tcp': [b('::1', '80')] }],
    ['[1.2.3.4]:80:80', ['80/tcp'], { '80/tcp': [b('1.2.3.4', '80')] }],
    ['[]:80:80', ['80/tcp'], { '80/tcp': [b('', '80')] }],
    ['0-2', ['0/tcp', '1/tcp', '2/tcp'], { '0/tcp': [b('', '')], '1/tcp': [b('', '')], '2/tcp': [b('', '')] }],
    ['1.2.3.4:80-81:80-81', ['80/tcp', '81/tcp'], { '80/tcp': [b('1.2.3.4', '80')], '81/tcp': [b('1.2.3.4', '81')] }],
    ['5000-5002:5000-5002/sctp', ['5000/sctp', '5001/sctp', '5002/sctp'],
      { '5000/sctp': [b('', '5000')], '5001/sctp': [b('', '5001')], '5002/sctp': [b('', '5002')] }],
  ];
  for (const [spec, exposed, bindings] of cases) {
    assert.deepEqual(parsePublish(spec), { exposed, bindings }, spec);
  }
  const big = parsePublish('5000-10000:5000-10000/udp');
  assert.equal(big.exposed.length, 5001);
  assert.deepEqual(big.bindings['10000/udp'], [b('', '10000')]);
  const r = parsePublish('8000-8005:80-85');
  assert.deepEqual(r.exposed, ['80/tcp', '81/tcp', '82/tcp', '83/tcp', '84/tcp', '85/tcp']);
  assert.deepEqual(r.bindings['85/tcp'], [b('', '8005')]);
});

test('parsePublish: errors as the docker CLI prints them', () => {
  const cases: Array<[string, string]> = [
    ['99999:80', 'invalid hostPort: 99999'],
    ['80:99999', 'invalid containerPort: 99999'],
    ['abc', 'invalid containerPort: abc'],
    ['80/xyz', 'invalid proto: xyz'],
    ['8000-8005:80-82', 'invalid ranges specified for container and host Ports: 80-82 and 8000-8005'],
    ['8000-8002:80-85', 'invalid ranges specified for container and host Ports: 80-85 and 8000-8002'],
    ['80:8000-8001', 'invalid ranges specified for container and host Ports: 8000-8001 and 80'],
    ['8000-8002:80-81/xyz', 'invalid ranges specified for container and host Ports: 80-81 and 8000-8002'],
    ['8000-8001:80-81/xyz', 'invalid proto: xyz'],
    ['127.0.0.1:abc:80', 'invalid hostPort: abc'],
    ['1.2.3.4.5:80:80', 'invalid IP address: 1.2.3.4.5'],
    ['abc:80:80', 'invalid IP address: abc'],
    ['[abc]:80:80', 'invalid IP address: abc'],
    [':::80', 'invalid IP address: :'],
    ['1:2:3:4', 'invalid IP address: 1:2'],
    ['80:80:80:80', 'invalid IP address: 80:80'],
    ['8005-8000:80-85', 'invalid hostPort: 8005-8000'],
    ['80-70', 'invalid containerPort: 80-70'],
    ['127.0.0.1:80', 'invalid hostPort: 127.0.0.1'],
    ['1.2.3.4:80', 'invalid hostPort: 1.2.3.4'],
    ['-80', 'invalid containerPort: -80'],
    ['65536', 'invalid containerPort: 65536'],
    ['a-b:80', 'invalid hostPort: a-b'],
    ['80-:80', 'invalid hostPort: 80-'],
    [' 80', 'invalid containerPort:  80'],
    ['+80', 'invalid containerPort: +80'],
    ['80:', 'no port specified: 80:<empty>'],
    ['', 'no port specified: <empty>'],
    ['/udp', 'no port specified: /udp<empty>'],
    [':', 'no port specified: :<empty>'],
    ['1.2.3.4::', 'no port specified: 1.2.3.4::<empty>'],
    ['80:/udp', 'no port specified: 80:/udp<empty>'],
    ['[::1:80:80', "invalid IP address [::1: address [::1:: missing ']' in address"],
    ['[::1]', "invalid IP address [: address [:: missing ']' in address"],
  ];
  for (const [spec, msg] of cases) err400(() => parsePublish(spec), msg);
});

test('parseExpose: ranges, protocol kept as typed, CLI errors', () => {
  assert.deepEqual(parseExpose('80'), ['80/tcp']);
  assert.deepEqual(parseExpose('500-502/udp'), ['500/udp', '501/udp', '502/udp']);
  assert.deepEqual(parseExpose('80/xyz'), ['80/xyz']);
  assert.deepEqual(parseExpose('80-81/UDP'), ['80/UDP', '81/UDP']);
  err400(() => parseExpose('80:80'), 'invalid port format for --expose: 80:80');
  err400(() => parseExpose('1.2.3.4:80'), 'invalid port format for --expose: 1.2.3.4:80');
  err400(() => parseExpose('abc'), 'invalid range format for --expose: abc, error: strconv.ParseUint: parsing "abc": invalid syntax');
  err400(() => parseExpose('90-80'), 'invalid range format for --expose: 90-80, error: invalid range specified for port: 90-80');
  err400(() => parseExpose('99999'), 'invalid range format for --expose: 99999, error: strconv.ParseUint: parsing "99999": value out of range');
  err400(() => parseExpose(''), 'invalid range format for --expose: , error: empty string specified for ports');
});

test('validatePortBindings: the daemon checks of create', () => {
  validatePortBindings({ '80/tcp': [b('', '8080')], '81/udp': null, '82': [b('', '')], '83/tcp': [b('', '8000-8010')] });
  validatePortBindings(null);
  err400(() => validatePortBindings({ '80/tcp': [b('', 'abc')] }), 'invalid port specification: "abc"');
  err400(() => validatePortBindings({ 'abc/tcp': [b('', '80')] }), 'invalid port specification: "abc"');
  err400(() => validatePortBindings({ '80/tcp': [b('', '99999')] }), 'invalid port specification: "99999"');
  err400(() => validatePortBindings({ '80/tcp': [b('', '8090-8085')] }), 'invalid port specification: "8090-8085"');
});

test('expandBindings: fixed, dynamic, host ranges, -P', () => {
  const p = parsePublishAll(['127.0.0.1:8080:80', '8081:80', '53/udp', '8000-8010:90', '127.0.0.1::70']);
  const exposed = Object.fromEntries([...p.exposed, '443/tcp', '22/tcp'].map((k) => [k, {}]));
  assert.deepEqual(expandBindings(exposed, p.bindings, false), [
    { proto: 'tcp', containerPort: 70, hostIp: '127.0.0.1', hostPort: 0, count: 1 },
    { proto: 'tcp', containerPort: 80, hostIp: '127.0.0.1', hostPort: 8080, count: 1 },
    { proto: 'tcp', containerPort: 80, hostIp: '', hostPort: 8081, count: 1 },
    { proto: 'tcp', containerPort: 90, hostIp: '', hostPort: 8000, hostPortEnd: 8010, count: 1 },
    { proto: 'udp', containerPort: 53, hostIp: '', hostPort: 0, count: 1 },
  ]);
  // -P adds the exposed ports that have no binding, on free ports
  const all = expandBindings(exposed, p.bindings, true);
  assert.deepEqual(all.filter((w) => w.containerPort === 22 || w.containerPort === 443), [
    { proto: 'tcp', containerPort: 22, hostIp: '', hostPort: 0, count: 1 },
    { proto: 'tcp', containerPort: 443, hostIp: '', hostPort: 0, count: 1 },
  ]);
  assert.equal(all.length, 7);
  assert.deepEqual(expandBindings({}, {}, true), []);
  assert.deepEqual(expandBindings(null, null, false), []);
  // "0" as host port means "pick one", as the empty string does
  assert.deepEqual(expandBindings({}, { '80/tcp': [b('', '0')] }, false),
    [{ proto: 'tcp', containerPort: 80, hostIp: '', hostPort: 0, count: 1 }]);
  // keys are normalized
  assert.deepEqual(expandBindings({}, { '080/TCP': [b('', '81')] }, false),
    [{ proto: 'tcp', containerPort: 80, hostIp: '', hostPort: 81, count: 1 }]);
});

test('expandBindings: consecutive fixed ports become one run', () => {
  const p = parsePublishAll(['5000-10000:5000-10000/udp', '8000-8005:80-85', '127.0.0.1:9000-9001:90-91', '7000:7000', '7002:7001']);
  assert.deepEqual(expandBindings({}, p.bindings, false), [
    { proto: 'tcp', containerPort: 80, hostIp: '', hostPort: 8000, count: 6 },
    { proto: 'tcp', containerPort: 90, hostIp: '127.0.0.1', hostPort: 9000, count: 2 },
    { proto: 'tcp', containerPort: 7000, hostIp: '', hostPort: 7000, count: 1 },
    { proto: 'tcp', containerPort: 7001, hostIp: '', hostPort: 7002, count: 1 },
    { proto: 'udp', containerPort: 5000, hostIp: '', hostPort: 5000, count: 5001 },
  ]);
  // two addresses for the same range: two runs
  const two = parsePublishAll(['127.0.0.1:8000-8001:80-81', '127.0.0.2:8000-8001:80-81']);
  assert.deepEqual(expandBindings({}, two.bindings, false), [
    { proto: 'tcp', containerPort: 80, hostIp: '127.0.0.1', hostPort: 8000, count: 2 },
    { proto: 'tcp', containerPort: 80, hostIp: '127.0.0.2', hostPort: 8000, count: 2 },
  ]);
});

test('expandBindings: an empty address means both families; 0.0.0.0, :: and one address mean one', () => {
  assert.deepEqual(expandBindings({}, { '80/tcp': [b('', '8080'), b('0.0.0.0', '8081'), b('::', '8082'), b('0:0::1', '8083')] }, false), [
    { proto: 'tcp', containerPort: 80, hostIp: '', hostPort: 8080, count: 1 },
    { proto: 'tcp', containerPort: 80, hostIp: '0.0.0.0', hostPort: 8081, count: 1 },
    { proto: 'tcp', containerPort: 80, hostIp: '::', hostPort: 8082, count: 1 },
    // printed as RFC 5952 says, as Go's net.IP does
    { proto: 'tcp', containerPort: 80, hostIp: '::1', hostPort: 8083, count: 1 },
  ]);
});

test('expandBindings: refusals', () => {
  err400(() => expandBindings({}, { '80/tcp': [b('abc', '80')] }, false), 'invalid host IP address: abc');
  err400(() => expandBindings({}, { '80/xyz': [b('', '8080')] }, false), 'invalid proto: xyz');
  err400(() => expandBindings({}, { '80/tcp': [b('', 'abc')] }, false), 'invalid port specification: "abc"');
  err400(() => expandBindings({ 'abc/tcp': {} }, {}, false), 'invalid port specification: "abc"');
  // an exposed port of an unknown protocol is harmless until -P publishes it
  assert.deepEqual(expandBindings({ '80/xyz': {} }, {}, false), []);
  err400(() => expandBindings({ '80/xyz': {} }, {}, true), 'invalid proto: xyz');
});
