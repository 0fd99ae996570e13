"""The Docker SDK for Python (Debian's python3-docker) against berthd: every network,
container-network and port call of its API, high-level and low-level, as users write them.
Run by test/e2e/python-sdk.test.ts inside a sandbox, with DOCKER_HOST pointing at berthd.
"""
import unittest

import docker
from docker.errors import APIError, NotFound
from docker.types import EndpointConfig, IPAMConfig, IPAMPool

IMAGE = 'busybox'
SLEEP = ['sleep', '1000']


class SdkNetworks(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.client = docker.from_env()
        cls.api = cls.client.api

    def tearDown(self):
        for c in self.client.containers.list(all=True):
            c.remove(force=True)
        self.client.networks.prune()

    def test_version_and_ping(self):
        self.assertTrue(self.client.ping())
        self.assertIn('ApiVersion', self.client.version())

    def test_network_create_with_every_option_then_inspect_list_remove(self):
        ipam = IPAMConfig(pool_configs=[IPAMPool(subnet='10.77.0.0/16', iprange='10.77.5.0/24',
                                                 gateway='10.77.0.254', aux_addresses={'router': '10.77.0.253'})])
        net = self.client.networks.create('sdk-full', driver='bridge', ipam=ipam, check_duplicate=True,
                                          internal=True, labels={'team': 'a'}, attachable=True,
                                          options={'com.docker.network.bridge.enable_icc': 'true'})
        net.reload()
        self.assertEqual(net.name, 'sdk-full')
        attrs = net.attrs
        self.assertEqual(attrs['Driver'], 'bridge')
        self.assertTrue(attrs['Internal'])
        self.assertTrue(attrs['Attachable'])
        self.assertEqual(attrs['Labels'], {'team': 'a'})
        cfg = attrs['IPAM']['Config'][0]
        self.assertEqual((cfg['Subnet'], cfg['Gateway'], cfg['IPRange']), ('10.77.0.0/16', '10.77.0.254', '10.77.5.0/24'))
        self.assertEqual(cfg['AuxiliaryAddresses'], {'router': '10.77.0.253'})
        with self.assertRaises(APIError) as dup:
            self.client.networks.create('sdk-full')
        self.assertEqual(dup.exception.status_code, 409)
        self.assertIn(net.id, [n.id for n in self.client.networks.list(names=['sdk-full'])])
        self.assertIn(net.id, [n.id for n in self.client.networks.list(ids=[net.id[:12]])])
        self.assertIn(net.id, [n.id for n in self.client.networks.list(filters={'label': 'team=a'})])
        self.assertEqual(self.client.networks.list(filters={'label': 'team=b'}), [])
        self.assertEqual([n.name for n in self.client.networks.list(filters={'type': 'custom'})], ['sdk-full'])
        self.assertEqual(self.client.networks.get(net.id[:12]).name, 'sdk-full')
        self.assertEqual(self.client.networks.get('sdk-full', scope='local').id, net.id)
        with self.assertRaises(NotFound):
            self.client.networks.get('sdk-full', scope='swarm')
        net.remove()
        with self.assertRaises(NotFound):
            self.client.networks.get('sdk-full')

    def test_low_level_network_calls(self):
        res = self.api.create_network('sdk-low', driver='bridge',
                                      ipam=IPAMConfig(pool_configs=[IPAMPool(subnet='10.78.0.0/24')]))
        nid = res['Id']
        self.assertEqual(self.api.inspect_network(nid)['Name'], 'sdk-low')
        self.assertEqual(self.api.inspect_network(nid, verbose=True)['Name'], 'sdk-low')
        self.assertIn(nid, [n['Id'] for n in self.api.networks(names=['sdk-low'])])
        self.assertIn(nid, [n['Id'] for n in self.api.networks(ids=[nid])])
        c = self.api.create_container(IMAGE, SLEEP, name='low1')
        self.api.connect_container_to_network(c['Id'], nid, ipv4_address='10.78.0.50', aliases=['al1'], links=[])
        self.api.start(c['Id'])
        eps = self.api.inspect_container(c['Id'])['NetworkSettings']['Networks']
        self.assertEqual(eps['sdk-low']['IPAddress'], '10.78.0.50')
        self.assertIn('al1', eps['sdk-low']['Aliases'])
        self.assertIn(c['Id'], self.api.inspect_network(nid)['Containers'])
        self.api.disconnect_container_from_network(c['Id'], nid, force=True)
        self.assertNotIn('sdk-low', self.api.inspect_container(c['Id'])['NetworkSettings']['Networks'])
        self.api.remove_container(c['Id'], force=True)
        pruned = self.api.prune_networks()
        self.assertIn('sdk-low', pruned['NetworksDeleted'])

    def test_run_on_a_network_with_aliases_and_find_each_other(self):
        net = self.client.networks.create('sdk-app')
        db = self.client.containers.run(IMAGE, SLEEP, name='sdk-db', detach=True, network='sdk-app')
        web = self.client.containers.run(IMAGE, SLEEP, name='sdk-web', detach=True, network='sdk-app')
        code, out = web.exec_run(['nslookup', 'sdk-db.'])
        self.assertEqual(code, 0, out)
        db.reload()
        ip = db.attrs['NetworkSettings']['Networks']['sdk-app']['IPAddress']
        self.assertIn(ip.encode(), out)
        net.reload()
        self.assertEqual(sorted(c.name for c in net.containers), ['sdk-db', 'sdk-web'])

    def test_network_connect_disconnect_live_with_ip_aliases_links(self):
        net = self.client.networks.create('sdk-live', ipam=IPAMConfig(pool_configs=[IPAMPool(subnet='10.79.0.0/24')]))
        target = self.client.containers.run(IMAGE, SLEEP, name='sdk-target', detach=True, network='sdk-live')
        c = self.client.containers.run(IMAGE, SLEEP, name='sdk-live1', detach=True)
        net.connect(c, ipv4_address='10.79.0.77', aliases=['live-alias'], links=[('sdk-target', 'tgt')])
        c.reload()
        ep = c.attrs['NetworkSettings']['Networks']['sdk-live']
        self.assertEqual(ep['IPAddress'], '10.79.0.77')
        self.assertIn('live-alias', ep['Aliases'])
        code, out = c.exec_run(['ip', '-4', '-o', 'addr'])
        self.assertIn(b'10.79.0.77/24', out)
        code, out = target.exec_run(['nslookup', 'live-alias.'])
        self.assertEqual(code, 0, out)
        self.assertIn(b'10.79.0.77', out)
        with self.assertRaises(APIError) as again:
            net.connect(c)
        self.assertEqual(again.exception.status_code, 403)
        net.disconnect(c)
        c.reload()
        self.assertNotIn('sdk-live', c.attrs['NetworkSettings']['Networks'])
        with self.assertRaises(APIError):
            net.disconnect(c)

    def test_network_modes_host_none_container(self):
        host = self.client.containers.run(IMAGE, ['ip', '-o', 'link'], network_mode='host', remove=True)
        self.assertIn(b'eth0', host)
        none = self.client.containers.run(IMAGE, ['ip', '-o', 'link'], network_mode='none', remove=True)
        self.assertEqual(none.count(b'\n'), 1)
        first = self.client.containers.run(IMAGE, SLEEP, name='sdk-first', detach=True)
        shared = self.client.containers.run(IMAGE, ['ip', '-4', '-o', 'addr', 'show', 'eth0'],
                                            network_mode='container:sdk-first', remove=True)
        first.reload()
        self.assertIn(first.attrs['NetworkSettings']['IPAddress'].encode(), shared)

    def test_published_ports_every_form(self):
        c = self.client.containers.run(IMAGE, SLEEP, name='sdk-ports', detach=True,
                                       ports={'80/tcp': 8080, '53/udp': ('127.0.0.1', 5353), '81/tcp': None,
                                              '82/tcp': [8082, 8083]})
        c.reload()
        ports = c.ports
        # both families on one port, as Docker 20.10+
        self.assertEqual(ports['80/tcp'], [{'HostIp': '0.0.0.0', 'HostPort': '8080'}, {'HostIp': '::', 'HostPort': '8080'}])
        self.assertEqual(ports['53/udp'], [{'HostIp': '127.0.0.1', 'HostPort': '5353'}])
        self.assertTrue(int(ports['81/tcp'][0]['HostPort']) >= 32768)
        self.assertEqual(sorted(p['HostPort'] for p in ports['82/tcp']), ['8082', '8082', '8083', '8083'])
        self.assertEqual(self.api.port(c.id, 80), [{'HostIp': '0.0.0.0', 'HostPort': '8080'}, {'HostIp': '::', 'HostPort': '8080'}])
        self.assertEqual(self.api.port(c.id, '53/udp'), [{'HostIp': '127.0.0.1', 'HostPort': '5353'}])
        listed = self.api.containers(filters={'name': 'sdk-ports'})[0]['Ports']
        self.assertIn({'IP': '0.0.0.0', 'PrivatePort': 80, 'PublicPort': 8080, 'Type': 'tcp'}, listed)
        with self.assertRaises(APIError) as taken:
            self.client.containers.run(IMAGE, SLEEP, name='sdk-ports2', detach=True, ports={'80/tcp': 8080})
        self.assertIn('port is already allocated', str(taken.exception))
        all_ports = self.client.containers.run(IMAGE, SLEEP, name='sdk-pall', detach=True, publish_all_ports=True,
                                               ports={'90/tcp': None})
        all_ports.reload()
        self.assertIn('90/tcp', all_ports.ports)

    def test_networking_config_at_create(self):
        self.client.networks.create('sdk-nc', ipam=IPAMConfig(pool_configs=[IPAMPool(subnet='10.80.0.0/24')]))
        nc = self.api.create_networking_config({
            'sdk-nc': self.api.create_endpoint_config(ipv4_address='10.80.0.9', aliases=['nc-alias']),
        })
        hc = self.api.create_host_config(network_mode='sdk-nc', dns=['10.80.0.1'], dns_search=['corp.test'],
                                         extra_hosts={'extra.test': '10.1.2.3'})
        c = self.api.create_container(IMAGE, SLEEP, name='sdk-nc1', host_config=hc, networking_config=nc,
                                      hostname='nc-host', mac_address='02:42:0a:50:00:09')
        self.api.start(c['Id'])
        ep = self.api.inspect_container(c['Id'])['NetworkSettings']['Networks']['sdk-nc']
        self.assertEqual(ep['IPAddress'], '10.80.0.9')
        self.assertEqual(ep['MacAddress'], '02:42:0a:50:00:09')
        self.assertIn('nc-alias', ep['Aliases'])
        ex = self.api.exec_create(c['Id'], ['cat', '/etc/hosts', '/etc/hostname'])
        out = self.api.exec_start(ex['Id'])
        self.assertIn(b'10.1.2.3\textra.test', out)
        self.assertIn(b'nc-host', out)
        self.assertIsInstance(EndpointConfig('1.41', aliases=['x']), dict)

    def test_legacy_links_on_the_default_bridge(self):
        self.client.containers.run(IMAGE, SLEEP, name='sdk-linked', detach=True, environment={'ROLE': 'db'})
        out = self.client.containers.run(IMAGE, ['sh', '-c', 'echo $DB_ENV_ROLE; grep -c sdk-linked /etc/hosts'],
                                         links={'sdk-linked': 'db'}, remove=True)
        self.assertEqual(out, b'db\n1\n')

    def test_image_list_filters_are_the_daemons(self):
        img = self.client.images.get(IMAGE)
        img.tag('sdkimg/a', 'v1')
        img.tag('sdkimg/b')
        try:
            # The daemon keeps only the tags the reference pattern matches (the low-level call
            # shows them; images.list() inspects each image again, which lists all its tags).
            self.assertEqual([sorted(i['RepoTags']) for i in self.api.images(name='sdkimg/*')], [['sdkimg/a:v1', 'sdkimg/b:latest']])
            self.assertEqual([i['RepoTags'] for i in self.api.images('sdkimg/a')], [['sdkimg/a:v1']])
            self.assertEqual(len(self.client.images.list('sdkimg/a')), 1)
            self.assertEqual(self.client.images.list(filters={'dangling': True}), [])
            self.assertEqual(self.client.images.list('sdkimg/*', filters={'label': 'nosuch'}), [])
            with self.assertRaises(APIError) as bad:
                self.client.images.list(filters={'colour': 'red'})
            self.assertEqual(bad.exception.status_code, 400)
            self.assertIn("invalid filter 'colour'", str(bad.exception))
        finally:
            self.client.images.remove('sdkimg/a:v1')
            self.client.images.remove('sdkimg/b')

    def test_errors_are_docker_errors(self):
        with self.assertRaises(NotFound):
            self.client.networks.get('no-such-net')
        with self.assertRaises(NotFound):
            self.client.containers.run(IMAGE, SLEEP, detach=True, network='no-such-net')
        with self.assertRaises(APIError) as pre:
            self.client.networks.get('bridge').remove()
        self.assertEqual(pre.exception.status_code, 403)


if __name__ == '__main__':
    unittest.main(verbosity=2)
