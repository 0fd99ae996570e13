// berthd's side of the resolver process: find the one running under the exec-root and adopt
// it, or start one (in a process group of its own, so berthd's stop or SIGKILL leaves it
// serving), or replace one left by another build. Requests go over its control socket
// (control.ts).
import { log as logger } from '../util/log';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { startCompanion } from '../kernel/companion';
import { buildId, controlSocket, encode, LineReader, logFile, type Hello, type Reply, type Request } from './control';

/** Requests distributed over a fresh id each; DistributiveOmit keeps the union's shapes. */
type Ask = Request extends infer R ? R extends { id: number } ? Omit<R, 'id'> : never : never;

const REQUEST_TIMEOUT_MS = 30_000;   // a hang guard: serve takes one nft run
const START_TIMEOUT_MS = 30_000;     // a new resolver reopens every container's sockets first

class Control {
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>();
  private next = 1;
  private closed = false;
  private readonly closeHandlers: (() => void)[] = [];

  private constructor(private readonly sock: net.Socket, onLog: (msg: string) => void) {
    const reader = new LineReader();
    sock.on('data', (d: Buffer) => {
      let msgs: unknown[];
      try { msgs = reader.push(d); } catch { sock.destroy(); return; }
      for (const m of msgs as (Reply & { event?: string; msg?: string })[]) {
        if (m.event === 'log') { onLog(String(m.msg)); continue; }
        const p = this.pending.get(m.id);
        if (!p) continue;
        this.pending.delete(m.id);
        clearTimeout(p.timer);
        if (m.ok) p.resolve(m.data); else p.reject(new Error(m.error));
      }
    });
    sock.on('error', () => undefined);
    sock.on('close', () => {
      this.closed = true;
      for (const p of this.pending.values()) { clearTimeout(p.timer); p.reject(new Error('the resolver process went away')); }
      this.pending.clear();
      for (const h of this.closeHandlers) h();
    });
  }

  /** Connect to the resolver listening at `socketPath`; rejects when nobody does. */
  static connect(socketPath: string, onLog: (msg: string) => void = () => undefined): Promise<Control> {
    return new Promise((resolve, reject) => {
      const sock = net.connect(socketPath);
      sock.once('connect', () => { sock.off('error', reject); resolve(new Control(sock, onLog)); });
      sock.once('error', reject);
    });
  }

  get isClosed(): boolean { return this.closed; }

  onClose(h: () => void): void {
    if (this.closed) h(); else this.closeHandlers.push(h);
  }

  request<T = unknown>(ask: Ask): Promise<T> {
    if (this.closed) return Promise.reject(new Error('the resolver process went away'));
    const id = this.next++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`the resolver process did not answer "${ask.op}" within ${REQUEST_TIMEOUT_MS / 1000} s`));
      }, REQUEST_TIMEOUT_MS);
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, timer });
      this.sock.write(encode({ ...ask, id } as Request));
    });
  }

  close(): void { this.sock.end(); }
}

export interface Attached { control: Control; hello: Hello }

/** The resolver running for `dir`, or null when none answers there. */
export async function findResolver(dir: string, onLog?: (msg: string) => void): Promise<Attached | null> {
  let control: Control;
  try { control = await Control.connect(controlSocket(dir), onLog); } catch { return null; }
  try {
    return { control, hello: await control.request<Hello>({ op: 'hello' }) };
  } catch {
    control.close();
    return null;
  }
}

/**
 * Start a resolver for `dir` and wait until it answers on the control socket (it first serves
 * again every container its state file lists). A resolver already running there keeps
 * serving until the caller tells it to exit.
 */
function startResolver(dir: string, debug: boolean, onLog?: (msg: string) => void): Promise<Attached> {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const main = path.join(__dirname, 'main.js');
  const args = ['--dir', dir, ...(debug ? ['--debug'] : [])];
  logger.debug(`start: ${process.execPath} ${main} ${args.join(' ')}`);
  return startCompanion({
    what: 'the resolver process', main, args, logFile: logFile(dir), timeoutMs: START_TIMEOUT_MS,
    answered: async (pid) => {
      const found = await findResolver(dir, onLog);
      if (found && found.hello.pid === pid) return found;
      found?.control.close();
      return null;
    },
  });
}

/**
 * The resolver to talk to: the running one if it runs this build (adopted as it is), else a
 * new one. A resolver of another build is replaced: the new one opens its own sockets and
 * turns every redirect to them first, then the old one is told to exit, so names keep
 * answering throughout. The build is a hash of the resolver's compiled files (control.ts).
 */
export async function obtainResolver(dir: string, debug: boolean, log: (msg: string) => void, onLog?: (msg: string) => void): Promise<Attached> {
  const found = await findResolver(dir, onLog);
  const build = buildId();
  if (found && found.hello.build === build) return found;
  let fresh: Attached;
  try {
    fresh = await startResolver(dir, debug, onLog);
  } catch (e) {
    if (!found) throw e;
    // This build's resolver cannot start: the one running keeps serving, older or not.
    log(`keeping resolver process ${found.hello.pid} (build ${found.hello.build}): ${(e as Error).message}`);
    return found;
  }
  if (found) {
    log(`replacing resolver process ${found.hello.pid} (build ${found.hello.build}) with ${fresh.hello.pid} (build ${build})`);
    await found.control.request({ op: 'exit' }).catch(() => undefined);
    found.control.close();
  } else {
    log(`started resolver process ${fresh.hello.pid}`);
  }
  return fresh;
}

