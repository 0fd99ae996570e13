// `berth run` / `berth create` options → the Engine API's container create body, as the docker
// CLI builds it (container.Config + HostConfig + NetworkingConfig). Pure.
import { readFileSync } from 'node:fs';
import { addExpose, addPublish, UsageError, type PortBinding } from './publish';
import { HOSTNAME_NETWORK_CONFLICT } from '../util/errors';
import { noSuchFile } from './errors';

export interface RunOptions {
  detach?: boolean; rm?: boolean; name?: string; env?: string[]; envFile?: string[]; workdir?: string;
  entrypoint?: string; interactive?: boolean; tty?: boolean; hostname?: string; publish?: string[];
  publishAll?: boolean; expose?: string[]; network?: string; net?: string; networkAlias?: string[]; ip?: string;
  ip6?: string; macAddress?: string; dns?: string[]; dnsSearch?: string[]; dnsOption?: string[]; addHost?: string[];
  link?: string[]; user?: string; label?: string[]; privileged?: boolean; domainname?: string; restart?: string;
  capAdd?: string[]; capDrop?: string[]; securityOpt?: string[]; runtime?: string; sysctl?: string[]; init?: boolean; stopSignal?: string; stopTimeout?: string;
  attach?: string[]; readOnly?: boolean; workDir?: string;
  volume?: string[]; mount?: string[]; tmpfs?: string[]; groupAdd?: string[]; logDriver?: string; logOpt?: string[];
}

export const collect = (v: string, prev: string[] = []) => [...prev, v];

/** "KEY" alone takes the value from the CLI's environment (and is dropped when unset), as docker. */
export function parseEnv(list: string[], environ: NodeJS.ProcessEnv = process.env): string[] {
  const out: string[] = [];
  for (const e of list) {
    if (e.startsWith('=')) throw new UsageError(`invalid environment variable: ${e}`);
    if (e.includes('=')) out.push(e);
    else if (environ[e] !== undefined) out.push(`${e}=${environ[e]}`);
  }
  return out;
}

function envFileLines(file: string): string[] {
  let text: string;
  try { text = readFileSync(file, 'utf8'); } catch (e) { throw new UsageError(noSuchFile(file)); }
  return text.split('\n').map((l) => l.replace(/^\s+/, '')).filter((l) => l && !l.startsWith('#'));
}

function labelsOf(list: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const l of list) {
    const i = l.indexOf('=');
    if (i === 0) throw new UsageError(`invalid label: ${l}`);
    if (i < 0) out[l] = ''; else out[l.slice(0, i)] = l.slice(i + 1);
  }
  return out;
}

function checkAddHost(h: string): string {
  // docker accepts host:ip and host=ip; the stored form is host:ip.
  const sep = h.includes('=') ? '=' : ':';
  const i = h.indexOf(sep);
  if (i <= 0 || i === h.length - 1) throw new UsageError(`invalid argument "${h}" for "--add-host" flag: bad format for add-host: "${h}"`);
  return `${h.slice(0, i)}:${h.slice(i + 1)}`;
}

const RESTART = /^(no|always|unless-stopped|on-failure(:\d+)?)$/;

interface CreateRequest { name: string | undefined; body: any }

/** Builds the create request. `args` are the image and the command after it. */
export function buildCreate(opts: RunOptions, image: string, cmd: string[], environ: NodeJS.ProcessEnv = process.env): CreateRequest {
  const exposed: Record<string, object> = {};
  const bindings: Record<string, PortBinding[]> = {};
  for (const p of opts.publish ?? []) addPublish(p, exposed, bindings);
  for (const p of opts.expose ?? []) addExpose(p, exposed);
  const env = parseEnv([...(opts.envFile ?? []).flatMap(envFileLines), ...(opts.env ?? [])], environ);
  const network = opts.network ?? opts.net;
  const netMode = network ?? 'default';
  const hostname = opts.hostname ?? '';
  // Like docker CLI 20.10+, a dotted -h stays whole (older CLIs split off a Domainname).
  const domainname = opts.domainname ?? '';
  const host = hostname;
  if (opts.restart && !RESTART.test(opts.restart)) throw new UsageError(`invalid restart policy format: ${opts.restart}`);
  if (opts.rm && opts.restart && opts.restart !== 'no') throw new UsageError('Conflicting options: --restart and --rm');
  const netModeIsUser = network !== undefined && !['default', 'bridge', 'host', 'none'].includes(network) && !network.startsWith('container:');
  if (opts.macAddress && !/^([0-9a-fA-F]{2}[:-]){5}[0-9a-fA-F]{2}$/.test(opts.macAddress)) {
    throw new UsageError(`${opts.macAddress} is not a valid mac address`);
  }
  if (opts.hostname && network?.startsWith('container:')) throw new UsageError(HOSTNAME_NETWORK_CONFLICT);
  const attach = opts.attach ?? [];
  const detach = !!opts.detach;
  const body: any = {
    Hostname: host,
    Domainname: domainname,
    User: opts.user ?? '',
    AttachStdin: !detach && !!opts.interactive,
    AttachStdout: !detach && (attach.length === 0 || attach.some((a) => a.toLowerCase() === 'stdout')),
    AttachStderr: !detach && (attach.length === 0 || attach.some((a) => a.toLowerCase() === 'stderr')),
    ExposedPorts: Object.keys(exposed).length ? exposed : undefined,
    Tty: !!opts.tty,
    OpenStdin: !!opts.interactive,
    StdinOnce: !detach && !!opts.interactive,
    Env: env,
    Cmd: cmd.length ? cmd : null,
    Image: image,
    Volumes: null,
    WorkingDir: opts.workdir ?? '',
    Entrypoint: opts.entrypoint !== undefined ? (opts.entrypoint === '' ? [''] : [opts.entrypoint]) : null,
    OnBuild: null,
    Labels: labelsOf(opts.label ?? []),
    ...(opts.stopSignal ? { StopSignal: opts.stopSignal } : {}),
    ...(opts.stopTimeout ? { StopTimeout: Number(opts.stopTimeout) } : {}),
    HostConfig: {
      Binds: opts.volume?.length ? opts.volume : null,
      ...(opts.mount?.length ? { Mounts: opts.mount.map(mountSpec) } : {}),
      ...(opts.tmpfs?.length ? { Tmpfs: Object.fromEntries(opts.tmpfs.map((t) => { const i = t.indexOf(':'); return i < 0 ? [t, ''] : [t.slice(0, i), t.slice(i + 1)]; })) } : {}),
      ...(opts.groupAdd?.length ? { GroupAdd: opts.groupAdd } : {}),
      ...(opts.logDriver || opts.logOpt?.length ? { LogConfig: { Type: opts.logDriver ?? '', Config: labelsOf(opts.logOpt ?? []) } } : {}),
      NetworkMode: netMode,
      PortBindings: bindings,
      RestartPolicy: restartPolicy(opts.restart),
      AutoRemove: !!opts.rm,
      CapAdd: opts.capAdd ?? null,
      CapDrop: opts.capDrop ?? null,
      ...(opts.securityOpt?.length ? { SecurityOpt: opts.securityOpt.map(securityOpt) } : {}),
      ...(opts.runtime ? { Runtime: opts.runtime } : {}),
      Dns: opts.dns ?? [],
      DnsOptions: opts.dnsOption ?? [],
      DnsSearch: opts.dnsSearch ?? [],
      ExtraHosts: opts.addHost?.length ? opts.addHost.map(checkAddHost) : null,
      Links: opts.link?.length ? opts.link.map(linkSpec) : null,
      Privileged: !!opts.privileged,
      PublishAllPorts: !!opts.publishAll,
      ReadonlyRootfs: !!opts.readOnly,
      Sysctls: opts.sysctl?.length ? labelsOf(opts.sysctl) : undefined,
      ...(opts.init ? { Init: true } : {}),
    },
    NetworkingConfig: { EndpointsConfig: {} as Record<string, any> },
  };
  if (body.ExposedPorts === undefined) delete body.ExposedPorts;
  if (body.HostConfig.Sysctls === undefined) delete body.HostConfig.Sysctls;
  // Per-endpoint settings go to the named network (the default bridge when none is named).
  if (opts.ip || opts.ip6 || opts.networkAlias?.length || opts.macAddress || (opts.link?.length && netModeIsUser)) {
    const epName = network === undefined || network === 'default' ? 'bridge' : network;
    const ep: any = {};
    if (opts.ip || opts.ip6) ep.IPAMConfig = { ...(opts.ip ? { IPv4Address: opts.ip } : {}), ...(opts.ip6 ? { IPv6Address: opts.ip6 } : {}) };
    if (opts.networkAlias?.length) ep.Aliases = opts.networkAlias;
    if (opts.macAddress) ep.MacAddress = opts.macAddress;
    if (opts.link?.length && netModeIsUser) ep.Links = opts.link.map(linkSpec);
    body.NetworkingConfig.EndpointsConfig[epName] = ep;
    // API < 1.44 kept the MAC address in Config; send both like the docker CLI does for old daemons.
    if (opts.macAddress) body.MacAddress = opts.macAddress;
  } else if (network !== undefined && netModeIsUser) {
    body.NetworkingConfig.EndpointsConfig[network] = {};
  }
  return { name: opts.name, body };
}

/** `--mount type=bind,source=/a,target=/b,readonly` as the docker CLI turns it into a Mount. */
/** --security-opt seccomp=FILE sends the file's JSON, compacted, as docker's CLI does. */
export function securityOpt(opt: string): string {
  const m = /^seccomp[=:](.*)$/s.exec(opt);
  if (!m || m[1] === 'unconfined' || m[1] === 'builtin') return opt;
  let text: string;
  try { text = readFileSync(m[1], 'utf8'); } catch (e) { throw new UsageError(`opening seccomp profile (${m[1]}) failed: ${(e as Error).message}`); }
  try { return `seccomp=${JSON.stringify(JSON.parse(text))}`; } catch (e) {
    throw new UsageError(`compacting json for seccomp profile (${m[1]}) failed: ${(e as Error).message}`);
  }
}

function mountSpec(spec: string): Record<string, unknown> {
  const m: Record<string, any> = { Type: 'volume' };
  for (const field of spec.split(',')) {
    const eq = field.indexOf('=');
    const key = (eq < 0 ? field : field.slice(0, eq)).trim().toLowerCase();
    const val = eq < 0 ? '' : field.slice(eq + 1);
    switch (key) {
      case 'type': m.Type = val; break;
      case 'source': case 'src': m.Source = val; break;
      case 'target': case 'destination': case 'dst': m.Target = val; break;
      case 'readonly': case 'ro': m.ReadOnly = eq < 0 || ['1', 'true'].includes(val.toLowerCase()); break;
      case 'bind-propagation': m.BindOptions = { ...(m.BindOptions ?? {}), Propagation: val }; break;
      case 'tmpfs-size': m.TmpfsOptions = { ...(m.TmpfsOptions ?? {}), SizeBytes: sizeBytes(val) }; break;
      case 'tmpfs-mode': m.TmpfsOptions = { ...(m.TmpfsOptions ?? {}), Mode: parseInt(val, 8) }; break;
      default: throw new UsageError(`invalid argument "${spec}" for "--mount" flag: unexpected key '${key}' in '${field}'`);
    }
  }
  return m;
}

function sizeBytes(v: string): number {
  const m = /^(\d+)([kmg]?)b?$/i.exec(v.trim());
  if (!m) throw new UsageError(`invalid size: '${v}'`);
  return Number(m[1]) * ({ '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 } as Record<string, number>)[m[2].toLowerCase()];
}

function linkSpec(l: string): string {
  const parts = l.split(':');
  // A malformed spec goes as it is: the daemon says what is wrong with it.
  return parts.length === 1 ? `${l}:${l}` : l;
}

function restartPolicy(spec: string | undefined): { Name: string; MaximumRetryCount: number } {
  if (!spec) return { Name: 'no', MaximumRetryCount: 0 };
  const [name, count] = spec.split(':');
  return { Name: name, MaximumRetryCount: count ? Number(count) : 0 };
}

/** "busybox" → "busybox:latest" (a digest or an explicit tag stays). */
export function withLatest(image: string): string {
  if (image.includes('@')) return image;
  const slash = image.lastIndexOf('/');
  return image.lastIndexOf(':') > slash ? image : `${image}:latest`;
}
