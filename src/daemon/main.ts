// berthd: the daemon. Parses dockerd-like flags, brings up the engine (restoring state and
// adopting running containers), then serves the Docker Engine API on a unix socket.
import { Command } from 'commander';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { Engine } from '../engine/engine';
import { createApiServer } from '../api/server';
import { setDebug } from '../kernel/exec';
import { raiseOpenFileLimit } from '../kernel/libc';
import { parsePortsFrom } from '../engine/firewall/ruleset';

export interface DaemonFlags {
  dataRoot: string; execRoot: string; host: string; debug: boolean; bridge: string; bip?: string; insecureRegistries: string[]; portsFrom: string[];
}

export function parseDaemonFlags(argv: string[]): DaemonFlags {
  const program = new Command('berthd')
    .description('berth daemon: container networking with the Docker Engine API')
    .option('--data-root <dir>', 'root of persistent state (images, containers, networks)', '/var/lib/berth')
    .option('--exec-root <dir>', 'root of runtime state (namespaces, runc state, socket)', '/run/berth')
    .option('-H, --host <socket>', 'daemon socket to listen on', 'unix:///run/berth/berth.sock')
    .option('-D, --debug', 'print every kernel command berthd runs', false)
    .option('--bridge <name>', 'bridge device of the default network', 'berth0')
    .option('--bip <cidr>', 'address and prefix of the default bridge, e.g. 172.17.0.1/16')
    .option('--insecure-registry <host>', 'registry to pull from over plain HTTP (repeatable; localhost always is)',
      (v: string, prev: string[]) => [...prev, v], [] as string[])
    .option('--ports-from <cidr>', 'only these sources (besides the host and its containers) reach published ports (repeatable)',
      (v: string, prev: string[]) => [...prev, v], [] as string[])
    .version('0.1.0', '-v, --version')
    .exitOverride();
  program.parse(argv, { from: 'user' });
  const o = program.opts();
  let portsFrom: string[];
  try {
    portsFrom = parsePortsFrom(o.portsFrom ?? []);
  } catch (e) {
    process.stderr.write(`berthd: ${(e as Error).message}\n`);
    throw Object.assign(new Error((e as Error).message), { exitCode: 2 });
  }
  return { dataRoot: o.dataRoot, execRoot: o.execRoot, host: o.host, debug: !!o.debug, bridge: o.bridge, bip: o.bip, insecureRegistries: o.insecureRegistry ?? [], portsFrom };
}

export function socketPathOf(host: string): string {
  if (host.startsWith('unix://')) return host.slice('unix://'.length);
  if (host.startsWith('/')) return host;
  throw new Error(`unsupported host ${host}: berthd listens on unix:///path.sock`);
}

export async function main(): Promise<void> {
  let flags: DaemonFlags;
  try {
    flags = parseDaemonFlags(process.argv.slice(2));
  } catch (e: any) {
    process.exit(e?.exitCode ?? 2);
  }
  setDebug(flags.debug);
  process.on('unhandledRejection', (e) => log(`unhandled rejection: ${(e as Error)?.stack ?? e}`));
  const dataRoot = path.resolve(flags.dataRoot);
  const execRoot = path.resolve(flags.execRoot);
  await fs.mkdir(dataRoot, { recursive: true });
  await fs.mkdir(execRoot, { recursive: true });
  const socketPath = socketPathOf(flags.host);
  await fs.mkdir(path.dirname(socketPath), { recursive: true });

  const files = raiseOpenFileLimit();
  if (flags.debug) log(`open files limit: ${files}`);
  const engine = new Engine({ dataRoot, execRoot, debug: flags.debug, bridgeName: flags.bridge, bip: flags.bip, insecureRegistries: flags.insecureRegistries, portsFrom: flags.portsFrom });
  await engine.init();
  const server = await createApiServer(engine, { socketPath });
  log(`berthd ${engine.version().Version} listening on unix://${socketPath}`);

  const shutdown = (sig: string) => {
    log(`${sig}: shutting down; containers and their DNS resolver (berth-dns) keep running`);
    server.close();
    fs.rm(socketPath, { force: true }).finally(async () => {
      await engine.close().catch(() => undefined);
      process.exit(0);
    });
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

function log(msg: string): void {
  process.stderr.write(`${new Date().toISOString()} berthd: ${msg}\n`);
}

export function runMain(): void {
  main().catch((e) => {
    log(`fatal: ${(e as Error).message}`);
    process.exit(1);
  });
}
