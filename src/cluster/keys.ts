// The cluster's keys in etcd. Everything lives under one prefix; workers may read and write
// berth/cluster/ only, managers (etcd's root role) everything.
//
//   berth/ca/cert                       the cluster CA's certificate (PEM)
//   berth/ca/key                        its private key: managers issue their members' certificates
//   berth/ca/tokens                     {"worker": token, "manager": token} (`swarm join-token`)
//   berth/cluster/info                  {"clusterId", "createdAt"}: written once, by the first node
//   berth/cluster/nodes/<node>          {"id","addr","hostname","role"}: a host, until it leaves or `node rm`
//   berth/cluster/alive/<node>          lease-bound to the node's lease: present = Ready, gone = Down
//   berth/cluster/leader                node id, lease-bound: the manager that shows as Leader
//   berth/cluster/networks/<net>        an overlay network (state.ts OverlayNetwork)
//   berth/cluster/names/<name>          net id: a name is taken by one network only (create: CAS)
//   berth/cluster/vnis/<vni>            net id: one VXLAN id per network (CAS)
//   berth/cluster/subnets/<a.b.c.d_n>   net id: one network per subnet (CAS); a dual-stack network
//                                       holds its IPv6 subnet's key too (<fd00:1::_64>, RFC 5952 form)
//   berth/cluster/inuse/<net>           touched by every endpoint made on the network, so that a
//                                       network removal (compare: unchanged) never races one
//   berth/cluster/endpoints/<net>/<ep>  an endpoint (state.ts OverlayEndpoint), lease-bound to its node
//   berth/cluster/addrs/<net>/<ip>      endpoint id, lease-bound: the address is taken (CAS on create);
//                                       on a dual-stack network an endpoint holds two, its IPv4 and
//                                       its IPv6 address (RFC 5952 form), taken in one transaction
//
// Every change of more than one key is one transaction whose compares make it all-or-nothing
// (a name, VNI, subnet or address already taken fails it, and the caller chooses again). When a
// node's lease expires (its host died or is cut off for longer than the TTL), etcd deletes its
// alive key, endpoints and addresses at once; the node re-registers them with a new lease when
// it is back.
const ROOT = 'berth/';
export const CLUSTER = `${ROOT}cluster/`;
export const CA_CERT = `${ROOT}ca/cert`;
export const CA_KEY = `${ROOT}ca/key`;
export const TOKENS = `${ROOT}ca/tokens`;
export const INFO = `${CLUSTER}info`;
export const LEADER = `${CLUSTER}leader`;

export const node = (id: string) => `${CLUSTER}nodes/${id}`;
export const alive = (id: string) => `${CLUSTER}alive/${id}`;
export const network = (id: string) => `${CLUSTER}networks/${id}`;
export const name = (n: string) => `${CLUSTER}names/${n}`;
export const vni = (v: number) => `${CLUSTER}vnis/${v}`;
export const subnet = (cidr: string) => `${CLUSTER}subnets/${cidr.replace('/', '_')}`;
export const inuse = (net: string) => `${CLUSTER}inuse/${net}`;
export const endpoint = (net: string, ep: string) => `${CLUSTER}endpoints/${net}/${ep}`;
export const endpointsOf = (net: string) => `${CLUSTER}endpoints/${net}/`;
export const addr = (net: string, ip: string) => `${CLUSTER}addrs/${net}/${ip}`;

/** What a key under berth/cluster/ is: its kind and the ids in it, or null for keys berth does not know. */
type Parsed =
  | { kind: 'info' } | { kind: 'leader' }
  | { kind: 'node' | 'alive' | 'network' | 'name' | 'vni' | 'subnet' | 'inuse'; id: string }
  | { kind: 'endpoint' | 'addr'; net: string; id: string };

export function parse(key: string): Parsed | null {
  if (!key.startsWith(CLUSTER)) return null;
  const parts = key.slice(CLUSTER.length).split('/');
  if (parts.length === 1) return parts[0] === 'info' ? { kind: 'info' } : parts[0] === 'leader' ? { kind: 'leader' } : null;
  const kinds: Record<string, Parsed['kind']> = {
    nodes: 'node', alive: 'alive', networks: 'network', names: 'name', vnis: 'vni', subnets: 'subnet', inuse: 'inuse',
    endpoints: 'endpoint', addrs: 'addr',
  };
  const kind = kinds[parts[0]];
  if (!kind) return null;
  if (kind === 'endpoint' || kind === 'addr') return parts.length === 3 && parts[1] && parts[2] ? { kind, net: parts[1], id: parts[2] } : null;
  return parts.length === 2 && parts[1] ? { kind, id: parts[1] } as Parsed : null;
}
