// The pure parts of berth's hardening: the default seccomp profile, user profiles,
// --security-opt parsing, and the subnets no network may use.
import { describe, it } from 'node:test';
import { rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { securityOpt } from '../../src/cli/runopts';
import assert from 'node:assert/strict';
import { defaultSeccomp, profileFromJson } from '../../src/runtime/seccomp';
import { securityOpts } from '../../src/engine/hostconfig';
import { DEFAULT_CAPS, ociSpec } from '../../src/runtime/spec';
import { reservedSubnet } from '../../src/ipam/pools';
import { checkTls, groupId, parseListener } from '../../src/daemon/listen';
import { addScript, deleteScript, guardDiffScript, guardTableScript, guardedPort, parseGuardListing } from '../../src/engine/firewall/antispoof';
import type { EndpointSpec } from '../../src/engine/types';
import { allowsSpoofing } from '../../src/engine/drivers/bridge';

const blocked = (p: ReturnType<typeof defaultSeccomp>) => new Set(p.syscalls.filter((r) => !r.args).flatMap((r) => r.names));

describe('default seccomp profile', () => {
  it('allows by default and blocks the machine-wide calls with EPERM', () => {
    const p = defaultSeccomp(DEFAULT_CAPS, 'x64');
    assert.equal(p.defaultAction, 'SCMP_ACT_ALLOW');
    assert.deepEqual(p.architectures, ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32']);
    const b = blocked(p);
    for (const n of ['kexec_load', 'init_module', 'finit_module', 'keyctl', 'add_key', 'bpf', 'mount', 'umount2', 'swapon', 'reboot', 'clock_settime', 'perf_event_open', 'open_by_handle_at', 'clone3']) {
      assert.ok(b.has(n), n);
    }
    for (const n of ['read', 'socket', 'chroot', 'ptrace', 'unshare', 'clone']) assert.ok(!b.has(n), `${n} stays allowed (unshare/clone only without CLONE_NEWUSER)`);
    const userns = p.syscalls.find((r) => r.names.includes('unshare'))!;
    assert.deepEqual(userns.args, [{ index: 0, value: 0x10000000, valueTwo: 0x10000000, op: 'SCMP_CMP_MASKED_EQ' }]);
  });

  it('a granted capability unblocks its calls (--cap-add keeps its meaning), never the keyring or kexec', () => {
    const admin = blocked(defaultSeccomp([...DEFAULT_CAPS, 'CAP_SYS_ADMIN', 'CAP_SYS_TIME'], 'x64'));
    for (const n of ['mount', 'bpf', 'clock_settime']) assert.ok(!admin.has(n), n);
    for (const n of ['keyctl', 'kexec_load', 'init_module']) assert.ok(admin.has(n), n);
    assert.ok(!defaultSeccomp([...DEFAULT_CAPS, 'CAP_SYS_ADMIN'], 'x64').syscalls.some((r) => r.names.includes('unshare')));
  });

  it('ociSpec applies it unless the container asked otherwise', () => {
    const base = { id: 'x', args: ['true'], env: [], cwd: '/', user: { uid: 0, gid: 0, additionalGids: [] }, hostname: 'h', tty: false,
      netnsPath: null, shareHostUts: false, etc: { hosts: '/h', resolvConf: '/r', hostname: '/n' } };
    assert.equal(ociSpec(base).linux.seccomp.defaultAction, 'SCMP_ACT_ALLOW');
    const off = ociSpec({ ...base, extras: { mounts: [], capabilities: DEFAULT_CAPS, sysctls: {}, seccomp: null, noNewPrivileges: true } });
    assert.equal(off.linux.seccomp, undefined);
    assert.equal(off.process.noNewPrivileges, true);
  });
});

describe('user seccomp profiles (Docker\'s JSON format)', () => {
  it('keeps rules whose includes/excludes match, and checks actions and ops', () => {
    const p = profileFromJson(JSON.stringify({
      defaultAction: 'SCMP_ACT_ERRNO', defaultErrnoRet: 1,
      archMap: [{ architecture: 'SCMP_ARCH_X86_64', subArchitectures: ['SCMP_ARCH_X86'] }],
      syscalls: [
        { names: ['read', 'write'], action: 'SCMP_ACT_ALLOW' },
        { names: ['mount'], action: 'SCMP_ACT_ALLOW', includes: { caps: ['CAP_SYS_ADMIN'] } },
        { names: ['personality'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 8, op: 'SCMP_CMP_EQ' }] },
      ],
    }), DEFAULT_CAPS, 'x64');
    assert.deepEqual(p.architectures, ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86']);
    assert.equal(p.defaultErrnoRet, 1);
    assert.deepEqual(p.syscalls.map((r) => r.names[0]), ['read', 'personality']);
    assert.throws(() => profileFromJson('{"defaultAction":"NOPE"}', DEFAULT_CAPS), /defaultAction: unknown action "NOPE"/);
    assert.throws(() => profileFromJson('not json', DEFAULT_CAPS), /decoding seccomp profile failed/);
    assert.throws(() => profileFromJson('{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["x"],"action":"SCMP_ACT_ERRNO","args":[{"index":0}]}]}', DEFAULT_CAPS), /needs index, value and a known op/);
  });
});

describe('--security-opt', () => {
  const no = { apparmor: false };
  it('parses dockerd\'s keys', () => {
    assert.equal(securityOpts(['seccomp=unconfined'], DEFAULT_CAPS, no).seccomp, null);
    assert.equal(securityOpts(['no-new-privileges'], DEFAULT_CAPS, no).noNewPrivileges, true);
    assert.equal(securityOpts(['no-new-privileges:false'], DEFAULT_CAPS, no).noNewPrivileges, false);
    assert.equal(securityOpts(null, DEFAULT_CAPS, no).seccomp?.defaultAction, 'SCMP_ACT_ALLOW');
    assert.equal(securityOpts(['apparmor=myprof'], DEFAULT_CAPS, { apparmor: true }).apparmorProfile, 'myprof');
    assert.equal(securityOpts(['apparmor=unconfined'], DEFAULT_CAPS, no).apparmorProfile, null);
  });
  it('refuses what it cannot honour', () => {
    assert.throws(() => securityOpts(['apparmor=myprof'], DEFAULT_CAPS, no), /AppArmor is not enabled/);
    assert.throws(() => securityOpts(['bogus'], DEFAULT_CAPS, no), /invalid --security-opt 1: "bogus"/);
    assert.throws(() => securityOpts(['x=y'], DEFAULT_CAPS, no), /invalid --security-opt 2: "x=y"/);
    assert.throws(() => securityOpts(['label=disable'], DEFAULT_CAPS, no), /SELinux/);
    assert.throws(() => securityOpts('seccomp=unconfined', DEFAULT_CAPS, no), /must be a list/);
  });
});

describe('reserved subnets', () => {
  it('refuses loopback, multicast and 0.0.0.0/8, and anything overlapping them', () => {
    assert.match(reservedSubnet('127.0.0.0/8')!, /loopback/);
    assert.match(reservedSubnet('224.0.0.0/24')!, /multicast/);
    assert.match(reservedSubnet('0.0.0.0/16')!, /this network/);
    assert.match(reservedSubnet('64.0.0.0/2')!, /loopback/);
    assert.equal(reservedSubnet('172.17.0.0/16'), null);
    assert.equal(reservedSubnet('10.0.0.0/8'), null);
  });
});

describe('berthd listeners (-H) and TLS', () => {
  it('parses unix and tcp listeners', () => {
    assert.deepEqual(parseListener('unix:///run/x.sock'), { kind: 'unix', path: '/run/x.sock' });
    assert.deepEqual(parseListener('/run/x.sock'), { kind: 'unix', path: '/run/x.sock' });
    assert.deepEqual(parseListener('tcp://0.0.0.0:2376'), { kind: 'tcp', host: '0.0.0.0', port: 2376 });
    assert.deepEqual(parseListener('tcp://:2377'), { kind: 'tcp', host: '0.0.0.0', port: 2377 });
    assert.deepEqual(parseListener('tcp://[::1]:2376'), { kind: 'tcp', host: '::1', port: 2376 });
    assert.throws(() => parseListener('fd://'), /berthd listens on unix:\/\/\/path\.sock or tcp:\/\/ADDRESS:PORT/);
    assert.throws(() => parseListener('tcp://1.2.3.4:99999'), /port must be 1-65535/);
  });
  it('refuses tcp without complete client verification', () => {
    const tcp = [parseListener('tcp://0.0.0.0:2375')];
    assert.throws(() => checkTls(tcp, { tlsverify: false }), /refusing to listen on tcp:\/\/0\.0\.0\.0:2375 without TLS client verification/);
    assert.throws(() => checkTls(tcp, { tlsverify: true, tlscacert: 'ca' }), /needs --tlscert, --tlskey/);
    assert.deepEqual(checkTls(tcp, { tlsverify: true, tlscacert: 'ca', tlscert: 'c', tlskey: 'k' }), { ca: 'ca', cert: 'c', key: 'k' });
    assert.equal(checkTls([parseListener('/x.sock')], { tlsverify: false }), null);
    assert.throws(() => checkTls([parseListener('/x.sock')], { tlsverify: true }), /apply to a tcp:\/\/ listener/);
  });
  it('looks groups up by name or number', () => {
    assert.equal(groupId('berth', 'root:x:0:\nberth:x:998:alice\n'), 998);
    assert.equal(groupId('4321', ''), 4321);
    assert.equal(groupId('nope', 'root:x:0:\n'), null);
  });
});

describe('anti-spoofing table', () => {
  const p = [{ port: 'vethabc', mac: '02:42:AC:11:00:02', ip: '172.17.0.2', ip6: ['fe80::42:acff:fe11:2'] }];
  it('is one fixed set of rules; endpoints are elements keyed by their veth', () => {
    const whole = guardTableScript(p);
    assert.match(whole, /^add table bridge berth_guard\ndelete table bridge berth_guard\ntable bridge berth_guard \{/);
    assert.match(whole, /elements = \{ "vethabc" \. 02:42:ac:11:00:02 \}/);
    assert.match(whole, /ether type arp iifname \. arp saddr ip != @port_ip drop/);
    assert.equal(guardTableScript([]).match(/drop/g)?.length, guardTableScript(p).match(/drop/g)?.length);
    assert.match(addScript(p), /add element bridge berth_guard ports \{ "vethabc" \}\n$/, 'the port is guarded last, once its addresses are in');
    assert.match(deleteScript(p), /^delete element bridge berth_guard ports/);
    assert.equal(addScript([]), '');
  });
  it('pins IPv6: own addresses (the network\'s, the MAC\'s link-local) or ::, neighbour discovery about itself only', () => {
    const ep = { hostIfname: 'vethd', mac: '02:42:AC:12:00:05', address: '172.18.0.5', address6: 'fd00:1:0::0005' } as EndpointSpec;
    const g = guardedPort(ep);
    assert.deepEqual(g, { port: 'vethd', mac: '02:42:ac:12:00:05', ip: '172.18.0.5', ip6: ['fd00:1::5', 'fe80::42:acff:fe12:5'] });
    assert.deepEqual(guardedPort({ ...ep, address6: undefined }).ip6, ['fe80::42:acff:fe12:5'], 'IPv4-only: link-local only');
    const whole = guardTableScript([g]);
    assert.match(whole, /set port_ip6 \{\n    type ifname \. ipv6_addr;\n    elements = \{ "vethd" \. fd00:1::5, "vethd" \. fe80::42:acff:fe12:5 \}/);
    // nft 1.0.6 has no ND fields: the target and the link-layer option are raw bits, the sets hold integers
    assert.match(whole, /set nd_target \{\n    typeof iifname \. @th,64,128;\n    elements = \{ "vethd" \. 0xfd000001000000000000000000000005, "vethd" \. 0xfe800000000000000042acfffe120005 \}/);
    assert.match(whole, /set nd_lladdr \{\n    typeof iifname \. @th,208,48;\n    elements = \{ "vethd" \. 0x0242ac120005 \}/);
    const chain = (name: string) => new RegExp(`chain ${name} \\{\\n([\\s\\S]*?)\\n  \\}`).exec(whole)![1].trim().split('\n').map((l) => l.trim());
    assert.equal(chain('check').at(-1), 'ether type ip6 jump check6');
    assert.deepEqual(chain('check6'), [
      'ip6 saddr != :: iifname . ip6 saddr != @port_ip6 drop',
      'ip6 saddr :: meta l4proto != ipv6-icmp drop',
      'ip6 saddr :: icmpv6 type != { nd-neighbor-solicit, nd-router-solicit, mld-listener-report, mld2-listener-report } drop',
      'icmpv6 type { nd-router-advert, nd-redirect } drop',
      'icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert } jump nd',
    ]);
    assert.deepEqual(chain('nd'), [
      'ip6 nexthdr != ipv6-icmp drop',
      'icmpv6 type nd-neighbor-advert iifname . @th,64,128 != @nd_target drop',
      'ip6 saddr :: iifname . @th,64,128 != @nd_target drop',
      'ip6 length 24 return',
      'ip6 length 32 @th,192,16 0x0e01 return',
      'ip6 length 32 @th,192,16 { 0x0101, 0x0201 } iifname . @th,208,48 @nd_lladdr return',
      'drop',
    ]);
    const add = addScript([g]).trim().split('\n').map((l) => l.split(' ')[4]);
    assert.deepEqual(add, ['nd_lladdr', 'nd_target', 'port_ip6', 'port_ip', 'port_mac', 'ports'], 'addresses first, the port last');
    assert.deepEqual(deleteScript([g]).trim().split('\n').map((l) => l.split(' ')[4]), [...add].reverse());
  });
  it('the opt-out is a network option', () => {
    assert.equal(allowsSpoofing({ 'com.berth.network.allow_spoofing': 'true' }), true);
    assert.equal(allowsSpoofing({ 'com.berth.network.allow_spoofing': 'false' }), false);
    assert.equal(allowsSpoofing(null), false);
  });
});

describe('anti-spoofing table at a daemon start', () => {
  const listing = `table bridge berth_guard {
	set ports {
		type ifname
		elements = { "vetha",
			     "vethb" }
	}

	set port_mac {
		type ifname . ether_addr
		elements = { "vetha" . 02:42:ac:11:00:02,
			     "vethb" . 02:42:ac:11:00:03 }
	}

	set port_ip {
		type ifname . ipv4_addr
		elements = { "vetha" . 172.17.0.2, "vethb" . 172.17.0.3 }
	}
}
`;
  it('reads the kernel\'s listing and changes only the elements that differ', () => {
    const live = parseGuardListing(listing)!;
    assert.deepEqual([...live.elements.ports], ['"vetha"', '"vethb"']);
    assert.equal(guardDiffScript(live.elements, live.elements), '', 'a plain restart changes nothing');
    const want = {
      ports: new Set(['"vetha"']), port_mac: new Set(['"vetha" . 02:42:ac:11:00:02']), port_ip: new Set(['"vetha" . 172.17.0.2']),
      port_ip6: new Set<string>(), nd_target: new Set<string>(), nd_lladdr: new Set<string>(),
    };
    assert.equal(guardDiffScript(live.elements, want),
      'delete element bridge berth_guard ports { "vethb" }\ndelete element bridge berth_guard port_mac { "vethb" . 02:42:ac:11:00:03 }\ndelete element bridge berth_guard port_ip { "vethb" . 172.17.0.3 }\n');
    assert.equal(parseGuardListing(''), null);
  });
});

describe('berth CLI --security-opt', () => {
  it('sends a seccomp profile file\'s JSON, compacted, as docker\'s CLI does', () => {
    const f = path.join(os.tmpdir(), `berth-seccomp-${process.pid}.json`);
    writeFileSync(f, '{\n  "defaultAction": "SCMP_ACT_ALLOW"\n}\n');
    try {
      assert.equal(securityOpt(`seccomp=${f}`), 'seccomp={"defaultAction":"SCMP_ACT_ALLOW"}');
    } finally { rmSync(f, { force: true }); }
    assert.equal(securityOpt('seccomp=unconfined'), 'seccomp=unconfined');
    assert.equal(securityOpt('no-new-privileges'), 'no-new-privileges');
    assert.throws(() => securityOpt('seccomp=/nonexistent/p.json'), /opening seccomp profile \(\/nonexistent\/p\.json\) failed/);
  });
});
