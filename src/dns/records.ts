// The embedded resolver's name table: which names a container may resolve, and to what.
// Pure: built from a snapshot of running containers (DnsView), rebuilt on every change.
//
// Scope is Docker's: a container resolves the containers it shares a user-defined network
// with, by name, network alias, short id, hostname and "<name>.<network>", each to the
// target's address on the shared network (A: its IPv4 address, AAAA: its IPv6 address on a
// dual-stack network). Several containers with one name or alias answer all their addresses,
// in rotating order. Reverse lookups (in-addr.arpa and ip6.arpa) answer "<name>.<network>".
import { arpaToIp6, canonicalIp6, ip6ToString } from '../ipam/subnet6';

interface DnsEndpoint {
  networkId: string;
  networkName: string;
  ip: string;
  /** Its IPv6 address on a dual-stack network (AAAA answers, ip6.arpa PTR). */
  ip6?: string;
  aliases: string[];
  /** Legacy links of this container here: alias → target name, names only it resolves. */
  links?: Record<string, string>;
}

export interface DnsContainer {
  id: string;
  name: string;
  hostname: string;
  endpoints: DnsEndpoint[];     // user-defined networks only
  upstreams: string[];          // where its other queries go (--dns, else the host's servers); [] when it has no way out (nothing is forwarded)
}

export interface DnsView {
  containers: DnsContainer[];
}

const norm = (name: string) => name.toLowerCase().replace(/\.$/, '');

export class NameTable {
  /** network id → name → addresses on that network */
  private readonly names = new Map<string, Map<string, string[]>>();
  /** network id → name → IPv6 addresses on that network */
  private readonly names6 = new Map<string, Map<string, string[]>>();
  /** network id → address (IPv6 in canonical form) → PTR name */
  private readonly reverse = new Map<string, Map<string, string>>();
  /** container id → the container (who asks: each container has its own resolver sockets) */
  private readonly askers = new Map<string, DnsContainer>();
  /** `rotation` survives rebuilds of the table, so round robin goes on across changes. */
  constructor(view: DnsView, private readonly rotation = new Map<string, number>()) {
    for (const c of view.containers) {
      this.askers.set(c.id, c);
      for (const ep of c.endpoints) {
        const own = [...new Set([c.name, c.hostname, c.id.slice(0, 12), `${c.name}.${ep.networkName}`, ...ep.aliases]
          .filter(Boolean).map(norm))];
        const ptrName = `${c.name}.${ep.networkName}`;
        if (ep.ip) {
          addAll(mapOf(this.names, ep.networkId), own, ep.ip);
          mapOf(this.reverse, ep.networkId).set(ep.ip, ptrName);
        }
        const ip6 = ep.ip6 ? canonicalIp6(ep.ip6) : null;
        if (ip6) {
          addAll(mapOf(this.names6, ep.networkId), own, ip6);
          mapOf(this.reverse, ep.networkId).set(ip6, ptrName);
        }
      }
    }
  }

  /** The running container with this id (who is asking), if any. */
  asker(containerId: string): DnsContainer | undefined {
    return this.askers.get(containerId);
  }

  /**
   * Addresses for `qname` as `asker` sees them (IPv4, or IPv6 with `v6`), rotated one step per
   * call; [] if unknown.
   */
  lookup(asker: DnsContainer, qname: string, v6 = false): string[] {
    const name = norm(qname);
    const out: string[] = [];
    for (const ep of asker.endpoints) {
      for (const ip of this.on(ep, name, v6 ? this.names6 : this.names)) if (!out.includes(ip)) out.push(ip);
    }
    if (out.length < 2) return out;
    const key = `${asker.id}|${v6 ? '6|' : ''}${name}`;
    const n = this.rotation.get(key) ?? 0;
    this.rotation.set(key, (n + 1) % out.length);
    return [...out.slice(n % out.length), ...out.slice(0, n % out.length)];
  }

  /** Whether `qname` is a container name the asker can see (a name without addresses of the asked family: empty NOERROR). */
  knows(asker: DnsContainer, qname: string): boolean {
    const name = norm(qname);
    return asker.endpoints.some((ep) => this.on(ep, name, this.names).length > 0 || this.on(ep, name, this.names6).length > 0);
  }

  /** Addresses of `name` on an asker's network: its links first (their target may come later), then everyone's names. */
  private on(ep: DnsEndpoint, name: string, table: Map<string, Map<string, string[]>>): string[] {
    const names = table.get(ep.networkId);
    const target = ep.links?.[name];
    const linked = target !== undefined ? names?.get(norm(target)) ?? [] : [];
    return [...linked, ...(names?.get(name) ?? [])];
  }

  /**
   * The name for a reverse query ("4.0.18.172.in-addr.arpa", or an ip6.arpa name), if the
   * address is on a shared network.
   */
  ptr(asker: DnsContainer, qname: string): string | undefined {
    const ip = ptrToIp(qname);
    if (!ip) return undefined;
    for (const ep of asker.endpoints) {
      const name = this.reverse.get(ep.networkId)?.get(ip);
      if (name) return name;
    }
    return undefined;
  }
}

/**
 * "2.0.17.172.in-addr.arpa" → "172.17.0.2", a 32-nibble ip6.arpa name → the IPv6 address in
 * canonical form; anything else → undefined.
 */
export function ptrToIp(qname: string): string | undefined {
  const six = arpaToIp6(qname);
  if (six !== null) return ip6ToString(six);
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.in-addr\.arpa\.?$/i.exec(qname);
  if (!m) return undefined;
  const parts = m.slice(1, 5).reverse().map(Number);
  return parts.every((p) => p <= 255) ? parts.join('.') : undefined;
}

function addAll(names: Map<string, string[]>, own: string[], ip: string): void {
  for (const n of own) {
    const list = names.get(n) ?? [];
    if (!list.includes(ip)) list.push(ip);
    names.set(n, list);
  }
}

function mapOf<K, V>(m: Map<string, Map<K, V>>, key: string): Map<K, V> {
  let v = m.get(key);
  if (!v) { v = new Map(); m.set(key, v); }
  return v;
}
