// Starting one of berth's companion processes (berth-dns, berth-relay): a Node.js program of
// berth's own that outlives berthd. Its output goes to its log file; it is started, not
// detached (a new session would be a scheduling autogroup of its own, and the resolver answers
// measurably slower apart from the containers' processes, which share berthd's): each leaves
// berthd's process group itself, so signals to that group and berthd's death leave it be.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';

/** The last lines of a companion's log, for an error message. */
function logTail(file: string): string {
  try { return fs.readFileSync(file, 'utf8').trim().split('\n').slice(-5).join(' | '); } catch { return '(no log)'; }
}

/**
 * Start `node main args…` with its output appended to `logFile`, and wait until `answered(pid)`
 * (asked every 50 ms) returns the companion's greeting. It fails with the log's tail if the
 * process ends first, or is killed and fails after `timeoutMs`.
 */
export async function startCompanion<T>(opts: {
  what: string; main: string; args: string[]; logFile: string; timeoutMs: number;
  answered: (pid: number) => Promise<T | null>;
}): Promise<T> {
  const out = fs.openSync(opts.logFile, 'a', 0o600);
  let child;
  try {
    child = spawn(process.execPath, [opts.main, ...opts.args], { stdio: ['ignore', out, out] });
  } finally {
    fs.closeSync(out);
  }
  child.unref();
  let exited: string | null = null;
  child.once('exit', (code, sig) => { exited = sig ? `killed by ${sig}` : `exit ${code}`; });
  child.once('error', (e) => { exited = e.message; });
  const deadline = Date.now() + opts.timeoutMs;
  for (;;) {
    if (exited) throw new Error(`${opts.what} ended at start (${exited}): ${logTail(opts.logFile)}`);
    const hello = child.pid !== undefined ? await opts.answered(child.pid) : null;
    if (hello) return hello;
    if (Date.now() > deadline) {
      try { process.kill(child.pid!, 'SIGKILL'); } catch { /* gone */ }
      throw new Error(`${opts.what} did not answer within ${opts.timeoutMs / 1000} s: ${logTail(opts.logFile)}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}
