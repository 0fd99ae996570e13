// IPv6 address and subnet arithmetic. Addresses are 128-bit unsigned BigInts, so range checks
// and allocation are comparisons, as IPv4's 32-bit numbers are in subnet.ts; ipaddr.js does
// the parsing and prints addresses in RFC 5952's form (what Go's net.IP.String() prints, so
// inspect shows what Docker shows).
import * as ipaddr from 'ipaddr.js';

/** A parsed IPv6 subnet. `network` is the masked address; `given` is the address as written. */
export interface Subnet6 {
  given: bigint;
  network: bigint;
  prefix: number;
  last: bigint;     // the highest address (IPv6 has no broadcast address)
  size: bigint;     // number of addresses, 2^(128-prefix)
}

const ALL = (1n << 128n) - 1n;

/** An IPv6 address (no zone, no embedded IPv4 dotted form) to a number, or null. */
export function parseIPv6(s: string): bigint | null {
  if (typeof s !== 'string' || s.includes('%') || s.includes('.') || !ipaddr.IPv6.isValid(s)) return null;
  let n = 0n;
  for (const b of ipaddr.IPv6.parse(s).toByteArray()) n = (n << 8n) | BigInt(b);
  return n;
}

export function isIPv6(s: string): boolean {
  return parseIPv6(s) !== null;
}

/** The address in RFC 5952 form ("fd00:1::2"). */
export function ip6ToString(n: bigint): string {
  const bytes: number[] = [];
  for (let i = 15; i >= 0; i--) bytes.push(Number((n >> BigInt(i * 8)) & 0xffn));
  return (ipaddr.fromByteArray(bytes) as ipaddr.IPv6).toRFC5952String();
}

/** Normalises a written IPv6 address ("fd00:1:0::02" → "fd00:1::2"); null when it is not one. */
export function canonicalIp6(s: string): string | null {
  const n = parseIPv6(s);
  return n === null ? null : ip6ToString(n);
}

/**
 * The link-local address the kernel gives an interface with this MAC (addrgenmode eui64, its
 * default): fe80::/64 and the MAC as a modified EUI-64 (ff:fe in the middle, the
 * universal/local bit flipped). 02:42:ac:11:00:02 → fe80::42:acff:fe11:2.
 */
export function linkLocalFromMac(mac: string): string {
  const b = mac.split(':').map((x) => parseInt(x, 16));
  if (b.length !== 6 || b.some((x) => !(x >= 0 && x <= 255))) throw new Error(`not a MAC address: ${mac}`);
  let iid = 0n;
  for (const x of [b[0] ^ 0x02, b[1], b[2], 0xff, 0xfe, b[3], b[4], b[5]]) iid = (iid << 8n) | BigInt(x);
  return ip6ToString((0xfe80n << 112n) | iid);
}

function maskOf(prefix: number): bigint {
  return prefix === 0 ? 0n : (ALL << BigInt(128 - prefix)) & ALL;
}

/** Parses "fd00:1::/64"; null when it is not an IPv6 CIDR. */
export function tryParseSubnet6(cidr: string): Subnet6 | null {
  if (typeof cidr !== 'string') return null;
  const m = /^([^/]+)\/(\d{1,3})$/.exec(cidr);
  if (!m) return null;
  const given = parseIPv6(m[1]);
  const prefix = Number(m[2]);
  if (given === null || prefix > 128) return null;
  const network = given & maskOf(prefix);
  const size = 1n << BigInt(128 - prefix);
  return { given, network, prefix, last: network + size - 1n, size };
}

/** "fd00:1::1/64" → "fd00:1::/64": what the kernel and nft want. */
export function canonicalCidr6(cidr: string): string {
  const s = tryParseSubnet6(cidr);
  if (!s) throw new Error(`invalid CIDR address: ${cidr}`);
  return `${ip6ToString(s.network)}/${s.prefix}`;
}

export function contains6(s: Subnet6, n: bigint): boolean {
  return n >= s.network && n <= s.last;
}

/** Do the two subnets share any address? */
export function overlaps6(a: Subnet6, b: Subnet6): boolean {
  return a.network <= b.last && b.network <= a.last;
}

/**
 * "fd00:1::2" → "2.0.0.0…d.f.ip6.arpa": the name a reverse (PTR) query for it asks.
 */
export function ip6ToArpa(n: bigint): string {
  const nibbles: string[] = [];
  for (let i = 0; i < 32; i++) nibbles.push(((n >> BigInt(i * 4)) & 0xfn).toString(16));
  return `${nibbles.join('.')}.ip6.arpa`;
}

/** "2.0.0.0…d.f.ip6.arpa" (32 nibbles) → the address; anything else → null. */
export function arpaToIp6(qname: string): bigint | null {
  const m = /^((?:[0-9a-f]\.){32})ip6\.arpa\.?$/i.exec(qname);
  if (!m) return null;
  let n = 0n;
  const nibbles = m[1].split('.').filter(Boolean).reverse();
  for (const x of nibbles) n = (n << 4n) | BigInt(parseInt(x, 16));
  return n;
}
