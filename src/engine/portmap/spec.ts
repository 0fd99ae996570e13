// Published-port specs: `-p`/`--expose` parsing with the docker CLI's semantics and messages
// (go-connections nat.ParsePortSpec, as the 20.10 CLI prints them), the daemon's validation of
// HostConfig.PortBindings, and their expansion into the bindings berth must make.
import { badRequest } from '../../util/errors';
import { Proto } from '../types';
import { isIP } from '../../ipam/subnet';
import { canonicalIp6 } from '../../ipam/subnet6';

interface PortBinding { HostIp: string; HostPort: string }
type PortBindings = Record<string, PortBinding[] | null>;

interface ParsedPublish {
  exposed: string[];                       // "80/tcp", in order
  bindings: Record<string, PortBinding[]>; // "80/tcp" -> [{HostIp, HostPort}]
}

const PROTOS = new Set(['tcp', 'udp', 'sctp']);

/** Go's strconv.ParseUint(s, 10, 16): decimal digits only, leading zeros allowed. */
function parseUint16(s: string): number | null {
  if (!/^[0-9]+$/.test(s)) return null;
  const n = Number(s);
  return n <= 65535 ? n : null;
}

/** nat.ParsePortRange: "80" or "80-85" (start <= end). */
export function parsePortRange(s: string): [number, number] | null {
  if (s === '') return null;
  const dash = s.indexOf('-');
  if (dash < 0) {
    const n = parseUint16(s);
    return n === null ? null : [n, n];
  }
  const a = parseUint16(s.slice(0, dash));
  const b = parseUint16(s.slice(dash + 1));
  if (a === null || b === null || b < a) return null;
  return [a, b];
}

/** nat.SplitProtoPort: "80/udp" -> ["udp", "80"]; no or empty proto means tcp. */
export function splitProtoPort(raw: string): [string, string] {
  const parts = raw.split('/');
  if (raw.length === 0 || parts[0] === '') return ['', ''];
  if (parts.length === 1 || parts[1] === '') return ['tcp', parts[0]];
  return [parts[1], parts[0]];
}

/** nat's splitParts: the container port is after the last colon, the host port before it. */
function splitParts(raw: string): [string, string, string] {
  const parts = raw.split(':');
  const n = parts.length;
  const ctr = parts[n - 1];
  if (n === 1) return ['', '', ctr];
  if (n === 2) return ['', parts[0], ctr];
  return [parts.slice(0, n - 2).join(':'), parts[n - 2], ctr];
}

/**
 * Strips the brackets of "[::1]" with the checks (and the messages) of Go's
 * net.SplitHostPort(ip + ":"), which the CLI uses for that.
 */
function stripBrackets(rawIp: string): string {
  if (!rawIp.startsWith('[')) return rawIp;
  const hostport = rawIp + ':';
  const fail = (why: string) => badRequest(`invalid IP address ${rawIp}: address ${hostport}: ${why}`);
  const end = hostport.indexOf(']');
  if (end < 0) throw fail("missing ']' in address");
  const last = hostport.length - 1;
  if (end + 1 !== last) throw fail(hostport[end + 1] === ':' ? 'too many colons in address' : 'missing port in address');
  const host = hostport.slice(1, end);
  if (host.includes('[')) throw fail("unexpected '[' in address");
  return host;
}

/** One `-p` value as the docker CLI parses it. Errors carry the CLI's text. */
export function parsePublish(spec: string): ParsedPublish {
  const [rawIp, hostPortRaw, ctrRaw] = splitParts(spec);
  const [proto, ctrPort] = splitProtoPort(ctrRaw);
  const ip = stripBrackets(rawIp);
  if (ip !== '' && !isIP(ip)) throw badRequest(`invalid IP address: ${ip}`);
  if (ctrPort === '') throw badRequest(`no port specified: ${spec}<empty>`);
  const ctr = parsePortRange(ctrPort);
  if (!ctr) throw badRequest(`invalid containerPort: ${ctrPort}`);
  let host: [number, number] = [0, 0];
  if (hostPortRaw !== '') {
    const h = parsePortRange(hostPortRaw);
    if (!h) throw badRequest(`invalid hostPort: ${hostPortRaw}`);
    host = h;
    // A host range with a single container port means "any one free port of that range".
    if (h[1] - h[0] !== ctr[1] - ctr[0] && ctr[0] !== ctr[1])
      throw badRequest(`invalid ranges specified for container and host Ports: ${ctrPort} and ${hostPortRaw}`);
  }
  const lproto = proto.toLowerCase();
  if (!PROTOS.has(lproto)) throw badRequest(`invalid proto: ${proto}`);

  const out: ParsedPublish = { exposed: [], bindings: {} };
  for (let i = 0; i <= ctr[1] - ctr[0]; i++) {
    const key = `${ctr[0] + i}/${lproto}`;
    let hostPort = hostPortRaw === '' ? '' : String(host[0] + i);
    if (ctr[0] === ctr[1] && host[0] !== host[1]) hostPort = `${host[0]}-${host[1]}`;
    if (!out.bindings[key]) { out.bindings[key] = []; out.exposed.push(key); }
    out.bindings[key].push({ HostIp: ip, HostPort: hostPort });
  }
  return out;
}

/** One `--expose` value ("80", "80/udp", "8000-8010/tcp") as the list of keys it exposes. */
export function parseExpose(spec: string): string[] {
  // The CLI refuses an address or host port here (`--expose` takes only ports).
  if (spec.includes(':')) throw badRequest(`invalid port format for --expose: ${spec}`);
  const [proto, port] = splitProtoPort(spec);
  const range = parsePortRange(port);
  if (!range) throw badRequest(`invalid range format for --expose: ${spec}, error: ${rangeError(port)}`);
  // Like the docker CLI, the protocol is neither checked nor lower-cased here.
  const keys: string[] = [];
  for (let p = range[0]; p <= range[1]; p++) keys.push(`${p}/${proto}`);
  return keys;
}

/** The error nat.ParsePortRange gives for a bad range, worded as Go's strconv does. */
function rangeError(s: string): string {
  if (s === '') return 'empty string specified for ports';
  const dash = s.indexOf('-');
  const parts = dash < 0 ? [s] : [s.slice(0, dash), s.slice(dash + 1)];
  for (const p of parts) {
    if (!/^[0-9]+$/.test(p)) return `strconv.ParseUint: parsing ${JSON.stringify(p)}: invalid syntax`;
    if (Number(p) > 65535) return `strconv.ParseUint: parsing ${JSON.stringify(p)}: value out of range`;
  }
  return `invalid range specified for port: ${s}`;
}

/** One binding berth must make. hostPort 0 means "pick a free port". */
interface WantedBinding {
  proto: Proto;
  containerPort: number;
  /**
   * "" (every host address of both families: 0.0.0.0 and ::, on the same port, as Docker
   * 20.10+), "0.0.0.0" or "::" (every address of one family), or one address.
   */
  hostIp: string;
  hostPort: number;      // 0 = any free port of the ephemeral range (or of hostPort..hostPortEnd)
  hostPortEnd?: number;  // set for "8000-8010:80": any one free port of 8000..8010
  count: number;         // > 1: host ports hostPort.. map to containerPort.. one to one
}

/** Splits a PortBindings/ExposedPorts key ("80/tcp") with the daemon's validation. */
export function parsePortKey(key: string): { proto: Proto; port: number } {
  const [proto, port] = splitProtoPort(key);
  const n = parseUint16(port);
  if (n === null) throw badRequest(`invalid port specification: ${JSON.stringify(port)}`);
  const lproto = proto.toLowerCase();
  if (!PROTOS.has(lproto)) throw badRequest(`invalid proto: ${proto}`);
  return { proto: lproto as Proto, port: n };
}

/**
 * The daemon's create-time checks of HostConfig.PortBindings (Docker answers these with 400
 * "invalid port specification: ..."). Throws on the first bad key or host port.
 */
export function validatePortBindings(bindings: PortBindings | null | undefined): void {
  for (const [key, list] of Object.entries(bindings ?? {})) {
    const [, port] = splitProtoPort(key);
    if (parseUint16(port) === null) throw badRequest(`invalid port specification: ${JSON.stringify(port)}`);
    for (const b of list ?? []) {
      const [, hp] = splitProtoPort(b.HostPort ?? '');
      if (hp !== '' && !parsePortRange(hp)) throw badRequest(`invalid port specification: ${JSON.stringify(b.HostPort)}`);
    }
  }
}

/**
 * The list of bindings to make for a container: every bound port of `portBindings`, and with
 * `publishAll` (-P) every exposed port that has no binding, on a free host port. Fixed host
 * ports that continue a run (8000->80, 8001->81, ...) on the same protocol and address are
 * merged into one binding with `count`, so "-p 5000-10000:5000-10000/udp" is one entry.
 * Ordered by protocol, then container port.
 */
export function expandBindings(
  exposedPorts: Record<string, unknown> | null | undefined,
  portBindings: PortBindings | null | undefined,
  publishAll: boolean,
): WantedBinding[] {
  validatePortBindings(portBindings);
  // "80/tcp" -> bindings; keys are normalized ("80/TCP" and "080/tcp" are 80/tcp).
  const byKey = new Map<string, { proto: Proto; port: number; list: PortBinding[] }>();
  const entry = (proto: Proto, port: number) => {
    const k = `${port}/${proto}`;
    let e = byKey.get(k);
    if (!e) byKey.set(k, (e = { proto, port, list: [] }));
    return e;
  };
  for (const [k, list] of Object.entries(portBindings ?? {})) {
    const p = parsePortKey(k);
    entry(p.proto, p.port).list.push(...(list ?? []));
  }
  // An exposed port with an unknown protocol (`--expose 80/xyz` is accepted by Docker) only
  // matters when -P would publish it.
  for (const k of Object.keys(exposedPorts ?? {})) {
    const [, port] = splitProtoPort(k);
    if (parseUint16(port) === null) throw badRequest(`invalid port specification: ${JSON.stringify(port)}`);
    if (!publishAll) continue;
    const p = parsePortKey(k);
    entry(p.proto, p.port);
  }
  const order: Proto[] = ['tcp', 'udp', 'sctp'];
  const sorted = [...byKey.values()].sort((a, b) => order.indexOf(a.proto) - order.indexOf(b.proto) || a.port - b.port);
  const out: WantedBinding[] = [];
  const runs = new Map<string, WantedBinding>(); // "proto|ip|nextCtr|nextHost" -> open run
  for (const { proto, port, list: bound } of sorted) {
    const list = bound.length === 0 && publishAll ? [{ HostIp: '', HostPort: '' }] : bound;
    for (const b of list) {
      const hostIp = b.HostIp ?? '';
      if (hostIp !== '' && !isIP(hostIp)) throw badRequest(`invalid host IP address: ${hostIp}`);
      const ip = canonicalIp6(hostIp) ?? hostIp;
      const [, hp] = splitProtoPort(b.HostPort ?? '');
      const range = hp === '' ? [0, 0] : parsePortRange(hp)!;
      if (range[1] !== range[0]) {
        out.push({ proto, containerPort: port, hostIp: ip, hostPort: range[0], hostPortEnd: range[1], count: 1 });
        continue;
      }
      if (range[0] !== 0) {
        const run = runs.get(`${proto}|${ip}|${port}|${range[0]}`);
        if (run) {
          runs.delete(`${proto}|${ip}|${port}|${range[0]}`);
          run.count++;
          runs.set(`${proto}|${ip}|${port + 1}|${range[0] + 1}`, run);
          continue;
        }
      }
      const w: WantedBinding = { proto, containerPort: port, hostIp: ip, hostPort: range[0], count: 1 };
      out.push(w);
      if (range[0] !== 0) runs.set(`${proto}|${ip}|${port + 1}|${range[0] + 1}`, w);
    }
  }
  return out;
}
