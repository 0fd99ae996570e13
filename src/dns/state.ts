// What the resolver process needs to serve again after it restarts: which containers it
// serves (their network namespace files) and the latest name snapshot. The resolver writes it
// under the exec-root after every change (atomically: a whole new file renamed over the old),
// so a resolver started after one that died reopens every container's sockets at once, before
// berthd even asks. Pure: parsing and printing only.
import type { DnsView } from './records';

interface ResolverState {
  /** container id → its network namespace file */
  serving: Record<string, string>;
  view: DnsView;
}

const FORMAT = 1;

export function printState(s: ResolverState): string {
  return JSON.stringify({ format: FORMAT, serving: s.serving, view: s.view });
}

/**
 * The state in `text`, or null when it is missing, unreadable or of another format (the
 * resolver then starts empty and berthd tells it everything again).
 */
export function parseState(text: string | null): ResolverState | null {
  if (!text) return null;
  let v: any;
  try { v = JSON.parse(text); } catch { return null; }
  if (!v || v.format !== FORMAT || typeof v.serving !== 'object' || !v.serving || !v.view || !Array.isArray(v.view.containers)) return null;
  const serving: Record<string, string> = {};
  for (const [id, ns] of Object.entries(v.serving)) {
    if (/^[0-9a-f]{12,64}$/.test(id) && typeof ns === 'string' && ns.startsWith('/')) serving[id] = ns;
  }
  const containers = (v.view.containers as any[]).filter((c) => c && typeof c.id === 'string' && typeof c.name === 'string'
    && Array.isArray(c.endpoints) && Array.isArray(c.upstreams));
  return { serving, view: { containers } };
}
