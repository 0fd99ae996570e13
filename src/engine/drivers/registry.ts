// The driver registry: what each network driver can do, as data. Code outside drivers/ asks
// these traits ("does this network publish ports?", "where do its addresses come from?"),
// never a network's driver name, so a new driver is one module and one entry here.
import type { NetworkRecord } from '../types';
import { privateParentName, type LowerKind } from './macvlan';

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
}

const TRAITS: Record<DriverName, DriverTraits> = {
  bridge: {
    name: 'bridge', scope: 'local', made: 'local', namespace: 'own', addresses: 'local', link: 'veth',
    ports: 'direct', gatewayBridge: false, defaultRoute: true, dns: true,
  },
  macvlan: {
    name: 'macvlan', scope: 'local', made: 'local', namespace: 'own', addresses: 'local', link: 'sub-interface',
    ports: 'none', gatewayBridge: false, defaultRoute: true, dns: true,
  },
  ipvlan: {
    name: 'ipvlan', scope: 'local', made: 'local', namespace: 'own', addresses: 'local', link: 'sub-interface',
    ports: 'none', gatewayBridge: false, defaultRoute: true, dns: true,
  },
  overlay: {
    name: 'overlay', scope: 'swarm', made: 'swarm', namespace: 'own', addresses: 'cluster', link: 'veth',
    ports: 'gateway-bridge', gatewayBridge: true, defaultRoute: false, dns: true,
  },
  host: {
    name: 'host', scope: 'local', made: 'singleton', namespace: 'host', addresses: 'none', link: 'none',
    ports: 'none', gatewayBridge: false, defaultRoute: false, dns: false,
  },
  null: {
    name: 'null', scope: 'local', made: 'singleton', namespace: 'none', addresses: 'none', link: 'none',
    ports: 'none', gatewayBridge: false, defaultRoute: false, dns: false,
  },
};

/** The names of every driver berth has, sorted (what `info` lists as network plugins). */
export function driverNames(): DriverName[] {
  return (Object.keys(TRAITS) as DriverName[]).sort();
}

/** The traits of a driver by name, or undefined for a driver berth does not have. */
export function driverTraits(name: string | undefined): DriverTraits | undefined {
  return name !== undefined && Object.prototype.hasOwnProperty.call(TRAITS, name) ? TRAITS[name as DriverName] : undefined;
}

/** The traits of a network's driver (a record only ever names a driver berth has). */
export function traitsOf(n: Pick<NetworkRecord, 'Driver'>): DriverTraits {
  return TRAITS[n.Driver];
}

const PREDEFINED = new Set(['bridge', 'host', 'none']);

/**
 * One of the networks every daemon has: the default bridge, host and none (a network of
 * another driver may not take those names while they exist).
 */
export function isPredefinedNetwork(n: NetworkRecord): boolean {
  return PREDEFINED.has(n.Name) && (n.isDefault === true || traitsOf(n).made === 'singleton');
}

/**
 * A sub-interface network on a private parent of its own (no -o parent): its containers
 * reach only each other.
 */
export function onPrivateParent(n: NetworkRecord): boolean {
  return traitsOf(n).link === 'sub-interface' && !!n.createdParent && n.parent === privateParentName(n.Driver as LowerKind, n.Id);
}
