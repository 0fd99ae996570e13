// The Engine API's routes: each parses its query/body with Docker's rules, calls the engine,
// and answers with Docker's status code and JSON shape or stream framing.
import type * as http from 'node:http';
import type { Readable, Writable } from 'node:stream';
import type { EngineApi } from '../engine/api';
import { ApiError, badRequest } from '../util/errors';
import { boolParam, checkSignal, intParam, parseFilters, parseJsonBody, timeoutParam } from './query';
import {
  checkContainerCreate, checkExecCreate, checkExecStart, checkNetworkConnect, checkNetworkCreate, checkNetworkDisconnect,
  checkSwarmInit, checkSwarmJoin,
} from './schemas';
import { parseEventTime } from '../engine/events';
import type { Hijacked, Reply } from './reply';
import { chunkStream, frame, type OutputChunk } from './stdstream';
import { longTimeout } from '../util/timers';
import { parseRef } from '../runtime/refs';

export interface Ctx {
  engine: EngineApi;
  req: http.IncomingMessage;
  params: string[];
  query: URLSearchParams;
  reply: Reply;
  /** The request body (for upgraded requests, only the Content-Length part). */
  body(): Promise<Buffer>;
  apiVersion: string;
}

type Handler = (ctx: Ctx) => Promise<void>;
interface Route { method: string; re: RegExp; handler: Handler }

const RAW_STREAM = 'application/vnd.docker.raw-stream';
const MUX_STREAM = 'application/vnd.docker.multiplexed-stream';

async function jsonBody(ctx: Ctx): Promise<unknown> {
  return parseJsonBody(await ctx.body(), ctx.req.headers['content-type']);
}

/** A Readable over the request body (for image import/load). */
function bodyStream(ctx: Ctx): Readable { return ctx.req; }

const routes: Route[] = [];
function route(method: string, pattern: string, handler: Handler): void {
  // `{x}` matches one path segment; `{x*}` matches the rest (image names have slashes).
  const re = new RegExp('^' + pattern.replace(/\{[a-z]+\*\}/g, '(.+)').replace(/\{[a-z]+\}/g, '([^/]+)') + '/?$');
  routes.push({ method, re, handler });
}

/** A path parameter, percent-decoded; a bad escape is the client's error (Go's wording). */
function decodePathSegment(p: string): string {
  try {
    return decodeURIComponent(p);
  } catch {
    const bad = /%(?![0-9a-fA-F]{2})[^%]{0,2}/.exec(p)?.[0] ?? p;
    throw badRequest(`invalid URL escape ${JSON.stringify(bad)}`);
  }
}

export function matchRoute(method: string, path: string): { handler: Handler; params: string[] } | { notAllowed: true } | null {
  let pathMatched = false;
  for (const r of routes) {
    const m = r.re.exec(path);
    if (!m) continue;
    pathMatched = true;
    if (r.method === method || (method === 'HEAD' && r.method === 'GET')) {
      return { handler: r.handler, params: m.slice(1).map(decodePathSegment) };
    }
  }
  return pathMatched ? { notAllowed: true } : null;
}

// ------------------------------------------------------------------------------ system

route('GET', '/_ping', async (ctx) => {
  const headers = { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-cache, no-store, must-revalidate', Pragma: 'no-cache' };
  if (ctx.req.method === 'HEAD') { ctx.reply.empty(200, { ...headers, 'Content-Length': '0' }); return; }
  ctx.reply.stream(200, headers['Content-Type']).end('OK');
});
route('GET', '/version', async (ctx) => ctx.reply.json(200, ctx.engine.system.version()));
route('GET', '/info', async (ctx) => ctx.reply.json(200, await ctx.engine.system.info()));
route('GET', '/system/df', async (ctx) => ctx.reply.json(200, await ctx.engine.system.systemDf()));

// GET /events: JSON objects, one per line, past ones from `since`, live ones until `until`
// (or until the client goes away).
route('GET', '/events', async (ctx) => {
  const since = parseEventTime(ctx.query.get('since'));
  const until = parseEventTime(ctx.query.get('until'));
  const filters = parseFilters(ctx.query.get('filters'));
  const out = ctx.reply.stream(200, 'application/json');
  const write = (e: unknown) => { out.write(JSON.stringify(e) + '\n'); };
  const stop = ctx.engine.system.events.subscribe({ since, until, filters }, write);
  let cancel = () => undefined as void;
  const end = () => { stop(); cancel(); if (!out.writableEnded) out.end(); };
  out.onClose(end);
  if (until !== undefined) cancel = longTimeout(end, Math.max(0, until * 1000 - Date.now()));
});

// ------------------------------------------------------------------------------ containers

route('GET', '/containers/json', async (ctx) => {
  const limit = intParam(ctx.query, 'limit');
  const list = await ctx.engine.containers.listContainers({
    all: boolParam(ctx.query, 'all'), filters: parseFilters(ctx.query.get('filters')), ...(limit !== undefined ? { limit } : {}),
  });
  ctx.reply.json(200, list);
});

route('POST', '/containers/create', async (ctx) => {
  const body = checkContainerCreate(await jsonBody(ctx));
  const name = ctx.query.get('name') ?? undefined;
  ctx.reply.json(201, await ctx.engine.containers.createContainer(name === '' ? undefined : name, body));
});

route('POST', '/containers/prune', async (ctx) => {
  ctx.reply.json(200, await ctx.engine.containers.pruneContainers(pruneFilters(ctx.query.get('filters'))));
});

route('GET', '/containers/{id}/json', async (ctx) => ctx.reply.json(200, await ctx.engine.containers.inspectContainer(ctx.params[0])));

route('POST', '/containers/{id}/start', async (ctx) => {
  await ctx.engine.containers.startContainer(ctx.params[0]);
  ctx.reply.empty(204);
});

route('POST', '/containers/{id}/stop', async (ctx) => {
  await ctx.engine.containers.stopContainer(ctx.params[0], timeoutParam(ctx.query), checkSignal(ctx.query.get('signal')));
  ctx.reply.empty(204);
});

route('POST', '/containers/{id}/kill', async (ctx) => {
  await ctx.engine.containers.killContainer(ctx.params[0], checkSignal(ctx.query.get('signal')));
  ctx.reply.empty(204);
});

route('POST', '/containers/{id}/restart', async (ctx) => {
  await ctx.engine.containers.restartContainer(ctx.params[0], timeoutParam(ctx.query), checkSignal(ctx.query.get('signal')));
  ctx.reply.empty(204);
});

route('DELETE', '/containers/{id}', async (ctx) => {
  if (boolParam(ctx.query, 'link')) await ctx.engine.containers.removeLink(ctx.params[0]);
  else await ctx.engine.containers.removeContainer(ctx.params[0], { force: boolParam(ctx.query, 'force') });
  ctx.reply.empty(204);
});
// `rm --link LINKER/ALIAS`: a link's name has a slash.
route('DELETE', '/containers/{id}/{alias}', async (ctx) => {
  const path = `${ctx.params[0]}/${ctx.params[1]}`;
  if (!boolParam(ctx.query, 'link')) throw new ApiError(404, `No such container: ${path}`);
  await ctx.engine.containers.removeLink(path);
  ctx.reply.empty(204);
});

route('GET', '/containers/{id}/top', async (ctx) => {
  ctx.reply.json(200, await ctx.engine.containers.topContainer(ctx.params[0], ctx.query.get('ps_args') ?? '-ef'));
});
route('POST', '/containers/{id}/rename', async (ctx) => {
  const name = ctx.query.get('name');
  if (!name) throw badRequest('Neither old nor new names may be empty');
  await ctx.engine.containers.renameContainer(ctx.params[0], name.replace(/^\//, ''));
  ctx.reply.empty(204);
});

route('POST', '/containers/{id}/wait', async (ctx) => {
  const p = ctx.engine.containers.waitContainer(ctx.params[0], ctx.query.get('condition') || undefined);
  // Docker sends the headers at once and the body when the condition is met, so a client can
  // start the container after the wait is registered. Errors about the container itself come
  // first: wait a turn of the event loop for them.
  let settled: { ok: true; v: any } | { ok: false; e: unknown } | null = null;
  p.then((v) => { settled = { ok: true, v }; }, (e) => { settled = { ok: false, e }; });
  await new Promise((r) => setImmediate(r));
  if (settled !== null && !(settled as any).ok) throw (settled as any).e;
  const out = ctx.reply.stream(200, 'application/json');
  try {
    const v = await p;
    out.end(JSON.stringify(v) + '\n');
  } catch (e) {
    out.end(JSON.stringify({ StatusCode: -1, Error: { Message: (e as Error).message } }) + '\n');
  }
});

route('POST', '/containers/{id}/resize', async (ctx) => {
  await ctx.engine.containers.resizeContainer(ctx.params[0], intParam(ctx.query, 'h') ?? 0, intParam(ctx.query, 'w') ?? 0);
  ctx.reply.empty(200, { 'Content-Length': '0' });
});

route('POST', '/containers/{id}/attach', async (ctx) => {
  const q = ctx.query;
  const att = await ctx.engine.containers.attachContainer(ctx.params[0], {
    stdin: boolParam(q, 'stdin'), stdout: boolParam(q, 'stdout'), stderr: boolParam(q, 'stderr'),
    stream: boolParam(q, 'stream'), logs: boolParam(q, 'logs'),
  });
  const want = { stdout: boolParam(q, 'stdout'), stderr: boolParam(q, 'stderr') };
  const h = ctx.reply.hijack(att.tty ? RAW_STREAM : MUX_STREAM);
  pumpInput(h, att.input);
  pumpOutput(att.output, h.output, att.tty, want, h);
});

route('GET', '/containers/{id}/logs', async (ctx) => {
  const q = ctx.query;
  const stdout = boolParam(q, 'stdout');
  const stderr = boolParam(q, 'stderr');
  if (!stdout && !stderr) throw badRequest('Bad parameters: you must choose at least one stream');
  const tailRaw = q.get('tail');
  const tail: number | 'all' = tailRaw === null || tailRaw === '' || tailRaw === 'all' || Number.isNaN(parseInt(tailRaw, 10)) || parseInt(tailRaw, 10) < 0
    ? 'all' : parseInt(tailRaw, 10);
  const logs = await ctx.engine.containers.containerLogs(ctx.params[0], {
    follow: boolParam(q, 'follow'), tail, timestamps: boolParam(q, 'timestamps'), stdout, stderr,
  });
  const out = ctx.reply.stream(200, logs.tty ? RAW_STREAM : MUX_STREAM);
  let closed = false;
  out.onClose(() => { closed = true; logs.output.destroy(); });
  pumpOutput(logs.output, out, logs.tty, { stdout, stderr }, { closed: () => closed });
});

route('POST', '/containers/{id}/exec', async (ctx) => {
  const body = checkExecCreate(await jsonBody(ctx));
  ctx.reply.json(201, await ctx.engine.execs.execCreate(ctx.params[0], body));
});

route('POST', '/exec/{id}/start', async (ctx) => {
  const body = checkExecStart(await jsonBody(ctx));
  const handle = await ctx.engine.execs.execStart(ctx.params[0], { Detach: !!body.Detach, Tty: body.Tty === undefined ? undefined : !!body.Tty });
  handle.exitCode.catch(() => undefined);
  if (body.Detach) {
    handle.output.resume();
    handle.input?.end();
    ctx.reply.empty(200, { 'Content-Length': '0' });
    return;
  }
  const h = ctx.reply.hijack(handle.tty ? RAW_STREAM : MUX_STREAM);
  pumpInput(h, handle.input);
  pumpOutput(handle.output, h.output, handle.tty, { stdout: true, stderr: true }, h);
});

route('GET', '/exec/{id}/json', async (ctx) => ctx.reply.json(200, await ctx.engine.execs.execInspect(ctx.params[0])));

route('POST', '/exec/{id}/resize', async (ctx) => {
  await ctx.engine.execs.execResize(ctx.params[0], intParam(ctx.query, 'h') ?? 0, intParam(ctx.query, 'w') ?? 0);
  ctx.reply.empty(200, { 'Content-Length': '0' });
});

// ------------------------------------------------------------------------------ images

route('GET', '/images/json', async (ctx) => {
  ctx.reply.json(200, await ctx.engine.images.listImages({ all: boolParam(ctx.query, 'all'), filters: parseFilters(ctx.query.get('filters')) }));
});

route('POST', '/images/create', async (ctx) => {
  const q = ctx.query;
  const fromSrc = q.get('fromSrc');
  if (fromSrc === null) {
    // A pull: an error before the first progress message is the HTTP answer; after it, an
    // error message in the stream, as dockerd does.
    const image = q.get('fromImage') ?? '';
    if (!image) throw badRequest('either fromSrc or fromImage must be given');
    // A malformed name is the client's error, found before any registry is asked.
    const tag = q.get('tag') ?? '';
    checkRepoName(image.split('@')[0], tag && !tag.startsWith('sha256:') ? tag : undefined);
    let out: (Writable & { onClose(fn: () => void): void }) | null = null;
    const send = (m: Record<string, unknown>) => {
      out ??= ctx.reply.stream(200, 'application/json');
      out.write(JSON.stringify(m) + '\r\n');
    };
    try {
      await ctx.engine.images.pullImage(image, q.get('tag') || undefined, send);
    } catch (e) {
      if (!out) throw e;
      const message = (e as Error).message;
      send({ errorDetail: { message }, error: message });
    }
    (out as any)?.end();
    return;
  }
  if (fromSrc !== '-') throw badRequest('berth imports only from the request body (fromSrc=-)');
  const { repo, tag } = splitRepoTag(q.get('repo') ?? '', q.get('tag') ?? '');
  if (repo) checkRepoName(repo, tag);
  const id = await ctx.engine.images.importImage(bodyStream(ctx), repo, tag, q.getAll('changes'));
  const out = ctx.reply.stream(200, 'application/json');
  out.end(JSON.stringify({ status: id }) + '\r\n');
});

route('POST', '/images/load', async (ctx) => {
  const loaded = await ctx.engine.images.loadImages(bodyStream(ctx));
  const out = ctx.reply.stream(200, 'application/json');
  for (const ref of loaded) {
    const line = ref.startsWith('sha256:') ? `Loaded image ID: ${ref}\n` : `Loaded image: ${ref}\n`;
    out.write(JSON.stringify({ stream: line }) + '\n');
  }
  out.end();
});

// docker save: GET /images/get?names=a&names=b, or GET /images/NAME/get
async function saveTo(ctx: Ctx, refs: string[]): Promise<void> {
  if (!refs.length) throw badRequest('no images named');
  const tar = await ctx.engine.images.saveImages(refs);
  const out = ctx.reply.stream(200, 'application/x-tar');
  tar.pipe(out);
  out.onClose(() => tar.destroy());
}
route('GET', '/images/get', async (ctx) => saveTo(ctx, ctx.query.getAll('names')));
route('GET', '/images/{name*}/get', async (ctx) => saveTo(ctx, [ctx.params[0]]));

route('POST', '/images/prune', async () => { throw new ApiError(501, 'image prune is not implemented by berth'); });

route('GET', '/images/{name*}/json', async (ctx) => ctx.reply.json(200, await ctx.engine.images.inspectImage(ctx.params[0])));

route('POST', '/images/{name*}/tag', async (ctx) => {
  const { repo, tag } = splitRepoTag(ctx.query.get('repo') ?? '', ctx.query.get('tag') ?? '');
  if (!repo) throw badRequest('repository name must have at least one component');
  checkRepoName(repo, tag);
  await ctx.engine.images.tagImage(ctx.params[0], repo, tag || 'latest');
  ctx.reply.empty(201, { 'Content-Length': '0' });
});

route('DELETE', '/images/{name*}', async (ctx) => {
  ctx.reply.json(200, await ctx.engine.images.removeImage(ctx.params[0], { force: boolParam(ctx.query, 'force') }));
});

// ------------------------------------------------------------------------------ networks

route('GET', '/networks', async (ctx) => ctx.reply.json(200, await ctx.engine.networks.listNetworks(parseFilters(ctx.query.get('filters')))));
route('POST', '/swarm/init', async (ctx) => {
  ctx.reply.json(200, await ctx.engine.swarm.swarmInit(checkSwarmInit(await jsonBody(ctx))));
});
route('POST', '/swarm/join', async (ctx) => {
  await ctx.engine.swarm.swarmJoin(checkSwarmJoin(await jsonBody(ctx)));
  ctx.reply.json(200, null);
});
route('POST', '/swarm/leave', async (ctx) => {
  await ctx.engine.swarm.swarmLeave(boolParam(ctx.query, 'force'));
  ctx.reply.json(200, null);
});
route('GET', '/swarm', async (ctx) => ctx.reply.json(200, ctx.engine.swarm.swarmJson()));
route('GET', '/nodes', async (ctx) => ctx.reply.json(200, ctx.engine.swarm.swarmNodes()));
route('GET', '/nodes/{id}', async (ctx) => ctx.reply.json(200, ctx.engine.swarm.swarmNode(ctx.params[0])));
route('DELETE', '/nodes/{id}', async (ctx) => {
  await ctx.engine.swarm.swarmNodeRemove(ctx.params[0], boolParam(ctx.query, 'force'));
  ctx.reply.json(200, null);
});

route('POST', '/networks/create', async (ctx) => {
  ctx.reply.json(201, await ctx.engine.networks.createNetwork(checkNetworkCreate(await jsonBody(ctx))));
});
route('POST', '/networks/prune', async (ctx) => ctx.reply.json(200, await ctx.engine.networks.pruneNetworks(pruneFilters(ctx.query.get('filters')))));
route('GET', '/networks/{id}', async (ctx) => {
  ctx.reply.json(200, await ctx.engine.networks.inspectNetwork(ctx.params[0], { verbose: boolParam(ctx.query, 'verbose'), scope: ctx.query.get('scope') ?? undefined }));
});
route('DELETE', '/networks/{id}', async (ctx) => {
  await ctx.engine.networks.removeNetwork(ctx.params[0]);
  ctx.reply.empty(204);
});
route('POST', '/networks/{id}/connect', async (ctx) => {
  await ctx.engine.networks.connectNetwork(ctx.params[0], checkNetworkConnect(await jsonBody(ctx)));
  ctx.reply.empty(200, { 'Content-Length': '0' });
});
route('POST', '/networks/{id}/disconnect', async (ctx) => {
  await ctx.engine.networks.disconnectNetwork(ctx.params[0], checkNetworkDisconnect(await jsonBody(ctx)));
  ctx.reply.empty(200, { 'Content-Length': '0' });
});

// ------------------------------------------------------------------------------ helpers

/** An image name (and tag) a client gives, with the reference rules of the registry's. */
function checkRepoName(repo: string, tag: string | undefined): void {
  if (repo.length > 255) throw badRequest('repository name must not be more than 255 characters');
  parseRef(tag ? `${repo}:${tag}` : repo);
}

/**
 * A prune's filters. A filter prune did not understand would widen it to everything, so
 * Docker's other prune filters ("until", "label!") are refused rather than ignored.
 */
export function pruneFilters(raw: string | null): Record<string, string[]> {
  const f = parseFilters(raw);
  for (const k of Object.keys(f)) {
    if (k === 'until' || k === 'label!') throw badRequest(`berth does not support the prune filter '${k}'`);
    if (k !== 'label') throw badRequest(`Invalid filter '${k}'`);
  }
  return f;
}

/** `repo` may carry the tag itself ("busybox:1"); a port in a registry host is not a tag. */
function splitRepoTag(repo: string, tag: string): { repo: string | undefined; tag: string | undefined } {
  if (!repo) return { repo: undefined, tag: tag || undefined };
  const slash = repo.lastIndexOf('/');
  const colon = repo.lastIndexOf(':');
  if (!tag && colon > slash) return { repo: repo.slice(0, colon), tag: repo.slice(colon + 1) };
  return { repo, tag: tag || undefined };
}

/** Client bytes to the process's stdin; the client's half-close closes stdin. */
function pumpInput(h: Hijacked, input: Writable | null): void {
  if (!input) { h.input.resume(); return; }
  input.on('error', () => undefined);
  h.input.pipe(input);
}

/** Process output to the client, framed unless TTY; ends the connection when output ends. */
function pumpOutput(src: Readable, dst: Writable, tty: boolean, want: { stdout: boolean; stderr: boolean },
                           h: { closed(): boolean }): void {
  dst.on('error', () => { src.destroy(); });
  src.on('data', (chunk: OutputChunk) => {
    if (h.closed()) return;
    const { id, data } = chunkStream(chunk);
    if (data.length === 0) return;
    if ((id === 1 && !want.stdout) || (id === 2 && !want.stderr)) return;
    const ok = dst.write(tty ? data : frame(id, data));
    if (!ok) { src.pause(); dst.once('drain', () => src.resume()); }
  });
  const finish = () => { if (!h.closed()) dst.end(); };
  src.once('end', finish);
  src.once('error', finish);
  src.once('close', finish);
}
