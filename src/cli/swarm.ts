// `berth swarm init | join | join-token | leave`: the cluster behind overlay networks, with the
// docker CLI's words.
import { Client } from './client';
import { stdio, type Io } from './containers';

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
  io.out('This node joined a swarm as a worker.\n');
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
