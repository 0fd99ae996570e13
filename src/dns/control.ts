// The control protocol between berthd and the resolver process (src/dns/main.ts): one JSON
// object per line over a unix socket under the exec-root. berthd asks, the resolver answers
// each request by its id and may also send events (log lines). Pure apart from buildId(),
// which reads the resolver's own compiled files.
//
// Two requests stay the same across every version, so that any berthd can recognise and
// replace any older resolver: {op:'hello'} (answered with pid, build and what it serves) and
// {op:'exit'}.
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import * as path from 'node:path';
import type { DnsView } from './records';

export type Request =
  | { id: number; op: 'hello' }
  | { id: number; op: 'exit' }
  | { id: number; op: 'serve'; container: string; netns: string }
  | { id: number; op: 'unserve'; container: string }
  | { id: number; op: 'sync'; view: DnsView }
  | { id: number; op: 'debug'; on: boolean };

export interface Hello { pid: number; build: string; serving: Record<string, string> }

export type Reply =
  | { id: number; ok: true; data?: unknown }
  | { id: number; ok: false; error: string };

interface LogEvent { event: 'log'; msg: string }

/** Where the resolver process keeps its socket, state and log: `<exec-root>/dns`. */
export function resolverDir(execRoot: string): string { return path.join(execRoot, 'dns'); }
export const controlSocket = (dir: string) => path.join(dir, 'control.sock');
export const stateFile = (dir: string) => path.join(dir, 'state.json');
export const logFile = (dir: string) => path.join(dir, 'resolver.log');

/** The longest line either side accepts (a name snapshot of many thousand containers fits). */
const MAX_LINE = 64 * 1024 * 1024;

export function encode(msg: Request | Reply | LogEvent): string {
  return JSON.stringify(msg) + '\n';
}

/** Splits a byte stream into lines and parses each as JSON; a bad line is an error. */
export class LineReader {
  private parts: Buffer[] = [];
  private size = 0;

  /** Feed bytes; returns the complete messages they finish. Throws on a line too long or not JSON. */
  push(chunk: Buffer): unknown[] {
    const out: unknown[] = [];
    let start = 0;
    for (let nl = chunk.indexOf(10); nl !== -1; nl = chunk.indexOf(10, start)) {
      this.parts.push(chunk.subarray(start, nl));
      const line = Buffer.concat(this.parts).toString('utf8');
      this.parts = [];
      this.size = 0;
      start = nl + 1;
      if (line.trim()) out.push(JSON.parse(line));
    }
    if (start < chunk.length) {
      this.parts.push(chunk.subarray(start));
      this.size += chunk.length - start;
      if (this.size > MAX_LINE) throw new Error(`control message over ${MAX_LINE} bytes`);
    }
    return out;
  }
}

/** A request as received, checked for shape; throws with what is wrong. */
export function parseRequest(v: unknown): Request {
  const r = v as Record<string, unknown>;
  if (!r || typeof r !== 'object' || typeof r.id !== 'number') throw new Error('request without a numeric id');
  const str = (k: string) => {
    if (typeof r[k] !== 'string' || !(r[k] as string)) throw new Error(`${r.op}: "${k}" must be a non-empty string`);
    return r[k] as string;
  };
  switch (r.op) {
    case 'hello': case 'exit': return { id: r.id, op: r.op };
    case 'serve': return { id: r.id, op: 'serve', container: str('container'), netns: str('netns') };
    case 'unserve': return { id: r.id, op: 'unserve', container: str('container') };
    case 'sync': {
      const view = r.view as DnsView;
      if (!view || !Array.isArray(view.containers)) throw new Error('sync: "view.containers" must be an array');
      return { id: r.id, op: 'sync', view };
    }
    case 'debug': return { id: r.id, op: 'debug', on: r.on === true };
    default: throw new Error(`unknown op ${JSON.stringify(r.op)}`);
  }
}

/** The files a resolver process runs besides its own directory's: the kernel helpers it calls and the logger. */
const OTHER_FILES = ['kernel/nsbind.js', 'kernel/dnsredirect.js', 'kernel/libc.js', 'kernel/exec.js', 'util/log.js', 'ipam/subnet6.js'];

/**
 * A hash of the resolver's compiled code as it is on disk now. The resolver reports the one
 * it started with; berthd compares it with the files it would start today, so a resolver left
 * running by an older build is replaced (and one of the same build adopted).
 */
export function buildId(dnsDir = __dirname): string {
  const h = createHash('sha256');
  const files = readdirSync(dnsDir).filter((f) => f.endsWith('.js')).sort().map((f) => path.join(dnsDir, f))
    .concat(OTHER_FILES.map((f) => path.join(dnsDir, '..', f)));
  for (const f of files) {
    h.update(path.basename(f));
    try { h.update(readFileSync(f)); } catch { h.update('(missing)'); }
  }
  return h.digest('hex').slice(0, 16);
}
