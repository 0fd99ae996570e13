// The request-body schemas and query checks of the API (pure): what real clients send passes
// unchanged, a mistake is a 400 naming the field in Docker's words, settings berth does not
// implement are refused unless they carry the zero value clients send by default.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { ApiError } from '../../src/util/errors';
import {
  checkContainerCreate, checkExecCreate, checkExecStart, checkNetworkConnect, checkNetworkCreate, checkNetworkDisconnect,
  checkSwarmInit, checkSwarmJoin, fieldName,
} from '../../src/api/schemas';
import { checkSignal, jsonDepth, parseJsonBody, timeoutParam } from '../../src/api/query';
import { pruneFilters } from '../../src/api/routes';
import { longTimeout } from '../../src/util/timers';

/** fn throws ApiError(status) whose message is `message` (or matches it). */
function refuses(fn: () => unknown, message: string | RegExp, status = 400): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof ApiError, `not an ApiError: ${e}`);
    assert.equal(e.status, status, e.message);
    if (typeof message === 'string') assert.equal(e.message, message);
    else assert.match(e.message, message);
    return true;
  });
}

/** What docker CLI 20.10 sends for `docker create --name x -p 8080:80 --network n busybox true`. */
const DOCKER_CLI_CREATE = {
  Hostname: '', Domainname: '', User: '', AttachStdin: false, AttachStdout: true, AttachStderr: true,
  ExposedPorts: { '80/tcp': {} }, Tty: false, OpenStdin: false, StdinOnce: false, Env: [], Cmd: ['true'], Image: 'busybox',
  Volumes: {}, WorkingDir: '', Entrypoint: null, OnBuild: null, Labels: {},
  HostConfig: {
    Binds: null, ContainerIDFile: '', LogConfig: { Type: '', Config: {} }, NetworkMode: 'n', PortBindings: { '80/tcp': [{ HostIp: '', HostPort: '8080' }] },
    RestartPolicy: { Name: 'no', MaximumRetryCount: 0 }, AutoRemove: false, VolumeDriver: '', VolumesFrom: null, CapAdd: null, CapDrop: null,
    CgroupnsMode: '', Dns: [], DnsOptions: [], DnsSearch: [], ExtraHosts: null, GroupAdd: null, IpcMode: '', Cgroup: '', Links: null,
    OomScoreAdj: 0, PidMode: '', Privileged: false, PublishAllPorts: false, ReadonlyRootfs: false, SecurityOpt: null, UTSMode: '',
    UsernsMode: '', ShmSize: 0, ConsoleSize: [0, 0], Isolation: '', CpuShares: 0, Memory: 0, NanoCpus: 0, CgroupParent: '',
    BlkioWeight: 0, BlkioWeightDevice: [], BlkioDeviceReadBps: null, BlkioDeviceWriteBps: null, BlkioDeviceReadIOps: null,
    BlkioDeviceWriteIOps: null, CpuPeriod: 0, CpuQuota: 0, CpuRealtimePeriod: 0, CpuRealtimeRuntime: 0, CpusetCpus: '', CpusetMems: '',
    Devices: [], DeviceCgroupRules: null, DeviceRequests: null, KernelMemory: 0, KernelMemoryTCP: 0, MemoryReservation: 0, MemorySwap: 0,
    MemorySwappiness: null, OomKillDisable: false, PidsLimit: null, Ulimits: null, CpuCount: 0, CpuPercent: 0, IOMaximumIOps: 0,
    IOMaximumBandwidth: 0, MaskedPaths: null, ReadonlyPaths: null,
  },
  NetworkingConfig: { EndpointsConfig: { n: { IPAMConfig: null, Links: null, Aliases: null } } },
};

test('what the docker CLI sends for create passes, with its values kept and unknown fields dropped', () => {
  const b = checkContainerCreate({ ...DOCKER_CLI_CREATE, SomethingNew: { deep: [1, 2] } });
  assert.equal(b.Image, 'busybox');
  assert.deepEqual(b.Cmd, ['true']);
  assert.deepEqual(b.HostConfig?.PortBindings, { '80/tcp': [{ HostIp: '', HostPort: '8080' }] });
  assert.equal(b.HostConfig?.NetworkMode, 'n');
  assert.equal((b as any).SomethingNew, undefined);
  // Memory: 0 is the zero value, kept for inspect; MemorySwap -1 is "unlimited".
  assert.equal((b.HostConfig as any).Memory, 0);
  checkContainerCreate({ Image: 'busybox', Cmd: 'true', HostConfig: { MemorySwap: -1 } });
});

test('type errors are Docker\'s "json: cannot unmarshal" with the field\'s path', () => {
  refuses(() => checkContainerCreate({ Image: 'busybox', HostConfig: { NetworkMode: 5 } }),
    'json: cannot unmarshal number into Go struct field HostConfig.NetworkMode of type string');
  refuses(() => checkContainerCreate({ Image: 5 }), 'json: cannot unmarshal number into Go struct field Image of type string');
  refuses(() => checkContainerCreate({ Image: 'b', Env: 'x' }), 'json: cannot unmarshal string into Go struct field Env of type []string');
  refuses(() => checkContainerCreate({ Image: 'b', Cmd: 5 }), 'json: cannot unmarshal number into Go struct field Cmd of type strslice.StrSlice');
  refuses(() => checkContainerCreate({ Image: 'b', Tty: 'yes' }), 'json: cannot unmarshal string into Go struct field Tty of type bool');
  refuses(() => checkContainerCreate({ Image: 'b', Labels: { a: { b: 1 } } }), 'json: cannot unmarshal object into Go struct field Labels.a of type string');
  refuses(() => checkContainerCreate({ Image: 'b', StopTimeout: 1.5 }), 'json: cannot unmarshal number into Go struct field StopTimeout of type int');
  refuses(() => checkContainerCreate({ Image: 'b', HostConfig: { PortBindings: { '80/tcp': [{ HostPort: 80 }] } } }),
    'json: cannot unmarshal number into Go struct field HostConfig.PortBindings.80/tcp[0].HostPort of type string');
  refuses(() => checkContainerCreate([1]), 'json: cannot unmarshal array into Go value of type container.Config');
  refuses(() => checkContainerCreate('x'), 'json: cannot unmarshal string into Go value of type container.Config');
  refuses(() => checkContainerCreate(null), 'config cannot be empty in order to create a container');
  refuses(() => checkNetworkCreate({ Name: 5 }), 'json: cannot unmarshal number into Go struct field Name of type string');
  refuses(() => checkNetworkCreate({ Name: 'x', IPAM: { Config: [null] } }),
    'json: cannot unmarshal null into Go struct field IPAM.Config[0] of type network.IPAMConfig');
  refuses(() => checkNetworkConnect({ Container: 5 }), 'json: cannot unmarshal number into Go struct field Container of type string');
  refuses(() => checkNetworkDisconnect({ Container: 'c', Force: 'yes' }), 'json: cannot unmarshal string into Go struct field Force of type bool');
  refuses(() => checkExecCreate({ Cmd: 'ls' }), 'json: cannot unmarshal string into Go struct field Cmd of type []string');
  refuses(() => checkExecStart({ Detach: 'x' }), 'json: cannot unmarshal string into Go struct field Detach of type bool');
  refuses(() => checkSwarmInit({ ListenAddr: 5 }), 'json: cannot unmarshal number into Go struct field ListenAddr of type string');
  refuses(() => checkSwarmJoin({ RemoteAddrs: 'a' }), 'json: cannot unmarshal string into Go struct field RemoteAddrs of type []string');
  assert.equal(fieldName(['a', 'b', 0, 'c']), 'a.b[0].c');
});

test('values dockerd refuses at create are refused at create', () => {
  refuses(() => checkContainerCreate({ Image: 'b', HostConfig: { PortBindings: { foo: [{ HostPort: '80' }] } } }), 'invalid port specification: "foo"');
  refuses(() => checkContainerCreate({ Image: 'b', HostConfig: { PortBindings: { '80/tcp': [{ HostPort: 'abc' }] } } }), 'invalid port specification: "abc"');
  refuses(() => checkContainerCreate({ Image: 'b', HostConfig: { PortBindings: { '80/tcp': [{ HostIp: 'abc' }] } } }), /invalid IP address/);
  refuses(() => checkContainerCreate({ Image: 'b', ExposedPorts: { '99999/tcp': {} } }), 'invalid port specification: "99999"');
  refuses(() => checkContainerCreate({ Image: 'b', HostConfig: { RestartPolicy: { Name: 'bogus' } } }), "invalid restart policy 'bogus'");
  refuses(() => checkContainerCreate({ Image: 'b', NetworkingConfig: { EndpointsConfig: { bridge: null } } }), 'no EndpointSettings for bridge');
  refuses(() => checkContainerCreate({ Image: 'b', NetworkingConfig: { EndpointsConfig: { n: { IPAMConfig: { IPv4Address: 'x' } } } } }), 'invalid IPv4 address: x');
  refuses(() => checkNetworkCreate({ Name: 'x', IPAM: { Driver: 'foo' } }), 'plugin "foo" not found', 404);
  refuses(() => checkExecCreate({ Cmd: [] }), 'No exec command specified');
  refuses(() => checkNetworkConnect({}), 'invalid name or ID supplied: ""');
});

test('null port bindings are empty bindings, as dockerd decodes them', () => {
  const b = checkContainerCreate({ Image: 'b', HostConfig: { PortBindings: { '80/tcp': [null], '81/tcp': null } } });
  assert.deepEqual(b.HostConfig?.PortBindings, { '80/tcp': [{ HostIp: '', HostPort: '' }], '81/tcp': [] });
});

test('settings berth does not implement are refused unless they are the zero value', () => {
  for (const [hc, field] of [
    [{ Privileged: true }, 'HostConfig.Privileged'], [{ Memory: 1 << 20 }, 'HostConfig.Memory'],
    [{ LogConfig: { Type: 'syslog' } }, 'HostConfig.LogConfig.Type'], [{ LogConfig: { Type: 'json-file', Config: { 'max-size': '1m' } } }, 'HostConfig.LogConfig.Config'],
    [{ Init: true }, 'HostConfig.Init'], [{ ReadonlyRootfs: true }, 'HostConfig.ReadonlyRootfs'],
  ] as const) {
    refuses(() => checkContainerCreate({ Image: 'b', HostConfig: hc }), new RegExp(`^berth does not support .*\\(${field.replace(/\./g, '\\.')}\\)$`));
  }
  refuses(() => checkContainerCreate({ Image: 'b', Volumes: { '/data': {} } }), 'berth does not support anonymous volumes (/data): bind-mount a host path there (Volumes)');
  checkContainerCreate({ Image: 'b', Volumes: { '/data': {} }, HostConfig: { Binds: ['/srv:/data:ro'] } });
  refuses(() => checkContainerCreate({ Image: 'b', StopSignal: 'SIGNOPE' }), 'Invalid signal: SIGNOPE');
  refuses(() => checkContainerCreate({ Image: 'b', HostConfig: { RestartPolicy: { Name: 'sometimes' } } }), "invalid restart policy 'sometimes'");
  // implemented: mounts, capabilities, sysctls, restart policies, stop signal and timeout (engine/hostconfig.ts checks values)
  checkContainerCreate({ Image: 'b', StopSignal: 'SIGINT', StopTimeout: 3, HostConfig: { Binds: ['/a:/b'], CapAdd: ['NET_ADMIN'], Sysctls: { 'net.ipv4.ip_forward': '1' }, RestartPolicy: { Name: 'always' } } });
  refuses(() => checkContainerCreate({ Image: 'b', Healthcheck: { Test: ['CMD', 'true'] } }), /\(Healthcheck\)$/);
  checkContainerCreate({ Image: 'b', Healthcheck: { Test: ['NONE'] }, HostConfig: { RestartPolicy: { Name: '' }, LogConfig: { Type: 'json-file' } } });
  refuses(() => checkNetworkCreate({ Name: 'x', ConfigOnly: true }), /\(ConfigOnly\)$/);
});

test('JSON bodies: content type, depth, syntax', () => {
  assert.equal(parseJsonBody(Buffer.from('')), undefined);
  assert.deepEqual(parseJsonBody(Buffer.from('{"a":1}'), 'application/json; charset=utf-8'), { a: 1 });
  refuses(() => parseJsonBody(Buffer.from('{"a":1}'), 'text/plain'), "Content-Type specified (text/plain) must be 'application/json'");
  refuses(() => parseJsonBody(Buffer.from('{"a":')), /^invalid JSON: /);
  refuses(() => parseJsonBody(Buffer.from('['.repeat(100_000))), /nested deeper than 64 levels/);
  assert.equal(jsonDepth('{"a":"[[[[{{{{","b":[{}]}'), 3);
  assert.equal(jsonDepth('"\\"[["'), 0);
});

test('query values: signals, stop timeouts, prune filters', () => {
  assert.equal(checkSignal('SIGKILL'), 'SIGKILL');
  assert.equal(checkSignal('kill'), 'kill');
  assert.equal(checkSignal('9'), '9');
  assert.equal(checkSignal(null), undefined);
  refuses(() => checkSignal('FOO'), 'Invalid signal: FOO');
  refuses(() => checkSignal('99'), 'Invalid signal: 99');
  const q = (s: string) => new URLSearchParams(s);
  assert.equal(timeoutParam(q('t=3000000')), 3000000);
  assert.equal(timeoutParam(q('t=-1')), -1);
  assert.equal(timeoutParam(q('')), undefined);
  refuses(() => timeoutParam(q('t=abc')), 'strconv.Atoi: parsing "abc": invalid syntax');
  refuses(() => timeoutParam(q('t=99999999999999999999')), 'strconv.Atoi: parsing "99999999999999999999": value out of range');
  assert.deepEqual(pruneFilters('{"label":["a=b"]}'), { label: ['a=b'] });
  refuses(() => pruneFilters('{"bogus":["x"]}'), "Invalid filter 'bogus'");
  refuses(() => pruneFilters('{"until":["1h"]}'), "berth does not support the prune filter 'until'");
});

test('longTimeout fires for delays within range and can be cancelled beyond it', async () => {
  await new Promise<void>((resolve) => { longTimeout(resolve, 5); });
  // Beyond 2^31-1 ms node's own setTimeout would fire at once; this one must not.
  let fired = false;
  const cancel = longTimeout(() => { fired = true; }, 3_000_000_000);
  await new Promise((r) => setTimeout(r, 50));
  cancel();
  assert.equal(fired, false);
});
