// The firewall, behind one interface: its callers (the bridge driver, the sandboxes, the
// daemon's start) speak of networks, endpoints and published ports, never of nft syntax, so a
// ruleset change or a second backend touches only this folder (as netavark's firewall trait
// has its nftables and iptables backends).
//
// Today's backend is nftables: berth's table `inet berth` (table.ts, its rules in ruleset.ts:
// isolation, masquerade, published ports as map elements, one set of rules for both families)
// and the anti-spoofing table `bridge berth_guard` (antispoof.ts: a container's MAC, IPv4 and
// IPv6 sources, ARP and neighbour discovery).
import type { EndpointSpec, NetworkSpec, PortMapping } from '../types';
import { BerthTable } from './table';
import { SpoofGuard, guardedPort } from './antispoof';

export interface Firewall {
  /**
   * Daemon start: what is in the kernel keeps serving the containers that kept running; the
   * firewall records what the daemon adds back until sync().
   */
  init(): Promise<void>;
  /** Daemon start done: the kernel holds what was recorded, changed in one transaction per table. */
  sync(): Promise<void>;
  /** A bridge network's isolation, masquerade and gateway rules. */
  addNetwork(net: NetworkSpec): Promise<void>;
  removeNetwork(net: NetworkSpec): Promise<void>;
  /** An endpoint on a bridge network: it may send only from its own MAC and address, unless the network allows spoofing. */
  addEndpoint(net: NetworkSpec, ep: EndpointSpec): Promise<void>;
  /** Taking away what is not there is fine. */
  removeEndpoint(net: NetworkSpec, ep: EndpointSpec): Promise<void>;
  /** Published ports, reaching containers' addresses on their bridges. */
  publish(ms: PortMapping[]): Promise<void>;
  unpublish(ms: PortMapping[]): Promise<void>;
}

interface FirewallOptions {
  /** berthd --ports-from: the sources outside the bridges that may reach published ports (empty: any). */
  portsFrom?: string[];
  /** berthd --ip6-masquerade: dual-stack networks' IPv6 traffic leaving is masqueraded too. */
  masquerade6?: boolean;
}

/** The nftables backend. */
export class NftFirewall implements Firewall {
  private readonly table: BerthTable;
  private readonly guard = new SpoofGuard();

  private readonly masquerade6: boolean;

  constructor(opts: FirewallOptions = {}) {
    this.masquerade6 = !!opts.masquerade6;
    this.table = new BerthTable({ portsFrom: opts.portsFrom ?? [] });
  }

  async init(): Promise<void> {
    await this.table.init();
    await this.guard.init();
  }

  async sync(): Promise<void> {
    await this.table.sync();
    await this.guard.sync();
  }

  async addNetwork(net: NetworkSpec): Promise<void> {
    await this.table.addNetwork({ ...net, masquerade6: this.masquerade6 });
  }

  async removeNetwork(net: NetworkSpec): Promise<void> {
    await this.table.removeNetwork({ ...net, masquerade6: this.masquerade6 });
  }

  async addEndpoint(net: NetworkSpec, ep: EndpointSpec): Promise<void> {
    if (net.allowSpoofing || !ep.hostIfname) return;
    await this.guard.add(guardedPort(ep));
  }

  async removeEndpoint(_net: NetworkSpec, ep: EndpointSpec): Promise<void> {
    if (ep.hostIfname) await this.guard.remove(ep.hostIfname);
  }

  async publish(ms: PortMapping[]): Promise<void> {
    await this.table.publish(ms);
  }

  async unpublish(ms: PortMapping[]): Promise<void> {
    await this.table.unpublish(ms);
  }
}
