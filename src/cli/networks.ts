// `berth network ...` commands.
import * as ipaddr from 'ipaddr.js';
import { Client, DaemonError } from './client';
import { Exit, UsageError, daemonLine } from './errors';
import { confirm, filtersParam, stdio, type Io } from './containers';
import { goTimeString, renderRows, shortId } from './format';
import { GO_TYPE } from '../util/gotemplate';
import { RANGE_WITHOUT_SUBNET } from '../util/errors';

const enc = encodeURIComponent;

interface NetworkCreateOptions {
  driver?: string; subnet?: string[]; gateway?: string[]; ipRange?: string[]; auxAddress?: string[];
  internal?: boolean; attachable?: boolean; label?: string[]; opt?: string[]; ipv6?: boolean; ipamDriver?: string;
  ipamOpt?: string[]; scope?: string; ingress?: boolean; configOnly?: boolean; configFrom?: string;
}

function kvList(list: string[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const l of list ?? []) {
    const i = l.indexOf('=');
    if (i < 0) out[l] = ''; else out[l.slice(0, i)] = l.slice(i + 1);
  }
  return out;
}

function inSubnet(addr: string, subnet: string): boolean {
  try {
    const [net, bits] = ipaddr.parseCIDR(subnet);
    const a = ipaddr.parse(addr.includes('/') ? addr.split('/')[0] : addr);
    return a.kind() === net.kind() && a.match(net, bits);
  } catch {
    return false;
  }
}

/** Pairs gateways, ranges and aux addresses with their subnets as the docker CLI does. */
export function ipamConfig(o: NetworkCreateOptions): any[] {
  const subnets = o.subnet ?? [];
  const gateways = o.gateway ?? [];
  const ranges = o.ipRange ?? [];
  const aux = o.auxAddress ?? [];
  if (subnets.length === 0 && (gateways.length || ranges.length)) {
    throw new Exit(1, RANGE_WITHOUT_SUBNET);
  }
  const cfgs = subnets.map((s) => ({ Subnet: s, IPRange: '', Gateway: '', AuxiliaryAddresses: {} as Record<string, string> }));
  for (const r of ranges) {
    const c = cfgs.find((x) => inSubnet(r, x.Subnet));
    if (!c) throw new Exit(1, `no matching subnet for range ${r}`);
    if (c.IPRange) throw new Exit(1, `cannot configure multiple ranges (${r}, ${c.IPRange}) on the same subnet (${c.Subnet})`);
    c.IPRange = r;
  }
  for (const g of gateways) {
    const c = cfgs.find((x) => inSubnet(g, x.Subnet));
    if (!c) throw new Exit(1, `no matching subnet for gateway ${g}`);
    if (c.Gateway) throw new Exit(1, `cannot configure multiple gateways (${g}, ${c.Gateway}) for the same subnet (${c.Subnet})`);
    c.Gateway = g;
  }
  for (const [k, v] of Object.entries(kvList(aux))) {
    const c = cfgs.find((x) => inSubnet(v, x.Subnet));
    if (!c) throw new Exit(1, `no matching subnet for aux-address ${v}`);
    c.AuxiliaryAddresses[k] = v;
  }
  return cfgs.map((c) => {
    const out: any = { Subnet: c.Subnet };
    if (c.IPRange) out.IPRange = c.IPRange;
    if (c.Gateway) out.Gateway = c.Gateway;
    if (Object.keys(c.AuxiliaryAddresses).length) out.AuxiliaryAddresses = c.AuxiliaryAddresses;
    return out;
  });
}

export function networkCreateBody(name: string, o: NetworkCreateOptions): any {
  return {
    Name: name,
    Driver: o.driver ?? 'bridge',
    Scope: o.scope ?? '',
    EnableIPv6: o.ipv6 ? true : undefined,
    IPAM: { Driver: o.ipamDriver ?? 'default', Config: ipamConfig(o), Options: kvList(o.ipamOpt) },
    Internal: !!o.internal,
    Attachable: !!o.attachable,
    Ingress: !!o.ingress,
    ConfigOnly: !!o.configOnly,
    ...(o.configFrom ? { ConfigFrom: { Network: o.configFrom } } : {}),
    Options: kvList(o.opt),
    Labels: kvList(o.label),
  };
}

export async function cmdNetworkCreate(client: Client, name: string, o: NetworkCreateOptions, io: Io = stdio): Promise<number> {
  const r = await client.json('POST', '/networks/create', { body: networkCreateBody(name, o) });
  if (r.Warning) io.err(`WARNING: ${r.Warning}\n`);
  io.out(r.Id + '\n');
  return 0;
}

export const NET_HEADERS: Record<string, string> = {
  ID: 'NETWORK ID', Name: 'NAME', Driver: 'DRIVER', Scope: 'SCOPE', IPv6: 'IPV6', IPv4: 'IPV4', Internal: 'INTERNAL',
  Labels: 'LABELS', Label: 'LABEL', CreatedAt: 'CREATED AT',
};
export const NET_DEFAULT = '{{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}';

/** Go's time.Time.String() of an RFC 3339 timestamp with nanoseconds. */
function goCreatedAt(rfc: string | undefined): string {
  if (!rfc) return '0001-01-01 00:00:00 +0000 UTC';
  const m = /\.(\d+)/.exec(rfc);
  const frac = m ? m[1].replace(/0+$/, '') : '';
  return goTimeString(new Date(rfc), true, frac);
}

export function networkRow(n: any, trunc: boolean): Record<string, unknown> {
  const labels: Record<string, string> = n.Labels ?? {};
  const row: Record<string, unknown> = {
    ID: trunc ? shortId(n.Id) : n.Id,
    Name: n.Name,
    Driver: n.Driver,
    Scope: n.Scope,
    IPv6: String(!!n.EnableIPv6),
    IPv4: String(n.EnableIPv4 ?? false),
    Internal: String(!!n.Internal),
    Labels: Object.keys(labels).sort().map((k) => `${k}=${labels[k]}`).join(','),
    CreatedAt: goCreatedAt(n.Created),
    Label: (k: string) => labels[k] ?? '',
  };
  (row as any)[GO_TYPE] = '*formatter.networkContext';
  return row;
}

export async function cmdNetworkLs(client: Client, o: { quiet?: boolean; filter?: string[]; format?: string; noTrunc?: boolean }, io: Io = stdio): Promise<number> {
  const list: any[] = await client.get('/networks', { filters: filtersParam(o.filter) });
  // docker sorts by name
  list.sort((a, b) => (a.Name < b.Name ? -1 : a.Name > b.Name ? 1 : 0));
  const trunc = (o as any).trunc !== false;
  if (o.quiet && !o.format) {
    io.out(list.map((n) => (trunc ? shortId(n.Id) : n.Id) + '\n').join(''));
    return 0;
  }
  io.out(renderRows(list.map((n) => networkRow(n, trunc)), { format: o.format ?? 'table', defaultTable: NET_DEFAULT, headers: NET_HEADERS }));
  return 0;
}

export async function cmdNetworkRm(client: Client, names: string[], io: Io = stdio): Promise<number> {
  let failed = false;
  for (const n of names) {
    try {
      await client.request('DELETE', `/networks/${enc(n)}`);
      io.out(n + '\n');
    } catch (e) {
      if (!(e instanceof DaemonError)) throw e;
      io.err(daemonLine(e) + '\n');
      failed = true;
    }
  }
  if (failed) throw new Exit(1, 'exit status 1');
  return 0;
}

export async function cmdNetworkPrune(client: Client, o: { force?: boolean; filter?: string[] }, io: Io = stdio): Promise<number> {
  if (!o.force && !(await confirm('WARNING! This will remove all custom networks not used by at least one container.\nAre you sure you want to continue? [y/N] ', io))) return 0;
  const r = await client.json('POST', '/networks/prune', { query: { filters: filtersParam(o.filter) } });
  const del: string[] = r.NetworksDeleted ?? [];
  // Docker prints a blank line after the list.
  if (del.length) io.out('Deleted Networks:\n' + del.map((d) => d + '\n').join('') + '\n');
  return 0;
}

export async function cmdNetworkConnect(client: Client, network: string, container: string,
                                        o: { ip?: string; ip6?: string; alias?: string[]; link?: string[]; linkLocalIp?: string[]; driverOpt?: string[] }): Promise<number> {
  const ep: any = {};
  if (o.ip || o.ip6 || o.linkLocalIp?.length) {
    ep.IPAMConfig = { ...(o.ip ? { IPv4Address: o.ip } : {}), ...(o.ip6 ? { IPv6Address: o.ip6 } : {}), ...(o.linkLocalIp?.length ? { LinkLocalIPs: o.linkLocalIp } : {}) };
  }
  if (o.alias?.length) ep.Aliases = o.alias;
  if (o.link?.length) ep.Links = o.link;
  if (o.driverOpt?.length) ep.DriverOpts = kvList(o.driverOpt);
  await client.request('POST', `/networks/${enc(network)}/connect`, { body: { Container: container, EndpointConfig: ep } });
  return 0;
}

export async function cmdNetworkDisconnect(client: Client, network: string, container: string, o: { force?: boolean }): Promise<number> {
  await client.request('POST', `/networks/${enc(network)}/disconnect`, { body: { Container: container, Force: !!o.force } });
  return 0;
}
