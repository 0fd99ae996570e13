// The macvlan and ipvlan drivers through the real CLI: containers sit directly on the
// sandbox host's eth0 (the link to the "outside" machine), reach it and are reached from it
// with their own addresses (no NAT), find each other by name; Docker's option checks and
// messages; a network with no parent keeps its containers to themselves; nothing is left
// behind. Kernels without ipvlan or 802.1q VLANs get a clear error (checked as such).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { OUTSIDE_ADDR, Sandbox } from '../harness/sandbox';

const skip = Sandbox.skipReason();
const WGET = 'timeout 5 wget -qO-';

describe('macvlan and ipvlan networks', { skip }, () => {
  let sb: Sandbox;
  let whoami: string;
  const ipOf = (c: string, net: string) => sb.inspect(c, `{{(index .NetworkSettings.Networks "${net}").IPAddress}}`);
  const fail = async (args: string[]) => {
    const r = await sb.berth(args, { allowFail: true });
    assert.notEqual(r.code, 0, `${args.join(' ')} should fail`);
    return r.stderr.trim();
  };

  before(async () => {
    sb = await Sandbox.start();
    await sb.importBusybox();
    whoami = await sb.outsideWhoami();
  });
  after(async () => { await sb?.cleanup(); });

  it('macvlan on eth0: containers are on the outside machine\'s network with their own addresses', async () => {
    await sb.berth(['network', 'create', '-d', 'macvlan', '--subnet', '10.99.0.0/24', '--gateway', OUTSIDE_ADDR,
      '--ip-range', '10.99.0.128/25', '-o', 'parent=eth0', 'mv']);
    assert.equal(await sb.inspect('mv', '{{.Driver}} {{.Options.parent}}', 'network'), 'macvlan eth0');
    await sb.berth(['run', '-d', '--name', 'm1', '--network', 'mv', '-p', '8080:80', 'busybox', 'sh', '-c',
      'echo on-macvlan > /www/index.html; exec httpd -f -p 80 -h /www']);
    const m1 = await ipOf('m1', 'mv');
    assert.match(m1, /^10\.99\.0\.(1[2-9][0-9]|2[0-5][0-9])$/);
    // Its interface is a macvlan of eth0 with the MAC Docker would give it.
    const link = (await sb.berth(['exec', 'm1', 'cat', '/sys/class/net/eth0/address'])).stdout.trim();
    assert.equal(link, await sb.inspect('m1', '{{(index .NetworkSettings.Networks "mv").MacAddress}}'));
    const key = await sb.inspect('m1', '{{.NetworkSettings.SandboxKey}}');
    const kind = (await sb.sh(`nsenter --net=${key} ip -d link show eth0`)).stdout;
    assert.match(kind, /macvlan mode bridge/);
    // The outside machine reaches it directly, and sees its own address when it calls out.
    let page = '';
    for (let i = 0; i < 30 && page !== 'on-macvlan\n'; i++) page = (await sb.outside(`${WGET} http://${m1}/`, { allowFail: true })).stdout;
    assert.equal(page, 'on-macvlan\n');
    assert.equal((await sb.berth(['exec', 'm1', 'sh', '-c', `${WGET} ${whoami}/cgi-bin/ip`])).stdout.trim(), m1, 'no NAT');
    assert.equal(await sb.inspect('m1', '{{json .NetworkSettings.Ports}}'), '{}', '-p does nothing on macvlan, as with Docker');
  });

  it('containers on one macvlan network find each other by name (embedded DNS)', async () => {
    await sb.berth(['run', '-d', '--name', 'm2', '--network', 'mv', 'busybox', 'sleep', '1000']);
    assert.match((await sb.berth(['exec', 'm2', 'cat', '/etc/resolv.conf'])).stdout, /^nameserver 127\.0\.0\.11$/m);
    const r = await sb.berth(['exec', 'm2', 'sh', '-c', `${WGET} http://m1/`]);
    assert.equal(r.stdout, 'on-macvlan\n');
  });

  it('Docker\'s checks and messages', async () => {
    assert.match(await fail(['network', 'create', '-d', 'macvlan', '-o', 'parent=eth0', 'mv2']),
      new RegExp(`network dm-${(await sb.inspect('mv', '{{.Id}}', 'network')).slice(0, 12)} is already using parent interface eth0`));
    assert.match(await fail(['network', 'create', '-d', 'macvlan', '-o', 'parent=lo', 'x']), /loopback interface is not a valid macvlan parent link/);
    assert.match(await fail(['network', 'create', '-d', 'macvlan', '-o', 'parent=eth0', '-o', 'macvlan_mode=foo', 'x']),
      /requested macvlan mode 'foo' is not valid, 'bridge' mode is the macvlan driver default/);
    assert.match(await fail(['network', 'create', '-d', 'macvlan', '-o', 'parent=nope', 'x']),
      /invalid subinterface vlan name nope, example formatting is eth0\.10/);
    assert.match(await fail(['network', 'create', '-d', 'overlay2', 'x']), /plugin "overlay2" not found/);
    assert.equal((await sb.berth(['network', 'ls', '-q', '--filter', 'name=x'])).stdout, '', 'nothing half-made');
  });

  it('no parent: a private parent of its own; its containers reach each other only', async () => {
    await sb.berth(['network', 'create', '-d', 'macvlan', '--subnet', '10.98.0.0/24', 'priv']);
    const id = (await sb.inspect('priv', '{{.Id}}', 'network')).slice(0, 12);
    assert.equal((await sb.sh(`ip link show dm-${id} >/dev/null && echo yes`)).stdout.trim(), 'yes');
    await sb.berth(['run', '-d', '--name', 'p1', '--network', 'priv', 'busybox', 'sh', '-c', 'echo private > /www/index.html; exec httpd -f -p 80 -h /www']);
    await sb.berth(['run', '-d', '--name', 'p2', '--network', 'priv', 'busybox', 'sleep', '1000']);
    let page = '';
    for (let i = 0; i < 30 && page !== 'private\n'; i++) page = (await sb.berth(['exec', 'p2', 'sh', '-c', `${WGET} http://p1/`], { allowFail: true })).stdout;
    assert.equal(page, 'private\n');
    assert.notEqual((await sb.berth(['exec', 'p2', 'sh', '-c', `${WGET} ${whoami}/index.html`], { allowFail: true })).code, 0);
    await sb.berth(['rm', '-f', 'p1', 'p2']);
    await sb.berth(['network', 'rm', 'priv']);
    assert.notEqual((await sb.sh(`ip link show dm-${id}`, { allowFail: true })).code, 0, 'the private parent goes with the network');
  });

  it('a VLAN parent (eth0.10) is made and removed with the network, or refused clearly', async () => {
    const r = await sb.berth(['network', 'create', '-d', 'macvlan', '--subnet', '10.97.0.0/24', '-o', 'parent=eth0.10', 'v10'], { allowFail: true });
    if (r.code !== 0) {
      assert.match(r.stderr, /this kernel does not support 802\.1q VLAN sub-interfaces \(eth0\.10\)/);
      assert.notEqual((await sb.sh('ip link show eth0.10', { allowFail: true })).code, 0);
      return;
    }
    assert.match((await sb.sh('ip -d link show eth0.10')).stdout, /vlan protocol 802\.1Q id 10/);
    await sb.berth(['network', 'rm', 'v10']);
    assert.notEqual((await sb.sh('ip link show eth0.10', { allowFail: true })).code, 0);
  });

  it('ipvlan: works where the kernel has it, a clear error where it has not', async () => {
    await sb.berth(['network', 'create', '-d', 'ipvlan', '--subnet', '10.96.0.0/24', 'iv']);
    assert.equal(await sb.inspect('iv', '{{.Driver}}', 'network'), 'ipvlan');
    const r = await sb.berth(['run', '-d', '--name', 'i1', '--network', 'iv', 'busybox', 'sleep', '1000'], { allowFail: true });
    if (r.code !== 0) {
      assert.match(r.stderr, /this kernel does not support ipvlan interfaces/);
    } else {
      assert.match(await ipOf('i1', 'iv'), /^10\.96\.0\.\d+$/);
      await sb.berth(['rm', '-f', 'i1']);
    }
    await sb.berth(['network', 'rm', 'iv']);
  });

  it('stop and rm take the interfaces away; network rm leaves eth0 alone', async () => {
    // The macvlan interfaces live in the containers' namespaces: they go when those do.
    const keys = [await sb.inspect('m1', '{{.NetworkSettings.SandboxKey}}'), await sb.inspect('m2', '{{.NetworkSettings.SandboxKey}}')];
    for (const k of keys) assert.match((await sb.sh(`nsenter --net=${k} ip -d link show eth0`)).stdout, /macvlan mode bridge/);
    await sb.berth(['stop', '-t', '1', 'm2']);
    assert.notEqual((await sb.sh(`test -e ${keys[1]}`, { allowFail: true })).code, 0, 'a stopped container keeps no namespace');
    await sb.berth(['rm', '-f', 'm1', 'm2']);
    assert.notEqual((await sb.sh(`test -e ${keys[0]}`, { allowFail: true })).code, 0);
    await sb.berth(['network', 'rm', 'mv']);
    assert.equal((await sb.sh('ip link show eth0 >/dev/null && echo yes')).stdout.trim(), 'yes');
  });
});
