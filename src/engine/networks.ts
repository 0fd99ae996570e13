// Networks: their records, their address allocators, and creating/removing their kernel
// objects through the driver. Endpoints (a container on a network) live in sandbox.ts.
import type { NetworkRecord, IpamConfigRecord } from './types';
import { OPT_BRIDGE_NAME, OPT_ICC, OPT_MASQ, refuseNonBridge } from './drivers/bridge';
import { OPT_MTU } from './drivers/driver';
import { isPredefinedNetwork, traitsOf, type Drivers } from './drivers/registry';
import type { NetworkRequest, OverlayNetwork } from '../cluster/state';
import type { Store } from '../store/store';
import { ApiError, activeEndpoints, badRequest, conflict, forbidden, notFound, noSuchNetwork } from '../util/errors';
import { Allocator, Allocator6, canonicalCidr, validateIpamConfig, validateIpamConfig6, chooseSubnet, isIPv6Cidr, POOLS_EXHAUSTED_V6 } from '../ipam';
import { gateway6Of, v4Config, v6Config } from './ipamview';
import { canonicalCidr6 } from '../ipam/subnet6';
import { newId } from '../util/ids';
import { validateNetworkName } from '../util/names';
import { hostRouteSubnets } from '../kernel/routes';
import { nowRfc3339 } from './time';
import { Mutex } from '../util/lock';
import { log } from '../util/log';

const KIND = 'networks';
const GWBRIDGE = 'docker_gwbridge';
const OPT_DEFAULT = 'com.docker.network.bridge.default_bridge';
const OPT_HOST_BINDING = 'com.docker.network.bridge.host_binding_ipv4';

export interface NetworkDefaults {
  bridgeName: string;     // --bridge (default "berth0")
  bip?: string;           // --bip: gateway address with prefix, e.g. "172.17.0.1/16"
  /** berthd --ipv6 --fixed-cidr-v6: the default bridge is dual-stack with this IPv6 subnet. */
  fixedCidrV6?: string;
}

export class Networks {
  private readonly byId = new Map<string, NetworkRecord>();
  private readonly allocators = new Map<string, Allocator>();
  /** --ipv6 networks' IPv6 allocators, by network id. */
  private readonly allocators6 = new Map<string, Allocator6>();
  /**
   * Network creates and removes, one at a time: a name and a subnet are decided and recorded
   * before the next request looks (never two networks with one name or one subnet).
   */
  private readonly changes = new Mutex();
  /** Containers starting on, or connecting to, a network right now (by network id). */
  private readonly holds = new Map<string, number>();
  /** Networks being removed: no new endpoint may join them. */
  private readonly removing = new Set<string>();

  constructor(private readonly store: Store, private readonly drivers: Drivers,
              private readonly defaults: NetworkDefaults) {}

  /** Load records, rebuild allocators, make sure bridge, host and none exist, rebuild kernel objects. */
  async restore(): Promise<void> {
    const loaded = await this.store.loadAll<NetworkRecord>(KIND);
    for (const n of loaded) this.index(n);
    if (!this.findByName('host')) await this.save(predefined('host', 'host'));
    if (!this.findByName('none')) await this.save(predefined('none', 'null'));
    if (!this.findByName('bridge')) await this.createDefaultBridge();
    else await this.followDefaultBridgeV6();
    // (a swarm network's devices follow the cluster state: engine/swarm.ts)
    const known = new Set(loaded.map((n) => n.Id));
    for (const n of this.byId.values()) {
      if (traitsOf(n).made === 'swarm') continue;
      // CHECK before repair: what the kernel lost while berthd was away is said, then made again.
      if (known.has(n.Id)) {
        const differs = await this.check(n).catch((e) => [(e as Error).message]);
        if (differs.length) log.info(`network ${n.Name}: ${differs.join('; ')}`);
      }
      await this.drivers.of(n).createNetwork(n, { restoring: true });
    }
  }

  /**
   * What differs between the kernel and what the network's driver should have built ([] when
   * nothing does); a daemon start logs it before it repairs what it can.
   */
  check(n: NetworkRecord): Promise<string[]> { return this.drivers.of(n).checkNetwork(n); }

  /** The host links every network owns (the start's sweep keeps them). */
  ownLinks(): string[] { return this.list().flatMap((n) => this.drivers.of(n).links(n)); }

  /** A user-defined network whose containers get the embedded resolver (Docker's rule). */
  isUserDefined(n: NetworkRecord): boolean {
    return !n.isDefault && traitsOf(n).dns;
  }

  /**
   * The cluster's overlay networks, as this node sees them now: records for each (kept in
   * memory only; the cluster state is where they live), none for those that are gone.
   */
  syncOverlay(nets: OverlayNetwork[]): { current: NetworkRecord[]; removed: NetworkRecord[] } {
    const want = new Map(nets.map((n) => [n.id, n]));
    const removed: NetworkRecord[] = [];
    for (const n of [...this.byId.values()]) {
      if (traitsOf(n).scope === 'swarm' && !want.has(n.Id)) { this.byId.delete(n.Id); removed.push(n); }
    }
    for (const o of nets) {
      const v6: IpamConfigRecord[] = o.subnet6
        ? [{ Subnet: o.subnet6, Gateway: o.gateway6 ?? '', ...(o.ipRange6 ? { IPRange: o.ipRange6 } : {}) }] : [];
      this.byId.set(o.id, {
        Id: o.id, Name: o.name, Created: o.created, Driver: 'overlay', Scope: 'swarm', EnableIPv6: !!o.enableIPv6,
        Internal: o.internal, Attachable: o.attachable,
        IPAM: { Driver: 'default', Options: null, Config: [{ Subnet: o.subnet, Gateway: o.gateway, ...(o.ipRange ? { IPRange: o.ipRange } : {}) }, ...v6] },
        Options: o.options, Labels: o.labels, userSubnet: !!o.userSubnet,
      });
    }
    return { current: nets.map((o) => this.byId.get(o.id)!), removed };
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
  async overlayRequest(body: any): Promise<NetworkRequest> {
    const name = this.newName(body);
    const { in4, in6 } = splitIpam(body);
    const id = newId();
    const { options } = await this.drivers.named(body.Driver).validate({ id, name, options: { ...(body.Options ?? {}) } }, this.list());
    const want = in4[0] ?? {};
    const want6 = in6[0] ?? {};
    return {
      id, name, created: nowRfc3339(), subnet: want.Subnet || undefined, gateway: want.Gateway || undefined,
      ipRange: want.IPRange || undefined,
      // (the cluster state checks the IPv6 entry against the other overlay networks: state.ts)
      ...(body.EnableIPv6 ? { enableIPv6: true } : {}),
      ...(want6.Subnet ? { subnet6: want6.Subnet, gateway6: want6.Gateway || undefined, ipRange6: want6.IPRange || undefined } : {}),
      attachable: !!body.Attachable, internal: !!body.Internal,
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
    const v6 = this.defaultBridgeV6();
    const rec: NetworkRecord = {
      ...predefined('bridge', 'bridge'),
      EnableIPv6: !!v6,
      IPAM: { Driver: 'default', Options: null, Config: v6 ? [cfg, v6] : [cfg] },
      Options: {
        [OPT_DEFAULT]: 'true', [OPT_ICC]: 'true', [OPT_MASQ]: 'true',
        [OPT_HOST_BINDING]: '0.0.0.0', [OPT_BRIDGE_NAME]: this.defaults.bridgeName, [OPT_MTU]: '1500',
      },
      bridgeName: this.defaults.bridgeName,
      isDefault: true,
    };
    await this.save(rec);
  }

  /** berthd --fixed-cidr-v6 as the default bridge's IPv6 IPAM entry (its gateway the subnet's first address, as dockerd's). */
  private defaultBridgeV6(): IpamConfigRecord | null {
    if (!this.defaults.fixedCidrV6) return null;
    const cfg = validateIpamConfig6({ Subnet: this.defaults.fixedCidrV6 }, []);
    return { Subnet: canonicalCidr6(cfg.Subnet), Gateway: cfg.Gateway };
  }

  /**
   * Daemon start: the default bridge follows berthd's --ipv6 --fixed-cidr-v6 (dockerd's flags)
   * as they are now. Containers already running on it keep the addresses they have; those
   * started from now on get an IPv6 address too (or no longer).
   */
  private async followDefaultBridgeV6(): Promise<void> {
    const n = this.findByName('bridge');
    if (!n) return;
    const want = this.defaultBridgeV6();
    const have = v6Config(n);
    if ((want?.Subnet ?? '') === (have?.Subnet ?? '')) return;
    log.info(`default bridge network: IPv6 subnet ${have?.Subnet ?? 'none'} -> ${want?.Subnet ?? 'none'} (--fixed-cidr-v6)`);
    const rec: NetworkRecord = { ...n, EnableIPv6: !!want, IPAM: { ...n.IPAM, Config: want ? [v4Config(n)!, want] : [v4Config(n)!] } };
    await this.save(rec);
  }

  private index(n: NetworkRecord): void {
    this.byId.set(n.Id, n);
    this.allocators6.delete(n.Id);
    // (overlay addresses are handed out by the cluster's manager)
    if (n.IPAM.Config.length && traitsOf(n).addresses === 'local') {
      const alloc = new Allocator(v4Config(n)!, { name: n.Name, id: n.Id });
      this.allocators.set(n.Id, alloc);
      const a6 = newAllocator6(n);
      if (a6) this.allocators6.set(n.Id, a6);
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

  /** The network's IPv6 allocator, or null when it is not an --ipv6 network. */
  allocator6(n: NetworkRecord): Allocator6 | null {
    return this.allocators6.get(n.Id) ?? null;
  }

  allocator(n: NetworkRecord): Allocator {
    const a = this.allocators.get(n.Id);
    if (!a) throw badRequest(`network ${n.Name} has no address pool`);
    return a;
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
    const driver = this.drivers.named(body.Driver || 'bridge');
    const traits = driver.traits;
    if (traits.made === 'singleton') {
      throw forbidden(`only one instance of "${traits.name}" network is allowed`);
    }
    if (traits.made !== 'local') throw notFound(`plugin "${traits.name}" not found`);
    if (body.EnableIPv6 && !traits.ipv6) throw badRequest(`berth's ${traits.name} driver does not support IPv6 networks`);

    const id = newId();
    const fields = await driver.validate({ id, name, options: { ...(body.Options ?? {}) } }, this.list());

    const { in4, in6 } = splitIpam(body);
    const used = await this.usedSubnets();
    const want = in4[0] ?? {};
    const cfg = want.Subnet
      ? validateIpamConfig(want, this.list().flatMap((n) => n.IPAM.Config.map((c) => c.Subnet)))
      : validateIpamConfig({ ...want, Subnet: chooseSubnet(used) }, []);
    // Docker has no default IPv6 pool: --ipv6 needs a --subnet (its message). A v6 subnet
    // without --ipv6 is kept, and used by nothing, as Docker does.
    let cfg6: IpamConfigRecord | null = null;
    if (in6.length || body.EnableIPv6) {
      const w6 = in6[0] ?? {};
      if (!w6.Subnet) throw new ApiError(400, POOLS_EXHAUSTED_V6);
      cfg6 = validateIpamConfig6(w6, this.list().flatMap((n) => n.IPAM.Config.map((c) => c.Subnet)), name);
      // Shown as given: no Gateway when none was asked for (the first address serves).
      if (!w6.Gateway) cfg6.Gateway = '';
    }

    const rec: NetworkRecord = {
      Id: id,
      Name: name,
      Created: nowRfc3339(),
      Driver: traits.name,
      Scope: 'local',
      EnableIPv6: !!body.EnableIPv6,
      Internal: !!body.Internal,
      Attachable: !!body.Attachable,
      IPAM: { Driver: 'default', Options: body.IPAM?.Options ?? null, Config: cfg6 ? [cfg, cfg6] : [cfg] },
      Options: fields.options,
      Labels: body.Labels ?? {},
      ...(fields.bridgeName ? { bridgeName: fields.bridgeName } : {}),
      ...(fields.parent ? { parent: fields.parent, createdParent: !!fields.createdParent } : {}),
      userSubnet: !!want.Subnet,
    };
    try {
      await driver.createNetwork(rec);
      await this.save(rec);
    } catch (e) {
      // Nothing half-made: take down whatever the driver managed to build.
      this.byId.delete(id);
      this.allocators.delete(id);
      this.allocators6.delete(id);
      await driver.deleteNetwork(rec, { recycle: false }).catch(() => undefined);
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
      this.allocators6.delete(n.Id);
      // (gone from the records already: a kernel object left by a failure here is swept at the next start)
      await this.drivers.of(n).deleteNetwork(n).catch((e) => log.warn(`removing network ${n.Name}: ${(e as Error).message}`));
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

  /** May a container ask for this IPv6 address here (--ip6)? Docker's checks and words. */
  checkRequestedIp6(n: NetworkRecord, ip: string): void {
    if (!this.isUserDefined(n)) {
      throw badRequest('user specified IP address is supported on user defined networks only');
    }
    // (overlay addresses are the manager's; here only the address itself is checked)
    const a = traitsOf(n).addresses === 'cluster' ? newAllocator6(n) : this.allocator6(n);
    if (!a) throw badRequest(`network ${n.Name} has no IPv6 address pool (created without --ipv6): cannot use --ip6 ${ip}`);
    a.check(ip);
  }

  isPredefined(n: NetworkRecord): boolean {
    return isPredefinedNetwork(n);
  }
}

/** An --ipv6 network's IPv6 allocator over its IPAM entry (null for no IPv6 pool). */
function newAllocator6(n: NetworkRecord): Allocator6 | null {
  const c6 = v6Config(n);
  return n.EnableIPv6 && c6 ? new Allocator6({ ...c6, Gateway: gateway6Of(c6) }, { name: n.Name, id: n.Id }) : null;
}

/**
 * Docker's split of a new network's IPAM entries: those whose subnet is IPv6 go to the IPv6
 * pool, the rest to IPv4; berth takes one of each.
 */
function splitIpam(body: any): { in4: any[]; in6: any[] } {
  const ipamIn: any[] = body.IPAM?.Config ?? [];
  const in6 = ipamIn.filter((c) => typeof c?.Subnet === 'string' && isIPv6Cidr(c.Subnet));
  const in4 = ipamIn.filter((c) => !in6.includes(c));
  if (in4.length > 1) throw badRequest('berth supports one IPv4 subnet per network');
  if (in6.length > 1) throw badRequest('berth supports one IPv6 subnet per network');
  return { in4, in6 };
}

function predefined(name: string, driver: NetworkRecord['Driver']): NetworkRecord {
  return {
    Id: newId(), Name: name, Created: nowRfc3339(), Driver: driver, Scope: 'local',
    EnableIPv6: false, Internal: false, Attachable: false,
    IPAM: { Driver: 'default', Options: null, Config: [] }, Options: {}, Labels: {},
  };
}

