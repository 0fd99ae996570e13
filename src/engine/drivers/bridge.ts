// The bridge driver: one Linux bridge per network (gateway address on it), one veth pair per
// endpoint (host end on the bridge, other end renamed eth<N> inside the container's netns).
// Isolation, masquerade and published ports live in berth's nft table (firewall/); an
// enable_icc=false network marks its bridge ports "isolated", so the bridge itself refuses
// to forward between them while each container still reaches its gateway. Ports are in
// hairpin mode (see portLines). Each endpoint's MAC and address are pinned by the
// anti-spoofing guard unless the network allows spoofing.
import type { EndpointSpec, NetworkRecord, NetworkSpec } from '../types';
import type { DriverDeps, DriverFields, DriverTraits, NetworkDriver, NewNetwork } from './driver';
import { OPT_MTU, networkMtu } from './driver';
import { deleteLink, ipBatch, linkExists, linkState, listLinks, type LinkState } from '../../kernel/ip';
import { containerSide, defaultRoutes } from './endpoint';
import { gateway6Of, v4Config, v6Config } from '../ipamview';
import { setIfSysctl, setSysctl } from '../../kernel/sysctl';
import { badRequest, conflict } from '../../util/errors';
import { randomBytes } from 'node:crypto';

/** Link alias that marks a kernel object as berth's, so a restart can find its leftovers. */
export const ALIAS_PREFIX = 'berth:';

export const OPT_BRIDGE_NAME = 'com.docker.network.bridge.name';
export const OPT_ICC = 'com.docker.network.bridge.enable_icc';
export const OPT_MASQ = 'com.docker.network.bridge.enable_ip_masquerade';
/** berth's own: the network's containers may send from any MAC and address (one that routes). */
const OPT_ALLOW_SPOOFING = 'com.berth.network.allow_spoofing';

/** Whether a network's options turn the anti-spoofing guard off (only "true"; any bool is accepted). */
export function allowsSpoofing(options: Record<string, string> | null | undefined): boolean {
  return /^(1|t|T|TRUE|true|True)$/.test(options?.[OPT_ALLOW_SPOOFING] ?? '');
}

export const BRIDGE_TRAITS: DriverTraits = {
  name: 'bridge', scope: 'local', made: 'local', namespace: 'own', addresses: 'local', link: 'veth',
  ports: 'direct', gatewayBridge: false, defaultRoute: true, dns: true, ipv6: true,
};

/** What the bridge driver builds for a network, from its record. */
function bridgeSpec(n: NetworkRecord): NetworkSpec {
  const cfg = v4Config(n)!;
  const c6 = n.EnableIPv6 ? v6Config(n) : undefined;
  return {
    id: n.Id,
    name: n.Name,
    bridgeName: n.bridgeName!,
    subnet: cfg.Subnet,
    gateway: cfg.Gateway,
    internal: n.Internal,
    icc: n.Options[OPT_ICC] !== 'false',
    masquerade: n.Options[OPT_MASQ] !== 'false',
    mtu: networkMtu(n),
    allowSpoofing: allowsSpoofing(n.Options),
    ...(c6 ? { subnet6: c6.Subnet, gateway6: gateway6Of(c6) } : {}),
  };
}

export class BridgeDriver implements NetworkDriver {
  readonly traits = BRIDGE_TRAITS;

  constructor(private readonly deps: DriverDeps) {}

  /** Daemon start: containers on bridges need the host to forward. */
  async init(): Promise<void> {
    await setSysctl('net.ipv4.ip_forward', '1');
  }

  async validate(req: NewNetwork, existing: NetworkRecord[]): Promise<DriverFields> {
    const options = { ...req.options };
    const bridgeName = options[OPT_BRIDGE_NAME] || `br-${req.id.slice(0, 12)}`;
    validateBridgeOptions(options, bridgeName, existing);
    await refuseNonBridge(bridgeName);
    return { options, bridgeName };
  }

  async createNetwork(rec: NetworkRecord): Promise<void> {
    const net = bridgeSpec(rec);
    const br = net.bridgeName;
    // At a daemon start the bridge is there, carrying running containers' traffic: only what
    // differs from what it should be is changed (usually nothing).
    await ipBatch(bridgeLines(net, linkExists(br) ? await linkState(br) : null));
    // Lets connections to 127.0.0.1:<published port> be DNATed out through the bridge. (It
    // would also let a container address the host's 127.0.0.1 services; the firewall's
    // localnet chain drops every packet to 127.0.0.0/8 that arrives off loopback.)
    await setIfSysctl(br, 'route_localnet', '1');
    // A container reaching a published port of its own network through a host address is
    // routed back out the bridge it came from; an ICMP redirect would then tell it to skip
    // the gateway (and so the DNAT) for that host address.
    await setIfSysctl(br, 'send_redirects', '0');
    // A dual-stack network: the host routes IPv6 too (as dockerd does when IPv6 is on).
    if (net.subnet6) await setSysctl('net.ipv6.conf.all.forwarding', '1');
    await this.deps.firewall.addNetwork(net);
  }

  async checkNetwork(rec: NetworkRecord): Promise<string[]> {
    const net = bridgeSpec(rec);
    const cur = await linkState(net.bridgeName);
    return cur ? bridgeLines(net, cur).map((l) => `bridge ${net.bridgeName}: wants \`ip ${l}\``) : [`bridge ${net.bridgeName} is missing`];
  }

  links(rec: NetworkRecord): string[] { return [rec.bridgeName!]; }

  /**
   * Take a network's bridge away. Deleting a bridge costs the kernel 30-60 ms (RCU grace
   * periods), so `network rm` instead takes it down, strips its address and renames it to a
   * spare in about 1 ms, and the spare is deleted in the background (or at the next start).
   * `recycle: false` (undoing a half-made network) deletes it at once.
   */
  async deleteNetwork(rec: NetworkRecord, opts: { recycle?: boolean } = {}): Promise<void> {
    const net = bridgeSpec(rec);
    await this.deps.firewall.removeNetwork(net);
    const br = net.bridgeName;
    if (!linkExists(br)) return;
    if (opts.recycle === false) {
      await deleteLink(br);
      return;
    }
    const spare = `bspare-${randomBytes(3).toString('hex')}`;
    await ipBatch([`link set dev ${br} down`, `addr flush dev ${br}`, `link set dev ${br} name ${spare}`,
      `link set dev ${spare} alias ${ALIAS_PREFIX}spare`]);
    this.spares.push(spare);
    this.sweep();
  }

  private readonly spares: string[] = [];
  private sweeping: Promise<void> | null = null;

  /** Delete spare bridges one after another, off the request path. */
  private sweep(): void {
    if (this.sweeping) return;
    this.sweeping = (async () => {
      for (let s = this.spares.shift(); s; s = this.spares.shift()) {
        await deleteLink(s);
      }
    })().finally(() => { this.sweeping = null; });
  }

  /** Wait for spare bridges to be gone (daemon shutdown, tests). */
  async settle(): Promise<void> { while (this.sweeping) await this.sweeping; }

  async attach(rec: NetworkRecord, ep: EndpointSpec): Promise<void> {
    const net = bridgeSpec(rec);
    await this.link(net, ep);
    try {
      await this.deps.firewall.addEndpoint(net, ep);
    } catch (e) {
      await deleteLink(ep.hostIfname).catch(() => undefined);
      throw e;
    }
  }

  /** The veth pair, its host end on the bridge. */
  private async link(net: NetworkSpec, ep: EndpointSpec): Promise<void> {
    // A restarted daemon re-attaching a running container finds its veth in place: it changes
    // only what differs (usually nothing), and never the container's side.
    const fresh = !linkExists(ep.hostIfname);
    await ipBatch(portLines(net, ep, fresh ? null : await linkState(ep.hostIfname)));
    if (!fresh) return;
    const inside = containerSide(ep);
    if (ep.defaultRoute) inside.push(...defaultRoutes(ep));
    try {
      await ipBatch(inside, ep.netnsPath);
    } catch (e) {
      await deleteLink(ep.hostIfname);
      throw e;
    }
  }

  async detach(rec: NetworkRecord, ep: EndpointSpec): Promise<void> {
    await this.deps.firewall.removeEndpoint(bridgeSpec(rec), ep);
    // Deleting the host end takes the container end with it.
    await deleteLink(ep.hostIfname);
  }

  async checkEndpoint(rec: NetworkRecord, ep: EndpointSpec): Promise<string[]> {
    const cur = await linkState(ep.hostIfname);
    if (!cur) return [`veth ${ep.hostIfname} of container ${ep.containerId.slice(0, 12)} is missing`];
    return portLines(bridgeSpec(rec), ep, cur).map((l) => `veth ${ep.hostIfname}: wants \`ip ${l}\``);
  }
}

/** A stable, locally administered MAC for a network's bridge, from its id. */
function bridgeMac(networkId: string): string {
  const b = networkId.slice(0, 8).padEnd(8, '0').match(/../g)!;
  return ['02', '42', ...b].join(':');
}

/**
 * `ip -batch` lines that make a network's bridge what it should be: all of it when there is
 * none (`cur` null), else only what differs (its gateway address, its being up).
 */
export function bridgeLines(net: NetworkSpec, cur: LinkState | null): string[] {
  const br = net.bridgeName;
  const addr = `${net.gateway}/${net.subnet.split('/')[1]}`;
  const lines: string[] = [];
  if (!cur) {
    // A fixed MAC: otherwise a bridge takes the lowest MAC of its ports, so it changes as
    // veths come and go and every container's ARP entry for the gateway goes stale.
    lines.push(`link add name ${br} address ${bridgeMac(net.id)} mtu ${net.mtu} type bridge`);
    lines.push(`link set dev ${br} alias ${ALIAS_PREFIX}${net.id.slice(0, 12)}`);
  }
  if (!cur?.addrs.includes(addr)) lines.push(`addr replace ${addr} brd + dev ${br}`);
  const addr6 = net.subnet6 && net.gateway6 ? `${net.gateway6}/${net.subnet6.split('/')[1]}` : '';
  // nodad: no wait before the gateway answers (berth's allocator keeps the address unique).
  if (addr6 && !cur?.addrs6.includes(addr6)) lines.push(`addr replace ${addr6} dev ${br} nodad`);
  // An IPv6 gateway the network no longer has (berthd started again without --fixed-cidr-v6, or
  // with another one) goes from berth's own bridge; a bridge berth did not make keeps its addresses.
  if (cur?.ifalias === `${ALIAS_PREFIX}${net.id.slice(0, 12)}`) {
    for (const a of cur.addrs6) if (a !== addr6) lines.push(`addr del ${a} dev ${br}`);
  }
  if (!cur?.up) lines.push(`link set dev ${br} up`);
  return lines;
}

/**
 * `ip -batch` lines for an endpoint's host-side veth: the pair made (into the container's
 * namespace) when there is none (`cur` null), else only what differs from "on its network's
 * bridge, up, marked berth's, hairpin, isolated when the network has enable_icc=false".
 */
export function portLines(net: NetworkSpec, ep: EndpointSpec, cur: LinkState | null): string[] {
  const dev = ep.hostIfname;
  const alias = `${ALIAS_PREFIX}${ep.containerId.slice(0, 12)}`;
  // hairpin: with br_netfilter (on by default), a container's connection to its own
  // published port is DNATed in the bridge and must go back out the port it came in by.
  if (!cur) {
    return [
      `link add ${dev} mtu ${ep.mtu} type veth peer name ${ep.ifname} address ${ep.mac} mtu ${ep.mtu} netns ${ep.netnsPath}`,
      `link set dev ${dev} alias ${alias} master ${net.bridgeName} up`,
      `link set dev ${dev} type bridge_slave hairpin on${net.icc ? '' : ' isolated on'}`,
    ];
  }
  const lines: string[] = [];
  if (cur.master !== net.bridgeName || cur.ifalias !== alias || !cur.up) {
    lines.push(`link set dev ${dev} alias ${alias} master ${net.bridgeName} up`);
  }
  // (a port only just put on the bridge has the default flags: hairpin off, not isolated)
  const port = cur.master === net.bridgeName ? cur.port : undefined;
  if (!port?.hairpin || port.isolated !== !net.icc) {
    lines.push(`link set dev ${dev} type bridge_slave hairpin on isolated ${net.icc ? 'off' : 'on'}`);
  }
  return lines;
}

/**
 * An existing interface may serve as a network's bridge only if it is one: berth adds its
 * gateway address to it and deletes it with the network, which must never happen to a NIC or lo.
 */
export async function refuseNonBridge(name: string): Promise<void> {
  if (!linkExists(name)) return;
  const link = (await listLinks()).find((l) => l.ifname === name);
  if (link && link.kind !== 'bridge') throw badRequest(`existing interface ${name} is not a bridge`);
}

/** A bridge network's options, Docker's way and with Docker's messages; booleans normalised in place. */
function validateBridgeOptions(opts: Record<string, string>, bridgeName: string, existing: NetworkRecord[]): void {
  if (opts[OPT_MTU] !== undefined) {
    const v = opts[OPT_MTU];
    if (!/^-?\d+$/.test(v)) {
      throw badRequest(`failed to parse ${OPT_MTU} value: ${v} (strconv.Atoi: parsing "${v}": invalid syntax)`);
    }
    const mtu = Number(v);
    if (mtu < 68 || mtu > 65535) throw badRequest(`invalid MTU number: ${mtu}`);
  }
  for (const k of [OPT_ICC, OPT_MASQ, OPT_ALLOW_SPOOFING]) {
    const v = opts[k];
    if (v !== undefined && !['true', 'false', '1', '0'].includes(v.toLowerCase())) {
      throw badRequest(`failed to parse ${k} value: ${v} (strconv.ParseBool: parsing "${v}": invalid syntax)`);
    }
    if (v !== undefined) opts[k] = ['true', '1'].includes(v.toLowerCase()) ? 'true' : 'false';
  }
  // Linux interface names: at most 15 bytes, no '/', no whitespace.
  if (!/^[a-zA-Z0-9_.-]{1,15}$/.test(bridgeName)) {
    throw badRequest(`invalid bridge name ${JSON.stringify(bridgeName)}: at most 15 characters of [a-zA-Z0-9_.-]`);
  }
  const clash = existing.find((n) => n.bridgeName === bridgeName);
  if (clash) throw conflict(`bridge name ${bridgeName} is already used by network ${clash.Name}`);
}
