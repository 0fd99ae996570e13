// An isolated "host" for end-to-end tests: berthd, its bridges, nft rules, containers and
// mounts all live in namespaces made for one test file, so nothing touches the machine and
// nothing can outlive the test.
//
// Layout:
//   holder   `unshare --net --mount --uts --ipc --pid --fork --kill-child --mount-proc`: pid 1 of
//            a new PID namespace. Its setup script brings up lo, mounts a tmpfs on the temporary
//            directory (data-root, exec-root, socket), shadows /run/netns and /etc/resolv.conf,
//            makes the "outside" namespace and a veth to it (host 10.99.0.1/24 and fd99::1/64 ⇄
//            outside 10.99.0.2/24 and fd99::2/64), then waits on its stdin. Every later process (berthd, the CLI, runc,
//            containers) enters that PID namespace, so killing pid 1 ends all of them, and the
//            namespaces and mounts go with them. If the test process dies, the stdin pipe closes
//            and the holder exits just the same.
//   outside  a network namespace bound on a file in the tmpfs: a second machine on the veth.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, promises as fs, readdirSync, readFileSync, readlinkSync, rmdirSync } from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { buildBusyboxTar } from './busybox';

export interface Result { code: number; stdout: string; stderr: string }
interface RunOpts {
  input?: string | Buffer;
  allowFail?: boolean;
  env?: Record<string, string>;
  /** Kill the command after this long (a hang guard, never an assertion); default 120 s. */
  timeoutMs?: number;
}

export const HOST_ADDR = '10.99.0.1';
export const OUTSIDE_ADDR = '10.99.0.2';
/** The same link's IPv6 addresses (a unique local prefix): the outside reaches the host over both families. */
export const HOST_ADDR6 = 'fd99::1';
const OUTSIDE_ADDR6 = 'fd99::2';
/** The sandbox host's /etc/resolv.conf: a loopback resolver (dropped for containers) and two real ones. */
export const HOST_RESOLV_CONF = 'nameserver 127.0.0.53\nnameserver 10.99.0.2\nnameserver 192.0.2.53\nsearch corp.example\noptions ndots:2\n';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const BERTH = path.join(ROOT, 'bin', 'berth');
const BERTHD = path.join(ROOT, 'bin', 'berthd');
const BUSYBOX_CHANGE = 'ENV PATH=/bin:/usr/bin:/sbin';
/** All namespaces of the holder but the network one (outside() picks its own). */
const NS_FLAGS = ['--mount', '--uts', '--ipc', '--pid'];

function which(cmd: string): boolean {
  return (process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin').split(':').some((d) => existsSync(path.join(d, cmd)));
}

/** Single-quote for sh. */
export function shq(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** Run a program to completion; never rejects on a non-zero exit (the caller decides). */
function exec(file: string, args: string[], opts: RunOpts = {}): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, ...opts.env } });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout!.on('data', (b) => out.push(b));
    child.stderr!.on('data', (b) => err.push(b));
    child.stdin!.on('error', () => undefined); // the program may exit without reading its input
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 120_000);
    child.on('error', (e) => { clearTimeout(timer); reject(e); });
    let done = false;
    const finish = (code: number | null, signal: NodeJS.Signals | null) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve({
        code: code ?? (signal === 'SIGKILL' ? 137 : 128),
        stdout: Buffer.concat(out).toString(),
        stderr: Buffer.concat(err).toString() + (signal ? `\n[killed by ${signal}${signal === 'SIGKILL' ? ' (timeout?)' : ''}]` : ''),
      });
    };
    child.on('close', finish);
    // A background process the command left behind may hold its pipes open: once the
    // command itself has exited, give its output a moment to drain, then stop waiting.
    child.on('exit', (code, signal) => setTimeout(() => {
      child.stdout!.destroy();
      child.stderr!.destroy();
      finish(code, signal);
    }, 2000).unref());
    if (opts.input !== undefined) child.stdin!.end(opts.input);
    else child.stdin!.end();
  });
}

function check(what: string, r: Result, allowFail?: boolean): Result {
  if (!allowFail && r.code !== 0) {
    throw new Error(`${what} exited ${r.code}\n--- stdout\n${r.stdout}--- stderr\n${r.stderr}`);
  }
  return r;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The first child of a process, as the kernel lists it (pids in the machine's PID namespace). */
function firstChild(pid: number): number | null {
  try {
    const c = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
    return c.length ? Number(c[0]) : null;
  } catch {
    return null;
  }
}

function nsInode(pid: number, ns: string): string | null {
  try { return readlinkSync(`/proc/${pid}/ns/${ns}`); } catch { return null; }
}

/** Machine pids whose PID namespace is `inode`. */
function pidsInPidNs(inode: string): number[] {
  const pids: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    if (nsInode(Number(d), 'pid') === inode) pids.push(Number(d));
  }
  return pids;
}

/** "PID (command, state)" for a message about a process that should be gone. */
function describePid(pid: number): string {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const m = /\((.*)\) (\S)/.exec(stat);
    return m ? `${pid} (${m[1]}, state ${m[2]})` : String(pid);
  } catch { return `${pid} (gone)`; }
}

/** An nft ruleset without its counters, as sorted lines: equal when the same rules exist. */
export function normalizeRuleset(text: string): string {
  // nft lists set elements in an order that depends on insertion history: compare them as sets.
  const sorted = text.replace(/elements = \{([^}]*)\}/g, (_m, body: string) =>
    `elements = {\n${body.split(',').map((e) => e.trim()).filter(Boolean).sort().join('\n')}\n}`);
  return sorted.split('\n').map((l) => l.replace(/counter packets \d+ bytes \d+/g, 'counter').trim()).filter(Boolean).sort().join('\n');
}

/** Call fn until ok(value) holds (at most `tries` times, 100 ms apart); returns the last value. */
export async function poll<T>(fn: () => Promise<T>, ok: (v: T) => boolean, tries = 100): Promise<T> {
  let v = await fn();
  for (let i = 1; i < tries && !ok(v); i++) {
    await sleep(100);
    v = await fn();
  }
  return v;
}

export class Sandbox {
  /** Temporary directory on the machine; a tmpfs is mounted on it inside the sandbox only. */
  readonly top: string;
  readonly dataRoot: string;
  readonly execRoot: string;
  readonly socket: string;
  readonly daemonArgs: string[];
  private holder: ChildProcess | null = null;
  /** pid 1 of the sandbox's PID namespace, as the machine sees it. */
  private holderPid = 0;
  private pidNs = '';
  /** Holds the PID namespace's inode number: once freed the kernel hands it to the next new
   *  namespace (another test's sandbox), whose processes would then look like ours. */
  private pidNsFd: number | null = null;
  private daemon: ChildProcess | null = null;
  private daemonExit: Promise<number | null> | null = null;
  private log: string[] = [];
  private busyboxDone: Promise<void> | null = null;
  private cleaned = false;
  private whoami = '';
  private forgetExitHook: () => void = () => undefined;

  /** Why e2e tests cannot run here, or false when they can. */
  static skipReason(): string | false {
    if (process.getuid?.() !== 0) return 'needs root (namespaces, runc, nftables)';
    for (const cmd of ['runc', 'conmon', 'nft', 'ip', 'unshare', 'nsenter']) {
      if (!which(cmd)) return `needs ${cmd} (apt-get install runc conmon crun nftables iproute2 util-linux)`;
    }
    if (!existsSync('/bin/busybox')) return 'needs /bin/busybox (apt-get install busybox-static)';
    return false;
  }

  private readonly daemonBin: string;
  /** The temporary directory of the latest start(), even one that failed (for the harness's own test). */
  static lastTop = '';
  /** Extra environment of berthd from its next start on (a crash test puts wrappers first in its PATH). */
  daemonEnv: Record<string, string> = {};
  /** A tmpfs of this size (e.g. "32m") as the data root, for full-disk tests; '' = none of its own. */
  private dataRootSize = '';

  private constructor(top: string, daemonArgs: string[], daemonBin: string) {
    this.daemonBin = daemonBin;
    this.top = top;
    this.dataRoot = path.join(top, 'data');
    this.execRoot = path.join(top, 'exec');
    this.socket = path.join(top, 'berth.sock');
    this.daemonArgs = daemonArgs;
  }

  /**
   * daemonArgs: extra berthd flags; daemon: false to start without berthd (startDaemon() later);
   * daemonBin: another program in berthd's place (the harness's own test uses a stand-in).
   */
  static async start(opts: { daemonArgs?: string[]; daemon?: boolean; daemonBin?: string; dataRootSize?: string } = {}): Promise<Sandbox> {
    const top = await fs.mkdtemp(path.join(os.tmpdir(), 'berth-sbx-'));
    Sandbox.lastTop = top;
    const sb = new Sandbox(top, opts.daemonArgs ?? [], opts.daemonBin ?? BERTHD);
    sb.dataRootSize = opts.dataRootSize ?? '';
    try {
      await sb.makeHolder();
      if (opts.daemon !== false) await sb.startDaemon();
    } catch (e) {
      await sb.cleanup().catch(() => undefined);
      throw e;
    }
    return sb;
  }

  private async makeHolder(): Promise<void> {
    const top = this.top;
    const outside = path.join(top, 'outside.netns');
    // `set -e`: any failed step ends the holder, and start() reports its stderr.
    const script = [
      'set -e',
      'ip link set lo up',
      `mount -t tmpfs -o mode=0755 berth-sandbox ${shq(top)}`,
      `mkdir -p ${shq(this.dataRoot)} ${shq(this.execRoot)} ${shq(top + '/etc')}`,
      this.dataRootSize ? `mount -t tmpfs -o size=${this.dataRootSize},mode=0755 berth-sandbox-data ${shq(this.dataRoot)}` : ':',
      // Files are not namespaced: keep `ip netns add` of anything in here off the machine's /run.
      'if [ -d /run/netns ]; then mount -t tmpfs -o mode=0755 berth-sandbox-netns /run/netns; fi',
      `printf %s ${shq(HOST_RESOLV_CONF)} > ${shq(top + '/etc/resolv.conf')}`,
      `mount --bind ${shq(top + '/etc/resolv.conf')} /etc/resolv.conf`,
      'hostname berth-host',
      `touch ${shq(outside)}`,
      `unshare --net=${shq(outside)} true`,
      `nsenter --net=${shq(outside)} ip link set lo up`,
      // Made from the outside namespace: `netns 1` is this shell, pid 1, on the sandbox host.
      `nsenter --net=${shq(outside)} ip link add eth0 type veth peer name eth0 netns 1`,
      `ip addr add ${HOST_ADDR}/24 dev eth0`,
      'ip link set eth0 up',
      `ip route add default via ${OUTSIDE_ADDR}`,
      // IPv6 on the same link; nodad: usable at once, no duplicate address detection to wait for.
      `ip -6 addr add ${HOST_ADDR6}/64 dev eth0 nodad`,
      `nsenter --net=${shq(outside)} ip addr add ${OUTSIDE_ADDR}/24 dev eth0`,
      `nsenter --net=${shq(outside)} ip -6 addr add ${OUTSIDE_ADDR6}/64 dev eth0 nodad`,
      // No route from the outside to the containers' subnets: like a real other machine, it
      // reaches containers only through published ports on the host's address.
      `nsenter --net=${shq(outside)} ip link set eth0 up`,
      `ip -6 route add default via ${OUTSIDE_ADDR6} dev eth0`,
      'echo ready',
      // Hold the namespaces until the test process closes our stdin (or dies).
      'exec cat >/dev/null',
    ].join('\n');
    const holder = spawn('unshare', ['--net', '--mount', '--uts', '--ipc', '--pid', '--fork', '--kill-child',
      '--mount-proc', '--propagation', 'private', '--', 'sh', '-c', script], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.holder = holder;
    // Should the test process end without cleanup(), leave no empty directory behind either.
    const onExit = () => {
      if (this.holderPid) { try { process.kill(this.holderPid, 'SIGKILL'); } catch { /* gone */ } }
      try { rmdirSync(this.top); } catch { /* removed already, or busy */ }
    };
    process.once('exit', onExit);
    this.forgetExitHook = () => process.off('exit', onExit);
    let err = '';
    holder.stderr!.on('data', (b) => { err += b; });
    holder.stdin!.on('error', () => undefined);
    await new Promise<void>((resolve, reject) => {
      let out = '';
      const onData = (b: Buffer) => {
        out += b;
        if (out.includes('ready\n')) { holder.stdout!.off('data', onData); resolve(); }
      };
      holder.stdout!.on('data', onData);
      holder.on('exit', (code) => reject(new Error(`sandbox setup failed (exit ${code}): ${err}`)));
      holder.on('error', reject);
    });
    const pid = firstChild(holder.pid!);
    if (!pid) throw new Error('sandbox holder has no child');
    this.holderPid = pid;
    this.pidNs = nsInode(pid, 'pid') ?? '';
    try { this.pidNsFd = openSync(`/proc/${pid}/ns/pid`, 'r'); } catch { /* the check below may then see a reused number */ }
  }

  /** A path inside the sandbox's mount namespace, readable from the test process. */
  hostPath(p: string): string {
    return `/proc/${this.holderPid}/root${p}`;
  }

  /** argv prefix that enters the sandbox host (all its namespaces). */
  private enter(): string[] {
    return ['nsenter', '-t', String(this.holderPid), '--net', ...NS_FLAGS, '--'];
  }

  // ------------------------------------------------------------------ daemon

  async startDaemon(extraArgs: string[] = []): Promise<void> {
    this.spawnDaemon(extraArgs);
    await this.daemonListening();
  }

  /**
   * Start berthd without waiting for it to listen (a crash test kills it during its start-up
   * recovery); daemonListening() waits for it.
   */
  spawnDaemon(extraArgs: string[] = []): void {
    if (this.daemon) throw new Error('berthd is already running');
    const debug = process.env.BERTH_E2E_DEBUG === '1';
    const args = ['--data-root', this.dataRoot, '--exec-root', this.execRoot, '-H', `unix://${this.socket}`,
      ...(debug ? ['--debug'] : []), ...this.daemonArgs, ...extraArgs];
    const child = spawn(this.enter()[0], [...this.enter().slice(1), process.execPath, this.daemonBin, ...args],
      { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...this.daemonEnv } });
    this.daemon = child;
    const keep = (b: Buffer) => {
      const s = b.toString();
      this.log.push(s);
      if (this.log.length > 5000) this.log.splice(0, 1000);
      if (debug) process.stderr.write(s);
    };
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    this.daemonExit = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
  }

  /** Start berthd if it is not running: a test that failed between a kill and a start leaves it down. */
  async ensureDaemon(): Promise<void> {
    if (!this.daemon) await this.startDaemon();
  }

  /** Wait until the berthd spawnDaemon() started answers on its socket. */
  async daemonListening(): Promise<void> {
    if (!this.daemon || !this.daemonExit) throw new Error('berthd is not started');
    let exited: number | null | undefined;
    void this.daemonExit.then((c) => { exited = c; });
    for (let i = 0; ; i++) {
      if (exited !== undefined) {
        this.daemon = null;
        throw new Error(`berthd exited (${exited}) before it listened:\n${this.daemonLog()}`);
      }
      if (await this.ping()) return;
      if (i > 600) throw new Error(`berthd did not answer on ${this.socket} within 60 s:\n${this.daemonLog()}`);
      await sleep(100);
    }
  }

  private ping(): Promise<boolean> {
    const socketPath = this.hostPath(this.socket);
    if (!existsSync(socketPath)) return Promise.resolve(false);
    return new Promise((resolve) => {
      const req = http.get({ socketPath, path: '/_ping', timeout: 2000 }, (res) => {
        res.resume();
        resolve(res.statusCode === 200);
      });
      req.on('error', () => resolve(false));
      req.on('timeout', () => { req.destroy(); resolve(false); });
    });
  }

  daemonLog(): string {
    return this.log.join('');
  }

  /** Stop berthd with SIGTERM (containers keep running); SIGKILL after 20 s. */
  async stopDaemon(): Promise<void> {
    const d = this.daemon;
    if (!d) return;
    // nsenter forks into the PID namespace: berthd is its child.
    const pid = firstChild(d.pid!);
    if (pid) { try { process.kill(pid, 'SIGTERM'); } catch { /* already gone */ } }
    else d.kill('SIGTERM');
    const t = setTimeout(() => { if (pid) { try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } } d.kill('SIGKILL'); }, 20_000);
    await this.daemonExit;
    clearTimeout(t);
    this.daemon = null;
  }

  /** SIGKILL berthd: a crash. */
  async killDaemon(): Promise<void> {
    const d = this.daemon;
    if (!d) return;
    // Just after spawnDaemon(), nsenter may not have forked berthd yet: killing nsenter alone
    // would leave berthd running.
    let pid = firstChild(d.pid!);
    for (let i = 0; i < 200 && !pid && d.exitCode === null && d.signalCode === null; i++) {
      await sleep(10);
      pid = firstChild(d.pid!);
    }
    if (pid) { try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } }
    d.kill('SIGKILL');
    await this.daemonExit;
    this.daemon = null;
  }

  async restartDaemon(extraArgs: string[] = []): Promise<void> {
    await this.stopDaemon();
    await this.startDaemon(extraArgs);
  }

  get daemonRunning(): boolean {
    return this.daemon !== null;
  }

  // ------------------------------------------------------------------ commands

  /** The real CLI, inside the sandbox. Throws on a non-zero exit unless allowFail. */
  async berth(args: string[], opts: RunOpts = {}): Promise<Result> {
    const argv = [...this.enter().slice(1), process.execPath, BERTH, '-H', `unix://${this.socket}`, ...args];
    const r = await exec('nsenter', argv, opts);
    if (!opts.allowFail && r.code !== 0) {
      // The daemon's last words usually say why.
      const tail = this.daemonLog().split('\n').slice(-25).join('\n');
      throw new Error(`berth ${args.join(' ')} exited ${r.code}\n--- stdout\n${r.stdout}--- stderr\n${r.stderr}--- berthd log (tail)\n${tail}`);
    }
    return r;
  }

  /** The CLI with BERTH_HOST instead of -H. */
  async berthEnv(args: string[], opts: RunOpts = {}): Promise<Result> {
    const argv = [...this.enter().slice(1), process.execPath, BERTH, ...args];
    const r = await exec('nsenter', argv, { ...opts, env: { ...opts.env, BERTH_HOST: `unix://${this.socket}` } });
    return check(`BERTH_HOST=… berth ${args.join(' ')}`, r, opts.allowFail);
  }

  /** A shell command on the sandbox host. */
  async sh(cmd: string, opts: RunOpts = {}): Promise<Result> {
    const r = await exec('nsenter', [...this.enter().slice(1), 'sh', '-c', cmd], opts);
    return check(`sh -c ${shq(cmd)}`, r, opts.allowFail);
  }

  /**
   * SIGKILL the processes whose command line matches `pattern` (pkill -f), waiting until one
   * does: a container's process replaces the runtime's init a moment after `run -d` returns.
   */
  async pkill(pattern: string): Promise<void> {
    const r = await poll(() => this.sh(`pkill -KILL -f ${shq(pattern)}`, { allowFail: true }), (x) => x.code === 0, 100);
    check(`pkill -KILL -f ${shq(pattern)}`, r, false);
  }

  /**
   * A cable between two sandbox hosts (for multi-host tests): a veth pair, one end named
   * `ifname` in each, addressed `addrA`/`addrB` (/24) and up. Made straight inside the two
   * sandboxes' network namespaces: it never exists in the machine's own.
   */
  static async link(a: Sandbox, b: Sandbox, ifname: string, addrA: string, addrB: string): Promise<void> {
    const r = await exec('ip', ['link', 'add', ifname, 'netns', `/proc/${a.holderPid}/ns/net`, 'type', 'veth',
      'peer', 'name', ifname, 'netns', `/proc/${b.holderPid}/ns/net`]);
    check(`ip link add ${ifname} (between sandboxes)`, r, false);
    await a.sh(`ip addr add ${addrA}/24 dev ${ifname} && ip link set ${ifname} up`);
    await b.sh(`ip addr add ${addrB}/24 dev ${ifname} && ip link set ${ifname} up`);
  }

  /**
   * A switch for several sandbox hosts (multi-host tests): a bridge `lab0` in the `lab`
   * sandbox (one without berthd), a cable from each host (`ifname` there, addressed
   * `addrs[i]`/24; `lab<i>` on the switch). `ip link set lab<i> down` in the lab cuts host i off.
   */
  static async lab(lab: Sandbox, hosts: Sandbox[], ifname: string, addrs: string[]): Promise<void> {
    await lab.sh('ip link add lab0 type bridge && ip link set lab0 up');
    for (const [i, h] of hosts.entries()) {
      const r = await exec('ip', ['link', 'add', `lab${i + 1}`, 'netns', `/proc/${lab.holderPid}/ns/net`, 'type', 'veth',
        'peer', 'name', ifname, 'netns', `/proc/${h.holderPid}/ns/net`]);
      check(`ip link add lab${i + 1} (lab to sandbox)`, r, false);
      await lab.sh(`ip link set lab${i + 1} master lab0 up`);
      await h.sh(`ip addr add ${addrs[i]}/24 dev ${ifname} && ip link set ${ifname} up`);
    }
  }

  /** A shell command on the "outside" machine (10.99.0.2), across the veth from the host. */
  async outside(cmd: string, opts: RunOpts = {}): Promise<Result> {
    const argv = ['-t', String(this.holderPid), ...NS_FLAGS, '--',
      'nsenter', `--net=${path.join(this.top, 'outside.netns')}`, '--', 'sh', '-c', cmd];
    const r = await exec('nsenter', argv, opts);
    return check(`outside: sh -c ${shq(cmd)}`, r, opts.allowFail);
  }

  /** Import the busybox test image as `busybox` (once per sandbox). */
  importBusybox(): Promise<void> {
    if (!this.busyboxDone) {
      this.busyboxDone = (async () => {
        const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'berth-bbtar-'));
        try {
          const tar = path.join(dir, 'busybox.tar');
          await buildBusyboxTar(tar);
          // The file is on the machine's /tmp, which the sandbox's mount namespace also sees.
          await this.berth(['import', '--change', BUSYBOX_CHANGE, tar, 'busybox']);
        } finally {
          await fs.rm(dir, { recursive: true, force: true });
        }
      })();
      this.busyboxDone.catch(() => { this.busyboxDone = null; });
    }
    return this.busyboxDone;
  }

  /**
   * Run `cmd` (on the host, or on the outside machine) until it succeeds, for servers that take
   * a moment to listen; gives up after `limitMs` (a hang guard, not a measurement).
   */
  async waitFor(cmd: string, what = cmd, where: 'host' | 'outside' = 'host', limitMs = 30_000): Promise<Result> {
    const deadline = Date.now() + limitMs;
    let last: Result;
    for (;;) {
      last = where === 'host' ? await this.sh(cmd, { allowFail: true }) : await this.outside(cmd, { allowFail: true });
      if (last.code === 0) return last;
      if (Date.now() > deadline) break;
      await sleep(200);
    }
    throw new Error(`gave up waiting for ${what} (exit ${last.code}): ${last.stdout}${last.stderr}`);
  }

  /**
   * What exists in the sandbox, for "nothing left behind" checks: links, the whole nft
   * ruleset, networks, containers, and namespace handles and mounts under the exec-root.
   */
  async snapshot(): Promise<{ links: string; nft: string; networks: string; containers: string; mounts: string }> {
    const [links, nft, networks, containers, mounts] = await Promise.all([
      this.sh("ip -o link show | cut -d: -f2 | sed 's/@.*//' | sort"),
      this.sh('nft list ruleset'),
      this.berth(['network', 'ls', '--format', '{{.Name}} {{.Driver}}']),
      this.berth(['ps', '-a', '--format', '{{.Names}} {{.State}}']),
      this.sh(`grep -c ' ${this.top}' /proc/self/mountinfo || true`),
    ]);
    return { links: links.stdout, nft: normalizeRuleset(nft.stdout), networks: networks.stdout, containers: containers.stdout, mounts: mounts.stdout };
  }

  /** `berth inspect --format F NAME`, trimmed. */
  async inspect(name: string, format: string, kind: 'container' | 'network' | 'image' | '' = ''): Promise<string> {
    const args = kind === 'network' ? ['network', 'inspect'] : kind === 'image' ? ['image', 'inspect'] : kind === 'container' ? ['container', 'inspect'] : ['inspect'];
    return (await this.berth([...args, '--format', format, name])).stdout.trim();
  }

  /**
   * Start a web server on the outside machine whose /cgi-bin/ip answers with the client's
   * address as it arrives there (to see masquerading). Returns its URL base.
   */
  async outsideWhoami(): Promise<string> {
    if (!this.whoami) {
      const dir = path.join(this.top, 'outside-www');
      await this.sh(`mkdir -p ${dir}/cgi-bin && printf '%s\\n' '#!/bin/sh' 'printf "Content-Type: text/plain\\r\\n\\r\\n%s\\n" "$REMOTE_ADDR"' > ${dir}/cgi-bin/ip && chmod +x ${dir}/cgi-bin/ip && echo outside-ok > ${dir}/index.html`);
      // Without -f busybox httpd daemonizes; it lives in the sandbox's PID namespace.
      await this.outside(`busybox httpd -p ${OUTSIDE_ADDR}:8088 -h ${dir}`);
      this.whoami = `http://${OUTSIDE_ADDR}:8088`;
      await this.waitFor(`curl -sf ${this.whoami}/index.html`, 'the outside web server');
    }
    return this.whoami;
  }

  // ------------------------------------------------------------------ cleanup

  /**
   * Remove every container, stop berthd, end every process of the sandbox and check that
   * nothing is left on the machine: no process, no mount, no temporary directory.
   */
  async cleanup(): Promise<void> {
    if (this.cleaned) return;
    this.cleaned = true;
    const problems: string[] = [];
    let ids: string[] = [];
    if (this.daemon) {
      try {
        ids = (await this.berth(['ps', '-aq', '--no-trunc'], { allowFail: true, timeoutMs: 30_000 })).stdout.split('\n').filter(Boolean);
        if (ids.length) await this.berth(['rm', '-f', ...ids], { allowFail: true, timeoutMs: 60_000 });
      } catch { /* the daemon may be broken; the namespaces go anyway */ }
      await this.stopDaemon().catch(() => undefined);
    }
    if (this.holder) {
      // pid 1 of the PID namespace dies: the kernel kills every process in it.
      if (this.holderPid) { try { process.kill(this.holderPid, 'SIGKILL'); } catch { /* gone */ } }
      this.holder.stdin?.end();
      if (this.holder.exitCode === null && this.holder.signalCode === null) {
        await new Promise<void>((r) => { this.holder!.once('exit', () => r()); this.holder!.kill('SIGKILL'); });
      }
      if (this.pidNs) {
        for (let i = 0; i < 100 && pidsInPidNs(this.pidNs).length; i++) await sleep(100);
        const left = pidsInPidNs(this.pidNs);
        if (left.length) problems.push(`processes still alive in the sandbox: ${left.map(describePid).join(', ')}`);
      }
      if (this.pidNsFd !== null) { closeSync(this.pidNsFd); this.pidNsFd = null; }
    }
    // cgroupfs is the machine's: a container killed with the sandbox (not removed) leaves its
    // cgroup directories (empty now) in every hierarchy.
    for (const id of ids) {
      for (const d of ['/sys/fs/cgroup/berth', ...readdirSafe('/sys/fs/cgroup').map((h) => `/sys/fs/cgroup/${h}/berth`)]) {
        try { rmdirSync(path.join(d, id)); } catch { /* not there */ }
      }
    }
    // The tmpfs was mounted in the sandbox's mount namespace only; here it is an empty directory.
    const mounted = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.includes(this.top));
    if (mounted.length) problems.push(`mounts left on the machine: ${mounted.join('; ')}`);
    try {
      await fs.rmdir(this.top);
    } catch (e: any) {
      if (e.code !== 'ENOENT') problems.push(`${this.top} not removable: ${e.message}`);
    }
    this.forgetExitHook();
    if (problems.length) throw new Error(`sandbox cleanup: ${problems.join('\n')}`);
  }
}

function readdirSafe(dir: string): string[] {
  try { return readdirSync(dir); } catch { return []; }
}

/** Compare what `ip netns list` / machine links show before and after (used by test/run.js too). */
export function machineNetState(): { netns: string[]; links: string[] } {
  const netns = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean).map((l) => l.split(' ')[0]);
  const links = spawnSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean)
    .map((l) => l.split(':')[1].trim().split('@')[0]);
  return { netns, links };
}
