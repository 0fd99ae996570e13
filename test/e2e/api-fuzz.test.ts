// Malformed requests against a real berthd: a seeded fuzz of every API route (wrong types,
// nulls, missing and extra fields, huge and deeply nested values, invalid JSON, bad encodings,
// bad query values), the issue's exact examples, the CLI on a closed pipe, a stop timeout
// beyond a timer's range and connections that stop half-way. Each must end in a 4xx (never a
// 5xx), the daemon alive, and nothing left behind: the same links, nft ruleset, networks,
// containers, mounts and data-root files as before.
//
// BERTH_FUZZ_SEED=N replays a run; BERTH_FUZZ_COUNT=N changes how many requests are sent.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import * as path from 'node:path';
import { Sandbox, poll, shq } from '../harness/sandbox';
import { rng } from '../harness/rng';

const skip = Sandbox.skipReason();
const SEED = Number(process.env.BERTH_FUZZ_SEED ?? 1205);
const COUNT = Number(process.env.BERTH_FUZZ_COUNT ?? 1500);
const BERTH = path.resolve(__dirname, '..', '..', '..', 'bin', 'berth');

interface Answer { status: number; message: string; raw: string }

/**
 * One raw HTTP/1.1 request on the unix socket; resolves with the status line's code and, for an
 * error, its JSON message. A success is not read to its end (it may be a stream: logs -f,
 * events, wait, attach): the connection is closed once its status is known.
 */
function request(socketPath: string, method: string, target: string,
                 opts: { body?: string | Buffer; contentType?: string | null; upgrade?: boolean } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const body = opts.body === undefined ? Buffer.alloc(0) : Buffer.from(opts.body);
    const head = [`${method} ${target} HTTP/1.1`, 'Host: berth'];
    if (opts.contentType !== null && body.length) head.push(`Content-Type: ${opts.contentType ?? 'application/json'}`);
    if (body.length || method === 'POST') head.push(`Content-Length: ${body.length}`);
    if (opts.upgrade) head.push('Connection: Upgrade', 'Upgrade: tcp');
    else head.push('Connection: close');
    const s = net.connect(socketPath);
    let buf = Buffer.alloc(0);
    let done = false;
    // A hang guard, never an assertion: a request with no status line at all within it fails.
    const guard = setTimeout(() => finish(new Error(`no answer to ${method} ${target.slice(0, 200)} within 60 s`)), 60_000);
    const finish = (err: Error | null, a?: Answer) => {
      if (done) return;
      done = true;
      clearTimeout(guard);
      s.destroy();
      if (err) reject(err); else resolve(a!);
    };
    const parse = (ended: boolean) => {
      const text = buf.toString('latin1');
      const m = /^HTTP\/1\.1 (\d{3})/.exec(text);
      if (!m) { if (ended) finish(new Error(`no status line for ${method} ${target.slice(0, 200)}: ${JSON.stringify(text.slice(0, 200))}`)); return; }
      const status = Number(m[1]);
      const end = text.indexOf('\r\n\r\n');
      if (status < 400) { finish(null, { status, message: '', raw: text.slice(0, 300) }); return; }
      if (end < 0 && !ended) return;
      const len = /\r\ncontent-length: (\d+)/i.exec(text.slice(0, end))?.[1];
      const bodyText = text.slice(end + 4);
      if (!ended && len !== undefined && Buffer.byteLength(bodyText, 'latin1') < Number(len)) return;
      if (!ended && len === undefined) return;
      let message = bodyText;
      try { message = JSON.parse(Buffer.from(bodyText, 'latin1').toString('utf8')).message ?? bodyText; } catch { /* not JSON */ }
      finish(null, { status, message, raw: text.slice(0, 300) });
    };
    s.on('data', (c) => { buf = Buffer.concat([buf, c]); parse(false); });
    s.on('end', () => parse(true));
    s.on('close', () => parse(true));
    // The server may answer and close before it read all we send (a 413, a bad URL).
    s.on('error', (e: NodeJS.ErrnoException) => (e.code === 'EPIPE' || e.code === 'ECONNRESET' ? parse(true) : finish(e)));
    s.write(Buffer.concat([Buffer.from(head.join('\r\n') + '\r\n\r\n', 'latin1'), body]));
  });
}

describe('API fuzz', { skip }, () => {
  let sb: Sandbox;
  let sock: string;
  let clean: Awaited<ReturnType<typeof snapshot>>;
  const fixtures = { net: 'fz-net', run: 'fz-run', created: 'fz-created', execId: '', runId: '', createdId: '' };

  /** Everything the sandbox has, plus the data root's file names (no sizes: logs grow). */
  const snapshot = async () => ({
    ...(await sb.snapshot()),
    files: (await sb.sh(`cd ${shq(sb.dataRoot)} && find . -path ./images -prune -o -print | grep -v '\\.log$' | sort`)).stdout,
    images: (await sb.berth(['images', '--format', '{{.Repository}}:{{.Tag}}'])).stdout,
  });

  const api = (method: string, target: string, opts: Parameters<typeof request>[3] = {}) => request(sock, method, target, opts);

  before(async () => {
    sb = await Sandbox.start();
    await sb.importBusybox();
    sock = sb.hostPath(sb.socket);
    await sb.berth(['network', 'create', '--subnet', '10.77.0.0/24', fixtures.net]);
    await sb.berth(['run', '-d', '--name', fixtures.run, '--network', fixtures.net, '-p', '8081:80', 'busybox', 'sleep', '100000']);
    await sb.berth(['create', '--name', fixtures.created, 'busybox', 'true']);
    fixtures.runId = await sb.inspect(fixtures.run, '{{.Id}}');
    fixtures.createdId = await sb.inspect(fixtures.created, '{{.Id}}');
    clean = await snapshot();
  });
  after(async () => { await sb?.cleanup(); });

  /** Undo what requests that succeeded made, so what failed can be compared with `clean`. */
  const undoSuccesses = async () => {
    const keepC = new Set([fixtures.run, fixtures.created]);
    const names = (await sb.berth(['ps', '-a', '--format', '{{.Names}}'])).stdout.split('\n').filter(Boolean);
    const extra = names.filter((n) => !keepC.has(n));
    if (extra.length) await sb.berth(['rm', '-f', ...extra]);
    const nets = (await sb.berth(['network', 'ls', '--format', '{{.Name}}'])).stdout.split('\n').filter(Boolean);
    const extraNets = nets.filter((n) => !['bridge', 'host', 'none', fixtures.net].includes(n));
    if (extraNets.length) await sb.berth(['network', 'rm', ...extraNets]);
    // Tags made by valid tag requests, images made by imports of whatever bytes were sent.
    const images = (await sb.berth(['images', '--format', '{{.ID}} {{.Repository}}:{{.Tag}}'])).stdout.split('\n').filter(Boolean);
    for (const line of images) {
      const [imageId, ref] = line.split(' ');
      if (ref === 'busybox:latest' || ref === 'host:latest') continue;
      await sb.berth(['rmi', ref === '<none>:<none>' ? imageId : ref]);
    }
    // Connected to another network by a connect that was valid by chance: disconnect again.
    for (const c of [fixtures.run, fixtures.created]) {
      const on = (await sb.inspect(c, '{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}')).split(' ').filter(Boolean);
      const want = c === fixtures.run ? [fixtures.net] : ['bridge'];
      for (const n of on) if (!want.includes(n)) await sb.berth(['network', 'disconnect', '-f', n, c]);
    }
  };

  const alive = async () => {
    assert.ok(sb.daemonRunning, 'berthd exited');
    const a = await api('GET', '/_ping');
    assert.equal(a.status, 200, 'berthd does not answer /_ping');
  };

  it("the issue's examples are 400s that name the problem, and leave nothing behind", async () => {
    const create = (body: unknown, name?: string) =>
      api('POST', `/v1.41/containers/create${name ? `?name=${name}` : ''}`, { body: typeof body === 'string' ? body : JSON.stringify(body) });
    let a = await create({ Image: 'busybox', Cmd: ['true'], HostConfig: { NetworkMode: 5 } }, 'ex1');
    assert.equal(a.status, 400, a.raw);
    assert.equal(a.message, 'json: cannot unmarshal number into Go struct field HostConfig.NetworkMode of type string');
    a = await api('GET', '/containers/%ZZ/json');
    assert.equal(a.status, 400, a.raw);
    assert.equal(a.message, 'invalid URL escape "%ZZ"');
    // Deep Labels: refused by type before anything is written.
    const deep = '{"Image":"busybox","Cmd":["true"],"Labels":' + '{"a":'.repeat(20_000) + '1' + '}'.repeat(20_000) + '}';
    a = await create(deep, 'ex2');
    assert.equal(a.status, 400, a.raw);
    assert.match(a.message, /nested deeper than/);
    a = await create({ Image: 'busybox', Cmd: ['true'], Labels: { a: { b: { c: 1 } } } }, 'ex2');
    assert.equal(a.status, 400, a.raw);
    assert.equal(a.message, 'json: cannot unmarshal object into Go struct field Labels.a of type string');
    // PortBindings {"80/tcp":[null]}: as dockerd, an empty binding (a free host port), and it starts.
    a = await create({ Image: 'busybox', Cmd: ['sleep', '1000'], HostConfig: { PortBindings: { '80/tcp': [null] } } }, 'ex3');
    assert.equal(a.status, 201, a.raw);
    a = await api('POST', '/containers/ex3/start');
    assert.equal(a.status, 204, a.raw);
    assert.match(await sb.inspect('ex3', '{{json .NetworkSettings.Ports}}'), /"80\/tcp":\[\{"HostIp":"0\.0\.0\.0","HostPort":"\d+"\}/);
    await sb.berth(['rm', '-f', 'ex3']);
    // Other type and value errors in Docker's words.
    a = await create({ Image: 'busybox', Cmd: ['true'], HostConfig: { PortBindings: { '80/tcp': [{ HostPort: 80 }] } } });
    assert.equal(a.status, 400);
    assert.equal(a.message, 'json: cannot unmarshal number into Go struct field HostConfig.PortBindings.80/tcp[0].HostPort of type string');
    a = await create({ Image: 'busybox', Cmd: ['true'], HostConfig: { PortBindings: { foo: [{ HostPort: '80' }] } } });
    assert.deepEqual([a.status, a.message], [400, 'invalid port specification: "foo"']);
    a = await create({ Image: 'busybox', Cmd: ['true'], HostConfig: { RestartPolicy: { Name: 'bogus' } } });
    assert.deepEqual([a.status, a.message], [400, "invalid restart policy 'bogus'"]);
    a = await create({ Image: 'busybox', Cmd: ['true'], HostConfig: { Binds: ['tmpvol:/tmp'] } });
    assert.deepEqual([a.status, a.message], [400, "invalid volume specification: 'tmpvol:/tmp': berth has no named volumes: give an absolute host path to bind-mount"]);
    a = await create({ Image: 'busybox', Cmd: ['true'], NetworkingConfig: { EndpointsConfig: { bridge: null } } });
    assert.deepEqual([a.status, a.message], [400, 'no EndpointSettings for bridge']);
    a = await create('[1]');
    assert.deepEqual([a.status, a.message], [400, 'json: cannot unmarshal array into Go value of type container.Config']);
    a = await create('{"Image":"busybox",');
    assert.equal(a.status, 400);
    assert.match(a.message, /^invalid JSON: /);
    a = await api('POST', '/containers/create', { body: '{"Image":"busybox","Cmd":["true"]}', contentType: 'text/plain' });
    assert.deepEqual([a.status, a.message], [400, "Content-Type specified (text/plain) must be 'application/json'"]);
    a = await api('POST', '/networks/create', { body: JSON.stringify({ Name: 'x', IPAM: 5 }) });
    assert.deepEqual([a.status, a.message], [400, 'json: cannot unmarshal number into Go struct field IPAM of type network.IPAM']);
    a = await api('POST', `/networks/${fixtures.net}/connect`, { body: JSON.stringify({ Container: 5 }) });
    assert.deepEqual([a.status, a.message], [400, 'json: cannot unmarshal number into Go struct field Container of type string']);
    a = await api('POST', `/containers/${fixtures.run}/exec`, { body: JSON.stringify({ Cmd: 'ls' }) });
    assert.deepEqual([a.status, a.message], [400, 'json: cannot unmarshal string into Go struct field Cmd of type []string']);
    a = await api('POST', `/containers/${fixtures.run}/stop?t=abc`);
    assert.deepEqual([a.status, a.message], [400, 'strconv.Atoi: parsing "abc": invalid syntax']);
    a = await api('POST', `/containers/${fixtures.run}/kill?signal=FOO`);
    assert.deepEqual([a.status, a.message], [400, 'Invalid signal: FOO']);
    const big = Buffer.alloc(5 << 20, 0x20);
    a = await api('POST', '/containers/create', { body: big });
    assert.equal(a.status, 413, a.raw);
    await alive();
    assert.deepEqual(await snapshot(), clean);
  });

  it(`a seeded fuzz of every route (seed ${SEED}, ${COUNT} requests): no 5xx, berthd alive, nothing left behind`, async () => {
    const r = rng(SEED);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];
    const huge = 'x'.repeat(200_000);
    const deepObj = (n: number): unknown => (n === 0 ? 1 : { a: deepObj(n - 1) });
    const deepArr = (n: number): string => '['.repeat(n) + ']'.repeat(n);
    /** Values of every JSON type, and the awkward ones. */
    const junk = (): unknown => pick<() => unknown>([
      () => null, () => true, () => 0, () => -1, () => 1.5, () => 1e308, () => 2 ** 63, () => '', () => 'x',
      () => 'busybox', () => '%ZZ', () => '../../etc', () => '\u0000\uffff', () => huge, () => [], () => [null],
      () => [1, 'a'], () => ['a'], () => ({}), () => ({ a: 'b' }), () => ({ a: null }), () => deepObj(30),
      () => ({ '80/tcp': [null] }), () => ({ '80/tcp': [{ HostPort: 'abc' }] }), () => ['true'],
    ])();
    // Known fields of each body, at their paths; the fuzzer sets one or more of them to junk.
    const fields: Record<string, string[][]> = {
      container: [['Image'], ['Cmd'], ['Entrypoint'], ['Env'], ['Labels'], ['Labels', 'a'], ['ExposedPorts'], ['ExposedPorts', '80/tcp'],
        ['Tty'], ['OpenStdin'], ['Hostname'], ['Domainname'], ['User'], ['WorkingDir'], ['MacAddress'], ['Volumes'], ['Healthcheck'],
        ['StopSignal'], ['StopTimeout'], ['HostConfig'], ['HostConfig', 'NetworkMode'], ['HostConfig', 'PortBindings'],
        ['HostConfig', 'PortBindings', '80/tcp'], ['HostConfig', 'PortBindings', '80/tcp', '0'], ['HostConfig', 'PortBindings', '80/tcp', '0', 'HostIp'],
        ['HostConfig', 'PortBindings', '80/tcp', '0', 'HostPort'], ['HostConfig', 'PublishAllPorts'], ['HostConfig', 'Dns'], ['HostConfig', 'DnsSearch'],
        ['HostConfig', 'DnsOptions'], ['HostConfig', 'ExtraHosts'], ['HostConfig', 'Links'], ['HostConfig', 'AutoRemove'], ['HostConfig', 'RestartPolicy'],
        ['HostConfig', 'RestartPolicy', 'Name'], ['HostConfig', 'LogConfig'], ['HostConfig', 'Binds'], ['HostConfig', 'Memory'], ['HostConfig', 'CapAdd'],
        ['HostConfig', 'Sysctls'], ['HostConfig', 'Privileged'], ['NetworkingConfig'], ['NetworkingConfig', 'EndpointsConfig'],
        ['NetworkingConfig', 'EndpointsConfig', 'fz-net'], ['NetworkingConfig', 'EndpointsConfig', 'fz-net', 'IPAMConfig'],
        ['NetworkingConfig', 'EndpointsConfig', 'fz-net', 'IPAMConfig', 'IPv4Address'], ['NetworkingConfig', 'EndpointsConfig', 'fz-net', 'Aliases'],
        ['NetworkingConfig', 'EndpointsConfig', 'bridge', 'Links'], ['NetworkingConfig', 'EndpointsConfig', 'fz-net', 'MacAddress']],
      network: [['Name'], ['Driver'], ['Internal'], ['Attachable'], ['EnableIPv6'], ['Options'], ['Options', 'com.docker.network.bridge.name'],
        ['Options', 'parent'], ['Labels'], ['IPAM'], ['IPAM', 'Driver'], ['IPAM', 'Config'], ['IPAM', 'Config', '0'], ['IPAM', 'Config', '0', 'Subnet'],
        ['IPAM', 'Config', '0', 'Gateway'], ['IPAM', 'Config', '0', 'IPRange'], ['IPAM', 'Config', '0', 'AuxiliaryAddresses'], ['IPAM', 'Options'],
        ['Scope'], ['ConfigFrom'], ['CheckDuplicate']],
      connect: [['Container'], ['EndpointConfig'], ['EndpointConfig', 'Aliases'], ['EndpointConfig', 'IPAMConfig'],
        ['EndpointConfig', 'IPAMConfig', 'IPv4Address'], ['EndpointConfig', 'Links'], ['EndpointConfig', 'MacAddress'], ['EndpointConfig', 'DriverOpts']],
      disconnect: [['Container'], ['Force']],
      exec: [['Cmd'], ['Env'], ['Tty'], ['User'], ['WorkingDir'], ['AttachStdin'], ['AttachStdout'], ['Privileged'], ['Detach']],
      execStart: [['Detach'], ['Tty'], ['ConsoleSize']],
      swarm: [['ListenAddr'], ['AdvertiseAddr'], ['RemoteAddrs'], ['JoinToken'], ['DataPathPort'], ['Spec']],
    };
    const bases: Record<string, () => any> = {
      container: () => ({ Image: 'busybox', Cmd: ['true'], HostConfig: { NetworkMode: fixtures.net }, NetworkingConfig: { EndpointsConfig: { [fixtures.net]: {} } } }),
      network: () => ({ Name: `fz${Math.floor(r() * 1e6)}`, Driver: 'bridge', IPAM: { Config: [{ Subnet: '10.78.0.0/24' }] } }),
      connect: () => ({ Container: fixtures.created, EndpointConfig: { Aliases: ['a'] } }),
      disconnect: () => ({ Container: 'nosuch', Force: false }),
      exec: () => ({ Cmd: ['true'], AttachStdout: true }),
      execStart: () => ({ Detach: true }),
      swarm: () => ({ ListenAddr: 5 }),
    };
    const setAt = (o: any, p: string[], v: unknown) => {
      let x = o;
      for (const k of p.slice(0, -1)) {
        if (x[k] === null || typeof x[k] !== 'object') x[k] = /^\d+$/.test(p[p.indexOf(k) + 1] ?? '') ? [] : {};
        x = x[k];
      }
      x[p[p.length - 1]] = v;
    };
    /** A body for `kind`: shapes that are wrong in one or more places, or not JSON at all. */
    const bodyFor = (kind: string): { body: string | Buffer; contentType?: string | null } => {
      const roll = r();
      if (roll < 0.08) return { body: pick(['{', '{"a":', 'nul', '[', '{"Image":"busybox"}}', '\u0000', '{"a":1,}', "{'a':1}", '"x"', '5', 'null', '[]', '{}']) };
      if (roll < 0.11) return { body: '{"Labels":' + deepArr(pick([63, 64, 65, 100, 5000])) + '}' };
      if (roll < 0.13) return { body: Buffer.from([0xff, 0xfe, 0x7b, 0x22, 0x80, 0x22, 0x7d]) };
      if (roll < 0.15) return { body: JSON.stringify(bases[kind]()), contentType: pick(['text/plain', 'application/x-www-form-urlencoded', null, 'application/json; charset=utf-8']) };
      const b = bases[kind]();
      if (roll < 0.2) b[pick(['Extra', 'hostconfig', '__proto__', 'constructor'])] = junk();
      const n = 1 + Math.floor(r() * 3);
      for (let i = 0; i < n; i++) setAt(b, pick(fields[kind]), junk());
      if (kind === 'swarm') for (const k of Object.keys(b)) if (b[k] === null || typeof b[k] === 'string') b[k] = 5; // never a valid init/join
      return { body: JSON.stringify(b) };
    };
    const id = (): string => pick(['nosuch', '%ZZ', '%', '%2', '..', '%2e%2e', 'a%2Fb', encodeURIComponent(huge.slice(0, 5000)), '%00', '%F0%9F%98%80', '%C3%28', fixtures.created, fixtures.runId.slice(0, 12)]);
    // Routes that start or stop containers get the victim, made here and removed afterwards.
    const safeId = (): string => pick(['nosuch', '%ZZ', '%', '%2', '%00', '%C3%28', encodeURIComponent(huge.slice(0, 3000)), 'fz-victim']);
    const qv = (): string => pick(['', 'abc', '-1', '0', '1', 'true', '99999999999999999999', '1e3', '%ZZ', '%00', encodeURIComponent(huge.slice(0, 2000)),
      '%7B%7D', '%7B%22a%22%3A1%7D', '%7B%22name%22%3A%5B%22x%22%5D%7D', '%5B%5D', 'null', 'SIGKILL', 'FOO', 'not-running', 'next-exit', 'removed']);
    const q = (keys: string[]): string => {
      const parts: string[] = [];
      for (const k of keys) if (r() < 0.6) parts.push(`${k}=${qv()}`);
      if (r() < 0.1) parts.push(`${qv()}=${qv()}`);
      return parts.length ? `?${parts.join('&')}` : '';
    };
    // Prune removes what is not in use: only filters that match nothing (or are malformed).
    const pruneFilter = () => pick(['%7B%22label%22%3A%5B%22fz-none%22%5D%7D', 'abc', '%ZZ', '%7B%22until%22%3A%5B%22abc%22%5D%7D',
      '%7B%22label%22%3A5%7D', '%5B%5D', '%7B%22bogus%22%3A%5B%22x%22%5D%7D']);
    const v = () => pick(['', '/v1.41', '/v1.24', '/v1.50', '/v1.51', '/v0.1', '/v1.x']);

    // Every route; those that change a running container target ones that are not (or none).
    type Gen = () => { method: string; target: string; body?: string | Buffer; contentType?: string | null; upgrade?: boolean };
    const routes: Gen[] = [
      () => ({ method: pick(['GET', 'HEAD']), target: `${v()}/_ping` }),
      () => ({ method: 'GET', target: `${v()}/version` }),
      () => ({ method: 'GET', target: `${v()}/info` }),
      () => ({ method: 'GET', target: `${v()}/system/df` }),
      () => ({ method: 'GET', target: `${v()}/events${q(['since', 'until', 'filters'])}` }),
      () => ({ method: 'GET', target: `${v()}/containers/json${q(['all', 'limit', 'size', 'filters'])}` }),
      () => ({ method: 'POST', target: `${v()}/containers/create${q(['name', 'platform'])}`, ...bodyFor('container') }),
      () => ({ method: 'POST', target: `${v()}/containers/prune?filters=${pruneFilter()}` }),
      () => ({ method: 'GET', target: `${v()}/containers/${id()}/json${q(['size'])}` }),
      () => ({ method: 'POST', target: `${v()}/containers/${safeId()}/start` }),
      () => ({ method: 'POST', target: `${v()}/containers/${safeId()}/stop${q(['t', 'signal'])}` }),
      () => ({ method: 'POST', target: `${v()}/containers/${safeId()}/kill${q(['signal'])}` }),
      () => ({ method: 'POST', target: `${v()}/containers/${safeId()}/restart${q(['t', 'signal'])}` }),
      () => ({ method: 'DELETE', target: `${v()}/containers/${pick(['nosuch', '%ZZ', '%C3%28', '%00'])}${q(['force', 'v', 'link'])}` }),
      () => ({ method: 'GET', target: `${v()}/containers/${id()}/top${q(['ps_args'])}` }),
      () => ({ method: 'POST', target: `${v()}/containers/${pick(['nosuch', '%ZZ', '%00'])}/rename${q(['name'])}` }),
      () => ({ method: 'POST', target: `${v()}/containers/${safeId()}/wait${q(['condition'])}` }),
      () => ({ method: 'POST', target: `${v()}/containers/${id()}/resize${q(['h', 'w'])}` }),
      () => ({ method: 'POST', target: `${v()}/containers/${id()}/attach${q(['stdin', 'stdout', 'stderr', 'stream', 'logs'])}`, upgrade: r() < 0.5 }),
      () => ({ method: 'GET', target: `${v()}/containers/${id()}/logs${q(['stdout', 'stderr', 'follow', 'tail', 'timestamps', 'since', 'until'])}` }),
      () => ({ method: 'POST', target: `${v()}/containers/${id()}/exec`, ...bodyFor('exec') }),
      () => ({ method: 'POST', target: `${v()}/exec/${pick(['nosuch', '%ZZ', fixtures.execId || 'x'])}/start`, upgrade: r() < 0.5, ...bodyFor('execStart') }),
      () => ({ method: 'GET', target: `${v()}/exec/${pick(['nosuch', '%ZZ', fixtures.execId || 'x'])}/json` }),
      () => ({ method: 'POST', target: `${v()}/exec/${pick(['nosuch', '%ZZ', fixtures.execId || 'x'])}/resize${q(['h', 'w'])}` }),
      () => ({ method: 'GET', target: `${v()}/images/json${q(['all', 'filters', 'digests'])}` }),
      () => ({ method: 'POST', target: `${v()}/images/create?${pick(['fromSrc=-', 'fromSrc=', 'fromSrc=http%3A%2F%2Fx', 'fromImage=', 'fromImage=%ZZ', 'fromImage=UPPER', 'fromImage=a%20b', 'fromImage=a..b', 'repo=x'])}${q(['repo', 'tag', 'changes']).replace('?', '&')}`,
        body: pick(['', 'not a tar', Buffer.alloc(1024), Buffer.alloc(10240, 7)]), contentType: 'application/x-tar' }),
      () => ({ method: 'POST', target: `${v()}/images/load${q(['quiet'])}`, body: pick(['', 'not a tar', Buffer.alloc(1024), Buffer.alloc(10240, 7)]), contentType: 'application/x-tar' }),
      () => ({ method: 'GET', target: `${v()}/images/get?${pick(['', 'names=', 'names=nosuch', 'names=%ZZ', 'names=busybox&names=nosuch'])}` }),
      () => ({ method: 'GET', target: `${v()}/images/${pick(['nosuch', '%ZZ', 'a/b/c', '%00'])}/get` }),
      () => ({ method: 'GET', target: `${v()}/images/${id()}/json` }),
      () => ({ method: 'POST', target: `${v()}/images/${pick(['nosuch', '%ZZ', 'busybox'])}/tag${q(['repo', 'tag'])}` }),
      () => ({ method: 'DELETE', target: `${v()}/images/${pick(['nosuch', '%ZZ', '%00', 'sha256:%ZZ'])}${q(['force', 'noprune'])}` }),
      () => ({ method: 'POST', target: `${v()}/images/prune` }),
      () => ({ method: 'GET', target: `${v()}/networks${q(['filters'])}` }),
      () => ({ method: 'POST', target: `${v()}/networks/create`, ...bodyFor('network') }),
      () => ({ method: 'POST', target: `${v()}/networks/prune?filters=${pruneFilter()}` }),
      () => ({ method: 'GET', target: `${v()}/networks/${pick(['nosuch', '%ZZ', fixtures.net, 'bridge', '%00'])}${q(['verbose', 'scope'])}` }),
      () => ({ method: 'DELETE', target: `${v()}/networks/${pick(['nosuch', '%ZZ', 'bridge', 'host', 'none', '%00'])}` }),
      () => ({ method: 'POST', target: `${v()}/networks/${pick(['nosuch', '%ZZ', fixtures.net, 'bridge', 'host', 'none'])}/connect`, ...bodyFor('connect') }),
      () => ({ method: 'POST', target: `${v()}/networks/${pick(['nosuch', '%ZZ', fixtures.net, 'bridge'])}/disconnect`, ...bodyFor('disconnect') }),
      () => ({ method: 'POST', target: `${v()}/swarm/${pick(['init', 'join'])}`, ...bodyFor('swarm') }),
      () => ({ method: 'POST', target: `${v()}/swarm/leave${q(['force'])}` }),
      () => ({ method: 'GET', target: `${v()}/swarm` }),
      () => ({ method: 'GET', target: `${v()}/nodes` }),
      () => ({ method: 'GET', target: `${v()}/nodes/${pick(['nosuch', '%ZZ'])}` }),
      () => ({ method: 'DELETE', target: `${v()}/nodes/${pick(['nosuch', '%ZZ'])}${q(['force'])}` }),
      () => ({ method: pick(['GET', 'PUT', 'PATCH', 'OPTIONS', 'BREW']), target: pick(['/', '/containers', '/v1.41/nope', '/%ZZ', '//', '/containers/json/extra', `/${huge.slice(0, 4000)}`]) }),
    ];

    // An exec that can be started once (the rest of its starts are 409).
    await sb.berth(['create', '--name', 'fz-victim', 'busybox', 'sleep', '100000']);
    const ex = await sb.sh(`curl -s --unix-socket ${shq(sb.socket)} -H 'Content-Type: application/json' -d '{"Cmd":["true"]}' http://b/containers/${fixtures.run}/exec`);
    fixtures.execId = JSON.parse(ex.stdout).Id;
    assert.match(fixtures.execId, /^[0-9a-f]{64}$/, ex.stdout);
    const failures: string[] = [];
    const byStatus = new Map<number, number>();
    for (let i = 0; i < COUNT; i++) {
      // Every route at least COUNT / routes.length times, in a seeded order.
      const gen = i < routes.length ? routes[i] : pick(routes);
      const req = gen();
      const a = await api(req.method, req.target, req);
      byStatus.set(a.status, (byStatus.get(a.status) ?? 0) + 1);
      // 501: a route berth says it does not implement; 503: swarm calls on a node outside a swarm.
      if (a.status >= 500 && a.status !== 501 && a.status !== 503) {
        failures.push(`#${i} ${req.method} ${req.target.slice(0, 160)} ${JSON.stringify(String(req.body ?? '').slice(0, 200))} -> ${a.status} ${a.message.slice(0, 300)}`);
      }
      if (!sb.daemonRunning) { failures.push(`#${i} berthd died after ${req.method} ${req.target.slice(0, 160)}`); break; }
    }
    await alive();
    assert.deepEqual(failures, [], `seed ${SEED}: ${failures.length} answers were 5xx (statuses ${JSON.stringify([...byStatus])})`);
    // Some requests must have been valid, or the fuzz tested only the parser.
    assert.ok([...byStatus.keys()].some((s) => s < 300), `no request succeeded: ${JSON.stringify([...byStatus])}`);
    await undoSuccesses();
    assert.deepEqual(await snapshot(), clean, `seed ${SEED}: something was left behind`);
  });

  it('`stop -t` beyond a timer range waits for the container instead of killing it at once', async () => {
    // The process ignores SIGTERM: only the SIGKILL after the timeout (or a kill) ends it.
    await sb.berth(['run', '-d', '--name', 'stubborn', 'busybox', 'sh', '-c', "trap '' TERM; while true; do sleep 1; done"]);
    const id = await sb.inspect('stubborn', '{{.Id}}');
    const since = Math.floor(Date.now() / 1000) - 5;
    const stopping = sb.berth(['stop', '-t', '3000000', 'stubborn'], { allowFail: true });
    // The stop has sent its SIGTERM once the kill event is out.
    const events = () => sb.sh(`curl -s --max-time 2 --unix-socket ${shq(sb.socket)} 'http://b/events?since=${since}&until=${Math.floor(Date.now() / 1000) + 1}&filters=%7B%22container%22%3A%5B%22${id}%22%5D%2C%22event%22%3A%5B%22kill%22%5D%7D'`, { allowFail: true });
    const ev = await poll(events, (r) => r.stdout.includes('SIGTERM'));
    assert.match(ev.stdout, /SIGTERM/);
    // A round trip to the container later, it still runs (an overflowed timer fires after 1 ms).
    await sb.berth(['exec', 'stubborn', 'true']);
    assert.equal(await sb.inspect('stubborn', '{{.State.Running}}'), 'true');
    await sb.berth(['kill', 'stubborn']);
    const r = await stopping;
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'stubborn\n');
    await sb.berth(['rm', 'stubborn']);
  });

  it('the CLI on a closed pipe ends quietly, as the docker CLI does on SIGPIPE', async () => {
    await sb.berth(['run', '-d', '--name', 'chatty', 'busybox', 'sh', '-c', 'seq 1 50000; while true; do echo more; sleep 0.2; done']);
    await poll(() => sb.berth(['logs', '--tail', '1', 'chatty']), (r) => r.stdout === 'more\n');
    const cli = `${shq(process.execPath)} ${shq(BERTH)} -H unix://${shq(sb.socket)}`;
    for (const cmd of [`${cli} logs chatty`, `${cli} logs -f chatty`, `${cli} ps -a --no-trunc`]) {
      // bash's pipefail gives the CLI's own status: 141 is 128 + SIGPIPE, as for docker.
      const r = await sb.sh(`bash -c ${shq(`set -o pipefail; ${cmd} | head -c 1 >/dev/null`)}`, { allowFail: true, timeoutMs: 60_000 });
      assert.ok(r.code === 0 || r.code === 141, `${cmd}: exit ${r.code}\n${r.stderr}`);
      assert.equal(r.stderr, '', `${cmd}: wrote to stderr`);
    }
    await sb.berth(['rm', '-f', 'chatty']);
  });

  it('connections that stop half-way are closed; long streams stay open', async () => {
    const closed = (s: net.Socket) => new Promise<void>((resolve) => { s.on('close', () => resolve()); s.on('error', () => undefined); });
    const connect = () => new Promise<net.Socket>((resolve, reject) => { const s = net.connect(sock); s.once('connect', () => resolve(s)); s.once('error', reject); });
    // 1) says nothing at all; 2) half of its headers; 3) headers and half of the body;
    // 4) half of an upgraded exec start's body.
    const silent = await connect();
    const halfHead = await connect();
    halfHead.write('GET /containers/json HTTP/1.1\r\nHost: b\r\n');
    const halfBody = await connect();
    halfBody.write('POST /networks/create HTTP/1.1\r\nHost: b\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"Name":');
    const halfUpgrade = await connect();
    halfUpgrade.write('POST /exec/nosuch/start HTTP/1.1\r\nHost: b\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"Detach":');
    // Meanwhile a long stream (events) that sends its headers and then nothing stays open.
    const events = await connect();
    let eventsData = '';
    events.on('data', (d) => { eventsData += d; });
    let eventsClosed = false;
    events.on('close', () => { eventsClosed = true; });
    events.write('GET /events HTTP/1.1\r\nHost: b\r\n\r\n');
    await Promise.all([closed(silent), closed(halfHead), closed(halfBody), closed(halfUpgrade)]);
    assert.match(eventsData, /^HTTP\/1\.1 200/);
    assert.equal(eventsClosed, false, 'the events stream was closed with the stalled connections');
    // The stream still works: an event arrives on it.
    await sb.berth(['network', 'create', 'fz-evnet']);
    await poll(async () => eventsData, (d) => d.includes('fz-evnet'));
    assert.match(eventsData, /fz-evnet/);
    events.destroy();
    await sb.berth(['network', 'rm', 'fz-evnet']);
    await alive();
    assert.deepEqual(await snapshot(), clean);
  });
});
