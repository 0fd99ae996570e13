# The Docker SDK for Python (Debian's python3-docker) against berthd: DOCKER_HOST=unix:///run/berth/berth.sock
import docker

client = docker.from_env()
net = client.networks.create('py-net', ipam=docker.types.IPAMConfig(
    pool_configs=[docker.types.IPAMPool(subnet='10.88.0.0/24')]))
web = client.containers.run('busybox', 'httpd -f -p 80 -h /etc', name='py-web', detach=True,
                            network='py-net', ports={'80/tcp': 8090})
web.reload()
print(web.name, web.ports, web.attrs['NetworkSettings']['Networks']['py-net']['IPAddress'])
out = client.containers.run('busybox', ['nslookup', 'py-web.'], network='py-net', remove=True).decode()
print([line for line in out.split('\n') if line.startswith('Address: ')])
web.remove(force=True)
net.remove()
