// /etc/hosts, /etc/hostname, /etc/resolv.conf contents. Expected texts were read inside
// containers of the reference Docker 20.10 (`docker run ... cat /etc/hosts` etc.).
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { ApiError } from '../../src/util/errors';
import {
  filterHostResolvConf, hostnameFile, hostsFile, nameservers, parseExtraHost, resolvConf,
  resolvOptions, searchDomains, upstreams,
} from '../../src/engine/etcfiles';

const HEAD = '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\n' +
  'ff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n';

function err400(fn: () => unknown, message: string) {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof ApiError);
    assert.equal(e.message, message);
    assert.equal(e.status, 400);
    return true;
  });
}

test('hosts: defaults, --add-host, own address', () => {
  // docker run --network pt --add-host a:1.2.3.4 --add-host b.example:10.0.0.1 -h myhost
  assert.equal(hostsFile({ hostname: 'myhost', addresses: ['172.26.0.4'], extraHosts: ['a:1.2.3.4', 'b.example:10.0.0.1'] }),
    HEAD + '1.2.3.4\ta\n10.0.0.1\tb.example\n172.26.0.4\tmyhost\n');
  assert.equal(hostsFile({ hostname: '3c2969e821df', addresses: ['172.26.0.4'], extraHosts: [] }),
    HEAD + '172.26.0.4\t3c2969e821df\n');
  // --network none: no address line
  assert.equal(hostsFile({ hostname: 'x', addresses: [], extraHosts: ['q:1.1.1.1'] }), HEAD + '1.1.1.1\tq\n');
  // connected to two networks: one line each
  assert.equal(hostsFile({ hostname: 'd9217e3980f0', addresses: ['172.26.0.4', '172.27.0.2'], extraHosts: [] }),
    HEAD + '172.26.0.4\td9217e3980f0\n172.27.0.2\td9217e3980f0\n');
  // IPv6 add-host splits at the first colon; names are not checked
  assert.equal(hostsFile({ hostname: 'h', addresses: [], extraHosts: ['a:::1', 'a b:1.2.3.4'] }), HEAD + '::1\ta\n1.2.3.4\ta b\n');
});

test('hosts: hostname and domain name', () => {
  const own = (o: { hostname: string; domainname?: string }) =>
    hostsFile({ ...o, addresses: ['172.26.0.4'], extraHosts: [] }).split('\n').slice(-2, -1)[0];
  assert.equal(own({ hostname: 'myhost', domainname: 'example.com' }), '172.26.0.4\tmyhost.example.com myhost');
  assert.equal(own({ hostname: 'a.b.c' }), '172.26.0.4\ta.b.c a');
  assert.equal(own({ hostname: 'a.b.c', domainname: 'x.com' }), '172.26.0.4\ta.b.c.x.com a');
  assert.equal(own({ hostname: 'c0681b3a06b1', domainname: 'x.com' }), '172.26.0.4\tc0681b3a06b1.x.com c0681b3a06b1');
  assert.equal(own({ hostname: 'plain', domainname: '' }), '172.26.0.4\tplain');
});

test('hosts: host-gateway and links', () => {
  assert.equal(hostsFile({ hostname: 'h', addresses: [], extraHosts: ['gw:host-gateway'], hostGateway: '172.17.0.1' }),
    HEAD + '172.17.0.1\tgw\n');
  err400(() => hostsFile({ hostname: 'h', addresses: [], extraHosts: ['gw:host-gateway'] }), 'unable to derive the IP value for host-gateway');
  assert.equal(hostsFile({
    hostname: 'h', addresses: ['172.17.0.3'], extraHosts: ['x:1.1.1.1'],
    links: [{ name: 'db', alias: 'webdb', ip: '172.17.0.2', hostname: '8fa2a1c5c3f2' }, { name: 'cache', alias: 'cache', ip: '172.17.0.4' }],
  }), HEAD + '1.1.1.1\tx\n172.17.0.2\twebdb 8fa2a1c5c3f2 db\n172.17.0.4\tcache\n172.17.0.3\th\n');
});

test('--add-host validation with the CLI messages', () => {
  assert.deepEqual(parseExtraHost('a:1.2.3.4'), ['a', '1.2.3.4']);
  assert.deepEqual(parseExtraHost('a:::1'), ['a', '::1']);
  assert.deepEqual(parseExtraHost('gw:host-gateway'), ['gw', 'host-gateway']);
  err400(() => parseExtraHost('a:abc'), 'invalid IP address in add-host: "abc"');
  err400(() => parseExtraHost('a:1.2.3.4:5'), 'invalid IP address in add-host: "1.2.3.4:5"');
  err400(() => parseExtraHost('a:'), 'invalid IP address in add-host: ""');
  err400(() => parseExtraHost('abc'), 'bad format for add-host: "abc"');
  err400(() => parseExtraHost(':1.2.3.4'), 'bad format for add-host: ":1.2.3.4"');
  err400(() => hostsFile({ hostname: 'h', addresses: [], extraHosts: ['abc'] }), 'bad format for add-host: "abc"');
});

test('hostname file', () => {
  assert.equal(hostnameFile('a.b.c'), 'a.b.c\n');
  assert.equal(hostnameFile('3c2969e821df'), '3c2969e821df\n');
});

const none = { dns: [], dnsSearch: [], dnsOptions: [], embedded: false };
const emb = { ...none, embedded: true };

test('resolv.conf readers', () => {
  const conf = '# generated\nsearch a.com b.com\nnameserver 10.0.0.1 # office\nnameserver fe80::1\nsearch c.com\noptions edns0 rotate\n';
  assert.deepEqual(nameservers(conf), ['10.0.0.1', 'fe80::1']);
  assert.deepEqual(searchDomains(conf), ['c.com']);
  assert.deepEqual(resolvOptions(conf), ['edns0', 'rotate']);
  assert.deepEqual(nameservers(''), []);
});

test('resolv.conf on the default bridge: the host file without loopback servers', () => {
  assert.equal(resolvConf('nameserver 10.255.255.53\n', none), 'nameserver 10.255.255.53\n');
  assert.equal(resolvConf('# hi\nnameserver 127.0.0.53\noptions edns0 trust-ad\nsearch lan\n', none),
    '# hi\noptions edns0 trust-ad\nsearch lan\n\nnameserver 8.8.8.8\nnameserver 8.8.4.4\n');
  assert.equal(resolvConf('nameserver 127.0.0.1\nnameserver 10.0.0.2\nnameserver ::1\nnameserver 2001:db8::1\n', none),
    'nameserver 10.0.0.2\n');
  assert.equal(filterHostResolvConf(''), '\nnameserver 8.8.8.8\nnameserver 8.8.4.4\n');
  // 127.x only as a whole address at the start of the value
  assert.equal(filterHostResolvConf('nameserver 10.127.0.1\n'), 'nameserver 10.127.0.1\n');
});

test('resolv.conf with --dns, --dns-search, --dns-option', () => {
  const host = 'search lan\nnameserver 10.0.0.1\noptions edns0\n';
  assert.equal(resolvConf(host, { ...none, dns: ['1.1.1.1', '9.9.9.9'] }), 'search lan\nnameserver 1.1.1.1\nnameserver 9.9.9.9\noptions edns0\n');
  assert.equal(resolvConf(host, { ...none, dnsSearch: ['x.com', 'y.com'] }), 'search x.com y.com\nnameserver 10.0.0.1\noptions edns0\n');
  assert.equal(resolvConf(host, { ...none, dnsOptions: ['ndots:2', 'timeout:3'] }), 'search lan\nnameserver 10.0.0.1\noptions ndots:2 timeout:3\n');
  assert.equal(resolvConf(host, { ...none, dnsSearch: ['.'] }), 'nameserver 10.0.0.1\noptions edns0\n');
});

test('resolv.conf with the embedded resolver (user-defined networks)', () => {
  assert.equal(resolvConf('nameserver 10.255.255.53\n', emb), 'nameserver 127.0.0.11\noptions ndots:0\n');
  assert.equal(resolvConf('nameserver 10.255.255.53\n', { ...emb, dns: ['1.1.1.1'], dnsSearch: ['x.com'], dnsOptions: ['ndots:2', 'timeout:3'] }),
    'search x.com\nnameserver 127.0.0.11\noptions ndots:2 timeout:3\n');
  assert.equal(resolvConf('nameserver 10.255.255.53\n', { ...emb, dnsSearch: ['x.com'] }),
    'search x.com\nnameserver 127.0.0.11\noptions ndots:0\n');
  assert.equal(resolvConf('search lan\nnameserver 127.0.0.53\noptions edns0 trust-ad\n', emb),
    'search lan\nnameserver 127.0.0.11\noptions edns0 trust-ad ndots:0\n');
  assert.equal(resolvConf('nameserver 10.0.0.1\n', { ...emb, dnsOptions: ['ndots:0'] }), 'nameserver 127.0.0.11\noptions ndots:0\n');
  // The host's own ndots gives way to ndots:0.
  assert.equal(resolvConf('nameserver 10.0.0.1\nsearch lan\noptions ndots:2 rotate\n', emb), 'search lan\nnameserver 127.0.0.11\noptions rotate ndots:0\n');
  err400(() => resolvConf('', { ...emb, dnsOptions: ['ndots'] }), 'invalid ndots option ndots');
  err400(() => resolvConf('', { ...emb, dnsOptions: ['ndots:x'] }), 'invalid number for ndots option: x');
  err400(() => resolvConf('', { ...emb, dnsOptions: ['ndots:-1'] }), 'invalid number for ndots option: -1');
});

test('upstreams of the embedded resolver', () => {
  assert.deepEqual(upstreams('nameserver 10.255.255.53\n', []), ['10.255.255.53']);
  assert.deepEqual(upstreams('nameserver 127.0.0.53\n', []), ['8.8.8.8', '8.8.4.4']);
  // IPv6 servers too (forwarded from the host), in RFC 5952 form; never loopback or link-local
  assert.deepEqual(upstreams('nameserver 127.0.0.53\nnameserver 10.0.0.1\nnameserver 2001:DB8:0::1\nnameserver ::1\nnameserver fe80::1%eth0\n', []),
    ['10.0.0.1', '2001:db8::1']);
  assert.deepEqual(upstreams('nameserver 10.0.0.1\n', ['1.1.1.1', '2001:db8::2', '10.9.0.1']), ['1.1.1.1', '10.9.0.1', '2001:db8::2']);
  assert.deepEqual(upstreams('nameserver 127.0.0.53\nnameserver 2001:db8::53\n', []), ['2001:db8::53'], 'IPv6 servers only: no fallback');
});
