// The shapes of the Engine API's request bodies, checked before the engine sees a request, so
// a client's mistake is a 400 that names the field and nothing is done. Pure (no I/O).
//
// Like dockerd, fields berth has never heard of are dropped (Go's JSON decoder ignores unknown
// fields of a struct). A field of the wrong type is refused in Docker's wording ("json: cannot
// unmarshal number into Go struct field HostConfig.NetworkMode of type string"). Fields that
// Docker implements and berth does not are refused when they ask for something (a bind mount,
// a restart policy, a memory limit) and accepted when they carry the zero value that clients
// send by default, so a setting is never silently ignored.
import { z } from 'zod';
import { checkSignal } from './query';
import { checkRestartPolicy } from '../engine/restart';
import * as ipaddr from 'ipaddr.js';
import { badRequest, EMPTY_CREATE_CONFIG, NO_EXEC_COMMAND, notFound } from '../util/errors';
import { parsePortKey, validatePortBindings } from '../engine/portmap/spec';

// Leaves carry the Go type Docker names in its error as their message.
const str = () => z.string({ error: 'string' });
const bool = () => z.boolean({ error: 'bool' });
const int = () => z.int({ error: 'int' });
const strList = () => z.array(str(), { error: '[]string' });
const strMap = () => z.record(z.string(), str(), { error: 'map[string]string' });
/** Docker's strslice: a string or a list of strings (Cmd, Entrypoint). */
const strSlice = () => z.union([str(), strList()], { error: 'strslice.StrSlice' });
/** A set in Docker's JSON: keys with `{}` values (ExposedPorts, Volumes). */
const emptyObject = () => z.object({}, { error: 'struct {}' });
const obj = <T extends z.ZodRawShape>(shape: T, goType: string) => z.object(shape, { error: goType });

const portBinding = obj({ HostIp: str().nullish(), HostPort: str().nullish() }, 'nat.PortBinding');

const endpointSettings = obj({
  IPAMConfig: obj({
    IPv4Address: str().nullish(),
    IPv6Address: str().nullish(),
    LinkLocalIPs: strList().nullish(),
  }, 'network.EndpointIPAMConfig').nullish(),
  Links: strList().nullish(),
  Aliases: strList().nullish(),
  NetworkID: str().nullish(),
  EndpointID: str().nullish(),
  Gateway: str().nullish(),
  IPAddress: str().nullish(),
  IPPrefixLen: int().nullish(),
  IPv6Gateway: str().nullish(),
  GlobalIPv6Address: str().nullish(),
  GlobalIPv6PrefixLen: int().nullish(),
  MacAddress: str().nullish(),
  DriverOpts: strMap().nullish(),
}, 'network.EndpointSettings');

const restartPolicy = obj({ Name: str().nullish(), MaximumRetryCount: int().nullish() }, 'container.RestartPolicy');
const logConfig = obj({ Type: str().nullish(), Config: strMap().nullish() }, 'container.LogConfig');

/** Resource limits (all integers; 0, -1 or null mean "none"). */
const RESOURCE_LIMITS = ['Memory', 'MemoryReservation', 'MemorySwap', 'MemorySwappiness', 'KernelMemory', 'KernelMemoryTCP',
  'NanoCpus', 'CpuShares', 'CpuPeriod', 'CpuQuota', 'CpuRealtimePeriod', 'CpuRealtimeRuntime', 'CpuCount',
  'CpuPercent', 'BlkioWeight', 'PidsLimit', 'IOMaximumIOps', 'IOMaximumBandwidth'];

/** HostConfig fields berth implements. */
const hostConfigShape = {
  NetworkMode: str().nullish(),
  PortBindings: z.record(z.string(), z.array(portBinding.nullable(), { error: '[]nat.PortBinding' }).nullable(),
    { error: 'nat.PortMap' }).nullish(),
  PublishAllPorts: bool().nullish(),
  AutoRemove: bool().nullish(),
  Dns: strList().nullish(),
  DnsOptions: strList().nullish(),
  DnsSearch: strList().nullish(),
  ExtraHosts: strList().nullish(),
  Links: strList().nullish(),
  RestartPolicy: restartPolicy.nullish(),
  LogConfig: logConfig.nullish(),
  // Accepted as clients send them; berth's containers always get these values.
  ContainerIDFile: str().nullish(),
  IpcMode: str().nullish(),
  PidMode: str().nullish(),
  UTSMode: str().nullish(),
  UsernsMode: str().nullish(),
  CgroupnsMode: str().nullish(),
  Cgroup: str().nullish(),
  Isolation: str().nullish(),
  Runtime: str().nullish(),
  ShmSize: int().nullish(),
  OomScoreAdj: int().nullish(),
  ConsoleSize: z.array(int(), { error: '[2]uint' }).nullish(),
  // Implemented by nobody in berth: refused below unless empty.
  Binds: strList().nullish(),
  Mounts: z.array(z.unknown(), { error: '[]mount.Mount' }).nullish(),
  VolumesFrom: strList().nullish(),
  VolumeDriver: str().nullish(),
  CapAdd: strList().nullish(),
  CapDrop: strList().nullish(),
  GroupAdd: strList().nullish(),
  SecurityOpt: strList().nullish(),
  StorageOpt: strMap().nullish(),
  Tmpfs: strMap().nullish(),
  Sysctls: strMap().nullish(),
  Privileged: bool().nullish(),
  ReadonlyRootfs: bool().nullish(),
  Init: bool().nullish(),
  OomKillDisable: bool().nullish(),
  Devices: z.array(z.unknown(), { error: '[]container.DeviceMapping' }).nullish(),
  DeviceRequests: z.array(z.unknown(), { error: '[]container.DeviceRequest' }).nullish(),
  DeviceCgroupRules: strList().nullish(),
  Ulimits: z.array(z.unknown(), { error: '[]*units.Ulimit' }).nullish(),
  CgroupParent: str().nullish(),
  CpusetCpus: str().nullish(),
  CpusetMems: str().nullish(),
  MaskedPaths: strList().nullish(),
  ReadonlyPaths: strList().nullish(),
  ...Object.fromEntries(RESOURCE_LIMITS.map((k) => [k, int().nullish()])),
  BlkioWeightDevice: z.array(z.unknown(), { error: '[]*blkiodev.WeightDevice' }).nullish(),
  BlkioDeviceReadBps: z.array(z.unknown(), { error: '[]*blkiodev.ThrottleDevice' }).nullish(),
  BlkioDeviceWriteBps: z.array(z.unknown(), { error: '[]*blkiodev.ThrottleDevice' }).nullish(),
  BlkioDeviceReadIOps: z.array(z.unknown(), { error: '[]*blkiodev.ThrottleDevice' }).nullish(),
  BlkioDeviceWriteIOps: z.array(z.unknown(), { error: '[]*blkiodev.ThrottleDevice' }).nullish(),
};


const healthcheck = obj({
  Test: strList().nullish(), Interval: int().nullish(), Timeout: int().nullish(), StartPeriod: int().nullish(),
  StartInterval: int().nullish(), Retries: int().nullish(),
}, 'container.HealthConfig');

const containerCreateSchema = obj({
  Hostname: str().nullish(),
  Domainname: str().nullish(),
  User: str().nullish(),
  AttachStdin: bool().nullish(),
  AttachStdout: bool().nullish(),
  AttachStderr: bool().nullish(),
  ExposedPorts: z.record(z.string(), emptyObject().nullable(), { error: 'nat.PortSet' }).nullish(),
  Tty: bool().nullish(),
  OpenStdin: bool().nullish(),
  StdinOnce: bool().nullish(),
  Env: strList().nullish(),
  Cmd: strSlice().nullish(),
  Image: str().nullish(),
  WorkingDir: str().nullish(),
  Entrypoint: strSlice().nullish(),
  Labels: strMap().nullish(),
  MacAddress: str().nullish(),
  ArgsEscaped: bool().nullish(),
  OnBuild: strList().nullish(),
  Shell: strList().nullish(),
  // Not implemented: refused below unless empty.
  Volumes: z.record(z.string(), emptyObject().nullable(), { error: 'map[string]struct {}' }).nullish(),
  Healthcheck: healthcheck.nullish(),
  NetworkDisabled: bool().nullish(),
  StopSignal: str().nullish(),
  StopTimeout: int().nullish(),
  HostConfig: obj(hostConfigShape, 'container.HostConfig').nullish(),
  NetworkingConfig: obj({
    EndpointsConfig: z.record(z.string(), endpointSettings.nullable(), { error: 'map[string]*network.EndpointSettings' }).nullish(),
  }, 'network.NetworkingConfig').nullish(),
}, 'container.Config');

const networkCreateSchema = obj({
  Name: str().nullish(),
  CheckDuplicate: bool().nullish(),
  Driver: str().nullish(),
  Scope: str().nullish(),
  EnableIPv6: bool().nullish(),
  IPAM: obj({
    Driver: str().nullish(),
    Config: z.array(obj({
      Subnet: str().nullish(),
      IPRange: str().nullish(),
      Gateway: str().nullish(),
      AuxiliaryAddresses: strMap().nullish(),
    }, 'network.IPAMConfig'), { error: '[]network.IPAMConfig' }).nullish(),
    Options: strMap().nullish(),
  }, 'network.IPAM').nullish(),
  Internal: bool().nullish(),
  Attachable: bool().nullish(),
  Ingress: bool().nullish(),
  ConfigOnly: bool().nullish(),
  ConfigFrom: obj({ Network: str().nullish() }, 'network.ConfigReference').nullish(),
  Options: strMap().nullish(),
  Labels: strMap().nullish(),
}, 'types.NetworkCreateRequest');

const networkConnectSchema = obj({
  Container: str().nullish(),
  EndpointConfig: endpointSettings.nullish(),
}, 'types.NetworkConnect');

const networkDisconnectSchema = obj({
  Container: str().nullish(),
  Force: bool().nullish(),
}, 'types.NetworkDisconnect');

const execCreateSchema = obj({
  User: str().nullish(),
  Privileged: bool().nullish(),
  Tty: bool().nullish(),
  ConsoleSize: z.array(int(), { error: '*[2]uint' }).nullish(),
  AttachStdin: bool().nullish(),
  AttachStderr: bool().nullish(),
  AttachStdout: bool().nullish(),
  Detach: bool().nullish(),
  DetachKeys: str().nullish(),
  Env: strList().nullish(),
  WorkingDir: str().nullish(),
  Cmd: strList().nullish(),
}, 'types.ExecConfig');

const execStartSchema = obj({
  Detach: bool().nullish(),
  Tty: bool().nullish(),
  ConsoleSize: z.array(int(), { error: '*[2]uint' }).nullish(),
}, 'types.ExecStartCheck');

const swarmInitSchema = obj({
  ListenAddr: str().nullish(),
  AdvertiseAddr: str().nullish(),
  DataPathAddr: str().nullish(),
  DataPathPort: int().nullish(),
  ForceNewCluster: bool().nullish(),
  Spec: z.record(z.string(), z.unknown(), { error: 'swarm.Spec' }).nullish(),
  AutoLockManagers: bool().nullish(),
  Availability: str().nullish(),
  DefaultAddrPool: strList().nullish(),
  SubnetSize: int().nullish(),
}, 'swarm.InitRequest');

const swarmJoinSchema = obj({
  ListenAddr: str().nullish(),
  AdvertiseAddr: str().nullish(),
  DataPathAddr: str().nullish(),
  RemoteAddrs: strList().nullish(),
  JoinToken: str().nullish(),
  Availability: str().nullish(),
}, 'swarm.JoinRequest');

// ------------------------------------------------------------------------------ checking

/** The JSON type of a value, in the words of Go's decoder. */
function jsonType(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'boolean') return 'bool';
  return typeof v; // string, number, object
}

function valueAt(root: unknown, path: PropertyKey[]): unknown {
  let v: any = root;
  for (const k of path) v = v?.[k as any];
  return v;
}

/** "HostConfig.PortBindings.80/tcp[0].HostPort" */
export function fieldName(path: PropertyKey[]): string {
  let s = '';
  for (const k of path) s += typeof k === 'number' ? `[${k}]` : (s ? '.' : '') + String(k);
  return s;
}

/**
 * Parses `body` with `schema`: the parsed value (unknown fields dropped), or a 400 naming the
 * first field that is wrong. `what` is the body's name for a body that is not an object.
 */
function checkBody<S extends z.ZodType>(schema: S, body: unknown, what: string): z.infer<S> {
  const r = schema.safeParse(body);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  if (issue.code === 'invalid_type' || issue.code === 'invalid_union') {
    const field = fieldName(issue.path);
    const got = jsonType(valueAt(body, issue.path));
    const into = field ? `Go struct field ${field}` : `Go value`;
    throw badRequest(`json: cannot unmarshal ${got} into ${into} of type ${field ? issue.message : what}`);
  }
  throw badRequest(`${fieldName(issue.path)}: ${issue.message}`);
}

/** A value clients send to mean "not set": nothing, zero, false, empty. */
function isEmpty(v: unknown): boolean {
  if (v === undefined || v === null || v === '' || v === 0 || v === false) return true;
  if (Array.isArray(v)) return v.length === 0;
  if (typeof v === 'object') return Object.keys(v as object).length === 0;
  return false;
}

const notSupported = (field: string, what: string) => badRequest(`berth does not support ${what} (${field})`);

/** HostConfig fields that berth refuses unless empty, and what they are for the message. */
const UNSUPPORTED_HOST: Record<string, string> = {
  VolumesFrom: 'volumes', VolumeDriver: 'volumes',
  StorageOpt: 'storage options',
  Privileged: 'privileged containers', ReadonlyRootfs: 'read-only root filesystems', Init: 'an init process',
  OomKillDisable: 'resource limits', Devices: 'devices', DeviceRequests: 'devices', DeviceCgroupRules: 'devices',
  Ulimits: 'ulimits', CgroupParent: 'cgroup parents', CpusetCpus: 'resource limits', CpusetMems: 'resource limits',
  MaskedPaths: 'masked paths', ReadonlyPaths: 'read-only paths',
  BlkioWeightDevice: 'resource limits', BlkioDeviceReadBps: 'resource limits', BlkioDeviceWriteBps: 'resource limits',
  BlkioDeviceReadIOps: 'resource limits', BlkioDeviceWriteIOps: 'resource limits',
  ...Object.fromEntries(RESOURCE_LIMITS.map((k) => [k, 'resource limits'])),
};
/** Log drivers whose meaning berth's log file gives. */
const LOG_DRIVERS = new Set(['', 'json-file']);

/** Checks of values (not types) that must hold before a container is created. */
function checkContainerValues(body: z.infer<typeof containerCreateSchema>): void {
  const hc = body.HostConfig ?? {};
  for (const [k, what] of Object.entries(UNSUPPORTED_HOST)) {
    const v = (hc as any)[k];
    // -1 means "unlimited" for the limits, as 0 does.
    if (!isEmpty(v) && v !== -1) throw notSupported(`HostConfig.${k}`, what);
  }
  const badPolicy = checkRestartPolicy(hc.RestartPolicy);
  if (badPolicy) throw badRequest(badPolicy);
  if (hc.AutoRemove && !['', 'no'].includes(hc.RestartPolicy?.Name ?? '')) {
    throw badRequest("conflicting options: cannot specify both --restart and --rm");
  }
  // berth keeps container output itself and serves it as Docker's json-file driver does.
  const logType = hc.LogConfig?.Type ?? '';
  if (!LOG_DRIVERS.has(logType)) throw notSupported('HostConfig.LogConfig.Type', `the log driver "${logType}" (container logs are kept as json-file's)`);
  if (!isEmpty(hc.LogConfig?.Config)) throw notSupported('HostConfig.LogConfig.Config', 'log driver options');
  if (hc.NetworkMode !== undefined && hc.NetworkMode !== null && /^container:$/.test(hc.NetworkMode)) {
    throw badRequest('invalid network mode: container: needs a container name or ID');
  }
  // Config.Volumes names mount points; one that no bind or tmpfs mount covers would be an
  // anonymous volume, which berth does not have (docker-compose lists its bind targets here).
  const covered = new Set<string>([
    ...(hc.Binds ?? []).map((b) => String(b).split(':')[1]),
    ...((hc.Mounts ?? []) as any[]).map((m) => m?.Target),
    ...Object.keys(hc.Tmpfs ?? {}),
  ].filter(Boolean).map((t) => t.replace(/\/+$/, '') || '/'));
  const anonymous = Object.keys(body.Volumes ?? {}).filter((t) => !covered.has(t.replace(/\/+$/, '') || '/'));
  if (anonymous.length) throw notSupported('Volumes', `anonymous volumes (${anonymous.join(', ')}): bind-mount a host path there`);
  if (body.NetworkDisabled) throw notSupported('NetworkDisabled', 'disabling networking (use --network none)');
  if (!isEmpty(body.StopSignal)) checkSignal(String(body.StopSignal));
  const test = body.Healthcheck?.Test ?? [];
  if (test.length && test[0] !== 'NONE') throw notSupported('Healthcheck', 'health checks');
  // Ports: the checks dockerd makes at create (berth's engine makes them again at start).
  for (const key of Object.keys(body.ExposedPorts ?? {})) parsePortKeyLoose(key);
  const bindings = hc.PortBindings ?? {};
  for (const key of Object.keys(bindings)) parsePortKey(key);
  validatePortBindings(bindings as any);
  for (const [key, list] of Object.entries(bindings)) {
    for (const [i, b] of (list ?? []).entries()) {
      const ip = b?.HostIp ?? '';
      if (ip !== '' && !ipaddr.isValid(ip)) {
        throw badRequest(`invalid IP address in HostConfig.PortBindings.${key}[${i}].HostIp: ${JSON.stringify(ip)}`);
      }
    }
  }
  for (const [net, ep] of Object.entries(body.NetworkingConfig?.EndpointsConfig ?? {})) {
    if (ep === null) throw badRequest(`no EndpointSettings for ${net}`);
    checkEndpoint(ep, `NetworkingConfig.EndpointsConfig.${net}`);
  }
}

/** An exposed port's key: Docker accepts any protocol name here, but not a bad port. */
function parsePortKeyLoose(key: string): void {
  const port = key.split('/')[0];
  if (!/^\d{1,5}(-\d{1,5})?$/.test(port) || port.split('-').some((p) => Number(p) > 65535)) {
    throw badRequest(`invalid port specification: ${JSON.stringify(port)}`);
  }
}

function checkEndpoint(ep: z.infer<typeof endpointSettings>, where: string): void {
  const ipam = ep.IPAMConfig;
  if (ipam?.IPv4Address && !ipaddr.IPv4.isValidFourPartDecimal(ipam.IPv4Address)) {
    throw badRequest(`invalid IPv4 address: ${ipam.IPv4Address}`);
  }
  if (!isEmpty(ipam?.LinkLocalIPs)) throw notSupported(`${where}.IPAMConfig.LinkLocalIPs`, 'link-local addresses');
  if (!isEmpty(ep.DriverOpts)) throw notSupported(`${where}.DriverOpts`, 'endpoint driver options');
}

/** POST /containers/create: the body the engine may use, or a 400. */
export function checkContainerCreate(body: unknown): z.infer<typeof containerCreateSchema> {
  if (body === undefined || body === null) throw badRequest(EMPTY_CREATE_CONFIG);
  const b = checkBody(containerCreateSchema, body, 'container.Config');
  // A null entry in a port's binding list is an empty binding (any address, a free port), as
  // dockerd decodes it.
  const pb = b.HostConfig?.PortBindings;
  if (pb) {
    for (const k of Object.keys(pb)) pb[k] = (pb[k] ?? []).map((x) => ({ HostIp: x?.HostIp ?? '', HostPort: x?.HostPort ?? '' }));
  }
  checkContainerValues(b);
  return b;
}

export function checkNetworkCreate(body: unknown): z.infer<typeof networkCreateSchema> {
  if (body === undefined || body === null) throw badRequest('invalid JSON: empty request body');
  const b = checkBody(networkCreateSchema, body, 'types.NetworkCreateRequest');
  const ipamDriver = b.IPAM?.Driver ?? '';
  if (ipamDriver !== '' && ipamDriver !== 'default') throw notFound(`plugin "${ipamDriver}" not found`);
  if (b.Ingress) throw notSupported('Ingress', 'ingress networks');
  if (b.ConfigOnly || b.ConfigFrom?.Network) throw notSupported(b.ConfigOnly ? 'ConfigOnly' : 'ConfigFrom', 'configuration-only networks');
  if (b.Scope && b.Scope !== 'local' && b.Scope !== 'swarm') throw badRequest(`invalid network scope: ${b.Scope}`);
  return b;
}

export function checkNetworkConnect(body: unknown): z.infer<typeof networkConnectSchema> & { Container: string } {
  const b = checkBody(networkConnectSchema, body ?? {}, 'types.NetworkConnect');
  if (!b.Container) throw badRequest('invalid name or ID supplied: ""');
  if (b.EndpointConfig) checkEndpoint(b.EndpointConfig, 'EndpointConfig');
  return b as any;
}

export function checkNetworkDisconnect(body: unknown): { Container: string; Force: boolean } {
  const b = checkBody(networkDisconnectSchema, body ?? {}, 'types.NetworkDisconnect');
  if (!b.Container) throw badRequest('invalid name or ID supplied: ""');
  return { Container: b.Container, Force: !!b.Force };
}

export function checkExecCreate(body: unknown): z.infer<typeof execCreateSchema> {
  const b = checkBody(execCreateSchema, body ?? {}, 'types.ExecConfig');
  if (!b.Cmd || b.Cmd.length === 0) throw badRequest(NO_EXEC_COMMAND);
  if (b.Privileged) throw notSupported('Privileged', 'privileged exec');
  return b;
}

export function checkExecStart(body: unknown): z.infer<typeof execStartSchema> {
  return checkBody(execStartSchema, body ?? {}, 'types.ExecStartCheck');
}

export function checkSwarmInit(body: unknown): z.infer<typeof swarmInitSchema> {
  return checkBody(swarmInitSchema, body ?? {}, 'swarm.InitRequest');
}

export function checkSwarmJoin(body: unknown): z.infer<typeof swarmJoinSchema> {
  return checkBody(swarmJoinSchema, body ?? {}, 'swarm.JoinRequest');
}
