import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { endpointLinks, linkEnv, parseLink, recordedLink } from '../../src/engine/links';

describe('legacy links', () => {
  it('parses name, name:alias and the recorded form; refuses the rest with Docker\'s message', () => {
    assert.deepEqual(parseLink('db'), { target: 'db', alias: 'db' });
    assert.deepEqual(parseLink('db:data'), { target: 'db', alias: 'data' });
    assert.deepEqual(parseLink('/db:/web/data'), { target: 'db', alias: 'data' });
    for (const bad of ['a:b:c', '', ':x', 'x:', 5, null]) assert.throws(() => parseLink(bad), /bad format for links/);
    assert.equal(recordedLink('db', 'web', 'data'), '/db:/web/data');
  });

  it('gives Docker\'s variables: name, env without HOME/PATH, lowest port first, tcp before udp', () => {
    const env = linkEnv('web', 'my-db', { name: 'db', ip: '172.17.0.2', env: ['PATH=/bin', 'HOME=/root', 'FOO=bar=baz', 'EMPTY'], exposed: ['80/udp', '80/tcp', '53/udp'] });
    assert.deepEqual(env, [
      'MY_DB_NAME=/web/my-db',
      'MY_DB_ENV_FOO=bar=baz',
      'MY_DB_ENV_EMPTY=',
      'MY_DB_PORT=udp://172.17.0.2:53',
      'MY_DB_PORT_53_UDP=udp://172.17.0.2:53', 'MY_DB_PORT_53_UDP_ADDR=172.17.0.2', 'MY_DB_PORT_53_UDP_PORT=53', 'MY_DB_PORT_53_UDP_PROTO=udp',
      'MY_DB_PORT_80_TCP=tcp://172.17.0.2:80', 'MY_DB_PORT_80_TCP_ADDR=172.17.0.2', 'MY_DB_PORT_80_TCP_PORT=80', 'MY_DB_PORT_80_TCP_PROTO=tcp',
      'MY_DB_PORT_80_UDP=udp://172.17.0.2:80', 'MY_DB_PORT_80_UDP_ADDR=172.17.0.2', 'MY_DB_PORT_80_UDP_PORT=80', 'MY_DB_PORT_80_UDP_PROTO=udp',
    ]);
    assert.deepEqual(linkEnv('web', 'x', { name: 'db', ip: '10.0.0.1', env: [], exposed: [] }), ['X_NAME=/web/x']);
  });

  it('endpoint links: normalized on user-defined networks, refused on the default bridge (not dropped)', () => {
    assert.deepEqual(endpointLinks(['db', '/web:/x/w'], 'EndpointConfig', false), ['db:db', 'web:w']);
    assert.equal(endpointLinks(null, 'EndpointConfig', true), undefined);
    assert.equal(endpointLinks([], 'EndpointConfig', true), undefined);
    assert.throws(() => endpointLinks(['db'], 'EndpointConfig', true), /supported only on user defined networks/);
    assert.throws(() => endpointLinks('db', 'EndpointConfig', false), /must be a list/);
  });
});
