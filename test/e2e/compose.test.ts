// Debian's docker-compose 1.29 drives berthd unchanged. The project is the seeds' final
// exercise: nginx in front of a "flask" app on public-net-1, the app and a "mongo" on an internal
// private-net-1; nginx reaches the app as flask-app, the app reaches the database as mongo.
// (Stand-ins from the host image: python3 for the app, a busybox server for the database.)
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { HOST_ADDR, Sandbox, shq } from '../harness/sandbox';

const skip = Sandbox.skipReason() || (existsSync('/usr/bin/docker-compose') ? false : 'needs docker-compose (apt-get install docker-compose)');

const APP = [
  'import http.server, urllib.request',
  'class H(http.server.BaseHTTPRequestHandler):',
  '    def do_GET(self):',
  '        body = urllib.request.urlopen("http://mongo:27017/hostname", timeout=5).read()',
  '        self.send_response(200); self.end_headers(); self.wfile.write(b"app saw db " + body)',
  'http.server.HTTPServer(("", 5000), H).serve_forever()',
].join('\n');

const NGINX_CONF = 'events {} http { server { listen 80; location / { proxy_pass http://flask-app:5000; } } }';

const COMPOSE = `version: "3.7"
services:
  mongo:
    image: busybox
    container_name: mongo-db
    command: httpd -f -p 27017 -h /etc
    networks: [private-net-1]
  app:
    image: host
    command: ["python3", "-c", ${JSON.stringify(APP)}]
    depends_on: [mongo]
    networks:
      public-net-1:
        aliases: [flask-app]
      private-net-1: {}
  nginx:
    image: host
    command: ["sh", "-c", ${JSON.stringify(`echo ${shq(NGINX_CONF)} > /tmp/nginx.conf && exec nginx -c /tmp/nginx.conf -g 'daemon off; pid /tmp/nginx.pid;'`)}]
    depends_on: [app]
    ports: ["8080:80"]
    networks: [public-net-1]
  worker:
    image: busybox
    command: sleep 1000
    networks: [public-net-1]
networks:
  public-net-1:
    ipam:
      config:
        - subnet: 10.123.0.0/24
  private-net-1:
    internal: true
`;

describe('docker-compose', { skip }, () => {
  let sb: Sandbox;
  let dir: string;
  const compose = (args: string, allowFail = false) =>
    sb.sh(`cd ${dir} && DOCKER_HOST=unix://${sb.socket} docker-compose -p shop ${args}`, { allowFail, timeoutMs: 180_000 });

  before(async () => {
    sb = await Sandbox.start();
    await sb.importBusybox();
    dir = `${sb.top}/project`;
    await sb.sh(`mkdir -p ${dir} && cat > ${dir}/docker-compose.yml`, { input: COMPOSE });
  });
  after(async () => { await sb?.cleanup(); });

  it('up -d brings the project up: networks, containers, aliases, depends_on', async () => {
    const up = await compose('up -d', true);
    assert.equal(up.code, 0, up.stdout + up.stderr);
    const nets = (await sb.berth(['network', 'ls', '--format', '{{.Name}}'])).stdout.split('\n');
    assert.ok(nets.includes('shop_public-net-1') && nets.includes('shop_private-net-1'), nets.join(' '));
    assert.equal(await sb.inspect('shop_public-net-1', '{{range .IPAM.Config}}{{.Subnet}}{{end}}', 'network'), '10.123.0.0/24');
    assert.equal(await sb.inspect('shop_private-net-1', '{{.Internal}}', 'network'), 'true');
    const names = (await sb.berth(['ps', '--format', '{{.Names}}'])).stdout.split('\n').filter(Boolean).sort();
    assert.deepEqual(names, ['mongo-db', 'shop_app_1', 'shop_nginx_1', 'shop_worker_1']);
  });

  it('nginx reaches the app as flask-app, the app reaches mongo; the published port answers', async () => {
    const r = await sb.waitFor(`curl -sf http://${HOST_ADDR}:8080/`, 'nginx → flask-app → mongo');
    assert.match(r.stdout, /^app saw db /);
    const id = await sb.inspect('mongo-db', '{{.Config.Hostname}}');
    assert.equal(r.stdout.trim(), `app saw db ${id}`);
    // nginx is on public-net-1 only: mongo's address on private-net-1 is out of its reach.
    const mongoIp = await sb.inspect('mongo-db', '{{(index .NetworkSettings.Networks "shop_private-net-1").IPAddress}}');
    const direct = await sb.berth(['exec', 'shop_nginx_1', 'curl', '-s', '-m', '2', `http://${mongoIp}:27017/hostname`], { allowFail: true });
    assert.notEqual(direct.code, 0, direct.stdout);
  });

  it('ps, port, exec and logs', async () => {
    const ps = await compose('ps');
    for (const n of ['mongo-db', 'shop_app_1', 'shop_nginx_1', 'shop_worker_1']) assert.match(ps.stdout, new RegExp(`^${n} .* Up `, 'm'), ps.stdout);
    assert.match(ps.stdout, /0\.0\.0\.0:8080->80\/tcp/);
    assert.equal((await compose('port nginx 80')).stdout.trim(), '0.0.0.0:8080');
    assert.equal((await compose('exec -T worker echo hello')).stdout, 'hello\n');
    await sb.berth(['exec', 'shop_worker_1', 'sh', '-c', 'echo from-worker > /proc/1/fd/1']);
    assert.match((await compose('logs --no-color worker')).stdout, /worker_1 +\| from-worker/);
  });

  it('--scale: three workers, found round-robin by the service name', async () => {
    const up = await compose('up -d --scale worker=3', true);
    assert.equal(up.code, 0, up.stdout + up.stderr);
    const names = (await sb.berth(['ps', '--format', '{{.Names}}'])).stdout.split('\n').filter((n) => n.startsWith('shop_worker_')).sort();
    assert.deepEqual(names, ['shop_worker_1', 'shop_worker_2', 'shop_worker_3']);
    const ips = new Set<string>();
    for (const n of names) ips.add(await sb.inspect(n, '{{(index .NetworkSettings.Networks "shop_public-net-1").IPAddress}}'));
    const ns = (await sb.berth(['exec', 'shop_worker_1', 'nslookup', 'worker.'])).stdout;
    const answered = new Set([...ns.matchAll(/Address: (10\.123\.0\.\d+)/g)].map((m) => m[1]));
    assert.deepEqual([...answered].sort(), [...ips].sort(), ns);
  });

  it('down removes every container and network and leaves nothing', async () => {
    const down = await compose('down -t 1', true);
    assert.equal(down.code, 0, down.stdout + down.stderr);
    assert.equal((await sb.berth(['ps', '-aq'])).stdout, '');
    assert.equal((await sb.berth(['network', 'ls', '--format', '{{.Name}}'])).stdout, 'bridge\nhost\nnone\n');
    assert.equal((await sb.sh('ip -o link show type veth | grep -v outside | grep -vc "eth0@" || true')).stdout.trim(), '0');
  });
});
