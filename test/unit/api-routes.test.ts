import { EventBus } from '../../src/engine/events';
// The API server's routing, status codes, query parsing and stream framing, against a fake
// EngineApi (api/ is what is under test here, not the engine) over a real unix socket.
import { test, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import * as http from 'node:http';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { promises as fs } from 'node:fs';
import { PassThrough, Readable } from 'node:stream';
import type {
  AttachOptions, Attachment, ContainersApi, EngineApi, ExecHandle, ExecsApi, ImagesApi, LogOptions, NetworksApi, SwarmApi, SystemApi,
} from '../../src/engine/api';
import { ApiError, noSuchContainer, notModified } from '../../src/util/errors';
import { createApiServer } from '../../src/api/server';
import { Demuxer, frame } from '../../src/api/stdstream';
import { boolParam, parseFilters, stripVersion } from '../../src/api/query';
import { Client, copyOutput } from '../../src/cli/client';

interface FakeContainer { Id: string; Name: string; body: any; running: boolean; exitCode: number; outs: PassThrough[]; stdin: PassThrough; exited: Array<() => void> }

/**
 * An in-memory engine whose "process" writes `out:<cmd>` to stdout and `err:<cmd>` to stderr,
 * echoes its stdin to stdout when OpenStdin, then exits with the code in Env EXIT=N.
 */
export class FakeEngine implements SystemApi, ContainersApi, ExecsApi, ImagesApi, NetworksApi, SwarmApi {
  ctrs = new Map<string, FakeContainer>();
  calls: Array<[string, ...unknown[]]> = [];
  imports: Array<{ bytes: number; repo?: string; tag?: string; changes: string[] }> = [];
  readonly events = new EventBus();
  private n = 0;

  async saveImages(): Promise<any> { throw new Error('no images in the fake engine'); }
  async pullImage(ref: string): Promise<string> {
    // As from a registry that does not have it.
    throw new ApiError(404, `pull access denied for ${ref}, repository does not exist or may require 'docker login': denied: requested access to the resource is denied`);
  }
  async systemDf(): Promise<any> { return { Images: [], Containers: [], Volumes: [], BuildCache: [], LayersSize: 0 }; }
  async topContainer(ref: string, _psArgs: string) { this.find(ref); return { Titles: ['PID', 'CMD'], Processes: [['1', 'sleep']] }; }

  private find(ref: string): FakeContainer {
    for (const c of this.ctrs.values()) if (c.Id === ref || c.Name === ref || c.Id.startsWith(ref)) return c;
    throw noSuchContainer(ref);
  }
  version(): any { return { Version: '0.0.0-fake', ApiVersion: '1.45', MinAPIVersion: '1.24', Os: 'linux', Arch: 'amd64', Components: [] }; }
  async info(): Promise<any> { return { ID: 'fake', Containers: this.ctrs.size }; }
  async createContainer(name: string | undefined, body: any) {
    if (!body.Image) throw new ApiError(400, 'No image specified');
    if (body.Image === 'missing') throw new ApiError(404, 'No such image: missing:latest');
    const id = (++this.n).toString(16).padStart(64, 'a');
    this.calls.push(['create', name, body]);
    this.ctrs.set(id, { Id: id, Name: name ?? `c${this.n}`, body, running: false, exitCode: 0, outs: [], stdin: new PassThrough(), exited: [] });
    return { Id: id, Warnings: [] };
  }
  async startContainer(ref: string) {
    const c = this.find(ref);
    if (c.running) throw notModified();
    c.running = true;
    const cmd = (c.body.Cmd ?? []).join(' ');
    const code = Number((c.body.Env ?? []).find((e: string) => e.startsWith('EXIT='))?.slice(5) ?? 0);
    const finish = () => {
      c.running = false;
      c.exitCode = code;
      for (const o of c.outs) o.end();
      c.outs = [];
      for (const w of c.exited.splice(0)) w();
    };
    setImmediate(() => {
      for (const o of c.outs) { o.write(Buffer.from(`out:${cmd}\n`)); o.write({ stream: 'stderr', data: `err:${cmd}\n` }); }
      if (c.body.OpenStdin) {
        c.stdin.on('data', (d: Buffer) => { for (const o of c.outs) o.write(Buffer.from(d)); });
        c.stdin.on('end', finish);
      } else {
        finish();
      }
    });
  }
  async stopContainer(ref: string) { const c = this.find(ref); if (!c.running) throw notModified(); c.running = false; }
  async killContainer(ref: string, signal?: string) { this.calls.push(['kill', ref, signal]); this.find(ref); }
  async restartContainer(ref: string) { this.find(ref); }
  async removeContainer(ref: string, opts: { force: boolean }) {
    const c = this.find(ref);
    if (c.running && !opts.force) throw new ApiError(409, 'You cannot remove a running container');
    this.ctrs.delete(c.Id);
  }
  async removeLink(path: string) { this.calls.push(['unlink', path]); }
  async renameContainer(ref: string, n: string) { this.find(ref).Name = n; }
  async listContainers(opts: { all: boolean; filters: Record<string, string[]>; limit?: number }) {
    this.calls.push(['list', opts]);
    return [...this.ctrs.values()].filter((c) => opts.all || c.running).map((c) => ({
      Id: c.Id, Names: ['/' + c.Name], Image: c.body.Image, ImageID: 'sha256:' + 'b'.repeat(64),
      Command: (c.body.Cmd ?? []).join(' '), Created: Math.floor(Date.now() / 1000) - 75, State: c.running ? 'running' : 'exited',
      Status: c.running ? 'Up 1 second' : `Exited (${c.exitCode}) 2 seconds ago`,
      Ports: [{ IP: '0.0.0.0', PrivatePort: 80, PublicPort: 8080, Type: 'tcp' }, { PrivatePort: 53, Type: 'udp' }],
      Labels: c.body.Labels ?? {}, HostConfig: { NetworkMode: 'default' },
      NetworkSettings: { Networks: { bridge: { IPAddress: '172.17.0.2' } } }, Mounts: [],
    }));
  }
  async inspectContainer(ref: string) { const c = this.find(ref); return { Id: c.Id, Name: '/' + c.Name, Config: { ...c.body, Tty: !!c.body.Tty }, State: { Running: c.running } }; }
  async waitContainer(ref: string, condition?: string) {
    const c = this.find(ref);
    this.calls.push(['wait', condition]);
    if (!c.running && condition !== 'next-exit') return { StatusCode: c.exitCode, Error: null };
    await new Promise<void>((r) => c.exited.push(r));
    return { StatusCode: c.exitCode, Error: null };
  }
  async attachContainer(ref: string, opts: AttachOptions): Promise<Attachment> {
    const c = this.find(ref);
    const out = new PassThrough({ objectMode: true });
    if (opts.stream) c.outs.push(out); else out.end();
    return { tty: !!c.body.Tty, output: out, input: opts.stdin && c.body.OpenStdin ? c.stdin : null };
  }
  async containerLogs(ref: string, opts: LogOptions) {
    const c = this.find(ref);
    this.calls.push(['logs', opts]);
    return { tty: !!c.body.Tty, output: Readable.from([Buffer.from('line1\n'), { stream: 'stderr', data: Buffer.from('oops\n') }]) };
  }
  async resizeContainer(ref: string, h: number, w: number) { this.calls.push(['resize', ref, h, w]); this.find(ref); }
  async execCreate(ref: string, body: any) { this.find(ref); this.calls.push(['execCreate', body]); return { Id: 'e'.repeat(64) }; }
  async execStart(execId: string, body: { Detach?: boolean; Tty?: boolean }): Promise<ExecHandle> {
    if (execId !== 'e'.repeat(64)) throw new ApiError(404, `No such exec instance: ${execId}`);
    const out = new PassThrough({ objectMode: true });
    const input = new PassThrough();
    input.on('data', (d: Buffer) => out.write(Buffer.from(d.toString().toUpperCase())));
    input.on('end', () => out.end());
    return { tty: !!body.Tty, output: out, input, exitCode: Promise.resolve(3) };
  }
  async execInspect(execId: string) { return { ID: execId, Running: false, ExitCode: 3 }; }
  async execResize() { /* nothing */ }
  async pruneContainers() { return { ContainersDeleted: [], SpaceReclaimed: 0 }; }
  async listImages() { return [{ Id: 'sha256:' + 'b'.repeat(64), RepoTags: ['busybox:latest'], Created: 0, Size: 4215000 }]; }
  async inspectImage(ref: string) { if (ref !== 'busybox' && ref !== 'library/busybox:latest') throw new ApiError(404, `No such image: ${ref}`); return { Id: 'sha256:b', Ref: ref }; }
  async importImage(src: Readable, repo: string | undefined, tag: string | undefined, changes: string[]) {
    let bytes = 0;
    for await (const c of src) bytes += (c as Buffer).length;
    this.imports.push({ bytes, repo, tag, changes });
    return 'sha256:' + 'c'.repeat(64);
  }
  async loadImages(src: Readable) { for await (const _ of src) { /* drain */ } return ['busybox:latest', 'sha256:' + 'd'.repeat(64)]; }
  async tagImage(ref: string, repo: string, tag: string) { this.calls.push(['tag', ref, repo, tag]); }
  async removeImage(ref: string) { return [{ Untagged: ref }, { Deleted: 'sha256:x' }]; }
  async createNetwork(body: any) { this.calls.push(['netcreate', body]); if (body.Name === 'bridge') throw new ApiError(403, 'operation is not permitted on predefined bridge network'); return { Id: 'f'.repeat(64), Warning: '' }; }
  async listNetworks(filters: Record<string, string[]>) { this.calls.push(['netlist', filters]); return [{ Name: 'bridge', Id: '1'.repeat(64), Driver: 'bridge', Scope: 'local' }]; }
  async inspectNetwork(ref: string, opts?: { verbose?: boolean }) { if (ref !== 'bridge') throw new ApiError(404, `network ${ref} not found`); return { Name: 'bridge', verbose: !!opts?.verbose }; }
  async removeNetwork(ref: string) { if (ref !== 'mynet') throw new ApiError(404, `network ${ref} not found`); }
  async pruneNetworks() { return { NetworksDeleted: ['mynet'] }; }
  async connectNetwork(ref: string, body: any) { this.calls.push(['connect', ref, body]); }
  async disconnectNetwork(ref: string, body: any) { this.calls.push(['disconnect', ref, body]); }
  async swarmInit(body: any): Promise<string> { this.calls.push(['swarmInit', body]); return 'node1'; }
  async swarmJoin(body: any) { this.calls.push(['swarmJoin', body]); }
  async swarmLeave(force: boolean) { this.calls.push(['swarmLeave', force]); }
  swarmJson(): any { throw new ApiError(503, 'This node is not a swarm manager.'); }
  swarmNodes(): any[] { throw new ApiError(503, 'This node is not a swarm manager.'); }
  swarmNode(): any { throw new ApiError(503, 'This node is not a swarm manager.'); }
  async swarmNodeRemove(): Promise<void> { throw new ApiError(503, 'This node is not a swarm manager.'); }
}

/** The fake is every service at once. */
function services(f: FakeEngine): EngineApi {
  return { system: f, containers: f, execs: f, images: f, networks: f, swarm: f };
}

let dir: string;
let sock: string;
let server: http.Server;
let engine: FakeEngine;
let client: Client;

before(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'berth-api-'));
  sock = path.join(dir, 'api.sock');
  engine = new FakeEngine();
  server = await createApiServer(services(engine), { socketPath: sock });
  client = new Client(sock);
});

after(async () => {
  server.closeAllConnections?.();
  await new Promise((r) => server.close(r));
  await fs.rm(dir, { recursive: true, force: true });
});

function raw(method: string, p: string, body?: string | Buffer, headers: Record<string, string> = {}): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath: sock, method, path: p, headers: { ...(body !== undefined ? { 'Content-Length': String(Buffer.byteLength(body)) } : {}), ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

test('query parsing follows Docker: booleans, filters, version prefix', () => {
  const q = new URLSearchParams('a=1&b=true&c=True&d=0&e=false&f=&g=no&h=none&i=yes');
  assert.deepEqual(['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'zz'].map((k) => boolParam(q, k)),
    [true, true, true, false, false, false, false, false, true, false]);
  assert.deepEqual(parseFilters('{"name":["a","b"]}'), { name: ['a', 'b'] });
  assert.deepEqual(parseFilters('{"name":{"a":true,"b":false}}'), { name: ['a'] });
  assert.throws(() => parseFilters('{bad'), (e: any) => e.status === 400);
  assert.deepEqual(stripVersion('/v1.45/containers/json', { min: '1.24', max: '1.50' }), { path: '/containers/json', version: '1.45' });
  assert.deepEqual(stripVersion('/containers/json', { min: '1.24', max: '1.50' }), { path: '/containers/json', version: null });
  assert.throws(() => stripVersion('/v1.51/info', { min: '1.24', max: '1.50' }), /too new/);
  assert.throws(() => stripVersion('/v1.10/info', { min: '1.24', max: '1.50' }), /too old/);
});

test('every boolean query parameter reads Docker\'s way: force=True (docker-py) is true', async () => {
  engine.calls.length = 0;
  assert.equal((await raw('POST', '/v1.41/swarm/leave?force=True')).status, 200);
  assert.equal((await raw('POST', '/v1.41/swarm/leave?force=False')).status, 200);
  assert.deepEqual(engine.calls.filter((c) => c[0] === 'swarmLeave'), [['swarmLeave', true], ['swarmLeave', false]]);
  // No route reads a boolean by comparing with '1' or 'true' itself.
  const src = await fs.readFile(path.join(__dirname, '..', '..', '..', 'src', 'api', 'routes.ts'), 'utf8');
  assert.doesNotMatch(src, /=== '1'|=== 'true'/);
});

test('ping answers GET and HEAD with Docker headers', async () => {
  const g = await raw('GET', '/_ping');
  assert.equal(g.status, 200);
  assert.equal(g.body.toString(), 'OK');
  assert.equal(g.headers['api-version'], '1.45');
  assert.equal(g.headers['ostype'], 'linux');
  assert.equal(g.headers['docker-experimental'], 'false');
  const h = await raw('HEAD', '/v1.50/_ping');
  assert.equal(h.status, 200);
  assert.equal(h.body.length, 0);
});

test('unknown paths are 404 page not found; wrong version is 400', async () => {
  const r = await raw('GET', '/nope');
  assert.equal(r.status, 404);
  assert.deepEqual(JSON.parse(r.body.toString()), { message: 'page not found' });
  const v = await raw('GET', '/v1.99/info');
  assert.equal(v.status, 400);
  assert.match(JSON.parse(v.body.toString()).message, /client version 1.99 is too new/);
});

test('container lifecycle status codes: 201 create, 204 start, 304 start again, 404 unknown, 409 conflict', async () => {
  const c = await raw('POST', '/v1.45/containers/create?name=web', JSON.stringify({ Image: 'busybox', Cmd: ['sleep'], OpenStdin: true }), { 'Content-Type': 'application/json' });
  assert.equal(c.status, 201);
  const id = JSON.parse(c.body.toString()).Id;
  assert.equal(engine.calls.find((x) => x[0] === 'create')![1], 'web');
  assert.equal((await raw('POST', `/containers/${id}/start`)).status, 204);
  assert.equal((await raw('POST', '/containers/web/start')).status, 304);
  const d = await raw('DELETE', '/containers/web');
  assert.equal(d.status, 409);
  assert.equal(JSON.parse(d.body.toString()).message, 'You cannot remove a running container');
  assert.equal((await raw('DELETE', '/containers/web?force=1')).status, 204);
  const nf = await raw('POST', '/containers/nosuch/stop');
  assert.equal(nf.status, 404);
  assert.deepEqual(JSON.parse(nf.body.toString()), { message: 'No such container: nosuch' });
  const bad = await raw('POST', '/containers/create', '{not json', { 'Content-Type': 'application/json' });
  assert.equal(bad.status, 400);
});

test('list passes all= and JSON filters to the engine', async () => {
  const filters = encodeURIComponent(JSON.stringify({ name: ['x'], status: ['exited'] }));
  const r = await raw('GET', `/containers/json?all=1&filters=${filters}&limit=3`);
  assert.equal(r.status, 200);
  const call = engine.calls.filter((x) => x[0] === 'list').pop()!;
  assert.deepEqual(call[1], { all: true, filters: { name: ['x'], status: ['exited'] }, limit: 3 });
});

test('a thrown non-ApiError becomes a 500 with its message and the server keeps serving', async () => {
  const broken = engine.info;
  engine.info = async () => { throw new TypeError('boom'); };
  const r = await raw('GET', '/info');
  engine.info = broken;
  assert.equal(r.status, 500);
  assert.deepEqual(JSON.parse(r.body.toString()), { message: 'boom' });
  assert.equal((await raw('GET', '/info')).status, 200);
});

test('logs are multiplexed with 8-byte headers when there is no TTY', async () => {
  const { Id } = await engine.createContainer('logged', { Image: 'busybox' });
  const r = await raw('GET', `/containers/${Id}/logs?stdout=1&stderr=1&tail=5`);
  assert.equal(r.status, 200);
  assert.equal(r.headers['content-type'], 'application/vnd.docker.multiplexed-stream');
  assert.deepEqual(r.body, Buffer.concat([frame(1, Buffer.from('line1\n')), frame(2, Buffer.from('oops\n'))]));
  const call = engine.calls.filter((x) => x[0] === 'logs').pop()!;
  assert.equal((call[1] as LogOptions).tail, 5);
  const stdoutOnly = await raw('GET', `/containers/${Id}/logs?stdout=1`);
  assert.deepEqual(stdoutOnly.body, frame(1, Buffer.from('line1\n')));
  assert.equal((await raw('GET', `/containers/${Id}/logs`)).status, 400);
});

test('Demuxer reassembles frames split at any byte', () => {
  const all = Buffer.concat([frame(1, Buffer.from('hello')), frame(2, Buffer.from('world!')), frame(1, Buffer.alloc(0))]);
  for (let cut = 0; cut <= all.length; cut++) {
    const d = new Demuxer();
    const got = [...d.push(all.subarray(0, cut)), ...d.push(all.subarray(cut))];
    assert.deepEqual(got.map((f) => [f.id, f.data.toString()]), [[1, 'hello'], [2, 'world!'], [1, '']]);
    assert.equal(d.pending, 0);
  }
});

/** Sends an upgraded request by hand and returns the socket after the response head. */
function upgrade(p: string, body = ''): Promise<{ head: string; socket: net.Socket; rest: Buffer }> {
  return new Promise((resolve, reject) => {
    const s = net.connect(sock);
    s.on('error', reject);
    s.write(`POST ${p} HTTP/1.1\r\nHost: docker\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
    let buf = Buffer.alloc(0);
    const onData = (c: Buffer) => {
      buf = Buffer.concat([buf, c]);
      const i = buf.indexOf('\r\n\r\n');
      if (i < 0) return;
      s.removeListener('data', onData);
      resolve({ head: buf.subarray(0, i).toString(), socket: s, rest: buf.subarray(i + 4) });
    };
    s.on('data', onData);
  });
}

function readToEnd(s: net.Socket, first: Buffer): Promise<Buffer> {
  return new Promise((resolve) => {
    const chunks = [first];
    s.on('data', (c) => chunks.push(c));
    s.on('end', () => resolve(Buffer.concat(chunks)));
  });
}

test('attach upgrades to a multiplexed raw stream; stdin half-close ends the process', async () => {
  const { Id } = await engine.createContainer('att', { Image: 'busybox', Cmd: ['echo', 'hi'], OpenStdin: true, Env: ['EXIT=7'] });
  const { head, socket, rest } = await upgrade(`/v1.50/containers/${Id}/attach?stream=1&stdin=1&stdout=1&stderr=1`);
  assert.match(head, /^HTTP\/1.1 101 UPGRADED/);
  assert.match(head, /Content-Type: application\/vnd.docker.multiplexed-stream/);
  assert.match(head, /Upgrade: tcp/);
  const done = readToEnd(socket, rest);
  const wait = client.json('POST', `/containers/${Id}/wait`, { query: { condition: 'next-exit' } });
  await client.request('POST', `/containers/${Id}/start`);
  socket.write('typed\n');
  // Give the input a moment to pass before half-closing; end() sends FIN after the data.
  socket.end();
  const out = await done;
  const frames = new Demuxer().push(out);
  assert.deepEqual(frames.map((f) => [f.id, f.data.toString()]), [[1, 'out:echo hi\n'], [2, 'err:echo hi\n'], [1, 'typed\n']]);
  assert.deepEqual(await wait, { StatusCode: 7, Error: null });
});

test('attach without upgrade streams the same frames as an ordinary response', async () => {
  const { Id } = await engine.createContainer('att2', { Image: 'busybox', Cmd: ['x'] });
  const resP = client.stream('POST', `/containers/${Id}/attach`, { query: { stream: 1, stdout: 1, stderr: 1 } });
  const res = await resP;
  assert.equal(res.headers['content-type'], 'application/vnd.docker.multiplexed-stream');
  const outChunks: Buffer[] = [];
  const errChunks: Buffer[] = [];
  const sink = (arr: Buffer[]) => ({ write: (b: Buffer) => { arr.push(Buffer.from(b)); return true; } }) as unknown as NodeJS.WritableStream;
  const copied = copyOutput(res, true, sink(outChunks), sink(errChunks));
  await client.request('POST', `/containers/${Id}/start`);
  await copied;
  assert.equal(Buffer.concat(outChunks).toString(), 'out:x\n');
  assert.equal(Buffer.concat(errChunks).toString(), 'err:x\n');
});

test('attach to a TTY container is a raw stream', async () => {
  const { Id } = await engine.createContainer('tty', { Image: 'busybox', Cmd: ['t'], Tty: true });
  const { head, socket, rest } = await upgrade(`/containers/${Id}/attach?stream=1&stdout=1&stderr=1`);
  assert.match(head, /Content-Type: application\/vnd.docker.raw-stream/);
  const done = readToEnd(socket, rest);
  await client.request('POST', `/containers/${Id}/start`);
  assert.equal((await done).toString(), 'out:t\nerr:t\n');
});

test('exec start reads its JSON body from the upgraded connection, then stdin', async () => {
  const { Id } = await engine.createContainer('ex', { Image: 'busybox' });
  const { Id: execId } = await client.json('POST', `/containers/${Id}/exec`, { body: { Cmd: ['cat'], AttachStdin: true } });
  const { head, socket, rest } = await upgrade(`/exec/${execId}/start`, JSON.stringify({ Detach: false, Tty: true }));
  assert.match(head, /101 UPGRADED/);
  assert.match(head, /raw-stream/);
  const done = readToEnd(socket, rest);
  socket.end('abc');
  assert.equal((await done).toString(), 'ABC');
  const bad = await upgrade('/exec/nope/start', '{}');
  assert.match(bad.head, /^HTTP\/1.1 404/);
});

test('wait sends headers first and the status when the container exits', async () => {
  const { Id } = await engine.createContainer('w', { Image: 'busybox', Env: ['EXIT=3'] });
  const res = await client.stream('POST', `/containers/${Id}/wait`, { query: { condition: 'next-exit' } });
  assert.equal(res.statusCode, 200);
  await client.request('POST', `/containers/${Id}/start`);
  const chunks: Buffer[] = [];
  for await (const c of res) chunks.push(c as Buffer);
  assert.deepEqual(JSON.parse(Buffer.concat(chunks).toString()), { StatusCode: 3, Error: null });
  const nf = await raw('POST', '/containers/nosuch/wait');
  assert.equal(nf.status, 404);
});

test('image import streams the body and answers with a status line; load lists what it loaded', async () => {
  const tar = Buffer.alloc(10240, 1);
  const res = await raw('POST', '/images/create?fromSrc=-&repo=busybox&tag=1.0&changes=ENV%20A%3Db&changes=CMD%20%5B%22sh%22%5D', tar, { 'Content-Type': 'application/x-tar' });
  assert.equal(res.status, 200);
  assert.deepEqual(JSON.parse(res.body.toString()), { status: 'sha256:' + 'c'.repeat(64) });
  assert.deepEqual(engine.imports.pop(), { bytes: 10240, repo: 'busybox', tag: '1.0', changes: ['ENV A=b', 'CMD ["sh"]'] });
  // repo:tag in one parameter
  await raw('POST', '/images/create?fromSrc=-&repo=busybox:2', Buffer.alloc(1));
  assert.deepEqual(engine.imports.pop()!.tag, '2');
  const load = await raw('POST', '/images/load?quiet=1', Buffer.alloc(512));
  const lines = load.body.toString().trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(lines, [{ stream: 'Loaded image: busybox:latest\n' }, { stream: `Loaded image ID: sha256:${'d'.repeat(64)}\n` }]);
  const pull = await raw('POST', '/images/create?fromImage=nginx&tag=latest');
  assert.equal(pull.status, 404);
});

test('image names with slashes route to inspect/tag/delete', async () => {
  const i = await raw('GET', '/images/library/busybox:latest/json');
  assert.equal(i.status, 200);
  assert.equal(JSON.parse(i.body.toString()).Ref, 'library/busybox:latest');
  assert.equal((await raw('POST', '/images/busybox/tag?repo=my/bb&tag=v1')).status, 201);
  assert.deepEqual(engine.calls.filter((x) => x[0] === 'tag').pop(), ['tag', 'busybox', 'my/bb', 'v1']);
  const d = await raw('DELETE', '/images/my/bb:v1');
  assert.deepEqual(JSON.parse(d.body.toString()), [{ Untagged: 'my/bb:v1' }, { Deleted: 'sha256:x' }]);
});

test('network routes: create 201, inspect verbose, delete 204, connect/disconnect 200, 403 and 404 as thrown', async () => {
  const c = await raw('POST', '/networks/create', JSON.stringify({ Name: 'mynet', Driver: 'bridge' }));
  assert.equal(c.status, 201);
  assert.deepEqual(JSON.parse(c.body.toString()), { Id: 'f'.repeat(64), Warning: '' });
  const forbidden = await raw('POST', '/networks/create', JSON.stringify({ Name: 'bridge' }));
  assert.equal(forbidden.status, 403);
  assert.equal(JSON.parse((await raw('GET', '/networks/bridge?verbose=true')).body.toString()).verbose, true);
  assert.equal((await raw('GET', '/networks/nosuch')).status, 404);
  assert.equal((await raw('DELETE', '/networks/mynet')).status, 204);
  assert.equal((await raw('DELETE', '/networks/nosuch')).status, 404);
  assert.equal((await raw('POST', '/networks/mynet/connect', JSON.stringify({ Container: 'web', EndpointConfig: { Aliases: ['a'] } }))).status, 200);
  assert.deepEqual(engine.calls.filter((x) => x[0] === 'connect').pop(), ['connect', 'mynet', { Container: 'web', EndpointConfig: { Aliases: ['a'] } }]);
  assert.equal((await raw('POST', '/networks/mynet/disconnect', JSON.stringify({ Container: 'web', Force: true }))).status, 200);
  assert.deepEqual(engine.calls.filter((x) => x[0] === 'disconnect').pop(), ['disconnect', 'mynet', { Container: 'web', Force: true }]);
  const p = await raw('POST', '/networks/prune');
  assert.deepEqual(JSON.parse(p.body.toString()), { NetworksDeleted: ['mynet'] });
  const filters = encodeURIComponent(JSON.stringify({ driver: ['bridge'] }));
  await raw('GET', `/networks?filters=${filters}`);
  assert.deepEqual(engine.calls.filter((x) => x[0] === 'netlist').pop(), ['netlist', { driver: ['bridge'] }]);
});

test('the socket file is mode 0660', async () => {
  const st = await fs.stat(sock);
  assert.equal(st.mode & 0o777, 0o660);
});

// ------------------------------------------------------------------ the berth CLI over the same fake

import { spawn } from 'node:child_process';

const BERTH = path.join(__dirname, '..', '..', '..', 'bin', 'berth');

function berth(args: string[], input?: string): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [BERTH, '-H', `unix://${sock}`, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (c) => { out += c; });
    p.stderr.on('data', (c) => { err += c; });
    p.on('close', (code) => resolve({ code: code ?? -1, out, err }));
    p.stdin.end(input ?? '');
  });
}

test('berth run: output split to stdout/stderr, exit code of the container, args after the image kept', async () => {
  const r = await berth(['run', '--name', 'cli1', '-e', 'EXIT=4', 'busybox', 'echo', '-n', 'x']);
  assert.equal(r.out, 'out:echo -n x\n');
  assert.equal(r.err, 'err:echo -n x\n');
  assert.equal(r.code, 4);
  const create = engine.calls.filter((x) => x[0] === 'create').pop()!;
  assert.equal(create[1], 'cli1');
  assert.deepEqual((create[2] as any).Cmd, ['echo', '-n', 'x']);
});

test('berth run -i passes stdin through and closes it at EOF', async () => {
  const r = await berth(['run', '-i', 'busybox', 'cat'], 'typed line\n');
  assert.equal(r.out, 'out:cat\ntyped line\n');
  assert.equal(r.code, 0);
});

test('berth run -d prints the full id; errors use docker wording and exit codes', async () => {
  const d = await berth(['run', '-d', '-p', '8080:80', 'busybox', 'sleep']);
  assert.match(d.out, /^[0-9a-f]{64}\n$/);
  const bad = await berth(['run', '--nope', 'busybox']);
  assert.equal(bad.code, 125);
  assert.equal(bad.err, "unknown flag: --nope\n\nUsage:  berth run [OPTIONS] IMAGE [COMMAND] [ARG...]\n\nRun 'berth run --help' for more information\n");
  const port = await berth(['run', '-p', '99999:80', 'busybox']);
  assert.equal(port.code, 125);
  assert.equal(port.err, "berth: invalid hostPort: 99999\n\nRun 'berth run --help' for more information\n");
  const missing = await berth(['run', 'missing']);
  assert.equal(missing.code, 125);
  assert.match(missing.err, /^Unable to find image 'missing:latest' locally\nberth: Error response from daemon: pull access denied for missing/);
  const stop = await berth(['stop', 'nosuch']);
  assert.equal(stop.code, 1);
  assert.equal(stop.err, 'Error response from daemon: No such container: nosuch\n');
  const ins = await berth(['inspect', 'nosuch']);
  assert.equal(ins.code, 1);
  assert.equal(ins.out, '[]\n');
  assert.equal(ins.err, 'Error: No such object: nosuch\n');
  const tmpl = await berth(['inspect', '--format', '{{.Nope}}', 'cli1']);
  assert.equal(tmpl.code, 1);
  assert.equal(tmpl.err, 'template parsing error: template: :1:2: executing "" at <.Nope>: map has no entry for key "Nope"\n');
});

test('berth exec -i streams stdin to the exec and exits with its code', async () => {
  await engine.createContainer('exec1', { Image: 'busybox' });
  const r = await berth(['exec', '-i', 'exec1', 'tr', 'a-z', 'A-Z'], 'abc');
  assert.equal(r.out, 'ABC');
  assert.equal(r.code, 3);
  const body = engine.calls.filter((x) => x[0] === 'execCreate').pop()![1] as any;
  assert.deepEqual(body.Cmd, ['tr', 'a-z', 'A-Z']);
  assert.equal(body.AttachStdin, true);
});

test('berth network create sends the IPAM config; network ls prints docker\'s table', async () => {
  const c = await berth(['network', 'create', '-d', 'bridge', '--subnet', '172.26.0.0/16', '--gateway', '172.26.0.2', '--internal', '-o', 'com.docker.network.bridge.enable_icc=false', 'bridge1']);
  assert.equal(c.out, 'f'.repeat(64) + '\n');
  const body = engine.calls.filter((x) => x[0] === 'netcreate').pop()![1] as any;
  assert.deepEqual(body.IPAM.Config, [{ Subnet: '172.26.0.0/16', Gateway: '172.26.0.2' }]);
  assert.equal(body.Internal, true);
  assert.deepEqual(body.Options, { 'com.docker.network.bridge.enable_icc': 'false' });
  const ls = await berth(['network', 'ls']);
  assert.equal(ls.out, 'NETWORK ID     NAME      DRIVER    SCOPE\n111111111111   bridge    bridge    local\n');
  const pre = await berth(['network', 'create', 'bridge']);
  assert.equal(pre.code, 1);
  assert.equal(pre.err, 'Error response from daemon: operation is not permitted on predefined bridge network\n');
});
