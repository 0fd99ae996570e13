// One subnet of a network as the store keeps it (Docker's IPAM.Config entry).
export interface IpamConfigRecord {
  Subnet: string;
  Gateway: string;
  IPRange?: string;
  AuxiliaryAddresses?: Record<string, string>;
}
