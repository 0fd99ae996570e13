// Containers' lives: start, stop, kill, restart, exit and removal, in the order that keeps
// issue 12's guarantees (a start's write-ahead intent before its first side effect, running
// only once recorded, a removal's record first), and the restart policies that start a
// container again after Docker's back-off. Every change of one container runs under its lock.
import type { ContainerRecord } from './types';
import type { ContainerRecords } from './records';
import type { ContainerFiles } from './containerfiles';
import type { Networks } from './networks';
import type { Sandboxes } from './sandbox';
import type { DnsService } from './dns';
import type { Journal } from '../store/journal';
import { configuredNetworks, parseNetworkMode } from './netmode';
import { linkEnv } from './links';
import { processExtras } from './hostconfig';
import { restartDelay, shouldRestart } from './restart';
import { nowRfc3339, ZERO_TIME } from './time';
import type { ImageStore, Runtime, ImageRecord } from '../runtime';
import { ApiError, badRequest, conflict, notModified, noSuchImage } from '../util/errors';
import { log } from '../util/log';

export class Lifecycle {
  /** Resolvers of wait() calls, by container id. */
  private readonly waiters = new Map<string, Array<{ cond: string; resolve: (code: number) => void }>>();
  /** A container's exit handling in progress (so stop returns after the teardown finished). */
  private readonly exiting = new Map<string, Promise<void>>();
  /** Restart policies: pending restarts, and the last back-off of each container. */
  private readonly restartTimers = new Map<string, NodeJS.Timeout>();
  private readonly restartDelays = new Map<string, number>();
  /** Containers being stopped by a `restart` request right now. */
  private readonly userRestarts = new Set<string>();
  /** The daemon serves (its start is done): restarts may be armed. */
  private serving = false;

  constructor(private readonly records: ContainerRecords, private readonly files: ContainerFiles,
              private readonly networks: Networks, private readonly sandboxes: Sandboxes,
              private readonly dns: DnsService, private readonly runtime: Runtime, private readonly images: ImageStore,
              private readonly journal: Journal, private readonly refreshNames: () => Promise<void>) {}

  /** The daemon's start is done: arm the restarts that were pending when the last one stopped. */
  serve(): void {
    this.serving = true;
    for (const c of this.records.values()) if (c.State.Restarting) this.armRestart(c, this.restartDelays.get(c.Id) ?? 100);
  }

  /** Stop serving: pending restarts stay recorded (State.Restarting), the next berthd arms them again. */
  close(): void {
    for (const t of this.restartTimers.values()) clearTimeout(t);
    this.serving = false;
  }

  private imageOf(c: ContainerRecord): ImageRecord | undefined {
    return this.images.resolve(c.ImageID) ?? this.images.resolve(c.Image);
  }

  async startContainer(ref: string): Promise<void> {
    const c = this.records.get(ref);
    await this.records.withLock(c.Id, () => {
      this.cancelRestart(c);
      delete c.manuallyStopped;
      return this.start(c);
    });
  }

  private async start(c: ContainerRecord): Promise<void> {
    try {
      await this.startOnce(c);
    } catch (e) {
      // Like dockerd: a --rm container that cannot start is removed at once.
      if (c.HostConfig.AutoRemove && !c.State.Running) await this.remove(c, true).catch(() => undefined);
      throw e;
    }
  }

  private async startOnce(c: ContainerRecord): Promise<void> {
    if (c.State.Running) throw notModified('container already started');
    await this.exiting.get(c.Id);
    const image = this.imageOf(c);
    if (!image) throw noSuchImage(c.Image);
    // The networks it joins cannot be removed while it starts (network rm answers 403).
    const release = this.networks.hold(this.networksOf(c));
    // Written before the first side effect: a crash from here on is undone at the next start.
    const intent = await this.journal.begin('start', c.Id, c.Name);
    try {
      await this.startSteps(c, image);
    } finally {
      release();
      await this.journal.end(intent);
    }
  }

  /** The networks a container is configured for (by name): its mode's and its endpoint configs'. */
  private networksOf(c: ContainerRecord): string[] { return configuredNetworks(c); }

  private async startSteps(c: ContainerRecord, image: ImageRecord): Promise<void> {
    this.files.legacyLinks(c, true); // every link's target must be running: fail before anything is made
    await this.sandboxes.setup(c, (r) => this.records.get(r));
    // Like Docker, a container in another's network namespace takes that one's hostname.
    const mode = parseNetworkMode(c.HostConfig.NetworkMode);
    if (mode.kind === 'container') {
      const other = this.records.get(mode.ref);
      c.Config.Hostname = other.Config.Hostname;
      c.Config.Domainname = other.Config.Domainname;
    }
    let launched = false;
    let recorded = false;
    const before = c.State;
    try {
      await this.dns.attach(c);
      const etc = await this.files.etcFiles(c);
      const pid = await this.runtime.start({
        id: c.Id,
        name: c.Name,
        image,
        args: [...(c.Config.Entrypoint ?? []), ...(c.Config.Cmd ?? [])],
        env: [...this.files.legacyLinks(c, false).flatMap((l) => linkEnv(c.Name, l.alias, {
          name: l.target.Name, ip: l.ip, env: l.target.Config.Env ?? [], exposed: Object.keys(l.target.Config.ExposedPorts ?? {}),
        })), ...(c.Config.Env ?? [])],
        cwd: c.Config.WorkingDir || '/',
        user: c.Config.User || '',
        hostname: c.Config.Hostname,
        tty: c.Config.Tty,
        openStdin: c.Config.OpenStdin,
        stdinOnce: c.Config.StdinOnce,
        netnsPath: c.netnsPath,
        shareHostUts: parseNetworkMode(c.HostConfig.NetworkMode).kind === 'host',
        etc,
        extras: processExtras(c.HostConfig, parseNetworkMode(c.HostConfig.NetworkMode)),
        runtime: c.HostConfig.Runtime,
      });
      launched = true;
      c.State = {
        ...c.State, Status: 'running', Running: true, Restarting: false, Pid: pid, ExitCode: 0, Error: '',
        StartedAt: nowRfc3339(), FinishedAt: ZERO_TIME,
      };
      // Running only once recorded: if the record cannot be written, the process goes.
      await this.records.save(c);
      recorded = true;
      this.runtime.onExit(c.Id, (code) => this.onExit(c.Id, code));
      await this.refreshNames();
      for (const ep of Object.values(c.endpoints)) this.records.networkEvent(ep.NetworkID, 'connect', c.Id);
      this.records.event(c, 'start');
    } catch (e) {
      if (launched && !recorded) {
        c.State = { ...before, Error: '' };
        await this.runtime.discard(c.Id).catch((x) => log.warn(`stopping ${c.Name}: ${(x as Error).message}`));
      }
      this.dns.detach(c);
      await this.sandboxes.teardown(c);
      c.State.Error = (e as Error).message;
      await this.records.save(c).catch(() => undefined);
      throw e instanceof ApiError ? e : new ApiError(500, (e as Error).message);
    }
  }

  /** The container's process ended: tear down its networking, record the exit, wake waiters. */
  onExit(id: string, code: number): Promise<void> {
    const c = this.records.byId(id);
    if (!c || !c.State.Running) return Promise.resolve();
    const p = (async () => {
      const nets = Object.values(c.endpoints ?? {}).map((ep) => ep.NetworkID);
      this.dns.detach(c);
      await this.sandboxes.teardown(c);
      for (const n of nets) this.records.networkEvent(n, 'disconnect', c.Id);
      this.records.event(c, 'die', { exitCode: String(code) });
      c.State = { ...c.State, Status: 'exited', Running: false, Pid: 0, ExitCode: code, FinishedAt: nowRfc3339() };
      // A fact, not a request: recorded even on a full disk (the store's reserve, then retries).
      await this.records.saveFact(c).catch((e) => log.warn(`${(e as Error).message}`));
      await this.refreshNames();
      this.wake(id, code, ['not-running', 'next-exit']);
      // (a `restart` of a --rm container stops it to start it again: not its end, as with Docker)
      if (c.HostConfig.AutoRemove && !this.userRestarts.has(c.Id)) await this.remove(c, true).catch(() => undefined);
      else if (!this.userRestarts.has(c.Id)) this.planRestart(c);
    })();
    this.exiting.set(id, p);
    return p.finally(() => { if (this.exiting.get(id) === p) this.exiting.delete(id); });
  }

  /**
   * After an exit: if the restart policy says so, the container is "restarting" and starts
   * again after Docker's back-off (armed once berthd serves, so a start never races the
   * start-up sweeps). A daemon killed meanwhile finds it restarting and arms it again.
   */
  private planRestart(c: ContainerRecord): void {
    if (!shouldRestart(c.HostConfig.RestartPolicy, c.State.ExitCode, c.RestartCount, !!c.manuallyStopped)) return;
    const ranMs = Date.parse(c.State.FinishedAt) - Date.parse(c.State.StartedAt);
    const delay = restartDelay(this.restartDelays.get(c.Id), ranMs);
    this.restartDelays.set(c.Id, delay);
    c.State = { ...c.State, Restarting: true, Status: 'restarting' };
    void this.records.save(c).catch(() => undefined);
    if (this.serving) this.armRestart(c, delay);
  }

  private armRestart(c: ContainerRecord, delayMs: number): void {
    clearTimeout(this.restartTimers.get(c.Id));
    this.restartTimers.set(c.Id, setTimeout(() => {
      this.restartTimers.delete(c.Id);
      this.records.withLock(c.Id, async () => {
        if (!c.State.Restarting) return; // stopped or removed meanwhile
        c.RestartCount++;
        try {
          await this.startOnce(c);
        } catch (e) {
          // (startOnce recorded the error; the container stays exited, as Docker's does)
          c.State = { ...c.State, Restarting: false, Status: 'exited' };
          await this.records.save(c).catch(() => undefined);
          log.warn(`restarting ${c.Name}: ${(e as Error).message}`);
        }
      }).catch(() => undefined);
    }, delayMs));
  }

  /** A pending restart is called off (stop, kill, rm): true when there was one. */
  private cancelRestart(c: ContainerRecord): boolean {
    clearTimeout(this.restartTimers.get(c.Id));
    this.restartTimers.delete(c.Id);
    if (!c.State.Restarting) return false;
    c.State = { ...c.State, Restarting: false, Status: 'exited' };
    return true;
  }

  private wake(id: string, code: number, conds: string[]): void {
    const list = this.waiters.get(id) ?? [];
    const keep = list.filter((w) => {
      if (conds.includes(w.cond)) { w.resolve(code); return false; }
      return true;
    });
    if (keep.length) this.waiters.set(id, keep); else this.waiters.delete(id);
  }

  async stopContainer(ref: string, timeoutSec?: number, signal?: string): Promise<void> {
    const c = this.records.get(ref);
    await this.records.withLock(c.Id, async () => {
      if (this.cancelRestart(c)) {
        c.manuallyStopped = true;
        await this.records.save(c);
        return;
      }
      if (!c.State.Running) throw notModified('container already stopped');
      c.manuallyStopped = true;
      this.records.event(c, 'kill', { signal: signal || c.Config.StopSignal || 'SIGTERM' });
      await this.runtime.stop(c.Id, this.stopTimeout(c, timeoutSec), signal || c.Config.StopSignal || undefined);
      await this.exitDone(c);
      this.records.event(c, 'stop');
    });
  }

  /** The request's timeout, else the container's --stop-timeout, else Docker's 10 s. */
  private stopTimeout(c: ContainerRecord, requested?: number): number {
    return requested ?? (Number.isInteger(c.Config.StopTimeout) ? c.Config.StopTimeout : 10);
  }

  /** Wait until the exit handling of `c` (teardown, state) has finished. */
  private async exitDone(c: ContainerRecord): Promise<void> {
    for (let i = 0; i < 200 && c.State.Running && !this.exiting.has(c.Id); i++) await sleep(25);
    await this.exiting.get(c.Id);
  }

  async killContainer(ref: string, signal?: string): Promise<void> {
    const c = this.records.get(ref);
    if (!c.State.Running) throw conflict(`Container ${c.Id} is not running`);
    // Like Docker's, a kill by the user keeps the restart policy from starting it again.
    c.manuallyStopped = true;
    await this.runtime.kill(c.Id, signal || 'KILL');
    this.records.event(c, 'kill', { signal: signal || 'SIGKILL' });
    if (!signal || /^(SIG)?KILL$|^9$/.test(signal.toUpperCase())) await this.exitDone(c);
  }

  async restartContainer(ref: string, timeoutSec?: number, signal?: string): Promise<void> {
    const c = this.records.get(ref);
    await this.records.withLock(c.Id, async () => {
      this.cancelRestart(c);
      delete c.manuallyStopped;
      if (c.State.Running) {
        this.userRestarts.add(c.Id); // this exit is ours: no removal, no policy restart on top
        try {
          await this.runtime.stop(c.Id, this.stopTimeout(c, timeoutSec), signal || c.Config.StopSignal || undefined);
          await this.exitDone(c);
        } finally {
          this.userRestarts.delete(c.Id);
        }
      }
      delete c.manuallyStopped;
      await this.start(c);
      this.records.event(c, 'restart');
    });
  }

  async removeContainer(ref: string, opts: { force: boolean }): Promise<void> {
    const c = this.records.get(ref);
    await this.records.withLock(c.Id, () => this.remove(c, opts.force));
  }

  async remove(c: ContainerRecord, force: boolean): Promise<void> {
    if (!this.records.has(c.Id)) return;
    if (c.State.Restarting && !force) {
      throw conflict(`You cannot remove a restarting container ${c.Id}. Stop the container before attempting removal or force remove`);
    }
    this.cancelRestart(c);
    if (c.State.Running) {
      if (!force) {
        throw conflict(`You cannot remove a running container ${c.Id}. Stop the container before attempting removal or force remove`);
      }
      await this.runtime.kill(c.Id, 'KILL').catch(() => undefined);
      await this.exitDone(c);
      if (!this.records.has(c.Id)) return; // AutoRemove got there first
    }
    // The record goes first (a removal needs no disk space): a crash after it leaves only
    // objects no record names, which the next start sweeps away.
    await this.records.delete(c.Id);
    await this.sandboxes.teardown(c);
    await this.runtime.remove(c.Id);
    this.records.event(c, 'destroy');
    await this.refreshNames();
    this.wake(c.Id, c.State.ExitCode, ['removed', 'not-running', 'next-exit']);
  }

  async waitContainer(ref: string, condition?: string): Promise<{ StatusCode: number; Error: null | { Message: string } }> {
    const c = this.records.get(ref);
    const cond = condition || 'not-running';
    if (!['not-running', 'next-exit', 'removed'].includes(cond)) throw badRequest(`invalid condition: "${cond}"`);
    if (cond === 'not-running' && !c.State.Running && !this.exiting.has(c.Id)) {
      return { StatusCode: c.State.ExitCode, Error: null };
    }
    const code = await new Promise<number>((resolve) => {
      const list = this.waiters.get(c.Id) ?? [];
      list.push({ cond, resolve });
      this.waiters.set(c.Id, list);
    });
    return { StatusCode: code, Error: null };
  }
}

function sleep(ms: number): Promise<void> { return new Promise((r) => setTimeout(r, ms)); }
