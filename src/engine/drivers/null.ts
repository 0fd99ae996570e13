// The null driver: the one predefined network "none". A container on it has a network
// namespace of its own with nothing but loopback, which the sandbox makes; the driver makes nothing.
import type { DriverTraits } from './driver';
import { SingletonDriver } from './host';

export const NULL_TRAITS: DriverTraits = {
  name: 'null', scope: 'local', made: 'singleton', namespace: 'none', addresses: 'none', link: 'none',
  ports: 'none', gatewayBridge: false, defaultRoute: false, dns: false, ipv6: false,
};

export class NullDriver extends SingletonDriver {
  constructor() { super(NULL_TRAITS); }
}
