// Image references ("busybox", "busybox:1.36", "registry:5000/team/app:v1") and the whiteout
// rules of image layers. Pure, so both are unit-tested.
import { badRequest } from '../util/errors';

const COMPONENT = '[a-z0-9]+(?:(?:[._]|__|[-]*)[a-z0-9]+)*';
const DOMAIN = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])(?:\\.(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]))*(?::[0-9]+)?';
const NAME_RE = new RegExp(`^(?:${DOMAIN}/)?${COMPONENT}(?:/${COMPONENT})*$`);
const TAG_RE = /^[\w][\w.-]{0,127}$/;

/** Split a reference into name and tag (default "latest"); throws Docker's 400 when malformed. */
export function parseRef(ref: string): { name: string; tag: string } {
  const slash = ref.lastIndexOf('/');
  const colon = ref.lastIndexOf(':');
  let name = ref;
  let tag = 'latest';
  if (colon > slash) { name = ref.slice(0, colon); tag = ref.slice(colon + 1); }
  if (!NAME_RE.test(name) || !TAG_RE.test(tag)) {
    if (name.toLowerCase() !== name && NAME_RE.test(name.toLowerCase())) {
      throw badRequest('invalid reference format: repository name must be lowercase');
    }
    throw badRequest('invalid reference format');
  }
  // Docker's familiar form: "docker.io/library/busybox" is "busybox" (the docker CLI sends
  // fully qualified names, e.g. for `docker tag`).
  name = name.replace(/^(?:docker\.io|index\.docker\.io)\/(?:library\/(?=[^/]+$))?/, '');
  return { name, tag };
}

/** "busybox" → "busybox:latest". */
export function normalizeRef(ref: string): string {
  const { name, tag } = parseRef(ref);
  return `${name}:${tag}`;
}

/** What one layer's whiteout entries remove from the layers below it. */
interface WhiteoutPlan {
  /** Paths (relative to the rootfs) to delete: `dir/.wh.name` hides `dir/name`. */
  remove: string[];
  /** Directories whose lower contents vanish: `dir/.wh..wh..opq` makes `dir` opaque. */
  clear: string[];
}

/** Plan the deletions for a layer from the names its tar lists (`tar -t`), before extracting it. */
export function whiteoutPlan(entries: string[]): WhiteoutPlan {
  const remove: string[] = [];
  const clear: string[] = [];
  for (const raw of entries) {
    const name = raw.replace(/^\.?\/+/, '').replace(/\/+$/, '');
    const parts = name.split('/');
    const base = parts[parts.length - 1];
    if (!base.startsWith('.wh.')) continue;
    if (parts.some((p) => p === '..')) throw new Error(`invalid layer entry: ${raw}`);
    const dir = parts.slice(0, -1).join('/');
    if (base === '.wh..wh..opq') clear.push(dir);
    else {
      const target = base.slice('.wh.'.length);
      if (!target || target === '.' || target === '..') throw new Error(`invalid whiteout: ${raw}`);
      remove.push(dir ? `${dir}/${target}` : target);
    }
  }
  return { remove, clear };
}

/** Layer chain ids as Docker computes them (shown as "Deleted: sha256:…" by `rmi`). */
export function chainIds(diffIds: string[], sha256: (s: string) => string): string[] {
  const out: string[] = [];
  for (const d of diffIds) out.push(out.length === 0 ? d : `sha256:${sha256(`${out[out.length - 1]} ${d}`)}`);
  return out;
}
