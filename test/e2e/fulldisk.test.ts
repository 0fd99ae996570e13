// A full data root: berthd's data root is a small tmpfs, filled to the last byte. Every change
// that must write a record fails with an error that names the problem (no space left on device),
// leaves the last consistent state (test/harness/consistency.ts finds nothing half-made), and
// the daemon stays up; a removal needs no space and works. With space again and a restart,
// everything is consistent and usable.
import { spawnSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { HOST_ADDR, poll, Sandbox } from '../harness/sandbox';
import { checkConsistency } from '../harness/consistency';

const skip = Sandbox.skipReason();
const CURL = 'curl -s --max-time 5';
const WEB = ['busybox', 'httpd', '-f', '-p', '80', '-h', '/etc'];
const NOSPACE = /no space left on device/i;

describe('a full data root', { skip }, () => {
  let sb: Sandbox;
  const fill = `${'/'}fill`;
  const hostname = async (name: string) => (await sb.inspect(name, '{{.Id}}')).slice(0, 12);

  before(async () => {
    sb = await Sandbox.start({ dataRootSize: '64m' });
    await sb.importBusybox();
    await sb.berth(['network', 'create', 'fnet']);
    await sb.berth(['run', '-d', '--name', 'up1', '--network', 'fnet', '-p', '19001:80', ...WEB]);
    await sb.berth(['run', '-d', '--name', 'up2', '-p', '19002:80', ...WEB]);
    await sb.berth(['run', '-d', '--name', 'up3', ...WEB]);
    await sb.berth(['create', '--name', 'idle', '-p', '19003:80', ...WEB]);
    await sb.berth(['create', '--name', 'idle2', ...WEB]);
    await sb.berth(['run', '-d', '--name', 'short', '--network', 'fnet', 'busybox', 'sleep', '555555']);
    await sb.waitFor(`${CURL} http://${HOST_ADDR}:19001/hostname`, 'up1');
    assert.deepEqual(await checkConsistency(sb), []);
    // To the last byte: the records' next write has nowhere to go.
    await sb.sh(`dd if=/dev/zero of=${sb.dataRoot}${fill} bs=64k 2>/dev/null; true`);
    const df = await sb.sh(`df --output=avail -B1 ${sb.dataRoot} | tail -1`);
    assert.equal(df.stdout.trim(), '0', 'the data root is full');
  });
  after(async () => { await sb?.cleanup(); });

  /** The command fails naming the full disk; the daemon still answers; nothing is half-made. */
  async function refused(args: string[], input?: Buffer): Promise<string> {
    const r = await sb.berth(args, { allowFail: true, input });
    assert.notEqual(r.code, 0, `berth ${args.join(' ')} should fail on a full disk`);
    assert.match(r.stderr, NOSPACE, `berth ${args.join(' ')}: ${r.stderr}`);
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
    process.stdout.write(`# berth ${args.join(' ')}: ${r.stderr.trim()}\n`);
    assert.equal((await sb.berth(['version', '--format', '{{.Server.Version}}'])).code, 0, 'berthd is up');
    assert.deepEqual(await checkConsistency(sb), [], `after berth ${args.join(' ')}`);
    return r.stderr;
  }

  it('run and create fail naming the full disk, and leave no container behind', async () => {
    const msg = await refused(['run', '-d', '--name', 'new1', '-p', '19010:80', ...WEB]);
    assert.match(msg, /cannot record container new1 in the state directory: ENOSPC: no space left on device/);
    await refused(['create', '--name', 'new2', ...WEB]);
    assert.doesNotMatch((await sb.berth(['ps', '-a', '--format', '{{.Names}}'])).stdout, /new1|new2/);
  });

  it('start fails before it does anything: no process, no veth, no port', async () => {
    assert.match(await refused(['start', 'idle']), /cannot record the start of container idle in the state directory: ENOSPC: no space left on device/);
    assert.equal(await sb.inspect('idle', '{{.State.Status}}'), 'created');
    assert.notEqual((await sb.sh(`${CURL} http://${HOST_ADDR}:19003/hostname`, { allowFail: true })).code, 0);
  });

  it('network create, connect, disconnect and rename leave things as they were', async () => {
    assert.match(await refused(['network', 'create', 'full1']), /cannot record network full1 /);
    assert.doesNotMatch((await sb.berth(['network', 'ls', '--format', '{{.Name}}'])).stdout, /full1/);
    await refused(['network', 'connect', 'fnet', 'up2']);
    assert.equal(await sb.inspect('up2', '{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}'), 'bridge');
    await refused(['network', 'connect', 'fnet', 'idle2']);
    await refused(['network', 'disconnect', 'fnet', 'up1']);
    assert.equal(await sb.inspect('up1', '{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}'), 'fnet');
    await refused(['rename', 'up1', 'up1x']);
    assert.equal(await sb.inspect('up1', '{{.Name}}'), '/up1');
    // Still serving through all of it.
    assert.equal((await sb.sh(`${CURL} http://${HOST_ADDR}:19001/hostname`)).stdout.trim(), await hostname('up1'));
  });

  it('import and tag fail naming the full disk and leave no image, tag or temporary file', async () => {
    const images = (await sb.berth(['images', '--format', '{{.Repository}}:{{.Tag}} {{.ID}}'])).stdout;
    const tar = spawnSync('tar', ['-C', '/', '-cf', '-', 'bin/busybox'], { maxBuffer: 64 << 20 }).stdout;
    assert.ok(tar.length > 100_000, 'a tarball bigger than a page');
    await refused(['import', '-', 'bigimg'], tar);
    await refused(['tag', 'busybox', 'busybox:another']);
    assert.equal((await sb.berth(['images', '--format', '{{.Repository}}:{{.Tag}} {{.ID}}'])).stdout, images);
    assert.deepEqual(await checkConsistency(sb), []);
  });

  it('nearly full: whatever page a run or a network create runs out on, it succeeds or fails cleanly', async () => {
    const refill = () => sb.sh(`dd if=/dev/zero of=${sb.dataRoot}${fill} bs=4k oflag=append conv=notrunc 2>/dev/null; true`);
    for (const pages of [1, 2, 3, 4, 5, 6, 8, 12, 16, 24]) {
      await sb.sh(`truncate -s -${pages * 4096} ${sb.dataRoot}${fill}`);
      const name = `nf${pages}`;
      const r = await sb.berth(['run', '-d', '--name', name, '--network', 'fnet', '-p', `${19300 + pages}:80`, ...WEB], { allowFail: true });
      const n = await sb.berth(['network', 'create', `${name}net`], { allowFail: true });
      process.stdout.write(`# ${pages} pages free: run: ${r.code ? r.stderr.trim().split('\n')[0] : 'ok'}; network create: ${n.code ? n.stderr.trim() : 'ok'}\n`);
      if (r.code !== 0) assert.match(r.stderr, NOSPACE, `run with ${pages} free pages: ${r.stderr}`);
      if (n.code !== 0) assert.match(n.stderr, NOSPACE, `network create with ${pages} free pages: ${n.stderr}`);
      assert.deepEqual(await checkConsistency(sb), [], `with ${pages} pages free`);
      const listed = (await sb.berth(['ps', '-a', '--format', '{{.Names}} {{.State}}'])).stdout;
      if (r.code === 0) assert.match(listed, new RegExp(`^${name} running$`, 'm'));
      else if (new RegExp(`^${name} `, 'm').test(listed)) assert.match(listed, new RegExp(`^${name} created$`, 'm'), 'a run whose start failed leaves a created container, as with Docker');
      await sb.berth(['rm', '-f', name], { allowFail: true });
      if (n.code === 0) await sb.berth(['network', 'rm', `${name}net`]);
      await refill();
      assert.deepEqual(await checkConsistency(sb), []);
    }
  });

  it('berthd restarts on a full disk', async () => {
    await sb.restartDaemon();
    assert.deepEqual(await checkConsistency(sb), []);
    assert.equal((await sb.sh(`${CURL} http://${HOST_ADDR}:19001/hostname`)).stdout.trim(), await hostname('up1'));
  });

  it('stop, and a container that exits by itself, are recorded all the same (the store\'s reserve)', async () => {
    await sb.berth(['stop', '-t', '1', 'up3']);
    assert.equal(await sb.inspect('up3', '{{.State.Status}}'), 'exited');
    // (zombies do not count: the sandbox's pid 1 never reaps the orphans it inherits)
    assert.equal((await sb.sh('ps -e -o stat=,comm= | grep -v "^Z" | grep -c " httpd$" || true')).stdout.trim(), '2', 'up3\'s process is gone');
    await sb.pkill('sleep 55555[5]');
    const st = await poll(() => sb.inspect('short', '{{.State.Status}} {{.State.ExitCode}}'), (s) => s === 'exited 137');
    assert.equal(st, 'exited 137');
    assert.deepEqual(await checkConsistency(sb), []);
  });

  it('removal needs no space: rm -f works', async () => {
    await sb.berth(['rm', '-f', 'idle2']);
    assert.doesNotMatch((await sb.berth(['ps', '-a', '--format', '{{.Names}}'])).stdout, /idle2/);
    assert.deepEqual(await checkConsistency(sb), []);
  });

  it('with space again and a restart: consistent and usable', async () => {
    await sb.sh(`rm ${sb.dataRoot}${fill}`);
    await sb.restartDaemon();
    assert.deepEqual(await checkConsistency(sb), []);
    assert.equal((await sb.sh(`${CURL} http://${HOST_ADDR}:19001/hostname`)).stdout.trim(), await hostname('up1'));
    assert.equal((await sb.sh(`${CURL} http://${HOST_ADDR}:19002/hostname`)).stdout.trim(), await hostname('up2'));
    await sb.berth(['start', 'idle']);
    await sb.waitFor(`${CURL} http://${HOST_ADDR}:19003/hostname`, 'idle');
    await sb.berth(['start', 'up3']);
    await sb.berth(['run', '-d', '--name', 'new1', '--network', 'fnet', '-p', '19010:80', ...WEB]);
    assert.equal((await sb.waitFor(`${CURL} http://${HOST_ADDR}:19010/hostname`, 'new1')).stdout.trim(), await hostname('new1'));
    await sb.berth(['network', 'connect', 'fnet', 'up2']);
    assert.equal((await sb.berth(['exec', 'up2', 'wget', '-qO-', `http://${await sb.inspect('new1', '{{.NetworkSettings.Networks.fnet.IPAddress}}')}/hostname`])).stdout.trim(), await hostname('new1'));
    await sb.berth(['network', 'create', 'full1']);
    await sb.berth(['rename', 'up1', 'up1x']);
    assert.deepEqual(await checkConsistency(sb), []);
    await sb.berth(['rm', '-f', 'up1x', 'up2', 'up3', 'idle', 'new1', 'short']);
    await sb.berth(['network', 'rm', 'fnet', 'full1']);
    assert.deepEqual(await checkConsistency(sb), []);
  });
});
