// berthd's side of the relay process: find the one running under the exec-root (adopted if it
// runs this build), start one, or replace one left by another build; hand it the whole table.
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { startCompanion } from '../kernel/companion';
import { buildId, controlSocket, logFile, type Hello, type Reply, type Request, type RelayPort } from './protocol';

const REQUEST_TIMEOUT_MS = 30_000;   // a hang guard
const START_TIMEOUT_MS = 30_000;

/** One request over a fresh connection; rejects when nobody listens or the relay refuses. */
function ask<T = unknown>(dir: string, req: Request): Promise<T> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(controlSocket(dir));
    let buf = '';
    const timer = setTimeout(() => { sock.destroy(); reject(new Error(`the port relay did not answer "${req.op}" within ${REQUEST_TIMEOUT_MS / 1000} s`)); }, REQUEST_TIMEOUT_MS);
    sock.on('connect', () => sock.write(JSON.stringify(req) + '\n'));
    sock.on('data', (d) => { buf += d.toString('utf8'); });
    sock.on('error', (e) => { clearTimeout(timer); reject(e); });
    sock.on('close', () => {
      clearTimeout(timer);
      let r: Reply;
      try { r = JSON.parse(buf); } catch { reject(new Error('the port relay went away')); return; }
      if (r.ok) resolve(r.data as T); else reject(new Error(r.error));
    });
  });
}

/** The relay answering for `dir`, or null. */
export async function findRelay(dir: string): Promise<Hello | null> {
  try { return await ask<Hello>(dir, { op: 'hello' }); } catch { return null; }
}

function startRelay(dir: string): Promise<Hello> {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  return startCompanion({
    what: 'the port relay', main: path.join(__dirname, 'main.js'), args: ['--dir', dir], logFile: logFile(dir),
    timeoutMs: START_TIMEOUT_MS, answered: async (pid) => { const h = await findRelay(dir); return h?.pid === pid ? h : null; },
  });
}

/**
 * The relay to talk to: the running one if it runs this build, else a new one (an old one is
 * told to exit first, so the new one can bind the same ports).
 */
export async function obtainRelay(dir: string, log: (msg: string) => void): Promise<Hello> {
  const found = await findRelay(dir);
  if (found && found.build === buildId()) return found;
  if (found) {
    log(`replacing port relay process ${found.pid} (build ${found.build})`);
    await ask(dir, { op: 'exit' }).catch(() => undefined);
    for (let i = 0; i < 100 && pidAlive(found.pid); i++) await new Promise((r) => setTimeout(r, 50));
  }
  const fresh = await startRelay(dir);
  log(`started port relay process ${fresh.pid}`);
  return fresh;
}

/** Hand the relay its whole table; rejects with its reason when a port cannot be opened. */
export function syncRelay(dir: string, ports: RelayPort[], hostOnly: boolean): Promise<void> {
  return ask(dir, { op: 'sync', ports, hostOnly });
}

function pidAlive(pid: number): boolean {
  try { process.kill(pid, 0); return true; } catch { return false; }
}

