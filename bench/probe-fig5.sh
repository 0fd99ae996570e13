#!/bin/bash
# Figure 5 probe: berth and Docker (--userland-proxy=false) running side by side in one private
# namespace, their published ports measured in alternation (so a change in the machine's load
# hits both alike), then what differs in their data paths: the container's side (seccomp,
# cgroups, link, qdisc, sysctls, netfilter), the host's side, and the daemons' CPU while idle.
#
#   bench/probe-fig5.sh [ROUNDS]      (after npm run build; prints as it goes)
set -uo pipefail
cd "$(dirname "$0")/.."
if [[ ${1:-} != --inside ]]; then exec unshare --net --mount --pid --fork --propagation private "$0" --inside "$@"; fi
shift
ROUNDS=${1:-8}
ROOT=$PWD
mount -t proc proc /proc
top=$(mktemp -d /tmp/berth-bench-probe-XXXXXX); mount -t tmpfs tmpfs "$top"
trap 'kill $(cat $top/docker.pid 2>/dev/null) 2>/dev/null; pkill -P $$; sleep 2; umount -l $top; rmdir $top' EXIT
ip link set lo up; sysctl -qw net.ipv4.ip_forward=1
HOSTIP=192.168.77.1
ip link add upl0 type veth peer name upl1; ip addr add $HOSTIP/24 dev upl0; ip link set upl0 up; ip link set upl1 up
scripts/busybox-image.sh >"$top/busybox.tar"
IPERF=(-v /usr/bin/iperf3:/usr/bin/iperf3:ro -v /usr/lib/x86_64-linux-gnu:/usr/lib/x86_64-linux-gnu:ro busybox iperf3 -s -p 5201)
B=$top/b.sock
node bin/berthd --data-root "$top/bd" --exec-root "$top/be" -H "unix://$B" 2>"$top/berthd.log" &
for _ in $(seq 100); do curl -s --unix-socket "$B" http://x/_ping >/dev/null && break; sleep 0.1; done
berth() { node "$ROOT/bin/berth" -H "unix://$B" "$@"; }
berth import --change 'ENV PATH=/bin:/usr/bin:/sbin' "$top/busybox.tar" busybox >/dev/null
berth run -d --name pp -p 10090:80 busybox httpd -f -p 80 -h /www >/dev/null
berth run -d --name ip3 -p 10201:5201 "${IPERF[@]}" >/dev/null
export DOCKER_HOST=unix://$top/docker.sock
dockerd --data-root "$top/dd" --exec-root "$top/de" -H "$DOCKER_HOST" --pidfile "$top/docker.pid" --userland-proxy=false >"$top/dockerd.log" 2>&1 &
for _ in $(seq 120); do docker version >/dev/null 2>&1 && break; sleep 0.5; done
docker import --change 'ENV PATH=/bin:/usr/bin:/sbin' "$top/busybox.tar" busybox >/dev/null
docker run -d --name pp -p 20090:80 busybox httpd -f -p 80 -h /www >/dev/null
docker run -d --name ip3 -p 20201:5201 "${IPERF[@]}" >/dev/null
sleep 2
conns() { python3 - "$1" "$2" <<'PY'
import socket, sys, time
host, port = sys.argv[1], int(sys.argv[2]); n, end = 0, time.time() + 2
while time.time() < end:
    s = socket.create_connection((host, port)); s.sendall(b'GET / HTTP/1.0\r\n\r\n')
    while s.recv(65536): pass
    s.close(); n += 1
print(n // 2)
PY
}
gbps() { iperf3 -c "$1" -p "$2" -t 3 -J 2>/dev/null | python3 -c 'import json,sys; print("%.2f" % (json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"] / 1e9))'; }
echo "round: HTTP conn/s berth/docker via 127.0.0.1, via $HOSTIP | iperf3 Gbit/s berth/docker via 127.0.0.1, via $HOSTIP"
for ((r = 1; r <= ROUNDS; r++)); do
  echo "$r: $(conns 127.0.0.1 10090)/$(conns 127.0.0.1 20090) $(conns $HOSTIP 10090)/$(conns $HOSTIP 20090) | $(gbps 127.0.0.1 10201)/$(gbps 127.0.0.1 20201) $(gbps $HOSTIP 10201)/$(gbps $HOSTIP 20201)"
done
echo "--- the container's side: berth, then Docker"
for p in $(berth inspect --format '{{.State.Pid}}' pp) $(docker inspect --format '{{.State.Pid}}' pp); do
  echo "== pid $p"; grep -E 'Seccomp|Speculation|Cpus_allowed_list' "/proc/$p/status"; grep -E ':(pids|cpu|memory):|^0::' "/proc/$p/cgroup"
  nsenter --net="/proc/$p/ns/net" sh -c 'ip -d link show eth0 | sed -n 3p; tc qdisc show dev eth0; nft list ruleset | grep -c . ; sysctl net.ipv4.tcp_congestion_control net.ipv4.conf.eth0.rp_filter'
done
echo "--- the host's side: nft lines (berth's table and iptables-nft's), qdiscs"
nft list ruleset | grep -c .; tc qdisc show | sort | uniq -c | awk '{print $1, $2, $3}' | sort -u
echo "--- the daemons' CPU while idle (clock ticks in 10 s)"
snap() { for p in $(pgrep -f 'bin/berthd') $(pgrep -f berth-dns) $(cat "$top/docker.pid") $(pgrep -x containerd); do echo "$p $(awk '{print $14 + $15}' "/proc/$p/stat") $(tr '\0' ' ' <"/proc/$p/cmdline" | cut -c1-30)"; done; }
snap >"$top/c0"; sleep 10; snap | awk '{print $1, $2}' >"$top/c1"
join "$top/c0" "$top/c1" | awk '{print $NF - $2, $3, $4}'
