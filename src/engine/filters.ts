// Docker's list filters (`--filter key=value`) for containers, networks and images. Pure.
import type { ContainerRecord, NetworkRecord } from './types';
import type { ImageRecord } from '../runtime/images';
import { globRegExp } from '../util/glob';
import { normalizeRef } from '../runtime/refs';
import { isPredefinedNetwork } from './drivers/registry';
import { configuredNetworks } from './netmode';
import { badRequest, noSuchImage } from '../util/errors';

export function validateFilters(filters: Record<string, string[]>, allowed: string[]): void {
  for (const k of Object.keys(filters ?? {})) {
    if (!allowed.includes(k)) throw badRequest(`invalid filter '${k}'`);
  }
}

function labelMatch(labels: Record<string, string> | undefined, wants: string[]): boolean {
  return wants.every((w) => {
    const [k, v] = splitOnce(w, '=');
    if (!labels || !(k in labels)) return false;
    return v === undefined || labels[k] === v;
  });
}

function splitOnce(s: string, sep: string): [string, string | undefined] {
  const i = s.indexOf(sep);
  return i < 0 ? [s, undefined] : [s.slice(0, i), s.slice(i + 1)];
}

/** Docker treats name filters as regular expressions matched anywhere in the name. */
function nameMatch(name: string, wants: string[]): boolean {
  return wants.some((w) => {
    try { return new RegExp(w).test(name); } catch { return name.includes(w); }
  });
}

export function matchContainerFilters(c: ContainerRecord, f: Record<string, string[]>,
                                      findNet: (ref: string) => NetworkRecord | undefined): boolean {
  if (!f) return true;
  if (f.name?.length && !nameMatch(`/${c.Name}`, f.name) && !nameMatch(c.Name, f.name)) return false;
  if (f.id?.length && !f.id.some((id) => c.Id.startsWith(id))) return false;
  if (f.status?.length) {
    for (const s of f.status) {
      if (!['created', 'restarting', 'running', 'removing', 'paused', 'exited', 'dead'].includes(s)) {
        throw badRequest(`Invalid filter 'status=${s}'`);
      }
    }
    if (!f.status.includes(c.State.Status)) return false;
  }
  if (f.exited?.length && (c.State.Running || !f.exited.includes(String(c.State.ExitCode)))) return false;
  if (f.label?.length && !labelMatch(c.Config.Labels, f.label)) return false;
  if (f.ancestor?.length && !f.ancestor.some((a) => c.Image === a || c.ImageID.includes(a))) return false;
  if (f.network?.length) {
    const nets = new Set<string>();
    const mode = c.HostConfig.NetworkMode;
    if (mode === 'host' || mode === 'none') nets.add(mode);
    for (const n of configuredNetworks(c)) nets.add(n);
    for (const n of Object.keys(c.endpoints ?? {})) nets.add(n);
    const ok = f.network.some((want) => {
      const n = findNet(want);
      return nets.has(want) || (n !== undefined && nets.has(n.Name));
    });
    if (!ok) return false;
  }
  return true;
}

export function matchNetworkFilters(n: NetworkRecord, f: Record<string, string[]>, containers: ContainerRecord[]): boolean {
  if (!f) return true;
  if (f.name?.length && !nameMatch(n.Name, f.name)) return false;
  if (f.id?.length && !f.id.some((id) => n.Id.startsWith(id))) return false;
  if (f.driver?.length && !f.driver.includes(n.Driver)) return false;
  if (f.scope?.length && !f.scope.includes(n.Scope)) return false;
  if (f.label?.length && !labelMatch(n.Labels, f.label)) return false;
  const predefined = isPredefinedNetwork(n);
  if (f.type?.length) {
    for (const t of f.type) if (t !== 'custom' && t !== 'builtin') throw badRequest(`invalid filter: 'type'='${t}'`);
    if (!f.type.includes(predefined ? 'builtin' : 'custom')) return false;
  }
  if (f.dangling?.length) {
    const used = containers.some((c) => Object.values(c.endpoints ?? {}).some((e) => e.NetworkID === n.Id));
    const want = ['true', '1'].includes(f.dangling[0]);
    // Docker: the predefined networks are never dangling.
    if (want === (used || predefined)) return false;
  }
  return true;
}

/** The image list filters Docker 20.10 (API 1.41) accepts; `all` changes nothing in berth (no parent layers to hide). */
const IMAGE_FILTERS = ['before', 'dangling', 'label', 'reference', 'since'];

/**
 * `GET /images/json?filters=…`: the images to list, each with the tags to show. As Docker
 * does: a reference filter (Go's path.Match over "name:tag" or "name") keeps only the matching
 * tags and drops untagged images; before/since name an image (404 when none) and keep those
 * created strictly before / after it; dangling=true|false keeps untagged / tagged ones.
 */
export function selectImages(images: ImageRecord[], f: Record<string, string[]>,
                             resolve: (ref: string) => ImageRecord | undefined): Array<{ image: ImageRecord; tags: string[] }> {
  validateFilters(f, IMAGE_FILTERS);
  let dangling: boolean | undefined;
  if (f.dangling?.length) {
    // Docker takes exactly "true" or "false" (with several values, any "true" wins).
    if (f.dangling.includes('true')) dangling = true;
    else if (f.dangling.includes('false')) dangling = false;
    else throw badRequest(`Invalid filter 'dangling=[${f.dangling.join(' ')}]'`);
  }
  const created = (ref: string): number => {
    const img = resolve(ref);
    if (!img) throw noSuchImage(displayRef(ref));
    return Date.parse(img.Created);
  };
  const before = f.before?.length ? Math.min(...f.before.map(created)) : undefined;
  const since = f.since?.length ? Math.max(...f.since.map(created)) : undefined;
  const patterns = (f.reference ?? []).map(globRegExp);
  const out: Array<{ image: ImageRecord; tags: string[] }> = [];
  for (const image of images) {
    const t = Date.parse(image.Created);
    if (before !== undefined && !(t < before)) continue;
    if (since !== undefined && !(t > since)) continue;
    if (dangling !== undefined && dangling !== (image.RepoTags.length === 0)) continue;
    if (f.label?.length && !labelMatch(image.Config?.Labels ?? undefined, f.label)) continue;
    let tags = image.RepoTags;
    if (patterns.length) {
      tags = tags.filter((rt) => {
        const name = rt.slice(0, rt.lastIndexOf(':'));
        return patterns.some((re) => re.test(rt) || re.test(name));
      });
      if (!tags.length) continue;
    }
    out.push({ image, tags });
  }
  return out;
}

/** A reference as Docker's "No such image" names it: name:tag when it parses as a name. */
function displayRef(ref: string): string {
  try { return normalizeRef(ref); } catch { return ref; }
}
