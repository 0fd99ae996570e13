// Pulling from a registry that speaks the OCI distribution API: Debian's docker-registry,
// started inside the test's sandbox on 127.0.0.1:5000 (plain HTTP, as for any localhost
// registry), with an image pushed by test/harness/push.js; `berth pull`, `docker pull`, `run`
// of an image not present yet, and the errors for a missing image and an unreachable registry.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { Sandbox, shq } from '../harness/sandbox';

const REGISTRY = '/usr/bin/docker-registry';
const haveDocker = (() => { try { execFileSync('docker', ['--version'], { stdio: 'ignore' }); return true; } catch { return false; } })();
const skip = Sandbox.skipReason() || (existsSync(REGISTRY) ? false : 'no docker-registry (apt-get install docker-registry)');
const PUSH = path.resolve(__dirname, '..', 'harness', 'push.js');

describe('pull from a registry', { skip }, () => {
  let sb: Sandbox;
  let digest = '';

  before(async () => {
    sb = await Sandbox.start();
    const dir = `${sb.top}/registry`;
    await sb.sh(`mkdir -p ${dir}/data && printf '%s\\n' 'version: 0.1' 'storage:' '  filesystem:' '    rootdirectory: ${dir}/data' 'http:' '  addr: 127.0.0.1:5000' > ${dir}/config.yml`);
    await sb.sh(`${REGISTRY} serve ${dir}/config.yml >${dir}/log 2>&1 &`);
    await sb.waitFor('curl -sf http://127.0.0.1:5000/v2/', 'the registry');
    await sb.sh(`${shq(path.resolve(__dirname, '..', '..', '..', 'scripts', 'busybox-image.sh'))} > ${dir}/bb.tar`);
    digest = (await sb.sh(`${shq(process.execPath)} ${PUSH} http://127.0.0.1:5000 team/bb v1 ${dir}/bb.tar`)).stdout.trim();
    assert.match(digest, /^sha256:[0-9a-f]{64}$/);
  });
  after(async () => { await sb?.cleanup(); });

  it('berth pull shows Docker\'s progress and the image runs', async () => {
    const r = await sb.berth(['pull', '127.0.0.1:5000/team/bb:v1']);
    assert.match(r.stdout, /^v1: Pulling from team\/bb\n/);
    assert.match(r.stdout, /Pull complete\n/);
    assert.match(r.stdout, new RegExp(`Digest: ${digest}\\n`));
    assert.match(r.stdout, /Status: Downloaded newer image for 127\.0\.0\.1:5000\/team\/bb:v1\n127\.0\.0\.1:5000\/team\/bb:v1\n$/);
    assert.equal((await sb.berth(['run', '--rm', '127.0.0.1:5000/team/bb:v1', 'echo', 'pulled'])).stdout, 'pulled\n');
    const again = await sb.berth(['pull', '127.0.0.1:5000/team/bb:v1']);
    assert.match(again.stdout, /Status: Image is up to date for 127\.0\.0\.1:5000\/team\/bb:v1/);
  });

  it('run pulls an image it does not have', async () => {
    await sb.berth(['rmi', '127.0.0.1:5000/team/bb:v1']);
    const r = await sb.berth(['run', '--rm', '127.0.0.1:5000/team/bb:v1', 'echo', 'fresh']);
    assert.equal(r.stdout.split('\n').filter((l) => l === 'fresh').length, 1);
    assert.match(r.stderr, /Unable to find image '127\.0\.0\.1:5000\/team\/bb:v1' locally/);
  });

  it('docker pull against berthd', { skip: haveDocker ? false : 'no docker CLI' }, async () => {
    await sb.berth(['rmi', '127.0.0.1:5000/team/bb:v1']);
    const r = await sb.sh(`DOCKER_HOST=unix://${sb.socket} docker pull 127.0.0.1:5000/team/bb:v1`);
    assert.match(r.stdout, /Status: Downloaded newer image for 127\.0\.0\.1:5000\/team\/bb:v1/);
  });

  it('save, then load back (berth and docker)', async () => {
    const dir = `${sb.top}/registry`;
    await sb.berth(['save', '-o', `${dir}/saved.tar`, '127.0.0.1:5000/team/bb:v1']);
    assert.match((await sb.sh(`tar -tf ${dir}/saved.tar`)).stdout, /^\.\/manifest\.json$/m);
    await sb.berth(['rmi', '127.0.0.1:5000/team/bb:v1']);
    assert.equal((await sb.berth(['load', '-i', `${dir}/saved.tar`])).stdout, 'Loaded image: 127.0.0.1:5000/team/bb:v1\n');
    assert.equal((await sb.berth(['run', '--rm', '127.0.0.1:5000/team/bb:v1', 'echo', 'loaded'])).stdout, 'loaded\n');
    if (haveDocker) {
      await sb.sh(`DOCKER_HOST=unix://${sb.socket} docker save 127.0.0.1:5000/team/bb:v1 > ${dir}/docker-saved.tar`);
      assert.match((await sb.sh(`tar -tf ${dir}/docker-saved.tar`)).stdout, /manifest\.json/);
    }
  });

  it('a missing image and an unreachable registry are clear errors', async () => {
    const missing = await sb.berth(['pull', '127.0.0.1:5000/team/nosuch:v1'], { allowFail: true });
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /pull access denied for 127\.0\.0\.1:5000\/team\/nosuch, repository does not exist/);
    const down = await sb.berth(['pull', '127.0.0.1:5999/team/bb:v1'], { allowFail: true });
    assert.equal(down.code, 1);
    assert.match(down.stderr, /Error response from daemon: Get "http:\/\/127\.0\.0\.1:5999\/v2\/team\/bb\/manifests\/v1": .*ECONNREFUSED/);
  });
});
