// Container lifecycle through the real CLI against a real berthd: run (foreground, -d, --rm,
// -e, -w, --entrypoint, -i, -t), create/start/stop/kill/restart/rm, ps, logs, exec, inspect
// --format, version, info. Expected outputs were taken from Docker 20.10 running the same
// commands on the same busybox image.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Sandbox } from '../harness/sandbox';

const skip = Sandbox.skipReason();

/** Docker's MAC for an IPv4 address: 02:42 then the four address bytes. */
function macOf(ip: string): string {
  return ['02', '42', ...ip.split('.').map((b) => Number(b).toString(16).padStart(2, '0'))].join(':');
}

describe('containers', { skip }, () => {
  let sb: Sandbox;
  before(async () => {
    sb = await Sandbox.start();
    await sb.importBusybox();
  });
  after(async () => { await sb?.cleanup(); });

  it('runs in the foreground, prints the output and exits with the code', async () => {
    const r = await sb.berth(['run', '--rm', 'busybox', 'echo', 'hello']);
    assert.equal(r.stdout, 'hello\n');
    const three = await sb.berth(['run', '--rm', 'busybox', 'sh', '-c', 'exit 3'], { allowFail: true });
    assert.equal(three.code, 3);
  });

  it('a missing executable exits 127 with runc\'s reason', async () => {
    const r = await sb.berth(['run', '--rm', 'busybox', 'nonexistent'], { allowFail: true });
    assert.equal(r.code, 127);
    assert.match(r.stderr, /executable file not found in \$PATH/);
    assert.equal((await sb.berth(['ps', '-aq'])).stdout, '', '--rm removed it');
  });

  it('-e, -w and --entrypoint', async () => {
    const r = await sb.berth(['run', '--rm', '-e', 'FOO=bar', '-w', '/tmp', 'busybox', 'sh', '-c', 'echo $FOO; pwd']);
    assert.equal(r.stdout, 'bar\n/tmp\n');
    const e = await sb.berth(['run', '--rm', '--entrypoint', '/bin/echo', 'busybox', 'hi', 'there']);
    assert.equal(e.stdout, 'hi there\n');
    // `--entrypoint ""` clears it: the command runs alone, and inspect shows no entrypoint (as Docker)
    const none = await sb.berth(['run', '--name', 'noep', '--entrypoint', '', 'busybox', 'echo', 'hi']);
    assert.equal(none.stdout, 'hi\n');
    assert.equal(await sb.inspect('noep', '{{json .Config.Entrypoint}} {{json .Config.Cmd}} {{json .Path}}'), 'null ["echo","hi"] "echo"');
    await sb.berth(['rm', 'noep']);
  });

  it('-i passes stdin; without -i the container gets none', async () => {
    const i = await sb.berth(['run', '-i', '--rm', 'busybox', 'cat'], { input: 'abc\n' });
    assert.equal(i.stdout, 'abc\n');
    const n = await sb.berth(['run', '--rm', 'busybox', 'cat'], { input: 'abc\n' });
    assert.equal(n.stdout, '');
    assert.equal(n.code, 0);
  });

  it('-t gives the container a terminal', async () => {
    const r = await sb.berth(['run', '--rm', '-t', 'busybox', 'tty']);
    assert.equal(r.stdout, '/dev/pts/0\r\n');
  });

  it('run -d prints the id; ps, ps -q, --filter and --format show it', async () => {
    const r = await sb.berth(['run', '-d', '--name', 'c1', 'busybox', 'sleep', '1000']);
    assert.match(r.stdout, /^[0-9a-f]{64}\n$/);
    const id = r.stdout.trim();
    const ps = (await sb.berth(['ps'])).stdout.split('\n');
    assert.match(ps[0], /^CONTAINER ID\s+IMAGE\s+COMMAND\s+CREATED\s+STATUS\s+PORTS\s+NAMES$/);
    const row = ps.find((l) => l.startsWith(id.slice(0, 12)));
    assert.ok(row, `ps lists ${id.slice(0, 12)}:\n${ps.join('\n')}`);
    assert.match(row!, /^[0-9a-f]{12}\s+busybox\s+"sleep 1000"\s+.+\s+Up .+\s+c1$/);
    assert.equal((await sb.berth(['ps', '-q'])).stdout, `${id.slice(0, 12)}\n`);
    const f = await sb.berth(['ps', '--filter', 'name=c1', '--format', '{{.Names}} {{.Image}} {{.Command}}']);
    assert.equal(f.stdout, 'c1 busybox "sleep 1000"\n');
    assert.equal((await sb.berth(['ps', '--filter', 'name=nomatch', '-q'])).stdout, '');
    // BERTH_HOST picks the daemon as -H does.
    assert.equal((await sb.berthEnv(['ps', '-q'])).stdout, `${id.slice(0, 12)}\n`);
  });

  it('inspect --format: fields, range, index, len, json', async () => {
    const out = await sb.inspect('c1', '{{.NetworkSettings.IPAddress}}|{{len .Config.Cmd}}|{{index .Config.Cmd 0}}|{{json .Config.Cmd}}|'
      + '{{range .NetworkSettings.Networks}}{{.IPAddress}} {{.Gateway}} {{.MacAddress}} {{.IPPrefixLen}}{{end}}|{{.State.Status}} {{.State.Running}}');
    const [ip, len, first, json, nets, state] = out.split('|');
    assert.match(ip, /^172\.17\.0\.\d+$/);
    assert.equal(len, '2');
    assert.equal(first, 'sleep');
    assert.equal(json, '["sleep","1000"]');
    assert.equal(nets, `${ip} 172.17.0.1 ${macOf(ip)} 16`);
    assert.equal(state, 'running true');
    // The seeds' form: spaces inside the braces, the container by its id.
    const id = await sb.inspect('c1', '{{.Id}}');
    assert.equal(await sb.inspect(id.slice(0, 12), '{{ .NetworkSettings.IPAddress }}'), ip);
    assert.equal(await sb.inspect(id, '{{ .NetworkSettings.IPAddress }}'), ip);
    const full = JSON.parse((await sb.berth(['inspect', 'c1'])).stdout);
    assert.equal(full.length, 1);
    assert.equal(full[0].Name, '/c1');
    assert.equal(full[0].NetworkSettings.Networks.bridge.IPAddress, ip);
  });

  it('rm of a running container without -f is refused', async () => {
    const id = await sb.inspect('c1', '{{.Id}}');
    const r = await sb.berth(['rm', 'c1'], { allowFail: true });
    assert.equal(r.code, 1);
    assert.equal(r.stderr, `Error response from daemon: You cannot remove a running container ${id}. Stop the container before attempting removal or force remove\n`);
  });

  it('exec: output, exit code, -i', async () => {
    const id = await sb.inspect('c1', '{{.Id}}');
    const r = await sb.berth(['exec', 'c1', 'sh', '-c', 'cat /etc/hostname; exit 4'], { allowFail: true });
    assert.equal(r.code, 4);
    assert.equal(r.stdout, `${id.slice(0, 12)}\n`);
    const i = await sb.berth(['exec', '-i', 'c1', 'cat'], { input: 'xyz\n' });
    assert.equal(i.stdout, 'xyz\n');
    const t = await sb.berth(['exec', '-t', 'c1', 'tty']);
    // runc clears the exec terminal's newline translation only once it holds the terminal, and
    // the outer terminal translates too: output written before that gets \r\r\n (as with Docker).
    assert.match(t.stdout, /^\/dev\/pts\/\d+\r\r?\n$/);
  });

  it('kill, start, stop, restart', async () => {
    assert.equal((await sb.berth(['kill', 'c1'])).stdout, 'c1\n');
    assert.equal(await sb.inspect('c1', '{{.State.Status}} {{.State.ExitCode}}'), 'exited 137');
    assert.equal((await sb.berth(['start', 'c1'])).stdout, 'c1\n');
    assert.equal(await sb.inspect('c1', '{{.State.Status}}'), 'running');
    // busybox sleep as pid 1 ignores SIGTERM: stop kills it after the timeout.
    assert.equal((await sb.berth(['stop', '-t', '1', 'c1'])).stdout, 'c1\n');
    assert.equal(await sb.inspect('c1', '{{.State.Status}} {{.State.ExitCode}}'), 'exited 137');
    assert.equal((await sb.berth(['restart', '-t', '1', 'c1'])).stdout, 'c1\n');
    assert.equal(await sb.inspect('c1', '{{.State.Status}} {{.State.Running}}'), 'running true');
    const ps = (await sb.berth(['ps', '--format', '{{.Names}} {{.Status}}'])).stdout;
    assert.match(ps, /^c1 Up /);
    assert.equal((await sb.berth(['rm', '-f', 'c1'])).stdout, 'c1\n');
    assert.equal((await sb.berth(['ps', '-aq'])).stdout, '');
  });

  it('create, start -a, start, logs', async () => {
    const c = await sb.berth(['create', '--name', 'c2', 'busybox', 'echo', 'hi-from-c2']);
    assert.match(c.stdout, /^[0-9a-f]{64}\n$/);
    assert.equal((await sb.berth(['ps', '-a', '--format', '{{.Names}} {{.Status}}'])).stdout, 'c2 Created\n');
    assert.equal((await sb.berth(['start', '-a', 'c2'])).stdout, 'hi-from-c2\n');
    assert.match(await sb.inspect('c2', '{{.State.Status}} {{.State.ExitCode}}'), /^exited 0$/);
    assert.equal((await sb.berth(['start', 'c2'])).stdout, 'c2\n');
    // Wait for the second run to end, then both runs' output is in the log.
    for (let i = 0; i < 100 && (await sb.inspect('c2', '{{.State.Status}}')) !== 'exited'; i++) await new Promise((r) => setTimeout(r, 100));
    assert.equal((await sb.berth(['logs', 'c2'])).stdout, 'hi-from-c2\nhi-from-c2\n');
    assert.equal((await sb.berth(['rm', 'c2'])).stdout, 'c2\n');
  });

  it('logs of a detached container; -d --rm removes it when it ends', async () => {
    await sb.berth(['run', '-d', '--name', 'talker', 'busybox', 'sh', '-c', 'echo out-line; echo err-line >&2; sleep 1000']);
    let logs = '';
    for (let i = 0; i < 50 && !logs.includes('err-line'); i++) {
      const r = await sb.berth(['logs', 'talker']);
      logs = r.stdout + r.stderr;
      if (!logs.includes('err-line')) await new Promise((res) => setTimeout(res, 100));
    }
    const r = await sb.berth(['logs', 'talker']);
    assert.equal(r.stdout, 'out-line\n');
    assert.equal(r.stderr, 'err-line\n');
    await sb.berth(['rm', '-f', 'talker']);

    const d = await sb.berth(['run', '-d', '--rm', 'busybox', 'true']);
    assert.match(d.stdout, /^[0-9a-f]{64}\n$/);
    let left = 'x';
    for (let i = 0; i < 100 && left; i++) {
      left = (await sb.berth(['ps', '-aq'])).stdout.trim();
      if (left) await new Promise((res) => setTimeout(res, 100));
    }
    assert.equal(left, '', 'the --rm container is gone after it ended');
  });

  it('errors for unknown containers', async () => {
    const r = await sb.berth(['rm', 'nosuch'], { allowFail: true });
    assert.equal(r.code, 1);
    assert.equal(r.stderr, 'Error response from daemon: No such container: nosuch\n');
    const e = await sb.berth(['exec', 'nosuch', 'true'], { allowFail: true });
    assert.notEqual(e.code, 0);
    assert.match(e.stderr, /No such container: nosuch/);
  });

  it('version and info', async () => {
    const v = await sb.berth(['version']);
    assert.match(v.stdout, /^Client:/m);
    assert.match(v.stdout, /^Server:/m);
    assert.match((await sb.berth(['version', '--format', '{{.Server.Version}}'])).stdout, /^\S+\n$/);
    await sb.berth(['run', '-d', '--name', 'infoc', 'busybox', 'sleep', '1000']);
    const info = (await sb.berth(['info'])).stdout;
    assert.match(info, /^ Containers: 1$/m);
    assert.match(info, /^ {2}Running: 1$/m);
    assert.match(info, /^ Server Version: \S+$/m);
    await sb.berth(['rm', '-f', 'infoc']);
  });
});
