// The CLI's pure parts: run/create flags → create body, -p/--expose specs, network create's
// IPAM pairing, and docker's output formatting (durations, sizes, tables). Expected strings
// come from the reference docker CLI.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { buildCreate, parseEnv, withLatest } from '../../src/cli/runopts';
import { addExpose, addPublish, UsageError } from '../../src/cli/publish';
import { ipamConfig, networkCreateBody, networkRow, NET_DEFAULT, NET_HEADERS } from '../../src/cli/networks';
import { ellipsis, humanSize, renderRows, shortId, tabwrite } from '../../src/cli/format';
import { humanDuration } from '../../src/util/duration';
import { goQuote, filtersParam } from '../../src/cli/containers';
import { imageRows, IMAGE_DEFAULT, IMAGE_HEADERS, splitRef } from '../../src/cli/images';
import { Exit } from '../../src/cli/errors';
import { Command } from 'commander';

test('-p specs become ExposedPorts and PortBindings like nat.ParsePortSpecs', () => {
  const ex: Record<string, object> = {};
  const b: Record<string, Array<{ HostIp: string; HostPort: string }>> = {};
  addPublish('8080:80', ex, b);
  addPublish('127.0.0.1:8443:443/tcp', ex, b);
  addPublish('192.168.10.10::53/udp', ex, b);
  addPublish('9000', ex, b);
  addPublish('8000-8001:90-91', ex, b);
  addPublish('[::1]:7000:7000', ex, b);
  addPublish('6000-6005:22', ex, b);
  assert.deepEqual(b['80/tcp'], [{ HostIp: '', HostPort: '8080' }]);
  assert.deepEqual(b['443/tcp'], [{ HostIp: '127.0.0.1', HostPort: '8443' }]);
  assert.deepEqual(b['53/udp'], [{ HostIp: '192.168.10.10', HostPort: '' }]);
  assert.deepEqual(b['9000/tcp'], [{ HostIp: '', HostPort: '' }]);
  assert.deepEqual(b['90/tcp'], [{ HostIp: '', HostPort: '8000' }]);
  assert.deepEqual(b['91/tcp'], [{ HostIp: '', HostPort: '8001' }]);
  assert.deepEqual(b['7000/tcp'], [{ HostIp: '::1', HostPort: '7000' }]);
  assert.deepEqual(b['22/tcp'], [{ HostIp: '', HostPort: '6000-6005' }]);
  assert.ok('53/udp' in ex && '9000/tcp' in ex);
  // the same container port published twice keeps both bindings
  addPublish('8888:80', ex, b);
  assert.deepEqual(b['80/tcp'].map((x) => x.HostPort), ['8080', '8888']);
});

test('bad -p specs fail with docker messages', () => {
  const msg = (s: string) => { try { addPublish(s, {}, {}); } catch (e) { assert.ok(e instanceof UsageError); return (e as Error).message; } return 'no error'; };
  assert.equal(msg('99999:80'), 'invalid hostPort: 99999');
  assert.equal(msg('abc'), 'invalid containerPort: abc');
  assert.equal(msg('80:abc'), 'invalid containerPort: abc');
  assert.equal(msg('8000-8005:80-82'), 'invalid ranges specified for container and host Ports: 80-82 and 8000-8005');
  assert.equal(msg('80/xyz'), 'invalid proto: xyz');
  assert.equal(msg('8000-7000:80'), 'invalid hostPort: 8000-7000');
  assert.equal(msg('1.2.3.4:80'), 'invalid hostPort: 1.2.3.4');
});

test('--expose ranges and errors', () => {
  const ex: Record<string, object> = {};
  addExpose('80', ex);
  addExpose('5000-5002/udp', ex);
  assert.deepEqual(Object.keys(ex), ['80/tcp', '5000/udp', '5001/udp', '5002/udp']);
  assert.throws(() => addExpose('abc', {}), { message: 'invalid range format for --expose: abc, error: strconv.ParseUint: parsing "abc": invalid syntax' });
});

test('run options build the create body docker sends', () => {
  const { name, body } = buildCreate({
    name: 'web', env: ['A=1', 'FROM_ENV', 'UNSET_VAR'], workdir: '/w', entrypoint: '/bin/sh', interactive: true, tty: true,
    hostname: 'mydocker1.rayx.me', publish: ['8080:80'], expose: ['81'], network: 'my-net', networkAlias: ['w'],
    ip: '10.1.0.5', macAddress: '02:42:ac:11:00:09', dns: ['8.8.8.8'], dnsSearch: ['rayx.me'], dnsOption: ['ndots:2'],
    addHost: ['www.rayx.me:54.12.17.68'], user: '1000', label: ['a=b', 'c'], rm: true, publishAll: true,
  }, 'busybox', ['-c', 'echo hi'], { FROM_ENV: 'yes' });
  assert.equal(name, 'web');
  assert.equal(body.Image, 'busybox');
  assert.deepEqual(body.Cmd, ['-c', 'echo hi']);
  assert.deepEqual(body.Entrypoint, ['/bin/sh']);
  assert.deepEqual(body.Env, ['A=1', 'FROM_ENV=yes']);
  assert.equal(body.Hostname, 'mydocker1.rayx.me', 'docker CLI 20.10+ keeps a dotted hostname whole');
  assert.equal(body.Domainname, '');
  assert.equal(body.WorkingDir, '/w');
  assert.equal(body.User, '1000');
  assert.equal(body.Tty, true);
  assert.equal(body.OpenStdin, true);
  assert.equal(body.AttachStdin, true);
  assert.equal(body.StdinOnce, true);
  assert.deepEqual(body.Labels, { a: 'b', c: '' });
  assert.deepEqual(body.ExposedPorts, { '80/tcp': {}, '81/tcp': {} });
  assert.equal(body.HostConfig.NetworkMode, 'my-net');
  assert.equal(body.HostConfig.AutoRemove, true);
  assert.equal(body.HostConfig.PublishAllPorts, true);
  assert.deepEqual(body.HostConfig.PortBindings, { '80/tcp': [{ HostIp: '', HostPort: '8080' }] });
  assert.deepEqual(body.HostConfig.Dns, ['8.8.8.8']);
  assert.deepEqual(body.HostConfig.DnsSearch, ['rayx.me']);
  assert.deepEqual(body.HostConfig.DnsOptions, ['ndots:2']);
  assert.deepEqual(body.HostConfig.ExtraHosts, ['www.rayx.me:54.12.17.68']);
  assert.deepEqual(body.NetworkingConfig.EndpointsConfig, {
    'my-net': { IPAMConfig: { IPv4Address: '10.1.0.5' }, Aliases: ['w'], MacAddress: '02:42:ac:11:00:09' },
  });
});

test('run defaults: default network mode, no command, detached does not attach', () => {
  const { body } = buildCreate({ detach: true }, 'busybox', []);
  assert.equal(body.HostConfig.NetworkMode, 'default');
  assert.equal(body.Cmd, null);
  assert.equal(body.Entrypoint, null);
  assert.equal(body.AttachStdout, false);
  assert.equal(body.AttachStderr, false);
  assert.deepEqual(body.NetworkingConfig.EndpointsConfig, {});
  const c = buildCreate({ network: 'container:b1' }, 'busybox', []);
  assert.equal(c.body.HostConfig.NetworkMode, 'container:b1');
  assert.deepEqual(c.body.NetworkingConfig.EndpointsConfig, {});
  assert.throws(() => buildCreate({ addHost: ['foo'] }, 'b', []), { message: 'invalid argument "foo" for "--add-host" flag: bad format for add-host: "foo"' });
  assert.throws(() => buildCreate({ macAddress: 'zz' }, 'b', []), /is not a valid mac address/);
  assert.deepEqual(parseEnv(['X=', 'Y=a=b']), ['X=', 'Y=a=b']);
  assert.equal(withLatest('busybox'), 'busybox:latest');
  assert.equal(withLatest('localhost:5000/bb'), 'localhost:5000/bb:latest');
  assert.equal(withLatest('bb:1'), 'bb:1');
});

test('commander stops option parsing at the image: the command keeps its dashes', async () => {
  // Mirrors main.ts: positional options on the program, pass-through on run.
  const p = new Command('berth').enablePositionalOptions().exitOverride();
  let got: any = null;
  p.command('run <image> [command...]').passThroughOptions().helpOption('--help')
    .option('-d, --detach').option('-i, --interactive').option('-t, --tty').option('-h, --hostname <h>')
    .option('-p, --publish <p>', '', (v: string, prev: string[] = []) => [...prev, v])
    .action((image: string, cmd: string[], o: any) => { got = { image, cmd, o }; });
  await p.parseAsync(['run', '-dit', '-p', '80:80', '-p8080:80', '-h', 'x', 'busybox', 'sh', '-c', 'ls -l', '-d'], { from: 'user' });
  assert.equal(got.image, 'busybox');
  assert.deepEqual(got.cmd, ['sh', '-c', 'ls -l', '-d']);
  assert.deepEqual({ ...got.o }, { detach: true, interactive: true, tty: true, publish: ['80:80', '8080:80'], hostname: 'x' });
});

test('network create pairs gateways, ranges and aux addresses with their subnets', () => {
  assert.deepEqual(ipamConfig({ subnet: ['172.26.0.0/16'], gateway: ['172.26.0.2'], ipRange: ['172.26.5.0/24'], auxAddress: ['host=172.26.0.9'] }),
    [{ Subnet: '172.26.0.0/16', IPRange: '172.26.5.0/24', Gateway: '172.26.0.2', AuxiliaryAddresses: { host: '172.26.0.9' } }]);
  assert.deepEqual(ipamConfig({}), []);
  assert.throws(() => ipamConfig({ auxAddress: ['a=1.2.3.4'] }), (e: unknown) => e instanceof Exit && (e as Error).message === 'no matching subnet for aux-address 1.2.3.4');
  assert.throws(() => ipamConfig({ subnet: ['10.0.0.0/24'], gateway: ['10.0.1.1'] }), { message: 'no matching subnet for gateway 10.0.1.1' });
  assert.throws(() => ipamConfig({ gateway: ['10.0.1.1'] }), { message: 'every ip-range or gateway must have a corresponding subnet' });
  const body = networkCreateBody('n', { driver: 'bridge', internal: true, opt: ['com.docker.network.bridge.name=br9'], label: ['a=b'] });
  assert.equal(body.Internal, true);
  assert.deepEqual(body.Options, { 'com.docker.network.bridge.name': 'br9' });
  assert.deepEqual(body.Labels, { a: 'b' });
  assert.equal(body.IPAM.Driver, 'default');
});

test('go-units human durations and sizes', () => {
  assert.equal(humanDuration(500), 'Less than a second');
  assert.equal(humanDuration(1000), '1 second');
  assert.equal(humanDuration(31_000), '31 seconds');
  assert.equal(humanDuration(60_000), 'About a minute');
  assert.equal(humanDuration(5 * 60_000), '5 minutes');
  assert.equal(humanDuration(60 * 60_000), 'About an hour');
  assert.equal(humanDuration(89 * 60_000), 'About an hour');
  assert.equal(humanDuration(3 * 3600_000), '3 hours');
  assert.equal(humanDuration(3 * 86400_000), '3 days');
  assert.equal(humanDuration(20 * 86400_000), '2 weeks');
  assert.equal(humanDuration(90 * 86400_000), '3 months');
  assert.equal(humanDuration(56 * 365 * 86400_000 + 86400_000 * 20), '56 years');
  assert.equal(humanSize(4215000, 3), '4.21MB');
  assert.equal(humanSize(4215000), '4.215MB');
  assert.equal(humanSize(0, 3), '0B');
  assert.equal(humanSize(1000), '1kB');
  assert.equal(humanSize(999), '999B');
});

test('tabwriter with docker settings: min width 10, padding 3, last cell unpadded', () => {
  assert.equal(tabwrite('NETWORK ID\tNAME\tDRIVER\tSCOPE\naa530990d8a9\tbridge\tbridge\tlocal\n'),
    'NETWORK ID     NAME      DRIVER    SCOPE\naa530990d8a9   bridge    bridge    local\n');
  assert.equal(tabwrite('a\tb\nccccccccccccc\td\n'), 'a' + ' '.repeat(15) + 'b\nccccccccccccc   d\n');
  // width counts runes, not bytes
  assert.equal(tabwrite('"sleep 10…"\tx\n'), '"sleep 10…"   x\n');
});

test('network ls and images tables match the reference docker output', () => {
  const nets = [
    { Name: 'bridge', Id: 'aa530990d8a955188064f20dd1a725a0ead0d4ff2c7a1de77ba1480a19e45a1c', Driver: 'bridge', Scope: 'local' },
    { Name: 'reftestnet', Id: '026f1f865eee14ce3f776ff0fd22820b57a93f3915f18f2773b0d62a637d7dcb', Driver: 'bridge', Scope: 'local' },
  ];
  assert.equal(renderRows(nets.map((n) => networkRow(n, true)), { format: 'table', defaultTable: NET_DEFAULT, headers: NET_HEADERS }),
    'NETWORK ID     NAME         DRIVER    SCOPE\n' +
    'aa530990d8a9   bridge       bridge    local\n' +
    '026f1f865eee   reftestnet   bridge    local\n');
  assert.equal(renderRows(nets.map((n) => networkRow(n, true)), { format: '{{.Name}}', defaultTable: NET_DEFAULT, headers: NET_HEADERS }), 'bridge\nreftestnet\n');
  assert.equal(renderRows(nets.map((n) => networkRow(n, true)), { format: 'table {{.Name}}\\t{{.Driver}}', defaultTable: NET_DEFAULT, headers: NET_HEADERS }),
    'NAME         DRIVER\nbridge       bridge\nreftestnet   bridge\n');
  const now = Date.parse('2026-11-22T13:00:00Z');
  const imgs = imageRows([{ Id: 'sha256:a1221df62875553aea42e600bf01125c20996f2cf5b30f6f63fac355c47b3310', RepoTags: ['busybox:latest'], Created: Math.floor(now / 1000) - 4000, Size: 4215000 }], true, now);
  assert.equal(renderRows(imgs, { format: 'table', defaultTable: IMAGE_DEFAULT, headers: IMAGE_HEADERS }),
    'REPOSITORY   TAG       IMAGE ID       CREATED             SIZE\n' +
    'busybox      latest    a1221df62875   About an hour ago   4.21MB\n');
  const empty = renderRows([], { format: 'table', defaultTable: IMAGE_DEFAULT, headers: IMAGE_HEADERS });
  assert.equal(empty, 'REPOSITORY   TAG       IMAGE ID   CREATED   SIZE\n');
});

test('ps pieces: quoted truncated command, short ids, filters', () => {
  assert.equal(goQuote(ellipsis("sh -c 'exit 3'", 20)), `"sh -c 'exit 3'"`);
  assert.equal(goQuote(ellipsis('sleep 1000000000000000000000', 20)), '"sleep 1000000000000…"');
  assert.equal(goQuote('a "b"'), '"a \\"b\\""');
  assert.equal(shortId('sha256:a1221df62875553aea'), 'a1221df62875');
  assert.equal(filtersParam(['name=web', 'status=exited', 'name=db']), '{"name":["web","db"],"status":["exited"]}');
  assert.equal(filtersParam(undefined), undefined);
  assert.deepEqual(splitRef('localhost:5000/bb'), { repo: 'localhost:5000/bb', tag: 'latest' });
  assert.deepEqual(splitRef('bb:1.0'), { repo: 'bb', tag: '1.0' });
});
