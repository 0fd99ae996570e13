// The host driver: the one predefined network "host". A container on it shares the host's
// network namespace, so there is nothing to make for the network or for an endpoint.
import type { EndpointSpec, NetworkRecord } from '../types';
import type { DriverFields, DriverTraits, NetworkDriver, NewNetwork } from './driver';
import { badRequest, forbidden, HOST_NETWORK_CONNECT } from '../../util/errors';

export const HOST_TRAITS: DriverTraits = {
  name: 'host', scope: 'local', made: 'singleton', namespace: 'host', addresses: 'none', link: 'none',
  ports: 'none', gatewayBridge: false, defaultRoute: false, dns: false, ipv6: false,
};

/** A driver of one predefined network whose containers get no endpoint (host, null). */
export class SingletonDriver implements NetworkDriver {
  constructor(readonly traits: DriverTraits) {}

  async validate(_req: NewNetwork): Promise<DriverFields> {
    throw forbidden(`only one instance of "${this.traits.name}" network is allowed`);
  }

  async createNetwork(_rec: NetworkRecord): Promise<void> { /* nothing in the kernel */ }
  async deleteNetwork(_rec: NetworkRecord): Promise<void> { /* likewise */ }

  async attach(_rec: NetworkRecord, _ep: EndpointSpec): Promise<void> {
    throw badRequest(HOST_NETWORK_CONNECT);
  }

  async detach(_rec: NetworkRecord, _ep: EndpointSpec): Promise<void> { /* never attached */ }
  async checkNetwork(_rec: NetworkRecord): Promise<string[]> { return []; }
  async checkEndpoint(_rec: NetworkRecord, _ep: EndpointSpec): Promise<string[]> { return []; }
  links(_rec: NetworkRecord): string[] { return []; }
}

export class HostDriver extends SingletonDriver {
  constructor() { super(HOST_TRAITS); }
}
