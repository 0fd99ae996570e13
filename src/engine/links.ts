// Legacy container links (`--link NAME[:ALIAS]`), Docker's rules, pure. On the default bridge a
// link is recorded in HostConfig.Links as "/target:/linker/alias", and at start gives the linking
// container an /etc/hosts line and the target's environment and ports as <ALIAS>_* variables.
// On a user-defined network a link is only a name the linking container alone can resolve
// (the embedded resolver answers it), kept in the endpoint's Links as "target:alias".
import { badRequest } from '../util/errors';

interface Link { target: string; alias: string }

/**
 * "name", "name:alias", or the recorded form "/name:/linker/alias". Docker answers a spec with
 * more parts "bad format for links".
 */
export function parseLink(spec: unknown): Link {
  if (typeof spec !== 'string' || spec === '') throw badRequest(`bad format for links: ${String(spec)}`);
  const parts = spec.split(':');
  if (parts.length > 2 || parts.some((p) => p === '' || p === '/')) throw badRequest(`bad format for links: ${spec}`);
  const target = parts[0].replace(/^\//, '');
  const alias = (parts[1] ?? target).split('/').pop()!;
  if (!target || !alias || target.includes('/')) throw badRequest(`bad format for links: ${spec}`);
  return { target, alias };
}

/** How HostConfig.Links records a link (what `docker inspect` shows and `rm --link` names). */
export function recordedLink(targetName: string, linkerName: string, alias: string): string {
  return `/${targetName}:/${linkerName}/${alias}`;
}

interface LinkTarget {
  name: string;
  ip: string;
  env: string[];
  exposed: string[];  // "80/tcp", "53/udp"
}

/** The variables a link gives the linking container (Docker's names and order). */
export function linkEnv(linkerName: string, alias: string, t: LinkTarget): string[] {
  const prefix = alias.toUpperCase().replace(/-/g, '_');
  const out = [`${prefix}_NAME=/${linkerName}/${alias}`];
  for (const kv of t.env) {
    const eq = kv.indexOf('=');
    const key = eq < 0 ? kv : kv.slice(0, eq);
    if (key === 'HOME' || key === 'PATH' || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) continue;
    out.push(`${prefix}_ENV_${key}=${eq < 0 ? '' : kv.slice(eq + 1)}`);
  }
  const ports = t.exposed.map((p) => {
    const [num, proto = 'tcp'] = p.split('/');
    return { port: Number(num), proto: proto.toLowerCase() };
  }).filter((p) => Number.isInteger(p.port))
    // By number; tcp before other protocols on one number.
    .sort((a, b) => a.port - b.port || (a.proto === 'tcp' ? -1 : b.proto === 'tcp' ? 1 : a.proto.localeCompare(b.proto)));
  if (ports.length) out.push(`${prefix}_PORT=${ports[0].proto}://${t.ip}:${ports[0].port}`);
  for (const p of ports) {
    const base = `${prefix}_PORT_${p.port}_${p.proto.toUpperCase()}`;
    out.push(`${base}=${p.proto}://${t.ip}:${p.port}`, `${base}_ADDR=${t.ip}`, `${base}_PORT=${p.port}`, `${base}_PROTO=${p.proto}`);
  }
  return out;
}

/**
 * An endpoint's Links ("target:alias", the form berth records) from what a client sent, for a
 * user-defined network; on the default bridge a link is a legacy one, given at create (--link).
 */
export function endpointLinks(raw: unknown, where: string, defaultBridge: boolean): string[] | undefined {
  if (raw === null || raw === undefined) return undefined;
  if (!Array.isArray(raw)) throw badRequest(`${where}.Links: must be a list of "name:alias"`);
  if (!raw.length) return undefined;
  if (defaultBridge) {
    throw badRequest(`${where}.Links: links of an endpoint are supported only on user defined networks (on the default bridge, give --link when the container is created)`);
  }
  return raw.map((l) => { const k = parseLink(l); return `${k.target}:${k.alias}`; });
}
