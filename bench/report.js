// Turns bench/out (written by bench/run.sh) and bench/dns-results.md into bench/RESULTS.md
// and bench/chart.svg. Plain Node, no dependencies.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const OUT = path.join(__dirname, 'out');
const get = (k) => { try { return fs.readFileSync(path.join(OUT, `${k}.txt`), 'utf8').trim(); } catch { return ''; } };
const num = (k) => { const v = parseFloat(get(k)); return Number.isFinite(v) ? v : null; };
const dat = (k) => { try { return fs.readFileSync(path.join(OUT, `${k}.dat`), 'utf8').trim().split('\n').map((l) => l.split(' ').map(Number)); } catch { return []; } };
const fmt = (v, unit = '') => (v === null ? 'n/a' : `${Math.round(v * 100) / 100}${unit}`);
const ratio = (peer, berth) => (peer === null || berth === null || berth === 0 ? 'n/a' : `${(peer / berth).toFixed(2)}×`);
const med = (a) => { const s = [...a].sort((x, y) => x - y); return s.length ? s[Math.floor((s.length - 1) / 2)] : null; };

const rows = [];
const row = (fig, berth, peers, goal, met) => rows.push({ fig, berth, peers, goal, met });

const b = (k) => num(`berth_${k}`);
const d = (k) => num(`docker_${k}`);
row('1. attach + detach, one published port (ms)', fmt(b('attach_detach')),
  { Docker: [fmt(d('attach_detach')), ratio(d('attach_detach'), b('attach_detach'))],
    netavark: [fmt(num('netavark_attach_detach')), ratio(num('netavark_attach_detach'), b('attach_detach'))],
    CNI: [fmt(num('cni_attach_detach')), ratio(num('cni_attach_detach'), b('attach_detach'))] },
  '≤ 1/4 of Docker, below netavark and CNI',
  b('attach_detach') !== null && d('attach_detach') !== null && b('attach_detach') * 4 <= d('attach_detach') &&
  b('attach_detach') < (num('netavark_attach_detach') ?? Infinity) && b('attach_detach') < (num('cni_attach_detach') ?? Infinity));
row('2. network create + remove (ms)', fmt(b('net_create_rm')),
  { Docker: [fmt(d('net_create_rm')), ratio(d('net_create_rm'), b('net_create_rm'))] },
  '≤ 1/4 of Docker', b('net_create_rm') !== null && d('net_create_rm') !== null && b('net_create_rm') * 4 <= d('net_create_rm'));
row('3. run -d -p until the port answers (ms)', fmt(b('start_first_packet')),
  { Docker: [fmt(d('start_first_packet')), ratio(d('start_first_packet'), b('start_first_packet'))] },
  'faster than Docker', (b('start_first_packet') ?? Infinity) < (d('start_first_packet') ?? 0));
const sb = dat('berth_scale_attach'); const sd = dat('docker_scale_attach');
const firstLast = (s) => (s.length >= 10 ? [med(s.slice(0, 5).map((x) => x[1])), med(s.slice(-5).map((x) => x[1]))] : [null, null]);
const [bf, bl] = firstLast(sb); const [df, dl] = firstLast(sd);
row(`4a. n-th attach (run -d), last 5 / first 5 of ${sb.length}`, bf ? `${(bl / bf).toFixed(2)}×` : 'n/a',
  { Docker: [df ? `${(dl / df).toFixed(2)}×` : 'n/a', ''] }, 'last within 1.5× of first', bf !== null && bl / bf <= 1.5);
const c1 = b('connrate_1'); const cn = b('connrate_n');
row(`4b. connections/s through a published port, 1 vs ${get('nports')} ports published`, `${fmt(c1)} → ${fmt(cn)}`,
  { Docker: [`${fmt(d('connrate_1'))} (1 port)`, ratio(c1, d('connrate_1')).replace('×', '× (berth/Docker)')] },
  'within 10% at 2000 ports', c1 !== null && cn !== null && cn >= 0.9 * c1);
// Docker's best of its two data paths: docker-proxy (default) and --userland-proxy=false.
const best = (k) => Math.max(d(k) ?? 0, num(`docker_np_${k}`) ?? 0) || null;
for (const [k, label] of [['lo', '127.0.0.1'], ['hostip', "the host's address"]]) {
  row(`5. iperf3 throughput through ${label} (Gbit/s)`, fmt(b(`gbps_${k}`)),
    { Docker: [`${fmt(d(`gbps_${k}`))} proxy / ${fmt(num(`docker_np_gbps_${k}`))} no proxy`, ratio(b(`gbps_${k}`), best(`gbps_${k}`)).replace('×', '× (berth/best)')] },
    `≥ Docker's best, within 10% of direct (${fmt(b('gbps_direct'))})`,
    b(`gbps_${k}`) !== null && b(`gbps_${k}`) >= (best(`gbps_${k}`) ?? 0) && b(`gbps_${k}`) >= 0.9 * (b('gbps_direct') ?? Infinity));
}
row("5. HTTP connections/s through the host's address", fmt(b('connrate_hostip')),
  { Docker: [`${fmt(d('connrate_hostip'))} proxy / ${fmt(num('docker_np_connrate_hostip'))} no proxy`, ratio(b('connrate_hostip'), best('connrate_hostip')).replace('×', '× (berth/best)')] },
  "≥ Docker's best", (b('connrate_hostip') ?? 0) >= (best('connrate_hostip') ?? Infinity));
row(`6. -p 5000-${get('range_end')}/udp: time to start (ms)`, fmt(b('range_start')),
  { Docker: [`${fmt(d('range_start'))} (5000-${get('drange_end')}: ${get('docker_range_procs') || '?'} docker-proxy)`, ratio(d('range_start'), b('range_start'))] },
  'as quick as one port', null);
row(`6. same: memory added, daemon + proxies (KiB, sum of RSS)`, fmt(b('range_mem_kb')),
  { Docker: [fmt(d('range_mem_kb')), ratio(d('range_mem_kb'), Math.max(1, b('range_mem_kb') ?? 1))] }, 'as small as one port', null);
row('8. daemon RSS idle (KiB)', fmt(b('rss_idle_kb')), { Docker: [`${fmt(d('rss_idle_kb'))} (dockerd+containerd)`, ratio(d('rss_idle_kb'), b('rss_idle_kb'))] },
  'below dockerd', (b('rss_idle_kb') ?? Infinity) < (d('rss_idle_kb') ?? 0));
row(`8. daemon RSS with ${get('berth_loaded_n')} containers (KiB)`, fmt(b('rss_loaded_kb')),
  { Docker: [`${fmt(d('rss_loaded_kb'))} (with shims)`, ratio(d('rss_loaded_kb'), b('rss_loaded_kb'))] },
  'below dockerd', (b('rss_loaded_kb') ?? Infinity) < (d('rss_loaded_kb') ?? 0));
row('8. CLI start: `version` (ms)', fmt(b('cli_version')), { Docker: [fmt(d('cli_version')), ratio(d('cli_version'), b('cli_version'))] }, '—', null);

const peers = ['Docker', 'netavark', 'CNI'];
let md = `# berth benchmarks\n\n${get('machine')}. Medians; "ratio" is peer ÷ berth for times and memory (above 1×: berth is ahead).\n\n`;
md += `| figure | berth | ${peers.map((p) => `${p} | ratio`).join(' | ')} | goal | met? |\n|${'---|'.repeat(3 + peers.length * 2)}\n`;
for (const r of rows) {
  md += `| ${r.fig} | ${r.berth} | ${peers.map((p) => (r.peers[p] ? `${r.peers[p][0]} | ${r.peers[p][1]}` : ' | ')).join(' | ')} | ${r.goal} | ${r.met === null ? '—' : r.met ? 'yes' : '**no**'} |\n`;
}
const dns = (() => { try { return fs.readFileSync(path.join(__dirname, 'dns-results.md'), 'utf8'); } catch { return ''; } })();
md += `\n## 7. DNS\n\n${dns || 'not measured'}\n\n![scaling](chart.svg)\n`;
fs.writeFileSync(path.join(__dirname, 'RESULTS.md'), md);

// chart: the n-th attach's time for berth and Docker
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
