// `berth swarm init | join | join-token | leave`: the cluster behind overlay networks, with the
// docker CLI's words.
import { Client } from './client';
import { stdio, type Io } from './containers';
import { renderRows } from './format';

export async function cmdSwarmInit(client: Client, o: { advertiseAddr?: string; listenAddr?: string }, io: Io = stdio): Promise<number> {
  const nodeId = await client.json('POST', '/swarm/init', { body: { AdvertiseAddr: o.advertiseAddr ?? '', ListenAddr: o.listenAddr ?? '0.0.0.0:2377' } });
  const swarm = await client.json('GET', '/swarm');
  const info = await client.json('GET', '/info');
  io.out(`Swarm initialized: current node (${nodeId}) is now a manager.\n\n`);
  io.out(`To add a worker to this swarm, run the following command:\n\n    berth swarm join --token ${swarm.JoinTokens.Worker} ${info.Swarm.NodeAddr}:2377\n\n`);
  return 0;
}

export async function cmdSwarmJoin(client: Client, addr: string, o: { token?: string; advertiseAddr?: string; listenAddr?: string }, io: Io = stdio): Promise<number> {
  await client.request('POST', '/swarm/join', {
    body: { RemoteAddrs: [addr], JoinToken: o.token ?? '', AdvertiseAddr: o.advertiseAddr ?? '', ListenAddr: o.listenAddr ?? '0.0.0.0:2377' },
  });
  // (as the docker CLI does: the role is the one the token gave, which /info tells)
  const info = await client.json('GET', '/info').catch(() => null);
  io.out(`This node joined a swarm as a ${info?.Swarm?.ControlAvailable ? 'manager' : 'worker'}.\n`);
  return 0;
}

export async function cmdSwarmJoinToken(client: Client, role: string, o: { quiet?: boolean }, io: Io = stdio): Promise<number> {
  const swarm = await client.json('GET', '/swarm');
  const info = await client.json('GET', '/info');
  const token = role === 'manager' ? swarm.JoinTokens.Manager : swarm.JoinTokens.Worker;
  if (o.quiet) io.out(token + '\n');
  else io.out(`To add a ${role} to this swarm, run the following command:\n\n    berth swarm join --token ${token} ${info.Swarm.NodeAddr}:2377\n\n`);
  return 0;
}

export async function cmdSwarmLeave(client: Client, o: { force?: boolean }, io: Io = stdio): Promise<number> {
  await client.request('POST', '/swarm/leave', { query: { force: o.force ? 1 : undefined } });
  io.out('Node left the swarm.\n');
  return 0;
}

const NODE_HEADERS: Record<string, string> = {
  ID: 'ID', Hostname: 'HOSTNAME', Status: 'STATUS', Availability: 'AVAILABILITY', ManagerStatus: 'MANAGER STATUS',
  EngineVersion: 'ENGINE VERSION', Self: 'SELF',
};
const NODE_DEFAULT = '{{.ID}} {{if .Self}}*{{else}} {{end}}\t{{.Hostname}}\t{{.Status}}\t{{.Availability}}\t{{.ManagerStatus}}\t{{.EngineVersion}}';
const title = (s: string) => (s ? s[0].toUpperCase() + s.slice(1) : s);

export async function cmdNodeLs(client: Client, o: { quiet?: boolean; format?: string }, io: Io = stdio): Promise<number> {
  const nodes: any[] = await client.json('GET', '/nodes');
  const self = (await client.json('GET', '/info')).Swarm?.NodeID;
  if (o.quiet) { io.out(nodes.map((n) => n.ID + '\n').join('')); return 0; }
  const rows = nodes.map((n) => ({
    ID: n.ID, Self: n.ID === self, Hostname: n.Description?.Hostname ?? '', Status: title(n.Status?.State ?? ''),
    Availability: title(n.Spec?.Availability ?? ''), ManagerStatus: n.ManagerStatus ? (n.ManagerStatus.Leader ? 'Leader' : title(n.ManagerStatus.Reachability ?? '')) : '',
    EngineVersion: n.Description?.Engine?.EngineVersion ?? '',
  }));
  io.out(renderRows(rows, { format: o.format ?? 'table', defaultTable: NODE_DEFAULT, headers: NODE_HEADERS }));
  return 0;
}

export async function cmdNodeRm(client: Client, nodes: string[], o: { force?: boolean }, io: Io = stdio): Promise<number> {
  for (const n of nodes) {
    await client.request('DELETE', `/nodes/${encodeURIComponent(n)}`, { query: { force: o.force ? 1 : undefined } });
    io.out(n + '\n');
  }
  return 0;
}
