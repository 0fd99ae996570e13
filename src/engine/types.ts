// The contracts between the engine and the layers below it (drivers, runtime). Records here
// are what the store keeps; Docker-shaped JSON is built from them in engine/inspect.ts.

export type { Proto } from '../kernel/procnet';
import type { Proto } from '../kernel/procnet';

/** What the bridge driver (and berth's nft table) needs to build, or rebuild after a restart, one bridge network. */
export interface NetworkSpec {
  id: string;            // 64 hex
  name: string;
  bridgeName: string;    // kernel device: "berth0" for the default network, "br-<12 hex of id>" else
  subnet: string;        // CIDR, e.g. "172.18.0.0/16"
  gateway: string;       // e.g. "172.18.0.1" (lives on the bridge)
  internal: boolean;     // no traffic in or out of the bridge except between its containers
  icc: boolean;          // containers on this network may talk to each other
  masquerade: boolean;   // SNAT traffic leaving to other interfaces
  mtu: number;           // 1500 unless com.docker.network.driver.mtu says otherwise
  /** com.berth.network.allow_spoofing: its endpoints may send from any MAC and address. */
  allowSpoofing?: boolean;
  /** --ipv6: the IPv6 subnet and gateway (on the bridge too). */
  subnet6?: string;
  gateway6?: string;
  /** berthd --ip6-masquerade: SNAT IPv6 traffic leaving to other interfaces (off by default, as Docker's ip6tables option). */
  masquerade6?: boolean;
}

/** One container's attachment to one network, as the driver builds it. */
export interface EndpointSpec {
  networkId: string;
  containerId: string;
  endpointId: string;    // 64 hex
  netnsPath: string;     // the container's network namespace file
  ifname: string;        // inside the container: eth0, eth1, ...
  hostIfname: string;    // host end of the veth: "veth" + 7 hex
  address: string;       // "172.18.0.2"
  prefixLen: number;     // 16
  gateway: string;       // "172.18.0.1"
  mac: string;           // "02:42:ac:12:00:02"
  mtu: number;
  defaultRoute: boolean; // only the first-connected (non-internal) network gives the default route
  /** On an --ipv6 network: the container's IPv6 address, prefix and gateway. */
  address6?: string;
  prefixLen6?: number;
  gateway6?: string;
}

/**
 * One published port, or a run of consecutive ports published together (count > 1: host
 * ports hostPort..hostPort+count-1 map to containerPort..containerPort+count-1).
 */
export interface PortMapping {
  proto: Proto;
  hostIp: string;        // "" or "0.0.0.0" = every host address
  hostPort: number;
  containerIp: string;   // IPv4, or IPv6 for an IPv6 host address when the container has one
  containerPort: number;
  count: number;
  bridgeName: string;    // the bridge the container address lives on
}

// ---- records the store keeps ----

export type { IpamConfigRecord } from '../ipam/config';
import type { IpamConfigRecord } from '../ipam/config';

export interface NetworkRecord {
  Id: string;
  Name: string;
  Created: string;          // RFC 3339 with nanoseconds, as Docker prints
  Driver: 'bridge' | 'host' | 'null' | 'macvlan' | 'ipvlan' | 'overlay';
  Scope: 'local' | 'swarm';
  EnableIPv6: boolean;
  Internal: boolean;
  Attachable: boolean;
  IPAM: { Driver: string; Options: Record<string, string> | null; Config: IpamConfigRecord[] };
  Options: Record<string, string>;
  Labels: Record<string, string>;
  bridgeName?: string;      // bridge driver only
  parent?: string;          // macvlan/ipvlan: the host interface containers sit on
  createdParent?: boolean;  // macvlan/ipvlan: berth made that parent (VLAN or private link)
  userSubnet?: boolean;     // --subnet was given (only then may containers ask for an --ip)
  isDefault?: boolean;      // the network called "bridge"
}

export interface EndpointRecord {
  NetworkID: string;
  EndpointID: string;
  IPAddress: string;
  IPPrefixLen: number;
  Gateway: string;
  MacAddress: string;
  Aliases: string[] | null;
  Links: string[] | null;
  IPAMConfig: { IPv4Address?: string; IPv6Address?: string } | null;
  /** On an --ipv6 network (absent otherwise). */
  GlobalIPv6Address?: string;
  GlobalIPv6PrefixLen?: number;
  IPv6Gateway?: string;
  ifname: string;
  hostIfname: string;
  /** The way out of a container on overlay networks only (docker_gwbridge): not shown, no names. */
  hidden?: boolean;
}

export interface ContainerRecord {
  Id: string;
  Name: string;             // without the leading "/"
  Created: string;
  Image: string;            // the reference the user gave, e.g. "busybox"
  ImageID: string;          // sha256:...
  Config: any;              // Docker's container Config, as created (Hostname, Env, Cmd, ...)
  HostConfig: any;          // Docker's HostConfig, as created
  NetworkingConfig: { EndpointsConfig: Record<string, any> };
  /**
   * The network of NetworkMode was disconnected (`network disconnect` of the primary network).
   * As with Docker, NetworkMode stays as it was and the container has no endpoint there until
   * it is connected again (docker-compose 1.x disconnects and reconnects every new container).
   */
  primaryDetached?: boolean;
  /** Stopped or killed by the user: no restart policy starts it again (Docker's HasBeenManuallyStopped). */
  manuallyStopped?: boolean;
  State: {
    Status: 'created' | 'running' | 'paused' | 'restarting' | 'removing' | 'exited' | 'dead';
    Running: boolean; Paused: boolean; Restarting: boolean; OOMKilled: boolean; Dead: boolean;
    Pid: number; ExitCode: number; Error: string; StartedAt: string; FinishedAt: string;
  };
  RestartCount: number;
  netnsPath: string | null;               // while running: the netns file (own, host's, or another container's)
  endpoints: Record<string, EndpointRecord>; // by network name, while running
  ports: PortMapping[];                    // published, while running
  /** Running on a network that publishes no ports (macvlan/ipvlan): Ports is {} as in Docker. */
  noPortMap?: boolean;
  /** While running on a user-defined network: the embedded resolver's upstreams and the gateway 127.0.0.11 goes to. */
  /**
   * Set while the container has the embedded resolver: where its other queries go, and
   * whether it came with a later `network connect` (then resolv.conf does not point at it).
   */
  dns?: { upstreams: string[]; viaConnect?: boolean };
  shimPid?: number;
}
