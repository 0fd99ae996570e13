// A container's network mode (HostConfig.NetworkMode) and the networks it is configured for:
// pure, so the inspect JSON, filters and the sandbox read them the same way.
import type { ContainerRecord } from './types';
import { badRequest } from '../util/errors';

export type NetMode =
  | { kind: 'host' } | { kind: 'none' } | { kind: 'container'; ref: string }
  | { kind: 'network'; name: string };

export function parseNetworkMode(mode: string | undefined): NetMode {
  const m = mode || 'default';
  if (m === 'default' || m === 'bridge') return { kind: 'network', name: 'bridge' };
  if (m === 'host') return { kind: 'host' };
  if (m === 'none') return { kind: 'none' };
  if (m.startsWith('container:')) {
    const ref = m.slice('container:'.length);
    if (!ref) throw badRequest('invalid container format container:<name|id>');
    return { kind: 'container', ref };
  }
  return { kind: 'network', name: m };
}

/**
 * The names of the networks a container is configured for, its NetworkMode's first (unless
 * that one was disconnected), then those of `network connect` / `--network` given again.
 */
export function configuredNetworks(c: ContainerRecord): string[] {
  const mode = parseNetworkMode(c.HostConfig.NetworkMode);
  if (mode.kind !== 'network') return [];
  const others = Object.keys(c.NetworkingConfig?.EndpointsConfig ?? {}).filter((n) => n !== mode.name);
  return c.primaryDetached ? others : [mode.name, ...others];
}
