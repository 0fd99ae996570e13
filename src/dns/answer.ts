// What the embedded resolver answers to one query message: from the name table, or by handing
// the query on (SERVFAIL if nobody answers). This is the hot path, so a local answer is built
// straight from the query's own bytes (header + the question as asked + records pointing back
// at it), with dns-packet parsing the question and encoding names; anything else is relayed
// byte for byte.
import * as packet from 'dns-packet';
import type { DnsContainer, NameTable } from './records';
import { ptrToIp } from './records';
import { parseIPv6 } from '../ipam/subnet6';

/** dns-packet's name codec (exported by the package, missing from its type definitions). */
const names = (packet as unknown as { name: {
  decode: ((buf: Buffer, offset: number) => string) & { bytes: number };
  encode: (name: string) => Buffer;
} }).name;

const TTL = 600;
const MAX_UDP = 512;
const QR = 0x8000, RD = 0x0100, RA = 0x0080, TC = 0x0200;
const SERVFAIL = 2;
const TYPE_A = 1, TYPE_PTR = 12, TYPE_AAAA = 28, TYPE_OPT = 41, CLASS_IN = 1;

/** What a Forward returns to say "stay silent" (the asker is over its budget: it will retry). */
export const DROP = Symbol('drop');
type Forward = (query: Buffer) => Promise<Buffer | null | typeof DROP>;

/** No query with one question is longer (12 + 259 + an OPT record with a few options). */
export const MAX_QUERY = 1232;

/**
 * Local answers already built, per asker, keyed by the query's bytes after its ID (flags,
 * counts, question, EDNS: everything the answer depends on). A repeated question, the common
 * case by far, then costs one map lookup and one copy instead of a parse and an encode. The
 * resolver makes a new cache with each new name table, so nothing stale is ever served.
 */
export class AnswerCache {
  private readonly byAsker = new WeakMap<DnsContainer, Map<string, Buffer>>();
  private static readonly MAX_PER_ASKER = 4096;

  /** The cached answer to `msg` with `msg`'s ID, or undefined. */
  get(asker: DnsContainer, msg: Buffer): Buffer | undefined {
    const body = this.byAsker.get(asker)?.get(msg.toString('latin1', 2));
    if (!body) return undefined;
    const out = Buffer.allocUnsafe(body.length);
    body.copy(out);
    out[0] = msg[0];
    out[1] = msg[1];
    return out;
  }

  set(asker: DnsContainer, msg: Buffer, reply: Buffer): void {
    let m = this.byAsker.get(asker);
    if (!m) { m = new Map(); this.byAsker.set(asker, m); }
    if (m.size >= AnswerCache.MAX_PER_ASKER) m.clear();   // a flood of distinct names: start over
    m.set(msg.toString('latin1', 2), Buffer.from(reply));
  }
}

/**
 * The answer to `msg` from `asker`, or null to stay silent (not a standard query with one
 * question). Local answers come back at once; forwarded ones as a promise. `udp`: the answer
 * must fit a datagram (512 bytes, or the query's EDNS size), else it is sent truncated.
 */
export function answer(msg: Buffer, asker: DnsContainer, table: NameTable, forward: Forward, udp: boolean, cache?: AnswerCache): Buffer | null | Promise<Buffer | null> {
  // Garbage goes at the cheapest tests, before the cache's key is made of its bytes: too short
  // or too long to be one question, a response, not QUERY, not exactly one question.
  if (msg.length < 17 || msg.length > MAX_QUERY) return null;
  const flags = msg.readUInt16BE(2);
  if (flags & QR || (flags >> 11) & 0xf) return null;
  if (msg.readUInt16BE(4) !== 1 || msg.readUInt16BE(6) !== 0 || msg.readUInt16BE(8) !== 0) return null;
  const hit = cache?.get(asker, msg);
  if (hit) return hit;
  let name: string;
  let qend: number;
  try {
    name = names.decode(msg, 12);
    qend = 12 + names.decode.bytes + 4;
  } catch {
    return null;
  }
  if (qend > msg.length) return null;
  const qtype = msg.readUInt16BE(qend - 4);
  const qclass = msg.readUInt16BE(qend - 2);
  const reply = (records: Buffer[], count: number, rcode = 0): Buffer => {
    const head = Buffer.allocUnsafe(12);
    msg.copy(head, 0, 0, 2);
    head.writeUInt16BE(QR | (flags & RD) | RA | rcode, 2);
    head.writeUInt16BE(1, 4);
    head.writeUInt16BE(count, 6);
    head.writeUInt32BE(0, 8);
    const out = Buffer.concat([head, msg.subarray(12, qend), ...records]);
    if (udp && out.length > Math.max(MAX_UDP, ednsSize(msg, qend))) {
      head.writeUInt16BE(QR | (flags & RD) | RA | TC | rcode, 2);
      head.writeUInt16BE(0, 6);
      return Buffer.concat([head, msg.subarray(12, qend)]);
    }
    return out;
  };
  const remember = (a: Buffer): Buffer => { cache?.set(asker, msg, a); return a; };
  if (qclass === CLASS_IN) {
    if (qtype === TYPE_A) {
      const ips = table.lookup(asker, name);
      // Several addresses rotate with every answer (round robin): those are never cached.
      if (ips.length === 1) return remember(reply([aRecord(ips[0])], 1));
      if (ips.length) return reply(ips.map(aRecord), ips.length);
      // A known name with no IPv4 address (an IPv6-only network): NOERROR, empty.
      if (table.knows(asker, name)) return remember(reply([], 0));
    } else if (qtype === TYPE_AAAA) {
      const ips = table.lookup(asker, name, true);
      if (ips.length === 1) return remember(reply([aaaaRecord(ips[0])], 1));
      if (ips.length) return reply(ips.map(aaaaRecord), ips.length);
      // A known name with no IPv6 address (an IPv4-only network): NOERROR, empty, as Docker.
      if (table.knows(asker, name)) return remember(reply([], 0));
    } else if (qtype === TYPE_PTR && ptrToIp(name)) {
      const target = table.ptr(asker, name);
      if (target) return remember(reply([ptrRecord(target)], 1));
    }
  }
  return forward(msg).then((relayed) => relayed === DROP ? null : relayed ?? reply([], 0, SERVFAIL));
}

/** An A record whose name points back at the question (offset 12). */
function aRecord(ip: string): Buffer {
  const b = Buffer.allocUnsafe(16);
  b.writeUInt32BE(0xc00c0001, 0);   // name pointer, type A
  b.writeUInt16BE(CLASS_IN, 4);
  b.writeUInt32BE(TTL, 6);
  b.writeUInt16BE(4, 10);
  const p = ip.split('.');
  for (let i = 0; i < 4; i++) b[12 + i] = Number(p[i]);
  return b;
}

/** An AAAA record whose name points back at the question. */
function aaaaRecord(ip: string): Buffer {
  const n = parseIPv6(ip)!;
  const b = Buffer.allocUnsafe(28);
  b.writeUInt32BE((0xc00c0000 | TYPE_AAAA) >>> 0, 0);
  b.writeUInt16BE(CLASS_IN, 4);
  b.writeUInt32BE(TTL, 6);
  b.writeUInt16BE(16, 10);
  for (let i = 0; i < 16; i++) b[12 + i] = Number((n >> BigInt((15 - i) * 8)) & 0xffn);
  return b;
}

function ptrRecord(target: string): Buffer {
  const data = names.encode(target);
  const b = Buffer.allocUnsafe(12);
  b.writeUInt32BE((0xc00c0000 | TYPE_PTR) >>> 0, 0);
  b.writeUInt16BE(CLASS_IN, 4);
  b.writeUInt32BE(TTL, 6);
  b.writeUInt16BE(data.length, 10);
  return Buffer.concat([b, data]);
}

/** The UDP size an EDNS OPT record right after the question allows, or 0. */
function ednsSize(msg: Buffer, qend: number): number {
  if (msg.readUInt16BE(10) !== 1 || msg.length < qend + 11) return 0;
  if (msg[qend] !== 0 || msg.readUInt16BE(qend + 1) !== TYPE_OPT) return 0;
  return msg.readUInt16BE(qend + 3);
}
