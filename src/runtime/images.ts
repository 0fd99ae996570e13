// The image store: rootfs directories extracted with the system tar (ownership, modes, devices
// and hard links exactly as in the archive), Docker-shaped configs whose sha256 is the image id,
// and a repositories index "name:tag" → id. The built-in `host:latest` image is the host's own
// root, used read-only as the lower layer of each container's overlay.
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, promises as fs } from 'node:fs';
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Transform } from 'node:stream';
import { run } from '../kernel/exec';
import { ApiError, badRequest, conflict, errnoWords, noSuchImage, serverError } from '../util/errors';
import { DEFAULT_PATH } from './spec';
import { parsePullRef, RegistryClient } from './pull';
import { applyChanges, emptyImageConfig, normalizeImageConfig, type ImageConfig } from './changes';
import { chainIds, normalizeRef, parseRef, whiteoutPlan } from './refs';
import { writeDurably } from '../store/durable';
import { log as logger } from '../util/log';

export interface ImageRecord {
  Id: string;                 // "sha256:<64 hex>"
  RepoTags: string[];
  Created: string;
  Size: number;
  Architecture: string;
  Os: string;
  Comment: string;
  Config: ImageConfig;
  /** Layer chain ids, bottom first (what `rmi` reports as deleted). */
  Layers: string[];
  /** The extracted root filesystem; null = the host's own / (the built-in host image). */
  rootfs: string | null;
}

type Stored = Omit<ImageRecord, 'RepoTags' | 'rootfs'> & { host?: boolean };

const HOST_REF = 'host:latest';
/** What `image inspect host` says it is. */
export const HOST_IMAGE_COMMENT = 'the host root, copy-on-write';

const sha256 = (s: string | Buffer) => createHash('sha256').update(s).digest('hex');

export class ImageStore {
  private readonly dir: string;
  private readonly images = new Map<string, Stored>();   // by full id
  private repos: Record<string, string> = {};            // "name:tag" → id

  constructor(dataRoot: string) { this.dir = path.join(dataRoot, 'images'); }

  async init(): Promise<void> {
    await fs.mkdir(this.dir, { recursive: true });
    await fs.rm(path.join(this.dir, 'tmp'), { recursive: true, force: true });
    await fs.rm(`${this.reposFile()}.tmp`, { force: true }); // a write of the tags cut short
    this.repos = JSON.parse(await fs.readFile(this.reposFile(), 'utf8').catch(() => '{}'));
    for (const e of await fs.readdir(this.dir, { withFileTypes: true })) {
      if (!e.isDirectory() || !/^[0-9a-f]{64}$/.test(e.name)) continue;
      const rec = await fs.readFile(path.join(this.dir, e.name, 'image.json'), 'utf8').then(JSON.parse, () => null);
      if (rec) this.images.set(rec.Id, rec);
      else await fs.rm(path.join(this.dir, e.name), { recursive: true, force: true }); // half-written
    }
    for (const [ref, id] of Object.entries(this.repos)) if (!this.images.has(id)) delete this.repos[ref];
    await this.ensureHostImage();
  }

  /** Newest first, as `docker images` lists them. */
  list(): ImageRecord[] {
    return [...this.images.values()].map((s) => this.record(s)).sort((a, b) => b.Created.localeCompare(a.Created));
  }

  /** name, name:tag, sha256:<full or prefix>, or an id prefix. */
  resolve(ref: string): ImageRecord | undefined {
    if (!ref) return undefined;
    try {
      const id = this.repos[normalizeRef(ref)];
      if (id) return this.record(this.images.get(id)!);
    } catch { /* not a valid name: may still be an id */ }
    const hex = ref.startsWith('sha256:') ? ref.slice(7) : ref;
    if (!/^[0-9a-f]{1,64}$/.test(hex) || (!ref.startsWith('sha256:') && hex.length < 4 && hex.length !== 64)) return undefined;
    const matches = [...this.images.keys()].filter((id) => id.slice(7).startsWith(hex));
    return matches.length === 1 ? this.record(this.images.get(matches[0])!) : undefined;
  }

  /** `docker import`: a rootfs tarball (optionally compressed) plus --change instructions. */
  async importTar(src: Readable, ref: string | undefined, changes: string[]): Promise<ImageRecord> {
    const config = applyChanges(emptyImageConfig(), changes ?? []);
    const tag = ref ? normalizeRef(ref) : undefined;
    const tmp = await this.tmpDir();
    try {
      const tarFile = path.join(tmp, 'layer.tar');
      const diffId = await saveHashed(src, tarFile);
      const rootfs = path.join(tmp, 'rootfs');
      await fs.mkdir(rootfs);
      await untar(tarFile, rootfs);
      await fs.rm(tarFile);
      const created = new Date().toISOString();
      const comment = 'Imported from -';
      const imageConfig = {
        architecture: 'amd64', comment, config, container_config: emptyImageConfig(), created,
        docker_version: 'berth', history: [{ created, comment }], os: 'linux',
        rootfs: { type: 'layers', diff_ids: [`sha256:${diffId}`] },
      };
      const rec = await this.commit(tmp, JSON.stringify(imageConfig), imageConfig);
      if (tag) await this.setTag(tag, rec.Id);
      return this.record(this.images.get(rec.Id)!);
    } finally {
      await fs.rm(tmp, { recursive: true, force: true });
    }
  }

  /** `docker load`: a `docker save` archive; returns the tags loaded (or ids of untagged images). */
  async load(src: Readable): Promise<string[]> {
    const tmp = await this.tmpDir();
    try {
      const archive = path.join(tmp, 'archive.tar');
      await saveHashed(src, archive);
      const dir = path.join(tmp, 'archive');
      await fs.mkdir(dir);
      await untar(archive, dir);
      await fs.rm(archive);
      const manifestText = await fs.readFile(path.join(dir, 'manifest.json'), 'utf8').catch(() => null);
      // What the archive holds is the client's: a malformed one is a 400 that says what is wrong.
      if (manifestText === null) throw badRequest('invalid image archive: it has no manifest.json (a `docker save` archive has)');
      let manifest: Array<{ Config: string; RepoTags: string[] | null; Layers: string[] }>;
      try { manifest = JSON.parse(manifestText); } catch (e) { throw badRequest(`invalid image archive: manifest.json: ${(e as Error).message}`); }
      if (!Array.isArray(manifest) || manifest.some((e) => typeof e?.Config !== 'string' || !Array.isArray(e.Layers) ||
          e.Layers.some((l) => typeof l !== 'string') || !(e.RepoTags == null || (Array.isArray(e.RepoTags) && e.RepoTags.every((t) => typeof t === 'string'))))) {
        throw badRequest('invalid image archive: manifest.json must list images, each with Config, Layers and RepoTags');
      }
      const loaded: string[] = [];
      for (const entry of manifest) {
        const configText = await fs.readFile(safeJoin(dir, entry.Config), 'utf8')
          .catch(() => { throw badRequest(`invalid image archive: ${entry.Config} is missing`); });
        try { JSON.parse(configText); } catch (e) { throw badRequest(`invalid image archive: ${entry.Config}: ${(e as Error).message}`); }
        const id = `sha256:${sha256(configText)}`;
        if (!this.images.has(id)) {
          const work = path.join(tmp, `img-${sha256(configText).slice(0, 12)}`);
          const rootfs = path.join(work, 'rootfs');
          await fs.mkdir(rootfs, { recursive: true });
          for (const layer of entry.Layers) await applyLayer(safeJoin(dir, layer), rootfs);
          await this.commit(work, configText, JSON.parse(configText));
        }
        const tags = (entry.RepoTags ?? []).map(normalizeRef);
        for (const t of tags) await this.setTag(t, id);
        loaded.push(...(tags.length ? tags : [id]));
      }
      return loaded;
    } finally {
      await fs.rm(tmp, { recursive: true, force: true });
    }
  }

  /**
   * `docker pull`: the image from a registry, as Docker's progress messages. Resolves with the
   * final status line's image id; `progress` gets each message.
   */
  async pull(ref: string, tag: string | undefined, insecureRegistries: string[], progress: (m: Record<string, unknown>) => void): Promise<string> {
    const r = parsePullRef(ref, tag);
    const tmp = await this.tmpDir();
    try {
      const got = await new RegistryClient(r, insecureRegistries, progress).pull(tmp);
      const id = `sha256:${sha256(got.configText)}`;
      const had = this.images.has(id);
      if (!had) {
        const work = path.join(tmp, 'img');
        const rootfs = path.join(work, 'rootfs');
        await fs.mkdir(rootfs, { recursive: true });
        for (const layer of got.layers) {
          await applyLayer(layer, rootfs);
          progress({ status: 'Pull complete', progressDetail: {}, id: path.basename(layer, '.layer') });
        }
        await this.commit(work, got.configText, JSON.parse(got.configText));
      }
      const name = normalizeRef(r.familiar);
      const newer = this.repos[name] !== id;
      await this.setTag(name, id);
      progress({ status: `Digest: ${got.digest}` });
      progress({ status: newer || !had ? `Status: Downloaded newer image for ${r.familiar}` : `Status: Image is up to date for ${r.familiar}` });
      return id;
    } finally {
      await fs.rm(tmp, { recursive: true, force: true });
    }
  }

  /**
   * `docker save`: a tar stream in `docker load`'s format (manifest.json, one config and one
   * layer per image: berth keeps images flattened, so the layer is the whole root filesystem
   * and the config's diff_ids say so). The host image cannot be saved.
   */
  async save(refs: string[]): Promise<Readable> {
    const tmp = await this.tmpDir();
    try {
      const manifest: Array<{ Config: string; RepoTags: string[]; Layers: string[] }> = [];
      for (const ref of refs) {
        const img = this.resolve(ref);
        if (!img) throw noSuchImage(ref);
        if (img.rootfs === null) throw badRequest('the host image is the host itself and cannot be saved');
        const hex = img.Id.slice(7);
        const layerRel = `${hex}/layer.tar`;
        await fs.mkdir(path.join(tmp, hex), { recursive: true });
        const layer = path.join(tmp, layerRel);
        await run('tar', ['-C', img.rootfs, '--numeric-owner', '-cf', layer, '.']);
        const diffId = `sha256:${await fileSha256(layer)}`;
        const stored = JSON.parse(await fs.readFile(path.join(this.dir, hex, 'config.json'), 'utf8'));
        const config = JSON.stringify({ ...stored, rootfs: { type: 'layers', diff_ids: [diffId] } });
        const configRel = `${sha256(config)}.json`;
        await fs.writeFile(path.join(tmp, configRel), config);
        const tags = /^(sha256:)?[0-9a-f]{6,64}$/.test(ref) ? [] : [normalizeRef(ref)];
        const known = manifest.find((m) => m.Config === configRel);
        if (known) known.RepoTags.push(...tags.filter((t) => !known.RepoTags.includes(t)));
        else manifest.push({ Config: configRel, RepoTags: tags, Layers: [layerRel] });
      }
      await fs.writeFile(path.join(tmp, 'manifest.json'), JSON.stringify(manifest));
    } catch (e) {
      await fs.rm(tmp, { recursive: true, force: true });
      throw e;
    }
    logger.debug(`exec: tar -C ${tmp} -cf - .`);
    const child = spawn('tar', ['-C', tmp, '-cf', '-', '.'], { stdio: ['ignore', 'pipe', 'ignore'] });
    child.on('close', () => { fs.rm(tmp, { recursive: true, force: true }).catch(() => undefined); });
    return child.stdout!;
  }

  async tag(ref: string, newRef: string): Promise<void> {
    const img = this.resolve(ref);
    if (!img) throw noSuchImage(ref);
    await this.setTag(normalizeRef(newRef), img.Id);
  }

  /**
   * `docker rmi`: a tag is untagged, and the image goes when no tag is left; an id removes the
   * image with all its tags (several tags need force, as in Docker).
   */
  async remove(ref: string, opts: { force: boolean }): Promise<Array<{ Untagged?: string; Deleted?: string }>> {
    const img = this.resolve(ref);
    if (!img) throw noSuchImage(ref);
    const out: Array<{ Untagged?: string; Deleted?: string }> = [];
    let byTag: string | undefined;
    try { const n = normalizeRef(ref); if (this.repos[n] === img.Id) byTag = n; } catch { /* an id */ }
    const untag = byTag ? [byTag] : img.RepoTags;
    if (!byTag && img.RepoTags.length > 1 && !opts.force) {
      throw conflict(`conflict: unable to delete ${img.Id.slice(7, 19)} (must be forced) - image is referenced in multiple repositories`);
    }
    const remaining = img.RepoTags.filter((t) => !untag.includes(t));
    const stored = this.images.get(img.Id)!;
    if (stored.host && remaining.length === 0) {
      throw conflict(`conflict: unable to delete ${img.Id.slice(7, 19)} - it is berth's built-in image ${HOST_REF}`);
    }
    const before = { ...this.repos };
    for (const t of untag) { delete this.repos[t]; out.push({ Untagged: t }); }
    try {
      await this.saveRepos();
    } catch (e) {
      this.repos = before; // not recorded, not untagged
      throw e;
    }
    if (remaining.length) return out;
    this.images.delete(img.Id);
    out.push({ Deleted: img.Id });
    const stillUsed = new Set([...this.images.values()].flatMap((s) => s.Layers));
    for (const l of [...img.Layers].reverse()) if (!stillUsed.has(l)) out.push({ Deleted: l });
    await fs.rm(path.join(this.dir, img.Id.slice(7)), { recursive: true, force: true });
    return out;
  }

  // ---------------------------------------------------------------- internals

  private record(s: Stored): ImageRecord {
    const { host, ...rest } = s;
    return {
      ...rest,
      RepoTags: Object.entries(this.repos).filter(([, id]) => id === s.Id).map(([r]) => r).sort(),
      rootfs: host ? null : path.join(this.dir, s.Id.slice(7), 'rootfs'),
    };
  }

  /** Move a finished work dir (holding rootfs/) into place as the image `configText` names. */
  private async commit(work: string, configText: string, cfg: any): Promise<Stored> {
    const hex = sha256(configText);
    const rootfs = path.join(work, 'rootfs');
    const diffIds: string[] = cfg.rootfs?.diff_ids ?? [];
    const rec: Stored = {
      Id: `sha256:${hex}`,
      Created: cfg.created ?? new Date().toISOString(),
      Size: await treeSize(rootfs),
      Architecture: cfg.architecture ?? 'amd64',
      Os: cfg.os ?? 'linux',
      Comment: cfg.comment ?? '',
      Config: normalizeImageConfig(cfg.config),
      Layers: chainIds(diffIds, sha256),
    };
    const dest = path.join(this.dir, hex);
    if (!this.images.has(rec.Id)) {
      // image.json last, whole or not at all: a directory without it is a half-written image
      // that init() removes; a failure here (a full disk) removes it at once.
      try {
        await fs.rm(dest, { recursive: true, force: true });
        await fs.mkdir(dest);
        await fs.rename(rootfs, path.join(dest, 'rootfs'));
        await fs.writeFile(path.join(dest, 'config.json'), configText);
        await writeDurably(path.join(dest, 'image.json'), JSON.stringify(rec), path.join(dest, 'image.json.tmp'));
      } catch (e) {
        await fs.rm(dest, { recursive: true, force: true }).catch(() => undefined);
        throw storageError('image', e);
      }
      this.images.set(rec.Id, rec);
    }
    return this.images.get(rec.Id)!;
  }

  private async ensureHostImage(): Promise<void> {
    let host = [...this.images.values()].find((s) => s.host);
    if (!host) {
      const created = new Date().toISOString();
      const config = { ...emptyImageConfig(), Env: [DEFAULT_PATH], Cmd: ['/bin/sh'] };
      const comment = HOST_IMAGE_COMMENT;
      const text = JSON.stringify({ architecture: 'amd64', comment, config, created, os: 'linux', rootfs: { type: 'layers', diff_ids: [] } });
      const hex = sha256(text);
      host = { Id: `sha256:${hex}`, Created: created, Size: 0, Architecture: 'amd64', Os: 'linux', Comment: comment, Config: normalizeImageConfig(config), Layers: [], host: true };
      const dest = path.join(this.dir, hex);
      await fs.mkdir(dest, { recursive: true });
      await fs.writeFile(path.join(dest, 'config.json'), text);
      await fs.writeFile(path.join(dest, 'image.json'), JSON.stringify(host));
      this.images.set(host.Id, host);
    }
    if (this.repos[HOST_REF] !== host.Id) await this.setTag(HOST_REF, host.Id);
  }

  private async setTag(ref: string, id: string): Promise<void> {
    parseRef(ref);
    const before = this.repos[ref];
    this.repos[ref] = id;
    try {
      await this.saveRepos();
    } catch (e) {
      // Not recorded, not tagged.
      if (before === undefined) delete this.repos[ref]; else this.repos[ref] = before;
      throw e;
    }
  }

  private reposFile(): string { return path.join(this.dir, 'repositories.json'); }

  /** The tags, whole (temporary file, fsync, rename): a failed write leaves the old ones and no temporary file. */
  private async saveRepos(): Promise<void> {
    try {
      await writeDurably(this.reposFile(), JSON.stringify(this.repos, null, 1), `${this.reposFile()}.tmp`);
    } catch (e) {
      throw storageError('image tags', e);
    }
  }

  private async tmpDir(): Promise<string> {
    await fs.mkdir(path.join(this.dir, 'tmp'), { recursive: true });
    return fs.mkdtemp(path.join(this.dir, 'tmp', 'work-'));
  }
}

/** A failed write of the image store, worded for the user (ENOSPC: "no space left on device"). */
function storageError(what: string, e: unknown): Error {
  if (e instanceof ApiError) return e;
  const err = e as NodeJS.ErrnoException;
  const why = errnoWords(err.code);
  if (why) return new ApiError(500, `cannot store ${what}: ${err.code}: ${why}`);
  return err;
}

/** Write a stream to a file, returning the sha256 of its bytes (the layer's diff id). */
async function saveHashed(src: Readable, file: string): Promise<string> {
  const h = createHash('sha256');
  const tap = new Transform({ transform(chunk, _enc, cb) { h.update(chunk); cb(null, chunk); } });
  try {
    await pipeline(src, tap, createWriteStream(file));
  } catch (e) {
    throw storageError('image', e);
  }
  return h.digest('hex');
}

async function untar(file: string, dest: string, extra: string[] = []): Promise<void> {
  const res = await run('tar', ['-x', '-f', file, '-C', dest, '--numeric-owner', '--same-permissions', ...extra], { allowFail: true });
  if (/No space left on device/.test(res.stderr)) throw storageError('image', Object.assign(new Error(res.stderr), { code: 'ENOSPC' }));
  if (res.code !== 0) throw badRequest(`Error processing tar file(${res.stderr.trim() || `exit status ${res.code}`})`);
}

/**
 * One layer over the ones below: its whiteouts delete first, then its files are extracted.
 * tar guards against symlinks within one archive, not against a symlink a lower layer left:
 * an entry (or whiteout) whose parent path is such a symlink could write or delete outside the
 * rootfs, so the layer is refused.
 */
async function applyLayer(layerTar: string, rootfs: string): Promise<void> {
  const list = await run('tar', ['-t', '-f', layerTar], { allowFail: true });
  if (list.code !== 0) throw badRequest(`Error processing tar file(${list.stderr.trim()})`);
  const entries = list.stdout.split('\n').filter(Boolean);
  await refuseSymlinkParents(rootfs, entries);
  const plan = whiteoutPlan(entries);
  for (const dir of plan.clear) {
    const abs = safeJoin(rootfs, dir);
    for (const e of await fs.readdir(abs).catch(() => [] as string[])) await fs.rm(path.join(abs, e), { recursive: true, force: true });
  }
  for (const p of plan.remove) await fs.rm(safeJoin(rootfs, p), { recursive: true, force: true });
  await untar(layerTar, rootfs, ['--exclude=.wh.*']);
}

async function refuseSymlinkParents(rootfs: string, entries: string[]): Promise<void> {
  const checked = new Map<string, boolean>();
  const isLink = async (rel: string): Promise<boolean> => {
    if (!checked.has(rel)) checked.set(rel, (await fs.lstat(path.join(rootfs, rel)).catch(() => null))?.isSymbolicLink() ?? false);
    return checked.get(rel)!;
  };
  for (const e of entries) {
    const parts = e.replace(/^\.?\/+/, '').replace(/\/+$/, '').split('/').filter((p) => p && p !== '.');
    for (let i = 1; i < parts.length; i++) {
      const parent = parts.slice(0, i).join('/');
      if (await isLink(parent)) throw badRequest(`Error processing tar file: layer entry ${e} goes through the symbolic link ${parent}`);
    }
  }
}

/** A path inside `root`, refusing archive names that climb out of it. */
function safeJoin(root: string, rel: string): string {
  const abs = path.resolve(root, rel);
  if (abs !== root && !abs.startsWith(root + path.sep)) throw badRequest(`invalid path in archive: ${rel}`);
  return abs;
}

/** Bytes of regular files and symlinks, each inode once: the SIZE `docker images` shows. */
async function treeSize(root: string): Promise<number> {
  let total = 0;
  const seen = new Set<string>();
  const walk = async (dir: string): Promise<void> => {
    for (const e of await fs.readdir(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) { await walk(p); continue; }
      const st = await fs.lstat(p);
      const key = `${st.dev}:${st.ino}`;
      if (seen.has(key)) continue;
      seen.add(key);
      if (st.isFile() || st.isSymbolicLink()) total += st.size;
    }
  };
  await walk(root);
  return total;
}

async function fileSha256(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(file)) h.update(chunk as Buffer);
  return h.digest('hex');
}
