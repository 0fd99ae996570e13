// berth-relay: the IPv6 side of published ports whose container has no IPv6 address (see
// protocol.ts). berthd starts it; like berth-dns it leaves berthd's process group, so it
// outlives berthd's stop, restart or SIGKILL and the ports keep answering meanwhile; berthd
// finds it again through its control socket under the exec-root.
//
//   berth-relay --dir <exec-root>/relay
import * as fs from 'node:fs';
import * as net from 'node:net';
import { Relay } from './server';
import { buildId, controlSocket, parsePorts, parseRequest, stateFile, type Hello, type Reply, type Request } from './protocol';
import { libc, raiseOpenFileLimit } from '../kernel/libc';
import { log, setLogProgram } from '../util/log';

/** The longest request accepted (a table of many thousand ports fits). */
const MAX_REQUEST = 16 * 1024 * 1024;

async function main(argv: string[]): Promise<void> {
  setLogProgram('berth-relay', true);
  const i = argv.indexOf('--dir');
  const dir = i >= 0 ? argv[i + 1] : undefined;
  if (!dir) {
    log.error('usage: berth-relay --dir DIR');
    process.exit(2);
  }
  process.title = 'berth-relay';
  libc().setpgid(0, 0);
  process.on('SIGINT', () => undefined);
  process.on('SIGHUP', () => undefined);
  raiseOpenFileLimit();
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const relay = new Relay(dir, (m) => log.warn(m));
  const build = buildId();
  // Listen again on what the last relay listened on, before answering berthd.
  try {
    const raw = JSON.parse(fs.readFileSync(stateFile(dir), 'utf8'));
    const saved = { ports: parsePorts(raw.ports), hostOnly: raw.hostOnly === true };
    await relay.sync(saved.ports, saved.hostOnly).catch((e) => log.warn(`not listening again on the saved ports: ${(e as Error).message}`));
  } catch { /* no table saved yet */ }

  let queue: Promise<unknown> = Promise.resolve();
  const handle = async (req: Request): Promise<Reply> => {
    switch (req.op) {
      case 'hello': {
        const hello: Hello = { pid: process.pid, build, ports: relay.ports() };
        return { ok: true, data: hello };
      }
      case 'exit':
        setImmediate(() => { void relay.closeAll().then(() => process.exit(0)); });
        return { ok: true };
      case 'sync':
        await relay.sync(req.ports, req.hostOnly);
        return { ok: true };
    }
  };
  const sockPath = controlSocket(dir);
  fs.rmSync(sockPath, { force: true });
  const server = net.createServer((sock) => {
    let buf = '';
    sock.on('error', () => undefined);
    sock.on('data', (d) => {
      buf += d.toString('utf8');
      if (buf.length > MAX_REQUEST) { sock.destroy(); return; }
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      const line = buf.slice(0, nl);
      sock.removeAllListeners('data');
      // One request at a time, in the order they came.
      queue = queue.then(async () => {
        let reply: Reply;
        try { reply = await handle(parseRequest(JSON.parse(line))); } catch (e) { reply = { ok: false, error: (e as Error).message }; }
        sock.end(JSON.stringify(reply) + '\n');
      });
    });
  });
  await new Promise<void>((resolve, reject) => { server.once('error', reject); server.listen(sockPath, resolve); });
  fs.chmodSync(sockPath, 0o600);
  process.on('SIGTERM', () => { void relay.closeAll().then(() => process.exit(0)); });
  log.info(`pid ${process.pid} build ${build} relaying ${relay.ports().length} ports`);
}

export function runMain(): void {
  main(process.argv.slice(2)).catch((e) => {
    log.error(`fatal: ${(e as Error).message}`);
    process.exit(1);
  });
}

if (require.main === module) runMain();
