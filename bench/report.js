// Turns bench/out (written by bench/run.sh and bench/dns.sh) into bench/RESULTS.md and
// bench/chart.svg. With --record, a full run is first appended to bench/history.jsonl (its
// machine, versions and figures), and RESULTS.md shows the spread (min, median, max) of the
// last full runs in the history; a quick run is never recorded and is rendered alone, marked
// as such. A full run also rewrites README.md's Benchmarks table (between its bench-table
// markers) from the same runs. Plain Node, no dependencies.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const OUT = path.join(__dirname, 'out');
const HISTORY = path.join(__dirname, 'history.jsonl');
const LAST = 5; // full runs shown in the spread

const read = (f) => { try { return fs.readFileSync(path.join(OUT, f), 'utf8').trim(); } catch { return ''; } };
const dat = (k) => read(`${k}.dat`).split('\n').filter(Boolean).map((l) => l.split(' ').map(Number));
const median = (a) => { const s = a.filter((x) => x !== null && Number.isFinite(x)).sort((x, y) => x - y); return s.length ? s[Math.floor((s.length - 1) / 2)] : null; };

/** Least-squares slope of y over x. */
function slope(points) {
  if (points.length < 2) return null;
  const n = points.length; const mx = points.reduce((s, p) => s + p[0], 0) / n; const my = points.reduce((s, p) => s + p[1], 0) / n;
  const sxx = points.reduce((s, p) => s + (p[0] - mx) ** 2, 0);
  return sxx ? points.reduce((s, p) => s + (p[0] - mx) * (p[1] - my), 0) / sxx : null;
}

/** This run's figures: every number in bench/out, strings kept apart, derived figures added. */
function collect() {
  const figures = {}; const notes = {};
  for (const f of fs.readdirSync(OUT).filter((x) => x.endsWith('.txt'))) {
    const k = f.slice(0, -4); const v = read(f);
    if (/^-?\d+(\.\d+)?$/.test(v)) figures[k] = Number(v); else notes[k] = v;
  }
  for (const sys of ['berth', 'docker']) {
    const pss = dat(`${sys}_pss_scale`);
    if (pss.length >= 2) figures[`${sys}_pss_slope_kb`] = Math.round(slope(pss));
    if (pss.length) figures[`${sys}_pss_loaded_kb`] = pss.at(-1)[1];
    const s = dat(`${sys}_scale_attach`);
    if (s.length >= 10) figures[`${sys}_scale_ratio`] = +(median(s.slice(-5).map((x) => x[1])) / median(s.slice(0, 5).map((x) => x[1]))).toFixed(2);
  }
  for (const sys of ['berth', 'docker', 'netavark', 'cni']) {
    if (figures[`${sys}_up_port`] !== undefined && figures[`${sys}_up_noport`] !== undefined) {
      figures[`${sys}_port_added`] = +(figures[`${sys}_up_port`] - figures[`${sys}_up_noport`]).toFixed(2);
    }
  }
  // Docker's best path for each figure-5 rate: docker-proxy or --userland-proxy=false
  for (const k of ['connrate_1', 'connrate_hostip', 'connrate_v6lo', 'connrate_v6hostip', 'gbps_lo', 'gbps_hostip']) {
    const v = [figures[`docker_${k}`], figures[`docker_np_${k}`]].filter((x) => x !== undefined);
    if (v.length) figures[`docker_best_${k}`] = Math.max(...v);
  }
  let machine = {}; try { machine = JSON.parse(read('machine.json')); } catch { /* none */ }
  return { date: new Date().toISOString(), mode: notes.mode || 'unknown', machine, figures, notes };
}

const current = collect();
if (process.argv.includes('--record') && current.mode === 'full') fs.appendFileSync(HISTORY, JSON.stringify(current) + '\n');
const history = (() => { try { return fs.readFileSync(HISTORY, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l)); } catch { return []; } })();
const runs = current.mode === 'full' ? history.filter((r) => r.mode === 'full').slice(-LAST) : [current];
const latest = runs.at(-1) || current;

const vals = (k) => runs.map((r) => r.figures[k]).filter((v) => v !== undefined && v !== null);
const m = (k) => median(vals(k));
const round = (v) => (Math.abs(v) >= 100 ? Math.round(v) : Math.round(v * 100) / 100);
/** "median (min–max)" over the runs, or the one value. */
const cell = (k, unit = '') => {
  const v = vals(k); if (!v.length) return 'n/a';
  const md = `${round(median(v))}${unit}`;
  const lo = round(Math.min(...v)); const hi = round(Math.max(...v));
  return v.length > 1 && lo !== hi ? `${md} (${lo}–${hi})` : md;
};
const note = (k) => latest.notes[k] || '';
const adv = (peer, berth, lowerIsBetter = true) => { // berth's advantage: above 1× berth is ahead
  const p = m(peer); const b = m(berth);
  if (p === null || b === null || !p || !b) return '';
  return ` · ${(lowerIsBetter ? p / b : b / p).toFixed(2)}×`;
};
const has = (...ks) => ks.every((k) => m(k) !== null);

const rows = [];
/** fig, work, cells {berth, Docker, netavark, CNI}, goal, met (true/false/null) */
const row = (fig, work, cells, goal, met) => rows.push({ fig, work, cells, goal, met });

row('1. attach + detach, no ports (ms)',
  'a running container (a namespace with one network) joins a second, existing network whose bridge is made, and leaves it. berth, Docker: connect + disconnect (Engine API); netavark: setup + teardown of the second network; CNI: bridge + host-local ADD + DEL on eth1',
  { berth: cell('berth_attach_detach'), Docker: cell('docker_attach_detach') + adv('docker_attach_detach', 'berth_attach_detach'),
    netavark: cell('netavark_attach_detach') + adv('netavark_attach_detach', 'berth_attach_detach'),
    CNI: cell('cni_attach_detach') + adv('cni_attach_detach', 'berth_attach_detach') },
  '≤ 1/4 of Docker, below netavark and CNI',
  has('berth_attach_detach', 'docker_attach_detach') ? m('berth_attach_detach') * 4 <= m('docker_attach_detach') &&
    m('berth_attach_detach') < (m('netavark_attach_detach') ?? Infinity) && m('berth_attach_detach') < (m('cni_attach_detach') ?? Infinity) : null);
for (const [k, what] of [['up_noport', 'bring up, no ports'], ['up_port', 'bring up, one published port'], ['port_added', 'what the port adds']]) {
  row(`1b. ${what} (ms)`,
    k === 'up_noport' ? 'berth, Docker: create + start of a busybox `sleep` (Engine API), removal untimed; netavark: setup of the second network as in 1, teardown untimed; CNI: bridge + host-local ADD, DEL untimed'
      : k === 'up_port' ? 'the same with one TCP port: berth, Docker `-p P:80`; netavark a port_mapping; CNI the portmap plugin after the bridge'
        : 'the difference of the two rows above',
    { berth: cell(`berth_${k}`), Docker: cell(`docker_${k}`) + adv(`docker_${k}`, `berth_${k}`),
      netavark: cell(`netavark_${k}`) + adv(`netavark_${k}`, `berth_${k}`), CNI: cell(`cni_${k}`) + adv(`cni_${k}`, `berth_${k}`) },
    '—', null);
}
row('2. network create + remove (ms)', 'Engine API, a bridge network with a subnet of the default pool',
  { berth: cell('berth_net_create_rm'), Docker: cell('docker_net_create_rm') + adv('docker_net_create_rm', 'berth_net_create_rm') },
  '≤ 1/4 of Docker', has('berth_net_create_rm', 'docker_net_create_rm') ? m('berth_net_create_rm') * 4 <= m('docker_net_create_rm') : null);
row('3. `run -d -p` until the port answers (ms), docker CLI', 'the docker CLI drives both daemons: `docker run -d -p P:80 busybox httpd`, then HTTP until it answers',
  { berth: cell('berth_start_first_packet_dockercli'), Docker: cell('docker_start_first_packet') + adv('docker_start_first_packet', 'berth_start_first_packet_dockercli') },
  '≥ 1.5× faster than Docker', has('berth_start_first_packet_dockercli', 'docker_start_first_packet') ? m('berth_start_first_packet_dockercli') * 1.5 <= m('docker_start_first_packet') : null);
row('3. the same, berth through its own CLI (ms)', 'berth: `berth run -d -p …`; Docker: the docker CLI as above',
  { berth: cell('berth_start_first_packet'), Docker: cell('docker_start_first_packet') + adv('docker_start_first_packet', 'berth_start_first_packet') },
  'faster than Docker', has('berth_start_first_packet', 'docker_start_first_packet') ? m('berth_start_first_packet') < m('docker_start_first_packet') : null);
row(`4a. n-th start, last 5 / first 5 of ${latest.figures.berth_loaded_n ?? '?'}`, '`run -d --network snet busybox sleep` n times on one bridge (the CLI of each)',
  { berth: cell('berth_scale_ratio', '×'), Docker: cell('docker_scale_ratio', '×') },
  'last within 1.5× of first', has('berth_scale_ratio') ? m('berth_scale_ratio') <= 1.5 : null);
// 4b's one-port rate: measured beside it on a fresh container (connrate_n1) since 2026-12-03;
// older runs compared with figure 5's 127.0.0.1 rate, measured on another container before it.
const base4b = () => (vals('berth_connrate_n1').length ? 'berth_connrate_n1' : 'berth_connrate_1');
row(`4b. HTTP connections/s via 127.0.0.1 with ${latest.figures.nports ?? '?'} other ports published`, 'berth only: one container publishes that many single ports beside the measured one (Docker would start two docker-proxy processes per port)',
  { berth: `${cell('berth_connrate_n')} against ${cell(base4b())} with one` },
  'within 10% of one port', has('berth_connrate_n', base4b()) ? m('berth_connrate_n') >= 0.9 * m(base4b()) : null);
for (const [k, label, unit] of [['connrate_1', 'HTTP connections/s via 127.0.0.1', ''], ['connrate_hostip', "HTTP connections/s via the host's address", ''],
  ['connrate_v6lo', 'HTTP connections/s via [::1] (berth: the port relay)', ''], ['connrate_v6hostip', "HTTP connections/s via the host's IPv6 address (berth: the port relay)", ''],
  ['gbps_lo', 'iperf3 Gbit/s via 127.0.0.1', ''], ['gbps_hostip', "iperf3 Gbit/s via the host's address", '']]) {
  const direct = k.startsWith('gbps');
  row(`5. ${label}`, k === 'connrate_1' ? `a published port of a busybox httpd (HTTP/1.0, a connection per request) or an iperf3 server, from the host; each rate the median of ${latest.figures.fig5_reps ?? '?'} measurements (HTTP: each the median of three 1 s samples); Docker with docker-proxy and with --userland-proxy=false, the better compared` : 'as above',
    { berth: cell(`berth_${k}`, unit) + (direct ? ` (direct ${cell('berth_gbps_direct')})` : ''),
      Docker: `${cell(`docker_${k}`)} proxy / ${cell(`docker_np_${k}`)} no proxy${adv(`berth_${k}`, `docker_best_${k}`)}` },
    "≥ Docker's best" + (direct ? ', within 10% of direct' : ''),
    has(`berth_${k}`, `docker_best_${k}`) ? m(`berth_${k}`) >= m(`docker_best_${k}`) && (!direct || m(`berth_${k}`) >= 0.9 * (m('berth_gbps_direct') ?? Infinity)) : null);
}
row(`6. \`-p 5000-${latest.figures.range_end ?? '?'}/udp\`: time to start (ms)`, `Docker gets 5000-${latest.figures.drange_end ?? '?'} (two docker-proxy processes per port; the full range would fill this machine's memory)`,
  { berth: cell('berth_range_start'), Docker: cell('docker_range_start') + adv('docker_range_start', 'berth_range_start') }, '—', null);
row('6. the same: memory added (KiB, PSS of every process of the system)', `counted: berth ${note('berth_range_procs')}; Docker ${note('docker_range_procs').replace(/(\d+ docker-proxy).*/, '$1 …')}`,
  { berth: cell('berth_range_mem_kb'), Docker: cell('docker_range_mem_kb') }, '—', null);
row('8. memory idle (KiB, PSS)', `every process of the system (by cgroup and PID namespace: see bench/run.sh), no containers: berth ${note('berth_procs_idle')}; Docker ${note('docker_procs_idle')}`,
  { berth: cell('berth_pss_idle_kb'), Docker: cell('docker_pss_idle_kb') + adv('docker_pss_idle_kb', 'berth_pss_idle_kb') },
  'below Docker', has('berth_pss_idle_kb', 'docker_pss_idle_kb') ? m('berth_pss_idle_kb') < m('docker_pss_idle_kb') : null);
row(`8. memory per container (KiB, PSS slope over ${latest.figures.berth_loaded_n ?? '?'} containers)`,
  `least-squares slope of the PSS sum as containers start; at the end: berth ${note('berth_procs_loaded')}; Docker ${note('docker_procs_loaded')}`,
  { berth: cell('berth_pss_slope_kb'), Docker: cell('docker_pss_slope_kb') + adv('docker_pss_slope_kb', 'berth_pss_slope_kb') },
  "≤ 1/4 of Docker's", has('berth_pss_slope_kb', 'docker_pss_slope_kb') ? m('berth_pss_slope_kb') * 4 <= m('docker_pss_slope_kb') : null);
row(`8. memory with ${latest.figures.berth_loaded_n ?? '?'} containers (KiB, PSS)`, 'the last point of the slope above',
  { berth: cell('berth_pss_loaded_kb'), Docker: cell('docker_pss_loaded_kb') + adv('docker_pss_loaded_kb', 'berth_pss_loaded_kb') }, '—', null);
row('CLI start: `version` (ms)', 'berth: `berth version` (Node.js); Docker: `docker version` (Go)',
  { berth: cell('berth_cli_version'), Docker: cell('docker_cli_version') + adv('docker_cli_version', 'berth_cli_version') }, '—', null);

// 9. overlay (bench/overlay-latency.js): berth with its own CLI and with the docker CLI, Docker
const ov = (sys, k) => `overlay_${sys}_${k}`;
const ovCells = (k) => ({
  berth: `${cell(ov('berth', k))} (docker CLI: ${cell(ov('berth_dockercli', k))})`,
  Docker: vals(ov('docker', k)).length ? `${cell(ov('docker', k))}${adv(ov('docker', k), ov('berth', k))} (against berth via the docker CLI${adv(ov('docker', k), ov('berth_dockercli', k)) || ': —'})`
    : note('overlay_docker_note') || 'n/a',
});
const misses = (sys) => vals(ov(sys, 'misses')).reduce((a, b) => a + b, 0);
row(`9. overlay: \`run -d\` on host A until host B pings the name, p50 of ${latest.figures.overlay_berth_rounds ?? '?'} rounds (ms)`,
  'two hosts (network namespaces, cabled), an `--attachable` overlay network. berth: `swarm init` on A (etcd started by berthd), worker `join` on B; Docker: the two-engine swarm (Docker 20.10). ' +
  'Each round: the CLI on the machine runs `run -d --name cN --network ov busybox sleep` against A; on B a pinger container, already waiting, loops `nslookup cN.` until the name resolves, then `ping -c1 -W1 cN` until it is answered, and stamps both moments (one clock: /proc/uptime, 10 ms steps); ' +
  "each system's resolver forwards unknown names to one upstream on B that answers NXDOMAIN at once. " +
  `Misses (no answer in 60 s): berth ${misses('berth')}, via docker CLI ${misses('berth_dockercli')}, Docker ${misses('docker')}. Measured ${note('overlay_started')}`,
  ovCells('ping_p50'), '—', null);
row('9. the same, p99 (ms)', `the slowest of the rounds (with ${latest.figures.overlay_berth_rounds ?? '?'} rounds the p99 is the maximum)`, ovCells('ping_p99'), '—', null);
row('9. … until B resolves the name, p50 (ms)', "when the pinger's `nslookup` first answered; after it, each unanswered echo costs `-W1`'s second (the first echo usually goes unanswered on both systems)", ovCells('resolve_p50'), '—', null);
row('9. the `run -d` on A alone, p50 (ms)', 'the CLI command alone (berth: `berth run -d` (Node.js) and `docker run -d` against berthd; Docker: `docker run -d`)', ovCells('run_p50'), '—', null);

// 7. DNS
const dnsRows = [];
const dnsFiles = [['one', 'one container name (best case: every answer cached)'], ['fwd', 'one forwarded name'],
  ['mix', `the mix, ${latest.figures.dns_containers ?? '?'} containers (names 33%, aliases 11%, <name>.<network> 11%, PTR 11%, AAAA 11%, forwarded 22%)`]];
for (const [f, label] of dnsFiles) {
  const q = (s) => `dns_${s}_${f}_qps`; const p = (s) => `dns_${s}_${f}_p99`;
  dnsRows.push(`| ${label}: queries/s | ${cell(q('berth'))} | ${cell(q('docker'))}${adv(q('docker'), q('berth'), false)} | ${cell(q('aardvark'))}${adv(q('aardvark'), q('berth'), false)} | ≥ 1.5× Docker | ${has(q('berth'), q('docker')) ? (m(q('berth')) >= 1.5 * m(q('docker')) ? 'yes' : '**no**') : '—'} |`);
  dnsRows.push(`| ${label}: p99 latency (ms) | ${cell(p('berth'))} | ${cell(p('docker'))}${adv(p('docker'), p('berth'))} | ${cell(p('aardvark'))}${adv(p('aardvark'), p('berth'))} | below Docker | ${has(p('berth'), p('docker')) ? (m(p('berth')) < m(p('docker')) ? 'yes' : '**no**') : '—'} |`);
  dnsRows.push(`| ${label}: answers | ${note(`dns_berth_${f}_rcodes`)} | ${note(`dns_docker_${f}_rcodes`)} | ${note(`dns_aardvark_${f}_rcodes`)} | | |`);
}

const machines = runs.map((r) => `- ${r.date.slice(0, 16).replace('T', ' ')} UTC, ${r.mode} run: ${r.machine.cores ?? '?'} cores (${r.machine.cpu ?? '?'}), kernel ${r.machine.kernel ?? '?'}, load ${r.machine.loadavg ?? '?'} at the end, berth ${r.machine.berth ?? '?'}, ${Object.entries(r.machine.packages || {}).map(([k, v]) => `${k} ${v}`).join(', ')}; ${r.machine.seconds ?? '?'} s`).join('\n');
let md = '# berth benchmarks\n\n';
md += current.mode === 'full'
  ? `The last ${runs.length} full run(s) from bench/history.jsonl: each cell is the median over the runs, (min–max) when there are several; each run's own figures are medians of repeated measurements. "· N×" is berth's advantage (the peer's time or memory ÷ berth's, berth's rate ÷ the peer's): above 1× berth is ahead. Goals are judged on the medians.\n\n`
  : `**A quick run** (\`bench/run.sh --quick\`: fewer repetitions, smaller scales), not recorded in the history: not for publishing. "· N×" is berth's advantage (above 1× berth is ahead).\n\n`;
const loaded = runs.filter((r) => parseFloat(r.machine.loadavg) > (r.machine.cores || 1));
if (loaded.length) md += `**The machine was loaded** during ${loaded.length} of these run(s) (1-minute load above its core count at the end): their figures measure the competition as much as the systems.\n\n`;
if (current.mode === 'full' && runs.length < 3) md += `**Only ${runs.length} full run(s) so far**: the goals want the median of at least three.\n\n`;
let table = '| figure | work done (each system) | berth | Docker | netavark | CNI | goal | met? |\n|---|---|---|---|---|---|---|---|\n';
for (const r of rows) {
  table += `| ${r.fig} | ${r.work} | ${['berth', 'Docker', 'netavark', 'CNI'].map((s) => r.cells[s] ?? '').join(' | ')} | ${r.goal} | ${r.met === null ? '—' : r.met ? 'yes' : '**no**'} |\n`;
}
const dnsIntro = `dnsperf from inside a container against each resolver (berth's and Docker's at 127.0.0.11, aardvark-dns on the bridge's gateway); ${latest.figures.dns_dur ?? '?'} s per run, median of ${latest.figures.dns_runs ?? '?'}; p99 and answers from separate runs that log every query. Every system forwards to the same upstream, one resolver in the bench's namespace.`;
const dnsTable = `| figure | berth | Docker ${note('dns_docker_version')} | aardvark-dns ${note('dns_aardvark_version')} | goal | met? |\n|---|---|---|---|---|---|\n${dnsRows.join('\n')}\n`;
md += `${machines}\n\n${table}`;
md += `\n## 7. DNS\n\n${dnsIntro}\n\n${dnsTable}`;
md += '\n![the n-th container start on one bridge](chart.svg)\n';
// Measurements made outside full runs (bench/run.sh --only …, probes), kept by hand in NOTES.md.
try { md += `\n## Notes: measurements outside full runs\n\n${fs.readFileSync(path.join(__dirname, 'NOTES.md'), 'utf8')}`; } catch { /* none */ }
fs.writeFileSync(path.join(__dirname, 'RESULTS.md'), md);

// README's Benchmarks table is this table, between two markers: rewritten from the same runs
// (full runs only), so the README never shows figures the history does not hold.
const README = path.join(__dirname, '..', 'README.md');
const BEGIN = '<!-- bench-table: written by bench/report.js from bench/history.jsonl -->';
const END = '<!-- bench-table end -->';
if (current.mode === 'full' && fs.existsSync(README)) {
  const text = fs.readFileSync(README, 'utf8');
  const a = text.indexOf(BEGIN); const b = text.indexOf(END);
  if (a >= 0 && b > a) {
    const when = runs.map((r) => r.date.slice(0, 16).replace('T', ' ')).join(', ');
    const block = `${BEGIN}\nThe last ${runs.length} full runs (${when} UTC; machines and versions in [bench/RESULTS.md](bench/RESULTS.md)): each cell the median over the runs with (min–max), "· N×" berth's advantage (above 1× berth is ahead), goals judged on the medians.${runs.length < 3 ? ` **Only ${runs.length} run(s)**: the goals want at least three.` : ''}\n\n${table}\nFigure 7, DNS: ${dnsIntro}\n\n${dnsTable}${END}`;
    fs.writeFileSync(README, text.slice(0, a) + block + text.slice(b + END.length));
  }
}

// chart: the n-th start's time for berth and Docker (this run)
const sb = dat('berth_scale_attach'); const sd = dat('docker_scale_attach');
const W = 640, H = 320, P = 50;
const all = [...sb, ...sd];
const maxX = Math.max(1, ...all.map((x) => x[0])); const maxY = Math.max(1, ...all.map((x) => x[1] / 1000));
const line = (s, color) => `<polyline fill="none" stroke="${color}" stroke-width="1.5" points="${s.map(([n, us]) =>
  `${(P + (n / maxX) * (W - 2 * P)).toFixed(1)},${(H - P - (us / 1000 / maxY) * (H - 2 * P)).toFixed(1)}`).join(' ')}"/>`;
const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">
<rect width="${W}" height="${H}" fill="white"/>
<text x="${W / 2}" y="20" text-anchor="middle">time of the n-th container start on one bridge (ms)</text>
<line x1="${P}" y1="${H - P}" x2="${W - P}" y2="${H - P}" stroke="black"/><line x1="${P}" y1="${P}" x2="${P}" y2="${H - P}" stroke="black"/>
<text x="${W / 2}" y="${H - 15}" text-anchor="middle">n (containers already on the bridge)</text>
<text x="${P - 5}" y="${P}" text-anchor="end">${maxY.toFixed(0)}</text><text x="${P - 5}" y="${H - P}" text-anchor="end">0</text>
<text x="${W - P}" y="${H - P + 15}" text-anchor="end">${maxX}</text>
${line(sb, '#1f77b4')}${line(sd, '#d62728')}
<text x="${W - P - 90}" y="${P + 10}" fill="#1f77b4">berth</text><text x="${W - P - 90}" y="${P + 25}" fill="#d62728">Docker</text>
</svg>
`;
fs.writeFileSync(path.join(__dirname, 'chart.svg'), svg);
process.stdout.write(md);
