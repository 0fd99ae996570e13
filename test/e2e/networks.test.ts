// Networks through the real CLI: the default bridge, user-defined bridges with every flag and
// option of the issue, isolation, --internal, enable_icc=false, --ip/--mac-address, the host,
// none and container: modes, live connect/disconnect, rm and prune. Expected outputs checked
// against Docker 20.10 (default bridge device berth0 instead of docker0).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { HOST_ADDR, OUTSIDE_ADDR, Sandbox } from '../harness/sandbox';
import { poll } from '../harness/sandbox';
import { api } from '../harness/api';

const skip = Sandbox.skipReason();
const WGET = 'timeout 5 wget -qO-';

describe('networks', { skip }, () => {
  let sb: Sandbox;
  let whoami: string;
  /** Exit code of a command run in a (running) container. */
  const execCode = async (c: string, cmd: string) => (await sb.berth(['exec', c, 'sh', '-c', cmd], { allowFail: true })).code;
  const ipOf = (c: string, net?: string) =>
    sb.inspect(c, net ? `{{(index .NetworkSettings.Networks "${net}").IPAddress}}` : '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}');
  const sleeper = (name: string, ...flags: string[]) => sb.berth(['run', '-d', '--name', name, ...flags, 'busybox', 'sleep', '1000']);

  before(async () => {
    sb = await Sandbox.start();
    await sb.importBusybox();
    whoami = await sb.outsideWhoami();
  });
  after(async () => { await sb?.cleanup(); });

  it('network ls lists bridge, host and none', async () => {
    const lines = (await sb.berth(['network', 'ls'])).stdout.trimEnd().split('\n');
    assert.equal(lines[0], 'NETWORK ID     NAME      DRIVER    SCOPE');
    assert.equal(lines.length, 4, lines.join('\n'));
    assert.match(lines[1], /^[0-9a-f]{12}   bridge    bridge    local$/);
    assert.match(lines[2], /^[0-9a-f]{12}   host      host      local$/);
    assert.match(lines[3], /^[0-9a-f]{12}   none      null      local$/);
  });

  it('the default bridge is berth0 with 172.17.0.1/16', async () => {
    assert.equal(await sb.inspect('bridge', '{{range .IPAM.Config}}{{.Subnet}} {{.Gateway}}{{end}}', 'network'), '172.17.0.0/16 172.17.0.1');
    assert.equal(await sb.inspect('bridge', '{{index .Options "com.docker.network.bridge.name"}}', 'network'), 'berth0');
    const addr = (await sb.sh('ip -4 -o addr show dev berth0')).stdout;
    assert.match(addr, /inet 172\.17\.0\.1\/16 /);
  });

  it('a container on the default bridge: eth0, address, MAC, route, veth on berth0', async () => {
    await sleeper('d1');
    const ip = await ipOf('d1');
    assert.equal(ip, '172.17.0.2', 'first free address after the gateway');
    const a = (await sb.berth(['exec', 'd1', 'ip', 'addr', 'show', 'eth0'])).stdout;
    assert.match(a, /^\d+: eth0@if\d+: <BROADCAST,MULTICAST,UP,LOWER_UP(,M-DOWN)?> mtu 1500 /);
    assert.match(a, /link\/ether 02:42:ac:11:00:02 brd ff:ff:ff:ff:ff:ff/);
    assert.match(a, /inet 172\.17\.0\.2\/16 brd 172\.17\.255\.255 scope global eth0/);
    const r = (await sb.berth(['exec', 'd1', 'ip', 'route'])).stdout;
    assert.match(r, /^default via 172\.17\.0\.1 dev eth0 /m);
    assert.match(r, /^172\.17\.0\.0\/16 dev eth0 scope link {1,2}src 172\.17\.0\.2/m);
    // The seeds' self-check: `route` shows the bridge's address as the default gateway.
    assert.match((await sb.berth(['exec', 'd1', 'route', '-n'])).stdout, /^0\.0\.0\.0\s+172\.17\.0\.1\s+0\.0\.0\.0\s+UG\s/m);
    const veths = (await sb.sh('ip -o link show master berth0')).stdout.trim().split('\n');
    assert.equal(veths.length, 1, 'one host-side veth on the bridge');
    // The seeds' "ping <ipAddress>" from the host.
    await sb.sh('busybox ping -c1 -W2 172.17.0.2');
    const ip2 = (await sleeper('d2'), await ipOf('d2'));
    assert.equal(ip2, '172.17.0.3');
    assert.equal(await execCode('d1', `ping -c1 -W2 ${ip2}`), 0, 'containers on the same bridge reach each other');
  });

  it('outbound traffic is masqueraded to the host address', async () => {
    const r = await sb.berth(['exec', 'd1', 'sh', '-c', `${WGET} ${whoami}/cgi-bin/ip`]);
    assert.equal(r.stdout, `${HOST_ADDR}\n`);
  });

  it('network create as in the seeds: first address skips the gateway', async () => {
    const c = await sb.berth(['network', 'create', '-d', 'bridge', '--subnet', '172.26.0.0/16', '--gateway', '172.26.0.2', 'bridge1']);
    assert.match(c.stdout, /^[0-9a-f]{64}\n$/);
    const r = await sb.berth(['run', '--rm', '--net', 'bridge1', 'busybox', 'ip', '-4', 'addr', 'show', 'eth0']);
    assert.match(r.stdout, /inet 172\.26\.0\.1\/16 brd 172\.26\.255\.255 scope global eth0/);
    assert.equal(await sb.inspect('bridge1', '{{.Driver}} {{.Scope}} {{.Internal}}', 'network'), 'bridge local false');
  });

  it('network create with --ip-range, --aux-address, --label and the bridge options', async () => {
    await sb.berth(['network', 'create', '-d', 'bridge', '--subnet', '10.10.0.0/24', '--gateway', '10.10.0.254',
      '--ip-range', '10.10.0.128/25', '--aux-address', 'a=10.10.0.128', '--aux-address', 'b=10.10.0.129', '--label', 'k=v',
      '-o', 'com.docker.network.bridge.name=br-ztest', '-o', 'com.docker.network.driver.mtu=1400',
      '-o', 'com.docker.network.bridge.enable_icc=false', 'zt1']);
    const [n] = JSON.parse((await sb.berth(['network', 'inspect', 'zt1'])).stdout);
    assert.equal(n.Name, 'zt1');
    assert.match(n.Id, /^[0-9a-f]{64}$/);
    assert.equal(n.Scope, 'local');
    assert.equal(n.Driver, 'bridge');
    assert.equal(n.EnableIPv6, false);
    assert.equal(n.Internal, false);
    assert.deepEqual(n.IPAM, { Driver: 'default', Options: {}, Config: [{ Subnet: '10.10.0.0/24', IPRange: '10.10.0.128/25', Gateway: '10.10.0.254', AuxiliaryAddresses: { a: '10.10.0.128', b: '10.10.0.129' } }] });
    assert.deepEqual(n.Options, { 'com.docker.network.bridge.enable_icc': 'false', 'com.docker.network.bridge.name': 'br-ztest', 'com.docker.network.driver.mtu': '1400' });
    assert.deepEqual(n.Labels, { k: 'v' });
    assert.deepEqual(n.Containers, {});
    const link = (await sb.sh('ip -o addr show dev br-ztest; ip -o link show dev br-ztest')).stdout;
    assert.match(link, /inet 10\.10\.0\.254\/24 /);
    assert.match(link, /mtu 1400 /);

    await sleeper('icc1', '--network', 'zt1');
    await sleeper('icc2', '--network', 'zt1');
    const a = (await sb.berth(['exec', 'icc1', 'ip', 'addr', 'show', 'eth0'])).stdout;
    assert.match(a, /mtu 1400 /);
    assert.match(a, /link\/ether 02:42:0a:0a:00:82 /);
    assert.match(a, /inet 10\.10\.0\.130\/24 brd 10\.10\.0\.255 scope global eth0/, 'first free in the ip-range after the aux addresses');
    assert.equal(await ipOf('icc2'), '10.10.0.131');
    const members = await sb.inspect('zt1', '{{range .Containers}}{{.Name}}={{.IPv4Address}} {{end}}', 'network');
    assert.deepEqual(members.split(' ').filter(Boolean).sort(), ['icc1=10.10.0.130/24', 'icc2=10.10.0.131/24']);
  });

  it('enable_icc=false blocks traffic between containers of that network, not the way out', async () => {
    assert.notEqual(await execCode('icc1', 'ping -c1 -W2 10.10.0.131'), 0);
    assert.notEqual(await execCode('icc1', `${WGET} http://10.10.0.131/`), 0);
    assert.equal(await execCode('icc1', `${WGET} ${whoami}/index.html`), 0);
  });

  it('containers on different networks cannot reach each other, even by address', async () => {
    await sleeper('b1', '--network', 'bridge1');
    await sleeper('b2', '--network', 'bridge1');
    // Without -f busybox httpd daemonizes, so the exec returns and the server stays.
    await sb.berth(['exec', 'b2', 'sh', '-c', 'echo b2-web > /www/index.html; httpd -p 80 -h /www']);
    const b2 = await ipOf('b2');
    const d1 = await ipOf('d1');
    // Same network: reachable (so the negative checks below can fail for the right reason).
    const same = await sb.berth(['exec', 'b1', 'sh', '-c', `for i in 1 2 3 4 5 6 7 8 9 10; do ${WGET} http://${b2}/ && exit 0; sleep 0.3; done; exit 1`]);
    assert.equal(same.stdout, 'b2-web\n');
    assert.notEqual(await execCode('d1', `${WGET} http://${b2}/`), 0, 'default bridge → bridge1');
    assert.notEqual(await execCode('d1', `ping -c1 -W2 ${b2}`), 0);
    assert.notEqual(await execCode('b1', `ping -c1 -W2 ${d1}`), 0, 'bridge1 → default bridge');
    assert.notEqual(await execCode('icc1', `${WGET} http://${b2}/`), 0, 'zt1 → bridge1');
  });

  it('an --internal network has no way out', async () => {
    await sb.berth(['network', 'create', '--internal', 'zint']);
    assert.equal(await sb.inspect('zint', '{{.Internal}}', 'network'), 'true');
    await sleeper('in1', '--network', 'zint');
    await sleeper('in2', '--network', 'zint');
    assert.equal(await execCode('in1', `ping -c1 -W2 ${await ipOf('in2')}`), 0, 'inside the internal network: reachable');
    assert.notEqual(await execCode('in1', `${WGET} ${whoami}/index.html`), 0);
    assert.notEqual(await execCode('in1', `ping -c1 -W2 ${OUTSIDE_ADDR}`), 0);
    assert.equal(await execCode('b1', `${WGET} ${whoami}/index.html`), 0, 'a normal network does get out');
  });

  it('--ip and --mac-address', async () => {
    const r = await sb.berth(['run', '--rm', '--network', 'bridge1', '--ip', '172.26.0.50', '--mac-address', '02:42:ac:1a:00:99',
      'busybox', 'ip', 'addr', 'show', 'eth0']);
    assert.match(r.stdout, /link\/ether 02:42:ac:1a:00:99 /);
    assert.match(r.stdout, /inet 172\.26\.0\.50\/16 /);
  });

  it('--network host shares the host\'s interfaces and name', async () => {
    const r = await sb.berth(['run', '--rm', '--network', 'host', 'busybox', 'sh', '-c', 'ip -4 addr; hostname']);
    assert.match(r.stdout, new RegExp(`inet ${HOST_ADDR.replace(/\./g, '\\.')}/24 `));
    assert.match(r.stdout, /inet 172\.17\.0\.1\/16 /);
    assert.match(r.stdout, /berth-host\n$/);
    assert.equal(await sb.inspect('host', '{{.Driver}}', 'network'), 'host');
  });

  it('--network none has only lo', async () => {
    const r = await sb.berth(['run', '--rm', '--network', 'none', 'busybox', 'ip', '-o', 'link']);
    const links = r.stdout.trim().split('\n');
    assert.equal(links.length, 1, r.stdout);
    assert.match(links[0], /^1: lo: <LOOPBACK,UP,LOWER_UP>/);
  });

  it('--network container:NAME shares the other container\'s stack, loopback included', async () => {
    await sb.berth(['run', '-d', '--name', 'base', 'busybox', 'sh', '-c', 'echo on-loopback > /www/index.html; exec httpd -f -p 127.0.0.1:8080 -h /www']);
    const ip = await ipOf('base');
    const r = await sb.berth(['run', '--rm', '--network', 'container:base', 'busybox', 'sh', '-c',
      `ip -4 addr show eth0; for i in 1 2 3 4 5 6 7 8 9 10; do ${WGET} http://127.0.0.1:8080/ && exit 0; sleep 0.3; done; exit 1`]);
    assert.match(r.stdout, new RegExp(`inet ${ip.replace(/\./g, '\\.')}/16 `));
    assert.match(r.stdout, /on-loopback\n$/);
  });

  it('connect --ip --alias and disconnect, live', async () => {
    await sb.berth(['network', 'create', '--subnet', '10.55.0.0/24', 'n1']);
    await sb.berth(['network', 'create', '--subnet', '10.56.0.0/24', 'n2']);
    await sleeper('w1', '--network', 'n1');
    const id = await sb.inspect('w1', '{{.Id}}');
    assert.equal((await sb.berth(['network', 'connect', '--ip', '10.56.0.9', '--alias', 'foo', '--alias', 'bar', 'n2', 'w1'])).stdout, '');
    const a = (await sb.berth(['exec', 'w1', 'ip', '-4', 'addr'])).stdout;
    assert.match(a, /inet 10\.55\.0\.2\/24 brd 10\.55\.0\.255 scope global eth0/);
    assert.match(a, /inet 10\.56\.0\.9\/24 brd 10\.56\.0\.255 scope global eth1/);
    const aliases = JSON.parse(await sb.inspect('w1', '{{json .NetworkSettings.Networks.n2.Aliases}}'));
    assert.deepEqual(aliases, ['foo', 'bar', id.slice(0, 12)]);
    assert.equal(await sb.inspect('n2', '{{range .Containers}}{{.Name}} {{.IPv4Address}}{{end}}', 'network'), 'w1 10.56.0.9/24');
    // A second container on n2 reaches w1 on its new address.
    await sleeper('w2', '--network', 'n2');
    assert.equal(await execCode('w2', 'ping -c1 -W2 10.56.0.9'), 0);

    const again = await sb.berth(['network', 'connect', 'n2', 'w1'], { allowFail: true });
    assert.equal(again.code, 1);
    assert.equal(again.stderr, 'Error response from daemon: endpoint with name w1 already exists in network n2\n');
    const noIp = await sb.berth(['network', 'connect', '--ip', '10.57.0.7', 'zint', 'w2'], { allowFail: true });
    assert.equal(noIp.code, 1);
    assert.equal(noIp.stderr, 'Error response from daemon: user specified IP address is supported only when connecting to networks with user configured subnets\n');

    const hostVeths = async () => (await sb.sh('ip -o link show type veth | wc -l')).stdout.trim();
    const before = Number(await hostVeths());
    assert.equal((await sb.berth(['network', 'disconnect', 'n2', 'w1'])).stdout, '');
    const after = (await sb.berth(['exec', 'w1', 'ip', '-o', 'link'])).stdout;
    assert.doesNotMatch(after, /eth1/);
    assert.equal(Number(await hostVeths()), before - 1, 'the host end of the veth is gone');
    assert.notEqual(await execCode('w2', 'ping -c1 -W2 10.56.0.9'), 0);
    const not = await sb.berth(['network', 'disconnect', 'n2', 'w1'], { allowFail: true });
    assert.equal(not.code, 1);
    assert.equal(not.stderr, `Error response from daemon: container ${id} is not connected to network n2\n`);
    await sb.berth(['network', 'connect', 'n2', 'w1']);
    assert.equal(await ipOf('w1', 'n2'), '10.56.0.3', 'without --ip: first free address (w2 has .2)');
    await sb.berth(['network', 'disconnect', '-f', 'n2', 'w1']);
    assert.equal(await sb.inspect('w1', '{{len .NetworkSettings.Networks}}'), '1');
  });

  it('disconnecting the only network keeps NetworkMode, and connecting it again works (docker-compose 1.x)', async () => {
    // Stopped: compose's sequence for every new container.
    await sb.berth(['network', 'create', 'dc1']);
    await sb.berth(['create', '--name', 'dcc', '--network', 'dc1', 'busybox', 'sleep', '1000']);
    await sb.berth(['network', 'disconnect', 'dc1', 'dcc']);
    assert.equal(await sb.inspect('dcc', '{{.HostConfig.NetworkMode}} {{len .NetworkSettings.Networks}}'), 'dc1 0');
    await sb.berth(['network', 'connect', '--alias', 'web', 'dc1', 'dcc']);
    assert.equal(await sb.inspect('dcc', '{{.HostConfig.NetworkMode}} {{range $k, $v := .NetworkSettings.Networks}}{{$k}}={{$v.Aliases}}{{end}}'), 'dc1 dc1=[web]');
    await sb.berth(['start', 'dcc']);
    assert.match((await sb.berth(['exec', 'dcc', 'ip', '-4', '-o', 'addr'])).stdout, /eth0 +inet 172\.\d+\.0\.2\//);
    // Running: without its only network it keeps just lo (as Docker), and gets eth0 back on connect.
    await sb.berth(['network', 'disconnect', 'dc1', 'dcc']);
    assert.equal((await sb.berth(['exec', 'dcc', 'ip', '-4', '-o', 'addr'])).stdout.split('\n').filter(Boolean).length, 1);
    assert.equal(await sb.inspect('dcc', '{{.HostConfig.NetworkMode}} {{len .NetworkSettings.Networks}}'), 'dc1 0');
    // A restart with the network disconnected: still only lo.
    await sb.berth(['restart', '-t', '0', 'dcc']);
    assert.equal((await sb.berth(['exec', 'dcc', 'ip', '-4', '-o', 'addr'])).stdout.split('\n').filter(Boolean).length, 1);
    await sb.berth(['network', 'connect', 'dc1', 'dcc']);
    assert.match((await sb.berth(['exec', 'dcc', 'ip', '-4', '-o', 'addr'])).stdout, /eth0 +inet 172\.\d+\.0\.2\//);
    await sb.berth(['rm', '-f', 'dcc']);
    await sb.berth(['network', 'rm', 'dc1']);
  });

  it('inspect ?scope=, IPAM.Options, dangling=true, DNSNames, IPAM drivers: as Docker answers them', async () => {
    const created = await api(sb, 'POST', '/networks/create', { Name: 'shapes' });
    assert.equal(created.status, 201, created.text);
    assert.equal((await api(sb, 'GET', '/networks/shapes?scope=local')).status, 200);
    const global = await api(sb, 'GET', '/networks/shapes?scope=global');
    assert.equal(global.status, 404);
    assert.equal(global.body.message, 'network shapes not found');
    assert.equal((await api(sb, 'GET', '/networks/shapes')).body.IPAM.Options, null, 'no IPAM options asked for: null');
    const withOpts = await api(sb, 'POST', '/networks/create', { Name: 'shapes2', IPAM: { Options: { a: 'b' } } });
    assert.deepEqual((await api(sb, 'GET', `/networks/${withOpts.body.Id}`)).body.IPAM.Options, { a: 'b' });
    const plugin = await api(sb, 'POST', '/networks/create', { Name: 'shapes3', IPAM: { Driver: 'infoblox' } });
    assert.equal(plugin.status, 404);
    assert.equal(plugin.body.message, 'plugin "infoblox" not found');
    const dangling = (await sb.berth(['network', 'ls', '--filter', 'dangling=true', '--format', '{{.Name}}'])).stdout.split('\n').filter(Boolean);
    assert.ok(!dangling.includes('host') && !dangling.includes('none') && !dangling.includes('bridge'), dangling.join(' '));
    assert.ok(dangling.includes('shapes') && dangling.includes('shapes2'), dangling.join(' '));
    await sleeper('dn1', '--network', 'shapes', '--network-alias', 'svc', '-h', 'box1');
    const id = (await sb.inspect('dn1', '{{.Id}}')).slice(0, 12);
    assert.equal(await sb.inspect('dn1', '{{json (index .NetworkSettings.Networks "shapes").DNSNames}}'), `["dn1","svc","${id}","box1"]`);
    // Disconnecting from a network it is not on: the client's mistake, a 4xx (Docker's words; Docker says 500).
    const notOn = await api(sb, 'POST', '/networks/none/disconnect', { Container: 'dn1' });
    assert.equal(notOn.status, 409);
    assert.match(notOn.body.message, /^container [0-9a-f]{64} is not connected to network none$/);
    await sb.berth(['rm', '-f', 'dn1']);
    await sb.berth(['network', 'rm', 'shapes', 'shapes2']);
  });

  it('rm refuses a network in use; rm and prune remove unused ones and their bridges', async () => {
    const n1 = await sb.inspect('n1', '{{.Id}}', 'network');
    const r = await sb.berth(['network', 'rm', 'n1'], { allowFail: true });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^Error response from daemon: error while removing network: network n1 has active endpoints \((name:"[a-z0-9]+" id:"[0-9a-f]{12}"(, )?)+\)\n/);
    const bridgeName = `br-${n1.slice(0, 12)}`;
    assert.match((await sb.sh('ip -o link show')).stdout, new RegExp(`: ${bridgeName}:`), 'user networks get br-<id12>');
    await sb.berth(['rm', '-f', 'w1', 'w2', 'in1', 'in2', 'b1', 'b2', 'icc1', 'icc2', 'base']);
    assert.equal((await sb.berth(['network', 'rm', 'n1', 'zt1'])).stdout, 'n1\nzt1\n');
    const links = (await sb.sh('ip -o link show')).stdout;
    assert.doesNotMatch(links, new RegExp(`${bridgeName}|br-ztest`));
    await sb.berth(['network', 'rm', 'n2', 'zint']);
    // Left: bridge1 (unused) and the predefined networks, which prune never removes.
    const p = await sb.berth(['network', 'prune', '-f']);
    assert.equal(p.stdout, 'Deleted Networks:\nbridge1\n\n');
    const ls = (await sb.berth(['network', 'ls', '--format', '{{.Name}}'])).stdout;
    assert.equal(ls, 'bridge\nhost\nnone\n');
    // (removed bridges are renamed to spares at once and deleted in the background)
    const count = await poll(async () => (await sb.sh('ip -o link show type bridge | wc -l')).stdout.trim(), (n) => n === '1');
    assert.equal(count, '1', 'only berth0 is left');
  });
});
