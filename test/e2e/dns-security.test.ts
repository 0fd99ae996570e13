// The embedded resolver from the attacker's side (issue 14 items 3 and 4).
//
// Item 3 (Docker's CVE-2024-29018): a container whose networks are all --internal must not
// get its names resolved by upstreams, since berth-dns asks them from berthd's namespace: that
// would be a channel out of a network that has none. Its own network's names still answer;
// a container on an internal network and a network with a way out forwards as before, and the
// rule follows connect and disconnect. The fake upstream logs every query it receives: it must
// receive none from the internal ones.
//
// Item 4 (Kaminsky): a fake upstream on the outside machine answers late while it plays the
// spoofer too: it floods forged answers with every one of the 65536 ids to the port the
// previous query came from (what an attacker who once learned the port would do), and sends
// forged answers with the right id and port from another address, from another port, and for
// another question. The container must get only the true answer every time; an upstream that
// echoes the question in another case is still believed.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { OUTSIDE_ADDR, Sandbox, shq } from '../harness/sandbox';
import { DNS_CLIENT as DNSQ } from '../harness/dnsclient';

const skip = Sandbox.skipReason();
const UPSTREAM = '10.99.0.5';      // the fake upstream and spoofer, on the outside machine
const ALT = '10.99.0.6';           // another address of the spoofer's
const TRUE_IP = '198.51.100.7';
const FORGED_IP = '6.6.6.6';

/**
 * The fake upstream: `node -e SPOOFER ADDR ALT LOGFILE`. Logs "<name> <type> <port>" per query
 * received (duplicates too: berth asks again after 300 ms without an answer). Answers TRUE_IP
 * for any name, once per query id; names starting with:
 *   warm     answered at once; its source port is remembered
 *   brute    first 65536 forged answers (every id) to the remembered port, then the true one
 *   wrongsrc forged answers with the right id and port from ALT:53 and from ADDR:5353, then the true one
 *   wrongq   forged answers with the right id, port and address for another name, type, class
 *   mixed    the true answer with the question's name in upper case
 */
const SPOOFER = `
const dgram = require('dgram'), fs = require('fs');
const [addr, alt, log] = process.argv.slice(1);
const TRUE_IP = [198, 51, 100, 7], FORGED = [6, 6, 6, 6];
const bind = (a, p) => new Promise((r) => { const s = dgram.createSocket('udp4'); s.bind(p, a, () => r(s)); });
function question(msg) {
  let i = 12; const labels = [];
  while (msg[i] !== 0) { labels.push(msg.toString('latin1', i + 1, i + 1 + msg[i])); i += 1 + msg[i]; }
  return { name: labels.join('.').toLowerCase(), bytes: msg.subarray(12, i + 5), type: msg.readUInt16BE(i + 1) };
}
function reply(id, qbytes, ip) {
  const h = Buffer.alloc(12); h.writeUInt16BE(id, 0); h.writeUInt16BE(0x8180, 2); h.writeUInt16BE(1, 4); h.writeUInt16BE(1, 6);
  return Buffer.concat([h, qbytes, Buffer.from([0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, ...ip])]);
}
const encodeName = (n) => Buffer.concat([...n.split('.').map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)])), Buffer.from([0])]);
const otherQuestion = (name, type, klass) => { const t = Buffer.alloc(4); t.writeUInt16BE(type, 0); t.writeUInt16BE(klass, 2); return Buffer.concat([encodeName(name), t]); };
(async () => {
  const main = await bind(addr, 53), altSock = await bind(alt, 53), port5353 = await bind(addr, 5353);
  let lastPort = 0; const seen = new Set();
  main.on('message', async (msg, r) => {
    const q = question(msg), id = msg.readUInt16BE(0);
    fs.appendFileSync(log, q.name + ' ' + q.type + ' ' + r.port + '\\n');
    if (seen.has(id + ':' + r.port)) return;
    seen.add(id + ':' + r.port);
    const truth = () => main.send(reply(id, q.bytes, TRUE_IP), r.port, r.address);
    const kind = q.name.split('.')[0].replace(/\\d+$/, '');
    if (kind === 'warm') { lastPort = r.port; return truth(); }
    if (kind === 'mixed') {
      const upper = Buffer.from(q.bytes); for (let i = 0; i < upper.length - 4; i++) if (upper[i] >= 0x61 && upper[i] <= 0x7a) upper[i] -= 0x20;
      return main.send(reply(id, upper, TRUE_IP), r.port, r.address);
    }
    if (kind === 'brute') {
      for (let base = 0; base < 65536; base += 1024) {
        for (let g = base; g < base + 1024; g++) main.send(reply(g, q.bytes, FORGED), lastPort, r.address);
        await new Promise((res) => setImmediate(res));
      }
      fs.appendFileSync(log, 'flooded ' + lastPort + '\\n');
    } else if (kind === 'wrongsrc') {
      altSock.send(reply(id, q.bytes, FORGED), r.port, r.address);
      port5353.send(reply(id, q.bytes, FORGED), r.port, r.address);
    } else if (kind === 'wrongq') {
      main.send(reply(id, otherQuestion('evil.test', 1, 1), FORGED), r.port, r.address);
      main.send(reply(id, otherQuestion(q.name, 28, 1), FORGED), r.port, r.address);
      main.send(reply(id, otherQuestion(q.name, 1, 3), FORGED), r.port, r.address);
    }
    // The forgeries go first; the true answer comes late.
    setTimeout(truth, 100);
  });
})();
`;

describe('embedded DNS under attack', { skip }, () => {
  let sb: Sandbox;
  let log = '';
  // ("rcode=N ip ip …": the truncation flag is not what these tests look at)
  const dnsq = async (c: string, name: string) => (await sb.berth(['exec', c, 'python3', '-c', DNSQ, name])).stdout.trim().replace(/ tc=\d/, '');
  const pyOn = (name: string, ...flags: string[]) => sb.berth(['run', '-d', '--name', name, ...flags, '--dns', UPSTREAM, 'host', 'sleep', '100000']);
  /** The names the upstream received queries for. */
  const received = async () => (await sb.outside(`cat ${shq(log)}`)).stdout.split('\n').filter(Boolean).map((l) => l.split(' ')[0]);

  before(async () => {
    sb = await Sandbox.start();
    log = path.join(sb.top, 'upstream.log');
    await sb.outside(`ip addr add ${UPSTREAM}/24 dev eth0; ip addr add ${ALT}/24 dev eth0; : > ${shq(log)}`);
    await sb.outside(`${shq(process.execPath)} -e ${shq(SPOOFER)} ${UPSTREAM} ${ALT} ${shq(log)} >/dev/null 2>&1 &`);
    await sb.waitFor(`ss -unl | grep -q '${ALT}:53 '`, 'the fake upstream', 'outside');
    await sb.berth(['network', 'create', 'pub']);
    await sb.berth(['network', 'create', '--internal', 'intnet']);
  });
  after(async () => { await sb?.cleanup(); });

  it('an --internal network answers its own names and asks no upstream anything', async () => {
    await pyOn('iso', '--network', 'intnet');
    await pyOn('peer', '--network', 'intnet');
    const peer = await sb.inspect('peer', '{{(index .NetworkSettings.Networks "intnet").IPAddress}}');
    assert.equal(await dnsq('iso', 'peer'), `rcode=0 ${peer}`, 'its network\'s names answer');
    assert.equal(await dnsq('iso', 'leak1.exfil.test'), 'rcode=2', 'anything else: SERVFAIL, as Docker answers');
    assert.equal(await dnsq('iso', 'peer.exfil.test'), 'rcode=2');
    assert.deepEqual(await received(), [], 'the upstream saw no query at all');
  });

  it('internal plus a network with a way out forwards; the rule follows connect and disconnect', async () => {
    await pyOn('both', '--network', 'intnet');
    await sb.berth(['network', 'connect', 'pub', 'both']);
    assert.equal(await dnsq('both', 'ok1.test'), `rcode=0 ${TRUE_IP}`);
    assert.equal(await dnsq('both', 'peer'), `rcode=0 ${await sb.inspect('peer', '{{(index .NetworkSettings.Networks "intnet").IPAddress}}')}`);
    await sb.berth(['network', 'disconnect', 'pub', 'both']);
    assert.equal(await dnsq('both', 'leak2.exfil.test'), 'rcode=2');
    await sb.berth(['network', 'connect', 'pub', 'iso']);
    assert.equal(await dnsq('iso', 'ok2.test'), `rcode=0 ${TRUE_IP}`, 'connected to a way out, it forwards');
    assert.deepEqual(await received(), ['ok1.test', 'ok2.test'], 'only the queries of containers with a way out');
  });

  it('an internal overlay network is the same', async () => {
    await sb.berth(['swarm', 'init', '--advertise-addr', '10.99.0.1']);
    await sb.berth(['network', 'create', '-d', 'overlay', '--internal', '--attachable', 'ovint']);
    await pyOn('ov1', '--network', 'ovint');
    await pyOn('ov2', '--network', 'ovint');
    const ov2 = await sb.inspect('ov2', '{{(index .NetworkSettings.Networks "ovint").IPAddress}}');
    assert.equal(await dnsq('ov1', 'ov2'), `rcode=0 ${ov2}`);
    assert.equal(await dnsq('ov1', 'leak3.exfil.test'), 'rcode=2');
    assert.deepEqual((await received()).filter((n) => n.includes('exfil')), []);
  });

  it('a flood of every id at the port the last query came from: only the true answer counts', async () => {
    await pyOn('victim', '--network', 'pub');
    // The spoofer learns the port the previous query left from, then floods every id at it.
    for (const n of [1, 2]) {
      assert.equal(await dnsq('victim', `warm${n}.test`), `rcode=0 ${TRUE_IP}`);
      assert.equal(await dnsq('victim', `brute${n}.bank.test`), `rcode=0 ${TRUE_IP}`);
    }
    const seen = (await sb.outside(`cat ${shq(log)}`)).stdout;
    assert.equal(seen.match(/^flooded \d+$/gm)?.length, 2, `the floods were sent: ${seen}`);
  });

  it('the right id and port from another address or another port: dropped', async () => {
    assert.equal(await dnsq('victim', 'wrongsrc.bank.test'), `rcode=0 ${TRUE_IP}`);
  });

  it('the right id, port and server for another name, type or class: dropped', async () => {
    assert.equal(await dnsq('victim', 'wrongq.bank.test'), `rcode=0 ${TRUE_IP}`);
  });

  it('an upstream that echoes the name in another case is believed (RFC 4343)', async () => {
    assert.equal(await dnsq('victim', 'mixed.bank.test'), `rcode=0 ${TRUE_IP}`);
  });

  it('every forwarded query leaves from a new random port', async () => {
    for (let i = 0; i < 8; i++) assert.equal(await dnsq('victim', `p${i}.test`), `rcode=0 ${TRUE_IP}`);
    const lines = (await sb.outside(`cat ${shq(log)}`)).stdout.split('\n').filter((l) => /^p\d\.test /.test(l));
    const ports = new Set(lines.map((l) => l.split(' ')[2]));
    // Each query's port is the kernel's random pick among ~28000, so two of eight may meet by
    // chance (one time in a thousand); one port for all, or a few, is what this catches.
    assert.equal(lines.length, 8);
    assert.ok(ports.size >= 7, `a new port per query: ${lines.join('; ')}`);
  });
});
