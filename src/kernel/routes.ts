// The daemon namespace's own IPv4 routes, so a new network never takes a subnet the host
// already uses (Docker does the same check before picking a default pool).
import { run } from './exec';

export async function hostRouteSubnets(): Promise<string[]> {
  const res = await run('ip', ['-j', '-4', 'route', 'show'], { allowFail: true });
  if (res.code !== 0) return [];
  try {
    const routes = JSON.parse(res.stdout) as Array<{ dst: string; dev?: string }>;
    return routes.map((r) => r.dst).filter((d) => d && d !== 'default')
      .map((d) => (d.includes('/') ? d : `${d}/32`));
  } catch {
    return [];
  }
}
