// Images through the real CLI: the built-in `host` image running Debian's nginx and python3 (the
// seeds' nginx commands), import of a rootfs tarball from a file and from stdin with --change,
// load of a `docker save` archive (built here from the busybox rootfs; the same archive loads
// into Docker 20.10), images, rmi. Outputs checked against Docker 20.10.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { existsSync, promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { HOST_ADDR, Sandbox } from '../harness/sandbox';
import { buildBusyboxTar } from '../harness/busybox';

const skip = Sandbox.skipReason();
const CURL = 'curl -s --max-time 5';

/** A `docker save` archive of one image (one layer: the rootfs tar), tagged `tag`. */
async function buildSaveArchive(rootfsTar: string, out: string, tag: string, config: object): Promise<void> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'berth-save-'));
  try {
    const layer = await fs.readFile(rootfsTar);
    const diffId = createHash('sha256').update(layer).digest('hex');
    const cfg = Buffer.from(JSON.stringify({
      architecture: 'amd64', os: 'linux', created: '2024-01-01T00:00:00Z', config,
      rootfs: { type: 'layers', diff_ids: [`sha256:${diffId}`] }, history: [{ created_by: 'berth test' }],
    }));
    const cfgId = createHash('sha256').update(cfg).digest('hex');
    await fs.mkdir(path.join(dir, diffId));
    await fs.writeFile(path.join(dir, diffId, 'layer.tar'), layer);
    await fs.writeFile(path.join(dir, `${cfgId}.json`), cfg);
    await fs.writeFile(path.join(dir, 'manifest.json'), JSON.stringify([{ Config: `${cfgId}.json`, RepoTags: [tag], Layers: [`${diffId}/layer.tar`] }]));
    const [repo, t] = tag.split(':');
    await fs.writeFile(path.join(dir, 'repositories'), JSON.stringify({ [repo]: { [t]: diffId } }));
    execFileSync('tar', ['-C', dir, '-cf', out, `${cfgId}.json`, diffId, 'manifest.json', 'repositories']);
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

describe('images', { skip }, () => {
  let sb: Sandbox;
  let tmp: string;
  let rootfs: string;
  const port = async (c: string, p: string) => {
    const out = (await sb.berth(['port', c, p])).stdout;
    const m = /^0\.0\.0\.0:(\d+)\n\[::\]:\1\n$/.exec(out); // both families, one port (Docker 20.10+)
    assert.ok(m, `port ${c} ${p}: ${out}`);
    return Number(m![1]);
  };

  before(async () => {
    sb = await Sandbox.start();
    await sb.importBusybox();
    tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'berth-img-'));
    rootfs = path.join(tmp, 'rootfs.tar');
    await buildBusyboxTar(rootfs);
  });
  after(async () => {
    await sb?.cleanup();
    if (tmp) await fs.rm(tmp, { recursive: true, force: true });
  });

  it('the host image runs Debian\'s nginx: run -d -P --expose 80', async () => {
    const id = (await sb.berth(['run', '-d', '-P', '--expose', '80', '--name', 'web', 'host', 'nginx', '-g', 'daemon off;'])).stdout;
    assert.match(id, /^[0-9a-f]{64}\n$/);
    // The seeds address the container by its (short) id.
    const p = await port(id.slice(0, 12), '80');
    assert.equal((await sb.berth(['ps', '--filter', 'name=web', '--format', '{{.Image}} {{.Ports}}'])).stdout, `host 0.0.0.0:${p}->80/tcp, [::]:${p}->80/tcp\n`);
    const page = await sb.waitFor(`${CURL} http://localhost:${p}/`, 'nginx');
    assert.match(page.stdout, /<title>Welcome to nginx!<\/title>/);
    const out = await sb.waitFor(`${CURL} http://${HOST_ADDR}:${p}/`, 'nginx from outside', 'outside');
    assert.match(out.stdout, /Welcome to nginx!/);
    // Copy-on-write: what the container writes stays in the container.
    await sb.berth(['exec', 'web', 'sh', '-c', 'echo changed > /var/www/html/index.nginx-debian.html']);
    assert.equal((await sb.sh(`${CURL} http://127.0.0.1:${p}/`)).stdout, 'changed\n');
    assert.doesNotMatch((await sb.sh('cat /var/www/html/index.nginx-debian.html')).stdout, /^changed/);
    await sb.berth(['rm', '-f', 'web']);
  });

  it('the seeds\' create --network my-net --publish 8080:80, then start', async () => {
    await sb.berth(['network', 'create', 'my-net']);
    await sb.berth(['create', '--name', 'my-nginx', '--network', 'my-net', '--publish', '8080:80', 'host', 'nginx', '-g', 'daemon off;']);
    assert.equal((await sb.berth(['start', 'my-nginx'])).stdout, 'my-nginx\n');
    assert.match((await sb.waitFor(`${CURL} http://127.0.0.1:8080/`, 'my-nginx')).stdout, /Welcome to nginx!/);
    await sb.berth(['rm', '-f', 'my-nginx']);
  });

  it('the seeds\' --network host nginx answers on the host\'s own port 80', async () => {
    await sb.berth(['run', '--rm', '-d', '--network', 'host', '--name', 'my_nginx', 'host', 'nginx', '-g', 'daemon off;']);
    assert.match((await sb.waitFor(`${CURL} http://${HOST_ADDR}/`, 'host-network nginx', 'outside')).stdout, /Welcome to nginx!/);
    assert.equal((await sb.berth(['port', 'my_nginx'])).stdout, '');
    await sb.berth(['rm', '-f', 'my_nginx']);
  });

  it('the host image runs python3', async () => {
    await sb.berth(['run', '-d', '--name', 'py', '-p', '8000:8000', 'host', '/usr/bin/python3', '-m', 'http.server', '8000', '--directory', '/etc']);
    const id = await sb.inspect('py', '{{.Id}}');
    assert.equal((await sb.waitFor(`${CURL} http://127.0.0.1:8000/hostname`, 'python3')).stdout, `${id.slice(0, 12)}\n`);
    await sb.berth(['rm', '-f', 'py']);
  });

  it('import FILE with --change: ENV, EXPOSE, CMD', async () => {
    const r = await sb.berth(['import', '--change', 'ENV PATH=/bin', '--change', 'EXPOSE 8080', '--change', 'CMD ["echo","imported-cmd"]', rootfs, 'zimp']);
    assert.match(r.stdout, /^sha256:[0-9a-f]{64}\n$/);
    assert.equal((await sb.berth(['run', '--rm', 'zimp'])).stdout, 'imported-cmd\n');
    assert.equal(await sb.inspect('zimp', '{{json .Config.ExposedPorts}} {{json .Config.Cmd}} {{json .Config.Env}}', 'image'),
      '{"8080/tcp":{}} ["echo","imported-cmd"] ["PATH=/bin"]');
    // -P publishes the image's EXPOSE.
    await sb.berth(['run', '-d', '--name', 'exp', '-P', 'zimp', 'sleep', '1000']);
    const p = await port('exp', '8080');
    assert.ok(p >= 32768 && p <= 60999);
    await sb.berth(['rm', '-f', 'exp']);
  });

  it('import - reads the tarball from stdin', async () => {
    const tar = await fs.readFile(rootfs);
    const r = await sb.berth(['import', '-', 'zimp2'], { input: tar });
    assert.match(r.stdout, /^sha256:[0-9a-f]{64}\n$/);
    assert.equal((await sb.berth(['run', '--rm', 'zimp2', '/bin/echo', 'from-stdin'])).stdout, 'from-stdin\n');
  });

  it('load -i a docker save archive', async () => {
    const archive = path.join(tmp, 'save.tar');
    await buildSaveArchive(rootfs, archive, 'savedbox:1.0', {
      Env: ['PATH=/bin:/usr/bin:/sbin'], Cmd: ['echo', 'from-saved-image'], ExposedPorts: { '8080/tcp': {} },
    });
    assert.equal((await sb.berth(['load', '-i', archive])).stdout, 'Loaded image: savedbox:1.0\n');
    assert.equal((await sb.berth(['run', '--rm', 'savedbox:1.0'])).stdout, 'from-saved-image\n');
    assert.equal(await sb.inspect('savedbox:1.0', '{{json .Config.ExposedPorts}}', 'image'), '{"8080/tcp":{}}');
  });

  it('images --filter is decided by the daemon, as Docker 20.10 decides it (berth and docker CLIs)', async () => {
    await sb.berth(['import', '--change', 'LABEL color=red', '--change', 'LABEL size=big', rootfs, 'tidy/red:v1']);
    const dangling = (await sb.berth(['import', rootfs])).stdout.trim();
    await sb.berth(['import', '--change', 'LABEL color=blue', rootfs, 'tidy/blue']);
    await sb.berth(['tag', 'tidy/blue', 'tidy/blue:v2']);
    await sb.berth(['tag', 'tidy/blue', 'other.example:5000/ns/blue:x']);
    const names = async (...args: string[]) =>
      (await sb.berth(['images', '--format', '{{.Repository}}:{{.Tag}}', ...args])).stdout.trimEnd().split('\n').filter(Boolean).sort();
    // The REPOSITORY argument is a reference pattern (Go's path.Match): only matching tags show.
    assert.deepEqual(await names('tidy/*'), ['tidy/blue:latest', 'tidy/blue:v2', 'tidy/red:v1']);
    assert.deepEqual(await names('tidy/blue'), ['tidy/blue:latest', 'tidy/blue:v2']);
    assert.deepEqual(await names('*/blue:v2'), ['tidy/blue:v2']);
    assert.deepEqual(await names('blue'), []);
    assert.deepEqual(await names('--filter', 'label=color=red'), ['tidy/red:v1']);
    assert.deepEqual(await names('--filter', 'label=color', '--filter', 'label=size'), ['tidy/red:v1']);
    assert.deepEqual(await names('--filter', 'since=tidy/red:v1'), ['<none>:<none>', 'other.example:5000/ns/blue:x', 'tidy/blue:latest', 'tidy/blue:v2']);
    assert.deepEqual(await names('--filter', 'before=tidy/blue', 'tidy/*'), ['tidy/red:v1']);
    assert.equal((await sb.berth(['images', '-q', '--no-trunc', '--filter', 'dangling=true'])).stdout, `${dangling}\n`);
    assert.ok(!(await names('-a', '--filter', 'dangling=false')).includes('<none>:<none>'));
    const refused = async (args: string[], message: string) => {
      const r = await sb.berth(['images', ...args], { allowFail: true });
      assert.equal(r.code, 1);
      assert.equal(r.stderr, `Error response from daemon: ${message}\n`);
    };
    await refused(['--filter', 'colour=red'], "invalid filter 'colour'");
    await refused(['--filter', 'dangling=maybe'], "Invalid filter 'dangling=[maybe]'");
    await refused(['--filter', 'before=nosuch'], 'No such image: nosuch:latest');
    await refused(['[bad'], 'syntax error in pattern');
    if (existsSync('/usr/local/bin/docker') || existsSync('/usr/bin/docker')) {
      const dk = await sb.sh(`DOCKER_HOST=unix://${sb.socket} docker images --format '{{.Repository}}:{{.Tag}}' --filter label=color=blue 'tidy/*'`);
      assert.deepEqual(dk.stdout.trimEnd().split('\n').sort(), ['tidy/blue:latest', 'tidy/blue:v2']);
      const bad = await sb.sh(`DOCKER_HOST=unix://${sb.socket} docker images --filter dangling=maybe`, { allowFail: true });
      assert.equal(bad.stderr, "Error response from daemon: Invalid filter 'dangling=[maybe]'\n");
    }
    await sb.berth(['rmi', 'tidy/red:v1', 'tidy/blue', 'tidy/blue:v2', 'other.example:5000/ns/blue:x', dangling]);
  });

  it('images lists them; rmi removes them and refuses an image in use', async () => {
    const lines = (await sb.berth(['images'])).stdout.trimEnd().split('\n');
    assert.match(lines[0], /^REPOSITORY\s+TAG\s+IMAGE ID\s+CREATED\s+SIZE$/);
    const rows = lines.slice(1).map((l) => l.split(/\s{2,}/));
    const names = rows.map((r) => `${r[0]}:${r[1]}`).sort();
    for (const n of ['busybox:latest', 'savedbox:1.0', 'zimp:latest', 'zimp2:latest']) assert.ok(names.includes(n), `${n} in\n${lines.join('\n')}`);
    for (const r of rows) assert.match(r[2], /^[0-9a-f]{12}$/);
    assert.equal((await sb.berth(['images', '--format', '{{.Repository}}:{{.Tag}}', 'savedbox'])).stdout, 'savedbox:1.0\n');

    await sb.berth(['create', '--name', 'user', 'zimp', 'true']);
    const cid = (await sb.inspect('user', '{{.Id}}')).slice(0, 12);
    const iid = (await sb.inspect('zimp', '{{.Id}}', 'image')).replace('sha256:', '').slice(0, 12);
    const busy = await sb.berth(['rmi', 'zimp'], { allowFail: true });
    assert.equal(busy.code, 1);
    assert.equal(busy.stderr, `Error response from daemon: conflict: unable to remove repository reference "zimp" (must force) - container ${cid} is using its referenced image ${iid}\n`);
    await sb.berth(['rm', 'user']);
    const rmi = (await sb.berth(['rmi', 'zimp'])).stdout.split('\n');
    assert.equal(rmi[0], 'Untagged: zimp:latest');
    assert.match(rmi[1], /^Deleted: sha256:[0-9a-f]{64}$/);
    await sb.berth(['rmi', 'zimp2', 'savedbox:1.0']);
    const left = (await sb.berth(['images', '--format', '{{.Repository}}'])).stdout;
    assert.doesNotMatch(left, /zimp|savedbox/);
    assert.match(left, /busybox/);
  });
});
