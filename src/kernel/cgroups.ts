// How this machine's cgroups are laid out, for choosing an OCI runtime that can use them.
import { accessSync, constants, readFileSync, statfsSync } from 'node:fs';
import * as path from 'node:path';

const CGROUP2_SUPER_MAGIC = 0x63677270;

/**
 * 'v2' (one unified hierarchy), 'v1' (controllers in hierarchies of their own), or a hybrid:
 * v1 controllers plus a v2 hierarchy at /sys/fs/cgroup/unified, which crun accepts only while
 * that v2 hierarchy holds no controller.
 */
export function cgroupLayout(): 'v2' | 'v1' | 'hybrid' | 'hybrid-with-v2-controllers' {
  try {
    if (statfsSync('/sys/fs/cgroup').type === CGROUP2_SUPER_MAGIC) return 'v2';
  } catch { return 'v1'; }
  const unified = '/sys/fs/cgroup/unified';
  try {
    if (statfsSync(unified).type !== CGROUP2_SUPER_MAGIC) return 'v1';
  } catch { return 'v1'; }
  const controllers = (() => { try { return readFileSync(path.join(unified, 'cgroup.controllers'), 'utf8').trim(); } catch { return ''; } })();
  return controllers ? 'hybrid-with-v2-controllers' : 'hybrid';
}

/** Is `cmd` an executable in PATH (or a path to one)? */
export function findExecutable(cmd: string): string | null {
  const dirs = cmd.includes('/') ? [''] : (process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin').split(':');
  for (const d of dirs) {
    const p = d ? path.join(d, cmd) : cmd;
    try { accessSync(p, constants.X_OK); return p; } catch { /* next */ }
  }
  return null;
}
