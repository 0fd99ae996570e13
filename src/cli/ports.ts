// How the docker CLI prints published ports: the PORTS column of `ps` and the lines of
// `port`. Rules taken from the reference docker CLI's output (20.10):
// - PORTS: ports sorted by private port, address, public port, type; unpublished ports and
//   ports published on the same number (e.g. 5000-5002:5000-5002) collapse into ranges per
//   address and type ("500-502/udp", "0.0.0.0:5000-5002->5000-5002/tcp"); ports published on
//   another number are listed one by one after them ("0.0.0.0:8000->80/tcp"), not collapsed.
// - port: "80/tcp -> 0.0.0.0:8000", lines in natural order (numbers compared as numbers).
// IPv6 addresses are printed bracketed as Docker does; berth itself never reports any.
import { Exit } from './errors';

interface ApiPort { IP?: string; PrivatePort: number; PublicPort?: number; Type: string }
interface HostBinding { HostIp: string; HostPort: string }

/** Go's net.JoinHostPort. */
function joinHostPort(host: string, port: string | number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

function comparePorts(a: ApiPort, b: ApiPort): number {
  if (a.PrivatePort !== b.PrivatePort) return a.PrivatePort - b.PrivatePort;
  const ai = a.IP ?? '', bi = b.IP ?? '';
  if (ai !== bi) return ai < bi ? -1 : 1;
  const ap = a.PublicPort ?? 0, bp = b.PublicPort ?? 0;
  if (ap !== bp) return ap - bp;
  return a.Type < b.Type ? -1 : a.Type > b.Type ? 1 : 0;
}

export function formatPortsColumn(ports: ApiPort[] | null | undefined): string {
  interface Group { ip: string; type: string; first: number; last: number }
  const groups = new Map<string, Group>();   // insertion order = order groups were first seen
  const flushed: string[] = [];
  const hostMappings: string[] = [];
  const form = (g: Group) => {
    const span = g.first === g.last ? `${g.first}` : `${g.first}-${g.last}`;
    return g.ip ? `${joinHostPort(g.ip, span)}->${span}/${g.type}` : `${span}/${g.type}`;
  };
  for (const p of [...(ports ?? [])].sort(comparePorts)) {
    const ip = p.IP ?? '';
    if (ip !== '' && p.PublicPort !== p.PrivatePort) {
      hostMappings.push(`${joinHostPort(ip, p.PublicPort ?? 0)}->${p.PrivatePort}/${p.Type}`);
      continue;
    }
    const key = ip ? `${ip}/${p.Type}` : p.Type;
    const g = groups.get(key);
    if (!g) { groups.set(key, { ip, type: p.Type, first: p.PrivatePort, last: p.PrivatePort }); continue; }
    if (p.PrivatePort === g.last + 1) { g.last = p.PrivatePort; continue; }
    flushed.push(form(g));
    g.first = g.last = p.PrivatePort;
  }
  return [...flushed, ...[...groups.values()].map(form), ...hostMappings].join(', ');
}

/** Natural order: runs of digits compare as numbers, everything else byte by byte. */
export function naturalCompare(a: string, b: string): number {
  const re = /(\d+)|(\D+)/g;
  const ca = a.match(re) ?? [], cb = b.match(re) ?? [];
  for (let i = 0; i < Math.min(ca.length, cb.length); i++) {
    const x = ca[i], y = cb[i];
    const dx = /^\d/.test(x), dy = /^\d/.test(y);
    if (dx && dy) {
      const tx = x.replace(/^0+/, ''), ty = y.replace(/^0+/, '');
      if (tx.length !== ty.length) return tx.length - ty.length;
      if (tx !== ty) return tx < ty ? -1 : 1;
      if (x.length !== y.length) return x.length - y.length;
    } else if (x !== y) {
      return x < y ? -1 : 1;
    }
  }
  return ca.length - cb.length;
}

/** Go's strconv.ParseUint(s, 10, 16) error text, or null when s parses. */
function parseUintError(s: string): string | null {
  if (!/^[0-9]+$/.test(s)) return `strconv.ParseUint: parsing ${JSON.stringify(s)}: invalid syntax`;
  if (Number(s) > 65535) return `strconv.ParseUint: parsing ${JSON.stringify(s)}: value out of range`;
  return null;
}

/**
 * The lines `docker port CONTAINER [PORT]` prints, from NetworkSettings.Ports. With a filter
 * ("80", "53/udp", matched as typed: "080" or "80/TCP" find nothing, as with Docker) only the
 * addresses are printed. An empty list for a filter means the port is not published: the
 * caller prints "Error: No public port '80' published for NAME" and exits 1. A filter that is
 * not a port throws Exit(1) with the docker CLI's text.
 */
export function formatPortLines(
  ports: Record<string, HostBinding[] | null> | null | undefined,
  filter?: string,
): string[] {
  const out: string[] = [];
  if (filter !== undefined && filter !== '') {
    const slash = filter.indexOf('/');
    const port = slash < 0 ? filter : filter.slice(0, slash);
    const proto = slash < 0 || filter.slice(slash + 1) === '' ? 'tcp' : filter.slice(slash + 1);
    const err = parseUintError(port);
    if (err) throw new Exit(1, `Error: invalid port (${port}): ${err}`);
    for (const b of ports?.[`${port}/${proto}`] ?? []) out.push(joinHostPort(b.HostIp, b.HostPort));
  } else {
    for (const [key, list] of Object.entries(ports ?? {}))
      for (const b of list ?? []) out.push(`${key} -> ${joinHostPort(b.HostIp, b.HostPort)}`);
  }
  return out.sort(naturalCompare);
}

/** The error `docker port` prints when the port has no binding. */
export function noPublicPort(filter: string, container: string): string {
  return `Error: No public port '${filter}' published for ${container}`;
}
