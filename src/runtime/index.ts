// The container runtime: images (import, load, tag, remove) and runc-driven processes.
export { ImageStore, HOST_REF, type ImageRecord } from './images';
export { Runtime, normalizeSignal, type ContainerRunSpec, type ExecOptions, type ExecProcess, type AttachRequest } from './runtime';
export { applyChanges, emptyImageConfig, type ImageConfig } from './changes';
export { commandLine, containerEnv, resolveUser, ociSpec } from './spec';
export { parseRef, normalizeRef } from './refs';
export { ps, readContainerFile } from './ps';
