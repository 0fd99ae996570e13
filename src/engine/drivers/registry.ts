// The driver registry: each driver's name, what it can do (its traits, as data) and how to
// make it. Code outside drivers/ asks the traits ("does this network publish ports?", "where
// do its addresses come from?") or the driver object (`Drivers.of(network)`), never a
// network's driver name: a new driver is one module and one line here.
import type { NetworkRecord } from '../types';
import type { DriverDeps, DriverName, DriverTraits, NetworkDriver } from './driver';
import { BridgeDriver, BRIDGE_TRAITS } from './bridge';
import { HostDriver, HOST_TRAITS } from './host';
import { NullDriver, NULL_TRAITS } from './null';
import { LowerDriver, MACVLAN_TRAITS, IPVLAN_TRAITS, privateParentName, type LowerKind } from './macvlan';
import { OverlayDriver, OVERLAY_TRAITS } from './overlay';
import { notFound } from '../../util/errors';


const REGISTRY: Record<DriverName, { traits: DriverTraits; make(deps: DriverDeps): NetworkDriver }> = {
  bridge: { traits: BRIDGE_TRAITS, make: (d) => new BridgeDriver(d) },
  host: { traits: HOST_TRAITS, make: () => new HostDriver() },
  null: { traits: NULL_TRAITS, make: () => new NullDriver() },
  macvlan: { traits: MACVLAN_TRAITS, make: () => new LowerDriver('macvlan') },
  ipvlan: { traits: IPVLAN_TRAITS, make: () => new LowerDriver('ipvlan') },
  overlay: { traits: OVERLAY_TRAITS, make: (d) => new OverlayDriver(d) },
};

/** The names of every driver berth has, sorted (what `info` lists as network plugins). */
export function driverNames(): DriverName[] {
  return (Object.keys(REGISTRY) as DriverName[]).sort();
}

/** The traits of a driver by name, or undefined for a driver berth does not have. */
export function driverTraits(name: string | undefined): DriverTraits | undefined {
  return name !== undefined && Object.prototype.hasOwnProperty.call(REGISTRY, name) ? REGISTRY[name as DriverName].traits : undefined;
}

/** The traits of a network's driver (a record only ever names a driver berth has). */
export function traitsOf(n: Pick<NetworkRecord, 'Driver'>): DriverTraits {
  return REGISTRY[n.Driver].traits;
}

/** One object per driver, made once with what the drivers need. */
export class Drivers {
  private readonly byName = new Map<DriverName, NetworkDriver>();

  constructor(deps: DriverDeps) {
    for (const name of driverNames()) this.byName.set(name, REGISTRY[name].make(deps));
  }

  /** The driver of a network. */
  of(n: Pick<NetworkRecord, 'Driver'>): NetworkDriver {
    return this.byName.get(n.Driver)!;
  }

  /** A driver by name; berth has no plugins yet, so another name is Docker's "plugin not found". */
  named(name: string): NetworkDriver {
    const d = this.byName.get(name as DriverName);
    if (!d) throw notFound(`plugin "${name}" not found`);
    return d;
  }

  /** Daemon start: each driver's host settings. */
  async init(): Promise<void> { for (const d of this.byName.values()) await d.init?.(); }

  /** Daemon stop: each driver's background work done. */
  async settle(): Promise<void> { for (const d of this.byName.values()) await d.settle?.(); }
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
