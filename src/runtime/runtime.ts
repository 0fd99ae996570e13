// Container processes. Each running container has a detached shell "shim" (its own session)
// that runs `runc run` in the foreground and writes runc's exit status to a file when it ends:
//   setsid sh -c 'runc --root R run --bundle B --pid-file pid ID <stdin >>LOG 2>&1; echo $? >exit'
// so containers keep running while berthd is stopped (like dockerd's live-restore), and no exit
// code is ever lost: a restarted daemon adopts the container and still sees its `exit` file.
// With -t the runc call is wrapped in util-linux `script`, so runc's own stdin is a pty that
// berthd can resize (`stty -F <pty> rows H cols W` makes the kernel send runc SIGWINCH, and runc
// copies the size to the container's console). Output: one log file, stdout and stderr together.
import { spawn } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { constants as fsc, existsSync, promises as fs, statSync, watch, type FSWatcher } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PassThrough, Readable, Writable } from 'node:stream';
import { run } from '../kernel/exec';
import { ApiError, badRequest, conflict, serverError } from '../util/errors';
import type { ImageRecord } from './images';
import { containerEnv, ociSpec, resolveGroups, resolveUser, type MountSpec, type ProcessExtras } from './spec';
import { fileSize, followFile, mergeOutput, tailOffset } from './logs';
import { longTimeout } from '../util/timers';
import { log as logger } from '../util/log';

export interface ContainerRunSpec {
  id: string;
  /** For error messages. */
  name?: string;
  image: ImageRecord;
  args: string[];
  env: string[];
  cwd: string;
  user: string;
  hostname: string;
  tty: boolean;
  openStdin: boolean;
  /** Close the container's stdin when the attached client's input ends (`run -i`); default true. */
  stdinOnce?: boolean;
  netnsPath: string | null;
  shareHostUts: boolean;
  etc: { hosts: string; resolvConf: string; hostname: string };
  /** Mounts, capabilities, extra groups and sysctls from HostConfig (checked at create). */
  extras?: ProcessExtras;
}

export interface ExecOptions {
  cmd: string[]; env: string[]; tty: boolean; cwd?: string; user?: string; stdin: boolean;
}

export interface ExecProcess {
  output: Readable;
  input: Writable | null;
  exitCode: Promise<number>;
  pid: Promise<number>;
  /** Set the exec's terminal size (tty execs only). */
  resize(h: number, w: number): Promise<void>;
}

export interface AttachRequest {
  stdin: boolean;
  /** Replay the log from its start first (Docker's `logs=1`); alias: logs. */
  fromStart?: boolean;
  logs?: boolean;
  /** Follow until the process ends (default true); false = only what is already there. */
  stream?: boolean;
}

interface Meta { tty: boolean; openStdin: boolean; stdinOnce: boolean }

/** The current run of one container, from launch until its exit has been handled. */
interface Live {
  pid: number;
  code: number | null;
  exited: Promise<number>;
  resolveExited: (code: number) => void;
  callbacks: Array<(code: number) => void>;
  stdin: fs.FileHandle | null;
  watcher: FSWatcher | null;
  timer: NodeJS.Timeout | null;
  handling: boolean;
}

const FILES = { exit: 'exit', pid: 'pid', shim: 'shim.pid', stdin: 'stdin', pty: 'pty', meta: 'meta.json', config: 'config.json' };

export class Runtime {
  private readonly execRoot: string;
  private readonly dataRoot: string;
  private readonly runcRoot: string;
  private readonly live = new Map<string, Live>();
  private readonly events = new EventEmitter();
  /** stdin of the next run, for input that arrives before the container starts (`run -i`). */
  private readonly stdinGates = new Map<string, { promise: Promise<fs.FileHandle | null>; resolve: (h: fs.FileHandle | null) => void }>();

  constructor(opts: { execRoot: string; dataRoot: string }) {
    this.execRoot = opts.execRoot;
    this.dataRoot = opts.dataRoot;
    this.runcRoot = path.join(opts.execRoot, 'runc');
    this.events.setMaxListeners(0);
  }

  // ---------------------------------------------------------------- paths

  bundleDir(id: string): string { return path.join(this.execRoot, 'containers', id); }
  containerDir(id: string): string { return path.join(this.dataRoot, 'containers', id); }
  logPath(id: string): string { return path.join(this.containerDir(id), 'container.log'); }
  /** stderr of a container without a TTY (with one, everything goes through the terminal). */
  errLogPath(id: string): string { return path.join(this.containerDir(id), 'container-stderr.log'); }
  private rootfsDir(id: string): string { return path.join(this.bundleDir(id), 'rootfs'); }
  private state(id: string, f: keyof typeof FILES): string { return path.join(this.bundleDir(id), FILES[f]); }

  // ---------------------------------------------------------------- create / start

  /** The container's persistent directory and (empty) log; called when the container is created. */
  async prepare(id: string): Promise<void> {
    await fs.mkdir(this.containerDir(id), { recursive: true });
    for (const f of [this.logPath(id), this.errLogPath(id)]) await (await fs.open(f, 'a')).close();
    // On disk before the record that names it (a power loss must not leave a record without it).
    await syncDir(path.dirname(this.containerDir(id)));
  }

  /** Mount the rootfs, write /etc files and config.json: the bundle `runc run` needs. */
  async create(spec: ContainerRunSpec): Promise<void> {
    try {
      await this.createBundle(spec);
    } catch (e) {
      throw diskError(`cannot write the files of container ${spec.name ?? spec.id.slice(0, 12)}`, e);
    }
  }

  private async createBundle(spec: ContainerRunSpec): Promise<void> {
    const { id } = spec;
    if (spec.cwd && !spec.cwd.startsWith('/')) {
      throw badRequest(`the working directory '${spec.cwd}' is invalid, it needs to be an absolute path`);
    }
    await this.prepare(id);
    const data = this.containerDir(id);
    const bundle = this.bundleDir(id);
    await fs.mkdir(this.rootfsDir(id), { recursive: true });
    await fs.mkdir(path.join(data, 'upper'), { recursive: true });
    await fs.mkdir(path.join(data, 'work'), { recursive: true });
    await this.mountRootfs(id, spec.image.rootfs ?? '/');
    try {
      const etc = { hosts: path.join(data, 'hosts'), resolvConf: path.join(data, 'resolv.conf'), hostname: path.join(data, 'hostname') };
      await fs.writeFile(etc.hosts, spec.etc.hosts);
      await fs.writeFile(etc.resolvConf, spec.etc.resolvConf);
      await fs.writeFile(etc.hostname, spec.etc.hostname);
      const rootfs = this.rootfsDir(id);
      const read = (f: string) => fs.readFile(path.join(rootfs, f), 'utf8').catch(() => null);
      let user;
      try {
        user = resolveUser(spec.user, await read('etc/passwd'), await read('etc/group'));
        const extra = resolveGroups(spec.extras?.groups ?? [], await read('etc/group'));
        user.additionalGids = [...new Set([...user.additionalGids, ...extra])];
      } catch (e) {
        throw badRequest((e as Error).message);
      }
      await this.prepareBindSources(spec.extras?.mounts ?? []);
      const cwd = spec.cwd || '/';
      // Docker creates a missing working directory instead of failing the start.
      await fs.mkdir(path.join(rootfs, cwd), { recursive: true }).catch(() => undefined);
      const config = ociSpec({
        id, args: spec.args, env: containerEnv(spec.env, spec.hostname, spec.tty), cwd, user,
        hostname: spec.hostname, tty: spec.tty, netnsPath: spec.netnsPath, shareHostUts: spec.shareHostUts, etc,
        extras: spec.extras,
      });
      await fs.writeFile(path.join(bundle, FILES.config), JSON.stringify(config, null, 1));
      const meta: Meta = { tty: spec.tty, openStdin: spec.openStdin, stdinOnce: spec.stdinOnce ?? true };
      await fs.writeFile(this.state(id, 'meta'), JSON.stringify(meta));
    } catch (e) {
      await this.unmountRootfs(id);
      throw e;
    }
  }

  /**
   * Host paths of bind mounts: `-v` makes a missing directory, as Docker does; `--mount`
   * refuses a missing source with Docker's message.
   */
  private async prepareBindSources(mounts: MountSpec[]): Promise<void> {
    for (const m of mounts) {
      if (m.type !== 'bind') continue;
      const exists = await fs.stat(m.source).then(() => true, () => false);
      if (exists) continue;
      if (!m.createSource) throw badRequest(`invalid mount config for type "bind": bind source path does not exist: ${m.source}`);
      await fs.mkdir(m.source, { recursive: true });
    }
  }

  /**
   * Start the container: with a spec, (re)create its bundle first; with an id, run the bundle
   * create() made. Resolves with the container's pid once runc has started the process.
   */
  async start(specOrId: ContainerRunSpec | string): Promise<number> {
    const id = typeof specOrId === 'string' ? specOrId : specOrId.id;
    if (this.isRunning(id)) throw conflict(`container ${id} is already running`);
    if (typeof specOrId !== 'string') await this.create(specOrId);
    const meta: Meta = JSON.parse(await fs.readFile(this.state(id, 'meta'), 'utf8'));
    const bundle = this.bundleDir(id);
    for (const f of ['exit', 'pid', 'pty', 'stdin'] as const) await fs.rm(this.state(id, f), { force: true });
    await fs.rm(`${this.state(id, 'exit')}.tmp`, { force: true });
    const log = this.logPath(id);
    const errLog = meta.tty ? log : this.errLogPath(id);
    const errStart = await fileSize(errLog);

    // stdin: /dev/null, or a FIFO. berthd holds it open read-write (so opening never blocks)
    // and is the writer; the shim keeps a writer of its own when stdin must never reach EOF
    // (a -t container without -i, or -i without stdin-once), even while berthd is down.
    let stdinSrc = '/dev/null';
    let keepOpen = false;
    let stdin: fs.FileHandle | null = null;
    if (meta.tty || meta.openStdin) {
      stdinSrc = this.state(id, 'stdin');
      await run('mkfifo', ['-m', '0600', stdinSrc]);
      keepOpen = !meta.openStdin || !meta.stdinOnce;
      if (meta.openStdin) stdin = await fs.open(stdinSrc, fsc.O_RDWR);
    }
    // runc's own messages (warnings about cgroups, its errors) go to a file of their own, not
    // into the container's stderr log.
    const runcLog = path.join(bundle, 'runc.log');
    await fs.rm(runcLog, { force: true });
    const runc = ['runc', '--root', this.runcRoot, '--log', runcLog, 'run', '--bundle', bundle, '--pid-file', this.state(id, 'pid'), id];
    const inner = meta.tty
      ? `script -qfec ${shq(`tty > ${shq(this.state(id, 'pty'))}; exec ${runc.map(shq).join(' ')}`)} /dev/null`
      : runc.map(shq).join(' ');
    const script = [
      `cd ${shq(bundle)} || exit 1`,
      keepOpen ? `exec 3<>${shq(stdinSrc)}` : ':',
      `${inner} <${shq(stdinSrc)} >>${shq(log)} 2>>${shq(errLog)} 3>&-`,
      `echo $? > ${shq(this.state(id, 'exit'))}.tmp`,
      `mv ${shq(this.state(id, 'exit'))}.tmp ${shq(this.state(id, 'exit'))}`,
    ].join('\n');
    logger.debug(`shim: sh -c ${shq(script)}`);
    const shim = spawn('sh', ['-c', script], { detached: true, stdio: 'ignore' });
    shim.unref();
    await fs.writeFile(this.state(id, 'shim'), String(shim.pid ?? 0));

    const l = this.newLive(stdin);
    this.live.set(id, l);
    const started = await this.waitStarted(id);
    if (!started.ok) {
      // runc failed before the process ran: its error went to the log; take it back out.
      const text = (await fs.readFile(runcLog, 'utf8').catch(() => '')) + '\n' +
        (await fs.readFile(errLog).catch(() => Buffer.alloc(0))).subarray(errStart).toString();
      await fs.truncate(errLog, errStart).catch(() => undefined);
      this.live.delete(id);
      await stdin?.close().catch(() => undefined);
      await this.cleanupRun(id);
      throw startError(text, started.code);
    }
    l.pid = started.pid;
    this.gateOpen(id, stdin);
    this.watchExit(id, l);
    this.events.emit(`start:${id}`, l);
    return l.pid;
  }

  /** Rewrite /etc/hosts and /etc/resolv.conf of a container (in place: they are bind-mounted). */
  async writeEtc(id: string, etc: { hosts: string; resolvConf: string; hostname?: string }): Promise<void> {
    const data = this.containerDir(id);
    await fs.writeFile(path.join(data, 'hosts'), etc.hosts);
    await fs.writeFile(path.join(data, 'resolv.conf'), etc.resolvConf);
    if (etc.hostname !== undefined) await fs.writeFile(path.join(data, 'hostname'), etc.hostname);
  }

  // ---------------------------------------------------------------- state

  isRunning(id: string): boolean {
    const l = this.live.get(id);
    return !!l && l.code === null;
  }

  pid(id: string): number { return this.isRunning(id) ? this.live.get(id)!.pid : 0; }

  /** Call `cb` once when the current run ends (at once if it already ended). */
  onExit(id: string, cb: (code: number) => void): void {
    const l = this.live.get(id);
    if (l && l.code === null) { l.callbacks.push(cb); return; }
    if (l) { setImmediate(() => cb(l.code!)); return; }
    this.readExit(id).then((code) => { if (code !== null) cb(code); }, () => undefined);
  }

  /** After a daemon restart: is the container still running? If not, how did it end? */
  async adopt(id: string): Promise<{ running: boolean; exitCode?: number }> {
    if (this.isRunning(id)) return { running: true };
    const code = await this.readExit(id);
    if (code !== null) { await this.cleanupRun(id); return { running: false, exitCode: code }; }
    const shimPid = Number(await fs.readFile(this.state(id, 'shim'), 'utf8').catch(() => '0'));
    const alive = shimPid > 0 && (await fs.readFile(`/proc/${shimPid}/cmdline`, 'utf8').catch(() => '')).includes(id);
    if (!alive) {
      // The shim may have finished between the two looks: its exit file is written before it ends.
      const late = await this.readExit(id);
      if (late !== null) { await this.cleanupRun(id); return { running: false, exitCode: late }; }
      // The shim is gone without a word (killed, or the machine restarted): nothing to adopt.
      await run('runc', ['--root', this.runcRoot, 'delete', '--force', id], { allowFail: true });
      await this.cleanupRun(id);
      await this.removeCgroups(id);
      return { running: false, exitCode: 255 };
    }
    const meta: Meta = JSON.parse(await fs.readFile(this.state(id, 'meta'), 'utf8'));
    const stdin = meta.openStdin ? await fs.open(this.state(id, 'stdin'), fsc.O_RDWR).catch(() => null) : null;
    const l = this.newLive(stdin);
    l.pid = Number(await fs.readFile(this.state(id, 'pid'), 'utf8').catch(() => '0'));
    this.live.set(id, l);
    this.gateOpen(id, stdin);
    this.watchExit(id, l);
    return { running: true };
  }

  // ---------------------------------------------------------------- signals

  async kill(id: string, signal: string): Promise<void> {
    const sig = normalizeSignal(signal || 'KILL');
    if (!this.isRunning(id)) throw conflict(`Container ${id} is not running`);
    const res = await run('runc', ['--root', this.runcRoot, 'kill', id, sig], { allowFail: true });
    if (res.code !== 0 && this.isRunning(id) && !/not running|container does not exist/.test(res.stderr)) {
      throw serverError(`Cannot kill container: ${id}: ${runcMessage(res.stderr) || res.stderr.trim()}`);
    }
  }

  /** Docker's stop: the stop signal, then SIGKILL after `timeoutSec` (negative: wait forever). */
  async stop(id: string, timeoutSec: number, signal = 'SIGTERM'): Promise<number> {
    const l = this.live.get(id);
    if (!l) return (await this.readExit(id)) ?? 0;
    if (l.code !== null) return l.exited;
    await this.kill(id, signal).catch(() => undefined);
    if (timeoutSec >= 0) {
      let cancel = () => undefined as void;
      const timedOut = await Promise.race([
        l.exited.then(() => false),
        new Promise<boolean>((r) => { cancel = longTimeout(() => r(true), timeoutSec * 1000); }),
      ]);
      cancel();
      if (timedOut) await this.kill(id, 'KILL').catch(() => undefined);
    }
    return l.exited;
  }

  // ---------------------------------------------------------------- I/O

  /**
   * Output (the log from a position: its start with fromStart/logs, else where it ends now)
   * following the current run, or the next one if the container is not running yet; and the
   * container's stdin when asked for and the container has one.
   */
  attach(id: string, opts: AttachRequest): { output: Readable; input: Writable | null } {
    const fromStart = opts.fromStart ?? opts.logs ?? false;
    const follow = (file: string) => {
      const start = fromStart ? 0 : sizeNow(file);
      if (opts.stream === false) return fromStart ? followFile(file, 0) : Readable.from([]);
      const l = this.live.get(id);
      const until = l && l.code === null ? l.exited
        : new Promise<Live>((r) => this.events.once(`start:${id}`, r)).then((n) => n.exited);
      return followFile(file, start, until);
    };
    const output = mergeOutput(follow(this.logPath(id)), follow(this.errLogPath(id)));
    const input = opts.stdin ? this.stdinWriter(id) : null;
    return { output, input };
  }

  /** The log file, from its last `tail` lines; with follow, until the running process ends. */
  logs(id: string, opts: { follow: boolean; tail: number | 'all' }): Readable {
    const l = this.live.get(id);
    const until = opts.follow && l && l.code === null ? l.exited : undefined;
    const one = (log: string): Readable => {
      if (opts.tail === 'all' || opts.tail < 0) return followFile(log, 0, until);
      const out = new PassThrough();
      fs.readFile(log).then((buf) => {
        const inner = followFile(log, tailOffset(buf, opts.tail as number), until);
        inner.pipe(out);
        out.on('close', () => inner.destroy()); // the reader went away: stop following
      }, () => out.end());
      return out;
    };
    return mergeOutput(one(this.logPath(id)), one(this.errLogPath(id)));
  }

  /** The pids of a running container's processes (runc ps). */
  async pids(id: string): Promise<number[]> {
    const r = await run('runc', ['--root', this.runcRoot, 'ps', '--format', 'json', id]);
    return JSON.parse(r.stdout || '[]') as number[];
  }

  async resize(id: string, h: number, w: number): Promise<void> {
    if (!this.isRunning(id)) throw conflict(`Container ${id} is not running`);
    const pty = (await fs.readFile(this.state(id, 'pty'), 'utf8').catch(() => '')).trim();
    if (!pty) return; // not a tty container: nothing to size
    await setPtySize(pty, h, w);
  }

  /**
   * `runc exec` of a process in the running container. Output is `{ stream, data }` chunks
   * (stdout and stderr apart; with a TTY everything is the terminal's stdout).
   */
  exec(id: string, opts: ExecOptions): ExecProcess {
    if (!this.isRunning(id)) throw conflict(`Container ${id} is not running`);
    const output = new PassThrough({ objectMode: true });
    const ptyFile = path.join(this.bundleDir(id), `exec-${Math.random().toString(16).slice(2)}.pty`);
    const pidFile = ptyFile.replace(/\.pty$/, '.pid');
    let resolvePid!: (p: number) => void;
    const pid = new Promise<number>((r) => { resolvePid = r; });
    let child: ReturnType<typeof spawn> | null = null;
    const failWith = (msg: string, code: number) => { output.end(`${msg}\n`); resolvePid(0); return code; };

    const exitCode = (async (): Promise<number> => {
      let userArgs: string[] = [];
      if (opts.user) {
        const rootfs = this.rootfsDir(id);
        const read = (f: string) => fs.readFile(path.join(rootfs, f), 'utf8').catch(() => null);
        try {
          const u = resolveUser(opts.user, await read('etc/passwd'), await read('etc/group'));
          userArgs = ['--user', `${u.uid}:${u.gid}`, ...u.additionalGids.flatMap((g) => ['--additional-gids', String(g)])];
        } catch (e) {
          return failWith((e as Error).message, 126);
        }
      }
      const env = opts.tty && !opts.env.some((e) => e.startsWith('TERM=')) ? [...opts.env, 'TERM=xterm'] : opts.env;
      const runc = ['runc', '--root', this.runcRoot, 'exec', '--pid-file', pidFile, ...(opts.tty ? ['--tty'] : []),
        ...(opts.cwd ? ['--cwd', opts.cwd] : []), ...userArgs, ...env.flatMap((e) => ['--env', e]), id, ...opts.cmd];
      logger.debug(`exec: ${runc.join(' ')}`);
      child = opts.tty
        ? spawn('script', ['-qfec', `tty > ${shq(ptyFile)}; exec ${runc.map(shq).join(' ')}`, '/dev/null'], { stdio: 'pipe' })
        : spawn(runc[0], runc.slice(1), { stdio: 'pipe' });
      const c = child;
      c.stdin!.on('error', () => undefined);
      // Without -i a process gets no input: EOF at once; a tty keeps its (silent) terminal open.
      if (!opts.stdin && !opts.tty) c.stdin!.end();
      // Output ends after 'close' (both pipes drained), so runc's own error can come last.
      c.stdout!.on('data', (data: Buffer) => output.write({ stream: 'stdout', data }));
      let errText = '';
      c.stderr!.on('data', (data: Buffer) => {
        const msg = runcMessage(data.toString());
        if (msg) errText += msg; else output.write({ stream: opts.tty ? 'stdout' : 'stderr', data });
      });
      waitFile(pidFile, () => child === null).then((t) => resolvePid(Number(t) || 0), () => resolvePid(0));
      const code = await new Promise<number>((resolve) => {
        c.on('error', (e) => { errText ||= e.message; resolve(255); });
        c.on('close', (codeN, sig) => resolve(codeN ?? 128 + (os.constants.signals[sig as NodeJS.Signals] ?? 0)));
      });
      child = null;
      c.stdin!.end();
      await fs.rm(pidFile, { force: true });
      await fs.rm(ptyFile, { force: true });
      if (errText) {
        // runc could not start the process: Docker's message and exit status 126.
        const rest = errText.replace(/^exec failed: /, '');
        output.end(`OCI runtime exec failed: exec failed: ${rest}: unknown\n`);
        resolvePid(0);
        return 126;
      }
      output.end();
      resolvePid(0);
      return code;
    })();
    const input = opts.stdin ? new Writable({
      write: (chunk, _enc, cb) => { const c = child; if (c?.stdin) c.stdin.write(chunk, cb); else cb(); },
      final: (cb) => { child?.stdin?.end(); cb(); },
    }) : null;
    const resize = async (h: number, w: number) => {
      if (!opts.tty) return;
      // The client sizes the terminal right after starting: wait for it to exist.
      let pty = '';
      for (let i = 0; i < 40 && !pty && child !== null; i++) {
        pty = (await fs.readFile(ptyFile, 'utf8').catch(() => '')).trim();
        if (!pty) await new Promise((r) => setTimeout(r, 50));
      }
      if (pty) await setPtySize(pty, h, w).catch(() => undefined);
    };
    return { output, input, exitCode, pid, resize };
  }

  // ---------------------------------------------------------------- removal

  /** Kill if running, unmount, delete runc state, bundle and data. Idempotent. */
  async remove(id: string): Promise<void> {
    if (this.isRunning(id)) {
      await this.kill(id, 'KILL').catch(() => undefined);
      await this.live.get(id)?.exited;
    }
    this.stopWatching(id);
    this.live.delete(id);
    const gate = this.stdinGates.get(id);
    gate?.resolve(null);
    this.stdinGates.delete(id);
    await run('runc', ['--root', this.runcRoot, 'delete', '--force', id], { allowFail: true });
    await this.unmountRootfs(id);
    await fs.rm(this.bundleDir(id), { recursive: true, force: true });
    await fs.rm(this.containerDir(id), { recursive: true, force: true });
    await this.removeCgroups(id);
  }

  /**
   * Make sure nothing of a run is left: the shim (and a `runc run` it may still be starting),
   * the runc container in whatever state, the rootfs mount, the run's files. For a start that
   * was not recorded (its record could not be written, or berthd died before it could). Idempotent.
   */
  async discard(id: string, shims?: Map<string, number[]>): Promise<void> {
    this.stopWatching(id);
    const l = this.live.get(id);
    this.live.delete(id);
    await l?.stdin?.close().catch(() => undefined);
    // Found by what they run, not by shim.pid: a daemon killed right after it spawned the shim
    // never wrote that file, and the shim would go on to start the container.
    // (`shims`: one look at /proc for many discards, by the start-up sweep)
    const mine = shims ? shims.get(id) ?? [] : await this.shimsOf(id);
    for (const pid of mine) {
      // The shim leads its own process group (setsid): the group takes `runc run` with it.
      try { process.kill(-pid, 'SIGKILL'); } catch { /* already gone */ }
      try { process.kill(pid, 'SIGKILL'); } catch { /* already gone */ }
    }
    for (let i = 0; i < 100 && mine.length && (await this.shimsOf(id)).length; i++) await sleep(10);
    await run('runc', ['--root', this.runcRoot, 'delete', '--force', id], { allowFail: true });
    await this.cleanupRun(id);
    await fs.rm(this.bundleDir(id), { recursive: true, force: true });
    await this.removeCgroups(id);
  }

  /**
   * The container's cgroup directories, in every hierarchy (cgroup v2, or each v1 controller):
   * a runc killed while it created the container, or a container that died with its runc (the
   * machine's power, or every process killed), leaves them with no state to delete them by.
   * rmdir refuses while a process is in one.
   */
  private async removeCgroups(id: string): Promise<void> {
    for (const d of await berthCgroupDirs()) await fs.rmdir(path.join(d, id)).catch(() => undefined);
  }

  /** Pids of the shims (and `runc run`s) running this container's bundle. */
  private async shimsOf(id: string): Promise<number[]> {
    return (await this.shims()).get(id) ?? [];
  }

  /** Every shim and `runc run` of a bundle under this exec-root, by container id (one look at /proc). */
  async shims(): Promise<Map<string, number[]>> {
    const prefix = path.join(this.execRoot, 'containers') + '/';
    const out = new Map<string, number[]>();
    for (const d of await fs.readdir('/proc').catch(() => [] as string[])) {
      if (!/^\d+$/.test(d) || Number(d) === process.pid) continue;
      const argv = (await fs.readFile(`/proc/${d}/cmdline`, 'utf8').catch(() => '')).split('\0');
      let bundle = '';
      if (argv[0] === 'sh' && argv[1] === '-c' && argv[2]?.startsWith('cd ')) bundle = unshq(argv[2].slice(3).split('\n')[0].replace(/ \|\| exit 1$/, ''));
      else if (argv.includes('run') && argv.includes('--bundle')) bundle = argv[argv.indexOf('--bundle') + 1] ?? '';
      if (!bundle.startsWith(prefix)) continue;
      const id = bundle.slice(prefix.length);
      out.set(id, [...(out.get(id) ?? []), Number(d)]);
    }
    return out;
  }

  /** Ids runc knows (any state), and ids with a bundle directory: for the start-up sweep. */
  async known(): Promise<string[]> {
    const r = await run('runc', ['--root', this.runcRoot, 'list', '-q'], { allowFail: true });
    const ids = new Set(r.stdout.split('\n').map((l) => l.trim()).filter(Boolean));
    for (const d of await fs.readdir(path.join(this.execRoot, 'containers')).catch(() => [] as string[])) ids.add(d);
    return [...ids];
  }

  /** Ids with a persistent directory (created containers): for the start-up sweep. */
  async stored(): Promise<string[]> {
    return fs.readdir(path.join(this.dataRoot, 'containers')).catch(() => [] as string[]);
  }

  /** Stop watching (the daemon is shutting down); containers keep running. */
  async close(): Promise<void> {
    for (const [id, l] of this.live) {
      this.stopWatching(id);
      await l.stdin?.close().catch(() => undefined);
    }
    this.live.clear();
    await this.sweepCgroups();
  }

  /** Remove berth's parent cgroup directories if empty (rmdir refuses while a container uses them). */
  async sweepCgroups(): Promise<void> {
    for (const d of await berthCgroupDirs()) await fs.rmdir(d).catch(() => undefined);
  }

  // ---------------------------------------------------------------- internals

  private newLive(stdin: fs.FileHandle | null): Live {
    let resolveExited!: (c: number) => void;
    const exited = new Promise<number>((r) => { resolveExited = r; });
    return { pid: 0, code: null, exited, resolveExited, callbacks: [], stdin, watcher: null, timer: null, handling: false };
  }

  /** Wait for runc to report the pid, or for the shim to report that runc already ended. */
  private async waitStarted(id: string): Promise<{ ok: true; pid: number } | { ok: false; code: number }> {
    for (let i = 0; ; i++) {
      const pid = await fs.readFile(this.state(id, 'pid'), 'utf8').catch(() => '');
      if (pid.trim()) return { ok: true, pid: Number(pid) };
      const code = await this.readExit(id);
      if (code !== null) {
        // A process that ran and ended at once may still have written its pid file.
        const again = await fs.readFile(this.state(id, 'pid'), 'utf8').catch(() => '');
        if (again.trim()) return { ok: true, pid: Number(again) };
        return { ok: false, code };
      }
      await sleep(i < 100 ? 5 : 50);
    }
  }

  private async readExit(id: string): Promise<number | null> {
    const t = await fs.readFile(this.state(id, 'exit'), 'utf8').catch(() => null);
    if (t === null || !/^\d+/.test(t.trim())) return null;
    return Number(t.trim());
  }

  /** inotify on the bundle dir for the `exit` file, and a slow poll in case an event is missed. */
  private watchExit(id: string, l: Live): void {
    const check = () => { if (existsSync(this.state(id, 'exit'))) void this.handleExit(id, l); };
    try {
      l.watcher = watch(this.bundleDir(id), (_ev, name) => { if (name === FILES.exit) check(); });
      l.watcher.on('error', () => undefined);
    } catch { /* the poll covers it */ }
    l.timer = setInterval(check, 1000);
    l.timer.unref();
    check();
  }

  private stopWatching(id: string): void {
    const l = this.live.get(id);
    if (!l) return;
    l.watcher?.close(); l.watcher = null;
    if (l.timer) clearInterval(l.timer); l.timer = null;
  }

  private async handleExit(id: string, l: Live): Promise<void> {
    if (l.handling || this.live.get(id) !== l) return;
    l.handling = true;
    const code = (await this.readExit(id)) ?? 255;
    this.stopWatching(id);
    await l.stdin?.close().catch(() => undefined);
    l.stdin = null;
    const gate = this.stdinGates.get(id);
    if (gate) { this.stdinGates.delete(id); gate.resolve(null); }
    await this.cleanupRun(id);
    l.code = code;
    l.resolveExited(code);
    for (const cb of l.callbacks.splice(0)) {
      try { cb(code); } catch (e) { logger.warn(`exit handler of ${id}: ${(e as Error).message}`); }
    }
  }

  /** What a finished run leaves: the rootfs mount, the FIFO, pid files (the exit file stays). */
  private async cleanupRun(id: string): Promise<void> {
    await this.unmountRootfs(id);
    for (const f of ['pid', 'pty', 'stdin', 'shim'] as const) await fs.rm(this.state(id, f), { force: true });
  }

  private async mountRootfs(id: string, lower: string): Promise<void> {
    const target = this.rootfsDir(id);
    if (await isMountpoint(target)) return;
    const data = this.containerDir(id);
    const opts = `lowerdir=${lower},upperdir=${path.join(data, 'upper')},workdir=${path.join(data, 'work')}`;
    await run('mount', ['-t', 'overlay', 'overlay', '-o', opts, target]);
  }

  private async unmountRootfs(id: string): Promise<void> {
    const target = this.rootfsDir(id);
    if (!(await isMountpoint(target))) return;
    const res = await run('umount', [target], { allowFail: true });
    if (res.code !== 0) await run('umount', ['-l', target], { allowFail: true });
  }

  /** Resolve the stdin of the current (or next) run for writers waiting on it. */
  private gateOpen(id: string, h: fs.FileHandle | null): void {
    const g = this.stdinGates.get(id);
    if (g) { this.stdinGates.delete(id); g.resolve(h); }
  }

  private stdinHandle(id: string): Promise<fs.FileHandle | null> {
    const l = this.live.get(id);
    if (l && l.code === null) return Promise.resolve(l.stdin);
    let g = this.stdinGates.get(id);
    if (!g) {
      let resolve!: (h: fs.FileHandle | null) => void;
      const promise = new Promise<fs.FileHandle | null>((r) => { resolve = r; });
      g = { promise, resolve };
      this.stdinGates.set(id, g);
    }
    return g.promise;
  }

  /** A writer into the container's stdin; ending it closes stdin when the container is stdin-once. */
  private stdinWriter(id: string): Writable {
    return new Writable({
      write: (chunk: Buffer, _enc, cb) => {
        this.stdinHandle(id).then(async (h) => {
          if (h) await h.write(chunk).catch(() => undefined);
          cb();
        }, () => cb());
      },
      final: (cb) => {
        this.stdinHandle(id).then(async (h) => {
          const meta: Meta | null = await fs.readFile(this.state(id, 'meta'), 'utf8').then(JSON.parse, () => null);
          const l = this.live.get(id);
          if (h && meta?.stdinOnce && l && l.stdin === h) { l.stdin = null; await h.close().catch(() => undefined); }
          cb();
        }, () => cb());
      },
    });
  }
}

// ---------------------------------------------------------------- helpers

/** Quote for sh. */
export function shq(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** The word shq() quoted, back. */
function unshq(s: string): string {
  return s.startsWith("'") && s.endsWith("'") ? s.slice(1, -1).replace(/'\\''/g, "'") : s;
}

function sleep(ms: number): Promise<void> { return new Promise((r) => setTimeout(r, ms)); }

/** berth's parent cgroup directories that exist: /sys/fs/cgroup/berth (v2) and /sys/fs/cgroup/<controller>/berth (v1). */
async function berthCgroupDirs(): Promise<string[]> {
  const root = '/sys/fs/cgroup';
  const dirs = [path.join(root, 'berth'), ...(await fs.readdir(root).catch(() => [] as string[])).map((h) => path.join(root, h, 'berth'))];
  const out: string[] = [];
  for (const d of dirs) if (await fs.stat(d).then((st) => st.isDirectory(), () => false)) out.push(d);
  return out;
}

async function syncDir(dir: string): Promise<void> {
  const fh = await fs.open(dir, 'r').catch(() => null);
  if (!fh) return;
  await fh.sync().catch(() => undefined);
  await fh.close().catch(() => undefined);
}

function sizeNow(file: string): number {
  try { return statSync(file).size; } catch { return 0; }
}

async function isMountpoint(dir: string): Promise<boolean> {
  const info = await fs.readFile('/proc/self/mountinfo', 'utf8').catch(() => '');
  const target = dir.replace(/ /g, '\\040');
  return info.split('\n').some((l) => l.split(' ')[4] === target);
}

async function waitFile(file: string, gaveUp: () => boolean): Promise<string> {
  for (let i = 0; ; i++) {
    const t = await fs.readFile(file, 'utf8').catch(() => '');
    if (t.trim()) return t.trim();
    if (gaveUp()) return '';
    await sleep(i < 100 ? 5 : 50);
  }
}

async function setPtySize(pty: string, h: number, w: number): Promise<void> {
  // TIOCSWINSZ on the outer pty: the kernel sends SIGWINCH to runc, which copies the size inward.
  await run('stty', ['-F', pty, 'rows', String(h), 'cols', String(w)], { allowFail: true });
}

/** The message of runc's logrus error line(s): `time="…" level=error msg="…"`. */
export function runcMessage(stderr: string): string {
  const msgs: string[] = [];
  for (const m of stderr.matchAll(/level=(?:error|fatal) msg="((?:[^"\\]|\\.)*)"/g)) {
    msgs.push(m[1].replace(/\\(.)/g, '$1'));
  }
  return msgs.join('; ');
}

/** A write that failed for want of space (or a broken disk), worded for the user; other errors as they are. */
function diskError(what: string, e: unknown): unknown {
  const code = (e as NodeJS.ErrnoException)?.code;
  const why: Record<string, string> = { ENOSPC: 'no space left on device', EDQUOT: 'disk quota exceeded', EIO: 'input/output error', EROFS: 'read-only file system' };
  return code && why[code] ? new ApiError(500, `${what}: ${code}: ${why[code]}`) : e;
}

/** A failed `runc run`, worded as Docker words a failed start. */
function startError(text: string, code: number): ApiError {
  const msg = runcMessage(text) || text.trim().split('\n').pop() || `runc exited with status ${code}`;
  const rest = msg.replace(/^runc run failed: /, '').replace(/^runc create failed: /, '');
  const full = `failed to create shim task: OCI runtime create failed: runc create failed: ${rest}: unknown`;
  const userError = /executable file not found|permission denied|no such file or directory|not a directory/.test(rest);
  return new ApiError(userError ? 400 : 500, full);
}

/** "KILL", "SIGKILL", "kill", "9" → what runc accepts; unknown names are Docker's 400. */
export function normalizeSignal(sig: string): string {
  const s = String(sig).trim().toUpperCase();
  if (/^\d+$/.test(s) && Number(s) > 0 && Number(s) <= 64) return s;
  const name = s.startsWith('SIG') ? s : `SIG${s}`;
  if (name in os.constants.signals || /^SIGRTM(IN|AX)([+-]\d+)?$/.test(name)) return name;
  throw badRequest(`Invalid signal: ${sig}`);
}
