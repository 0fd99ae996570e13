// A fake upstream DNS server for tests, run inside a test namespace (never the machine's
// resolvers). `node fakedns.js ADDR MODE LOGFILE`:
//   MODE answer     A queries for names under .test: ANSWER_IP (or the address given as
//                   MODE=answer:IP); other names: NXDOMAIN; "big.*" over UDP: an empty truncated answer
//                   (TC), over TCP: 40 A records
//   MODE blackhole  logs queries and never answers (a dead upstream)
// Every query is logged to LOGFILE as "<udp|tcp> <name> <type>".
import * as dgram from 'node:dgram';
import * as net from 'node:net';
import { appendFileSync } from 'node:fs';
import * as packet from 'dns-packet';

const ANSWER_IP = '198.51.100.7';

const [addr, mode = 'answer', logFile = '/dev/null'] = process.argv.slice(2);
const answerIp = mode.startsWith('answer:') ? mode.slice('answer:'.length) : ANSWER_IP;

const answerBytes = Buffer.from(answerIp.split('.').map(Number));

/** The common case, fast (the DNS benchmark's upstream): an A query under .test over UDP. */
function quick(msg: Buffer): Buffer | null {
  if (logFile !== '/dev/null' || mode === 'blackhole' || msg.length < 17 || msg.readUInt16BE(4) !== 1) return null;
  let i = 12;
  const labels: string[] = [];
  while (i < msg.length && msg[i] !== 0) { labels.push(msg.toString('latin1', i + 1, i + 1 + msg[i])); i += 1 + msg[i]; }
  const qend = i + 5;
  if (qend > msg.length || labels.at(-1) !== 'test' || labels[0] === 'big' || msg.readUInt16BE(qend - 4) !== 1) return null;
  const rr = Buffer.from([0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, ...answerBytes]);
  const out = Buffer.concat([msg.subarray(0, qend), rr]);
  out.writeUInt16BE(0x8180, 2);
  out.writeUInt16BE(1, 6);
  out.writeUInt32BE(0, 8);
  return out;
}

function respond(msg: Buffer, transport: 'udp' | 'tcp'): Buffer | null {
  if (transport === 'udp') { const fast = quick(msg); if (fast) return fast; }
  let q: packet.Packet;
  try { q = packet.decode(msg); } catch { return null; }
  const question = q.questions?.[0];
  if (!question) return null;
  if (logFile !== '/dev/null') appendFileSync(logFile, `${transport} ${question.name} ${question.type}\n`);
  if (mode === 'blackhole') return null;
  const base = { type: 'response' as const, id: q.id, questions: [question] };
  const flags = packet.RECURSION_AVAILABLE | packet.RECURSION_DESIRED;
  if (!question.name.endsWith('.test')) return packet.encode({ ...base, flags: flags | 3, answers: [] });
  if (question.type !== 'A') return packet.encode({ ...base, flags, answers: [] });
  if (question.name.startsWith('big.')) {
    if (transport === 'udp') return packet.encode({ ...base, flags: flags | packet.TRUNCATED_RESPONSE, answers: [] });
    const answers = Array.from({ length: 40 }, (_, i) => ({ type: 'A' as const, name: question.name, ttl: 60, data: `198.51.100.${i + 1}` }));
    return packet.encode({ ...base, flags, answers });
  }
  return packet.encode({ ...base, flags, answers: [{ type: 'A', name: question.name, ttl: 60, data: answerIp }] });
}

const udp = dgram.createSocket(addr.includes(':') ? 'udp6' : 'udp4');
udp.on('message', (msg, r) => { const a = respond(msg, 'udp'); if (a) udp.send(a, r.port, r.address); });
udp.bind(53, addr);
net.createServer((sock) => {
  let buf = Buffer.alloc(0);
  sock.on('error', () => undefined);
  sock.on('data', (d) => {
    buf = Buffer.concat([buf, d]);
    while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
      const msg = buf.subarray(2, 2 + buf.readUInt16BE(0));
      buf = buf.subarray(2 + msg.length);
      const a = respond(msg, 'tcp');
      if (a) { const h = Buffer.alloc(2); h.writeUInt16BE(a.length); sock.write(Buffer.concat([h, a])); }
    }
  });
}).listen(53, addr);
