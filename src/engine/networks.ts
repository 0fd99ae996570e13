// Networks: their records, their address allocators, and creating/removing their kernel
// objects through the driver. Endpoints (a container on a network) live in sandbox.ts.
import type { NetworkRecord, NetworkSpec, IpamConfigRecord } from './types';
import type { BridgeDriver } from './drivers/bridge';
import { LowerDriver, checkLowerOptions, lowerMode, type LowerKind, type LowerNetworkSpec } from './drivers/macvlan';
import { driverTraits, isPredefinedNetwork, traitsOf } from './drivers/registry';
import { linkExists, listLinks } from '../kernel/ip';
import { OPT_ALLOW_SPOOFING } from './firewall/antispoof';
import type { NetworkRequest, OverlayNetwork } from '../cluster/state';
import type { Store } from '../store/store';
import { ApiError, activeEndpoints, badRequest, conflict, forbidden, notFound, noSuchNetwork } from '../util/errors';
import { Allocator, canonicalCidr, validateIpamConfig, chooseSubnet } from '../ipam';
import { newId } from '../util/ids';
import { validateNetworkName } from '../util/names';
import { hostRouteSubnets } from '../kernel/routes';
import { nowRfc3339 } from './time';
import { Mutex } from '../util/lock';
import { log } from '../util/log';

const KIND = 'networks';
const OPT_BRIDGE_NAME = 'com.docker.network.bridge.name';
const OPT_ICC = 'com.docker.network.bridge.enable_icc';
const OPT_MASQ = 'com.docker.network.bridge.enable_ip_masquerade';
const OPT_MTU = 'com.docker.network.driver.mtu';
export const GWBRIDGE = 'docker_gwbridge';
const OPT_DEFAULT = 'com.docker.network.bridge.default_bridge';
const OPT_HOST_BINDING = 'com.docker.network.bridge.host_binding_ipv4';

export interface NetworkDefaults {
  bridgeName: string;     // --bridge (default "berth0")
  bip?: string;           // --bip: gateway address with prefix, e.g. "172.17.0.1/16"
}

export class Networks {
  private readonly byId = new Map<string, NetworkRecord>();
  private readonly allocators = new Map<string, Allocator>();
  /**
   * Network creates and removes, one at a time: a name and a subnet are decided and recorded
   * before the next request looks (never two networks with one name or one subnet).
   */
  private readonly changes = new Mutex();
  /** Containers starting on, or connecting to, a network right now (by network id). */
  private readonly holds = new Map<string, number>();
  /** Networks being removed: no new endpoint may join them. */
  private readonly removing = new Set<string>();

  private readonly lower = { macvlan: new LowerDriver('macvlan'), ipvlan: new LowerDriver('ipvlan') };

  constructor(private readonly store: Store, private readonly bridge: BridgeDriver,
              private readonly defaults: NetworkDefaults) {}

  /** Load records, rebuild allocators, make sure bridge, host and none exist, rebuild kernel objects. */
  async restore(): Promise<void> {
    for (const n of await this.store.loadAll<NetworkRecord>(KIND)) this.index(n);
    if (!this.findByName('host')) await this.save(predefined('host', 'host'));
    if (!this.findByName('none')) await this.save(predefined('none', 'null'));
    if (!this.findByName('bridge')) await this.createDefaultBridge();
    for (const n of this.byId.values()) {
      const lower = this.lowerOf(n);
      if (traitsOf(n).link === 'veth' && traitsOf(n).made === 'local') await this.bridge.createNetwork(this.spec(n));
      if (lower) await lower.createNetwork(this.lowerSpec(n)).catch((e) => log.warn(`network ${n.Name}: ${(e as Error).message}`));
    }
  }

  /** The macvlan/ipvlan driver of a network, or undefined for other drivers. */
  lowerOf(n: NetworkRecord): LowerDriver | undefined {
    return traitsOf(n).link === 'sub-interface' ? this.lower[n.Driver as LowerKind] : undefined;
  }

  lowerSpec(n: NetworkRecord): LowerNetworkSpec {
    const kind = n.Driver as LowerKind;
    return {
      id: n.Id, kind, parent: n.parent!, createdParent: !!n.createdParent,
      mode: lowerMode(kind, n.Options),
      flag: n.Options.ipvlan_flag || 'bridge',
      mtu: mtuOf(n),
    };
  }

  /** A user-defined network whose containers get the embedded resolver (Docker's rule). */
  isUserDefined(n: NetworkRecord): boolean {
    return !n.isDefault && traitsOf(n).dns;
  }

  /**
   * The cluster's overlay networks, as this node sees them now: records for each (kept in
   * memory only; the cluster state is where they live), none for those that are gone.
   */
  syncOverlay(nets: OverlayNetwork[]): void {
    const want = new Map(nets.map((n) => [n.id, n]));
    for (const n of [...this.byId.values()]) {
      if (traitsOf(n).scope === 'swarm' && !want.has(n.Id)) this.byId.delete(n.Id);
    }
    for (const o of nets) {
      this.byId.set(o.id, {
        Id: o.id, Name: o.name, Created: o.created, Driver: 'overlay', Scope: 'swarm', EnableIPv6: false,
        Internal: o.internal, Attachable: o.attachable,
        IPAM: { Driver: 'default', Options: null, Config: [{ Subnet: o.subnet, Gateway: o.gateway, ...(o.ipRange ? { IPRange: o.ipRange } : {}) }] },
        Options: o.options, Labels: o.labels, userSubnet: !!o.userSubnet,
      });
    }
  }

  /**
   * docker_gwbridge, made on first use as Docker does: the bridge that gives containers on
   * overlay networks a way out (NAT through the host), with no traffic between them.
   */
  async gatewayBridge(): Promise<NetworkRecord> {
    const found = this.findByName(GWBRIDGE);
    if (found) return found;
    // Two containers starting at once make it once.
    this.makingGw ??= this.create({
      Name: GWBRIDGE, Driver: 'bridge',
      Options: { [OPT_ICC]: 'false', [OPT_MASQ]: 'true', [OPT_BRIDGE_NAME]: GWBRIDGE },
    }).finally(() => { this.makingGw = null; });
    await this.makingGw;
    return this.findByName(GWBRIDGE)!;
  }

  private makingGw: Promise<unknown> | null = null;

  /** A new network's name, whatever its driver: valid, and not taken on this host. */
  private newName(body: any): string {
    const name = typeof body?.Name === 'string' ? body.Name : '';
    validateNetworkName(name);
    if (this.findByName(name)) throw conflict(`network with name ${name} already exists`);
    return name;
  }

  /** A new overlay network checked against this node's own networks, for the cluster's manager. */
  overlayRequest(body: any): NetworkRequest {
    const name = this.newName(body);
    if (body.EnableIPv6) throw badRequest('berth does not support IPv6 networks yet');
    const ipamIn: any[] = body.IPAM?.Config ?? [];
    if (ipamIn.length > 1) throw badRequest('berth supports one IPv4 subnet per network');
    const options: Record<string, string> = { ...(body.Options ?? {}) };
    if ('encrypted' in options) {
      throw badRequest('encrypted overlay networks need IPsec (xfrm), which berth does not provide yet: create the network without --opt encrypted');
    }
    const want = ipamIn[0] ?? {};
    return {
      id: newId(), name, created: nowRfc3339(), subnet: want.Subnet || undefined, gateway: want.Gateway || undefined,
      ipRange: want.IPRange || undefined, attachable: !!body.Attachable, internal: !!body.Internal,
      labels: body.Labels ?? {}, options,
    };
  }

  private async createDefaultBridge(): Promise<void> {
    await refuseNonBridge(this.defaults.bridgeName);
    let cfg: IpamConfigRecord;
    if (this.defaults.bip) {
      const [gw, len] = this.defaults.bip.split('/');
      if (!len) throw badRequest(`invalid --bip ${this.defaults.bip}: want an address with prefix, e.g. 172.17.0.1/16`);
      cfg = validateIpamConfig({ Subnet: canonicalCidr(`${gw}/${len}`), Gateway: gw }, []);
    } else {
      cfg = validateIpamConfig({ Subnet: chooseSubnet(await this.usedSubnets()) }, []);
    }
    const rec: NetworkRecord = {
      ...predefined('bridge', 'bridge'),
      IPAM: { Driver: 'default', Options: null, Config: [cfg] },
      Options: {
        [OPT_DEFAULT]: 'true', [OPT_ICC]: 'true', [OPT_MASQ]: 'true',
        [OPT_HOST_BINDING]: '0.0.0.0', [OPT_BRIDGE_NAME]: this.defaults.bridgeName, [OPT_MTU]: '1500',
      },
      bridgeName: this.defaults.bridgeName,
      isDefault: true,
    };
    await this.save(rec);
  }

  private index(n: NetworkRecord): void {
    this.byId.set(n.Id, n);
    // (overlay addresses are handed out by the cluster's manager)
    if (n.IPAM.Config.length && traitsOf(n).addresses === 'local') {
      const alloc = new Allocator(n.IPAM.Config[0], { name: n.Name, id: n.Id });
      this.allocators.set(n.Id, alloc);
    }
  }

  private async save(n: NetworkRecord): Promise<void> {
    await this.store.put(KIND, n.Id, n, { what: `network ${n.Name}` });
    this.index(n);
  }

  list(): NetworkRecord[] { return [...this.byId.values()]; }

  findByName(name: string): NetworkRecord | undefined {
    for (const n of this.byId.values()) if (n.Name === name) return n;
    return undefined;
  }

  /** Docker's lookup order: full id, exact name, then a unique id prefix. */
  find(ref: string): NetworkRecord | undefined {
    const byId = this.byId.get(ref);
    if (byId) return byId;
    const byName = this.findByName(ref);
    if (byName) return byName;
    const matches = [...this.byId.values()].filter((n) => n.Id.startsWith(ref));
    if (matches.length > 1) throw badRequest(`network ${ref} is ambiguous (${matches.length} matches found based on ID prefix)`);
    return matches[0];
  }

  get(ref: string): NetworkRecord {
    const n = ref ? this.find(ref) : undefined;
    if (!n) throw noSuchNetwork(ref);
    return n;
  }

  allocator(n: NetworkRecord): Allocator {
    const a = this.allocators.get(n.Id);
    if (!a) throw badRequest(`network ${n.Name} has no address pool`);
    return a;
  }

  spec(n: NetworkRecord): NetworkSpec {
    const cfg = n.IPAM.Config[0];
    return {
      id: n.Id,
      name: n.Name,
      bridgeName: n.bridgeName!,
      subnet: cfg.Subnet,
      gateway: cfg.Gateway,
      internal: n.Internal,
      icc: n.Options[OPT_ICC] !== 'false',
      masquerade: n.Options[OPT_MASQ] !== 'false',
      mtu: mtuOf(n),
    };
  }

  /** Subnets of every network and of the host's own routes (a new network must avoid them). */
  async usedSubnets(): Promise<string[]> {
    const mine = [...this.byId.values()].flatMap((n) => n.IPAM.Config.map((c) => c.Subnet));
    // The host's routes include our own bridges' subnets; those are in `mine` already.
    return [...mine, ...(await hostRouteSubnets())];
  }

  create(body: any): Promise<{ Id: string; Warning: string }> {
    return this.changes.run(() => this.createNow(body));
  }

  /**
   * Keep these networks (names or ids) from being removed until the returned function is
   * called: a starting or connecting container's endpoint is not in any record yet. Throws
   * "network … not found" for one that is gone or going.
   */
  hold(refs: string[]): () => void {
    const ids = [...new Set(refs.map((r) => this.get(r).Id))];
    for (const id of ids) if (this.removing.has(id)) throw noSuchNetwork(id);
    for (const id of ids) this.holds.set(id, (this.holds.get(id) ?? 0) + 1);
    let done = false;
    return () => {
      if (done) return;
      done = true;
      for (const id of ids) {
        const n = (this.holds.get(id) ?? 1) - 1;
        if (n > 0) this.holds.set(id, n); else this.holds.delete(id);
      }
    };
  }

  private async createNow(body: any): Promise<{ Id: string; Warning: string }> {
    const name = this.newName(body);
    const driver = body.Driver || 'bridge';
    const traits = driverTraits(driver);
    if (traits?.made === 'singleton') {
      throw forbidden(`only one instance of "${driver}" network is allowed`);
    }
    if (traits?.made !== 'local') throw notFound(`plugin "${driver}" not found`);
    if (body.EnableIPv6) throw badRequest('berth does not support IPv6 networks yet');

    const options: Record<string, string> = { ...(body.Options ?? {}) };
    const id = newId();
    const isBridge = traits.link === 'veth';
    const bridgeName = isBridge ? options[OPT_BRIDGE_NAME] || `br-${id.slice(0, 12)}` : undefined;
    if (isBridge) {
      validateBridgeOptions(options, bridgeName!, this.list());
      await refuseNonBridge(bridgeName!);
    }
    const lowerOpts = isBridge ? undefined : checkLowerOptions(driver as LowerKind, id, options,
      this.list().map((n) => ({ id: n.Id, kind: n.Driver, parent: n.parent })), linkExists);

    const ipamIn: any[] = body.IPAM?.Config ?? [];
    if (ipamIn.length > 1) throw badRequest('berth supports one IPv4 subnet per network');
    const used = await this.usedSubnets();
    const want = ipamIn[0] ?? {};
    const cfg = want.Subnet
      ? validateIpamConfig(want, this.list().flatMap((n) => n.IPAM.Config.map((c) => c.Subnet)))
      : validateIpamConfig({ ...want, Subnet: chooseSubnet(used) }, []);

    const rec: NetworkRecord = {
      Id: id,
      Name: name,
      Created: nowRfc3339(),
      Driver: traits.name,
      Scope: 'local',
      EnableIPv6: false,
      Internal: !!body.Internal,
      Attachable: !!body.Attachable,
      IPAM: { Driver: 'default', Options: body.IPAM?.Options ?? null, Config: [cfg] },
      Options: options,
      Labels: body.Labels ?? {},
      ...(bridgeName ? { bridgeName } : {}),
      ...(lowerOpts ? { parent: lowerOpts.parent, createdParent: lowerOpts.make !== 'none' } : {}),
      userSubnet: !!want.Subnet,
    };
    const lower = this.lowerOf(rec);
    try {
      if (lower) await lower.createNetwork(this.lowerSpec(rec));
      else await this.bridge.createNetwork(this.spec(rec));
      await this.save(rec);
    } catch (e) {
      // Nothing half-made: take down whatever the driver managed to build.
      this.byId.delete(id);
      this.allocators.delete(id);
      if (lower) await lower.deleteNetwork(this.lowerSpec(rec)).catch(() => undefined);
      else await this.bridge.deleteNetwork(this.spec(rec), { recycle: false }).catch(() => undefined);
      await this.store.delete(KIND, id).catch(() => undefined);
      throw e;
    }
    return { Id: id, Warning: '' };
  }

  /** `inUse` lists the endpoints containers still have on the network. */
  remove(ref: string, inUse: (n: NetworkRecord) => Array<{ name: string; id: string }>): Promise<void> {
    return this.changes.run(() => this.removeNow(ref, inUse));
  }

  private async removeNow(ref: string, inUse: (n: NetworkRecord) => Array<{ name: string; id: string }>): Promise<void> {
    const n = this.get(ref);
    if (isPredefinedNetwork(n)) {
      throw forbidden(`${n.Name} is a pre-defined network and cannot be removed`);
    }
    const eps = inUse(n);
    // (a container starting on it or connecting to it holds it: its endpoint is being made)
    if (eps.length || this.holds.has(n.Id)) throw activeEndpoints(n.Name, eps);
    this.removing.add(n.Id);
    try {
      // The record goes first: a crash after it leaves a bridge no record names, which the
      // next start removes; the other way round it would leave a record without its bridge.
      await this.store.delete(KIND, n.Id);
      this.byId.delete(n.Id);
      this.allocators.delete(n.Id);
      const lower = this.lowerOf(n);
      // (gone from the records already: a kernel object left by a failure here is swept at the next start)
      const undone = lower ? lower.deleteNetwork(this.lowerSpec(n)) : this.bridge.deleteNetwork(this.spec(n));
      await undone.catch((e) => log.warn(`removing network ${n.Name}: ${(e as Error).message}`));
    } finally {
      this.removing.delete(n.Id);
    }
  }

  /** May a container ask for this address on this network (--ip, connect --ip)? Docker's checks, in its order. */
  checkRequestedIp(n: NetworkRecord, ip: string): void {
    if (!this.isUserDefined(n)) {
      throw badRequest('user specified IP address is supported on user defined networks only');
    }
    if (!n.userSubnet) {
      throw badRequest('user specified IP address is supported only when connecting to networks with user configured subnets');
    }
    // (overlay addresses are the manager's; here only the address itself is checked)
    if (traitsOf(n).addresses === 'cluster') new Allocator(n.IPAM.Config[0], { name: n.Name, id: n.Id }).check(ip);
    else this.allocator(n).check(ip);
  }

  isPredefined(n: NetworkRecord): boolean {
    return isPredefinedNetwork(n);
  }
}

function predefined(name: string, driver: NetworkRecord['Driver']): NetworkRecord {
  return {
    Id: newId(), Name: name, Created: nowRfc3339(), Driver: driver, Scope: 'local',
    EnableIPv6: false, Internal: false, Attachable: false,
    IPAM: { Driver: 'default', Options: null, Config: [] }, Options: {}, Labels: {},
  };
}

/** The MTU a network's interfaces get: com.docker.network.driver.mtu, else 1500. */
function mtuOf(n: NetworkRecord): number {
  return n.Options[OPT_MTU] ? Number(n.Options[OPT_MTU]) : 1500;
}

/**
 * An existing interface may serve as a network's bridge only if it is one: berth adds its
 * gateway address to it and deletes it with the network, which must never happen to a NIC or lo.
 */
async function refuseNonBridge(name: string): Promise<void> {
  if (!linkExists(name)) return;
  const link = (await listLinks()).find((l) => l.ifname === name);
  if (link && link.kind !== 'bridge') throw badRequest(`existing interface ${name} is not a bridge`);
}

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

export { ApiError };
