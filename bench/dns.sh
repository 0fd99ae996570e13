#!/bin/bash
# DNS benchmark: dnsperf from inside a container against berth's embedded resolver, Docker's
# (dockerd from Debian's docker.io, started here) and aardvark-dns (podman's, Debian package),
# inside a private network/mount/PID namespace it creates: the machine's interfaces, routes and
# firewall are never touched. Three query files:
#   one name   one container name, over and over: every answer a cache hit (the best case)
#   forwarded  one name under .test that each resolver forwards to the upstream
#   mix        a network of $N containers, each with an alias; per container, in shuffled order:
#              3 × its name (A), 1 × its alias (A), 1 × <name>.<network> (A), 1 × the PTR of its
#              address, 1 × its name (AAAA, the network has no IPv6: an empty answer), 2 × a
#              name of its own under .test, forwarded (A): 9 queries, 22% of them forwarded
# The upstream is one fake resolver on 10.250.0.1 in the bench's own namespace, the one every
# system forwards to (each from where its resolver runs: berth-dns and aardvark-dns in the
# host's namespace, Docker's from inside the container's).
#
#   bench/dns.sh [--quick]        writes bench/out/dns_*.txt, prints them
#
# Run as root after `npm run build`. Installs dnsperf, aardvark-dns and docker.io if missing.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
if [[ ${1:-} != --inside ]]; then
  need=()
  command -v dnsperf >/dev/null || need+=(dnsperf)
  [[ -x /usr/lib/podman/aardvark-dns ]] || need+=(aardvark-dns)
  command -v dockerd >/dev/null || need+=(docker.io)
  if ((${#need[@]})); then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" iptables >/dev/null
  fi
  exec unshare --net --mount --pid --fork --propagation private "$0" --inside "$@"
fi
shift
DUR=4; PDUR=2; RUNS=3; N=200
[[ ${1:-} == --quick ]] && { DUR=3; PDUR=2; RUNS=1; N=30; }

mount -t proc proc /proc
top=$(mktemp -d /tmp/berth-bench-dns-XXXXXX)
mount -t tmpfs tmpfs "$top"
OUT=$ROOT/bench/out; mkdir -p "$OUT"; rm -f "$OUT"/dns_*.txt
cleanup() { pkill -P $$ 2>/dev/null || true; kill "$(cat "$top/docker.pid" 2>/dev/null)" 2>/dev/null || true; sleep 1; umount -l "$top" 2>/dev/null; rmdir "$top" 2>/dev/null || true; }
trap cleanup EXIT
ip link set lo up
sysctl -qw net.ipv4.ip_forward=1
record() { echo "$2" >"$OUT/dns_$1.txt"; }
# Between systems: nothing of one stays for the next to walk through (nft tables, iptables
# chains, bridges), in this private namespace only.
scrub() { local l; nft flush ruleset; for l in $(ip -o link show type bridge | awk -F': ' '{print $2}'); do ip link del "$l"; done; }

# The upstream, in this namespace: a veth whose near end holds 10.250.0.1.
ip link add upl type veth peer name upr
ip addr add 10.250.0.1/24 dev upl; ip link set upl up; ip link set upr up
node dist/test/harness/fakedns.js 10.250.0.1 answer /dev/null &
echo 'nameserver 10.250.0.1' >"$top/resolv.conf"
mount --bind "$top/resolv.conf" /etc/resolv.conf
UPSTREAM=10.250.0.1

echo 'c1 A' >"$top/one.txt"
echo 'www.bench.test A' >"$top/fwd.txt"
scripts/busybox-image.sh >"$top/busybox.tar"

# The mix, from "name address" lines on stdin; $1: the network's name. Shuffled the same way
# for every system (a fixed random source).
mixfile() {
  local name ip
  while read -r name ip; do
    local i=${name#c}
    printf '%s A\n%s A\n%s A\na%s A\n%s.%s A\n%s PTR\n%s AAAA\nw%s.bench.test A\nx%s.bench.test A\n' \
      "$name" "$name" "$name" "$i" "$name" "$1" \
      "$(awk -F. '{print $4"."$3"."$2"."$1".in-addr.arpa"}' <<<"$ip")" "$name" "$i" "$i"
  done | shuf --random-source=<(yes)
}

# dnsperf in a namespace: "<qps> <p99 ms> <answers by rcode>", qps and p99 each the median of
# $RUNS runs. Queries per second come from plain runs; p99 and rcodes from runs with -v (a line
# per query), whose printing costs dnsperf enough CPU on a small machine to cap the rate it can
# offer, so the two are measured apart.
measure() { # $1: nsenter target args (quoted string), $2: server, $3: query file
  local qs=() ps=() i codes
  for ((i = 0; i < RUNS; i++)); do
    # shellcheck disable=SC2086
    nsenter $1 dnsperf -s "$2" -d "$3" -l "$DUR" >"$top/perf.out" 2>&1 || true
    qs+=("$(awk '/Queries per second/{printf "%d", $4}' "$top/perf.out")")
    # shellcheck disable=SC2086
    nsenter $1 dnsperf -s "$2" -d "$3" -l "$PDUR" -v >"$top/perf.out" 2>&1 || true
    ps+=("$(awk '/^> /{print $NF}' "$top/perf.out" | sort -g | awk '{l[NR]=$1} END{i=int(NR*0.99); if (i<1) i=1; printf "%.3f", l[i]*1000}')")
  done
  codes=$(awk '/^> /{n++; c[$2 == "T" ? "timeout" : $2]++} END{for (k in c) printf "%s %.0f%%;", k, 100*c[k]/n}' "$top/perf.out" | tr ';' '\n' | sort -k2 -rn | paste -sd, | sed 's/,$//; s/,/, /g')
  local mid=$(( (RUNS + 1) / 2 ))
  echo "$(printf '%s\n' "${qs[@]}" | sort -n | sed -n "${mid}p") $(printf '%s\n' "${ps[@]}" | sort -g | sed -n "${mid}p") ${codes:-none}"
}
# All three query files against one resolver; $1 system, $2 nsenter args, $3 server
measure_all() {
  local f r
  for f in one fwd mix; do
    r=$(measure "$2" "$3" "$top/$f.txt")
    read -r q p c <<<"$r"
    record "${1}_${f}_qps" "$q"; record "${1}_${f}_p99" "$p"; record "${1}_${f}_rcodes" "$c"
  done
}

# ---- berth
mkdir -p "$top/berth"
export BERTH_HOST=unix://$top/berth.sock
node bin/berthd --data-root "$top/berth/data" --exec-root "$top/berth/exec" -H "$BERTH_HOST" 2>"$top/berthd.log" &
BPID=$!
for _ in $(seq 100); do node bin/berth version >/dev/null 2>&1 && break; sleep 0.1; done
berth() { node "$ROOT/bin/berth" "$@"; }
berth import "$top/busybox.tar" busybox --change 'ENV PATH=/bin:/usr/bin:/sbin' >/dev/null
berth network create --subnet 10.99.0.0/16 bench >/dev/null
for ((i = 1; i <= N; i++)); do berth run -d --name "c$i" --network bench --network-alias "a$i" busybox sleep 100000 >/dev/null; done
cid=$(berth run -d --name client --network bench --dns $UPSTREAM busybox sleep 100000)
for ((i = 1; i <= N; i++)); do echo "c$i $(berth inspect --format '{{.NetworkSettings.Networks.bench.IPAddress}}' "c$i")"; done | mixfile bench >"$top/mix.txt"
measure_all berth "--net=$top/berth/exec/netns/${cid:0:12}" 127.0.0.11
# Nothing of berth's stays for Docker's turn: Docker's network reuses the subnet (the same PTR
# names), and replies must not find berth's bridge. berth-dns outlives berthd: it is ours to end.
berth rm -f $(berth ps -aq) >/dev/null; berth network rm bench >/dev/null
kill $BPID; wait $BPID 2>/dev/null || true
pkill -P $$ -f berth-dns || true
scrub

# ---- Docker
dockerd --data-root "$top/docker/data" --exec-root "$top/docker/exec" -H "unix://$top/docker.sock" \
  --pidfile "$top/docker.pid" >"$top/dockerd.log" 2>&1 &
export DOCKER_HOST=unix://$top/docker.sock
for _ in $(seq 120); do docker version >/dev/null 2>&1 && break; sleep 0.5; done
docker import --change 'ENV PATH=/bin:/usr/bin:/sbin' "$top/busybox.tar" busybox >/dev/null
docker network create --subnet 10.99.0.0/16 bench >/dev/null
for ((i = 1; i <= N; i++)); do docker run -d --name "c$i" --network bench --network-alias "a$i" busybox sleep 100000 >/dev/null; done
docker run -d --name client --network bench --dns $UPSTREAM busybox sleep 100000 >/dev/null
for ((i = 1; i <= N; i++)); do echo "c$i $(docker inspect --format '{{.NetworkSettings.Networks.bench.IPAddress}}' "c$i")"; done | mixfile bench >"$top/mix.txt"
measure_all docker "--net=/proc/$(docker inspect -f '{{.State.Pid}}' client)/ns/net" 127.0.0.11
docker rm -f $(docker ps -aq) >/dev/null
kill "$(cat "$top/docker.pid")"; for _ in $(seq 40); do [[ -d /proc/$(cat "$top/docker.pid" 2>/dev/null || echo 0) ]] || break; sleep 0.25; done
scrub

# ---- aardvark-dns (as netavark sets it up: listening on the bridge gateway), the same names
ip link add aard0 type bridge; ip addr add 10.89.0.1/16 dev aard0; ip link set aard0 up
touch "$top/ac.ns"; unshare --net="$top/ac.ns" ip link set lo up
ip link add ach type veth peer name eth0 netns "$top/ac.ns"; ip link set ach master aard0 up
nsenter --net="$top/ac.ns" sh -c 'ip addr add 10.89.0.2/16 dev eth0; ip link set eth0 up; ip route add default via 10.89.0.1'
mkdir -p "$top/aard"
{
  echo 10.89.0.1
  printf '%s 10.89.0.2  client\n' "$(printf 'c%.0s' {1..64})"
  for ((i = 1; i <= N; i++)); do printf '%064x 10.89.%d.%d  c%d,a%d\n' "$i" $(((i + 2) / 256)) $(((i + 2) % 256)) "$i" "$i"; done
} >"$top/aard/bench"
for ((i = 1; i <= N; i++)); do echo "c$i 10.89.$(((i + 2) / 256)).$(((i + 2) % 256))"; done | mixfile bench >"$top/mix.txt"
/usr/lib/podman/aardvark-dns --config "$top/aard" -p 53 run >"$top/aardvark.log" 2>&1 &
for _ in $(seq 50); do nsenter --net="$top/ac.ns" dnsperf -s 10.89.0.1 -d "$top/one.txt" -l 1 2>/dev/null | grep -q 'Queries completed: *[1-9]' && break; sleep 0.2; done
measure_all aardvark "--net=$top/ac.ns" 10.89.0.1

record containers "$N"; record dur "$DUR"; record runs "$RUNS"
record docker_version "$(dockerd --version | awk '{print $3}' | tr -d ,)"
record aardvark_version "$(/usr/lib/podman/aardvark-dns --version 2>/dev/null | awk '{print $2}')"
grep . "$OUT"/dns_*.txt | sed "s|$OUT/dns_||; s|\.txt:| |"
