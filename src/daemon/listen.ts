// What berthd listens on (-H, repeatable, as dockerd's): unix sockets, and TCP only with TLS
// that verifies client certificates (--tlsverify --tlscacert --tlscert --tlskey), because the
// API is root on the machine: plain tcp:// is refused with a message that says so. Pure, but
// for the group lookup.
import { etcGroup as readEtcGroup } from '../kernel/hostfiles';

export type Listener =
  | { kind: 'unix'; path: string }
  | { kind: 'tcp'; host: string; port: number };

interface TlsFlags { tlsverify: boolean; tlscacert?: string; tlscert?: string; tlskey?: string }

/** "unix:///run/x.sock", "/run/x.sock", "tcp://0.0.0.0:2376", "tcp://:2376", "tcp://[::1]:2376". */
export function parseListener(spec: string): Listener {
  if (spec.startsWith('unix://')) {
    const p = spec.slice('unix://'.length);
    if (!p.startsWith('/')) throw new Error(`invalid -H ${spec}: a unix socket needs an absolute path (unix:///path.sock)`);
    return { kind: 'unix', path: p };
  }
  if (spec.startsWith('/')) return { kind: 'unix', path: spec };
  if (spec.startsWith('tcp://')) {
    const m = /^tcp:\/\/(\[[0-9a-fA-F:.]+\]|[^:/[\]]*)(?::(\d+))?\/?$/.exec(spec);
    if (!m) throw new Error(`invalid -H ${spec}: want tcp://ADDRESS:PORT`);
    const port = m[2] === undefined ? 2376 : Number(m[2]);
    if (!(port >= 1 && port <= 65535)) throw new Error(`invalid -H ${spec}: port must be 1-65535`);
    const host = m[1].replace(/^\[|\]$/g, '') || '0.0.0.0';
    return { kind: 'tcp', host, port };
  }
  throw new Error(`invalid -H ${spec}: berthd listens on unix:///path.sock or tcp://ADDRESS:PORT (with --tlsverify)`);
}

/** Refuses a TCP listener without complete client verification; returns the files to load. */
export function checkTls(listeners: Listener[], f: TlsFlags): { ca: string; cert: string; key: string } | null {
  const tcp = listeners.filter((l) => l.kind === 'tcp');
  const given = !!(f.tlscacert || f.tlscert || f.tlskey);
  if (!tcp.length) {
    if (f.tlsverify || given) throw new Error('--tlsverify, --tlscacert, --tlscert and --tlskey apply to a tcp:// listener (-H tcp://ADDRESS:PORT), and none was given');
    return null;
  }
  const where = tcp.map((l) => `tcp://${l.host.includes(':') ? `[${l.host}]` : l.host}:${l.port}`).join(', ');
  if (!f.tlsverify) {
    throw new Error(`refusing to listen on ${where} without TLS client verification: anyone who reaches it would have root on this machine. ` +
      'Give --tlsverify --tlscacert CA.pem --tlscert SERVER-CERT.pem --tlskey SERVER-KEY.pem, or use a unix socket');
  }
  const missing = (['tlscacert', 'tlscert', 'tlskey'] as const).filter((k) => !f[k]);
  if (missing.length) throw new Error(`--tlsverify on ${where} needs ${missing.map((k) => `--${k}`).join(', ')}`);
  return { ca: f.tlscacert!, cert: f.tlscert!, key: f.tlskey! };
}

/** The gid of a group in /etc/group (the text is a parameter for tests), or null. */
export function groupId(name: string, etcGroup?: string): number | null {
  let text = etcGroup;
  if (text === undefined) text = readEtcGroup() ?? undefined;
  if (text === undefined) return null;
  if (/^\d+$/.test(name)) return Number(name);
  for (const line of text.split('\n')) {
    const f = line.split(':');
    if (f[0] === name && f.length >= 3 && /^\d+$/.test(f[2])) return Number(f[2]);
  }
  return null;
}
