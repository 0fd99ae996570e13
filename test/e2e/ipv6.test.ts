// IPv6 through the real CLI, in the sandbox whose link to the outside machine carries both
// families (host fd99::1, outside fd99::2): published ports answer on [::] and [::1] as with
// Docker 20.10+ (the IPv6 side of a container without an IPv6 address is carried by one relay
// process), one-family bindings stay on their family, and a restart of berthd (even a SIGKILL)
// keeps the IPv6 side answering. Dual-stack networks (`network create --ipv6`): addresses,
// routes, inspect and /etc/hosts as Docker shows them (asked of Docker 20.10.24), names over
// AAAA, published ports by IPv6 NAT, isolation and --internal in IPv6, Docker's messages for
// bad input, and a restart that keeps every IPv6 address.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { HOST_ADDR, HOST_ADDR6, Sandbox, shq } from '../harness/sandbox';
import { checkConsistency } from '../harness/consistency';

const skip = Sandbox.skipReason();
const CURL = 'curl -s --max-time 5';
const FAKEDNS = path.resolve(__dirname, '..', 'harness', 'fakedns.js');

/** busybox httpd on port 80 serving `text`; /cgi-bin/ip answers the client's address. */
function webServer(text: string): string[] {
  const script = [
    `echo ${text} > /www/index.html`,
    'mkdir -p /www/cgi-bin',
    `printf '%s\\n' '#!/bin/sh' 'printf "Content-Type: text/plain\\r\\n\\r\\n%s\\n" "$REMOTE_ADDR"' > /www/cgi-bin/ip`,
    'chmod +x /www/cgi-bin/ip',
    'httpd -p 80 -h /www',
    'exec sleep 100000',
  ].join('; ');
  return ['busybox', 'sh', '-c', script];
}

/** A UDP echo server (python3 from the host image) on IPv4: answers "echo:<data>". */
const UDP_ECHO = (port: number) => ['host', '/usr/bin/python3', '-c',
  `import socket\ns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\ns.bind(("0.0.0.0", ${port}))\nwhile True:\n    d, a = s.recvfrom(2048)\n    s.sendto(b"echo:" + d, a)\n`];
/** Sends a datagram over IPv6 until an answer comes (at most 10 tries); prints it. */
const UDP_ASK6 = (host: string, port: number, msg: string) => `/usr/bin/python3 -c ${shq(
  `import socket, sys\ns = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)\ns.settimeout(1)\nfor i in range(10):\n    s.sendto(b"${msg}", ("${host}", ${port}))\n    try:\n        print(s.recvfrom(2048)[0].decode()); sys.exit(0)\n    except socket.timeout:\n        pass\nsys.exit(1)\n`)}`;

/** Docker 20.10.24's error for `network connect --ip6` outside the network's subnets. */
const CONNECT_OUTSIDE_SUBNET = /Invalid address fd00:2::9: It does not belong to any of this network's subnets/;

/** CRC32c (SCTP's checksum), for a packet made by hand. */
const CRC32C = 'def crc32c(b):\n    c = 0xffffffff\n    for x in b:\n        c ^= x\n        for _ in range(8):\n            c = (c >> 1) ^ (0x82F63B78 & -(c & 1))\n    return c ^ 0xffffffff\n';
/** One SCTP INIT to host:port from a raw socket (the kernel has no SCTP sockets). */
const SCTP_INIT = (host: string, port: number) => `/usr/bin/python3 -c ${shq(
  `import socket, struct\n${CRC32C}init = struct.pack("!BBHIIHHI", 1, 0, 20, 0x1234567, 65535, 1, 1, 1)\n`
  + `pkt = struct.pack("!HHII", 40000, ${port}, 0, 0) + init\npkt = pkt[:8] + struct.pack("<I", crc32c(pkt)) + pkt[12:]\n`
  + `socket.socket(socket.AF_INET6, socket.SOCK_RAW, 132).sendto(pkt, ("${host}", 0))\n`)}`;
/** In a container: waits for one SCTP packet on a raw socket, prints its source and port. */
const SCTP_LISTEN = 'import socket, struct\ns = socket.socket(socket.AF_INET6, socket.SOCK_RAW, 132)\n'
  + 'while True:\n    d, a = s.recvfrom(2048)\n    if struct.unpack("!H", d[2:4])[0] == 9000:\n'
  + '        print("sctp from %s to port 9000" % a[0], flush=True)\n        break\n';

describe('IPv6', { skip }, () => {
  let sb: Sandbox;
  const refused = async (cmd: string, where: 'host' | 'outside' = 'host') =>
    (where === 'host' ? await sb.sh(cmd, { allowFail: true }) : await sb.outside(cmd, { allowFail: true })).code !== 0;

  before(async () => {
    sb = await Sandbox.start();
    await sb.importBusybox();
  });
  after(async () => { await sb?.cleanup(); });

  it('-p 8080:80 answers on [::1] and the host\'s IPv6 address, from the host and the outside machine', async () => {
    await sb.berth(['run', '-d', '--name', 'web', '-p', '8080:80', ...webServer('web')]);
    assert.equal((await sb.berth(['port', 'web'])).stdout, '80/tcp -> 0.0.0.0:8080\n80/tcp -> [::]:8080\n');
    assert.equal(await sb.inspect('web', '{{json .NetworkSettings.Ports}}'),
      '{"80/tcp":[{"HostIp":"0.0.0.0","HostPort":"8080"},{"HostIp":"::","HostPort":"8080"}]}');
    assert.equal(await sb.inspect('web', '{{json .HostConfig.PortBindings}}'), '{"80/tcp":[{"HostIp":"","HostPort":"8080"}]}');
    assert.equal((await sb.waitFor(`${CURL} http://[::1]:8080/`, '[::1]:8080')).stdout, 'web\n');
    assert.equal((await sb.sh(`${CURL} http://[${HOST_ADDR6}]:8080/`)).stdout, 'web\n');
    assert.equal((await sb.outside(`${CURL} http://[${HOST_ADDR6}]:8080/`)).stdout, 'web\n');
    assert.equal((await sb.outside(`${CURL} http://${HOST_ADDR}:8080/`)).stdout, 'web\n');
    // The relay connects from the host: the container sees its gateway as the client (as
    // behind Docker's userland proxy).
    // (busybox httpd listens on IPv6 and prints an IPv4 client mapped: [::ffff:172.17.0.1])
    assert.match((await sb.outside(`${CURL} http://[${HOST_ADDR6}]:8080/cgi-bin/ip`)).stdout, /^\[::ffff:172\.17\.0\.1\]\n$/);
  });

  it('-p [::1]:… and -p 127.0.0.1:… bind one family only', async () => {
    await sb.berth(['run', '-d', '--name', 'lo6', '-p', '[::1]:8081:80', '-p', '127.0.0.1:8082:80', ...webServer('lo6')]);
    assert.equal((await sb.berth(['port', 'lo6'])).stdout, '80/tcp -> 127.0.0.1:8082\n80/tcp -> [::1]:8081\n');
    assert.equal((await sb.berth(['ps', '--filter', 'name=lo6', '--format', '{{.Ports}}'])).stdout,
      '127.0.0.1:8082->80/tcp, [::1]:8081->80/tcp\n');
    assert.equal((await sb.waitFor(`${CURL} http://[::1]:8081/`, '[::1]:8081')).stdout, 'lo6\n');
    assert.ok(await refused(`${CURL} http://[${HOST_ADDR6}]:8081/`), '[::1] only');
    assert.ok(await refused(`${CURL} http://[${HOST_ADDR6}]:8081/`, 'outside'), '[::1] only');
    assert.ok(await refused(`${CURL} http://127.0.0.1:8081/`), 'no IPv4 side');
    assert.equal((await sb.sh(`${CURL} http://127.0.0.1:8082/`)).stdout, 'lo6\n');
    assert.ok(await refused(`${CURL} http://[::1]:8082/`), '127.0.0.1 only: no IPv6 side');
    // The same port on another IPv6 address is free; on :: it is taken.
    const clash = await sb.berth(['run', '-d', '--name', 'clash6', '-p', '8081:80', 'busybox', 'sleep', '100000'], { allowFail: true });
    assert.equal(clash.code, 125);
    assert.match(clash.stderr, /Bind for :::8081 failed: port is already allocated/);
    await sb.berth(['rm', 'clash6']);
  });

  it('UDP over IPv6 reaches a container without an IPv6 address and answers come back', async () => {
    await sb.berth(['run', '-d', '--name', 'u6', '-p', '4355:53/udp', ...UDP_ECHO(53)]);
    const r = await sb.waitFor(UDP_ASK6(HOST_ADDR6, 4355, 'ping6'), 'udp over IPv6', 'outside');
    assert.equal(r.stdout, 'echo:ping6\n');
    assert.equal((await sb.sh(UDP_ASK6('::1', 4355, 'ping-lo6'))).stdout, 'echo:ping-lo6\n');
  });

  it('the IPv6 side keeps answering while berthd is down, and after its SIGKILL and restart', async () => {
    const relayPid = (await sb.sh('pgrep -x berth-relay')).stdout.trim();
    assert.match(relayPid, /^\d+$/, 'one relay process');
    await sb.killDaemon();
    assert.equal((await sb.outside(`${CURL} http://[${HOST_ADDR6}]:8080/`)).stdout, 'web\n');
    await sb.startDaemon();
    assert.equal((await sb.sh('pgrep -x berth-relay')).stdout.trim(), relayPid, 'the same relay, adopted');
    assert.equal((await sb.outside(`${CURL} http://[${HOST_ADDR6}]:8080/`)).stdout, 'web\n');
    // Stopped: its ports close on both families; started again: open again.
    await sb.berth(['stop', '-t', '0', 'web']);
    assert.ok(await refused(`${CURL} http://[::1]:8080/`));
    await sb.berth(['start', 'web']);
    assert.equal((await sb.waitFor(`${CURL} http://[::1]:8080/`, '[::1]:8080 again')).stdout, 'web\n');
  });

  it('a relay that dies is started again with its table', async () => {
    await sb.sh('pkill -KILL -x berth-relay');
    // The next change of published ports finds it gone and starts another from the saved table.
    await sb.berth(['run', '-d', '--name', 'web2', '-p', '8090:80', ...webServer('web2')]);
    assert.equal((await sb.waitFor(`${CURL} http://[::1]:8090/`, '[::1]:8090')).stdout, 'web2\n');
    assert.equal((await sb.sh(`${CURL} http://[::1]:8080/`)).stdout, 'web\n');
  });

  it('network create --ipv6: IPAM, addresses, routes, /etc/hosts and inspect as Docker', async () => {
    await sb.berth(['network', 'create', '--ipv6', '--subnet', 'fd00:1::/64', 'v6a']);
    // A default IPv4 pool is added; the IPv6 entry shows no Gateway when none was given.
    const ipam = JSON.parse(await sb.inspect('v6a', '{{json .IPAM.Config}}', 'network'));
    assert.equal(ipam.length, 2);
    assert.match(ipam[0].Subnet, /^172\.\d+\.0\.0\/16$/);
    assert.deepEqual(ipam[1], { Subnet: 'fd00:1::/64' });
    assert.equal(await sb.inspect('v6a', '{{.EnableIPv6}}', 'network'), 'true');
    await sb.berth(['run', '-d', '--name', 'r6', '--network', 'v6a', ...webServer('r6')]);
    assert.equal(await sb.inspect('r6', '{{range .NetworkSettings.Networks}}{{.GlobalIPv6Address}} {{.GlobalIPv6PrefixLen}} {{.IPv6Gateway}}{{end}}'),
      'fd00:1::2 64 fd00:1::1');
    const v4 = await sb.inspect('r6', '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}');
    const id12 = (await sb.inspect('r6', '{{.Id}}')).slice(0, 12);
    const hosts = (await sb.berth(['exec', 'r6', 'cat', '/etc/hosts'])).stdout;
    assert.ok(hosts.endsWith(`${v4}\t${id12}\nfd00:1::2\t${id12}\n`), hosts);
    const routes = (await sb.berth(['exec', 'r6', 'ip', '-6', 'route'])).stdout;
    assert.match(routes, /^fd00:1::\/64 dev eth0 /m);
    assert.match(routes, /^default via fd00:1::1 dev eth0 +metric 1024/m);
    const members = JSON.parse(await sb.inspect('v6a', '{{json .Containers}}', 'network'));
    assert.equal((Object.values(members)[0] as any).IPv6Address, 'fd00:1::2/64');
    // --ip6, and Docker's words for the ones that cannot be.
    await sb.berth(['run', '-d', '--name', 'r7', '--network', 'v6a', '--ip6', 'fd00:1::99', 'busybox', 'sleep', '100000']);
    assert.equal(await sb.inspect('r7', '{{range .NetworkSettings.Networks}}{{.GlobalIPv6Address}}{{end}}'), 'fd00:1::99');
    const bad = await sb.berth(['run', '-d', '--network', 'v6a', '--ip6', 'fd00:2::99', 'busybox', 'true'], { allowFail: true });
    assert.match(bad.stderr, /Invalid address fd00:2::99: It does not belong to any of this network's subnets/);
    const zz = await sb.berth(['run', '-d', '--network', 'v6a', '--ip6', 'zz', 'busybox', 'true'], { allowFail: true });
    assert.match(zz.stderr, /invalid IPv6 address: zz/);
    const dflt = await sb.berth(['run', '-d', '--ip6', 'fd00:1::5', 'busybox', 'true'], { allowFail: true });
    assert.match(dflt.stderr, /user specified IP address is supported on user defined networks only/);
  });

  it('network connect --ip6: the address asked for, in the kernel and in inspect; Docker\'s words for one outside the subnet', async () => {
    await sb.berth(['run', '-d', '--name', 'c6', 'busybox', 'sleep', '100000']);
    await sb.berth(['network', 'connect', '--ip6', 'fd00:1::9', 'v6a', 'c6']);
    assert.equal(await sb.inspect('c6', '{{with index .NetworkSettings.Networks "v6a"}}{{.GlobalIPv6Address}}/{{.GlobalIPv6PrefixLen}} {{.IPv6Gateway}} {{json .IPAMConfig}}{{end}}'),
      'fd00:1::9/64 fd00:1::1 {"IPv6Address":"fd00:1::9"}');
    assert.match((await sb.berth(['exec', 'c6', 'ip', '-6', 'addr', 'show', 'dev', 'eth1'])).stdout, /inet6 fd00:1::9\/64 scope global/);
    assert.equal((await sb.berth(['exec', 'r6', 'ping', '-6', '-c', '1', '-W', '2', 'fd00:1::9'])).code, 0, 'reached on its address');
    // The docker CLI sends the same request (EndpointConfig.IPAMConfig.IPv6Address).
    await sb.berth(['network', 'disconnect', 'v6a', 'c6']);
    await sb.sh(`DOCKER_HOST=unix://${sb.socket} docker network connect --ip6 fd00:1::10 v6a c6`);
    assert.equal(await sb.inspect('c6', '{{(index .NetworkSettings.Networks "v6a").GlobalIPv6Address}}'), 'fd00:1::10');
    // Outside the subnet: Docker's words, and nothing made.
    await sb.berth(['run', '-d', '--name', 'c6b', 'busybox', 'sleep', '100000']);
    const before = await sb.snapshot();
    const bad = await sb.berth(['network', 'connect', '--ip6', 'fd00:2::9', 'v6a', 'c6b'], { allowFail: true });
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, CONNECT_OUTSIDE_SUBNET);
    assert.deepEqual(Object.keys(JSON.parse(await sb.inspect('c6b', '{{json .NetworkSettings.Networks}}'))), ['bridge']);
    assert.deepEqual(await sb.snapshot(), before);
    await sb.berth(['rm', '-f', 'c6', 'c6b']);
  });

  it('Docker\'s messages for bad IPv6 networks; nothing is made', async () => {
    const before = await sb.snapshot();
    const cases: Array<[string[], RegExp]> = [
      [['--ipv6'], /could not find an available, non-overlapping IPv6 address pool among the defaults to assign to the network/],
      [['--ipv6', '--subnet', 'fd00:1::/80'], /Pool overlaps with other one on this address space/],
      [['--ipv6', '--subnet', 'fd00:4::/64', '--gateway', 'fd00:5::1'], /no matching subnet for gateway fd00:5::1/],
      [['--ipv6', '--subnet', 'fd00:9::/64', '--ip-range', 'fd00:8::/80'], /no matching subnet for range fd00:8::\/80/],
      [['--ipv6', '--subnet', 'fd00:12::/64', '--gateway', 'fd00:12::'], /failed to allocate gateway \(fd00:12::\): Address already in use/],
      [['--ipv6', '--subnet', 'fd00:13::/128'], /failed to allocate gateway \(\): No available addresses on this pool/],
      [['--ipv6', '--subnet', 'ff00::/64'], /multicast/],
    ];
    for (const [args, msg] of cases) {
      const r = await sb.berth(['network', 'create', ...args, 'badv6'], { allowFail: true });
      assert.notEqual(r.code, 0, args.join(' '));
      assert.match(r.stderr, msg, args.join(' '));
    }
    assert.deepEqual(await sb.snapshot(), before);
  });

  it('containers reach each other over IPv6 by name (AAAA), and the gateway answers', async () => {
    const aaaa = (await sb.berth(['exec', 'r7', 'nslookup', '-type=AAAA', 'r6', '127.0.0.11'])).stdout;
    assert.match(aaaa, /fd00:1::2/);
    const got = await sb.berth(['exec', 'r7', 'sh', '-c', 'timeout 5 wget -qO- http://[fd00:1::2]/']);
    assert.equal(got.stdout, 'r6\n');
    // By name: busybox wget asks A first; ping -6 asks AAAA.
    assert.equal((await sb.berth(['exec', 'r7', 'ping', '-6', '-c', '1', '-W', '2', 'r6'])).code, 0);
    assert.equal((await sb.berth(['exec', 'r7', 'ping', '-6', '-c', '1', '-W', '2', 'fd00:1::1'])).code, 0);
  });

  it('the embedded resolver forwards to an IPv6 upstream (from the host, where it runs)', async () => {
    await sb.outside(`${shq(process.execPath)} ${FAKEDNS} fd99::2 answer /dev/null >/dev/null 2>&1 &`);
    await sb.berth(['run', '-d', '--name', 'd6', '--network', 'v6a', '--dns', 'fd99::2', 'busybox', 'sleep', '100000']);
    let out = ''; // (the fake starts in the background: asked until it answers)
    for (let i = 0; i < 30 && !/198\.51\.100\.7/.test(out); i++) {
      out = (await sb.berth(['exec', 'd6', 'nslookup', 'www.example.test', '127.0.0.11'], { allowFail: true })).stdout;
    }
    assert.match(out, /Address: 198\.51\.100\.7/);
    await sb.berth(['rm', '-f', 'd6']);
  });

  it('isolation holds in IPv6: another network, --internal, no way in from outside', async () => {
    await sb.berth(['network', 'create', '--ipv6', '--subnet', 'fd00:2::/64', 'v6b']);
    await sb.berth(['run', '-d', '--name', 'b6', '--network', 'v6b', 'busybox', 'sleep', '100000']);
    const other = await sb.berth(['exec', 'b6', 'ping', '-6', '-c', '1', '-W', '1', 'fd00:1::2'], { allowFail: true });
    assert.notEqual(other.code, 0, 'a container on another network reaches nothing over IPv6');
    // --internal: no way out in IPv6 (the host's IPv6 address beyond the gateway, the outside).
    await sb.berth(['network', 'create', '--internal', '--ipv6', '--subnet', 'fd00:3::/64', 'v6int']);
    await sb.berth(['run', '-d', '--name', 'i6', '--network', 'v6int', 'busybox', 'sleep', '100000']);
    const out = await sb.berth(['exec', 'i6', 'ping', '-6', '-c', '1', '-W', '1', 'fd99::2'], { allowFail: true });
    assert.notEqual(out.code, 0, '--internal: the outside machine is out of reach');
    const peer = await sb.berth(['exec', 'i6', 'ping', '-6', '-c', '1', '-W', '1', 'fd00:1::2'], { allowFail: true });
    assert.notEqual(peer.code, 0);
    // A neighbour that routes the containers' subnet via the host reaches nothing directly.
    await sb.outside(`ip -6 route add fd00:1::/64 via ${HOST_ADDR6}`);
    assert.ok(await refused(`${CURL} http://[fd00:1::2]/`, 'outside'), 'no routed way in');
    await sb.outside('ip -6 route del fd00:1::/64');
    const nft = (await sb.sh('nft list table inet berth')).stdout;
    assert.match(nft, /iifname @bridges oifname @bridges drop/);
  });

  it('a published port of a dual-stack container is NATed in IPv6 (the relay only for [::1])', async () => {
    await sb.berth(['run', '-d', '--name', 'p6', '--network', 'v6a', '-p', '8095:80', ...webServer('p6')]);
    assert.equal((await sb.waitFor(`${CURL} http://[${HOST_ADDR6}]:8095/`, 'NAT over IPv6', 'outside')).stdout, 'p6\n');
    // The container sees the outside machine's own IPv6 address: NAT, not a relay.
    assert.match((await sb.outside(`${CURL} http://[${HOST_ADDR6}]:8095/cgi-bin/ip`)).stdout, /^\[?fd99::2\]?\n$/);
    assert.equal((await sb.sh(`${CURL} http://[::1]:8095/`)).stdout, 'p6\n');
    assert.equal((await sb.outside(`${CURL} http://${HOST_ADDR}:8095/`)).stdout, 'p6\n');
    assert.match((await sb.sh('nft list map inet berth pub_port6')).stdout, /tcp \. 8095 : fd00:1::[0-9a-f]+ \. 80/);
  });

  it('SCTP is published on [::] by IPv6 NAT for a dual-stack container; IPv4 only for one without IPv6', async () => {
    await sb.berth(['run', '-d', '--name', 's6', '--network', 'v6a', '-p', '9000:9000/sctp', 'host', '/usr/bin/python3', '-c', SCTP_LISTEN]);
    assert.equal((await sb.berth(['port', 's6'])).stdout, '9000/sctp -> 0.0.0.0:9000\n9000/sctp -> [::]:9000\n');
    assert.match((await sb.sh('nft list map inet berth pub_port6')).stdout, /sctp \. 9000 : fd00:1::[0-9a-f]+ \. 9000/);
    // A real SCTP INIT from the outside machine to the host's IPv6 address arrives in the
    // container (this kernel has no SCTP sockets: raw ones send and see it), from the outside's
    // own address: NATed, not relayed.
    let seen = '';
    for (let i = 0; i < 40 && !seen.includes('sctp'); i++) {
      await sb.outside(SCTP_INIT(HOST_ADDR6, 9000));
      seen = (await sb.berth(['logs', 's6'])).stdout;
    }
    assert.equal(seen, 'sctp from fd99::2 to port 9000\n');
    // Without an IPv6 address there is nothing to NAT to, and nothing can relay SCTP.
    await sb.berth(['run', '-d', '--name', 's4', '-p', '9001:9001/sctp', 'busybox', 'sleep', '100000']);
    assert.equal((await sb.berth(['port', 's4'])).stdout, '9001/sctp -> 0.0.0.0:9001\n');
    for (const spec of ['[::]:9002:9002/sctp', '[::1]:9003:9003/sctp']) {
      const r = await sb.berth(['run', '-d', '-p', spec, 'busybox', 'true'], { allowFail: true });
      assert.equal(r.code, 125, spec);
      assert.match(r.stderr, /SCTP reaches IPv6 addresses only by NAT, to a container with an IPv6 address/, spec);
    }
    await sb.berth(['rm', '-f', 's6', 's4']);
  });

  it('a restart of berthd keeps every IPv6 address, and the next address is a new one', async () => {
    await sb.killDaemon();
    await sb.startDaemon();
    assert.equal(await sb.inspect('r6', '{{range .NetworkSettings.Networks}}{{.GlobalIPv6Address}}{{end}}'), 'fd00:1::2');
    await sb.berth(['run', '-d', '--name', 'r8', '--network', 'v6a', 'busybox', 'sleep', '100000']);
    const taken = ['fd00:1::2', 'fd00:1::99'];
    const r8 = await sb.inspect('r8', '{{range .NetworkSettings.Networks}}{{.GlobalIPv6Address}}{{end}}');
    assert.ok(r8 && !taken.includes(r8), r8);
    assert.equal((await sb.berth(['exec', 'r8', 'ping', '-6', '-c', '1', '-W', '2', 'r6'])).code, 0);
    // Records, kernel and nft table agree, the IPv6 sets and maps of `inet berth` included.
    assert.deepEqual(await checkConsistency(sb), []);
  });

  it('macvlan accepts an IPv6 subnet: the outside machine reaches the container\'s own IPv6 address', async () => {
    await sb.berth(['network', 'create', '-d', 'macvlan', '--ipv6', '--subnet', '10.99.0.0/24', '--gateway', '10.99.0.2',
      '--ip-range', '10.99.0.128/25', '--subnet', 'fd99::/64', '--gateway', 'fd99::2', '--ip-range', 'fd99::100/120', '-o', 'parent=eth0', 'mv6']);
    await sb.berth(['run', '-d', '--name', 'm6', '--network', 'mv6', 'busybox', 'sleep', '100000']);
    assert.equal(await sb.inspect('m6', '{{range .NetworkSettings.Networks}}{{.GlobalIPv6Address}} {{.IPv6Gateway}}{{end}}'), 'fd99::100 fd99::2');
    const r = await sb.waitFor('busybox ping -6 -c 1 -W 1 fd99::100', 'the macvlan container over IPv6', 'outside');
    assert.equal(r.code, 0);
    assert.match((await sb.berth(['exec', 'm6', 'ip', '-6', 'route'])).stdout, /^default via fd99::2 dev eth0/m);
    // berth's overlay networks are IPv4 only: refused clearly (Docker's swarm check first, as here no swarm).
    const ov = await sb.berth(['network', 'create', '-d', 'overlay', '--ipv6', '--subnet', 'fd00:9::/64', 'ov6'], { allowFail: true });
    assert.notEqual(ov.code, 0);
  });

  it('--ports-from (IPv4 sources): no outside IPv6 source reaches a published port, the host still does', async () => {
    await sb.stopDaemon();
    await sb.startDaemon(['--ports-from', '10.99.0.0/24']);
    try {
      assert.equal((await sb.outside(`${CURL} http://${HOST_ADDR}:8080/`)).stdout, 'web\n', 'a listed IPv4 source');
      assert.ok(await refused(`${CURL} http://[${HOST_ADDR6}]:8080/`, 'outside'), 'the relay carries the host only');
      assert.ok(await refused(`${CURL} http://[${HOST_ADDR6}]:8095/`, 'outside'), 'IPv6 NAT: no outside source');
      assert.equal((await sb.sh(`${CURL} http://[::1]:8080/`)).stdout, 'web\n');
      assert.equal((await sb.sh(`${CURL} http://[::1]:8095/`)).stdout, 'p6\n');
    } finally {
      await sb.stopDaemon();
      await sb.startDaemon();
    }
    assert.equal((await sb.outside(`${CURL} http://[${HOST_ADDR6}]:8080/`)).stdout, 'web\n');
  });

  it('IPv6 leaves routed as it is; berthd --ip6-masquerade masquerades it (as Docker\'s ip6tables opt-in)', async () => {
    // The outside machine has no route back to fd00:1::/64: only a masqueraded ping comes back.
    const ping = async () => (await sb.berth(['exec', 'r6', 'ping', '-6', '-c', '1', '-W', '1', 'fd99::2'], { allowFail: true })).code;
    assert.notEqual(await ping(), 0, 'routed, not masqueraded: no way back');
    await sb.stopDaemon();
    await sb.startDaemon(['--ip6-masquerade']);
    try {
      assert.equal(await ping(), 0, 'masqueraded behind the host\'s IPv6 address');
      assert.match((await sb.sh('nft list set inet berth masq6')).stdout, /fd00:1::\/64/);
    } finally {
      await sb.stopDaemon();
      await sb.startDaemon();
    }
    assert.notEqual(await ping(), 0);
  });

  it('berthd --ipv6 --fixed-cidr-v6: the default bridge is dual-stack (dockerd\'s flags)', async () => {
    await sb.stopDaemon();
    await sb.startDaemon(['--ipv6', '--fixed-cidr-v6', 'fd00:17::/64']);
    try {
      assert.equal(await sb.inspect('bridge', '{{.EnableIPv6}} {{json .IPAM.Config}}', 'network'),
        'true [{"Subnet":"172.17.0.0/16","Gateway":"172.17.0.1"},{"Subnet":"fd00:17::/64","Gateway":"fd00:17::1"}]');
      await sb.berth(['run', '-d', '--name', 'db6', '-p', '8097:80', ...webServer('db6')]);
      assert.equal(await sb.inspect('db6', '{{.NetworkSettings.GlobalIPv6Address}}/{{.NetworkSettings.GlobalIPv6PrefixLen}} {{.NetworkSettings.IPv6Gateway}}'),
        'fd00:17::2/64 fd00:17::1');
      assert.match((await sb.sh(`ip -6 -o addr show dev berth0 scope global`)).stdout, /inet6 fd00:17::1\/64/);
      assert.equal((await sb.berth(['exec', 'db6', 'ping', '-6', '-c', '1', '-W', '2', 'fd00:17::1'])).code, 0);
      assert.equal((await sb.waitFor(`${CURL} http://[${HOST_ADDR6}]:8097/`, 'IPv6 NAT to the default bridge', 'outside')).stdout, 'db6\n');
      await sb.berth(['rm', '-f', 'db6']);
    } finally {
      await sb.stopDaemon();
      await sb.startDaemon();
    }
    assert.equal(await sb.inspect('bridge', '{{.EnableIPv6}}', 'network'), 'false');
    // Started without the flags: the old IPv6 gateway leaves the default bridge too.
    assert.equal((await sb.sh(`ip -6 -o addr show dev berth0 scope global`)).stdout, '');
  });

  it('removing containers closes their IPv6 side; nothing is left', async () => {
    await sb.berth(['rm', '-f', 'web', 'web2', 'lo6', 'u6', 'r6', 'r7', 'r8', 'b6', 'i6', 'p6', 'm6']);
    await sb.berth(['network', 'rm', 'v6a', 'v6b', 'v6int', 'mv6']);
    assert.ok(await refused(`${CURL} http://[::1]:8080/`));
    assert.ok(await refused(`${CURL} http://[::1]:8081/`));
    assert.equal((await sb.sh('ss -H -ltnu6 | wc -l')).stdout.trim(), '0', 'no IPv6 socket listens');
    assert.doesNotMatch((await sb.sh('nft list table inet berth')).stdout, /fd00:/);
  });
});
