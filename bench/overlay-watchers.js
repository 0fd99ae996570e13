#!/usr/bin/env node
// How far one etcd carries berth's cluster: N simulated hosts (lightweight etcd3 clients, each
// watching berth/cluster/ as berthd does, no containers) for N = 10, 100, 1000, against one
// etcd member (Debian's etcd-server) in a network namespace of its own (loopback only). For
// each N: the time from one endpoint put until every watcher has seen it (p50/p99 over 20
// changes), and etcd's load (its CPU time and resident memory while the watchers run).
// Run as root after `npm run build`:   unshare --net sh -c 'ip link set lo up && node bench/overlay-watchers.js'
'use strict';
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { Etcd3 } = require('etcd3');

const PORT = 23791;
const HOST = `http://127.0.0.1:${PORT}`;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const pct = (xs, p) => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]; };
const cpuMs = (pid) => { const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' '); return (Number(f[11]) + Number(f[12])) * 10; };
const rssMb = (pid) => Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) / 1024;

async function main() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-bench-etcd-'));
  const etcd = spawn('etcd', ['--name', 'b', '--data-dir', path.join(dir, 'data'), '--listen-client-urls', HOST, '--advertise-client-urls', HOST,
    '--listen-peer-urls', 'http://127.0.0.1:23801', '--initial-advertise-peer-urls', 'http://127.0.0.1:23801',
    '--initial-cluster', 'b=http://127.0.0.1:23801', '--logger', 'zap', '--log-outputs', path.join(dir, 'etcd.log'),
    '--max-concurrent-streams', '4294967295'], { stdio: 'ignore' });
  try {
    const writer = new Etcd3({ hosts: HOST });
    for (let i = 0; ; i++) { try { await writer.get('x').string(); break; } catch { if (i > 100) throw new Error('etcd did not start'); await sleep(100); } }
    console.log('| simulated hosts | change reaches all: p50 | p99 | etcd CPU per change | etcd memory |');
    console.log('|---:|---:|---:|---:|---:|');
    for (const n of [10, 100, 1000]) {
      // Clients in groups of 50 (one gRPC connection each), a watch per simulated host.
      const clients = Array.from({ length: Math.ceil(n / 50) }, () => new Etcd3({ hosts: HOST }));
      const seen = new Map();
      const watchers = await Promise.all(Array.from({ length: n }, (_, i) =>
        clients[Math.floor(i / 50)].watch().prefix('berth/cluster/').create().then((w) => {
          w.on('put', (kv) => { const k = kv.key.toString(); const s = seen.get(k); if (s && ++s.count === n) s.done(); });
          return w;
        })));
      const times = [];
      const cpu0 = cpuMs(etcd.pid);
      for (let c = 0; c < 20; c++) {
        const key = `berth/cluster/endpoints/net/${n}-${c}`;
        const all = new Promise((done) => seen.set(key, { count: 0, done }));
        const t0 = process.hrtime.bigint();
        await writer.put(key).value(JSON.stringify({ id: `${n}-${c}`, ip: '10.0.1.2' }));
        await all;
        times.push(Number(process.hrtime.bigint() - t0) / 1e6);
      }
      const cpu = (cpuMs(etcd.pid) - cpu0) / 20;
      console.log(`| ${n} | ${pct(times, 50).toFixed(1)} ms | ${pct(times, 99).toFixed(1)} ms | ${cpu.toFixed(1)} ms | ${rssMb(etcd.pid).toFixed(0)} MB |`);
      await Promise.all(watchers.map((w) => w.cancel()));
      for (const c of clients) c.close();
    }
    writer.close();
  } finally {
    etcd.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
main().then(() => process.exit(0), (e) => { console.error(e); process.exit(1); });
