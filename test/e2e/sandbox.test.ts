// The test harness itself: a sandbox is a separate host (own interfaces, own address, an outside
// machine across a veth), its daemon is started and stopped, and cleanup leaves nothing on the
// machine: no process, no link, no mount, no directory. A stand-in daemon (a few lines of node
// answering /_ping and making a bridge) plays berthd, so this runs whatever state berthd is in.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, promises as fs, readFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { HOST_ADDR, HOST_RESOLV_CONF, machineNetState, OUTSIDE_ADDR, Sandbox } from '../harness/sandbox';

const skip = Sandbox.skipReason();

const STAND_IN = `
const http = require('node:http');
const { execFileSync } = require('node:child_process');
const args = process.argv.slice(2);
const sock = args[args.indexOf('-H') + 1].replace('unix://', '');
try { execFileSync('ip', ['link', 'add', 'standin0', 'type', 'bridge']); } catch { /* left by a killed run */ }
require('node:fs').writeFileSync(args[args.indexOf('--exec-root') + 1] + '/standin.pid', String(process.pid));
const srv = http.createServer((req, res) => res.end(req.url === '/_ping' ? 'OK' : 'stand-in'));
try { require('node:fs').unlinkSync(sock); } catch {}
srv.listen(sock, () => process.stderr.write('stand-in listening\\n'));
process.on('SIGTERM', () => { execFileSync('ip', ['link', 'del', 'standin0']); process.exit(0); });
`;

describe('test harness: Sandbox', { skip }, () => {
  let dir: string;
  let bin: string;
  before(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'berth-standin-'));
    bin = path.join(dir, 'standin.js');
    await fs.writeFile(bin, STAND_IN);
  });
  after(async () => { if (dir) await fs.rm(dir, { recursive: true, force: true }); });

  it('is a separate host with an outside machine, and cleanup leaves nothing', async () => {
    const machine = machineNetState();
    const sb = await Sandbox.start({ daemonBin: bin });
    try {
      assert.match(sb.daemonLog(), /stand-in listening/);
      const links = (await sb.sh('ip -o link show')).stdout;
      assert.match(links, /: standin0:/, 'the daemon runs in the sandbox host');
      assert.doesNotMatch(readFileSync('/proc/net/dev', 'utf8'), /standin0/, 'not on the machine');
      assert.match((await sb.sh('ip -4 -o addr show dev eth0')).stdout, new RegExp(`inet ${HOST_ADDR}/24`));
      assert.equal((await sb.sh('hostname')).stdout, 'berth-host\n');
      assert.equal((await sb.sh('cat /etc/resolv.conf')).stdout, HOST_RESOLV_CONF);
      assert.match((await sb.outside('ip -4 -o addr show dev eth0')).stdout, new RegExp(`inet ${OUTSIDE_ADDR}/24`));
      await sb.outside(`busybox ping -c1 -W2 ${HOST_ADDR}`);
      const web = await sb.outsideWhoami();
      assert.equal((await sb.sh(`curl -s --max-time 5 ${web}/cgi-bin/ip`)).stdout, `${HOST_ADDR}\n`);
      // Files in the exec-root are on the sandbox's tmpfs: visible through hostPath only.
      assert.ok(existsSync(sb.hostPath(path.join(sb.execRoot, 'standin.pid'))));
      assert.ok(!existsSync(path.join(sb.execRoot, 'standin.pid')));
      // stop / start again.
      await sb.stopDaemon();
      assert.doesNotMatch((await sb.sh('ip -o link show')).stdout, /standin0/, 'SIGTERM reached the daemon');
      await sb.startDaemon();
      await sb.killDaemon();
      await sb.startDaemon();
      // A stray background process is ended by cleanup too.
      await sb.sh('sleep 987654 >/dev/null 2>&1 &');
    } finally {
      await sb.cleanup();
    }
    assert.ok(!existsSync(sb.top), 'the temporary directory is gone');
    assert.doesNotMatch(readFileSync('/proc/self/mountinfo', 'utf8'), new RegExp(sb.top));
    const ps = execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' });
    assert.doesNotMatch(ps, /sleep 987654|standin\.js/);
    assert.deepEqual(machineNetState(), machine);
  });

  it('start() fails with the daemon\'s output when it cannot start, and leaves nothing', async () => {
    const bad = path.join(dir, 'bad.js');
    await fs.writeFile(bad, 'process.stderr.write("bad daemon says no\\n"); process.exit(3);');
    await assert.rejects(Sandbox.start({ daemonBin: bad }), /exited \(3\)[^]*bad daemon says no/);
    // Its own directory is gone. (Other test files run at the same time and make sandboxes of
    // their own, which look empty from here: only this start's directory can be checked.)
    assert.match(Sandbox.lastTop, /berth-sbx-/);
    assert.equal(existsSync(Sandbox.lastTop), false, `${Sandbox.lastTop} left behind`);
  });
});
