// The port relay's table and its control protocol, shared by berthd (client.ts) and the relay
// process (main.ts). Pure apart from buildId(), which reads the relay's compiled files.
//
// Why a relay: a published port answers on IPv6 too (Docker 20.10+ publishes `-p 8080:80` on
// 0.0.0.0 and ::), but a container with only an IPv4 address cannot be reached by NAT from
// IPv6 (nftables has no NAT46). One process for all such ports, as docker-proxy is one per
// port: it listens on the IPv6 side and opens a connection to the container's IPv4 address.
//
// The protocol: one JSON line per request over a unix socket under the exec-root, one JSON
// line back. `hello` and `exit` stay the same in every version so any berthd can recognise
// and replace an older relay; `sync` hands over the whole table.
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import * as path from 'node:path';

/** One relayed port. */
export interface RelayPort {
  proto: 'tcp' | 'udp';
  /** The IPv6 address it listens on ("::" = every IPv6 address of the host). */
  hostIp: string;
  hostPort: number;
  /** The container's address and port it goes to. */
  targetIp: string;
  targetPort: number;
}

export type Request =
  | { op: 'hello' }
  | { op: 'exit' }
  | { op: 'sync'; ports: RelayPort[]; hostOnly?: boolean };

export interface Hello { pid: number; build: string; ports: RelayPort[] }

export type Reply = { ok: true; data?: unknown } | { ok: false; error: string };

export function relayDir(execRoot: string): string { return path.join(execRoot, 'relay'); }
export const controlSocket = (dir: string) => path.join(dir, 'control.sock');
export const stateFile = (dir: string) => path.join(dir, 'ports.json');
export const logFile = (dir: string) => path.join(dir, 'relay.log');

/** "tcp [::]:8080 -> 172.17.0.2:80": a port's identity in the table and in messages. */
export function portKey(p: RelayPort): string {
  return `${p.proto} [${p.hostIp}]:${p.hostPort} -> ${p.targetIp}:${p.targetPort}`;
}

/** A request as received, checked for shape; throws with what is wrong. */
export function parseRequest(v: unknown): Request {
  const r = v as Record<string, unknown>;
  if (!r || typeof r !== 'object') throw new Error('request is not an object');
  switch (r.op) {
    case 'hello': case 'exit': return { op: r.op };
    case 'sync': return { op: 'sync', ports: parsePorts(r.ports), hostOnly: r.hostOnly === true };
    default: throw new Error(`unknown op ${JSON.stringify(r.op)}`);
  }
}

/** A table as sent or saved; throws naming the first bad entry. */
export function parsePorts(v: unknown): RelayPort[] {
  if (!Array.isArray(v)) throw new Error('"ports" must be an array');
  return v.map((x, i) => {
    const p = x as Record<string, unknown>;
    const port = (k: string) => {
      const n = p?.[k];
      if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > 65535) throw new Error(`ports[${i}].${k} must be a port number`);
      return n;
    };
    const str = (k: string) => {
      if (typeof p?.[k] !== 'string' || !p[k]) throw new Error(`ports[${i}].${k} must be an address`);
      return p[k] as string;
    };
    if (p?.proto !== 'tcp' && p?.proto !== 'udp') throw new Error(`ports[${i}].proto must be tcp or udp`);
    return { proto: p.proto, hostIp: str('hostIp'), hostPort: port('hostPort'), targetIp: str('targetIp'), targetPort: port('targetPort') };
  });
}

/** A hash of the relay's compiled code on disk (berth-relay-tcp too): a relay left by another build is replaced. */
export function buildId(dir = __dirname): string {
  const h = createHash('sha256');
  for (const f of readdirSync(dir).filter((n) => n.endsWith('.js') || n === 'berth-relay-tcp').sort()) {
    h.update(f);
    try { h.update(readFileSync(path.join(dir, f))); } catch { h.update('(missing)'); }
  }
  return h.digest('hex').slice(0, 16);
}
