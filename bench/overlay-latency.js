#!/usr/bin/env node
// Issue 16's overlay figure: the time from `run -d --name cN --network ov …` on host A until a
// container on host B resolves cN and gets its ping answered, berth (on etcd) against Docker's
// swarm overlay, in one run, one system after the other. Run through bench/overlay-latency.sh
// (alone, or by bench/run.sh); writes bench/out/overlay_*.txt and overlay_*.dat.
//
// berth: two hosts, each a sandbox of the test harness (network, mount and PID namespaces of
// its own with its berthd), cabled 10.77.0.1 ⇄ 10.77.0.2; `swarm init` on A (A's berthd starts
// the etcd member), `swarm join` on B as a worker, `network create -d overlay --attachable ov`.
// Docker: the reference swarm pair (two Docker 20.10 engines in namespaces refswarm1/2, joined
// as a swarm: shared/reference/docker-swarm-pair.sh), an `--attachable` overlay network.
//
// One clock: on B a long-running pinger container loops `nslookup cN` until the name resolves,
// then `ping -c1 -W1 cN` until it is answered, and prints the kernel's /proc/uptime at each of
// the two moments (busybox's date has no sub-second field); this script reads the same
// /proc/uptime (same kernel, 10 ms steps) just before it starts the CLI's `run -d` on A. The
// pinger is already looping on cN when the run starts (the next round begins only after the
// previous line arrived, plus a pause), so the lookups that fail before cN exists are part of
// the figure, as for a real client waiting for a peer. Those go from each system's embedded
// resolver to the same upstream on host B (bench/nxdomain-dns.py, the pinger's --dns), which
// answers NXDOMAIN at once, as a network's resolver would.
'use strict';
const { spawn, execFile } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { performance } = require('node:perf_hooks');
const { Sandbox } = require('../dist/test/harness/sandbox');

const QUICK = process.argv.includes('--quick');
const R = QUICK ? 5 : 20;           // rounds per system
const MISS_S = 60;                  // a round the pinger has not seen after this long is a miss
const PAUSE_MS = 1000;              // between rounds: the pinger is looping on the next name
const OUT = path.join(__dirname, 'out');
const BERTH = path.join(__dirname, '..', 'bin', 'berth');
const SWARM = process.env.BERTH_SWARM_PAIR || '/work/shared/reference/docker-swarm-pair.sh';
const REFSWARM = (i) => `unix:///run/refswarm/${i}/docker.sock`;
const UPSTREAM = '10.123.0.53';     // host B's upstream DNS (on its loopback), for the pinger's --dns
const NXDNS = path.join(__dirname, 'nxdomain-dns.py');

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const nowMs = () => performance.timeOrigin + performance.now(); // wall clock, sub-millisecond
const uptimeMs = () => Number(fs.readFileSync('/proc/uptime', 'utf8').split(' ')[0]) * 1000;
const log = (s) => process.stderr.write(`overlay-latency: ${s}\n`);

function run(cmd, args, { allowFail = false, timeoutMs = 120_000 } = {}) {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { timeout: timeoutMs, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      if (err && !allowFail) reject(new Error(`${cmd} ${args.join(' ')}: ${stderr || err.message}`));
      else resolve({ code: err ? (err.code ?? 1) : 0, stdout, stderr });
    });
  });
}

/** Retry a command until it succeeds (a network that another host has just made, a daemon starting). */
async function retry(cmd, args, tries = 60) {
  for (let i = 1; ; i++) {
    const r = await run(cmd, args, { allowFail: true });
    if (r.code === 0) return r;
    if (i >= tries) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr}`);
    await sleep(500);
  }
}

// The pinger, in busybox sh: for names P1..Pn in turn, `nslookup` until the name resolves, then
// `ping -c1 -W1` it by name until answered (at most MISS_S seconds in all), and print
// "Pi <resolved> <answered>" in seconds of /proc/uptime (or "Pi miss"). An unanswered echo
// costs -W1's second before the next attempt. nslookup gets the name with a final dot: busybox's
// nslookup stops at the NXDOMAIN of the first search domain (the sandbox hosts' resolv.conf has
// a search line, which containers inherit; this machine's, which the swarm pair's engines read,
// has none); ping resolves through glibc, search list included.
const PINGER = `p=$1; n=$2; i=1
us() { cut -d' ' -f1 /proc/uptime; }
echo "ready $(us)"
while [ $i -le $n ]; do
  got=miss; res=; end=$(( $(date +%s) + ${MISS_S} ))
  while [ $(date +%s) -lt $end ]; do
    if [ -z "$res" ]; then nslookup $p$i. >/dev/null 2>&1 && res=$(us); continue; fi
    if ping -c1 -W1 $p$i >/dev/null 2>&1; then got="$res $(us)"; break; fi
  done
  echo "$p$i $got"; i=$((i + 1))
done
exec sleep 1000000`;

/** Follows a container's log lines; next(prefix) waits for the line that starts with it. */
function follow(cmd, args) {
  const lines = []; const waiters = [];
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'ignore'] });
  let buf = '';
  child.stdout.on('data', (d) => {
    buf += d; let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const l = buf.slice(0, i).replace(/\r$/, ''); buf = buf.slice(i + 1);
      lines.push(l);
      for (const w of [...waiters]) if (l.startsWith(w.prefix)) { waiters.splice(waiters.indexOf(w), 1); clearTimeout(w.timer); w.resolve(l); }
    }
  });
  return {
    next(prefix, limitMs) {
      const seen = lines.find((l) => l.startsWith(prefix));
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve) => {
        const w = { prefix, resolve, timer: null }; waiters.push(w);
        // (cleared when the line comes: a pending timer would keep the process alive)
        w.timer = setTimeout(() => { const k = waiters.indexOf(w); if (k >= 0) { waiters.splice(k, 1); resolve(null); } }, limitMs);
      });
    },
    stop() { child.kill('SIGKILL'); },
  };
}

/**
 * R rounds on one system. cliA(args): the CLI against host A; cliB(args) and followB: host B.
 * Returns per round { run: ms of `run -d`, resolve / ping: ms from just before it until B's
 * nslookup answered / B's ping was answered, both null for a miss }.
 */
async function rounds(label, prefix, cliA, cliB, followB) {
  const pinger = `pinger-${prefix}`;
  const [cmdB, argsB] = cliB(['run', '-d', '--name', pinger, '--network', 'ov', '--dns', UPSTREAM, 'busybox', 'sh', '-c', PINGER, 'sh', prefix, String(R)]);
  await retry(cmdB, argsB); // B may not have the network yet
  const f = followB(pinger);
  const out = [];
  try {
    if (!(await f.next('ready', 60_000))) throw new Error(`${label}: the pinger on B did not start`);
    for (let i = 1; i <= R; i++) {
      await sleep(PAUSE_MS);
      const [cmdA, argsA] = cliA(['run', '-d', '--name', `${prefix}${i}`, '--network', 'ov', 'busybox', 'sleep', '1000000']);
      const u0 = uptimeMs(); const t0 = nowMs();
      const r = await run(cmdA, argsA, { allowFail: true });
      const runMs = nowMs() - t0;
      if (r.code !== 0) { log(`${label} round ${i}: run -d failed: ${r.stderr.trim()}`); out.push({ run: runMs, resolve: null, ping: null, failed: true }); continue; }
      const line = await f.next(`${prefix}${i} `, (MISS_S + 30) * 1000);
      const [, rs, ps] = line ? line.split(' ') : [];
      const hit = ps !== undefined && rs !== 'miss';
      const resolve = hit ? Number(rs) * 1000 - u0 : null; const ping = hit ? Number(ps) * 1000 - u0 : null;
      out.push({ run: runMs, resolve, ping });
      log(`${label} round ${i}: run -d ${runMs.toFixed(1)} ms, B ${hit ? `resolves ${resolve.toFixed(0)} ms, pings ${ping.toFixed(0)} ms` : 'MISS'}`);
      if (!line) break; // the pinger is stuck: the remaining rounds would measure nothing
    }
  } finally { f.stop(); }
  return out;
}

const pct = (xs, p) => { const s = xs.filter((x) => x !== null).sort((a, b) => a - b); return s.length ? s[Math.max(0, Math.ceil((p / 100) * s.length) - 1)] : null; };
const fmt = (v) => (v === null ? '' : v.toFixed(2));

function record(key, res) {
  const pings = res.map((r) => r.ping);
  const put = (k, v) => fs.writeFileSync(path.join(OUT, `overlay_${key}_${k}.txt`), `${v}\n`);
  put('ping_p50', fmt(pct(pings, 50))); put('ping_p99', fmt(pct(pings, 99)));
  put('resolve_p50', fmt(pct(res.map((r) => r.resolve), 50))); put('resolve_p99', fmt(pct(res.map((r) => r.resolve), 99)));
  put('run_p50', fmt(pct(res.map((r) => r.run), 50))); put('run_p99', fmt(pct(res.map((r) => r.run), 99)));
  put('misses', pings.filter((x) => x === null).length + (R - res.length)); put('rounds', R);
  fs.writeFileSync(path.join(OUT, `overlay_${key}.dat`), res.map((r, i) => `${i + 1} ${fmt(r.run)} ${r.ping === null ? 'miss miss' : `${fmt(r.resolve)} ${fmt(r.ping)}`}`).join('\n') + '\n');
}

async function berthSide() {
  const [a, b] = await Promise.all([Sandbox.start(), Sandbox.start()]);
  try {
    await Promise.all([a.importBusybox(), b.importBusybox()]);
    await Sandbox.link(a, b, 'eth1', '10.77.0.1', '10.77.0.2');
    await b.sh(`ip addr add ${UPSTREAM}/32 dev lo && (python3 ${NXDNS} ${UPSTREAM} </dev/null >/dev/null 2>&1 &)`);
    await a.berth(['swarm', 'init', '--advertise-addr', '10.77.0.1']);
    const token = (await a.berth(['swarm', 'join-token', '-q', 'worker'])).stdout.trim();
    await b.berth(['swarm', 'join', '--token', token, '10.77.0.1:2377', '--advertise-addr', '10.77.0.2']);
    await a.berth(['network', 'create', '-d', 'overlay', '--attachable', 'ov']);
    // The CLIs run on the machine against each daemon's socket (reached through the sandbox's
    // root), as the docker CLI reaches the swarm pair's: no nsenter in the timed command.
    const sa = `unix://${a.hostPath(a.socket)}`; const sb = `unix://${b.hostPath(b.socket)}`;
    const berthCli = (s) => (args) => [process.execPath, [BERTH, '-H', s, ...args]];
    const dockerCli = (s) => (args) => ['docker', ['-H', s, ...args]];
    const followB = (cli) => (name) => { const [c, args] = cli(['logs', '-f', name]); return follow(c, args); };
    const own = await rounds('berth', 'c', berthCli(sa), berthCli(sb), followB(berthCli(sb)));
    record('berth', own);
    const viaDocker = await rounds('berth (docker CLI)', 'd', dockerCli(sa), dockerCli(sb), followB(dockerCli(sb)));
    record('berth_dockercli', viaDocker);
  } finally {
    await Promise.all([a.cleanup(), b.cleanup()]);
  }
}

async function dockerSide() {
  if (!fs.existsSync(SWARM)) {
    log(`no swarm pair script at ${SWARM} (set BERTH_SWARM_PAIR): Docker not measured`);
    fs.writeFileSync(path.join(OUT, 'overlay_docker_note.txt'), `not measured: no ${SWARM}\n`);
    return;
  }
  const wasUp = (await run('ip', ['netns', 'list'])).stdout.split('\n').some((l) => l.split(' ')[0] === 'refswarm1');
  await run(SWARM, ['start'], { timeoutMs: 300_000 });
  const d = (i) => (args) => ['docker', ['-H', REFSWARM(i), ...args]];
  const rmAll = async () => {
    for (const i of [1, 2]) {
      const ids = (await run('docker', ['-H', REFSWARM(i), 'ps', '-aq', '--filter', 'label=berth-bench=overlay-latency'], { allowFail: true })).stdout.split('\n').filter(Boolean);
      if (ids.length) await run('docker', ['-H', REFSWARM(i), 'rm', '-f', ...ids], { allowFail: true });
    }
    await run('docker', ['-H', REFSWARM(1), 'network', 'rm', 'ov'], { allowFail: true });
  };
  // host B's upstream DNS, in refswarm2's network namespace
  await run('ip', ['-n', 'refswarm2', 'addr', 'replace', `${UPSTREAM}/32`, 'dev', 'lo']);
  const nxdns = spawn('ip', ['netns', 'exec', 'refswarm2', 'python3', NXDNS, UPSTREAM], { stdio: 'ignore' });
  try {
    await rmAll(); // a previous run that died midway
    await run('docker', ['-H', REFSWARM(1), 'network', 'create', '-d', 'overlay', '--attachable', 'ov']);
    // label every container, so that only this bench's are removed from a pair others may use
    const labelled = (cli) => (args) => { const [c, a] = cli(args); return [c, a[2] === 'run' ? [...a.slice(0, 3), '--label', 'berth-bench=overlay-latency', ...a.slice(3)] : a]; };
    const res = await rounds('Docker', 'c', labelled(d(1)), labelled(d(2)), (name) => follow('docker', ['-H', REFSWARM(2), 'logs', '-f', name]));
    record('docker', res);
  } finally {
    await rmAll();
    nxdns.kill('SIGKILL');
    await run('ip', ['-n', 'refswarm2', 'addr', 'del', `${UPSTREAM}/32`, 'dev', 'lo'], { allowFail: true });
    if (!wasUp) await run(SWARM, ['stop'], { allowFail: true, timeoutMs: 300_000 });
  }
}

async function main() {
  fs.mkdirSync(OUT, { recursive: true });
  for (const f of fs.readdirSync(OUT)) if (f.startsWith('overlay_')) fs.rmSync(path.join(OUT, f));
  const load = () => fs.readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  fs.writeFileSync(path.join(OUT, 'overlay_started.txt'), `${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC, load ${load()}\n`);
  fs.writeFileSync(path.join(OUT, 'overlay_mode.txt'), `${QUICK ? 'quick' : 'full'}\n`);
  await berthSide();
  await dockerSide();
  fs.writeFileSync(path.join(OUT, 'overlay_load_end.txt'), `${load()}\n`);
  for (const f of fs.readdirSync(OUT).filter((x) => x.startsWith('overlay_') && x.endsWith('.txt')).sort()) {
    process.stdout.write(`${f.slice(0, -4)}: ${fs.readFileSync(path.join(OUT, f), 'utf8').trim()}\n`);
  }
}
main().catch((e) => { console.error(e); process.exit(1); });
