// Errors that carry the HTTP status the Docker Engine API uses for them, so every layer can
// throw one and the API server turns it into `{ "message": ... }` with the right code.
export class ApiError extends Error {
  constructor(public readonly status: number, message: string) {
    super(message);
  }
}

export const badRequest = (msg: string) => new ApiError(400, msg);
export const notFound = (msg: string) => new ApiError(404, msg);
export const conflict = (msg: string) => new ApiError(409, msg);
export const forbidden = (msg: string) => new ApiError(403, msg);
export const notModified = (msg = '') => new ApiError(304, msg);
export const serverError = (msg: string) => new ApiError(500, msg);

export const noSuchContainer = (ref: string) => notFound(`No such container: ${ref}`);
export const noSuchNetwork = (ref: string) => notFound(`network ${ref} not found`);
export const noSuchImage = (ref: string) => notFound(`No such image: ${ref}`);

// Docker's words for refusals that more than one layer makes (the API's shape check and the
// engine, or the CLI before it asks the daemon): one definition each.
export const EMPTY_CREATE_CONFIG = 'config cannot be empty in order to create a container';
export const NO_EXEC_COMMAND = 'No exec command specified';
export const HOSTNAME_NETWORK_CONFLICT = 'conflicting options: hostname and the network mode';
export const HOST_NETWORK_CONNECT = 'container cannot be disconnected from host network or connected to host network';
export const RANGE_WITHOUT_SUBNET = 'every ip-range or gateway must have a corresponding subnet';

/** Go's words for the errors a write to disk can meet (what Docker would print after the code). */
const ERRNO_WORDS: Record<string, string> = {
  ENOSPC: 'no space left on device', EDQUOT: 'disk quota exceeded', EIO: 'input/output error', EROFS: 'read-only file system',
};
export function errnoWords(code: string | undefined): string | undefined {
  return code === undefined ? undefined : ERRNO_WORDS[code];
}

/**
 * `network rm` of a network with endpoints, in current Docker's words: each endpoint as
 * name:"container" id:"endpoint id (12)".
 */
export const activeEndpoints = (network: string, endpoints: Array<{ name: string; id: string }>) =>
  forbidden(`error while removing network: network ${network} has active endpoints (${
    endpoints.map((e) => `name:${JSON.stringify(e.name)} id:${JSON.stringify(e.id.slice(0, 12))}`).join(', ')})`);
