// The one way berth runs a program on the machine. Every kernel change goes through here so
// `berthd --debug` can print exactly what ran, and failures carry the program's own stderr.
import { spawn } from 'node:child_process';
import { debugOn, log, setLogLevel } from '../util/log';

/** `--debug`: print every command (the logger's debug level). */
export function setDebug(on: boolean): void { setLogLevel(on ? 'debug' : 'info'); }
export function isDebug(): boolean { return debugOn(); }

class ExecError extends Error {
  constructor(public readonly cmd: string, public readonly code: number | null,
              public readonly stderr: string, public readonly stdout: string) {
    super(`${cmd}: ${stderr.trim() || `exit status ${code}`}`);
  }
}

interface RunOptions {
  input?: string | Buffer;   // written to stdin (e.g. an `nft -f -` or `ip -batch -` script)
  allowFail?: boolean;       // resolve with the result instead of throwing on non-zero exit
  env?: NodeJS.ProcessEnv;
}

export interface RunResult { code: number | null; stdout: string; stderr: string }

export function run(file: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
  const cmd = [file, ...args].join(' ');
  log.debug(`exec: ${cmd}`, opts.input === undefined ? undefined : opts.input.toString());
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio: ['pipe', 'pipe', 'pipe'], env: opts.env ?? process.env });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e) => reject(new ExecError(cmd, null, e.message, '')));
    child.on('close', (code) => {
      const res = { code, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() };
      if (code !== 0 && !opts.allowFail) reject(new ExecError(cmd, code, res.stderr, res.stdout));
      else resolve(res);
    });
    child.stdin.on('error', () => { /* the program may exit before reading all input */ });
    child.stdin.end(opts.input ?? '');
  });
}
