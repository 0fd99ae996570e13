// The container runtime: images (import, load, tag, remove) and runc-driven processes.
export { ImageStore, type ImageRecord } from './images';
export { Runtime, normalizeSignal } from './runtime';
export { ps, readContainerFile } from './ps';
