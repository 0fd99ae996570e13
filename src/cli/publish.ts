import { isIP } from 'node:net';
// `-p/--publish` and `--expose` specs, parsed on the client side as the docker CLI does
// (nat.ParsePortSpecs), into the create body's ExposedPorts and HostConfig.PortBindings. Pure.

export class UsageError extends Error {}

export interface PortBinding { HostIp: string; HostPort: string }

const PROTOS = new Set(['tcp', 'udp', 'sctp']);

function parsePortRange(s: string): [number, number] | null {
  const m = /^(\d+)(?:-(\d+))?$/.exec(s);
  if (!m) return null;
  const a = Number(m[1]);
  const b = m[2] === undefined ? a : Number(m[2]);
  if (a > 65535 || b > 65535 || b < a) return null;
  return [a, b];
}

function splitProto(s: string): [string, string] {
  const i = s.lastIndexOf('/');
  if (i < 0) return [s, 'tcp'];
  return [s.slice(0, i), s.slice(i + 1) || 'tcp'];
}

/** Splits "ip:host:ctr", "host:ctr", "ctr" (with [v6] brackets) as docker's splitParts does. */
function splitParts(raw: string): { ip: string; host: string; ctr: string } {
  let rest = raw;
  let ip = '';
  if (rest.startsWith('[')) {
    const end = rest.indexOf(']');
    if (end > 0 && rest[end + 1] === ':') { ip = rest.slice(1, end); rest = rest.slice(end + 2); const i = rest.indexOf(':'); return i < 0 ? { ip, host: '', ctr: rest } : { ip, host: rest.slice(0, i), ctr: rest.slice(i + 1) }; }
  }
  const parts = rest.split(':');
  if (parts.length === 1) return { ip: '', host: '', ctr: parts[0] };
  if (parts.length === 2) return { ip: '', host: parts[0], ctr: parts[1] };
  // ip:host:ctr where ip may itself contain colons (IPv6 without brackets)
  const ctr = parts[parts.length - 1];
  const host = parts[parts.length - 2];
  ip = parts.slice(0, -2).join(':');
  return { ip, host, ctr };
}

/** Adds one -p spec to exposed/bindings; throws UsageError with docker's wording. */
export function addPublish(spec: string, exposed: Record<string, object>, bindings: Record<string, PortBinding[]>): void {
  const [body, proto] = splitProto(spec);
  const { ip, host, ctr } = splitParts(body);
  if (ip && !isIP(ip)) throw new UsageError(`invalid IP address: ${ip}`);
  if (!ctr) throw new UsageError(`no port specified: ${spec}<empty>`);
  const c = parsePortRange(ctr);
  if (!c) throw new UsageError(`invalid containerPort: ${ctr}`);
  let h: [number, number] | null = null;
  if (host) {
    h = parsePortRange(host);
    if (!h) throw new UsageError(`invalid hostPort: ${host}`);
  }
  if (!PROTOS.has(proto.toLowerCase())) throw new UsageError(`invalid proto: ${proto}`);
  const p = proto.toLowerCase();
  const n = c[1] - c[0];
  if (h && h[1] - h[0] !== n && h[1] !== h[0] && !(n === 0)) {
    throw new UsageError(`invalid ranges specified for container and host Ports: ${ctr} and ${host}`);
  }
  for (let i = 0; i <= n; i++) {
    const port = `${c[0] + i}/${p}`;
    let hostPort = '';
    if (h) {
      if (n === 0 && h[1] !== h[0]) hostPort = `${h[0]}-${h[1]}`;    // one container port, a host range to pick from
      else hostPort = String(h[0] + i);
    }
    exposed[port] = {};
    (bindings[port] ??= []).push({ HostIp: ip, HostPort: hostPort });
  }
}

/** --expose PORT[/proto] or a range. */
export function addExpose(spec: string, exposed: Record<string, object>): void {
  const [body, proto] = splitProto(spec);
  const m = /^(\d+)(?:-(\d+))?$/.exec(body);
  if (!m) {
    const bad = body.split('-').find((x) => !/^\d+$/.test(x)) ?? body;
    throw new UsageError(`invalid range format for --expose: ${spec}, error: strconv.ParseUint: parsing ${JSON.stringify(bad)}: invalid syntax`);
  }
  const a = Number(m[1]);
  const b = m[2] === undefined ? a : Number(m[2]);
  if (!PROTOS.has(proto.toLowerCase())) throw new UsageError(`invalid proto: ${proto}`);
  for (let p = a; p <= b; p++) exposed[`${p}/${proto.toLowerCase()}`] = {};
}
