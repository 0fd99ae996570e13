// IPv4 address and subnet arithmetic. Addresses are handled as unsigned 32-bit numbers so
// range checks and allocation are integer comparisons; ipaddr.js does the parsing, so what
// counts as a valid address is what a well-kept library says, not a home-made regex.
import * as ipaddr from 'ipaddr.js';

/** A parsed IPv4 subnet. `network` is the masked address; `given` is the address as written. */
export interface Subnet {
  given: number;    // "172.20.1.0/16" -> 172.20.1.0 (Docker keeps the user's spelling)
  network: number;  // 172.20.0.0
  prefix: number;   // 16
  broadcast: number;
  size: number;     // number of addresses, 2^(32-prefix)
}

/** Dotted-quad IPv4 (no octal, hex or short forms, as Go's net.ParseIP) to a number, or null. */
export function parseIPv4(s: string): number | null {
  if (typeof s !== 'string' || !ipaddr.IPv4.isValidFourPartDecimal(s)) return null;
  const b = ipaddr.IPv4.parse(s).octets;
  return ((b[0] << 24) | (b[1] << 16) | (b[2] << 8) | b[3]) >>> 0;
}

export function isIPv4(s: string): boolean {
  return parseIPv4(s) !== null;
}

/** Any address Go's net.ParseIP accepts: dotted-quad IPv4 or IPv6 (without a zone). */
export function isIP(s: string): boolean {
  if (isIPv4(s)) return true;
  return typeof s === 'string' && !s.includes('%') && ipaddr.IPv6.isValid(s);
}

export function ipToString(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

function maskOf(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

/** Parses "a.b.c.d/n"; null when it is not an IPv4 CIDR. */
export function tryParseSubnet(cidr: string): Subnet | null {
  if (typeof cidr !== 'string') return null;
  const m = /^([^/]+)\/(\d{1,2})$/.exec(cidr);
  if (!m) return null;
  const given = parseIPv4(m[1]);
  const prefix = Number(m[2]);
  if (given === null || prefix > 32) return null;
  const network = (given & maskOf(prefix)) >>> 0;
  const size = 2 ** (32 - prefix);
  return { given, network, prefix, broadcast: network + size - 1, size };
}

/** Parses an IPv4 CIDR or throws Error("invalid CIDR address: X") as Go's net.ParseCIDR does. */
export function parseSubnet(cidr: string): Subnet {
  const s = tryParseSubnet(cidr);
  if (!s) throw new Error(`invalid CIDR address: ${cidr}`);
  return s;
}

/** True for an IPv6 CIDR such as "fd00::/64" (berth does not route IPv6 yet). */
export function isIPv6Cidr(cidr: string): boolean {
  return typeof cidr === 'string' && ipaddr.IPv6.isValidCIDR(cidr) && !cidr.includes('.');
}

/** "172.20.1.0/16" -> "172.20.0.0/16": what the kernel and nft want. */
export function canonicalCidr(cidr: string): string {
  const s = parseSubnet(cidr);
  return `${ipToString(s.network)}/${s.prefix}`;
}

export function prefixLen(cidr: string): number {
  return parseSubnet(cidr).prefix;
}

export function networkAddress(cidr: string): string {
  return ipToString(parseSubnet(cidr).network);
}

export function broadcast(cidr: string): string {
  return ipToString(parseSubnet(cidr).broadcast);
}

/** Is the address inside the subnet (network and broadcast addresses included)? */
export function contains(cidr: string, ip: string): boolean {
  const s = parseSubnet(cidr);
  const n = parseIPv4(ip);
  return n !== null && n >= s.network && n <= s.broadcast;
}

/** Is every address of `inner` inside `outer`? */
export function containsSubnet(outer: string, inner: string): boolean {
  const o = parseSubnet(outer);
  const i = parseSubnet(inner);
  return i.network >= o.network && i.broadcast <= o.broadcast;
}

/** Do the two subnets share any address? (Aligned prefixes either nest or are disjoint.) */
export function overlaps(a: string, b: string): boolean {
  const x = parseSubnet(a);
  const y = parseSubnet(b);
  return x.network <= y.broadcast && y.network <= x.broadcast;
}

/** Docker's MAC convention: 02:42 followed by the four bytes of the IPv4 address. */
export function macFromIp(ip: string): string {
  const n = parseIPv4(ip);
  if (n === null) throw new Error(`invalid IPv4 address: ${ip}`);
  const hex = (v: number) => v.toString(16).padStart(2, '0');
  return ['02', '42', hex(n >>> 24), hex((n >>> 16) & 255), hex((n >>> 8) & 255), hex(n & 255)].join(':');
}
