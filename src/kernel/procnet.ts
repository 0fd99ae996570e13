// Which ports are already bound in the daemon's network namespace, read from /proc/net so a
// published port that something else holds fails before anything is built.
import { readFileSync, existsSync } from 'node:fs';
/** A transport protocol a port is published on. */
export type Proto = 'tcp' | 'udp' | 'sctp';

const LISTEN = '0A';

/** Parse /proc/net/{tcp,udp}[6] text: the local ports (TCP: only listening sockets). */
function parseProcNet(text: string, listenOnly: boolean): number[] {
  const out: number[] = [];
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 4) continue;
    if (listenOnly && f[3] !== LISTEN) continue;
    const port = parseInt(f[1].split(':')[1], 16);
    if (!Number.isNaN(port)) out.push(port);
  }
  return out;
}

/** Parse /proc/net/sctp/eps: the LPORT column. */
function parseSctpEps(text: string): number[] {
  const lines = text.split('\n');
  const header = lines[0]?.trim().split(/\s+/) ?? [];
  const col = header.indexOf('LPORT');
  if (col < 0) return [];
  return lines.slice(1).map((l) => Number(l.trim().split(/\s+/)[col])).filter((n) => Number.isInteger(n) && n > 0);
}

function read(file: string): string {
  return existsSync(file) ? readFileSync(file, 'utf8') : '';
}

export function boundPorts(proto: Proto): Set<number> {
  if (proto === 'sctp') return new Set(parseSctpEps(read('/proc/net/sctp/eps')));
  const listenOnly = proto === 'tcp';
  return new Set([
    ...parseProcNet(read(`/proc/net/${proto}`), listenOnly),
    ...parseProcNet(read(`/proc/net/${proto}6`), listenOnly),
  ]);
}
