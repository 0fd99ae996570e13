// The relay's TCP data path: berth-relay-tcp (tcp-plane.c, built with berth), a child of the
// relay process that listens on the relayed TCP ports and carries their connections with
// splice(2). This module starts it on the first TCP port, tells it what to open and close (a
// line each, answered in order), and starts it again with every open port if it ever dies.
// The child dies with the relay (PR_SET_PDEATHSIG, and EOF on its stdin).
import type { ChildProcess } from 'node:child_process';
import * as net from 'node:net';
import * as path from 'node:path';
import { spawnLineChild } from '../kernel/subprocess';
import type { RelayPort } from './protocol';

/** The compiled program, beside this module in dist/ (npm run build compiles it). */
const TCP_PLANE = path.join(__dirname, 'berth-relay-tcp');

/** A wait before starting a child that died again, so a broken build cannot spin. */
const RESTART_DELAY_MS = 1000;

type Waiter = { resolve: () => void; reject: (e: Error) => void };

export class TcpPlane {
  private child: ChildProcess | null = null;
  private ready: Promise<void> | null = null;
  /** Replies come in the order of the requests. */
  private waiting: Waiter[] = [];
  private readonly open = new Map<number, RelayPort>();
  private nextId = 1;
  private hostOnly = false;
  private stopped = false;

  constructor(private readonly log: (msg: string) => void, private readonly program = TCP_PLANE) {}

  /** Listen on a port; rejects with an Error whose `code` is the errno name (EADDRINUSE…). */
  async listen(p: RelayPort): Promise<number> {
    if (!net.isIPv6(p.hostIp) || !net.isIP(p.targetIp)) throw Object.assign(new Error(`bad address in ${p.hostIp} -> ${p.targetIp}`), { code: 'EINVAL' });
    this.stopped = false;
    await this.start();
    const id = this.nextId++;
    await this.ask(listenLine(id, p));
    this.open.set(id, p);
    return id;
  }

  /**
   * Close a port and every connection through it. Resolves once the child has closed it, so a
   * sync that returns has no listener left behind (a dead child has none either).
   */
  close(id: number): Promise<void> {
    if (!this.open.delete(id) || !this.child) return Promise.resolve();
    return this.ask(`close ${id}`).catch(() => undefined);
  }

  /** berthd --ports-from: only the host's own addresses get through. */
  async setHostOnly(on: boolean): Promise<void> {
    if (on === this.hostOnly) return;
    this.hostOnly = on;
    if (this.child) await this.ask(`hostonly ${on ? 1 : 0}`);
  }

  /**
   * End the child and forget every port (the relay closes all). Resolves once it is gone, so
   * its ports are free: a relay replacing this one binds them next.
   */
  stop(): Promise<void> {
    this.stopped = true;
    this.open.clear();
    const c = this.child;
    this.child = null;
    this.ready = null;
    if (!c || c.exitCode !== null || c.signalCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
      c.once('exit', () => resolve());
      c.kill('SIGKILL');
    });
  }

  private start(): Promise<void> {
    this.ready ??= this.spawnChild()
      .then(() => (this.hostOnly ? this.ask('hostonly 1') : undefined))
      .catch((e) => { this.ready = null; throw e; });
    return this.ready;
  }

  private spawnChild(): Promise<void> {
    return new Promise((resolve, reject) => {
      const child = spawnLineChild(this.program);
      this.child = child;
      let buf = '';
      let greeted = false;
      child.stdout!.setEncoding('utf8');
      child.stdout!.on('data', (d: string) => {
        buf += d;
        let nl;
        while ((nl = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          if (!greeted) { greeted = line === 'ready'; if (greeted) resolve(); continue; }
          this.answer(line);
        }
      });
      child.stdin!.on('error', () => undefined);   // (its end shows as 'exit')
      child.once('error', (e) => { if (!greeted) reject(new Error(`cannot start ${this.program}: ${e.message} (npm run build compiles it; it needs a C compiler)`)); });
      child.once('exit', (code, sig) => {
        if (!greeted) reject(new Error(`${this.program} ended at start (${sig ?? `exit ${code}`})`));
        for (const w of this.waiting.splice(0)) w.reject(new Error(`${this.program} ended`));
        if (this.child !== child) return;   // stopped on purpose
        this.child = null;
        this.ready = null;
        if (!greeted || this.stopped) return;
        this.log(`the TCP relay process ended (${sig ?? `exit ${code}`}); starting it again with ${this.open.size} ports`);
        setTimeout(() => { void this.reopen(); }, RESTART_DELAY_MS);
      });
    });
  }

  /** After a death of the child: a new one listens on every port the old one had. */
  private async reopen(): Promise<void> {
    if (this.stopped || this.child) return;
    try {
      await this.start();
      for (const [id, p] of this.open) {
        await this.ask(listenLine(id, p)).catch((e) => this.log(`${p.hostIp} port ${p.hostPort}: ${(e as Error).message}`));
      }
    } catch (e) {
      this.log(`the TCP relay process cannot start again: ${(e as Error).message}`);
    }
  }

  private ask(line: string): Promise<void> {
    const child = this.child;
    if (!child?.stdin) return Promise.reject(new Error(`${this.program} is not running`));
    return new Promise((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      child.stdin!.write(`${line}\n`);
    });
  }

  private answer(line: string): void {
    const w = this.waiting.shift();
    if (!w) return;
    const [word, , code] = line.split(' ');
    if (word === 'ok') w.resolve();
    else w.reject(Object.assign(new Error(`${code ?? line}`), { code: code ?? 'EIO' }));
  }
}

function listenLine(id: number, p: RelayPort): string {
  return `listen ${id} ${p.hostIp} ${p.hostPort} ${p.targetIp} ${p.targetPort}`;
}
