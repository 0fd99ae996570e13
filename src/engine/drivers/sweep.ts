// A daemon start's sweep of the host's links: bridges, VXLAN devices, veths and macvlan/ipvlan
// parents that berth made (each marked with a "berth:" alias) for networks or containers that
// no longer exist (a restart after a crash, or after removals that failed halfway).
import { deleteLink, listLinks } from '../../kernel/ip';
import { ALIAS_PREFIX } from './bridge';
import { PARENT_ALIAS } from './macvlan';

/** Remove berth's links except `keep` (every network's own links and every endpoint's veth). */
export async function sweepStaleLinks(keep: { networkLinks: string[]; hostIfnames: string[] }): Promise<void> {
  const own = new Set(keep.networkLinks);
  const veths = new Set(keep.hostIfnames);
  const stale = (await listLinks()).filter((l) => {
    // Parents: marked with their alias, or (made before the alias) by their private name.
    if (l.ifalias?.startsWith(PARENT_ALIAS) || /^d[mi]-[0-9a-f]{12}$/.test(l.ifname)) return !own.has(l.ifname);
    if (!l.ifalias?.startsWith(ALIAS_PREFIX)) return false;
    return ((l.kind === 'bridge' || l.kind === 'vxlan') && !own.has(l.ifname)) || (l.kind === 'veth' && !veths.has(l.ifname));
  });
  // One at a time: one that is gone already (a veth whose peer went first) must not stop the rest.
  for (const l of stale) await deleteLink(l.ifname).catch(() => undefined);
}
