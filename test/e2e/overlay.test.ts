// Overlay networks across two hosts: two sandboxes, each with its own berthd, joined by a
// cable (10.77.0.1 ⇄ 10.77.0.2) as the hosts' network. `swarm init` on one, `swarm join` on
// the other; an overlay network made on either is seen by both; containers on the two hosts
// reach each other by address and by name; Docker's errors where Docker has them.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Sandbox } from '../harness/sandbox';

const skip = Sandbox.skipReason();
const WGET = 'timeout 3 wget -qO-';
const A_ADDR = '10.77.0.1', B_ADDR = '10.77.0.2';

async function until<T>(f: () => Promise<T>, ok: (v: T) => boolean, what: string): Promise<T> {
  let v = await f();
  for (let i = 0; i < 40 && !ok(v); i++) { await new Promise((r) => setTimeout(r, 100)); v = await f(); }
  assert.ok(ok(v), `${what}: last ${JSON.stringify(v)}`);
  return v;
}

describe('overlay networks across two hosts', { skip }, () => {
  let a: Sandbox, b: Sandbox;

  before(async () => {
    [a, b] = await Promise.all([Sandbox.start(), Sandbox.start()]);
    await Promise.all([a.importBusybox(), b.importBusybox()]);
    await Sandbox.link(a, b, 'ul0', A_ADDR, B_ADDR);
  });
  after(async () => { await Promise.all([a?.cleanup(), b?.cleanup()]); });

  it('without a swarm, Docker\'s error', async () => {
    const r = await b.berth(['network', 'create', '-d', 'overlay', 'x'], { allowFail: true });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /This node is not a swarm manager\. Use "docker swarm init" or "docker swarm join"/);
  });

  it('swarm init on one host, swarm join on the other', async () => {
    const init = (await a.berth(['swarm', 'init', '--advertise-addr', A_ADDR])).stdout;
    assert.match(init, /^Swarm initialized: current node \(\w+\) is now a manager\.\n/);
    const token = (await a.berth(['swarm', 'join-token', '-q', 'worker'])).stdout.trim();
    assert.match(token, /^SWMTKN-1-/);
    assert.ok(init.includes(`berth swarm join --token ${token} ${A_ADDR}:2377`));
    const bad = await b.berth(['swarm', 'join', '--token', 'SWMTKN-1-wrong', `${A_ADDR}:2377`, '--advertise-addr', B_ADDR], { allowFail: true });
    assert.match(bad.stderr, /invalid join token/, `a malformed token is refused (exit ${bad.code}, stdout ${JSON.stringify(bad.stdout)}, stderr ${JSON.stringify(bad.stderr)})`);
    // The token names the manager's certificate: a token for another manager is refused before
    // its secret is sent, and a wrong secret is refused by the manager.
    const [, digest, secret] = /^SWMTKN-1-([0-9a-f]{64})-(\w+)$/.exec(token)!;
    const otherCert = await b.berth(['swarm', 'join', '--token', `SWMTKN-1-${'0'.repeat(64)}-${secret}`, `${A_ADDR}:2377`, '--advertise-addr', B_ADDR], { allowFail: true });
    assert.match(otherCert.stderr, /the manager's certificate does not match the join token/);
    // (another first character: a secret that already began with "x" once made this the real
    // token, and the join succeeded)
    const wrong = `${secret[0] === 'x' ? 'y' : 'x'}${secret.slice(1)}`;
    const wrongSecret = await b.berth(['swarm', 'join', '--token', `SWMTKN-1-${digest}-${wrong}`, `${A_ADDR}:2377`, '--advertise-addr', B_ADDR], { allowFail: true });
    assert.match(wrongSecret.stderr, /invalid join token/);
    assert.equal((await b.berth(['info', '--format', '{{.Swarm.LocalNodeState}}'])).stdout.trim(), 'inactive');
    assert.equal((await b.berth(['swarm', 'join', '--token', token, `${A_ADDR}:2377`, '--advertise-addr', B_ADDR])).stdout,
      'This node joined a swarm as a worker.\n');
    assert.equal((await b.berth(['info', '--format', '{{.Swarm.LocalNodeState}}'])).stdout.trim(), 'active');
    const nodes = (await a.berth(['node', 'ls', '--format', '{{.Self}} {{.Status}} {{.ManagerStatus}}'])).stdout;
    assert.deepEqual(nodes.trim().split('\n').sort(), ['false Ready', 'true Ready Leader']);
    const bId = (await b.berth(['info', '--format', '{{.Swarm.NodeID}}'])).stdout.trim();
    const rm = await a.berth(['node', 'rm', bId], { allowFail: true });
    assert.match(rm.stderr, new RegExp(`node ${bId} is not down and can't be removed`));
    assert.match((await b.berth(['node', 'ls'], { allowFail: true })).stderr, /This node is not a swarm manager/, 'workers cannot list nodes');
  });

  it('the manager\'s port (its etcd member) refuses strangers and garbage, and keeps serving', async () => {
    // etcd's JSON gateway on the client port: without a login nothing is read or written.
    const curl = (args: string) => b.sh(`curl -sk -o /dev/null -w '%{http_code}' ${args}`);
    const key = Buffer.from('berth/cluster/networks/evil').toString('base64');
    assert.notEqual((await curl(`-X POST https://${A_ADDR}:2377/v3/kv/put -d '{"key":"${key}","value":"eA=="}'`)).stdout, '200');
    assert.notEqual((await curl(`-X POST https://${A_ADDR}:2377/v3/kv/range -d '{"key":"YmVydGgv","range_end":"YmVydGgw"}'`)).stdout, '200');
    assert.notEqual((await curl(`-X POST https://${A_ADDR}:2377/v3/auth/authenticate -d '{"name":"worker","password":"wrong"}'`)).stdout, '200');
    assert.notEqual((await curl(`-X POST https://${A_ADDR}:2377/v3/kv/put -d 'not json'`)).stdout, '200');
    assert.equal((await a.berth(['network', 'ls', '-q', '--filter', 'driver=overlay'])).stdout, '', 'nothing was made');
    assert.equal((await a.berth(['node', 'ls', '-q'])).stdout.trim().split('\n').length, 2, 'and the manager serves on');
  });

  it('an overlay network made on the manager is seen on the worker', async () => {
    await a.berth(['network', 'create', '-d', 'overlay', '--attachable', 'ov']);
    const line = await until(async () => (await b.berth(['network', 'ls', '--filter', 'name=ov', '--format', '{{.Name}} {{.Driver}} {{.Scope}}'])).stdout.trim(),
      (s) => s === 'ov overlay swarm', 'ov on the worker');
    assert.equal(line, 'ov overlay swarm');
    assert.equal(await b.inspect('ov', '{{(index .IPAM.Config 0).Subnet}}', 'network'), '10.0.1.0/24');
    assert.equal(await b.inspect('ov', '{{range .Peers}}{{.IP}} {{end}}', 'network'), `${A_ADDR} ${B_ADDR}`);
  });

  it('containers on the two hosts reach each other by address and by name', async () => {
    await a.berth(['run', '-d', '--name', 'c1', '--network', 'ov', 'busybox', 'sh', '-c', 'echo across > /www/index.html; exec httpd -f -p 80 -h /www']);
    await b.berth(['run', '-d', '--name', 'c2', '--network', 'ov', 'busybox', 'sleep', '1000']);
    const ip1 = await a.inspect('c1', '{{(index .NetworkSettings.Networks "ov").IPAddress}}');
    const ip2 = await b.inspect('c2', '{{(index .NetworkSettings.Networks "ov").IPAddress}}');
    assert.match(ip1, /^10\.0\.1\.\d+$/);
    assert.match(ip2, /^10\.0\.1\.\d+$/);
    assert.notEqual(ip1, ip2, 'one address space for the whole cluster');
    const page = await until(async () => (await b.berth(['exec', 'c2', 'sh', '-c', `${WGET} http://${ip1}/`], { allowFail: true })).stdout,
      (s) => s === 'across\n', 'c2 → c1 by address');
    assert.equal(page, 'across\n');
    assert.equal((await b.berth(['exec', 'c2', 'sh', '-c', `${WGET} http://c1/`])).stdout, 'across\n', 'by name, across hosts');
    assert.equal((await a.berth(['exec', 'c1', 'ping', '-c1', '-W2', 'c2'])).code, 0);
    assert.equal((await a.berth(['exec', 'c1', 'cat', '/sys/class/net/eth0/mtu'])).stdout.trim(), '1450');
  });

  it('containers started at the same moment on both hosts get different addresses', async () => {
    const names = ['p1', 'p2', 'p3', 'p4', 'p5', 'p6'];
    await Promise.all(names.map((n, i) => (i % 2 ? b : a).berth(['run', '-d', '--name', n, '--network', 'ov', 'busybox', 'sleep', '1000'])));
    const ips = await Promise.all(names.map((n, i) => (i % 2 ? b : a).inspect(n, '{{(index .NetworkSettings.Networks "ov").IPAddress}}')));
    assert.equal(new Set(ips).size, names.length, ips.join(' '));
    await Promise.all([a.berth(['rm', '-f', 'p1', 'p3', 'p5']), b.berth(['rm', '-f', 'p2', 'p4', 'p6'])]);
  });

  it('an overlay container gets out through docker_gwbridge, as with Docker', async () => {
    const whoami = await a.outsideWhoami();
    // NAT through host a: the outside machine sees a's address.
    assert.equal((await a.berth(['exec', 'c1', 'sh', '-c', `${WGET} ${whoami}/cgi-bin/ip`])).stdout.trim(), '10.99.0.1');
    assert.equal(await a.inspect('c1', '{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}'), 'ov', 'only the overlay network shows');
    assert.match((await a.berth(['network', 'ls', '--format', '{{.Name}} {{.Driver}}'])).stdout, /^docker_gwbridge bridge$/m);
    assert.match((await a.berth(['exec', 'c1', 'ip', 'route'])).stdout, /^default via 172\.\d+\.0\.1 dev eth1/m);
    // -p publishes through docker_gwbridge, as with Docker.
    await a.berth(['run', '-d', '--name', 'pub', '--network', 'ov', '-p', '8089:80', 'busybox', 'sh', '-c', 'echo published > /www/index.html; exec httpd -f -p 80 -h /www']);
    assert.equal((await a.waitFor('curl -sf http://10.99.0.1:8089/', 'pub')).stdout, 'published\n');
    assert.equal((await a.outside('curl -s --max-time 5 http://10.99.0.1:8089/')).stdout, 'published\n');
    await a.berth(['rm', '-f', 'pub']);
  });

  it('both daemons restart: containers keep talking, new ones join', async () => {
    await b.restartDaemon();
    await a.restartDaemon();
    assert.equal((await until(async () => (await b.berth(['exec', 'c2', 'sh', '-c', `${WGET} http://c1/`], { allowFail: true })).stdout,
      (s) => s === 'across\n', 'c2 → c1 after restarts')), 'across\n');
    await b.berth(['run', '-d', '--name', 'c3', '--network', 'ov', 'busybox', 'sleep', '1000']);
    assert.equal((await until(async () => (await b.berth(['exec', 'c3', 'sh', '-c', `${WGET} http://c1/`], { allowFail: true })).stdout,
      (s) => s === 'across\n', 'c3 → c1')), 'across\n');
    await b.berth(['rm', '-f', 'c3']);
  });

  it('aliases and network connect work across hosts too', async () => {
    await a.berth(['run', '-d', '--name', 'c4', '--network', 'ov', '--network-alias', 'svc', 'busybox', 'sh', '-c', 'echo aliased > /www/index.html; exec httpd -f -p 80 -h /www']);
    assert.equal((await until(async () => (await b.berth(['exec', 'c2', 'sh', '-c', `${WGET} http://svc/`], { allowFail: true })).stdout,
      (s) => s === 'aliased\n', 'c2 → svc')), 'aliased\n');
    // A container on the default bridge of host b, connected to ov while it runs.
    await b.berth(['run', '-d', '--name', 'late', 'busybox', 'sleep', '1000']);
    await b.berth(['network', 'connect', 'ov', 'late']);
    assert.match(await b.inspect('late', '{{(index .NetworkSettings.Networks "ov").IPAddress}}'), /^10\.0\.1\.\d+$/);
    // (by address: its resolv.conf stays the host's, as with Docker)
    const ip4 = await a.inspect('c4', '{{(index .NetworkSettings.Networks "ov").IPAddress}}');
    assert.equal((await until(async () => (await b.berth(['exec', 'late', 'sh', '-c', `${WGET} http://${ip4}/`], { allowFail: true })).stdout,
      (s) => s === 'aliased\n', 'late → c4')), 'aliased\n');
    await b.berth(['network', 'disconnect', 'ov', 'late']);
    await a.berth(['rm', '-f', 'c4']);
    await b.berth(['rm', '-f', 'late']);
  });

  it('a dual-stack overlay network (--ipv6): inspect as Docker\'s swarm shows it, on both hosts', async () => {
    await a.berth(['network', 'create', '-d', 'overlay', '--attachable', '--ipv6', '--subnet', '10.0.6.0/24', '--subnet', 'fd00:6::/64', 'ov6']);
    await until(async () => (await b.berth(['network', 'ls', '-q', '--filter', 'name=ov6'])).stdout.trim(), (s) => s !== '', 'ov6 on b');
    for (const h of [a, b]) {
      assert.equal(await h.inspect('ov6', '{{.EnableIPv6}} {{json .IPAM.Config}}', 'network'),
        'true [{"Subnet":"10.0.6.0/24","Gateway":"10.0.6.1"},{"Subnet":"fd00:6::/64","Gateway":"fd00:6::1"}]');
    }
    await a.berth(['run', '-d', '--name', 's1', '--network', 'ov6', 'busybox', 'sh', '-c', 'echo over6 > /www/index.html; exec httpd -f -p 80 -h /www']);
    await b.berth(['run', '-d', '--name', 's2', '--network', 'ov6', '--ip6', 'fd00:6::99', 'busybox', 'sleep', '1000']);
    // (no gateway of either family on an overlay network, as Docker's swarm shows it)
    const fmt = '{{with index .NetworkSettings.Networks "ov6"}}{{.IPAddress}} {{.GlobalIPv6Address}} {{.GlobalIPv6PrefixLen}} [{{.Gateway}}] [{{.IPv6Gateway}}] {{json .IPAMConfig}}{{end}}';
    assert.equal(await a.inspect('s1', fmt), '10.0.6.2 fd00:6::2 64 [] [] null');
    assert.equal(await b.inspect('s2', fmt), '10.0.6.3 fd00:6::99 64 [] [] {"IPv6Address":"fd00:6::99"}');
    const members = Object.values(JSON.parse(await b.inspect('ov6', '{{json .Containers}}', 'network'))) as any[];
    assert.deepEqual(members.map((m) => [m.Name, m.IPv4Address, m.IPv6Address]), [['s2', '10.0.6.3/24', 'fd00:6::99/64']]);
    const id12 = (await b.inspect('s2', '{{.Id}}')).slice(0, 12);
    assert.ok((await b.berth(['exec', 's2', 'cat', '/etc/hosts'])).stdout.endsWith(`10.0.6.3\t${id12}\nfd00:6::99\t${id12}\n`));
    const routes = (await b.berth(['exec', 's2', 'ip', '-6', 'route'])).stdout;
    assert.match(routes, /^fd00:6::\/64 dev eth0 /m);
    assert.doesNotMatch(routes, /^default/m, 'no IPv6 way out: docker_gwbridge is IPv4 only, as with Docker');
  });

  it('containers on the two hosts reach each other over IPv6 by name (AAAA answered on every host)', async () => {
    // (neighbour discovery crosses the VXLAN by head-end replication, as ARP does)
    const aaaa = await until(async () => (await b.berth(['exec', 's2', 'nslookup', '-type=AAAA', 's1', '127.0.0.11'], { allowFail: true })).stdout,
      (s) => /Address: fd00:6::2$/m.test(s), 's1\'s AAAA on host b');
    assert.match(aaaa, /^Name:\s+s1$/m);
    assert.match((await a.berth(['exec', 's1', 'nslookup', '-type=AAAA', 's2', '127.0.0.11'])).stdout, /^Address: fd00:6::99$/m);
    assert.match((await a.berth(['exec', 's1', 'nslookup', 'fd00:6::99', '127.0.0.11'])).stdout, /name = s2\.ov6$/m, 'ip6.arpa PTR of a remote container');
    assert.equal((await until(async () => (await b.berth(['exec', 's2', 'ping', '-6', '-c', '1', '-W', '2', 's1'], { allowFail: true })).code,
      (c) => c === 0, 's2 → s1 over IPv6')), 0);
    assert.equal((await a.berth(['exec', 's1', 'ping', '-6', '-c', '1', '-W', '2', 's2'])).code, 0);
    assert.equal((await b.berth(['exec', 's2', 'sh', '-c', `${WGET} http://[fd00:6::2]/`])).stdout, 'over6\n', 'TCP over IPv6 across hosts');
    // IPv4 on the same network still works.
    assert.equal((await b.berth(['exec', 's2', 'sh', '-c', `${WGET} http://s1/`])).stdout, 'over6\n');
    // A berthd SIGKILLed and started again registers its endpoint with both addresses again
    // (under its new lease); the next container there gets neither of them.
    await b.killDaemon();
    await b.startDaemon();
    assert.equal(await b.inspect('s2', '{{(index .NetworkSettings.Networks "ov6").GlobalIPv6Address}}'), 'fd00:6::99');
    assert.equal((await until(async () => (await a.berth(['exec', 's1', 'ping', '-6', '-c', '1', '-W', '2', 's2'], { allowFail: true })).code,
      (c) => c === 0, 's1 → s2 over IPv6 after b\'s restart')), 0);
    await b.berth(['run', '-d', '--name', 's4', '--network', 'ov6', 'busybox', 'sleep', '1000']);
    assert.equal(await b.inspect('s4', '{{with index .NetworkSettings.Networks "ov6"}}{{.IPAddress}} {{.GlobalIPv6Address}}{{end}}'), '10.0.6.4 fd00:6::3');
    await b.berth(['rm', '-f', 's4']);
  });

  it('dual-stack overlays: Docker\'s errors for bad IPv6 input, nothing made; isolated from each other in IPv6', async () => {
    const before = await Promise.all([a.berth(['network', 'ls', '-q']), b.berth(['network', 'ls', '-q'])]);
    const cases: Array<[string[], RegExp]> = [
      [['--ipv6'], /could not find an available, non-overlapping IPv6 address pool among the defaults to assign to the network/],
      [['--ipv6', '--subnet', 'fd00:6::/80'], /Pool overlaps with other one on this address space/],
      [['--ipv6', '--subnet', 'fd00:9::zz/64'], /invalid CIDR address: fd00:9::zz\/64/],
      [['--ipv6', '--subnet', 'fd00:9::/64', '--gateway', 'fd00:8::1'], /fd00:8::1/],
    ];
    for (const [args, msg] of cases) {
      const r = await a.berth(['network', 'create', '-d', 'overlay', '--attachable', ...args, 'badv6'], { allowFail: true });
      assert.notEqual(r.code, 0, args.join(' '));
      assert.match(r.stderr, msg, args.join(' '));
    }
    const out = await b.berth(['run', '-d', '--name', 'bad6', '--network', 'ov6', '--ip6', 'fd00:7::5', 'busybox', 'true'], { allowFail: true });
    assert.match(out.stderr, /Invalid address fd00:7::5: It does not belong to any of this network's subnets/);
    // (refused when it starts: the container is made, as with Docker's run)
    const taken = await a.berth(['run', '-d', '--name', 'bad7', '--network', 'ov6', '--ip6', 'fd00:6::99', 'busybox', 'true'], { allowFail: true });
    assert.match(taken.stderr, /Address already in use/, 'an address another host\'s container holds');
    const v4 = await a.berth(['run', '-d', '--name', 'bad8', '--network', 'ov', '--ip6', 'fd00:6::5', 'busybox', 'true'], { allowFail: true });
    assert.match(v4.stderr, /network ov has no IPv6 address pool/);
    await Promise.all([a.berth(['rm', '-f', 'bad7', 'bad8'], { allowFail: true }), b.berth(['rm', '-f', 'bad6'], { allowFail: true })]);
    assert.deepEqual(await Promise.all([a.berth(['network', 'ls', '-q']), b.berth(['network', 'ls', '-q'])]), before);
    // Another dual-stack overlay network: its container reaches nothing on ov6, in either family.
    await b.berth(['network', 'create', '-d', 'overlay', '--attachable', '--ipv6', '--subnet', 'fd00:16::/64', 'ov6b']);
    await until(async () => (await a.berth(['network', 'ls', '-q', '--filter', 'name=ov6b'])).stdout.trim(), (s) => s !== '', 'ov6b on a');
    await a.berth(['run', '-d', '--name', 'o1', '--network', 'ov6b', 'busybox', 'sleep', '1000']);
    assert.equal(await a.inspect('o1', '{{(index .NetworkSettings.Networks "ov6b").GlobalIPv6Address}}'), 'fd00:16::2');
    assert.notEqual((await a.berth(['exec', 'o1', 'ping', '-6', '-c', '1', '-W', '1', 'fd00:6::2'], { allowFail: true })).code, 0, 'same host, other network');
    assert.notEqual((await a.berth(['exec', 'o1', 'ping', '-6', '-c', '1', '-W', '1', 'fd00:6::99'], { allowFail: true })).code, 0, 'other host, other network');
    assert.notEqual((await a.berth(['exec', 'o1', 'ping', '-c', '1', '-W', '1', '10.0.6.2'], { allowFail: true })).code, 0);
    await a.berth(['rm', '-f', 'o1']);
    await until(async () => (await a.berth(['network', 'rm', 'ov6b'], { allowFail: true })).code, (c) => c === 0, 'network rm ov6b');
  });

  it('a dual-stack overlay removed leaves nothing: its IPv6 subnet and addresses are free again', async () => {
    await a.berth(['rm', '-f', 's1']);
    await b.berth(['rm', '-f', 's2']);
    const id12 = (await a.inspect('ov6', '{{.Id}}', 'network')).slice(0, 12);
    assert.match(id12, /^[0-9a-z]{12}$/);
    await until(async () => (await b.berth(['network', 'rm', 'ov6'], { allowFail: true })).code, (c) => c === 0, 'network rm ov6');
    await until(async () => (await a.berth(['network', 'ls', '-q', '--filter', 'name=ov6'])).stdout.trim(), (s) => s === '', 'ov6 gone on a');
    // The same subnets and the same --ip6 again: nothing of the old network holds them.
    const id12b = (await a.berth(['network', 'create', '-d', 'overlay', '--attachable', '--ipv6', '--subnet', '10.0.6.0/24', '--subnet', 'fd00:6::/64', 'ov6'])).stdout.slice(0, 12);
    assert.match(id12b, /^[0-9a-z]{12}$/);
    await a.berth(['run', '-d', '--name', 's3', '--network', 'ov6', '--ip6', 'fd00:6::99', 'busybox', 'sleep', '1000']);
    assert.equal(await a.inspect('s3', '{{(index .NetworkSettings.Networks "ov6").GlobalIPv6Address}}'), 'fd00:6::99');
    await a.berth(['rm', '-f', 's3']);
    await a.berth(['network', 'rm', 'ov6']);
    // (the second network ov6 had another id: neither's devices are left on either host)
    for (const h of [a, b]) {
      await until(async () => (await h.sh(`ip -o link show | grep -c -- "-${id12}\\|-${id12b}" || true`)).stdout.trim(), (s) => s === '0', 'ov6\'s devices gone');
    }
  });

  it('an address that moves to the other host (same address, same MAC) is found there at once', async () => {
    const r = await a.berth(['run', '-d', '--name', 'xy', '--network', 'ov', '--ip', '10.0.1.200', 'busybox', 'true'], { allowFail: true });
    assert.match(r.stderr, /user specified IP address is supported only when connecting to networks with user configured subnets/);
    await a.berth(['network', 'create', '-d', 'overlay', '--attachable', '--subnet', '10.0.9.0/24', 'ovs']);
    await until(async () => (await b.berth(['network', 'ls', '-q', '--filter', 'name=ovs'])).stdout.trim(), (s) => s !== '', 'ovs on b');
    await a.berth(['run', '-d', '--name', 'pa', '--network', 'ovs', 'busybox', 'sleep', '1000']);
    await b.berth(['run', '-d', '--name', 'pb', '--network', 'ovs', 'busybox', 'sleep', '1000']);
    const httpd = (text: string) => ['sh', '-c', `echo ${text} > /www/index.html; exec httpd -f -p 80 -h /www`];
    await a.berth(['run', '-d', '--name', 'mover', '--network', 'ovs', '--ip', '10.0.9.200', 'busybox', ...httpd('on-a')]);
    assert.equal((await until(async () => (await b.berth(['exec', 'pb', 'sh', '-c', `${WGET} http://10.0.9.200/`], { allowFail: true })).stdout,
      (s) => s === 'on-a\n', 'pb → mover on a')), 'on-a\n');
    await a.berth(['rm', '-f', 'mover']);
    await b.berth(['run', '-d', '--name', 'mover', '--network', 'ovs', '--ip', '10.0.9.200', 'busybox', ...httpd('on-b')]);
    // Host b forwarded that MAC to host a a moment ago: it must now deliver it locally at once,
    // on the first try (a learned entry would send it to a for minutes), and a must follow too.
    assert.equal((await b.berth(['exec', 'pb', 'sh', '-c', `${WGET} http://10.0.9.200/`], { allowFail: true })).stdout, 'on-b\n');
    assert.equal((await a.berth(['exec', 'pa', 'sh', '-c', `${WGET} http://10.0.9.200/`], { allowFail: true })).stdout, 'on-b\n');
    await b.berth(['rm', '-f', 'mover', 'pb']);
    await a.berth(['rm', '-f', 'pa']);
    await until(async () => (await a.berth(['network', 'rm', 'ovs'], { allowFail: true })).code, (c) => c === 0, 'network rm ovs');
  });

  it('Docker\'s errors: not attachable, in use on another host, encrypted', async () => {
    await a.berth(['network', 'create', '-d', 'overlay', 'ov2']);
    const r = await a.berth(['run', '-d', '--name', 'xx', '--network', 'ov2', 'busybox', 'true'], { allowFail: true });
    assert.match(r.stderr, /network ov2 not manually attachable/);
    const rm = await a.berth(['network', 'rm', 'ov'], { allowFail: true });
    assert.match(rm.stderr, /has active endpoints/, 'c2 on the other host still uses it');
    const enc = await a.berth(['network', 'create', '-d', 'overlay', '--opt', 'encrypted', 'ov3'], { allowFail: true });
    assert.match(enc.stderr, /encrypted overlay networks need IPsec/);
    await a.berth(['rm', '-f', 'xx']).catch(() => undefined);
    await b.berth(['network', 'rm', 'ov2']);
  });

  it('removing the containers and the network cleans both hosts; leave', async () => {
    await a.berth(['rm', '-f', 'c1']);
    await b.berth(['rm', '-f', 'c2']);
    await until(async () => (await a.berth(['network', 'rm', 'ov'], { allowFail: true })).code, (c) => c === 0, 'network rm ov');
    await until(async () => (await b.sh('ip -o link show | grep -c " vx-\\| ov-" || true')).stdout.trim(), (s) => s === '0', 'overlay devices gone on b');
    assert.equal((await a.sh('ip -o link show | grep -c " vx-\\| ov-" || true')).stdout.trim(), '0');
    assert.equal((await b.berth(['swarm', 'leave'])).stdout, 'Node left the swarm.\n');
    const lf = await a.berth(['swarm', 'leave'], { allowFail: true });
    assert.match(lf.stderr, /Use `--force` to ignore this message/);
    await a.berth(['swarm', 'leave', '--force']);
    assert.equal((await a.berth(['info', '--format', '{{.Swarm.LocalNodeState}}'])).stdout.trim(), 'inactive');
  });
});
