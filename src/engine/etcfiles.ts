// The contents of /etc/hosts, /etc/hostname and /etc/resolv.conf that Docker (20.10) writes
// into a container, byte for byte. Pure: the caller reads the host's resolv.conf and writes
// the files.
import { badRequest } from '../util/errors';
import { isIP, isIPv4 } from '../ipam/subnet';
import { EMBEDDED_DNS } from '../dns/address';
import { canonicalIp6 } from '../ipam/subnet6';

const DEFAULT_HOSTS = [
  '127.0.0.1\tlocalhost',
  '::1\tlocalhost ip6-localhost ip6-loopback',
  'fe00::0\tip6-localnet',
  'ff00::0\tip6-mcastprefix',
  'ff02::1\tip6-allnodes',
  'ff02::2\tip6-allrouters',
];

const HOST_GATEWAY = 'host-gateway';

/** Go's %q for the plain strings these messages quote. */
const q = (s: string) => JSON.stringify(s);

/**
 * Checks one --add-host value ("name:ip", split at the first colon so "h:::1" is IPv6) as the
 * docker CLI does, and returns [name, ip].
 */
export function parseExtraHost(val: string): [string, string] {
  const i = val.indexOf(':');
  if (i <= 0) throw badRequest(`bad format for add-host: ${q(val)}`);
  const name = val.slice(0, i);
  const ip = val.slice(i + 1);
  if (ip !== HOST_GATEWAY && !isIP(ip.trim())) throw badRequest(`invalid IP address in add-host: ${q(ip)}`);
  return [name, ip];
}

interface HostsOptions {
  hostname: string;
  domainname?: string;
  addresses: string[];            // the container's own addresses, one line each, in join order
  extraHosts: string[];           // --add-host "name:ip"
  links?: Array<{ name: string; alias: string; ip: string; hostname?: string }>;
  hostGateway?: string;           // what "host-gateway" in --add-host stands for
}

/** /etc/hosts as Docker writes it. */
export function hostsFile(o: HostsOptions): string {
  const lines = [...DEFAULT_HOSTS];
  for (const eh of o.extraHosts) {
    const [name, ipRaw] = parseExtraHost(eh);
    let ip = ipRaw;
    if (ip === HOST_GATEWAY) {
      if (!o.hostGateway) throw badRequest('unable to derive the IP value for host-gateway');
      ip = o.hostGateway;
    }
    lines.push(`${ip}\t${name}`);
  }
  // Legacy links: the alias, the linked container's hostname, and its name when it differs.
  for (const l of o.links ?? []) {
    const names = [l.alias];
    if (l.hostname) names.push(l.hostname);
    if (l.alias !== l.name) names.push(l.name);
    lines.push(`${l.ip}\t${names.join(' ')}`);
  }
  const short = o.hostname.split('.')[0];
  const fqdn = o.domainname ? `${o.hostname}.${o.domainname}` : o.hostname;
  const names = fqdn === short ? short : `${fqdn} ${short}`;
  for (const a of o.addresses) lines.push(`${a}\t${names}`);
  return lines.map((l) => l + '\n').join('');
}

/** /etc/hostname: the hostname as given (without the domain name). */
export function hostnameFile(hostname: string): string {
  return hostname + '\n';
}

// ---- resolv.conf ----

/** Lines without comments (# or ;), trimmed, empty ones dropped: how Docker reads the file. */
function lines(conf: string): string[] {
  return conf.split('\n').map((l) => l.replace(/[#;].*$/, '').trim()).filter((l) => l !== '');
}

export function nameservers(conf: string): string[] {
  const out: string[] = [];
  for (const l of lines(conf)) {
    const f = l.split(/\s+/);
    if (f[0] === 'nameserver' && f.length > 1) out.push(f[1]);
  }
  return out;
}

/** The last "search" line's domains, as glibc (and Docker) read it. */
export function searchDomains(conf: string): string[] {
  let out: string[] = [];
  for (const l of lines(conf)) {
    const f = l.split(/\s+/);
    if (f[0] === 'search') out = f.slice(1);
  }
  return out;
}

/** The last "options" line's options. */
export function resolvOptions(conf: string): string[] {
  let out: string[] = [];
  for (const l of lines(conf)) {
    const f = l.split(/\s+/);
    if (f[0] === 'options') out = f.slice(1);
  }
  return out;
}

const LOOPBACK_NS = /^nameserver\s+((127\.([0-9]{1,3}\.){2}[0-9]{1,3})|(::1)$)\s*\n*/gm;
const IPV6_NS = /^nameserver\s+([0-9A-Fa-f]{0,4}:){2,7}([0-9A-Fa-f]{0,4})(%\w+)?\s*\n*/gm;
const FALLBACK_DNS = ['8.8.8.8', '8.8.4.4'];

/**
 * The host's file with loopback and IPv6 nameservers removed (the container can reach
 * neither); when no nameserver is left, Google's public servers are appended, as Docker does.
 */
export function filterHostResolvConf(host: string): string {
  let out = host.replace(LOOPBACK_NS, '').replace(IPV6_NS, '');
  if (nameservers(out).length === 0) out += '\n' + FALLBACK_DNS.map((s) => `nameserver ${s}`).join('\n') + '\n';
  return out;
}

/** resolvconf.Build: search, nameservers, options ("--dns-search ." means no search line). */
function build(dns: string[], search: string[], options: string[]): string {
  let out = '';
  if (search.length > 0 && search.join(' ').trim() !== '.') out += `search ${search.join(' ')}\n`;
  for (const d of dns) out += `nameserver ${d}\n`;
  if (options.length > 0 && options.join(' ').trim() !== '') out += `options ${options.join(' ')}\n`;
  return out;
}

interface ResolvOptions {
  dns: string[];        // --dns
  dnsSearch: string[];  // --dns-search
  dnsOptions: string[]; // --dns-option
  embedded: boolean;    // user-defined network: the embedded resolver at 127.0.0.11 answers
}


/** What the container's resolv.conf would be without the embedded resolver. */
function directConf(host: string, o: ResolvOptions): string {
  if (o.dns.length > 0 || o.dnsSearch.length > 0 || o.dnsOptions.length > 0) {
    return build(
      o.dns.length > 0 ? o.dns : nameservers(host),
      o.dnsSearch.length > 0 ? o.dnsSearch : searchDomains(host),
      o.dnsOptions.length > 0 ? o.dnsOptions : resolvOptions(host),
    );
  }
  return filterHostResolvConf(host);
}

/** Has the user set ndots? Throws Docker's errors for a malformed one. */
function userSetsNdots(options: string[]): boolean {
  for (const opt of options) {
    if (!opt.includes('ndots')) continue;
    const parts = opt.split(':');
    if (parts.length !== 2) throw badRequest(`invalid ndots option ${opt}`);
    if (!/^[+-]?\d+$/.test(parts[1])) throw badRequest(`invalid number for ndots option: ${parts[1]}`);
    const n = Number(parts[1]);
    if (n < 0) throw badRequest(`invalid number for ndots option: ${n}`);
    return true;
  }
  return false;
}

/**
 * /etc/resolv.conf as Docker writes it. Default bridge (`embedded: false`): the host's file
 * without loopback nameservers (8.8.8.8/8.8.4.4 when none is left), or, when any of --dns,
 * --dns-search, --dns-option is given, a file built from those (each falling back to the
 * host's). User-defined networks (`embedded: true`): `nameserver 127.0.0.11`, the same search
 * and options, with `ndots:0` unless the user set ndots.
 */
export function resolvConf(hostResolvConf: string, o: ResolvOptions): string {
  const direct = directConf(hostResolvConf, o);
  if (!o.embedded) return direct;
  // The embedded resolver wants single-label names asked as they are first: ndots:0, unless
  // the user set ndots with --dns-option (the host's own ndots does not count).
  let options = resolvOptions(direct);
  if (!userSetsNdots(o.dnsOptions)) options = [...options.filter((x) => !x.startsWith('ndots:')), 'ndots:0'];
  // IPv6 servers: the embedded resolver forwards to them from the host (upstreams()); Docker
  // lists them after its own, berth keeps every query on 127.0.0.11.
  return build([EMBEDDED_DNS], searchDomains(direct), options);
}

/**
 * The servers the embedded resolver forwards to (from the host's namespace, where it runs):
 * the nameservers the container would have had without it (--dns, else the host's minus
 * loopback, else 8.8.8.8/8.8.4.4), IPv4 and IPv6 (RFC 5952 form, as answers come from; not
 * link-local ones, whose zone a resolv.conf line names for the host's interfaces only).
 */
export function upstreams(hostResolvConf: string, dns: string[]): string[] {
  const conf = directConf(hostResolvConf, { dns, dnsSearch: [], dnsOptions: [], embedded: false });
  const v4 = nameservers(conf).filter(isIPv4);
  // (directConf drops the host's IPv6 servers, as Docker does for a container without IPv6:
  // here they are taken from the source itself)
  const v6 = (dns.length ? dns : nameservers(hostResolvConf)).flatMap((ns) => {
    const a = isIPv4(ns) ? null : canonicalIp6(ns);
    return a && !/^fe[89ab]/i.test(a) && a !== '::1' ? [a] : [];
  });
  // Only IPv6 servers on the host: they serve, without Docker's fallback to 8.8.8.8/8.8.4.4.
  const fellBack = !dns.length && v6.length && !nameservers(hostResolvConf).some((ns) => v4.includes(ns));
  return [...(fellBack ? [] : v4), ...v6];
}
