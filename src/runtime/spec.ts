// The OCI runtime spec (config.json, version 1.0.2) of a container, with Docker's defaults:
// its capability set, masked and read-only paths, /dev, /proc, /sys mounts, environment rules.
// Pure, so the generated JSON is unit-tested without root.
import { defaultSeccomp, type OciSeccomp } from './seccomp';

export const DEFAULT_PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export interface MountSpec {
  type: 'bind' | 'tmpfs';
  source: string;       // host path (bind) or "tmpfs"
  target: string;
  readonly: boolean;
  options: string[];    // propagation, size=, mode=
  /** -v makes a missing host directory (Docker's rule); --mount refuses a missing source. */
  createSource?: boolean;
}

export interface ProcessExtras {
  mounts: MountSpec[];
  capabilities: string[];
  groups: string[];      // names or numeric gids, resolved in the container's /etc/group
  sysctls: Record<string, string>;
  /** linux.seccomp: berth's default profile, a user's, or null (seccomp=unconfined). */
  seccomp: OciSeccomp | null;
  /** --security-opt no-new-privileges */
  noNewPrivileges: boolean;
  /** --security-opt apparmor=PROFILE (only where the kernel has AppArmor); null: runc's default. */
  apparmorProfile: string | null;
}

/** Docker's default capabilities (NET_RAW included, so ping works). */
export const DEFAULT_CAPS = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FSETID', 'CAP_FOWNER', 'CAP_MKNOD', 'CAP_NET_RAW',
  'CAP_SETGID', 'CAP_SETUID', 'CAP_SETFCAP', 'CAP_SETPCAP', 'CAP_NET_BIND_SERVICE',
  'CAP_SYS_CHROOT', 'CAP_KILL', 'CAP_AUDIT_WRITE',
];

/** Every capability Linux knows (capability(7)), for ALL and for checking names. */
export const ALL_CAPS = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_DAC_READ_SEARCH', 'CAP_FOWNER', 'CAP_FSETID', 'CAP_KILL', 'CAP_SETGID',
  'CAP_SETUID', 'CAP_SETPCAP', 'CAP_LINUX_IMMUTABLE', 'CAP_NET_BIND_SERVICE', 'CAP_NET_BROADCAST', 'CAP_NET_ADMIN',
  'CAP_NET_RAW', 'CAP_IPC_LOCK', 'CAP_IPC_OWNER', 'CAP_SYS_MODULE', 'CAP_SYS_RAWIO', 'CAP_SYS_CHROOT', 'CAP_SYS_PTRACE',
  'CAP_SYS_PACCT', 'CAP_SYS_ADMIN', 'CAP_SYS_BOOT', 'CAP_SYS_NICE', 'CAP_SYS_RESOURCE', 'CAP_SYS_TIME',
  'CAP_SYS_TTY_CONFIG', 'CAP_MKNOD', 'CAP_LEASE', 'CAP_AUDIT_WRITE', 'CAP_AUDIT_CONTROL', 'CAP_SETFCAP',
  'CAP_MAC_OVERRIDE', 'CAP_MAC_ADMIN', 'CAP_SYSLOG', 'CAP_WAKE_ALARM', 'CAP_BLOCK_SUSPEND', 'CAP_AUDIT_READ',
  'CAP_PERFMON', 'CAP_BPF', 'CAP_CHECKPOINT_RESTORE',
];

const MASKED_PATHS = [
  '/proc/asound', '/proc/acpi', '/proc/kcore', '/proc/keys', '/proc/latency_stats',
  '/proc/timer_list', '/proc/timer_stats', '/proc/sched_debug', '/proc/scsi', '/sys/firmware',
];

const READONLY_PATHS = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'];

interface ProcessUser { uid: number; gid: number; additionalGids: number[] }

interface OciInput {
  id: string;
  args: string[];
  env: string[];            // final environment (see containerEnv)
  cwd: string;
  user: ProcessUser;
  hostname: string;
  tty: boolean;
  netnsPath: string | null; // null: share the daemon's network namespace (--network host)
  shareHostUts: boolean;    // --network host: the host's hostname too
  etc: { hosts: string; resolvConf: string; hostname: string }; // host paths bind-mounted on /etc
  /** Capabilities (default: Docker's set), extra mounts and sysctls from HostConfig. */
  extras?: Pick<ProcessExtras, 'mounts' | 'capabilities' | 'sysctls'> & Partial<Pick<ProcessExtras, 'seccomp' | 'noNewPrivileges' | 'apparmorProfile'>>;
}

/** A bind or tmpfs mount of HostConfig as an OCI mount entry. */
export function ociMount(m: MountSpec): any {
  if (m.type === 'bind') {
    const prop = m.options.find((o) => /private|shared|slave/.test(o)) ?? 'rprivate';
    return { destination: m.target, type: 'bind', source: m.source, options: ['rbind', prop, ...(m.readonly ? ['ro'] : [])] };
  }
  // Docker's tmpfs defaults (noexec, nosuid, nodev) unless the options say otherwise.
  const opts = [...m.options];
  for (const [on, off] of [['exec', 'noexec'], ['suid', 'nosuid'], ['dev', 'nodev']]) {
    if (!opts.includes(on) && !opts.includes(off)) opts.push(off);
  }
  return { destination: m.target, type: 'tmpfs', source: 'tmpfs', options: [...opts, ...(m.readonly ? ['ro'] : [])] };
}

export function ociSpec(i: OciInput): any {
  const namespaces: Array<{ type: string; path?: string }> = [{ type: 'pid' }, { type: 'ipc' }];
  if (!i.shareHostUts) namespaces.push({ type: 'uts' });
  namespaces.push({ type: 'mount' });
  if (i.netnsPath) namespaces.push({ type: 'network', path: i.netnsPath });
  const bind = (destination: string, source: string) => ({ destination, type: 'bind', source, options: ['rbind', 'rprivate'] });
  const caps = i.extras?.capabilities ?? DEFAULT_CAPS;
  const spec: any = {
    ociVersion: '1.0.2',
    process: {
      terminal: i.tty,
      user: { uid: i.user.uid, gid: i.user.gid, ...(i.user.additionalGids.length ? { additionalGids: i.user.additionalGids } : {}) },
      args: i.args,
      env: i.env,
      cwd: i.cwd || '/',
      capabilities: { bounding: caps, effective: caps, permitted: caps },
      noNewPrivileges: i.extras?.noNewPrivileges ?? false,
      ...(i.extras?.apparmorProfile ? { apparmorProfile: i.extras.apparmorProfile } : {}),
      oomScoreAdj: 0,
    },
    root: { path: 'rootfs', readonly: false },
    mounts: [
      { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
      { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
      { destination: '/dev/pts', type: 'devpts', source: 'devpts', options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'] },
      { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
      { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['ro', 'nosuid', 'noexec', 'nodev'] },
      { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
      { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=67108864'] },
      bind('/etc/resolv.conf', i.etc.resolvConf),
      bind('/etc/hostname', i.etc.hostname),
      bind('/etc/hosts', i.etc.hosts),
      ...(i.extras?.mounts ?? []).map(ociMount),
    ],
    linux: {
      // Absolute, like dockerd's "/docker/<id>": the same place whatever cgroup berthd runs in.
      cgroupsPath: `/berth/${i.id}`,
      resources: { devices: [{ allow: false, access: 'rwm' }] },
      namespaces,
      maskedPaths: MASKED_PATHS,
      readonlyPaths: READONLY_PATHS,
    },
  };
  // Every container gets berth's default seccomp profile unless it asked for another or none.
  const seccomp = i.extras?.seccomp === undefined ? defaultSeccomp(caps) : i.extras.seccomp;
  if (seccomp) spec.linux.seccomp = seccomp;
  if (!i.shareHostUts) spec.hostname = i.hostname;
  // Docker lets a container with its own network namespace bind low ports and ping unprivileged.
  if (i.netnsPath) {
    spec.linux.sysctl = { 'net.ipv4.ip_unprivileged_port_start': '0', 'net.ipv4.ping_group_range': '0 2147483647' };
  }
  // --sysctl: the container's own namespaces only (checked at create), after berth's defaults.
  if (i.extras && Object.keys(i.extras.sysctls).length) spec.linux.sysctl = { ...(spec.linux.sysctl ?? {}), ...i.extras.sysctls };
  return spec;
}

/**
 * The process environment as Docker builds it: PATH (default unless the config sets it),
 * HOSTNAME, TERM=xterm with a tty, then the container's Env replacing or appending.
 */
export function containerEnv(env: string[], hostname: string, tty: boolean): string[] {
  const out = [DEFAULT_PATH, `HOSTNAME=${hostname}`];
  if (tty) out.push('TERM=xterm');
  return replaceOrAppend(out, env);
}

export function replaceOrAppend(base: string[], extra: string[]): string[] {
  const out = [...base];
  for (const e of extra) {
    const key = e.split('=')[0];
    const i = out.findIndex((x) => x.split('=')[0] === key);
    if (i >= 0) out[i] = e; else out.push(e);
  }
  return out;
}

/**
 * Docker's rule for the command, as a create records it (Config.Entrypoint, Config.Cmd): the
 * run's entrypoint replaces the image's and drops the image's Cmd; the run's command replaces
 * the image's Cmd; an entrypoint of one empty string (`--entrypoint ""`) means none. null and
 * undefined in `run` mean "not given". The process runs entrypoint + cmd.
 */
export function commandLine(image: { Entrypoint?: string[] | null; Cmd?: string[] | null },
  run: { entrypoint?: string[] | null; cmd?: string[] | null }): { entrypoint: string[] | null; cmd: string[] | null } {
  let entrypoint = run.entrypoint != null ? run.entrypoint : (image.Entrypoint ?? null);
  if (entrypoint && entrypoint.length === 1 && entrypoint[0] === '') entrypoint = null;
  const cmd = run.cmd != null ? run.cmd : (run.entrypoint != null ? null : (image.Cmd ?? null));
  return { entrypoint, cmd };
}

interface PasswdEntry { name: string; uid: number; gid: number; home: string }

function parsePasswd(text: string | null): PasswdEntry[] {
  return (text ?? '').split('\n').map((l) => l.split(':')).filter((f) => f.length >= 4 && f[0] && !f[0].startsWith('#'))
    .map((f) => ({ name: f[0], uid: Number(f[2]), gid: Number(f[3]), home: f[5] ?? '/' }));
}

function parseGroup(text: string | null): Array<{ name: string; gid: number; members: string[] }> {
  return (text ?? '').split('\n').map((l) => l.split(':')).filter((f) => f.length >= 3 && f[0] && !f[0].startsWith('#'))
    .map((f) => ({ name: f[0], gid: Number(f[2]), members: (f[3] ?? '').split(',').filter(Boolean) }));
}

/**
 * `-u` as Docker resolves it inside the container's /etc/passwd and /etc/group: "name", "uid",
 * "name:group", "uid:gid"; numeric ids need no entry; a named user adds its supplementary groups.
 */
export function resolveUser(user: string, passwd: string | null, group: string | null): ProcessUser {
  if (!user) user = '0';
  const [u, g] = user.split(':', 2);
  const users = parsePasswd(passwd);
  const groups = parseGroup(group);
  let uid: number;
  let gid = 0;
  let name: string | undefined;
  const byName = users.find((e) => e.name === u);
  if (byName) { uid = byName.uid; gid = byName.gid; name = byName.name; }
  else if (/^\d+$/.test(u)) {
    uid = Number(u);
    const byUid = users.find((e) => e.uid === uid);
    if (byUid) { gid = byUid.gid; name = byUid.name; }
  } else {
    throw new Error(`unable to find user ${u}: no matching entries in passwd file`);
  }
  if (g !== undefined && g !== '') {
    const byGroup = groups.find((e) => e.name === g);
    if (byGroup) gid = byGroup.gid;
    else if (/^\d+$/.test(g)) gid = Number(g);
    else throw new Error(`unable to find group ${g}: no matching entries in group file`);
  }
  // Docker always lists the primary group among the supplementary ones (`id` shows groups=GID),
  // and adds the groups a named user is a member of when no group was given.
  const member = name && (g === undefined || g === '')
    ? groups.filter((e) => e.members.includes(name!) && e.gid !== gid).map((e) => e.gid) : [];
  return { uid, gid, additionalGids: [gid, ...member] };
}

/** --group-add: names looked up in the container's /etc/group, numbers as they are. */
export function resolveGroups(wanted: string[], group: string | null): number[] {
  const groups = parseGroup(group);
  return wanted.map((g) => {
    if (/^\d+$/.test(g)) return Number(g);
    const e = groups.find((x) => x.name === g);
    if (!e) throw new Error(`Unable to find group ${g}: no matching entries in group file`);
    return e.gid;
  });
}
