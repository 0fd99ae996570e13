// iproute2, batched: one `ip -batch -` per change (≈2 ms per exec), in the daemon's namespace
// or, through nsenter, in a container's (`ip -n` only takes names under /run/netns).
import { existsSync } from 'node:fs';
import { run } from './exec';

export async function ipBatch(lines: string[], netnsPath?: string): Promise<void> {
  if (!lines.length) return;
  const input = lines.join('\n') + '\n';
  if (netnsPath) await run('nsenter', [`--net=${netnsPath}`, 'ip', '-batch', '-'], { input });
  else await run('ip', ['-batch', '-'], { input });
}

/**
 * Whether an interface exists in this process's network namespace. /proc/sys/net is per
 * namespace (as seen by the reader), while /sys/class/net shows the namespace that mounted sysfs.
 */
export function linkExists(name: string): boolean {
  return existsSync(`/proc/sys/net/ipv4/conf/${name}`);
}

interface LinkInfo { ifname: string; ifalias?: string; kind?: string }

export async function listLinks(): Promise<LinkInfo[]> {
  const r = await run('ip', ['-j', '-d', 'link', 'show']);
  return (JSON.parse(r.stdout || '[]') as any[]).map((l) => ({
    ifname: l.ifname, ifalias: l.ifalias, kind: l.linkinfo?.info_kind,
  }));
}

/** An interface of this namespace as it is now: what a restarted daemon compares with what it wants. */
export interface LinkState {
  up: boolean;
  mtu: number;
  master?: string;
  ifalias?: string;
  /** IPv4 addresses as "address/prefix". */
  addrs: string[];
  /** IPv6 addresses but link-local ones, as "address/prefix". */
  addrs6: string[];
  /** A bridge port's flags (undefined on other links). */
  port?: { hairpin: boolean; isolated: boolean };
}

/** `ip -d addr show dev NAME`, or null when there is no such interface. */
export async function linkState(name: string): Promise<LinkState | null> {
  const r = await run('ip', ['-j', '-d', 'addr', 'show', 'dev', name], { allowFail: true });
  if (r.code !== 0) return null;
  const l = (JSON.parse(r.stdout || '[]') as any[])[0];
  if (!l) return null;
  const slave = l.linkinfo?.info_slave_kind === 'bridge' ? l.linkinfo.info_slave_data ?? {} : undefined;
  return {
    up: (l.flags ?? []).includes('UP'),
    mtu: l.mtu,
    master: l.master,
    ifalias: l.ifalias,
    addrs: (l.addr_info ?? []).filter((a: any) => a.family === 'inet').map((a: any) => `${a.local}/${a.prefixlen}`),
    addrs6: (l.addr_info ?? []).filter((a: any) => a.family === 'inet6' && a.scope !== 'link').map((a: any) => `${a.local}/${a.prefixlen}`),
    port: slave ? { hairpin: !!slave.hairpin, isolated: !!slave.isolated } : undefined,
  };
}

/** Delete an interface of this namespace if it is there (its veth peer goes with it). */
export async function deleteLink(name: string): Promise<void> {
  if (linkExists(name)) await run('ip', ['link', 'del', name], { allowFail: true });
}

/** Whether an interface exists inside the namespace pinned at `netnsPath`. */
export async function linkExistsIn(netnsPath: string, name: string): Promise<boolean> {
  const r = await run('nsenter', [`--net=${netnsPath}`, 'ip', 'link', 'show', 'dev', name], { allowFail: true });
  return r.code === 0;
}

/** The interfaces inside the namespace pinned at `netnsPath` (none if it cannot be entered). */
export async function listLinksIn(netnsPath: string): Promise<LinkInfo[]> {
  const r = await run('nsenter', [`--net=${netnsPath}`, 'ip', '-j', '-d', 'link', 'show'], { allowFail: true });
  if (r.code !== 0) return [];
  return (JSON.parse(r.stdout || '[]') as any[]).map((l) => ({ ifname: l.ifname, ifalias: l.ifalias, kind: l.linkinfo?.info_kind }));
}

/** `bridge` (iproute2) commands, batched like ipBatch: FDB entries of bridges and VXLAN devices. */
export async function bridgeBatch(lines: string[]): Promise<void> {
  if (lines.length) await run('bridge', ['-batch', '-'], { input: lines.join('\n') + '\n' });
}

export interface FdbEntry { mac: string; dst?: string; master?: string; flags?: string[]; state?: string }

/** The forwarding entries of one device (`bridge -j fdb show dev DEV`). */
export async function fdbEntries(dev: string): Promise<FdbEntry[]> {
  const r = await run('bridge', ['-j', 'fdb', 'show', 'dev', dev], { allowFail: true });
  return JSON.parse(r.stdout || '[]') as FdbEntry[];
}
