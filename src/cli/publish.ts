// `-p/--publish` and `--expose` on the client side, as the docker CLI does them
// (nat.ParsePortSpecs), into the create body's ExposedPorts and HostConfig.PortBindings.
// The grammar is the daemon's own (engine/portmap/spec.ts): one parser for both; here its
// errors become usage errors. Pure.
import { parseExpose, parsePublish } from '../engine/portmap/spec';
import { ApiError } from '../util/errors';

export class UsageError extends Error {}

export interface PortBinding { HostIp: string; HostPort: string }

const PROTOS = new Set(['tcp', 'udp', 'sctp']);

/** The parser's bad-input error as the CLI's usage error (same text). */
function asUsage<T>(parse: () => T): T {
  try {
    return parse();
  } catch (e) {
    if (e instanceof ApiError) throw new UsageError(e.message);
    throw e;
  }
}

/** Adds one -p spec to exposed/bindings; throws UsageError with docker's wording. */
export function addPublish(spec: string, exposed: Record<string, object>, bindings: Record<string, PortBinding[]>): void {
  const parsed = asUsage(() => parsePublish(spec));
  for (const port of parsed.exposed) {
    exposed[port] = {};
    (bindings[port] ??= []).push(...parsed.bindings[port]);
  }
}

/** --expose PORT[/proto] or a range. */
export function addExpose(spec: string, exposed: Record<string, object>): void {
  const keys = asUsage(() => parseExpose(spec));
  for (const key of keys) {
    // (berth's CLI has always checked the protocol here and lower-cased it; the daemon wants it so)
    const [port, proto] = key.split('/');
    if (!PROTOS.has(proto.toLowerCase())) throw new UsageError(`invalid proto: ${proto}`);
    exposed[`${port}/${proto.toLowerCase()}`] = {};
  }
}
