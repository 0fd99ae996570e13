// An etcd member run by berthd (Debian's `etcd` binary): a process of its own, in its own
// session, so it outlives a berthd that restarts or is killed (as the containers do; the next
// berthd adopts it by its pid file), and is stopped only on `swarm leave`. Client and peer
// traffic are TLS with certificates the cluster's CA signed; peers must show one too.
import { spawn } from 'node:child_process';
import { promises as fs, openSync, closeSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { log } from '../util/log';

interface EtcdMember {
  name: string;              // the member's name: the berth node id
  dir: string;               // its directory: data/, certificates, pid file, log
  addr: string;              // the host's advertised address
  clientPort: number;
  peerPort: number;
  /** "name=https://addr:port,…" of every member including this one, and whether the cluster is new. */
  initialCluster: string;
  initialState: 'new' | 'existing';
}

const files = (dir: string) => ({
  data: path.join(dir, 'data'), ca: path.join(dir, 'ca.pem'), cert: path.join(dir, 'member.pem'),
  key: path.join(dir, 'member-key.pem'), pid: path.join(dir, 'etcd.pid'), log: path.join(dir, 'etcd.log'),
});

export async function writeMemberCerts(dir: string, ca: string, cert: string, key: string): Promise<void> {
  const f = files(dir);
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  await fs.writeFile(f.ca, ca);
  await fs.writeFile(f.cert, cert);
  await fs.writeFile(f.key, key, { mode: 0o600 });
}

/** The pid of the member running from `dir`, if one does. */
function runningMember(dir: string): number | null {
  try {
    const pid = Number(readFileSync(files(dir).pid, 'utf8'));
    const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    return cmd.includes(files(dir).data) ? pid : null;
  } catch {
    return null;
  }
}

/** Start the member (or keep the one that runs). */
export async function startMember(m: EtcdMember): Promise<number> {
  const running = runningMember(m.dir);
  if (running) return running;
  const f = files(m.dir);
  const peer = `https://${m.addr}:${m.peerPort}`, client = `https://${m.addr}:${m.clientPort}`;
  const args = [
    '--name', m.name, '--data-dir', f.data,
    '--listen-client-urls', client, '--advertise-client-urls', client,
    '--listen-peer-urls', peer, '--initial-advertise-peer-urls', peer,
    '--initial-cluster', m.initialCluster, '--initial-cluster-state', m.initialState,
    '--initial-cluster-token', 'berth',
    // Clients log in with etcd's users (no client certificate: --trusted-ca-file would demand one).
    '--cert-file', f.cert, '--key-file', f.key,
    '--peer-cert-file', f.cert, '--peer-key-file', f.key, '--peer-trusted-ca-file', f.ca, '--peer-client-cert-auth',
    // (a restarted member that finds data/ ignores the initial-cluster flags: etcd's rule)
    '--auto-compaction-mode', 'revision', '--auto-compaction-retention', '10000',
    '--logger', 'zap', '--log-outputs', f.log,
  ];
  const out = openSync(f.log, 'a');
  try {
    const child = spawn('etcd', args, { detached: true, stdio: ['ignore', out, out] });
    const pid = await new Promise<number>((resolve, reject) => {
      child.once('error', (e) => reject(new Error(`cannot run etcd: ${e.message} (Debian's etcd-server package)`)));
      child.once('spawn', () => resolve(child.pid!));
    });
    child.unref();
    await fs.writeFile(f.pid, String(pid));
    log.info(`etcd member ${m.name} started (pid ${pid}) on ${client}, peers ${peer}`);
    return pid;
  } finally {
    closeSync(out);
  }
}

/** Stop the member and wait for it to be gone. */
export async function stopMember(dir: string): Promise<void> {
  const pid = runningMember(dir);
  if (!pid) return;
  try { process.kill(pid, 'SIGTERM'); } catch { return; }
  for (let i = 0; i < 100; i++) {
    await new Promise((r) => setTimeout(r, 100));
    if (!runningMember(dir)) return;
  }
  try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
}

/** The end of the member's log, for an error message. */
export async function memberLogTail(dir: string): Promise<string> {
  const text = await fs.readFile(files(dir).log, 'utf8').catch(() => '');
  return text.trim().split('\n').slice(-3).join('\n');
}
