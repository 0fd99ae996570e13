// dockerode (the Docker SDK for Node.js, from npm) against berthd: networks, containers with
// published ports and endpoint configs, start, inspect, list, exec, logs, events, remove.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import Docker from 'dockerode';
import { HOST_ADDR, Sandbox } from '../harness/sandbox';

const skip = Sandbox.skipReason();
const CURL = 'curl -s --max-time 5';

describe('dockerode against berthd', { skip }, () => {
  let sb: Sandbox;
  let docker: Docker;

  before(async () => {
    sb = await Sandbox.start();
    await sb.importBusybox();
    // The test process is outside the sandbox: it reaches the socket through /proc/PID/root.
    docker = new Docker({ socketPath: sb.hostPath(sb.socket) });
  });
  after(async () => { await sb?.cleanup(); });

  it('ping, version, info', async () => {
    assert.equal(String(await docker.ping()), 'OK');
    const v = await docker.version();
    assert.match(v.ApiVersion, /^1\.\d+$/);
    assert.equal((await docker.info()).OSType, 'linux');
  });

  it('network create with IPAM, a container with an address, an alias and a published port', async () => {
    const net = await docker.createNetwork({ Name: 'sdknet', Driver: 'bridge', IPAM: { Config: [{ Subnet: '10.66.0.0/24', Gateway: '10.66.0.1' }] } });
    const ni = await net.inspect();
    assert.equal(ni.IPAM?.Config?.[0]?.Subnet, '10.66.0.0/24');
    const c = await docker.createContainer({
      name: 'sdkweb', Image: 'busybox', Cmd: ['sh', '-c', 'echo sdk > /www/index.html; echo ready; exec httpd -f -p 80 -h /www'],
      ExposedPorts: { '80/tcp': {} },
      HostConfig: { NetworkMode: 'sdknet', PortBindings: { '80/tcp': [{ HostPort: '8090' }] } },
      NetworkingConfig: { EndpointsConfig: { sdknet: { IPAMConfig: { IPv4Address: '10.66.0.50' }, Aliases: ['www'] } } },
    });
    await c.start();
    const info = await c.inspect();
    assert.equal(info.State.Running, true);
    assert.equal(info.NetworkSettings.Networks.sdknet.IPAddress, '10.66.0.50');
    assert.ok(info.NetworkSettings.Networks.sdknet.Aliases?.includes('www'));
    assert.deepEqual(info.NetworkSettings.Ports['80/tcp'], [{ HostIp: '0.0.0.0', HostPort: '8090' }, { HostIp: '::', HostPort: '8090' }]);
    assert.equal((await sb.waitFor(`${CURL} http://${HOST_ADDR}:8090/`, 'sdkweb')).stdout, 'sdk\n');
    const list = await docker.listContainers({ filters: { name: ['sdkweb'] } });
    assert.equal(list.length, 1);
    assert.deepEqual(list[0].Ports.map((p) => [p.PrivatePort, p.PublicPort, p.Type]), [[80, 8090, 'tcp'], [80, 8090, 'tcp']]);
  });

  it('exec with demultiplexed output, and logs', async () => {
    const c = docker.getContainer('sdkweb');
    const ex = await c.exec({ Cmd: ['sh', '-c', 'echo out; echo err >&2; exit 3'], AttachStdout: true, AttachStderr: true });
    const stream = await ex.start({ hijack: true, stdin: false });
    const out = new PassThrough(); const err = new PassThrough();
    const o: Buffer[] = []; const e: Buffer[] = [];
    out.on('data', (b) => o.push(b)); err.on('data', (b) => e.push(b));
    docker.modem.demuxStream(stream, out, err);
    await new Promise((r) => stream.on('end', r));
    assert.equal(Buffer.concat(o).toString(), 'out\n');
    assert.equal(Buffer.concat(e).toString(), 'err\n');
    assert.equal((await ex.inspect()).ExitCode, 3);
    const logs = await c.logs({ stdout: true, stderr: true, follow: false });
    assert.match(logs.toString(), /ready\n/);
  });

  it('events, stop, remove, network remove', async () => {
    const since = Math.floor(Date.now() / 1000) - 1;
    const c = docker.getContainer('sdkweb');
    await c.stop({ t: 1 });
    await c.remove();
    const stream = await docker.getEvents({ since, until: Math.floor(Date.now() / 1000) + 1, filters: { container: ['sdkweb'] } });
    const text = await new Promise<string>((res) => { let s = ''; stream.on('data', (d: Buffer) => { s += d; }); stream.on('end', () => res(s)); });
    const actions = text.split('\n').filter(Boolean).map((l) => JSON.parse(l).Action);
    assert.ok(actions.includes('die') && actions.includes('destroy'), actions.join(','));
    await docker.getNetwork('sdknet').remove();
    await assert.rejects(docker.getNetwork('sdknet').inspect(), (e: any) => e.statusCode === 404);
    await assert.rejects(docker.getContainer('nosuch').inspect(), (e: any) => e.statusCode === 404 && /No such container/.test(e.message));
  });
});
