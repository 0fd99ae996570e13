#!/bin/bash
# Runs the seeds' single-host walkthrough against a throwaway berthd inside a private network
# and mount namespace (nothing on the machine changes), printing each command and its output:
# this is where the README's walkthrough comes from. Run as root after `npm run build`.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/sandbox-env.sh

show berth network ls
show berth run --rm busybox ip -4 addr show eth0
show "berth run -d --name web -p 8080:80 host nginx -g 'daemon off;' >/dev/null"
settle
show "curl -s http://localhost:8080/ | grep title"
show berth run -d -P --expose 80 --name web2 host nginx -g "'daemon off;'" '>/dev/null'
show berth run -d -p 8000:80 -p 8888:80 --name web3 host nginx -g "'daemon off;'" '>/dev/null'
show berth run -d --name web4 -p 192.168.10.10::80 -p 127.0.0.1:9090:80 -p 5000-5002:5000-5002/udp host nginx -g "'daemon off;'" '>/dev/null'
show berth ps --format "'table {{.Names}}\t{{.Ports}}'"
show berth port web2 80
show berth port web4
show berth inspect --format "'{{ .NetworkSettings.IPAddress }}'" web
show berth network create -d bridge --subnet 172.26.0.0/16 --gateway 172.26.0.2 bridge1 '>/dev/null'
show berth run --name b2 --rm --net bridge1 busybox ip -4 addr show eth0
show berth run --rm --net bridge1 busybox ping -c1 -W1 '$(berth inspect --format "{{ .NetworkSettings.IPAddress }}" web)' '|| echo "unreachable: bridge1 is isolated from the default bridge"'
show berth run --rm --net bridge1 busybox wget -qO- http://192.168.10.10:8080/ '| grep title'
show berth network create my-net '>/dev/null'
show berth create --name my-nginx --network my-net --publish 8081:80 host nginx -g "'daemon off;'" '>/dev/null'
show berth start my-nginx
show berth run -d --name my-container busybox sleep 1000 '>/dev/null'
show berth network connect my-net my-container
show berth exec my-container ip -4 -o addr
show berth network disconnect my-net my-container
show berth exec my-container ip -4 -o addr
show berth run --name b1 -d busybox sleep 1000 '>/dev/null'
show berth run --name b3 --rm --network container:b1 busybox ip -4 -o addr
show berth run --name b4 --rm --network host busybox ip -4 -o addr show uplink
show berth run --rm --network none busybox ip -o link
show berth run --name mydocker1 --network bridge -h mydocker1.rayx.me --dns 8.8.8.8 --dns-search rayx.me --add-host www.rayx.me:54.12.17.68 --rm busybox sh -c "'cat /etc/hostname /etc/hosts /etc/resolv.conf'"
show berth network inspect --format "'{{.Name}} {{range .IPAM.Config}}{{.Subnet}} {{.Gateway}}{{end}} {{range .Containers}}{{.Name}}={{.IPv4Address}} {{end}}'" my-net bridge1
show berth run -d --name db --network my-net --network-alias database busybox sleep 1000 '>/dev/null'
show berth run --rm --network my-net busybox sh -c "'cat /etc/resolv.conf; nslookup database.; ping -c1 -W1 my-nginx'"
show berth run --rm busybox nslookup database. '||' echo "'(no names on the default bridge)'"
show berth rm -f web web2 web3 web4 my-nginx my-container b1 db '>/dev/null'
show berth network rm bridge1 my-net
