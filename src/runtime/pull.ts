// Pulling an image from a registry that speaks the OCI distribution API (Docker Hub, a local
// `registry`): resolve the reference, take anonymous bearer tokens when asked, pick the
// linux/amd64 manifest from an index, and download the config and layers with their digests
// checked. Progress goes out as Docker's JSON messages. Plain HTTP only for localhost and
// --insecure-registry hosts, as dockerd does.
import { createHash } from 'node:crypto';
import { createWriteStream, promises as fs } from 'node:fs';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ApiError } from '../util/errors';

const ACCEPT = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
].join(', ');

interface PullRef { registry: string; repo: string; tag: string; digest?: string; familiar: string }

/** "busybox" → Docker Hub library/busybox:latest; "127.0.0.1:5000/app:v1" → that registry. */
export function parsePullRef(ref: string, tag?: string): PullRef {
  let rest = ref;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) { digest = rest.slice(at + 1); rest = rest.slice(0, at); }
  const slash = rest.lastIndexOf('/');
  const colon = rest.lastIndexOf(':');
  let t = tag || 'latest';
  if (colon > slash) { t = tag || rest.slice(colon + 1); rest = rest.slice(0, colon); }
  const first = rest.split('/')[0];
  const hasRegistry = rest.includes('/') && (first.includes('.') || first.includes(':') || first === 'localhost');
  const registry = hasRegistry ? first : 'registry-1.docker.io';
  let repo = hasRegistry ? rest.slice(first.length + 1) : rest;
  if (!hasRegistry && !repo.includes('/')) repo = `library/${repo}`;
  const familiarName = hasRegistry ? rest : repo.replace(/^library\//, '');
  return { registry, repo, tag: t, digest, familiar: `${familiarName}:${t}` };
}

function insecure(registry: string, insecureRegistries: string[]): boolean {
  const host = registry.replace(/:\d+$/, '');
  return host === 'localhost' || /^127\./.test(host) || insecureRegistries.includes(registry) || insecureRegistries.includes(host);
}

interface Pulled { configText: string; layers: string[]; digest: string }

export class RegistryClient {
  private token: string | null = null;

  constructor(private readonly ref: PullRef, private readonly insecureRegistries: string[] = [],
              private readonly progress: (m: Record<string, unknown>) => void = () => undefined) {}

  private base(): string {
    return `${insecure(this.ref.registry, this.insecureRegistries) ? 'http' : 'https'}://${this.ref.registry}`;
  }

  /** GET with the registry's auth dance: a 401 with a Bearer challenge gets an anonymous token. */
  private async get(url: string, accept?: string): Promise<Response> {
    const headers: Record<string, string> = {};
    if (accept) headers.Accept = accept;
    if (this.token) headers.Authorization = `Bearer ${this.token}`;
    let res: Response;
    try {
      res = await fetch(url, { headers, redirect: 'follow' });
    } catch (e) {
      const cause = (e as any).cause?.message ?? (e as Error).message;
      throw new ApiError(500, `Get "${url}": ${cause}`);
    }
    if (res.status === 401 && !this.token) {
      const challenge = res.headers.get('www-authenticate') ?? '';
      const m = /^Bearer\s+(.*)$/i.exec(challenge);
      if (m) {
        const params = Object.fromEntries([...m[1].matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
        const q = new URLSearchParams();
        if (params.service) q.set('service', params.service);
        q.set('scope', params.scope ?? `repository:${this.ref.repo}:pull`);
        const tr = await fetch(`${params.realm}?${q}`).catch(() => null);
        const body: any = tr && tr.ok ? await tr.json().catch(() => ({})) : {};
        this.token = body.token ?? body.access_token ?? null;
        if (this.token) return this.get(url, accept);
      }
    }
    return res;
  }

  async pull(tmp: string): Promise<Pulled> {
    const r = this.ref;
    let manifest = await this.manifest(r.digest ?? r.tag);
    this.progress({ status: `Pulling from ${r.repo.replace(/^library\//, '')}`, id: r.digest ?? r.tag });
    if (manifest.body.manifests) {
      const pick = manifest.body.manifests.find((m: any) => m.platform?.os === 'linux' && m.platform?.architecture === 'amd64');
      if (!pick) throw new ApiError(404, `no matching manifest for linux/amd64 in the manifest list entries`);
      manifest = await this.manifest(pick.digest);
    }
    const m = manifest.body;
    const configText = (await this.blob(m.config.digest)).toString();
    const layers: string[] = [];
    for (const l of m.layers ?? []) {
      const id = String(l.digest).replace(/^sha256:/, '').slice(0, 12);
      this.progress({ status: 'Pulling fs layer', progressDetail: {}, id });
    }
    for (const l of m.layers ?? []) {
      const id = String(l.digest).replace(/^sha256:/, '').slice(0, 12);
      const file = path.join(tmp, `${id}.layer`);
      await this.blobToFile(l.digest, file);
      this.progress({ status: 'Download complete', progressDetail: {}, id });
      layers.push(file);
    }
    return { configText, layers, digest: manifest.digest };
  }

  private async manifest(reference: string): Promise<{ body: any; digest: string }> {
    const url = `${this.base()}/v2/${this.ref.repo}/manifests/${reference}`;
    const res = await this.get(url, ACCEPT);
    if (res.status === 404 || res.status === 401) {
      throw new ApiError(404, `pull access denied for ${this.ref.familiar.replace(/:[^:/]*$/, '')}, repository does not exist or may require 'docker login': denied: requested access to the resource is denied`);
    }
    if (!res.ok) throw new ApiError(500, `error from registry: ${res.status} ${res.statusText}`);
    const text = Buffer.from(await res.arrayBuffer());
    const digest = `sha256:${createHash('sha256').update(text).digest('hex')}`;
    if (reference.startsWith('sha256:') && reference !== digest) throw new ApiError(500, `manifest digest mismatch: ${digest} is not ${reference}`);
    return { body: JSON.parse(text.toString()), digest: res.headers.get('docker-content-digest') ?? digest };
  }

  private async blob(digest: string): Promise<Buffer> {
    const res = await this.get(`${this.base()}/v2/${this.ref.repo}/blobs/${digest}`);
    if (!res.ok) throw new ApiError(500, `error pulling blob ${digest}: ${res.status}`);
    const buf = Buffer.from(await res.arrayBuffer());
    check(digest, createHash('sha256').update(buf).digest('hex'));
    return buf;
  }

  private async blobToFile(digest: string, file: string): Promise<void> {
    const res = await this.get(`${this.base()}/v2/${this.ref.repo}/blobs/${digest}`);
    if (!res.ok || !res.body) throw new ApiError(500, `error pulling blob ${digest}: ${res.status}`);
    const hash = createHash('sha256');
    const src = Readable.fromWeb(res.body as any);
    src.on('data', (b: Buffer) => hash.update(b));
    await pipeline(src, createWriteStream(file));
    check(digest, hash.digest('hex'));
  }
}

function check(digest: string, hex: string): void {
  if (digest !== `sha256:${hex}`) throw new ApiError(500, `filesystem layer verification failed for digest ${digest}`);
}
