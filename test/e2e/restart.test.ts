// berthd restarts: state survives (networks, containers, addresses, ports); containers keep
// running and keep their networking while berthd is stopped (like dockerd's live-restore); a
// restarted berthd adopts them, and cleans up after a container that died while it was away.
// Also the daemon's --bridge/--bip flags and the choice of a free default subnet.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { HOST_ADDR, normalizeRuleset, Sandbox } from '../harness/sandbox';

const skip = Sandbox.skipReason();
const CURL = 'curl -s --max-time 5';
const WEB = (text: string) => ['busybox', 'sh', '-c', `echo ${text} > /www/index.html; httpd -p 80 -h /www; exec sleep 424242`];

describe('berthd restart', { skip }, () => {
  let sb: Sandbox;
  const state = async () => ({
    ps: (await sb.berth(['ps', '-a', '--format', '{{.Names}} {{.Image}} {{.Ports}}'])).stdout.split('\n').sort().join('\n'),
    status: (await sb.berth(['ps', '-a', '--format', '{{.Names}} {{.State}}'])).stdout.split('\n').sort().join('\n'),
    nets: (await sb.berth(['network', 'ls', '--format', '{{.ID}} {{.Name}} {{.Driver}}'])).stdout,
    ips: await sb.inspect('r1', '{{range $k, $v := .NetworkSettings.Networks}}{{$k}}={{$v.IPAddress}},{{$v.MacAddress}} {{end}}'),
    r2: await sb.inspect('r2', '{{.NetworkSettings.IPAddress}}'),
    links: (await sb.sh("ip -o link show | cut -d: -f2 | sed 's/@.*//' | sort")).stdout,
    nft: normalizeRuleset((await sb.sh('nft list ruleset')).stdout),
  });
  let before1: Awaited<ReturnType<typeof state>>;

  before(async () => {
    sb = await Sandbox.start();
    await sb.importBusybox();
    await sb.berth(['network', 'create', '--subnet', '10.77.0.0/24', 'rnet']);
    await sb.berth(['run', '-d', '--name', 'r1', '--network', 'rnet', '-p', '8080:80', ...WEB('r1')]);
    await sb.berth(['network', 'connect', 'bridge', 'r1']);
    await sb.berth(['run', '-d', '--name', 'r2', '-p', '8081:80', ...WEB('r2')]);
    await sb.berth(['create', '--name', 'r3', 'busybox', 'echo', 'r3-ran']);
    await sb.berth(['run', '-d', '--name', 'doomed', '-p', '8082:80', 'busybox', 'sleep', '434343']);
    await sb.waitFor(`${CURL} http://127.0.0.1:8080/`, 'r1');
    await sb.waitFor(`${CURL} http://127.0.0.1:8081/`, 'r2');
    before1 = await state();
  });
  after(async () => { await sb?.cleanup(); });

  it('containers keep running and keep their networking while berthd is stopped', async () => {
    await sb.stopDaemon();
    assert.equal((await sb.sh(`${CURL} http://127.0.0.1:8080/`)).stdout, 'r1\n');
    assert.equal((await sb.sh(`${CURL} http://${HOST_ADDR}:8081/`)).stdout, 'r2\n');
    assert.equal((await sb.outside(`${CURL} http://${HOST_ADDR}:8080/`)).stdout, 'r1\n');
    await sb.sh(`busybox ping -c1 -W2 ${before1.r2}`);
    // A container dies while berthd is away.
    await sb.pkill('sleep 43434[3]');
  });

  it('a restarted berthd finds everything as it was', async () => {
    await sb.startDaemon();
    const now = await state();
    assert.equal(now.nets, before1.nets);
    assert.equal(now.ips, before1.ips, 'same addresses and MACs');
    assert.equal(now.r2, before1.r2);
    assert.equal(now.ps, before1.ps.replace(/doomed busybox .*/, 'doomed busybox '), 'same ports; the dead container has none');
    assert.match(now.status, /^r1 running$/m);
    assert.match(now.status, /^r2 running$/m);
    assert.match(now.status, /^r3 created$/m);
    assert.match(now.status, /^doomed exited$/m);
    assert.equal(await sb.inspect('doomed', '{{.State.ExitCode}}'), '137');
    assert.equal((await sb.sh(`${CURL} http://127.0.0.1:8080/`)).stdout, 'r1\n');
    assert.equal((await sb.berth(['exec', 'r1', 'cat', '/www/index.html'])).stdout, 'r1\n');
    assert.equal((await sb.berth(['start', '-a', 'r3'])).stdout, 'r3-ran\n');
  });

  it('the dead container\'s veth, rules and port are gone; its address is free', async () => {
    const now = await state();
    const vethCount = (s: string) => s.split('\n').filter((l) => l.trim().startsWith('veth')).length;
    assert.equal(vethCount(now.links), vethCount(before1.links) - 1);
    assert.doesNotMatch(now.nft, /8082/);
    await sb.berth(['run', '-d', '--name', 'reuse', '-p', '8082:80', ...WEB('reuse')]);
    assert.equal((await sb.waitFor(`${CURL} http://127.0.0.1:8082/`, 'reuse')).stdout, 'reuse\n');
  });

  it('addresses and ports in use stay allocated across the restart', async () => {
    const r = await sb.berth(['run', '-d', '--name', 'r4', '--network', 'rnet', 'busybox', 'sleep', '1000']);
    assert.match(r.stdout, /^[0-9a-f]{64}\n$/);
    assert.equal(await sb.inspect('r4', '{{.NetworkSettings.Networks.rnet.IPAddress}}'), '10.77.0.3');
    const clash = await sb.berth(['run', '-d', '--name', 'r5', '-p', '8080:80', 'busybox', 'sleep', '1000'], { allowFail: true });
    assert.equal(clash.code, 125);
    assert.match(clash.stderr, /Bind for 0\.0\.0\.0:8080 failed: port is already allocated/);
  });

  it("a restart checks each endpoint against the kernel: a veth lost while berthd was away is named in its log and made again", async () => {
    await sb.berth(['run', '-d', '--name', 'r6', '--network', 'rnet', ...WEB('r6')]);
    const id = await sb.inspect('r6', '{{.Id}}');
    const ip = await sb.inspect('r6', '{{.NetworkSettings.Networks.rnet.IPAddress}}');
    await sb.waitFor(`${CURL} http://${ip}/`, 'r6');
    const links = JSON.parse((await sb.sh('ip -j link show type veth')).stdout) as Array<{ ifname: string; ifalias?: string }>;
    const veth = links.find((l) => l.ifalias === `berth:${id.slice(0, 12)}`)?.ifname;
    assert.ok(veth, 'the container has a veth marked as berth\'s');
    await sb.killDaemon();
    await sb.sh(`ip link del ${veth}`); // (its peer, the container's eth0, goes with it)
    await sb.startDaemon();
    assert.match(sb.daemonLog(), new RegExp(`container r6 on rnet: veth ${veth} of container ${id.slice(0, 12)} is missing`));
    assert.equal((await sb.waitFor(`${CURL} http://${ip}/`, 'r6')).stdout, 'r6\n');
    await sb.berth(['rm', '-f', 'r6']);
  });

  it('a restart without changes leaves the kernel state as it was; a crash (SIGKILL) too', async () => {
    const a = await state();
    await sb.restartDaemon();
    const b = await state();
    assert.deepEqual(b, a);
    await sb.killDaemon();
    await sb.startDaemon();
    assert.deepEqual(await state(), a);
    await sb.berth(['rm', '-f', 'r1', 'r2', 'r3', 'r4', 'doomed', 'reuse']);
    await sb.berth(['network', 'rm', 'rnet']);
    // (eth0 is the sandbox's own link to the outside machine)
    const links = (await sb.sh('ip -o link show type veth | grep -v ": eth0@" || true')).stdout;
    assert.equal(links, '', 'no container veth is left');
  });
});

describe('berthd --bridge and --bip', { skip }, () => {
  let sb: Sandbox;
  before(async () => {
    sb = await Sandbox.start({ daemonArgs: ['--bridge', 'br-custom', '--bip', '10.123.0.1/24'] });
    await sb.importBusybox();
  });
  after(async () => { await sb?.cleanup(); });

  it('the default network uses the given bridge device and subnet', async () => {
    assert.equal(await sb.inspect('bridge', '{{range .IPAM.Config}}{{.Subnet}} {{.Gateway}}{{end}}', 'network'), '10.123.0.0/24 10.123.0.1');
    assert.match((await sb.sh('ip -4 -o addr show dev br-custom')).stdout, /inet 10\.123\.0\.1\/24 /);
    assert.doesNotMatch((await sb.sh('ip -o link show')).stdout, /berth0/);
    const r = await sb.berth(['run', '--rm', 'busybox', 'sh', '-c', 'ip -4 -o addr show eth0; ip route']);
    assert.match(r.stdout, /inet 10\.123\.0\.2\/24 /);
    assert.match(r.stdout, /default via 10\.123\.0\.1 /);
  });
});

describe('berthd picks a free default subnet', { skip }, () => {
  let sb: Sandbox;
  before(async () => {
    sb = await Sandbox.start({ daemon: false });
    // The host already uses part of 172.17.0.0/16.
    await sb.sh('ip addr add 172.17.5.1/24 dev eth0');
    await sb.startDaemon();
  });
  after(async () => { await sb?.cleanup(); });

  it('172.18.0.0/16 when 172.17.0.0/16 is taken', async () => {
    assert.equal(await sb.inspect('bridge', '{{range .IPAM.Config}}{{.Subnet}} {{.Gateway}}{{end}}', 'network'), '172.18.0.0/16 172.18.0.1');
    assert.match((await sb.sh('ip -4 -o addr show dev berth0')).stdout, /inet 172\.18\.0\.1\/16 /);
  });
});
