// A container's process settings from HostConfig, with Docker's rules and messages: bind and
// tmpfs mounts (-v, --mount, --tmpfs), capabilities (--cap-add/--cap-drop), extra groups
// (--group-add) and namespaced sysctls (--sysctl). Checked once at create (so a mistake is a
// 400 before anything exists) and turned into what the runtime needs at start. Pure.
import * as path from 'node:path';
import { badRequest } from '../util/errors';
import type { NetMode } from './netmode';
import { ALL_CAPS, DEFAULT_CAPS, type MountSpec, type ProcessExtras } from '../runtime/spec';
import { defaultSeccomp, profileFromJson, type OciSeccomp } from '../runtime/seccomp';
import { apparmorEnabled } from '../kernel/lsm';

const PROPAGATION = new Set(['private', 'rprivate', 'shared', 'rshared', 'slave', 'rslave']);

/** "net_admin", "NET_ADMIN", "CAP_NET_ADMIN" → "CAP_NET_ADMIN"; "ALL" stays; unknown names refused. */
function capName(raw: unknown): string {
  if (typeof raw !== 'string' || raw === '') throw badRequest(`invalid capability: ${JSON.stringify(raw)}`);
  const up = raw.toUpperCase();
  if (up === 'ALL') return 'ALL';
  const name = up.startsWith('CAP_') ? up : `CAP_${up}`;
  if (!ALL_CAPS.includes(name)) throw badRequest(`unknown capability: "${name}"`);
  return name;
}

/** Docker's order: ALL in --cap-add gives every capability; then drops; ALL in --cap-drop drops all but the added. */
export function capabilities(add: unknown[] | null | undefined, drop: unknown[] | null | undefined): string[] {
  const adds = (add ?? []).map(capName);
  const drops = (drop ?? []).map(capName);
  let caps = adds.includes('ALL') ? [...ALL_CAPS] : [...DEFAULT_CAPS];
  if (drops.includes('ALL')) caps = adds.includes('ALL') ? [...ALL_CAPS] : [];
  for (const c of adds) if (c !== 'ALL' && !caps.includes(c)) caps.push(c);
  if (!drops.includes('ALL')) caps = caps.filter((c) => !drops.includes(c) || adds.includes(c));
  return caps;
}

function absTarget(target: unknown, what: string): string {
  if (typeof target !== 'string' || !target.startsWith('/')) {
    throw badRequest(`invalid mount config for type "${what}": invalid mount path: '${String(target)}' mount path must be absolute`);
  }
  if (path.posix.normalize(target) === '/') throw badRequest(`invalid specification: destination can't be '/'`);
  return path.posix.normalize(target);
}

/** `-v SRC:DST[:OPTS]`: a host directory or file; a name (a named volume) is refused clearly. */
export function parseBind(spec: unknown): MountSpec {
  if (typeof spec !== 'string') throw badRequest(`invalid volume specification: ${JSON.stringify(spec)}`);
  const parts = spec.split(':');
  if (parts.length < 2 || parts.length > 3) throw badRequest(`invalid volume specification: '${spec}'`);
  const [source, target, opts = ''] = parts;
  if (!source.startsWith('/')) {
    throw badRequest(`invalid volume specification: '${spec}': berth has no named volumes: give an absolute host path to bind-mount`);
  }
  const options: string[] = [];
  let readonly = false;
  for (const o of opts.split(',').filter(Boolean)) {
    if (o === 'ro') readonly = true;
    else if (o === 'rw' || o === 'z' || o === 'Z' || o === 'nocopy') { /* rw is the default; SELinux labels do not apply here */ }
    else if (PROPAGATION.has(o)) options.push(o);
    else throw badRequest(`invalid mode: ${o}`);
  }
  return { type: 'bind', source: path.posix.normalize(source), target: absTarget(target, 'bind'), readonly, options, createSource: true };
}

/** One entry of HostConfig.Mounts (`--mount`): bind and tmpfs; volumes refused clearly. */
export function parseMount(m: any): MountSpec {
  const type = m?.Type;
  if (type === 'bind') {
    if (typeof m.Source !== 'string' || !m.Source.startsWith('/')) {
      throw badRequest(`invalid mount config for type "bind": invalid mount path: '${String(m.Source ?? '')}' mount path must be absolute`);
    }
    const prop = m.BindOptions?.Propagation;
    if (prop && !PROPAGATION.has(prop)) throw badRequest(`invalid mount config for type "bind": invalid propagation mode: ${prop}`);
    return { type: 'bind', source: path.posix.normalize(m.Source), target: absTarget(m.Target, 'bind'), readonly: !!m.ReadOnly, options: prop ? [prop] : [] };
  }
  if (type === 'tmpfs') {
    if (m.Source) throw badRequest('invalid mount config for type "tmpfs": source must not be specified');
    const options: string[] = [];
    const size = m.TmpfsOptions?.SizeBytes;
    if (size !== undefined && size !== null && size !== 0) {
      if (!Number.isInteger(size) || size < 0) throw badRequest('invalid mount config for type "tmpfs": invalid size');
      options.push(`size=${size}`);
    }
    const mode = m.TmpfsOptions?.Mode;
    if (mode !== undefined && mode !== null && mode !== 0) options.push(`mode=${Number(mode).toString(8)}`);
    return { type: 'tmpfs', source: 'tmpfs', target: absTarget(m.Target, 'tmpfs'), readonly: !!m.ReadOnly, options };
  }
  if (type === 'volume') throw badRequest('invalid mount config for type "volume": berth has no named volumes: use type=bind with an absolute host path');
  throw badRequest(`invalid mount config: mount type unknown: "${String(type)}"`);
}

/** HostConfig.Tmpfs: {"/run": "rw,noexec,size=64m"}. */
export function parseTmpfs(target: string, opts: unknown): MountSpec {
  if (typeof opts !== 'string') throw badRequest(`invalid tmpfs options for ${target}: ${JSON.stringify(opts)}`);
  const list = opts.split(',').filter(Boolean);
  for (const o of list) {
    if (!/^(rw|ro|exec|noexec|suid|nosuid|dev|nodev|size=\d+[kmgKMG%]?|mode=[0-7]{3,4}|uid=\d+|gid=\d+|nr_inodes=\d+[kmg]?)$/.test(o)) {
      throw badRequest(`invalid tmpfs option ${JSON.stringify(o)} for ${target}`);
    }
  }
  return { type: 'tmpfs', source: 'tmpfs', target: absTarget(target, 'tmpfs'), readonly: list.includes('ro'), options: list.filter((o) => o !== 'ro' && o !== 'rw') };
}

/** Sysctls a container may set: those of its own namespaces (Docker's list). */
export function checkSysctls(sysctls: unknown, mode: NetMode): Record<string, string> {
  if (sysctls === null || sysctls === undefined) return {};
  if (typeof sysctls !== 'object' || Array.isArray(sysctls)) throw badRequest('HostConfig.Sysctls: must be an object of "name": "value"');
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(sysctls as Record<string, unknown>)) {
    if (typeof v !== 'string') throw badRequest(`sysctl ${JSON.stringify(k)}: the value must be a string`);
    const ipc = /^kernel\.(msgmax|msgmnb|msgmni|sem|shmall|shmmax|shmmni|shm_rmid_forced)$/.test(k) || k.startsWith('fs.mqueue.');
    if (k.startsWith('net.')) {
      if (mode.kind === 'host') throw badRequest(`sysctl "${k}" not allowed in host network namespace`);
      if (mode.kind === 'container') throw badRequest(`sysctl "${k}" not allowed: the container shares another container's network namespace`);
    } else if (!ipc) {
      throw badRequest(`sysctl "${k}" is not allowed: only namespaced sysctls (net.*, kernel.msg*, kernel.sem, kernel.shm*, fs.mqueue.*)`);
    }
    out[k] = v;
  }
  return out;
}

interface SecurityOpts { seccomp: OciSeccomp | null; noNewPrivileges: boolean; apparmorProfile: string | null }

/**
 * HostConfig.SecurityOpt (`--security-opt`), with dockerd's keys and messages: seccomp=unconfined
 * or a profile's JSON text (the CLI sends the file's content), no-new-privileges[=BOOL],
 * apparmor=PROFILE (refused where the kernel has no AppArmor, but unconfined); anything else
 * is refused, never ignored.
 */
export function securityOpts(opts: unknown, caps: string[], host: { apparmor: boolean } = { apparmor: apparmorEnabled() }): SecurityOpts {
  const out: SecurityOpts = { seccomp: defaultSeccomp(caps), noNewPrivileges: false, apparmorProfile: null };
  if (opts === null || opts === undefined) return out;
  if (!Array.isArray(opts)) throw badRequest('HostConfig.SecurityOpt: must be a list of strings');
  for (const opt of opts) {
    if (typeof opt !== 'string') throw badRequest(`invalid --security-opt: ${JSON.stringify(opt)}`);
    if (opt === 'no-new-privileges') { out.noNewPrivileges = true; continue; }
    const sep = opt.includes('=') ? '=' : opt.includes(':') ? ':' : null;
    if (sep === null) throw badRequest(`invalid --security-opt 1: ${JSON.stringify(opt)}`);
    const key = opt.slice(0, opt.indexOf(sep));
    const value = opt.slice(opt.indexOf(sep) + 1);
    switch (key) {
      case 'seccomp':
        if (value === 'unconfined') out.seccomp = null;
        else if (value === 'builtin' || value === '') out.seccomp = defaultSeccomp(caps);
        else {
          try { out.seccomp = profileFromJson(value, caps); } catch (e) { throw badRequest((e as Error).message); }
        }
        break;
      case 'no-new-privileges':
        if (/^(1|t|T|TRUE|true|True)$/.test(value)) out.noNewPrivileges = true;
        else if (/^(0|f|F|FALSE|false|False)$/.test(value)) out.noNewPrivileges = false;
        else throw badRequest(`invalid --security-opt 2: ${JSON.stringify(opt)}`);
        break;
      case 'apparmor':
        if (value === 'unconfined' && !host.apparmor) break; // nothing confines it here anyway
        if (!host.apparmor) throw badRequest(`--security-opt ${opt}: AppArmor is not enabled on this host's kernel`);
        if (value === '') throw badRequest(`invalid --security-opt 2: ${JSON.stringify(opt)}`);
        out.apparmorProfile = value;
        break;
      case 'label':
        throw badRequest(`--security-opt ${opt}: SELinux labels are not supported: this host's kernel has no SELinux`);
      default:
        throw badRequest(`invalid --security-opt 2: ${JSON.stringify(opt)}`);
    }
  }
  return out;
}

/** All of a HostConfig's process settings, checked (throws Docker-worded 400s) and ready for the runtime. */
export function processExtras(hc: any, mode: NetMode): ProcessExtras {
  const mounts: MountSpec[] = [];
  for (const b of hc.Binds ?? []) mounts.push(parseBind(b));
  for (const m of hc.Mounts ?? []) mounts.push(parseMount(m));
  for (const [t, o] of Object.entries(hc.Tmpfs ?? {})) mounts.push(parseTmpfs(t, o));
  const seen = new Set<string>();
  for (const m of mounts) {
    if (seen.has(m.target)) throw badRequest(`Duplicate mount point: ${m.target}`);
    seen.add(m.target);
    if (['/etc/hosts', '/etc/hostname', '/etc/resolv.conf', '/proc', '/sys', '/dev'].includes(m.target)) {
      throw badRequest(`invalid mount target ${m.target}: berth manages it`);
    }
  }
  const groups = (hc.GroupAdd ?? []).map((g: unknown) => {
    if (typeof g !== 'string' || g === '') throw badRequest(`invalid group: ${JSON.stringify(g)}`);
    return g;
  });
  const caps = capabilities(hc.CapAdd, hc.CapDrop);
  return { mounts, capabilities: caps, groups, sysctls: checkSysctls(hc.Sysctls, mode), ...securityOpts(hc.SecurityOpt, caps) };
}
