// Legacy links (`--link NAME:ALIAS`) as Docker makes them, checked against Docker 20.10: on the
// default bridge an /etc/hosts line (alias, short id, name) and the target's environment and ports
// as <ALIAS>_* variables, a missing target refused, HostConfig.Links recorded "/target:/linker/alias"
// and `rm --link` removing it; a target that is not running stops the start.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Sandbox } from '../harness/sandbox';

const skip = Sandbox.skipReason();

describe('legacy links', { skip }, () => {
  let sb: Sandbox;

  before(async () => {
    sb = await Sandbox.start();
    await sb.importBusybox();
  });
  after(async () => { await sb?.cleanup(); });

  it('on the default bridge: /etc/hosts line with the short id, <ALIAS>_* variables', async () => {
    await sb.berth(['run', '-d', '--name', 'legacy1', '-e', 'FOO=bar', '-e', 'HOME=/h', '--expose', '80', '--expose', '53/udp', 'busybox', 'sleep', '1000']);
    const ip = await sb.inspect('legacy1', '{{.NetworkSettings.IPAddress}}');
    const short = (await sb.inspect('legacy1', '{{.Id}}')).slice(0, 12);
    const out = (await sb.berth(['run', '--rm', '--name', 'linker0', '--link', 'legacy1:db', 'busybox', 'sh', '-c', 'env | grep ^DB_ | sort; grep legacy1 /etc/hosts'])).stdout;
    assert.equal(out, [
      'DB_ENV_FOO=bar',
      'DB_NAME=/linker0/db',
      `DB_PORT=udp://${ip}:53`,
      `DB_PORT_53_UDP=udp://${ip}:53`,
      `DB_PORT_53_UDP_ADDR=${ip}`,
      'DB_PORT_53_UDP_PORT=53',
      'DB_PORT_53_UDP_PROTO=udp',
      `DB_PORT_80_TCP=tcp://${ip}:80`,
      `DB_PORT_80_TCP_ADDR=${ip}`,
      'DB_PORT_80_TCP_PORT=80',
      'DB_PORT_80_TCP_PROTO=tcp',
      `${ip}\tdb ${short} legacy1`,
      '',
    ].join('\n'));
  });

  it('HostConfig.Links is recorded as Docker records it; rm --link removes it', async () => {
    await sb.berth(['create', '--name', 'linker', '--link', 'legacy1:db', '--link', 'legacy1', 'busybox', 'sleep', '1000']);
    assert.equal(await sb.inspect('linker', '{{json .HostConfig.Links}}'), '["/legacy1:/linker/db","/legacy1:/linker/legacy1"]');
    assert.equal((await sb.berth(['rm', '--link', 'linker/db'])).stdout, 'linker/db\n');
    assert.equal(await sb.inspect('linker', '{{json .HostConfig.Links}}'), '["/legacy1:/linker/legacy1"]');
    const again = await sb.berth(['rm', '--link', 'linker/db'], { allowFail: true });
    assert.equal(again.code, 1);
    assert.equal(again.stderr, 'Error response from daemon: No such container: linker/db\n');
    await sb.berth(['rm', 'linker']);
  });

  it('a missing target is refused at create; a stopped one stops the start; bad formats are refused', async () => {
    const r = await sb.berth(['create', '--link', 'nosuch:x', 'busybox', 'true'], { allowFail: true });
    assert.equal(r.code, 1);
    assert.equal(r.stderr, 'Error response from daemon: could not get container for nosuch: No such container: nosuch\n');
    await sb.berth(['create', '--name', 'stopped1', 'busybox', 'true']);
    await sb.berth(['create', '--name', 'lk2', '--link', 'stopped1:db', 'busybox', 'sleep', '1000']);
    const s = await sb.berth(['start', 'lk2'], { allowFail: true });
    assert.equal(s.code, 1);
    assert.match(s.stderr, /Cannot link to a non running container: \/stopped1 AS \/lk2\/db/);
    assert.equal(await sb.inspect('lk2', '{{.State.Status}}'), 'created');
    const bad = await sb.berth(['create', '--link', 'legacy1:a:b', 'busybox', 'true'], { allowFail: true });
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /bad format for links: legacy1:a:b/);
    const host = await sb.berth(['create', '--network', 'host', '--link', 'legacy1:x', 'busybox', 'true'], { allowFail: true });
    assert.match(host.stderr, /conflicting options: host type networking can't be used with links/);
    await sb.berth(['rm', '-f', 'stopped1', 'lk2']);
  });

  it('on a user-defined network links are the endpoint\'s, not HostConfig\'s, and the target may come later', async () => {
    await sb.berth(['network', 'create', 'ln1']);
    await sb.berth(['create', '--name', 'ulinker', '--network', 'ln1', '--link', 'later:lat', 'busybox', 'sleep', '1000']);
    assert.equal(await sb.inspect('ulinker', '{{json .HostConfig.Links}} {{json (index .NetworkSettings.Networks "ln1").Links}}'), 'null ["later:lat"]');
    await sb.berth(['rm', '-f', 'ulinker']);
    await sb.berth(['network', 'rm', 'ln1']);
    await sb.berth(['rm', '-f', 'legacy1']);
  });
});
