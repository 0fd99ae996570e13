// Attacker-side tests of berth's hardening (issue 14): what a container may not do to the
// machine (capabilities, berth's default seccomp profile, no-new-privileges), and that the
// legitimate path and the opt-outs (--security-opt seccomp=unconfined, a user's profile) still
// work. Each was observed to fail against a berthd built from main before the hardening.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { HOST_ADDR6, Sandbox } from '../harness/sandbox';
import { api, message } from '../harness/api';

const skip = Sandbox.skipReason();

/** Python in the `host` image: prints the errno name of a failed step, or "ok". */
const py = (code: string) => ['python3', '-c', code];
const RAW_SOCKET = 'import socket\ntry:\n socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP); print("ok")\nexcept OSError as e: print(__import__("errno").errorcode[e.errno])';
// keyctl(KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, create=1): the kernel keyring is not namespaced.
const KEYCTL = 'import ctypes, errno\nlibc = ctypes.CDLL(None, use_errno=True)\nr = libc.syscall(250, 0, -3, 1)\nprint("ok" if r >= 0 else errno.errorcode[ctypes.get_errno()])';

describe('container hardening: capabilities, seccomp, no-new-privileges', { skip }, () => {
  let sb: Sandbox;
  const run = (args: string[], allowFail = false) => sb.berth(['run', '--rm', ...args], { allowFail });

  before(async () => { sb = await Sandbox.start(); });
  after(async () => { await sb?.cleanup(); });

  it('--cap-drop NET_RAW: the container cannot open a raw socket (it can by default)', async () => {
    assert.equal((await run(['host', ...py(RAW_SOCKET)])).stdout.trim(), 'ok');
    assert.equal((await run(['--cap-drop', 'NET_RAW', 'host', ...py(RAW_SOCKET)])).stdout.trim(), 'EPERM');
  });

  it('the default seccomp profile refuses new user namespaces and the kernel keyring; seccomp=unconfined allows them', async () => {
    const userns = await run(['host', 'unshare', '-U', 'true'], true);
    assert.notEqual(userns.code, 0, 'unshare -U must fail in a container');
    assert.match(userns.stderr, /Operation not permitted/);
    assert.equal((await run(['host', ...py(KEYCTL)])).stdout.trim(), 'EPERM');
    assert.equal((await run(['--security-opt', 'seccomp=unconfined', 'host', 'unshare', '-U', 'true'])).code, 0);
    assert.equal((await run(['--security-opt', 'seccomp=unconfined', 'host', ...py(KEYCTL)])).stdout.trim(), 'ok');
    assert.match((await run(['host', 'grep', '^Seccomp:', '/proc/self/status'])).stdout, /Seccomp:\s+2/, 'filter mode');
  });

  it('--security-opt seccomp=PROFILE.json applies the user\'s profile', async () => {
    const profile = `${sb.top}/no-mkdir.json`;
    await sb.sh(`cat > ${profile} <<'J'
{ "defaultAction": "SCMP_ACT_ALLOW", "syscalls": [ { "names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1 } ] }
J`);
    const r = await run(['--security-opt', `seccomp=${profile}`, 'host', 'mkdir', '/tmp/x'], true);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /Operation not permitted/);
    assert.equal((await run(['host', 'mkdir', '/tmp/x'])).code, 0, 'without it mkdir works');
    const bad = await api(sb, 'POST', '/containers/create', { Image: 'host', HostConfig: { SecurityOpt: ['seccomp={"defaultAction": "SCMP_ACT_NOPE"}'] } });
    assert.equal(bad.status, 400);
    assert.match(message(bad), /seccomp profile: defaultAction: unknown action "SCMP_ACT_NOPE"/);
  });

  it('--security-opt no-new-privileges sets the process\'s no_new_privs', async () => {
    const nnp = (...flags: string[]) => run([...flags, 'host', 'grep', '^NoNewPrivs:', '/proc/self/status']).then((r) => r.stdout.trim());
    assert.match(await nnp(), /NoNewPrivs:\s+0/);
    assert.match(await nnp('--security-opt', 'no-new-privileges'), /NoNewPrivs:\s+1/);
    assert.match(await nnp('--security-opt', 'no-new-privileges=true'), /NoNewPrivs:\s+1/);
  });

  it('security options berth cannot honour are refused, never ignored', async () => {
    const refused = async (opt: string, re: RegExp) => {
      const r = await api(sb, 'POST', '/containers/create', { Image: 'host', HostConfig: { SecurityOpt: [opt] } });
      assert.equal(r.status, 400, opt);
      assert.match(message(r), re);
    };
    await refused('bogus', /invalid --security-opt 1: "bogus"/);
    await refused('bogus=1', /invalid --security-opt 2: "bogus=1"/);
    await refused('no-new-privileges=maybe', /invalid --security-opt 2/);
    if (!existsSync('/sys/module/apparmor')) await refused('apparmor=docker-default', /AppArmor is not enabled/);
    await refused('label=type:svirt_t', /SELinux labels are not supported/);
    const cli = await sb.berth(['create', '--security-opt', `seccomp=${sb.top}/missing.json`, 'host', 'true'], { allowFail: true });
    assert.notEqual(cli.code, 0);
    assert.match(cli.stderr, /opening seccomp profile \(.*missing\.json\) failed/);
  });
});

describe('networks cannot take over host interfaces or reserved addresses', { skip }, () => {
  let sb: Sandbox;
  before(async () => { sb = await Sandbox.start(); });
  after(async () => { await sb?.cleanup(); });

  it('-o com.docker.network.bridge.name=IFACE is refused for an existing non-bridge interface (a NIC stand-in, lo)', async () => {
    await sb.sh('ip link add nic0 type veth peer name nic0p && ip addr add 10.77.0.1/24 dev nic0 && ip link set nic0 up');
    for (const iface of ['nic0', 'lo']) {
      const r = await sb.berth(['network', 'create', '-o', `com.docker.network.bridge.name=${iface}`, `takeover-${iface}`], { allowFail: true });
      assert.notEqual(r.code, 0, iface);
      assert.match(r.stderr, new RegExp(`existing interface ${iface} is not a bridge`));
    }
    // Both untouched: the NIC keeps its address and nothing of the refused networks is left.
    assert.match((await sb.sh('ip -4 -o addr show dev nic0')).stdout, /10\.77\.0\.1\/24/);
    assert.match((await sb.sh('ip -o link show lo')).stdout, /^1: lo: <LOOPBACK,UP/);
    assert.doesNotMatch((await sb.berth(['network', 'ls'])).stdout, /takeover/);
    // An existing bridge still serves, as with Docker.
    await sb.sh('ip link add mybr0 type bridge');
    await sb.berth(['network', 'create', '-o', 'com.docker.network.bridge.name=mybr0', 'onmybr']);
    await sb.berth(['network', 'rm', 'onmybr']);
  });

  it('subnets in 127.0.0.0/8, 224.0.0.0/4 and 0.0.0.0/8 are refused clearly', async () => {
    for (const [subnet, what] of [['127.0.0.0/8', 'loopback'], ['127.5.0.0/16', 'loopback'], ['224.1.0.0/16', 'multicast'], ['0.0.0.0/8', '"this network"']]) {
      const r = await sb.berth(['network', 'create', '--subnet', subnet, `bad-${subnet.split('.')[0]}`], { allowFail: true });
      assert.notEqual(r.code, 0, subnet);
      assert.ok(r.stderr.includes(`invalid subnet ${subnet}: it overlaps the ${what}`), `${subnet}: ${r.stderr}`);
    }
    assert.doesNotMatch((await sb.berth(['network', 'ls'])).stdout, /bad-/);
    await sb.berth(['network', 'create', '--subnet', '10.123.0.0/16', 'fine']);
  });
});

describe('the API: socket group and mode; TCP only with TLS client verification', { skip }, () => {
  let sb: Sandbox;
  before(async () => { sb = await Sandbox.start(); });
  after(async () => { await sb?.cleanup(); });

  it('the unix socket is mode 0660, owned by root and the --group', async () => {
    assert.equal((await sb.sh(`stat -c '%a %u' ${sb.socket}`)).stdout.trim(), '660 0');
    await sb.restartDaemon(['-G', '4321']);
    assert.equal((await sb.sh(`stat -c '%a %u:%g' ${sb.socket}`)).stdout.trim(), '660 0:4321');
    await sb.stopDaemon();
    await assert.rejects(sb.startDaemon(['-G', 'no-such-group-berth']), /group no-such-group-berth not found/);
  });

  it('-H tcp:// without --tlsverify is refused: berthd does not start', async () => {
    if (sb.daemonRunning) await sb.stopDaemon();
    await assert.rejects(sb.startDaemon(['-H', 'tcp://0.0.0.0:2375']),
      /refusing to listen on tcp:\/\/0\.0\.0\.0:2375 without TLS client verification/);
    await assert.rejects(sb.startDaemon(['-H', 'tcp://0.0.0.0:2376', '--tlsverify']), /needs --tlscacert, --tlscert, --tlskey/);
    assert.notEqual((await sb.outside('timeout 5 nc -z 10.99.0.1 2375 && echo open', { allowFail: true })).stdout, 'open\n');
  });

  it('with --tlsverify only clients with a certificate from the CA get in (docker --tlsverify works)', async () => {
    const d = `${sb.top}/tls`;
    const cert = (name: string, ca: string, ext = '') => [
      `openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj /CN=${name} -keyout ${d}/${name}-key.pem -out ${d}/${name}.csr`,
      `openssl x509 -req -in ${d}/${name}.csr -CA ${d}/${ca}.pem -CAkey ${d}/${ca}-key.pem -CAcreateserial -days 2 ${ext} -out ${d}/${name}.pem`,
    ].join(' && ');
    await sb.sh([
      `mkdir -p ${d}`,
      `openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj /CN=test-ca -keyout ${d}/ca-key.pem -out ${d}/ca.pem`,
      `openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj /CN=rogue-ca -keyout ${d}/rogue-ca-key.pem -out ${d}/rogue-ca.pem`,
      `printf 'subjectAltName=IP:10.99.0.1\\nextendedKeyUsage=serverAuth\\n' > ${d}/server.ext`,
      `printf 'extendedKeyUsage=clientAuth\\n' > ${d}/client.ext`,
      cert('server', 'ca', `-extfile ${d}/server.ext`),
      cert('client', 'ca', `-extfile ${d}/client.ext`),
      cert('rogue', 'rogue-ca', `-extfile ${d}/client.ext`),
    ].join(' && ') + ' 2>&1');
    if (sb.daemonRunning) await sb.stopDaemon();
    await sb.startDaemon(['-H', 'tcp://0.0.0.0:2376', '--tlsverify', '--tlscacert', `${d}/ca.pem`, '--tlscert', `${d}/server.pem`, '--tlskey', `${d}/server-key.pem`]);
    const docker = (certName: string, args: string) => sb.outside(
      `HOME=${d} DOCKER_CONFIG=${d}/dc timeout 20 docker -H tcp://10.99.0.1:2376 --tlsverify --tlscacert ${d}/ca.pem ` +
      `--tlscert ${d}/${certName}.pem --tlskey ${d}/${certName}-key.pem ${args}`, { allowFail: true });
    const ok = await docker('client', 'run --rm host echo hello-over-tls');
    assert.equal(ok.stdout, 'hello-over-tls\n', `exit ${ok.code}: ${ok.stderr}`);
    const rogue = await docker('rogue', 'version --format {{.Server.Version}}');
    assert.notEqual(rogue.code, 0, 'a certificate from another CA is refused');
    assert.doesNotMatch(rogue.stdout, /\d+\.\d+/);
    // No client certificate at all, and plain HTTP: no answer from the API either way.
    const nocert = await sb.outside(`timeout 10 curl -sS --cacert ${d}/ca.pem https://10.99.0.1:2376/_ping`, { allowFail: true });
    assert.notEqual(nocert.code, 0);
    assert.notEqual(nocert.stdout, 'OK');
    const plain = await sb.outside('timeout 10 curl -sS http://10.99.0.1:2376/_ping', { allowFail: true });
    assert.notEqual(plain.stdout, 'OK');
    // The unix socket still serves.
    assert.match((await sb.berth(['version', '--format', '{{.Server.Version}}'])).stdout, /\d/);
  });
});

/**
 * Sends Ethernet frames from eth0 (AF_PACKET, so NET_RAW is all it needs): ["udp", dmac, smac,
 * sip, dip, text], ["arp", dmac, smac, op, sha, spa, tha, tpa], ["udp6", dmac, smac, sip, dip,
 * text], or a neighbour advertisement (override flag, target link-layer option) or solicitation
 * (source link-layer option): ["na" | "ns", dmac, smac, sip, dip, target, lladdr].
 */
const SEND_FRAMES = `
import socket, struct, sys, json
def csum(b):
    s = sum(struct.unpack('!%dH' % (len(b) // 2), b)); s = (s >> 16) + (s & 0xffff); s += s >> 16; return (~s) & 0xffff
mac = lambda m: bytes.fromhex(m.replace(':', ''))
ip = socket.inet_aton
def udp(dmac, smac, sip, dip, text):
    u = struct.pack('!HHHH', 40000, 9999, 8 + len(text), 0) + text.encode()
    h = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + len(u), 1, 0, 64, 17, 0, ip(sip), ip(dip))
    return mac(dmac) + mac(smac) + b'\\x08\\x00' + h[:10] + struct.pack('!H', csum(h)) + h[12:] + u
def arp(dmac, smac, op, sha, spa, tha, tpa):
    return mac(dmac) + mac(smac) + b'\\x08\\x06' + struct.pack('!HHBBH6s4s6s4s', 1, 0x0800, 6, 4, op, mac(sha), ip(spa), mac(tha), ip(tpa))
ip6 = lambda a: socket.inet_pton(socket.AF_INET6, a)
def sum6(sip, dip, nh, p):
    b = ip6(sip) + ip6(dip) + struct.pack('!IxxxB', len(p), nh) + p
    return csum(b + b'\\0' * (len(b) % 2))
def v6(dmac, smac, sip, dip, nh, p, hops):
    return mac(dmac) + mac(smac) + b'\\x86\\xdd' + struct.pack('!IHBB', 0x60000000, len(p), nh, hops) + ip6(sip) + ip6(dip) + p
def udp6(dmac, smac, sip, dip, text):
    u = struct.pack('!HHHH', 40000, 9999, 8 + len(text), 0) + text.encode()
    u = u[:6] + struct.pack('!H', sum6(sip, dip, 17, u) or 0xffff) + u[8:]
    return v6(dmac, smac, sip, dip, 17, u, 64)
def nd(kind, dmac, smac, sip, dip, target, ll):
    na = kind == 'na'
    m = struct.pack('!BBHI', 136 if na else 135, 0, 0, 0x20000000 if na else 0) + ip6(target) + struct.pack('!BB', 2 if na else 1, 1) + mac(ll)
    m = m[:2] + struct.pack('!H', sum6(sip, dip, 58, m)) + m[4:]
    return v6(dmac, smac, sip, dip, 58, m, 255)
make = {'udp': udp, 'arp': arp, 'udp6': udp6, 'na': lambda *a: nd('na', *a), 'ns': lambda *a: nd('ns', *a)}
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW); s.bind(('eth0', 0))
for f in json.loads(sys.argv[1]):
    s.send(make[f[0]](*f[1:]))
print('sent')
`;
const RECEIVER = "import socket\ns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(('0.0.0.0', 9999)); print('ready', flush=True)\nwhile True:\n d, a = s.recvfrom(100); print(d.decode(), a[0], flush=True)";
/** The same on IPv6 (bound to [::]:9999: its own addresses and multicast groups). */
const RECEIVER6 = "import socket\ns = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM); s.bind(('::', 9999)); print('ready', flush=True)\nwhile True:\n d, a = s.recvfrom(100); print(d.decode(), a[0], flush=True)";
const BCAST = 'ff:ff:ff:ff:ff:ff';
/** All IPv6 nodes on the link, and its Ethernet address. */
const ALL_NODES = 'ff02::1';
const ALL_NODES_MAC = '33:33:00:00:00:01';
const ZERO = '00:00:00:00:00:00';

describe('anti-spoofing on bridge networks: a container sends only as itself', { skip }, () => {
  let sb: Sandbox;
  before(async () => { sb = await Sandbox.start(); });
  after(async () => { await sb?.cleanup(); });

  interface Ep { ip: string; mac: string }
  const ep = async (name: string, net: string): Promise<Ep> => {
    const [ip, mac] = (await sb.inspect(name, `{{(index .NetworkSettings.Networks "${net}").IPAddress}} {{(index .NetworkSettings.Networks "${net}").MacAddress}}`)).split(' ');
    return { ip, mac };
  };
  const logs = async (name: string) => (await sb.berth(['logs', name])).stdout;
  const until = async (what: string, f: () => Promise<boolean>) => {
    for (let i = 0; i < 200; i++) { if (await f()) return; await new Promise((r) => setTimeout(r, 100)); }
    assert.fail(`never: ${what}`);
  };

  /** On network `net`: attacker A, victim V (a UDP receiver), neighbour N; A forges frames, then sends legitimate ones. */
  async function attack(net: string, gw: string) {
    await sb.berth(['run', '-d', '--name', `v-${net}`, '--network', net, 'host', 'python3', '-u', '-c', RECEIVER]);
    await sb.berth(['run', '-d', '--name', `n-${net}`, '--network', net, 'host', 'sleep', '1000']);
    await sb.berth(['run', '-d', '--name', `a-${net}`, '--network', net, 'host', 'sleep', '1000']);
    await until('the receiver is ready', async () => (await logs(`v-${net}`)).includes('ready'));
    const [a, v, n] = [await ep(`a-${net}`, net), await ep(`v-${net}`, net), await ep(`n-${net}`, net)];
    const frames = [
      ['udp', v.mac, a.mac, n.ip, v.ip, 'spoofed-ip'],           // a neighbour's source address
      ['udp', v.mac, n.mac, a.ip, v.ip, 'spoofed-mac'],          // a neighbour's source MAC
      ['arp', BCAST, a.mac, 1, a.mac, gw, ZERO, v.ip],           // "the gateway is at A" to the victim
      ['arp', BCAST, a.mac, 1, a.mac, n.ip, ZERO, gw],           // "N is at A" to the host
      ['udp', v.mac, a.mac, a.ip, v.ip, 'legit'],                // then the same, honestly
      ['arp', BCAST, a.mac, 1, a.mac, a.ip, ZERO, v.ip],
      ['arp', BCAST, a.mac, 1, a.mac, a.ip, ZERO, gw],
    ];
    assert.equal((await sb.berth(['exec', `a-${net}`, 'python3', '-c', SEND_FRAMES, JSON.stringify(frames)])).stdout, 'sent\n');
    // The honest frames went last on the same path: once they are in, so is anything before them.
    await until('the legitimate datagram arrives', async () => (await logs(`v-${net}`)).includes(`legit ${a.ip}`));
    await until('the victim learns A', async () => (await sb.berth(['exec', `v-${net}`, 'ip', 'neigh', 'show', a.ip])).stdout.includes(a.mac));
    await until('the host learns A', async () => (await sb.sh(`ip neigh show ${a.ip}`)).stdout.includes(a.mac));
    return {
      a, received: await logs(`v-${net}`),
      victimGw: (await sb.berth(['exec', `v-${net}`, 'ip', 'neigh', 'show', gw])).stdout,
      hostN: (await sb.sh(`ip neigh show ${n.ip}`)).stdout,
    };
  }

  it('forged source addresses, source MACs and ARP are dropped; honest traffic is delivered', async () => {
    await sb.berth(['network', 'create', '--subnet', '10.60.0.0/24', 'guarded']);
    const r = await attack('guarded', '10.60.0.1');
    assert.doesNotMatch(r.received, /spoofed-ip/, 'a packet with a neighbour\'s source address is not delivered');
    assert.doesNotMatch(r.received, /spoofed-mac/, 'a frame with a neighbour\'s MAC is not delivered');
    assert.ok(!r.victimGw.includes(r.a.mac), `the victim's ARP entry for the gateway is not A's: ${r.victimGw}`);
    assert.ok(!r.hostN.includes(r.a.mac), `the host's ARP entry for N is not A's: ${r.hostN}`);
    // Ordinary traffic: a neighbour by name, the gateway, and out through it.
    assert.equal((await sb.berth(['exec', 'n-guarded', 'busybox', 'ping', '-c1', '-W2', '10.60.0.1'])).code, 0);
    assert.match((await sb.berth(['exec', 'a-guarded', 'sh', '-c', `python3 -c "import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.sendto(b'by-socket', ('${(await ep('v-guarded', 'guarded')).ip}', 9999))"`])).stderr, /^$/);
    await until('a plain socket\'s datagram arrives', async () => (await logs('v-guarded')).includes('by-socket'));
  });

  it('the guard follows endpoints: connect, disconnect, stop, and a berthd killed and restarted', async () => {
    const ports = async () => (await sb.sh('nft list set bridge berth_guard ports')).stdout;
    const countOf = async () => ((await ports()).match(/"veth[0-9a-f]+"/g) ?? []).length;
    const before = await countOf();
    await sb.berth(['run', '-d', '--name', 'mover', 'host', 'sleep', '1000']);
    assert.equal(await countOf(), before + 1);
    await sb.berth(['network', 'connect', 'guarded', 'mover']);
    assert.equal(await countOf(), before + 2);
    await sb.berth(['network', 'disconnect', 'guarded', 'mover']);
    assert.equal(await countOf(), before + 1);
    await sb.killDaemon();
    await sb.startDaemon();
    assert.equal(await countOf(), before + 1, 'the same elements after a crash and restart');
    await sb.berth(['stop', '-t', '0', 'mover']);
    assert.equal(await countOf(), before);
  });

  it('-o com.berth.network.allow_spoofing=true turns it off for that network (a container that routes)', async () => {
    await sb.berth(['network', 'create', '--subnet', '10.61.0.0/24', '-o', 'com.berth.network.allow_spoofing=true', 'open']);
    const r = await attack('open', '10.61.0.1');
    assert.match(r.received, /spoofed-ip/);
    const bad = await sb.berth(['network', 'create', '-o', 'com.berth.network.allow_spoofing=maybe', 'nope'], { allowFail: true });
    assert.match(bad.stderr, /failed to parse com\.berth\.network\.allow_spoofing value: maybe/);
  });

  // ---- IPv6: addresses and neighbour discovery ----

  /** The link-local address the kernel would give this MAC (EUI-64: ff:fe in the middle, the U/L bit flipped). */
  const linkLocal = (mac: string) => {
    const b = mac.split(':').map((x) => parseInt(x, 16));
    const words = [((b[0] ^ 2) << 8) | b[1], (b[2] << 8) | 0xff, 0xfe00 | b[3], (b[4] << 8) | b[5]];
    return `fe80::${words.map((w) => w.toString(16)).join(':')}`;
  };
  interface Ep6 { ip6: string; mac: string; ll: string }
  const ep6 = async (name: string, net: string): Promise<Ep6> => {
    const [ip6, mac] = (await sb.inspect(name, `{{(index .NetworkSettings.Networks "${net}").GlobalIPv6Address}}|{{(index .NetworkSettings.Networks "${net}").MacAddress}}`)).split('|');
    return { ip6, mac, ll: linkLocal(mac) };
  };
  const neigh = async (where: string, addr: string) =>
    (where === 'host' ? await sb.sh(`ip -6 neigh show ${addr}`) : await sb.berth(['exec', where, 'ip', '-6', 'neigh', 'show', addr])).stdout;

  /**
   * On dual-stack network `net`: attacker A, victim V (a UDP receiver on [::]), neighbour N. The
   * neighbour entries worth poisoning are made first (V's for the gateway and for A, the
   * host's for N); A forges datagrams and neighbour advertisements, then sends honest ones.
   */
  async function attack6(net: string, gw6: string) {
    const [a, v, n] = [`a6-${net}`, `v6-${net}`, `n6-${net}`];
    await sb.berth(['run', '-d', '--name', v, '--network', net, 'host', 'python3', '-u', '-c', RECEIVER6]);
    await sb.berth(['run', '-d', '--name', n, '--network', net, 'host', 'sleep', '1000']);
    await sb.berth(['run', '-d', '--name', a, '--network', net, 'host', 'sleep', '1000']);
    await until('the receiver is ready', async () => (await logs(v)).includes('ready'));
    const [ea, ev, en] = [await ep6(a, net), await ep6(v, net), await ep6(n, net)];
    // (an honest neighbour advertisement of A's passes: V learns A by solicitation and A's answer;
    // no honest one follows the forged ones, which would undo what they did to V's entry for A)
    await sb.berth(['exec', v, 'busybox', 'ping', '-6', '-c1', '-W2', gw6]);
    await sb.berth(['exec', v, 'busybox', 'ping', '-6', '-c1', '-W2', ea.ip6]);
    await sb.sh(`busybox ping -6 -c1 -W2 ${en.ip6}`);
    const frames = [
      ['udp6', ev.mac, ea.mac, en.ip6, ev.ip6, 'spoofed-ip6'],            // a neighbour's address
      ['udp6', ev.mac, ea.mac, 'fe80::bad', ev.ip6, 'spoofed-ll'],        // a link-local address not its own
      ['na', ev.mac, ea.mac, ea.ip6, ev.ip6, gw6, ea.mac],                // "the gateway is at A" to the victim
      ['na', ALL_NODES_MAC, ea.mac, ea.ip6, ALL_NODES, en.ip6, ea.mac],   // "N is at A" to all (the host)
      ['na', ev.mac, ea.mac, ea.ip6, ev.ip6, ea.ip6, en.mac],             // "A is at N's MAC" to the victim,
      ['ns', ev.mac, ea.mac, ea.ip6, ev.ip6, ev.ip6, en.mac],             // and A asking for V from N's MAC
      ['udp6', ev.mac, ea.mac, ea.ip6, ev.ip6, 'legit6'],                 // then honestly: its address,
      ['udp6', ev.mac, ea.mac, ea.ll, ev.ip6, 'legit-ll'],                // its MAC's link-local address
    ];
    assert.equal((await sb.berth(['exec', a, 'python3', '-c', SEND_FRAMES, JSON.stringify(frames)])).stdout, 'sent\n');
    // The honest frames went last on the same path: once they are in, so is anything before them.
    await until('the honest datagrams arrive', async () => /legit6[\s\S]*legit-ll/.test(await logs(v)));
    return {
      a: ea, n: en, received: await logs(v),
      victimGw: await neigh(v, gw6), victimA: await neigh(v, ea.ip6), hostN: await neigh('host', en.ip6),
    };
  }

  it('IPv6: forged source addresses and neighbour advertisements are dropped; ping6 by name and published ports work', async () => {
    await sb.berth(['network', 'create', '--ipv6', '--subnet', '10.62.0.0/24', '--subnet', 'fd00:62::/64', 'guarded6']);
    const r = await attack6('guarded6', 'fd00:62::1');
    assert.doesNotMatch(r.received, /spoofed-ip6/, 'a datagram from a neighbour\'s IPv6 address is not delivered');
    assert.doesNotMatch(r.received, /spoofed-ll/, 'a datagram from a link-local address not its own is not delivered');
    assert.match(r.received, new RegExp(`legit-ll ${r.a.ll}`), 'its own link-local address is');
    assert.ok(!r.victimGw.includes(r.a.mac), `the victim's entry for the gateway is not A's: ${r.victimGw}`);
    assert.ok(!r.hostN.includes(r.a.mac), `the host's entry for N is not A's: ${r.hostN}`);
    assert.ok(!r.victimA.includes(r.n.mac), `the victim's entry for A is not N's MAC: ${r.victimA}`);
    // berth gives the container no link-local address (addrgenmode none): the EUI-64 one is what it could have.
    assert.equal((await sb.berth(['exec', 'a6-guarded6', 'ip', '-6', 'addr', 'show', 'dev', 'eth0', 'scope', 'link'])).stdout, '');
    // Ordinary IPv6: a neighbour by name, the gateway, a published port from the outside machine.
    assert.equal((await sb.berth(['exec', 'n6-guarded6', 'busybox', 'ping', '-6', '-c1', '-W2', 'v6-guarded6'])).code, 0);
    assert.equal((await sb.berth(['exec', 'a6-guarded6', 'busybox', 'ping', '-6', '-c1', '-W2', 'fd00:62::1'])).code, 0);
    await sb.berth(['run', '-d', '--name', 'web6', '--network', 'guarded6', '-p', '8096:80', 'host', 'sh', '-c',
      'mkdir -p /www && echo web6 > /www/index.html && exec busybox httpd -f -p 80 -h /www']);
    assert.equal((await sb.waitFor(`curl -s --max-time 5 http://[${HOST_ADDR6}]:8096/`, 'the published port over IPv6', 'outside')).stdout, 'web6\n');
    assert.equal((await sb.outside('curl -s --max-time 5 -o /dev/null -w "%{http_code}" http://[fd99::1]:8096/')).stdout, '200');
  });

  it('IPv6: a container without an IPv6 address may send link-local IPv6 only', async () => {
    await sb.berth(['network', 'create', '--subnet', '10.63.0.0/24', 'v4only']);
    await sb.berth(['run', '-d', '--name', 'v6-v4only', '--network', 'v4only', 'host', 'python3', '-u', '-c', RECEIVER6]);
    await sb.berth(['run', '-d', '--name', 'a6-v4only', '--network', 'v4only', 'host', 'sleep', '1000']);
    await until('the receiver is ready', async () => (await logs('v6-v4only')).includes('ready'));
    const a = await ep6('a6-v4only', 'v4only');
    const frames = [
      ['udp6', ALL_NODES_MAC, a.mac, 'fd00:63::5', ALL_NODES, 'spoofed-global'],
      ['udp6', ALL_NODES_MAC, a.mac, a.ll, ALL_NODES, 'legit-ll'],
    ];
    assert.equal((await sb.berth(['exec', 'a6-v4only', 'python3', '-c', SEND_FRAMES, JSON.stringify(frames)])).stdout, 'sent\n');
    await until('the link-local datagram arrives', async () => (await logs('v6-v4only')).includes('legit-ll'));
    assert.doesNotMatch(await logs('v6-v4only'), /spoofed-global/);
  });

  it('IPv6: allow_spoofing=true lifts the guard (the same forged frames get through)', async () => {
    await sb.berth(['network', 'create', '--ipv6', '--subnet', '10.64.0.0/24', '--subnet', 'fd00:64::/64',
      '-o', 'com.berth.network.allow_spoofing=true', 'open6']);
    const r = await attack6('open6', 'fd00:64::1');
    assert.match(r.received, /spoofed-ip6/);
    assert.ok(r.victimGw.includes(r.a.mac), `the forged advertisement poisons the victim's entry for the gateway: ${r.victimGw}`);
    assert.ok(r.hostN.includes(r.a.mac), `and the host's for N: ${r.hostN}`);
    assert.ok(r.victimA.includes(r.n.mac), `and the victim's for A: ${r.victimA}`);
  });
});
