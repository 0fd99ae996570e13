// Seccomp for containers: berth's own default profile (the OCI spec's `linux.seccomp`), and
// user profiles given with `--security-opt seccomp=PROFILE.json` turned into the same shape.
// Pure: the profile is computed from the container's capabilities and unit-tested.
//
// berth's default allows every system call except the ones that reach past a container's
// namespaces into the whole machine (kernel modules, kexec, the kernel keyring, bpf, swap,
// the clock, reboot, old or obsolete interfaces) and the ones that would let a process build
// new user namespaces, mounts or perf probes. A call the container's capabilities would allow
// anyway (mount with CAP_SYS_ADMIN, settimeofday with CAP_SYS_TIME...) stays allowed when the
// capability was granted with --cap-add, so --cap-add keeps its meaning. A blocked call fails
// with EPERM (clone3 with ENOSYS, so libc falls back to clone, where flags can be checked).

const EPERM = 1;
const ENOSYS = 38;
const CLONE_NEWUSER = 0x10000000;

/** Blocked unless the container holds the capability named beside them. */
const GUARDED: Array<{ cap: string | null; names: string[] }> = [
  // Nothing in a container needs these, whatever its capabilities.
  { cap: null, names: ['kexec_load', 'kexec_file_load', 'keyctl', 'add_key', 'request_key', 'userfaultfd',
    'uselib', 'ustat', 'sysfs', '_sysctl', 'create_module', 'get_kernel_syms', 'query_module', 'nfsservctl',
    'lookup_dcookie', 'vm86', 'vm86old', 'open_by_handle_at', 'name_to_handle_at'] },
  { cap: 'CAP_SYS_MODULE', names: ['init_module', 'finit_module', 'delete_module'] },
  { cap: 'CAP_SYS_BOOT', names: ['reboot'] },
  { cap: 'CAP_SYS_TIME', names: ['settimeofday', 'stime', 'clock_settime', 'clock_settime64', 'clock_adjtime', 'clock_adjtime64'] },
  { cap: 'CAP_SYS_PACCT', names: ['acct'] },
  { cap: 'CAP_SYS_RAWIO', names: ['iopl', 'ioperm'] },
  { cap: 'CAP_SYSLOG', names: ['syslog'] },
  { cap: 'CAP_SYS_NICE', names: ['mbind', 'set_mempolicy', 'move_pages'] },
  { cap: 'CAP_SYS_ADMIN', names: ['mount', 'umount', 'umount2', 'pivot_root', 'swapon', 'swapoff', 'setns',
    'quotactl', 'quotactl_fd', 'fsopen', 'fsconfig', 'fsmount', 'fspick', 'open_tree', 'move_mount', 'mount_setattr',
    'perf_event_open', 'fanotify_init', 'bpf'] },
];

interface SeccompArg { index: number; value: number; valueTwo?: number; op: string }
interface SeccompRule { names: string[]; action: string; errnoRet?: number; args?: SeccompArg[] }
export interface OciSeccomp { defaultAction: string; defaultErrnoRet?: number; architectures: string[]; syscalls: SeccompRule[] }

/** The seccomp architectures of this machine's processes (native first, then its compat ones). */
function nativeArchitectures(arch: string = process.arch): string[] {
  switch (arch) {
    case 'x64': return ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'];
    case 'arm64': return ['SCMP_ARCH_AARCH64', 'SCMP_ARCH_ARM'];
    case 'arm': return ['SCMP_ARCH_ARM'];
    case 'ia32': return ['SCMP_ARCH_X86'];
    case 'riscv64': return ['SCMP_ARCH_RISCV64'];
    case 'ppc64': return ['SCMP_ARCH_PPC64LE'];
    case 's390x': return ['SCMP_ARCH_S390X', 'SCMP_ARCH_S390'];
    default: return [];
  }
}

/** berth's default profile for a container holding `caps` (CAP_* names). */
export function defaultSeccomp(caps: string[], arch: string = process.arch): OciSeccomp {
  const has = (c: string) => caps.includes(c);
  const blocked = [...new Set(GUARDED.filter((g) => g.cap === null || !has(g.cap)).flatMap((g) => g.names))];
  const syscalls: SeccompRule[] = [{ names: blocked.sort(), action: 'SCMP_ACT_ERRNO', errnoRet: EPERM }];
  if (!has('CAP_SYS_ADMIN')) {
    // New user namespaces are where most kernel privilege escalations start: refuse them.
    // clone's flags are its first argument on every architecture berth runs on but s390.
    const flagArg = arch === 's390x' ? 1 : 0;
    syscalls.push(
      { names: ['unshare'], action: 'SCMP_ACT_ERRNO', errnoRet: EPERM, args: [{ index: 0, value: CLONE_NEWUSER, valueTwo: CLONE_NEWUSER, op: 'SCMP_CMP_MASKED_EQ' }] },
      { names: ['clone'], action: 'SCMP_ACT_ERRNO', errnoRet: EPERM, args: [{ index: flagArg, value: CLONE_NEWUSER, valueTwo: CLONE_NEWUSER, op: 'SCMP_CMP_MASKED_EQ' }] },
      // clone3 passes its flags in memory, out of seccomp's sight: ENOSYS makes libc use clone.
      { names: ['clone3'], action: 'SCMP_ACT_ERRNO', errnoRet: ENOSYS },
    );
  }
  return { defaultAction: 'SCMP_ACT_ALLOW', architectures: nativeArchitectures(arch), syscalls };
}

const ACTIONS = new Set(['SCMP_ACT_KILL', 'SCMP_ACT_KILL_PROCESS', 'SCMP_ACT_KILL_THREAD', 'SCMP_ACT_TRAP',
  'SCMP_ACT_ERRNO', 'SCMP_ACT_TRACE', 'SCMP_ACT_ALLOW', 'SCMP_ACT_LOG', 'SCMP_ACT_NOTIFY']);
const OPS = new Set(['SCMP_CMP_NE', 'SCMP_CMP_LT', 'SCMP_CMP_LE', 'SCMP_CMP_EQ', 'SCMP_CMP_GE', 'SCMP_CMP_GT', 'SCMP_CMP_MASKED_EQ']);

/**
 * A profile in Docker's JSON format (the file `--security-opt seccomp=FILE` names; the CLI
 * sends its text) as an OCI seccomp section for a container holding `caps`. Rules with
 * `includes`/`excludes` apply when their capabilities and architectures match. Throws a
 * message that names the problem.
 */
export function profileFromJson(text: string, caps: string[], arch: string = process.arch): OciSeccomp {
  let p: any;
  try { p = JSON.parse(text); } catch (e) { throw new Error(`decoding seccomp profile failed: ${(e as Error).message}`); }
  if (!p || typeof p !== 'object' || Array.isArray(p)) throw new Error('decoding seccomp profile failed: not a JSON object');
  const action = (a: unknown, where: string): string => {
    if (typeof a !== 'string' || !ACTIONS.has(a)) throw new Error(`seccomp profile: ${where}: unknown action ${JSON.stringify(a)}`);
    return a;
  };
  const native = nativeArchitectures(arch);
  let arches: string[] = [];
  if (Array.isArray(p.archMap)) {
    const mine = p.archMap.find((m: any) => m?.architecture === native[0]);
    if (mine) arches = [mine.architecture, ...(Array.isArray(mine.subArchitectures) ? mine.subArchitectures : [])];
  } else if (Array.isArray(p.architectures)) arches = p.architectures.filter((a: unknown) => typeof a === 'string');
  const applies = (r: any): boolean => {
    const inc = r.includes ?? {}; const exc = r.excludes ?? {};
    if (Array.isArray(inc.caps) && !inc.caps.every((c: string) => caps.includes(c))) return false;
    if (Array.isArray(exc.caps) && exc.caps.some((c: string) => caps.includes(c))) return false;
    if (Array.isArray(inc.arches) && !inc.arches.some((a: string) => native.some((n) => n.toLowerCase().endsWith(`_${a.toLowerCase()}`) || a === n))) return false;
    if (Array.isArray(exc.arches) && exc.arches.some((a: string) => native.some((n) => n.toLowerCase().endsWith(`_${a.toLowerCase()}`) || a === n))) return false;
    return true;
  };
  const syscalls: SeccompRule[] = [];
  (Array.isArray(p.syscalls) ? p.syscalls : []).forEach((r: any, i: number) => {
    if (!r || typeof r !== 'object') throw new Error(`seccomp profile: syscalls[${i}]: not an object`);
    if (!applies(r)) return;
    const names = Array.isArray(r.names) ? r.names : typeof r.name === 'string' ? [r.name] : null;
    if (!names || !names.every((n: unknown) => typeof n === 'string')) throw new Error(`seccomp profile: syscalls[${i}]: names must be a list of system call names`);
    const rule: SeccompRule = { names, action: action(r.action, `syscalls[${i}]`) };
    if (typeof r.errnoRet === 'number') rule.errnoRet = r.errnoRet;
    if (Array.isArray(r.args) && r.args.length) {
      rule.args = r.args.map((a: any, j: number) => {
        if (!a || !Number.isInteger(a.index) || typeof a.value !== 'number' || !OPS.has(a.op)) {
          throw new Error(`seccomp profile: syscalls[${i}].args[${j}]: needs index, value and a known op`);
        }
        return { index: a.index, value: a.value, ...(typeof a.valueTwo === 'number' ? { valueTwo: a.valueTwo } : {}), op: a.op };
      });
    }
    syscalls.push(rule);
  });
  const out: OciSeccomp = { defaultAction: action(p.defaultAction, 'defaultAction'), architectures: arches, syscalls };
  if (typeof p.defaultErrnoRet === 'number') out.defaultErrnoRet = p.defaultErrnoRet;
  return out;
}
