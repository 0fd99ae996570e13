// The one contract every network driver keeps (in the manner of netavark's driver trait and
// the CNI plugins' ADD/DEL/CHECK): validate a new network's options, make and remove the
// network's kernel objects, attach and detach an endpoint (both idempotent; a detach of what
// is not there succeeds), check what the kernel holds against what it should, and say what it
// can do as data (its traits). The registry (registry.ts) maps driver names to these objects;
// nothing outside drivers/ knows which driver a network has.
import type { EndpointSpec, NetworkRecord } from '../types';
import type { Firewall } from '../firewall/firewall';
import type { OverlaySpec } from './overlay';

export type DriverName = NetworkRecord['Driver'];

export interface DriverTraits {
  readonly name: DriverName;
  /** Docker's scope: local to this host, or the swarm's (the cluster's manager keeps it). */
  readonly scope: 'local' | 'swarm';
  /**
   * How networks of it come to be: one predefined instance (host, null), `network create` on
   * this host, or through the swarm's manager.
   */
  readonly made: 'singleton' | 'local' | 'swarm';
  /** The container's network namespace: its own, the host's, or its own with nothing but lo. */
  readonly namespace: 'own' | 'host' | 'none';
  /** Where an endpoint's address comes from: this host's allocator or the cluster's manager. */
  readonly addresses: 'local' | 'cluster' | 'none';
  /** What a container's interface on it is: a veth (host end named by berth) or a sub-interface of a parent. */
  readonly link: 'veth' | 'sub-interface' | 'none';
  /**
   * Published ports: on the network itself, through the docker_gwbridge endpoint, or none
   * (macvlan/ipvlan, as with Docker: -p is accepted and does nothing).
   */
  readonly ports: 'direct' | 'gateway-bridge' | 'none';
  /** Its way out of the host is docker_gwbridge, a hidden endpoint of its own (overlay). */
  readonly gatewayBridge: boolean;
  /** Its endpoints may carry the container's default route (an overlay network has no gateway). */
  readonly defaultRoute: boolean;
  /** A user-defined network of it gives containers the embedded resolver (Docker's rule). */
  readonly dns: boolean;
  /** Its networks may be dual-stack (`network create --ipv6`); others refuse --ipv6 clearly. */
  readonly ipv6: boolean;
}

/** A network being created: its id and name are decided, its options are the user's. */
export interface NewNetwork {
  id: string;
  name: string;
  options: Record<string, string>;
}

/** What a driver's validate() adds to the network's record: its options normalised, its own fields. */
export interface DriverFields {
  options: Record<string, string>;
  bridgeName?: string;
  parent?: string;
  createdParent?: boolean;
}

/** What drivers need from the layers beside them, handed over once by the composition root. */
export interface DriverDeps {
  firewall: Firewall;
  /** An overlay network as this host must build it (VNI, peers, remote MACs), from the cluster state. */
  overlaySpec(networkId: string): OverlaySpec;
}

export interface NetworkDriver {
  readonly traits: DriverTraits;
  /**
   * Check a new network's options (Docker's messages), given the networks that exist; returns
   * the record's driver fields or throws a 4xx naming the problem. Makes nothing.
   */
  validate(net: NewNetwork, existing: NetworkRecord[]): Promise<DriverFields>;
  /**
   * Make the network's kernel objects; idempotent, so a restarted daemon calls it again
   * (`restoring`: at a daemon start, where a driver may leave a network it cannot make as it
   * is, to fail its containers' starts with a clear error, rather than fail the daemon).
   */
  createNetwork(net: NetworkRecord, opts?: { restoring?: boolean }): Promise<void>;
  /** Remove them; `recycle: false` when undoing a half-made network. Nothing there is fine. */
  deleteNetwork(net: NetworkRecord, opts?: { recycle?: boolean }): Promise<void>;
  /** Make the container's interface on the network; idempotent (a restart re-attaches). */
  attach(net: NetworkRecord, ep: EndpointSpec): Promise<void>;
  /** Take it away; an interface already gone is fine. */
  detach(net: NetworkRecord, ep: EndpointSpec): Promise<void>;
  /** What differs between the kernel and what the network should be ([] when nothing does). */
  checkNetwork(net: NetworkRecord): Promise<string[]>;
  /** Likewise for one endpoint. */
  checkEndpoint(net: NetworkRecord, ep: EndpointSpec): Promise<string[]>;
  /** The host links the network owns (a restart's sweep keeps these). */
  links(net: NetworkRecord): string[];
  /** Daemon start, before any network is restored: what the driver needs of the host. */
  init?(): Promise<void>;
  /** Daemon stop: wait for work the driver does in the background. */
  settle?(): Promise<void>;
}

export const OPT_MTU = 'com.docker.network.driver.mtu';

/** The MTU a network's interfaces get: com.docker.network.driver.mtu, else 1500. */
export function networkMtu(n: NetworkRecord): number {
  return n.Options[OPT_MTU] ? Number(n.Options[OPT_MTU]) : 1500;
}
