// A container's environment: the image's, then the container's (or an exec's) on top.

/** Image env first, then the container's; a later KEY=... replaces an earlier one in place. */
export function mergeEnv(base: string[], extra: string[]): string[] {
  const out: string[] = [];
  const index = new Map<string, number>();
  for (const e of [...base, ...extra]) {
    const key = e.split('=')[0];
    if (index.has(key)) out[index.get(key)!] = e;
    else { index.set(key, out.length); out.push(e); }
  }
  return out;
}
