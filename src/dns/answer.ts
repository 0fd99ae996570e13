// What the embedded resolver answers to one query message. Pure apart from the forwarding
// callback: decide from the name table, or hand the query on (and SERVFAIL if nobody answers).
import * as packet from 'dns-packet';
import type { DnsContainer, NameTable } from './records';

export const TTL = 600;
const MAX_UDP = 512;
const SERVFAIL = 2;

export type Forward = (query: Buffer) => Promise<Buffer | null>;

/**
 * The answer to `msg` from `asker`, or null to stay silent (not a query, or not a DNS message
 * at all). `udp`: the answer must fit a UDP datagram (512 bytes unless the query has EDNS).
 */
export async function answer(msg: Buffer, asker: DnsContainer, table: NameTable, forward: Forward, udp: boolean): Promise<Buffer | null> {
  let q: packet.Packet;
  try {
    q = packet.decode(msg);
  } catch {
    return null;
  }
  if (q.type !== 'query' || (q as any).opcode !== 'QUERY' || q.questions?.length !== 1) return null;
  const question = q.questions[0];
  const reply = (answers: packet.Answer[], rcode = 0): Buffer => {
    const flags = packet.RECURSION_AVAILABLE | ((q.flags ?? 0) & packet.RECURSION_DESIRED) | rcode;
    let out = packet.encode({ type: 'response', id: q.id, flags, questions: [question], answers });
    const limit = udp ? Math.max(MAX_UDP, ednsSize(q)) : 65535;
    if (out.length > limit) {
      out = packet.encode({ type: 'response', id: q.id, flags: flags | packet.TRUNCATED_RESPONSE, questions: [question], answers: [] });
    }
    return out;
  };
  const name = question.name;
  if (question.class === 'IN' || question.class === undefined) {
    if (question.type === 'A') {
      const ips = table.lookup(asker, name);
      if (ips.length) return reply(ips.map((ip) => ({ type: 'A', name, ttl: TTL, data: ip } as packet.Answer)));
    } else if (question.type === 'AAAA') {
      // Containers have IPv4 addresses only: a known name has no AAAA record (NOERROR, empty).
      if (table.knows(asker, name)) return reply([]);
    } else if (question.type === 'PTR') {
      const target = table.ptr(asker, name);
      if (target) return reply([{ type: 'PTR', name, ttl: TTL, data: target } as packet.Answer]);
    }
  }
  const relayed = await forward(msg);
  return relayed ?? reply([], SERVFAIL);
}

function ednsSize(q: packet.Packet): number {
  const opt = (q.additionals ?? []).find((a) => a.type === 'OPT') as any;
  return opt?.udpPayloadSize ?? 0;
}
