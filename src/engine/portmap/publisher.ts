// Published ports: elements of berth's nft port maps (see firewall/ruleset.ts). No proxy
// process, no per-port rule: a range of 5000 ports is one interval element.
import type { PortMapping } from '../types';
import type { Firewall } from '../firewall/firewall';

export class PortPublisher {
  constructor(private readonly fw: Firewall) {}

  async init(): Promise<void> { /* the Firewall owns the table; nothing of our own to set up */ }

  publish(ms: PortMapping[]): Promise<void> { return this.fw.publish(ms); }

  unpublish(ms: PortMapping[]): Promise<void> { return this.fw.unpublish(ms); }
}
