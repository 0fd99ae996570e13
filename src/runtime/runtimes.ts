// The OCI runtimes berthd may run containers with, by name, as dockerd's --default-runtime,
// --add-runtime and `docker run --runtime` name them. Built in: runc (the default) and crun
// (podman's default, in C: a container is created in a third of runc's time). crun is not the
// default yet: under conmon, after a `crun exec` of a missing executable conmon no longer
// reaps the container (seen on this project's test machine, whose hybrid cgroups crun refuses,
// so crun ran there with cgroup v1 only).
import { badRequest } from '../util/errors';
import { cgroupLayout, findExecutable } from '../kernel/cgroups';

export interface RuntimeChoice { name: string; path: string }

export interface RuntimesOptions {
  /** --add-runtime NAME=PATH (repeatable). */
  add?: Record<string, string>;
  /** --default-runtime NAME. */
  default?: string;
}

export class Runtimes {
  private readonly byName = new Map<string, string>();
  readonly defaultName: string;

  constructor(opts: RuntimesOptions = {}) {
    this.byName.set('runc', 'runc');
    this.byName.set('crun', 'crun');
    for (const [name, p] of Object.entries(opts.add ?? {})) {
      if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(name)) throw new Error(`invalid runtime name: ${name}`);
      this.byName.set(name, p);
    }
    if (opts.default !== undefined) {
      if (!this.byName.has(opts.default)) throw new Error(`Unknown runtime specified ${opts.default}`);
      this.defaultName = opts.default;
    } else {
      this.defaultName = 'runc';
    }
  }

  /** The runtime a container asks for ('' or absent: the default); Docker's 400 for an unknown name. */
  resolve(name?: string | null): RuntimeChoice {
    const n = name || this.defaultName;
    const p = this.byName.get(n);
    if (p === undefined) throw badRequest(`Unknown runtime specified ${n}`);
    if (n === 'crun' && !crunFits()) {
      throw badRequest('crun cannot run containers with this machine\'s cgroups (a hybrid layout whose cgroup v2 hierarchy has controllers); use runc');
    }
    return { name: n, path: p };
  }

  /** As /info lists them. */
  list(): Record<string, { path: string }> {
    return Object.fromEntries([...this.byName].map(([n, p]) => [n, { path: p }]));
  }

  names(): string[] { return [...this.byName.keys()]; }

  /** Every runtime as it is configured, usable here or not (for cleaning up after any of them). */
  all(): RuntimeChoice[] { return [...this.byName].map(([name, p]) => ({ name, path: p })); }
}

/** Is crun installed, and can it place containers in this machine's cgroups? */
function crunFits(): boolean {
  if (!findExecutable('crun')) return false;
  return cgroupLayout() !== 'hybrid-with-v2-controllers';
}
