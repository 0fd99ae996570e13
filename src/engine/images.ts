// Images as the API shows them: list, inspect, import, load, save, pull, tag, rm. The store
// itself (layers, overlay roots, the registry client) is runtime/'s.
import type { Readable } from 'node:stream';
import type { ImagesApi } from './api';
import type { ContainerRecords } from './records';
import type { EventBus } from './events';
import { ZERO_TIME } from './time';
import { normalizeRef } from '../runtime/refs';
import type { ImageStore } from '../runtime';
import { HOST_IMAGE_COMMENT } from '../runtime/images';
import { selectImages } from './filters';
import { conflict, noSuchImage } from '../util/errors';
import { shortId } from '../util/ids';

export class ImageService implements ImagesApi {
  constructor(private readonly images: ImageStore, private readonly records: ContainerRecords,
              private readonly events: EventBus, private readonly insecureRegistries: string[]) {}

  async listImages(opts: { all: boolean; filters: Record<string, string[]> }): Promise<any[]> {
    // `all` shows intermediate layers in Docker; berth's images have none, so it changes nothing.
    return selectImages(this.images.list(), opts.filters, (r) => this.images.resolve(r)).map(({ image: i, tags }) => ({
      Id: i.Id, ParentId: '', RepoTags: tags.length ? tags : ['<none>:<none>'],
      RepoDigests: [], Created: Math.floor(Date.parse(i.Created) / 1000), Size: i.Size, VirtualSize: i.Size,
      SharedSize: -1, Labels: i.Config?.Labels ?? null, Containers: -1,
    }));
  }

  async inspectImage(ref: string): Promise<any> {
    const i = this.images.resolve(ref);
    if (!i) throw noSuchImage(ref);
    return {
      Id: i.Id, RepoTags: i.RepoTags, RepoDigests: [], Parent: '', Comment: i.rootfs === null ? HOST_IMAGE_COMMENT : '',
      Created: i.Created, Container: '', ContainerConfig: {}, DockerVersion: '', Author: '', Config: i.Config,
      Architecture: i.Architecture, Os: i.Os, Size: i.Size, VirtualSize: i.Size,
      GraphDriver: { Data: null, Name: 'overlay' }, RootFS: { Type: 'layers', Layers: [] }, Metadata: { LastTagTime: ZERO_TIME },
    };
  }

  async importImage(src: Readable, repo: string | undefined, tag: string | undefined, changes: string[]): Promise<string> {
    const ref = repo ? `${repo}${tag ? `:${tag}` : ''}` : undefined;
    const img = await this.images.importTar(src, ref, changes);
    return img.Id;
  }

  async loadImages(src: Readable): Promise<string[]> { return this.images.load(src); }

  async saveImages(refs: string[]): Promise<Readable> { return this.images.save(refs); }

  async pullImage(ref: string, tag: string | undefined, progress: (m: Record<string, unknown>) => void): Promise<string> {
    const id = await this.images.pull(ref, tag, this.insecureRegistries, progress);
    this.events.emit('image', 'pull', ref.includes(':') || !tag ? ref : `${ref}:${tag}`, { name: ref });
    return id;
  }

  async tagImage(ref: string, repo: string, tag: string): Promise<void> {
    if (!this.images.resolve(ref)) throw noSuchImage(ref);
    await this.images.tag(ref, `${repo}:${tag || 'latest'}`);
  }

  async removeImage(ref: string, opts: { force: boolean }): Promise<Array<{ Untagged?: string; Deleted?: string }>> {
    const img = this.images.resolve(ref);
    if (!img) throw noSuchImage(/^(sha256:)?[0-9a-f]{6,64}$/.test(ref) ? ref : normalizeRef(ref));
    // A tag of an image that keeps other tags is only untagged (Docker's rule): no conflict.
    const byTag = img.RepoTags.includes(normalizeRefSafe(ref));
    const onlyUntag = byTag && img.RepoTags.length > 1;
    const user = [...this.records.values()].find((c) => c.ImageID === img.Id);
    if (user && !opts.force && !onlyUntag) {
      throw conflict(`conflict: unable to remove repository reference "${ref}" (must force) - container ${shortId(user.Id)} is using its referenced image ${shortId(img.Id.replace('sha256:', ''))}`);
    }
    return this.images.remove(ref, opts);
  }
}

function normalizeRefSafe(ref: string): string {
  try { return normalizeRef(ref); } catch { return ''; }
}
