// The docker CLI (whatever `docker` is on PATH: Debian's docker.io 20.10 client, or CLI 28)
// against berthd, unchanged: the seeds' commands and the daily flows around them, checking
// printed output and effects like a Docker user would.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { HOST_ADDR, Sandbox, shq } from '../harness/sandbox';

const haveDocker = (() => { try { execFileSync('docker', ['--version'], { stdio: 'ignore' }); return true; } catch { return false; } })();
const skip = Sandbox.skipReason() || (haveDocker ? false : 'no docker CLI on PATH (apt-get install docker.io)');
const CURL = 'curl -s --max-time 5';

describe('the docker CLI against berthd', { skip }, () => {
  let sb: Sandbox;
  /** `docker ARGS` on the sandbox host, DOCKER_HOST at berthd. */
  const dk = (args: string[], opts: { allowFail?: boolean; input?: string } = {}) =>
    sb.sh(`DOCKER_HOST=unix://${sb.socket} docker ${args.map(shq).join(' ')}`, opts);

  before(async () => {
    sb = await Sandbox.start();
    await sb.importBusybox();
  });
  after(async () => { await sb?.cleanup(); });

  it('version, info and ping negotiate the API', async () => {
    const v = await dk(['version', '--format', '{{.Server.Version}} {{.Server.APIVersion}}']);
    assert.match(v.stdout, /^0\.1\.0 1\.\d+\n$/);
    assert.match((await dk(['info', '--format', '{{.Name}} {{.OSType}}'])).stdout, /^\S+ linux\n$/);
  });

  it('run in the foreground, with --rm, -e, exit codes; run -d, ps, logs, exec, inspect', async () => {
    assert.equal((await dk(['run', '--rm', '-e', 'A=b', 'busybox', 'sh', '-c', 'echo $A; echo oops >&2'])).stdout, 'b\n');
    const code = await dk(['run', '--rm', 'busybox', 'sh', '-c', 'exit 7'], { allowFail: true });
    assert.equal(code.code, 7);
    const id = (await dk(['run', '-d', '--name', 'web', '-p', '8080:80', 'busybox', 'sh', '-c', 'echo hi > /www/index.html; echo started; exec httpd -f -p 80 -h /www'])).stdout.trim();
    assert.match(id, /^[0-9a-f]{64}$/);
    assert.equal((await sb.waitFor(`${CURL} http://127.0.0.1:8080/`, 'web')).stdout, 'hi\n');
    const ps = (await dk(['ps', '--format', '{{.Names}}|{{.Ports}}|{{.Image}}'])).stdout;
    assert.equal(ps, 'web|0.0.0.0:8080->80/tcp, [::]:8080->80/tcp|busybox\n');
    assert.equal((await dk(['logs', 'web'])).stdout, 'started\n');
    assert.equal((await dk(['exec', 'web', 'cat', '/etc/hostname'])).stdout, `${id.slice(0, 12)}\n`);
    assert.equal((await dk(['port', 'web', '80'])).stdout, '0.0.0.0:8080\n[::]:8080\n');
    assert.equal((await dk(['inspect', '--format', '{{ .NetworkSettings.IPAddress }}', 'web'])).stdout, '172.17.0.2\n');
    const top = (await dk(['top', 'web'])).stdout;
    assert.match(top, /^UID\s+PID\s+PPID\s+C\s+STIME\s+TTY\s+TIME\s+CMD\n/);
    assert.match(top, /httpd -f -p 80/);
  });

  it('the seeds\' networks: create with --subnet/--gateway, --net, connect, disconnect, container:, host, none', async () => {
    await dk(['network', 'create', '-d', 'bridge', '--subnet', '172.26.0.0/16', '--gateway', '172.26.0.2', 'bridge1']);
    assert.match((await dk(['run', '--rm', '--net', 'bridge1', 'busybox', 'ip', '-4', '-o', 'addr', 'show', 'eth0'])).stdout, /inet 172\.26\.0\.1\/16/);
    await dk(['network', 'create', 'my-net']);
    await dk(['create', '--name', 'my-nginx', '--network', 'my-net', '--publish', '8081:80', 'host', 'nginx', '-g', 'daemon off;']);
    assert.equal((await dk(['start', 'my-nginx'])).stdout, 'my-nginx\n');
    assert.match((await sb.waitFor(`${CURL} http://${HOST_ADDR}:8081/`, 'my-nginx')).stdout, /Welcome to nginx!/);
    await dk(['network', 'connect', 'my-net', 'web']);
    assert.match((await dk(['exec', 'web', 'ip', '-4', '-o', 'addr'])).stdout, /eth1\s+inet 172\.18\.0\.3\//);
    // (web started on the default bridge keeps the host's resolvers, as with Docker; a
    // container started on my-net resolves my-nginx)
    assert.match((await dk(['run', '--rm', '--network', 'my-net', 'busybox', 'nslookup', 'my-nginx.'])).stdout, /Address: 172\.18\.0\.2/);
    await dk(['network', 'disconnect', 'my-net', 'web']);
    assert.doesNotMatch((await dk(['exec', 'web', 'ip', '-o', 'link'])).stdout, /eth1/);
    const shared = (await dk(['run', '--rm', '--network', 'container:web', 'busybox', 'hostname'])).stdout;
    assert.equal(shared, (await dk(['exec', 'web', 'hostname'])).stdout);
    assert.match((await dk(['run', '--rm', '--network', 'none', 'busybox', 'ip', '-o', 'link'])).stdout, /^1: lo:[^\n]*\n$/);
    const net = (await dk(['network', 'inspect', '--format', '{{range .IPAM.Config}}{{.Subnet}} {{.Gateway}}{{end}}', 'bridge1'])).stdout;
    assert.equal(net, '172.26.0.0/16 172.26.0.2\n');
    assert.match((await dk(['network', 'ls', '--format', '{{.Name}}'])).stdout, /^bridge\nbridge1\nhost\nmy-net\nnone\n$|bridge1/);
  });

  it('the seeds\' -h --dns --dns-search --add-host', async () => {
    const out = (await dk(['run', '--name', 'mydocker1', '--network', 'bridge', '-h', 'mydocker1.rayx.me', '--dns', '8.8.8.8',
      '--dns-search', 'rayx.me', '--add-host', 'www.rayx.me:54.12.17.68', '--rm', 'busybox:latest', 'sh', '-c', 'hostname; cat /etc/hosts /etc/resolv.conf'])).stdout;
    assert.match(out, /^mydocker1\.rayx\.me\n/);
    assert.match(out, /^54\.12\.17\.68\twww\.rayx\.me$/m);
    assert.match(out, /^search rayx\.me$/m);
    assert.match(out, /^nameserver 8\.8\.8\.8$/m);
  });

  it('errors are Docker\'s, with Docker\'s exit codes', async () => {
    const r = await dk(['rm', 'nosuch'], { allowFail: true });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /No such container: nosuch/);
    const n = await dk(['network', 'create', 'my-net'], { allowFail: true });
    assert.match(n.stderr, /network with name my-net already exists/);
    const used = await dk(['network', 'rm', 'my-net'], { allowFail: true });
    assert.match(used.stderr, /has active endpoints/);
    const p = await dk(['run', '-d', '-p', '8080:80', 'busybox', 'true'], { allowFail: true });
    assert.equal(p.code, 125);
    assert.match(p.stderr, /port is already allocated/);
  });

  it('run -it and exec -it in a terminal: a shell, its prompt, the terminal\'s size', async () => {
    // `script` gives the docker CLI a terminal; the input arrives after the shell is up. The
    // input stays open until the CLI is done: at the end of its input the docker CLI gives the
    // terminal its cooked mode back, and output still to come would then get a second \r.
    const inTty = (cmd: string, lines: string[]) => {
      const done = path.join(sb.top, `tty-done-${Math.random().toString(36).slice(2)}`);
      return sb.sh(
        `(sleep 1; ${lines.map((l) => `printf '%s\\n' ${shq(l)}; sleep 0.3`).join('; ')}; while [ ! -e ${done} ]; do sleep 0.1; done) | ` +
        `script -qec ${shq(`stty cols 101 rows 31; DOCKER_HOST=unix://${sb.socket} ${cmd}; touch ${done}`)} /dev/null`, { allowFail: true });
    };
    const run = await inTty('docker run -it --rm busybox sh', ['echo in-tty $((6*7))', 'stty size; exit 5']);
    assert.match(run.stdout, /in-tty 42\r\n/);
    assert.match(run.stdout, /31 101\r\n/);
    await dk(['run', '-d', '--name', 'ttyc', 'busybox', 'sleep', '1000']);
    const ex = await inTty('docker exec -it ttyc sh', ['tty; stty size; exit']);
    // runc clears the exec terminal's newline translation only once it holds the terminal, and
    // the outer terminal translates too: output written before that gets \r\r\n (as with Docker).
    assert.match(ex.stdout, /\/dev\/pts\/\d+\r\r?\n31 101\r\n/);
    await dk(['rm', '-f', 'ttyc']);
  });

  it('events: container and network events as they happen, filtered', async () => {
    const since = Math.floor(Date.now() / 1000) - 1;
    const evId = (await dk(['run', '-d', '--name', 'ev', '--network', 'my-net', 'busybox', 'sleep', '1000'])).stdout.trim();
    await dk(['rm', '-f', 'ev']);
    const until = Math.floor(Date.now() / 1000) + 1;
    const ev = (await dk(['events', '--since', String(since), '--until', String(until), '--format', '{{.Type}} {{.Action}}', '--filter', 'container=ev'])).stdout;
    assert.match(ev, /^container create\ncontainer start\n(container kill\n)?container die\ncontainer destroy\n$/);
    const net = (await dk(['events', '--since', String(since), '--until', String(until), '--format', '{{.Action}} {{.Actor.Attributes.name}} {{.Actor.Attributes.container}}', '--filter', 'type=network', '--filter', 'network=my-net'])).stdout;
    // (earlier tests' events in the same second are there too: keep ev's)
    const mine = net.split('\n').filter((l) => l.endsWith(` ${evId}`)).map((l) => l.split(' ').slice(0, 2).join(' '));
    assert.deepEqual(mine, ['connect my-net', 'disconnect my-net']);
  });

  it('rename, restart, stop, kill, prune, rmi', async () => {
    await dk(['rename', 'web', 'web9']);
    assert.equal((await dk(['restart', '-t', '1', 'web9'])).stdout, 'web9\n');
    assert.equal((await dk(['inspect', '--format', '{{.State.Running}}', 'web9'])).stdout, 'true\n');
    assert.equal((await dk(['kill', 'web9'])).stdout, 'web9\n');
    assert.match((await dk(['container', 'prune', '-f'])).stdout, /web9|[0-9a-f]{64}/);
    await dk(['rm', '-f', 'my-nginx']);
    assert.match((await dk(['network', 'prune', '-f'])).stdout, /bridge1/);
    await dk(['tag', 'busybox', 'bb:copy']);
    assert.match((await dk(['images', '--format', '{{.Repository}}:{{.Tag}}'])).stdout, /bb:copy/);
    assert.match((await dk(['rmi', 'bb:copy'])).stdout, /Untagged: bb:copy/);
  });

  it('the seeds\' overlay and macvlan commands: swarm init, network create -d overlay --attachable, node ls, swarm leave', async () => {
    assert.match((await dk(['swarm', 'init', '--advertise-addr', HOST_ADDR])).stdout, /^Swarm initialized: current node \(\w+\) is now a manager\./);
    assert.match((await dk(['swarm', 'join-token', 'worker'])).stdout, new RegExp(`docker swarm join --token SWMTKN-1-\\S+ ${HOST_ADDR.replace(/\./g, '\\.')}:2377`));
    assert.match((await dk(['node', 'ls', '--format', '{{.Hostname}} {{.Status}} {{.ManagerStatus}}'])).stdout, /^\S+ Ready Leader\n$/);
    await dk(['network', 'create', '-d', 'overlay', '--attachable', 'my-overlay-net']);
    assert.equal((await dk(['network', 'ls', '--filter', 'driver=overlay', '--format', '{{.Name}} {{.Scope}}'])).stdout, 'my-overlay-net swarm\n');
    assert.match((await dk(['run', '--rm', '--network', 'my-overlay-net', 'busybox', 'ip', '-4', '-o', 'addr', 'show', 'eth0'])).stdout, /inet 10\.0\.1\.\d+\/24/);
    const enc = await dk(['network', 'create', '--opt', 'encrypted', '--driver', 'overlay', '--attachable', 'my-net2'], { allowFail: true });
    assert.match(enc.stderr, /encrypted overlay networks need IPsec/);
    await dk(['network', 'rm', 'my-overlay-net']);
    assert.match((await dk(['swarm', 'leave'], { allowFail: true })).stderr, /Use `--force` to ignore this message/);
    await dk(['swarm', 'leave', '--force']);
    await dk(['network', 'create', '-d', 'macvlan', '--subnet', '10.99.0.0/24', '--ip-range', '10.99.0.192/27', '-o', 'parent=eth0', 'lan']);
    assert.match((await dk(['run', '--rm', '--network', 'lan', 'busybox', 'ip', '-4', '-o', 'addr', 'show', 'eth0'])).stdout, /inet 10\.99\.0\.19\d\/24/);
    await dk(['network', 'rm', 'lan']);
  });
});
