import { test } from 'node:test';
import assert from 'node:assert/strict';
import { containerJson, containerListEntry, networkJson, portsList, portsMap, statusText } from '../../src/engine/inspect';
import { humanDuration } from '../../src/util/duration';
import { matchContainerFilters, matchNetworkFilters, validateFilters } from '../../src/engine/filters';
import { mergeEnv } from '../../src/engine/env';
import type { ContainerRecord, NetworkRecord } from '../../src/engine/types';

const NET: NetworkRecord = {
  Id: 'a'.repeat(64), Name: 'mynet', Created: '2026-01-01T00:00:00.000000000Z', Driver: 'bridge', Scope: 'local',
  EnableIPv6: false, Internal: false, Attachable: false,
  IPAM: { Driver: 'default', Options: {}, Config: [{ Subnet: '172.18.0.0/16', Gateway: '172.18.0.1' }] },
  Options: {}, Labels: { team: 'a' }, bridgeName: 'br-aaaaaaaaaaaa',
};

function container(running: boolean): ContainerRecord {
  return {
    Id: 'c'.repeat(64), Name: 'web', Created: '2026-01-01T00:00:00.000000000Z', Image: 'busybox', ImageID: 'sha256:' + 'b'.repeat(64),
    Config: { Hostname: 'cccccccccccc', Env: [], Cmd: ['sleep', '10'], Entrypoint: null, ExposedPorts: { '80/tcp': {}, '90/tcp': {} }, Labels: { app: 'x' } },
    HostConfig: { NetworkMode: 'mynet' },
    NetworkingConfig: { EndpointsConfig: { mynet: { Aliases: ['www'] } } },
    State: { Status: running ? 'running' : 'exited', Running: running, Paused: false, Restarting: false, OOMKilled: false, Dead: false,
      Pid: running ? 42 : 0, ExitCode: running ? 0 : 3, Error: '', StartedAt: new Date(Date.now() - 5000).toISOString(),
      FinishedAt: running ? '0001-01-01T00:00:00Z' : new Date(Date.now() - 120000).toISOString() },
    RestartCount: 0, netnsPath: running ? '/run/berth/netns/cccccccccccc' : null,
    endpoints: running ? { mynet: { NetworkID: NET.Id, EndpointID: 'e'.repeat(64), IPAddress: '172.18.0.2', IPPrefixLen: 16,
      Gateway: '172.18.0.1', MacAddress: '02:42:ac:12:00:02', Aliases: ['www'], Links: null, IPAMConfig: null, ifname: 'eth0', hostIfname: 'veth1234567' } } : {},
    ports: running ? [{ proto: 'tcp', hostIp: '0.0.0.0', hostPort: 8080, containerIp: '172.18.0.2', containerPort: 80, count: 1, bridgeName: 'br-x' }] : [],
  };
}

test('ports map lists exposed ports and bindings of a running container', () => {
  assert.deepEqual(portsMap(container(true)), { '80/tcp': [{ HostIp: '0.0.0.0', HostPort: '8080' }], '90/tcp': null });
  assert.deepEqual(portsMap(container(false)), { '80/tcp': null, '90/tcp': null });
  assert.deepEqual(portsList(container(true)), [
    { IP: '0.0.0.0', PrivatePort: 80, PublicPort: 8080, Type: 'tcp' }, { PrivatePort: 90, Type: 'tcp' }]);
});

test('a run of ports expands to one entry per port', () => {
  const c = container(true);
  c.ports = [{ proto: 'udp', hostIp: '0.0.0.0', hostPort: 5000, containerIp: '172.18.0.2', containerPort: 5000, count: 3, bridgeName: 'br-x' }];
  assert.equal(portsList(c).filter((p) => p.Type === 'udp').length, 3);
});

test('container inspect has Docker fields and the short id alias on user networks', () => {
  const j = containerJson(container(true), { root: '/d/c', logPath: '/d/c/log' }, 'sha256:x', (n) => n === 'bridge');
  assert.equal(j.Name, '/web');
  assert.equal(j.Path, 'sleep');
  assert.deepEqual(j.Args, ['10']);
  assert.equal(j.NetworkSettings.Networks.mynet.IPAddress, '172.18.0.2');
  assert.deepEqual(j.NetworkSettings.Networks.mynet.Aliases, ['www', 'cccccccccccc']);
  assert.equal(j.NetworkSettings.IPAddress, ''); // top-level fields are the default bridge's only
  assert.deepEqual(j.NetworkSettings.Networks.mynet.DNSNames, ['web', 'www', 'cccccccccccc']);
  const stopped = containerJson(container(false), { root: '/d/c', logPath: '/d/c/log' }, 'sha256:x', () => false);
  assert.equal(stopped.NetworkSettings.Networks.mynet.IPAddress, '');
  assert.equal(stopped.NetworkSettings.Networks.mynet.DNSNames, null);
});

test('a container whose NetworkMode network was disconnected lists no network there', () => {
  const c = container(false);
  c.primaryDetached = true;
  c.NetworkingConfig.EndpointsConfig = {};
  assert.deepEqual(containerJson(c, { root: '/d/c', logPath: '/d/c/log' }, 'sha256:x', () => false).NetworkSettings.Networks, {});
  assert.equal(containerJson(c, { root: '/d/c', logPath: '/d/c/log' }, 'sha256:x', () => false).HostConfig.NetworkMode, 'mynet');
});

test('status text follows docker ps', () => {
  assert.match(statusText(container(true)), /^Up \d seconds$/);
  assert.equal(statusText(container(false)), 'Exited (3) 2 minutes ago');
  assert.equal(humanDuration(500), 'Less than a second');
  assert.equal(humanDuration(60_000), 'About a minute');
  assert.equal(humanDuration(3 * 3600_000), '3 hours');
});

test('list entry and network json', () => {
  const e = containerListEntry(container(true), 'sha256:x', () => false);
  assert.deepEqual(e.Names, ['/web']);
  assert.equal(e.Command, 'sleep 10');
  const n = networkJson(NET, [container(true), container(false)]);
  assert.deepEqual(Object.keys(n.Containers), ['c'.repeat(64)]);
  assert.equal(n.Containers['c'.repeat(64)].IPv4Address, '172.18.0.2/16');
});

test('filters', () => {
  const find = (r: string) => (r === 'mynet' || NET.Id.startsWith(r) ? NET : undefined);
  assert.ok(matchContainerFilters(container(true), { name: ['we'] }, find));
  assert.ok(!matchContainerFilters(container(true), { name: ['^db'] }, find));
  assert.ok(matchContainerFilters(container(true), { network: ['mynet'] }, find));
  assert.ok(matchContainerFilters(container(false), { status: ['exited'], exited: ['3'] }, find));
  assert.ok(matchContainerFilters(container(true), { label: ['app=x'] }, find));
  assert.ok(!matchContainerFilters(container(true), { label: ['app=y'] }, find));
  assert.throws(() => matchContainerFilters(container(true), { status: ['sleeping'] }, find), /Invalid filter 'status=sleeping'/);
  assert.throws(() => validateFilters({ colour: ['red'] }, ['name']), /invalid filter 'colour'/);
  assert.ok(matchNetworkFilters(NET, { driver: ['bridge'], type: ['custom'], label: ['team'] }, []));
  assert.ok(!matchNetworkFilters(NET, { type: ['builtin'] }, []));
});

test('env merge keeps order and lets later values win', () => {
  assert.deepEqual(mergeEnv(['PATH=/bin', 'A=1'], ['A=2', 'B=3']), ['PATH=/bin', 'A=2', 'B=3']);
});
