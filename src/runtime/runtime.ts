// Container processes. Each running container has one monitor, conmon (podman's, in C), which
// runs the OCI runtime (crun by default, or runc; runtimes.ts) to create the container, holds
// its stdio, writes its output to the log and its exit code to the bundle's `exit` file, and
// needs nothing from berthd to go on: containers keep running while berthd is stopped (like
// dockerd's live-restore), and no exit code is ever lost: a restarted daemon adopts the
// container and still sees its `exit` file. conmon's files, in the bundle directory:
//   conmon.pid, pid (the container's), exit; attach (a SOCK_SEQPACKET socket: berthd writes the
//   container's stdin there), ctl (a FIFO: "1 H W" sizes a -t container's terminal).
// Output: one log in conmon's k8s-file format (k8slog.ts), stdout and stderr records in order.
import { spawn } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { constants as fsc, existsSync, promises as fs, statSync, watch, type FSWatcher } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PassThrough, Readable, Transform, Writable } from 'node:stream';
import { run } from '../kernel/exec';
import { writeDurably } from '../store/durable';
import { SeqpacketWriter } from '../kernel/seqpacket';
import { findExecutable } from '../kernel/cgroups';
import { ApiError, badRequest, conflict, serverError } from '../util/errors';
import type { ImageRecord } from './images';
import { containerEnv, ociSpec, replaceOrAppend, resolveGroups, resolveUser, type MountSpec, type ProcessExtras } from './spec';
import { followFile } from './logs';
import { decoder, parseAll, tailRecords, type LogRecord } from './k8slog';
import { Runtimes, type RuntimeChoice, type RuntimesOptions } from './runtimes';
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
  /** The OCI runtime by name (HostConfig.Runtime; default: the daemon's). */
  runtime?: string;
}

interface ExecOptions {
  cmd: string[]; env: string[]; tty: boolean; cwd?: string; user?: string; stdin: boolean;
}

interface ExecProcess {
  output: Readable;
  input: Writable | null;
  exitCode: Promise<number>;
  pid: Promise<number>;
  /** Set the exec's terminal size (tty execs only). */
  resize(h: number, w: number): Promise<void>;
}

interface AttachRequest {
  stdin: boolean;
  /** Replay the log from its start first (Docker's `logs=1`); alias: logs. */
  fromStart?: boolean;
  logs?: boolean;
  /** Follow until the process ends (default true); false = only what is already there. */
  stream?: boolean;
}

interface Meta { tty: boolean; openStdin: boolean; stdinOnce: boolean; runtime?: RuntimeChoice }

/** The current run of one container, from launch until its exit has been handled. */
interface Live {
  pid: number;
  code: number | null;
  exited: Promise<number>;
  resolveExited: (code: number) => void;
  callbacks: Array<(code: number) => void>;
  stdin: SeqpacketWriter | null;
  watcher: FSWatcher | null;
  timer: NodeJS.Timeout | null;
  handling: boolean;
}

const FILES = { exit: 'exit', pid: 'pid', conmon: 'conmon.pid', attach: 'attach', ctl: 'ctl', winsz: 'winsz', oom: 'oom', meta: 'meta.json', config: 'config.json', runtimeLog: 'runtime.log' };

export class Runtime {
  private readonly execRoot: string;
  private readonly dataRoot: string;
  readonly runtimes: Runtimes;
  private readonly live = new Map<string, Live>();
  private readonly events = new EventEmitter();
  /** stdin of the next run, for input that arrives before the container starts (`run -i`). */
  private readonly stdinGates = new Map<string, { promise: Promise<SeqpacketWriter | null>; resolve: (h: SeqpacketWriter | null) => void }>();

  constructor(opts: { execRoot: string; dataRoot: string; runtimes?: RuntimesOptions }) {
    this.execRoot = opts.execRoot;
    this.dataRoot = opts.dataRoot;
    this.runtimes = new Runtimes(opts.runtimes);
    this.events.setMaxListeners(0);
  }

  /** Each runtime keeps its containers' state under a root of its own (`<runtime> --root`). */
  private rootOf(name: string): string { return path.join(this.execRoot, name === 'runc' ? 'runc' : `runtime-${name}`); }

  /** `<runtime> --root R <args>` for a container (its runtime as recorded at create). */
  private async rtRun(rt: RuntimeChoice, args: string[], allowFail = true) {
    return run(rt.path, [`--root=${this.rootOf(rt.name)}`, ...args], { allowFail });
  }

  private async runtimeOf(id: string): Promise<RuntimeChoice | null> {
    const meta = await fs.readFile(this.state(id, 'meta'), 'utf8').then((t) => JSON.parse(t) as Meta, () => null);
    return meta ? meta.runtime ?? { name: 'runc', path: 'runc' } : null;
  }

  // ---------------------------------------------------------------- paths

  bundleDir(id: string): string { return path.join(this.execRoot, 'containers', id); }
  containerDir(id: string): string { return path.join(this.dataRoot, 'containers', id); }
  /** conmon's log (k8s-file format): both streams, each record with its time. */
  logPath(id: string): string { return path.join(this.containerDir(id), 'container.log'); }
  private rootfsDir(id: string): string { return path.join(this.bundleDir(id), 'rootfs'); }
  private state(id: string, f: keyof typeof FILES): string { return path.join(this.bundleDir(id), FILES[f]); }

  // ---------------------------------------------------------------- create / start

  /** The container's persistent directory and (empty) log; called when the container is created. */
  async prepare(id: string): Promise<void> {
    await fs.mkdir(this.containerDir(id), { recursive: true });
    await (await fs.open(this.logPath(id), 'a')).close();
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
      // Whole or not at all: a berthd killed mid-write must not leave a torn file that the
      // next berthd's recovery (adopt) or the runtime then fails to parse.
      await writeDurably(path.join(bundle, FILES.config), JSON.stringify(config, null, 1));
      const meta: Meta = { tty: spec.tty, openStdin: spec.openStdin, stdinOnce: spec.stdinOnce ?? true, runtime: this.runtimes.resolve(spec.runtime) };
      await writeDurably(this.state(id, 'meta'), JSON.stringify(meta));
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
   * create() made. Resolves with the container's pid once the runtime has started the process.
   */
  async start(specOrId: ContainerRunSpec | string): Promise<number> {
    const id = typeof specOrId === 'string' ? specOrId : specOrId.id;
    if (this.isRunning(id)) throw conflict(`container ${id} is already running`);
    if (typeof specOrId !== 'string') await this.create(specOrId);
    const meta: Meta = JSON.parse(await fs.readFile(this.state(id, 'meta'), 'utf8'));
    const rt = meta.runtime ?? this.runtimes.resolve();
    const bundle = this.bundleDir(id);
    for (const f of ['exit', 'pid', 'conmon', 'oom', 'runtimeLog'] as const) await fs.rm(this.state(id, f), { force: true });
    // conmon makes the terminal's socket in TMPDIR: a short path of berth's own (a socket's
    // name holds 108 bytes), swept with the exec-root.
    const consoleDir = path.join(this.execRoot, 'console');
    await fs.mkdir(consoleDir, { recursive: true });
    const args = [
      '--api-version', '1', '--cid', id, '--cuuid', id, '--name', (typeof specOrId === 'string' ? id : specOrId.name) || id,
      '--runtime', await executable(rt.path), '--bundle', bundle,
      '--container-pidfile', this.state(id, 'pid'), '--conmon-pidfile', this.state(id, 'conmon'),
      '--log-path', `k8s-file:${this.logPath(id)}`, '--persist-dir', bundle, '--full-attach',
      '--runtime-arg', `--root=${this.rootOf(rt.name)}`, '--runtime-arg', `--log=${this.state(id, 'runtimeLog')}`,
      '--log-level', 'error',
      ...(meta.tty ? ['--terminal'] : []),
      ...(meta.openStdin ? ['--stdin'] : []),
      // stdin ends when the attached client's input ends (Docker's StdinOnce), else never.
      ...(meta.openStdin && !meta.stdinOnce ? ['--leave-stdin-open'] : []),
    ];
    logger.debug(`conmon ${args.join(' ')}`);
    // conmon reports on its sync pipe (fd 3) the container's pid, or the runtime's error.
    const conmon = spawn('conmon', args, {
      cwd: bundle, detached: true, stdio: ['ignore', 'ignore', 'ignore', 'pipe'],
      env: { ...process.env, _OCI_SYNCPIPE: '3', TMPDIR: consoleDir },
    });
    const forked = new Promise<void>((r) => { conmon.once('exit', () => r()); conmon.once('error', () => r()); });
    const report = await readSync(conmon.stdio[3] as Readable);
    await forked;
    conmon.unref();

    const l = this.newLive(null);
    this.live.set(id, l);
    const failed = async (text: string, code: number): Promise<never> => {
      this.live.delete(id);
      await this.discard(id);
      throw startError(text, code);
    };
    if (!report || !(report.data > 0)) {
      const text = `${report?.message ?? ''}\n${await fs.readFile(this.state(id, 'runtimeLog'), 'utf8').catch(() => '')}`;
      return failed(text, 1);
    }
    const started = await this.rtRun(rt, ['start', id]);
    if (started.code !== 0 && !(await this.readExit(id) !== null)) {
      return failed(`${started.stderr}\n${await fs.readFile(this.state(id, 'runtimeLog'), 'utf8').catch(() => '')}`, started.code ?? 1);
    }
    l.pid = report.data;
    if (meta.openStdin) l.stdin = await this.connectStdin(id);
    this.gateOpen(id, l.stdin);
    this.watchExit(id, l);
    this.events.emit(`start:${id}`, l);
    return l.pid;
  }

  /** A writer into the container's stdin through conmon's attach socket (null if conmon is gone). */
  private async connectStdin(id: string): Promise<SeqpacketWriter | null> {
    try {
      return SeqpacketWriter.connect(this.state(id, 'attach'));
    } catch (e) {
      logger.debug(`stdin of ${id}: ${(e as Error).message}`);
      return null;
    }
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
    if (!(await this.monitorAlive(id))) {
      // conmon may have finished between the two looks: its exit file is written before it ends.
      const late = await this.readExit(id);
      if (late !== null) { await this.cleanupRun(id); return { running: false, exitCode: late }; }
      // conmon is gone without a word (killed, or the machine restarted): nothing to adopt.
      await this.cleanupRun(id, true);
      await this.removeCgroups(id);
      return { running: false, exitCode: 255 };
    }
    const meta: Meta = JSON.parse(await fs.readFile(this.state(id, 'meta'), 'utf8'));
    const l = this.newLive(null);
    l.pid = Number(await fs.readFile(this.state(id, 'pid'), 'utf8').catch(() => '0'));
    this.live.set(id, l);
    if (meta.openStdin) l.stdin = await this.connectStdin(id);
    this.gateOpen(id, l.stdin);
    this.watchExit(id, l);
    return { running: true };
  }

  /** Is this container's conmon running? (by its pid file, checked against what that pid runs) */
  private async monitorAlive(id: string): Promise<boolean> {
    const pid = Number(await fs.readFile(this.state(id, 'conmon'), 'utf8').catch(() => '0'));
    return pid > 0 && (await fs.readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).includes(id);
  }

  // ---------------------------------------------------------------- signals

  async kill(id: string, signal: string): Promise<void> {
    const sig = normalizeSignal(signal || 'KILL');
    if (!this.isRunning(id)) throw conflict(`Container ${id} is not running`);
    const rt = (await this.runtimeOf(id)) ?? this.runtimes.resolve();
    const res = await this.rtRun(rt, ['kill', id, sig]);
    if (res.code !== 0 && this.isRunning(id) && !/not running|does not exist|No such process|error opening file/.test(res.stderr)) {
      throw serverError(`Cannot kill container: ${id}: ${runtimeMessage(res.stderr) || res.stderr.trim()}`);
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
    const file = this.logPath(id);
    let src: Readable;
    if (opts.stream === false) {
      src = fromStart ? followFile(file, 0) : Readable.from([]);
    } else {
      const l = this.live.get(id);
      const until = l && l.code === null ? l.exited
        : new Promise<Live>((r) => this.events.once(`start:${id}`, r)).then((n) => n.exited);
      src = followFile(file, fromStart ? 0 : sizeNow(file), until);
    }
    const input = opts.stdin ? this.stdinWriter(id) : null;
    return { output: outputOf(src, false), input };
  }

  /**
   * The log: the last `tail` lines of each stream (all by default), then with follow what
   * comes until the running process ends. With timestamps, each line starts with its time.
   */
  logs(id: string, opts: { follow: boolean; tail: number | 'all'; timestamps?: boolean }): Readable {
    const l = this.live.get(id);
    const until = opts.follow && l && l.code === null ? l.exited : undefined;
    const out = new PassThrough({ objectMode: true });
    const file = this.logPath(id);
    fs.readFile(file).catch(() => Buffer.alloc(0)).then((buf) => {
      const all = parseAll(buf);
      const end = all.length ? all[all.length - 1].end : 0;
      const recs = all.map((x) => x.rec);
      const shown = opts.tail === 'all' || opts.tail < 0 ? recs : tailRecords(recs, opts.tail);
      const stamp = stamper(!!opts.timestamps);
      for (const r of shown) out.write(stamp(r));
      if (!until) { out.end(); return; }
      const more = outputOf(followFile(file, end, until), !!opts.timestamps, stamp);
      more.pipe(out);
      out.on('close', () => more.destroy()); // the reader went away: stop following
    }, (e) => out.destroy(e));
    return out;
  }

  /** The pids of a running container's processes (`<runtime> ps`). */
  async pids(id: string): Promise<number[]> {
    const rt = (await this.runtimeOf(id)) ?? this.runtimes.resolve();
    const r = await this.rtRun(rt, ['ps', '--format', 'json', id], false);
    return JSON.parse(r.stdout || '[]') as number[];
  }

  async resize(id: string, h: number, w: number): Promise<void> {
    if (!this.isRunning(id)) throw conflict(`Container ${id} is not running`);
    const meta: Meta | null = await fs.readFile(this.state(id, 'meta'), 'utf8').then(JSON.parse, () => null);
    if (!meta?.tty) return; // not a tty container: nothing to size
    await writeCtl(this.state(id, 'ctl'), `1 ${h} ${w}\n`);
  }

  /**
   * `<runtime> exec` of a process in the running container, described whole in a process.json
   * made from the container's own (capabilities, seccomp's no-new-privileges, rlimits) with the
   * exec's command, environment, user and directory. Output is `{ stream, data }` chunks
   * (stdout and stderr apart; with a TTY everything is the terminal's stdout).
   */
  exec(id: string, opts: ExecOptions): ExecProcess {
    if (!this.isRunning(id)) throw conflict(`Container ${id} is not running`);
    const output = new PassThrough({ objectMode: true });
    const base = path.join(this.bundleDir(id), `exec-${Math.random().toString(16).slice(2)}`);
    const ptyFile = `${base}.pty`;
    const pidFile = `${base}.pid`;
    const processFile = `${base}.json`;
    let resolvePid!: (p: number) => void;
    const pid = new Promise<number>((r) => { resolvePid = r; });
    let child: ReturnType<typeof spawn> | null = null;
    let finished = false;
    const failWith = (msg: string, code: number) => { output.end(`${msg}\n`); resolvePid(0); return code; };
    const pendingInput = new PassThrough();

    const exitCode = (async (): Promise<number> => {
      const config = JSON.parse(await fs.readFile(this.state(id, 'config'), 'utf8'));
      const proc = { ...config.process };
      if (opts.user) {
        const rootfs = this.rootfsDir(id);
        const read = (f: string) => fs.readFile(path.join(rootfs, f), 'utf8').catch(() => null);
        try {
          proc.user = resolveUser(opts.user, await read('etc/passwd'), await read('etc/group'));
        } catch (e) {
          return failWith((e as Error).message, 126);
        }
      }
      const env = opts.tty && !opts.env.some((e) => e.startsWith('TERM=')) ? [...opts.env, 'TERM=xterm'] : opts.env;
      proc.args = opts.cmd;
      proc.env = replaceOrAppend(proc.env ?? [], env);
      proc.cwd = opts.cwd || proc.cwd || '/';
      proc.terminal = opts.tty;
      delete proc.consoleSize;
      await fs.writeFile(processFile, JSON.stringify(proc));
      const rt = (await this.runtimeOf(id)) ?? this.runtimes.resolve();
      const argv = [rt.path, `--root=${this.rootOf(rt.name)}`, 'exec', '--pid-file', pidFile, '--process', processFile, id];
      logger.debug(`exec: ${argv.join(' ')}`);
      // With a TTY the runtime makes the terminal and copies it to its own stdio, which `script`
      // makes a pty of ours, so that resize() can size it (SIGWINCH reaches the runtime).
      child = opts.tty
        ? spawn('script', ['-qfec', `tty > ${shq(ptyFile)}; exec ${argv.map(shq).join(' ')}`, '/dev/null'], { stdio: 'pipe' })
        : spawn(argv[0], argv.slice(1), { stdio: 'pipe' });
      const c = child;
      c.stdin!.on('error', () => undefined);
      // Without -i a process gets no input: EOF at once; a tty keeps its (silent) terminal open.
      if (!opts.stdin && !opts.tty) c.stdin!.end();
      if (opts.stdin) pendingInput.pipe(c.stdin!);
      // Output ends after 'close' (both pipes drained), so the runtime's own error can come last.
      c.stdout!.on('data', (data: Buffer) => {
        const msg = opts.tty ? runtimeMessage(data.toString()) : '';
        if (msg) errText += msg; else output.write({ stream: 'stdout', data });
      });
      let errText = '';
      c.stderr!.on('data', (data: Buffer) => {
        const msg = runtimeMessage(data.toString());
        if (msg) errText += msg; else output.write({ stream: opts.tty ? 'stdout' : 'stderr', data });
      });
      waitFile(pidFile, () => child === null).then((t) => resolvePid(Number(t) || 0), () => resolvePid(0));
      const code = await new Promise<number>((resolve) => {
        c.on('error', (e) => { errText ||= e.message; resolve(255); });
        c.on('close', (codeN, sig) => resolve(codeN ?? 128 + (os.constants.signals[sig as NodeJS.Signals] ?? 0)));
      });
      child = null;
      pendingInput.unpipe();
      pendingInput.resume();
      c.stdin!.end();
      for (const f of [pidFile, ptyFile, processFile]) await fs.rm(f, { force: true });
      if (errText) {
        // The runtime could not start the process: Docker's message and exit status 126.
        const rest = errText.replace(/^exec failed: /, '');
        output.end(`OCI runtime exec failed: exec failed: ${rest}: unknown\n`);
        resolvePid(0);
        return 126;
      }
      output.end();
      resolvePid(0);
      return code;
    })().finally(() => { finished = true; });
    // (input may come before the runtime is spawned: it waits here, then flows into its stdin)
    const input = opts.stdin ? pendingInput : null;
    const resize = async (h: number, w: number) => {
      if (!opts.tty) return;
      // The client sizes the terminal right after starting: wait for it to exist (the runtime
      // may not even be spawned yet).
      let pty = '';
      for (let i = 0; i < 40 && !pty && !finished; i++) {
        pty = (await fs.readFile(ptyFile, 'utf8').catch(() => '')).trim();
        if (!pty) await new Promise((r) => setTimeout(r, 50));
      }
      if (pty) await setPtySize(pty, h, w).catch(() => undefined);
    };
    return { output, input, exitCode, pid, resize };
  }

  // ---------------------------------------------------------------- removal

  /** Kill if running, unmount, delete the runtime's state, bundle and data. Idempotent. */
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
    await this.deleteFromRuntimes(id);
    await this.unmountRootfs(id);
    await fs.rm(this.bundleDir(id), { recursive: true, force: true });
    await fs.rm(this.containerDir(id), { recursive: true, force: true });
    await this.removeCgroups(id);
  }

  /**
   * Make sure nothing of a run is left: its conmon (and a runtime it may still be running), the
   * runtime's container in whatever state, the rootfs mount, the run's files. For a start that
   * was not recorded (its record could not be written, or berthd died before it could). Idempotent.
   */
  async discard(id: string, monitors?: Map<string, number[]>): Promise<void> {
    this.stopWatching(id);
    const l = this.live.get(id);
    this.live.delete(id);
    l?.stdin?.close();
    // Found by what they run, not by conmon.pid: a daemon killed right after it spawned conmon
    // never saw that file written. (`monitors`: one look at /proc for many discards, by the
    // start-up sweep)
    const mine = monitors ? monitors.get(id) ?? [] : await this.monitorsOf(id);
    for (const pid of mine) {
      // conmon leads its own session (setsid): its group takes a runtime it is running along.
      try { process.kill(-pid, 'SIGKILL'); } catch { /* already gone */ }
      try { process.kill(pid, 'SIGKILL'); } catch { /* already gone */ }
    }
    for (let i = 0; i < 100 && mine.length && (await this.monitorsOf(id)).length; i++) await sleep(10);
    await this.deleteFromRuntimes(id);
    await this.cleanupRun(id);
    await fs.rm(this.bundleDir(id), { recursive: true, force: true });
    await this.removeCgroups(id);
  }

  /** `delete --force` in every runtime's state (which one made it may not be recorded yet). */
  private async deleteFromRuntimes(id: string): Promise<void> {
    const mine = await this.runtimeOf(id);
    const all = mine ? [mine] : this.runtimes.all();
    for (const rt of all) {
      if (!existsSync(path.join(this.rootOf(rt.name), id))) continue;
      await this.rtRun(rt, ['delete', '--force', id]);
    }
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

  private async monitorsOf(id: string): Promise<number[]> {
    return (await this.shims()).get(id) ?? [];
  }

  /**
   * Every process working on a bundle under this exec-root, by container id (one look at
   * /proc): conmon, and a runtime's `create --bundle` it may be running, named by `--bundle`.
   */
  async shims(): Promise<Map<string, number[]>> {
    const prefix = path.join(this.execRoot, 'containers') + '/';
    const out = new Map<string, number[]>();
    for (const d of await fs.readdir('/proc').catch(() => [] as string[])) {
      if (!/^\d+$/.test(d) || Number(d) === process.pid) continue;
      const argv = (await fs.readFile(`/proc/${d}/cmdline`, 'utf8').catch(() => '')).split('\0');
      const at = argv.indexOf('--bundle');
      const bundle = at >= 0 ? argv[at + 1] ?? '' : '';
      if (!bundle.startsWith(prefix)) continue;
      const id = bundle.slice(prefix.length);
      out.set(id, [...(out.get(id) ?? []), Number(d)]);
    }
    return out;
  }

  /** Ids any runtime knows (any state), and ids with a bundle directory: for the start-up sweep. */
  async known(): Promise<string[]> {
    const ids = new Set<string>();
    for (const name of this.runtimes.names()) {
      for (const d of await fs.readdir(this.rootOf(name)).catch(() => [] as string[])) ids.add(d);
    }
    for (const d of await fs.readdir(path.join(this.execRoot, 'containers')).catch(() => [] as string[])) ids.add(d);
    return [...ids];
  }

  /** Ids with a persistent directory (created containers): for the start-up sweep. */
  async stored(): Promise<string[]> {
    return fs.readdir(path.join(this.dataRoot, 'containers')).catch(() => [] as string[]);
  }

  /**
   * Stop watching (the daemon is shutting down); containers keep running. Their stdin
   * connections close: a stdin-once container's stdin ends, as when its attached client goes.
   */
  async close(): Promise<void> {
    for (const [id, l] of this.live) {
      this.stopWatching(id);
      l.stdin?.close();
    }
    this.live.clear();
    await this.sweepCgroups();
  }

  /** Remove berth's parent cgroup directories if empty (rmdir refuses while a container uses them). */
  async sweepCgroups(): Promise<void> {
    for (const d of await berthCgroupDirs()) await fs.rmdir(d).catch(() => undefined);
  }

  // ---------------------------------------------------------------- internals

  private newLive(stdin: SeqpacketWriter | null): Live {
    let resolveExited!: (c: number) => void;
    const exited = new Promise<number>((r) => { resolveExited = r; });
    return { pid: 0, code: null, exited, resolveExited, callbacks: [], stdin, watcher: null, timer: null, handling: false };
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
    l.stdin?.close();
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

  /**
   * What a finished run leaves: the runtime's record of the stopped container, the rootfs
   * mount, conmon's pid files, socket and FIFOs (the exit file stays).
   */
  private async cleanupRun(id: string, kill = false): Promise<void> {
    const rt = await this.runtimeOf(id);
    // (stopped by now, unless conmon vanished and left it running: `kill`)
    if (rt && existsSync(path.join(this.rootOf(rt.name), id))) await this.rtRun(rt, ['delete', ...(kill ? ['--force'] : []), id]);
    await this.unmountRootfs(id);
    for (const f of ['pid', 'conmon', 'attach', 'ctl', 'winsz', 'oom', 'runtimeLog'] as const) await fs.rm(this.state(id, f), { force: true });
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
  private gateOpen(id: string, h: SeqpacketWriter | null): void {
    const g = this.stdinGates.get(id);
    if (g) { this.stdinGates.delete(id); g.resolve(h); }
  }

  private stdinHandle(id: string): Promise<SeqpacketWriter | null> {
    const l = this.live.get(id);
    if (l && l.code === null) return Promise.resolve(l.stdin);
    let g = this.stdinGates.get(id);
    if (!g) {
      let resolve!: (h: SeqpacketWriter | null) => void;
      const promise = new Promise<SeqpacketWriter | null>((r) => { resolve = r; });
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
          if (h && !h.closed) await h.write(chunk).catch(() => undefined);
          cb();
        }, () => cb());
      },
      final: (cb) => {
        this.stdinHandle(id).then(async (h) => {
          const meta: Meta | null = await fs.readFile(this.state(id, 'meta'), 'utf8').then(JSON.parse, () => null);
          const l = this.live.get(id);
          // conmon closes a stdin-once container's stdin when this connection ends.
          if (h && meta?.stdinOnce && l && l.stdin === h) { l.stdin = null; await h.end().catch(() => undefined); h.close(); }
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

/** conmon's one report on its sync pipe: `{"data": pid}`, or `{"data": -1, "message": …}` (null: it said nothing). */
function readSync(pipe: Readable): Promise<{ data: number; message?: string } | null> {
  return new Promise((resolve) => {
    let acc = '';
    const done = (v: { data: number; message?: string } | null) => { pipe.removeAllListeners('data'); pipe.destroy(); resolve(v); };
    pipe.on('data', (b: Buffer) => {
      acc += b.toString();
      const nl = acc.indexOf('\n');
      if (nl < 0) return;
      try { done(JSON.parse(acc.slice(0, nl))); } catch { done({ data: -1, message: acc.slice(0, nl) }); }
    });
    pipe.on('end', () => done(null));
    pipe.on('error', () => done(null));
  });
}

/** conmon wants the runtime as a path: a bare name is looked up in PATH, as the shell would. */
async function executable(cmd: string): Promise<string> {
  const found = findExecutable(cmd);
  if (!found) throw serverError(`OCI runtime ${cmd} not found: is it installed?`);
  return found;
}

/** Log records (a followed log file's bytes) as the API's `{ stream, data }` output chunks. */
function outputOf(src: Readable, timestamps: boolean, stamp = stamper(timestamps)): Readable {
  const d = decoder();
  const out = new Transform({
    objectMode: true,
    transform(rec: LogRecord, _enc, cb) { cb(null, stamp(rec)); },
  });
  src.on('error', (e) => out.destroy(e));
  d.on('error', (e) => out.destroy(e));
  src.pipe(d).pipe(out);
  out.on('close', () => src.destroy());
  return out;
}

/** A record as an output chunk; with timestamps, each line starts with its time, as Docker's `logs -t`. */
function stamper(timestamps: boolean): (r: LogRecord) => { stream: string; data: Buffer } {
  const atLineStart: Record<string, boolean> = { stdout: true, stderr: true };
  return (r) => {
    if (!timestamps) return { stream: r.stream, data: r.data };
    const data = atLineStart[r.stream] ? Buffer.concat([Buffer.from(`${r.time} `), r.data]) : r.data;
    atLineStart[r.stream] = !r.partial;
    return { stream: r.stream, data };
  };
}

/** A line to conmon's control FIFO; never blocks (ENXIO when conmon has gone: nothing to do). */
async function writeCtl(fifo: string, line: string): Promise<void> {
  const fh = await fs.open(fifo, fsc.O_WRONLY | fsc.O_NONBLOCK).catch(() => null);
  if (!fh) return;
  try { await fh.write(line); } catch { /* conmon went away */ } finally { await fh.close().catch(() => undefined); }
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

/**
 * The error in a runtime's output: runc's logrus lines (`level=error msg="…"`), or crun's
 * `crun: …` lines, worded as runc words them where Docker users know runc's words.
 */
export function runtimeMessage(stderr: string): string {
  const msgs: string[] = [];
  for (const m of stderr.matchAll(/level=(?:error|fatal) msg="((?:[^"\\]|\\.)*)"/g)) {
    msgs.push(m[1].replace(/\\(.)/g, '$1'));
  }
  for (const m of stderr.matchAll(/^crun: (.*)$/gm)) msgs.push(crunAsRunc(m[1]));
  // (crun's child reports a missing executable without its name in front)
  for (const m of stderr.matchAll(/^(executable file `.*` not found in \$PATH: No such file or directory)$/gm)) msgs.push(crunAsRunc(m[1]));
  for (const m of stderr.matchAll(/"level":"error","msg":"((?:[^"\\]|\\.)*)"/g)) msgs.push(crunAsRunc(m[1].replace(/\\(.)/g, '$1')));
  return [...new Set(msgs)].join('; ');
}

/** crun's wording of a failed exec, in runc's (which Docker's messages carry). */
function crunAsRunc(msg: string): string {
  const notFound = /^executable file `(.*)` not found in \$PATH: No such file or directory/.exec(msg);
  if (notFound) return `unable to start container process: exec: "${notFound[1]}": executable file not found in $PATH`;
  const m = /^(?:exec|open) `?([^`]*)`?: (Permission denied|No such file or directory|Not a directory)$/.exec(msg);
  if (m) return `unable to start container process: exec: "${m[1]}": ${m[2].toLowerCase()}`;
  return msg;
}

/** A write that failed for want of space (or a broken disk), worded for the user; other errors as they are. */
function diskError(what: string, e: unknown): unknown {
  const code = (e as NodeJS.ErrnoException)?.code;
  const why: Record<string, string> = { ENOSPC: 'no space left on device', EDQUOT: 'disk quota exceeded', EIO: 'input/output error', EROFS: 'read-only file system' };
  return code && why[code] ? new ApiError(500, `${what}: ${code}: ${why[code]}`) : e;
}

/** A failed create or start, worded as Docker words a failed start. */
function startError(text: string, code: number): ApiError {
  const msg = runtimeMessage(text) || text.trim().split('\n').filter(Boolean).pop() || `the OCI runtime exited with status ${code}`;
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
