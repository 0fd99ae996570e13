// berth-dns: the embedded resolver as a process of its own, beside berthd (as aardvark-dns is
// beside netavark). berthd starts it; it leaves berthd's process group, so it outlives
// berthd's stop, restart or SIGKILL and containers' names keep resolving meanwhile; berthd
// finds it again through its control socket under the exec-root.
//
//   berth-dns --dir <exec-root>/dns [--debug]
import * as fs from 'node:fs';
import { ResolverServer } from './server';
import { libc, raiseOpenFileLimit } from '../kernel/libc';
import { setDebug } from '../kernel/exec';
import { log, setLogProgram } from '../util/log';

async function main(argv: string[]): Promise<void> {
  setLogProgram('berth-dns', true);
  const i = argv.indexOf('--dir');
  const dir = i >= 0 ? argv[i + 1] : undefined;
  if (!dir) {
    log.error('usage: berth-dns --dir DIR [--debug]');
    process.exit(2);
  }
  process.title = 'berth-dns';
  // Out of berthd's process group: a Ctrl-C or a signal to berthd's group is not for us. (Not
  // a session of our own: see client.ts.) A hangup or interrupt is ignored for the same reason.
  libc().setpgid(0, 0);
  process.on('SIGINT', () => undefined);
  setDebug(argv.includes('--debug'));
  // Two sockets per container: the usual soft limit of 1024 would cap it near 500.
  raiseOpenFileLimit();
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const server = new ResolverServer(dir, () => process.exit(0));
  process.on('SIGTERM', () => { server.log('SIGTERM: exiting'); process.exit(0); });
  process.on('SIGHUP', () => undefined);
  process.on('unhandledRejection', (e) => server.log(`unhandled rejection: ${(e as Error)?.stack ?? e}`));
  await server.start();
  server.log(`pid ${process.pid} build ${server.build} serving`);
}

export function runMain(): void {
  main(process.argv.slice(2)).catch((e) => {
    log.error(`fatal: ${(e as Error).message}`);
    process.exit(1);
  });
}

if (require.main === module) runMain();
