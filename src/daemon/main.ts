// berthd: the daemon. Parses dockerd-like flags, brings up the engine (restoring state and
// adopting running containers), then serves the Docker Engine API on a unix socket.
import { Command } from 'commander';
import type { Server } from 'node:http';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { Engine } from '../engine/engine';
import { createApiServer } from '../api/server';
import { setDebug } from '../kernel/exec';
import { raiseOpenFileLimit } from '../kernel/libc';
import { parsePortsFrom } from '../engine/firewall/ruleset';
import { checkTls, groupId, parseListener, type Listener } from './listen';
import { log, setLogProgram } from '../util/log';
import { DEFAULT_HOST } from '../util/defaults';
import { parseClusterFlags, parseTtl, type ClusterFlags } from './clusterflags';
import { canonicalCidr6, reservedSubnet6, tryParseSubnet6 } from '../ipam';

const DEFAULT_GROUP = 'berth';

interface DaemonFlags {
  dataRoot: string; execRoot: string; hosts: string[]; group: string; groupGiven: boolean;
  tlsverify: boolean; tlscacert?: string; tlscert?: string; tlskey?: string; debug: boolean; bridge: string; bip?: string; insecureRegistries: string[];
  portsFrom: string[];
  fixedCidrV6?: string; ip6Masquerade: boolean;
  cluster: ClusterFlags | null; clusterTtl?: number;
  /** --default-runtime and --add-runtime NAME=PATH (dockerd's flags). */
  defaultRuntime?: string; addRuntimes: Record<string, string>;
}

function parseDaemonFlags(argv: string[]): DaemonFlags {
  const program = new Command('berthd')
    .description('berth daemon: container networking with the Docker Engine API')
    .option('--data-root <dir>', 'root of persistent state (images, containers, networks)', '/var/lib/berth')
    .option('--exec-root <dir>', 'root of runtime state (namespaces, runc state, socket)', '/run/berth')
    .option('-H, --host <socket>', `daemon socket to listen on (repeatable; default ${DEFAULT_HOST}; tcp://ADDRESS:PORT only with --tlsverify)`,
      (v: string, prev: string[]) => [...prev, v], [] as string[])
    .option('-G, --group <name>', 'group that may use the unix socket (mode 0660)', DEFAULT_GROUP)
    .option('--tlsverify', 'serve tcp:// listeners over TLS and accept only clients with a certificate signed by --tlscacert', false)
    .option('--tlscacert <file>', 'CA certificate that client certificates must be signed by')
    .option('--tlscert <file>', 'the daemon\'s TLS certificate')
    .option('--tlskey <file>', 'the daemon\'s TLS key')
    .option('-D, --debug', 'print every kernel command berthd runs', false)
    .option('--bridge <name>', 'bridge device of the default network', 'berth0')
    .option('--bip <cidr>', 'address and prefix of the default bridge, e.g. 172.17.0.1/16')
    .option('--ipv6', 'make the default bridge dual-stack (with --fixed-cidr-v6)', false)
    .option('--fixed-cidr-v6 <cidr>', 'IPv6 subnet of the default bridge, e.g. fd00:17::/64 (with --ipv6)')
    .option('--ip6-masquerade', 'masquerade IPv6 traffic leaving dual-stack bridge networks (off: routed as is, as Docker without --ip6tables)', false)
    .option('--insecure-registry <host>', 'registry to pull from over plain HTTP (repeatable; localhost always is)',
      (v: string, prev: string[]) => [...prev, v], [] as string[])
    .option('--ports-from <cidr>', 'only these sources (besides the host and its containers) reach published ports (repeatable)',
      (v: string, prev: string[]) => [...prev, v], [] as string[])
    .option('--cluster-store <url>', 'etcd://HOST:PORT[,HOST:PORT…]: the etcd cluster behind overlay networks (instead of swarm init/join)')
    .option('--cluster-advertise <addr>', 'this host\'s address for the other hosts of --cluster-store')
    .option('--cluster-store-opt <k=v>', 'kv.cacertfile=FILE, kv.certfile=FILE, kv.keyfile=FILE: TLS to --cluster-store (repeatable)',
      (v: string, prev: string[]) => [...prev, v], [] as string[])
    .option('--cluster-ttl <seconds>', 'how long a host that stopped answering stays Ready (its etcd lease)')
    .option('--default-runtime <name>', 'OCI runtime of containers that name none (default: runc)')
    .option('--add-runtime <name=path>', 'an OCI runtime containers may name with --runtime (repeatable)',
      (v: string, prev: string[]) => [...prev, v], [] as string[])
    .version('0.1.0', '-v, --version')
    .exitOverride();
  program.parse(argv, { from: 'user' });
  const o = program.opts();
  let portsFrom: string[];
  let cluster: ClusterFlags | null, clusterTtl: number | undefined;
  let fixedCidrV6: string | undefined;
  const addRuntimes: Record<string, string> = {};
  try {
    portsFrom = parsePortsFrom(o.portsFrom ?? []);
    cluster = parseClusterFlags(o.clusterStore, o.clusterAdvertise, o.clusterStoreOpt ?? []);
    clusterTtl = parseTtl(o.clusterTtl);
    fixedCidrV6 = parseFixedCidrV6(!!o.ipv6, o.fixedCidrV6);
    for (const a of o.addRuntime ?? []) {
      const eq = a.indexOf('=');
      if (eq <= 0 || eq === a.length - 1) throw new Error(`--add-runtime ${a}: want NAME=PATH`);
      addRuntimes[a.slice(0, eq)] = a.slice(eq + 1);
    }
  } catch (e) {
    log.error((e as Error).message);
    throw Object.assign(new Error((e as Error).message), { exitCode: 2 });
  }
  return {
    dataRoot: o.dataRoot, execRoot: o.execRoot, hosts: o.host.length ? o.host : [DEFAULT_HOST],
    group: o.group, groupGiven: program.getOptionValueSource('group') === 'cli',
    tlsverify: !!o.tlsverify, tlscacert: o.tlscacert, tlscert: o.tlscert, tlskey: o.tlskey, debug: !!o.debug, bridge: o.bridge, bip: o.bip, insecureRegistries: o.insecureRegistry ?? [],
    portsFrom, cluster, clusterTtl, defaultRuntime: o.defaultRuntime, addRuntimes, fixedCidrV6, ip6Masquerade: !!o.ip6Masquerade };
}

/** --ipv6 and --fixed-cidr-v6 go together (berth has no default IPv6 pool, as Docker has none). */
function parseFixedCidrV6(ipv6: boolean, cidr: string | undefined): string | undefined {
  if (ipv6 && !cidr) throw new Error('--ipv6 needs --fixed-cidr-v6 (the default bridge\'s IPv6 subnet, e.g. fd00:17::/64): berth has no default IPv6 pool');
  if (!ipv6 && cidr) throw new Error('--fixed-cidr-v6 needs --ipv6');
  if (!cidr) return undefined;
  if (!tryParseSubnet6(cidr)) throw new Error(`invalid --fixed-cidr-v6 ${cidr}: want an IPv6 CIDR such as fd00:17::/64`);
  const reserved = reservedSubnet6(cidr);
  if (reserved) throw new Error(`invalid --fixed-cidr-v6: ${reserved}`);
  return canonicalCidr6(cidr);
}


async function main(): Promise<void> {
  setLogProgram('berthd', true);
  let flags: DaemonFlags;
  try {
    flags = parseDaemonFlags(process.argv.slice(2));
  } catch (e: any) {
    process.exit(e?.exitCode ?? 2);
  }
  setDebug(flags.debug);
  // Every listener is checked before anything starts: a refused one leaves nothing behind.
  const listeners: Listener[] = flags.hosts.map(parseListener);
  const tlsFiles = checkTls(listeners, flags);
  const read = (flag: string, f: string) => fs.readFile(f).catch((e) => { throw new Error(`--${flag} ${f}: ${(e as Error).message}`); });
  const tls = tlsFiles ? {
    ca: await read('tlscacert', tlsFiles.ca), cert: await read('tlscert', tlsFiles.cert), key: await read('tlskey', tlsFiles.key),
  } : undefined;
  // Docker's rule: the default group may be missing (the socket stays root's); a named one may not.
  const gid = groupId(flags.group);
  if (gid === null && flags.groupGiven) throw new Error(`group ${flags.group} not found (--group)`);
  if (gid === null) log.warn(`group ${flags.group} not found: the API socket is root's only (scripts/install.sh makes the group)`);
  process.on('unhandledRejection', (e) => log.error(`unhandled rejection: ${(e as Error)?.stack ?? e}`));
  const dataRoot = path.resolve(flags.dataRoot);
  const execRoot = path.resolve(flags.execRoot);
  await fs.mkdir(dataRoot, { recursive: true });
  await fs.mkdir(execRoot, { recursive: true });
  for (const l of listeners) if (l.kind === 'unix') await fs.mkdir(path.dirname(l.path), { recursive: true });

  const files = raiseOpenFileLimit();
  log.debug(`open files limit: ${files}`);
  const cf = flags.cluster;
  const store = cf ? {
    hosts: cf.hosts, advertise: cf.advertise,
    ca: cf.cacertfile ? await read('cluster-store-opt kv.cacertfile', cf.cacertfile) : undefined,
    cert: cf.certfile ? await read('cluster-store-opt kv.certfile', cf.certfile) : undefined,
    key: cf.keyfile ? await read('cluster-store-opt kv.keyfile', cf.keyfile) : undefined,
  } : undefined;
  const engine = new Engine({ dataRoot, execRoot, debug: flags.debug, bridgeName: flags.bridge, bip: flags.bip, insecureRegistries: flags.insecureRegistries, portsFrom: flags.portsFrom,
    fixedCidrV6: flags.fixedCidrV6, ip6Masquerade: flags.ip6Masquerade,
    cluster: { ttl: flags.clusterTtl, store }, runtimes: { default: flags.defaultRuntime, add: flags.addRuntimes } });
  await engine.init();
  const servers: Server[] = [];
  for (const l of listeners) {
    if (l.kind === 'unix') {
      servers.push(await createApiServer(engine, { socketPath: l.path, socketGid: gid ?? undefined }));
      log.info(`berthd ${engine.system.version().Version} listening on unix://${l.path}`);
    } else {
      servers.push(await createApiServer(engine, { tcp: { host: l.host, port: l.port, tls: tls! } }));
      log.info(`berthd ${engine.system.version().Version} listening on tcp://${l.host}:${l.port} (TLS, client certificates verified)`);
    }
  }
  const sockets = listeners.flatMap((l) => (l.kind === 'unix' ? [l.path] : []));

  const shutdown = (sig: string) => {
    log.info(`${sig}: shutting down; containers and their DNS resolver (berth-dns) keep running`);
    for (const s of servers) s.close();
    Promise.all(sockets.map((p) => fs.rm(p, { force: true }))).finally(async () => {
      await engine.close().catch(() => undefined);
      process.exit(0);
    });
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

export function runMain(): void {
  main().catch((e) => {
    log.error(`fatal: ${(e as Error).message}`);
    process.exit(1);
  });
}
