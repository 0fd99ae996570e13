#!/bin/bash
# DNS benchmark: dnsperf from inside a container against berth's embedded resolver, Docker's
# (dockerd from Debian's docker.io, started here) and aardvark-dns (podman's, Debian package),
# for container-name queries and forwarded queries (to a fake upstream in the bench's own
# namespace), all in one run, inside a private network/mount/PID namespace it creates: the
# machine's interfaces, routes and firewall are never touched.
#
#   bench/dns.sh [--quick]        prints a Markdown table; writes bench/dns-results.md
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
DUR=8; RUNS=3
[[ ${1:-} == --quick ]] && { DUR=3; RUNS=1; }

mount -t proc proc /proc
top=$(mktemp -d /tmp/berth-bench-dns-XXXXXX)
mount -t tmpfs tmpfs "$top"
cleanup() { pkill -P $$ 2>/dev/null || true; kill "$(cat "$top/docker.pid" 2>/dev/null)" 2>/dev/null || true; sleep 1; umount -l "$top" 2>/dev/null; rmdir "$top" 2>/dev/null || true; }
trap cleanup EXIT
ip link set lo up
sysctl -qw net.ipv4.ip_forward=1

# The upstream: a fake resolver in a namespace of its own, behind a veth (10.250.0.2).
mkns() { touch "$1"; unshare --net="$1" ip link set lo up; }
mkns "$top/up.ns"
ip link add upl type veth peer name upr netns "$top/up.ns"
ip addr add 10.250.0.1/24 dev upl; ip link set upl up
nsenter --net="$top/up.ns" sh -c 'ip addr add 10.250.0.2/24 dev upr; ip link set upr up; ip route add default via 10.250.0.1'
nsenter --net="$top/up.ns" node dist/test/harness/fakedns.js 10.250.0.2 answer /dev/null &
echo 'nameserver 10.250.0.2' >"$top/resolv.conf"
mount --bind "$top/resolv.conf" /etc/resolv.conf

echo 'target A' >"$top/names.txt"
echo 'www.bench.test A' >"$top/fwd.txt"
scripts/busybox-image.sh >"$top/busybox.tar"

# dnsperf in a namespace: "<qps> <p99 ms>", each the median of $RUNS runs. Queries per second
# come from plain runs; p99 from runs with -v (a line per query), whose printing costs dnsperf
# enough CPU on a small machine to cap the rate it can offer, so the two are measured apart.
measure() { # $1: nsenter target args (quoted string), $2: server, $3: query file
  local qs=() ps=() i
  for ((i = 0; i < RUNS; i++)); do
    # shellcheck disable=SC2086
    nsenter $1 dnsperf -s "$2" -d "$3" -l "$DUR" >"$top/perf.out" 2>&1 || true
    qs+=("$(awk '/Queries per second/{printf "%d", $4}' "$top/perf.out")")
    # shellcheck disable=SC2086
    nsenter $1 dnsperf -s "$2" -d "$3" -l "$DUR" -v >"$top/perf.out" 2>&1 || true
    ps+=("$(awk '/^> /{print $NF}' "$top/perf.out" | sort -g | awk '{l[NR]=$1} END{i=int(NR*0.99); if (i<1) i=1; printf "%.3f", l[i]*1000}')")
  done
  local mid=$(( (RUNS + 1) / 2 ))
  echo "$(printf '%s\n' "${qs[@]}" | sort -n | sed -n "${mid}p") $(printf '%s\n' "${ps[@]}" | sort -g | sed -n "${mid}p")"
}

# ---- berth
mkdir -p "$top/berth"
export BERTH_HOST=unix://$top/berth.sock
node bin/berthd --data-root "$top/berth/data" --exec-root "$top/berth/exec" -H "$BERTH_HOST" 2>"$top/berthd.log" &
for _ in $(seq 100); do node bin/berth version >/dev/null 2>&1 && break; sleep 0.1; done
berth() { node "$ROOT/bin/berth" "$@"; }
berth import "$top/busybox.tar" busybox --change 'ENV PATH=/bin:/usr/bin:/sbin' >/dev/null
berth network create bn >/dev/null
berth run -d --name target --network bn busybox sleep 100000 >/dev/null
cid=$(berth run -d --name client --network bn --dns 10.250.0.2 busybox sleep 100000)
BNS="--net=$top/berth/exec/netns/${cid:0:12}"
berth_names=$(measure "$BNS" 127.0.0.11 "$top/names.txt")
berth_fwd=$(measure "$BNS" 127.0.0.11 "$top/fwd.txt")

# ---- Docker
dockerd --data-root "$top/docker/data" --exec-root "$top/docker/exec" -H "unix://$top/docker.sock" \
  --pidfile "$top/docker.pid" >"$top/dockerd.log" 2>&1 &
export DOCKER_HOST=unix://$top/docker.sock
for _ in $(seq 120); do docker version >/dev/null 2>&1 && break; sleep 0.5; done
docker import --change 'ENV PATH=/bin:/usr/bin:/sbin' "$top/busybox.tar" busybox >/dev/null
docker network create dn >/dev/null
docker run -d --name target --network dn busybox sleep 100000 >/dev/null
docker run -d --name client --network dn --dns 10.250.0.2 busybox sleep 100000 >/dev/null
DNS_="--net=/proc/$(docker inspect -f '{{.State.Pid}}' client)/ns/net"
docker_names=$(measure "$DNS_" 127.0.0.11 "$top/names.txt")
docker_fwd=$(measure "$DNS_" 127.0.0.11 "$top/fwd.txt")
docker rm -f target client >/dev/null

# ---- aardvark-dns (as netavark sets it up: listening on the bridge gateway)
ip link add aard0 type bridge; ip addr add 10.89.0.1/24 dev aard0; ip link set aard0 up
mkns "$top/ac.ns"
ip link add ach type veth peer name eth0 netns "$top/ac.ns"; ip link set ach master aard0 up
nsenter --net="$top/ac.ns" sh -c 'ip addr add 10.89.0.2/24 dev eth0; ip link set eth0 up; ip route add default via 10.89.0.1'
mkdir -p "$top/aard"
printf '10.89.0.1\n%s 10.89.0.2  client\n%s 10.89.0.3  target\n' "$(printf 'c%.0s' {1..64})" "$(printf 't%.0s' {1..64})" >"$top/aard/aardnet"
/usr/lib/podman/aardvark-dns --config "$top/aard" -p 53 run >"$top/aardvark.log" 2>&1 &
for _ in $(seq 50); do nsenter --net="$top/ac.ns" dnsperf -s 10.89.0.1 -d "$top/names.txt" -l 1 2>/dev/null | grep -q 'Queries completed: *[1-9]' && break; sleep 0.2; done
aard_names=$(measure "--net=$top/ac.ns" 10.89.0.1 "$top/names.txt")
aard_fwd=$(measure "--net=$top/ac.ns" 10.89.0.1 "$top/fwd.txt")

ratio() { awk -v a="$1" -v b="$2" 'BEGIN{ if (b > 0) printf "%.2f×", a / b; else print "n/a" }'; }
row() { # label berth docker aardvark
  read -r bq bp <<<"$2"; read -r dq dp <<<"$3"; read -r aq ap <<<"$4"
  echo "| $1 queries/s | $bq | $dq | $aq | $(ratio "$bq" "$dq") | $(ratio "$bq" "$aq") |"
  echo "| $1 p99 latency (ms) | $bp | $dp | $ap | $(ratio "$dp" "$bp") lower | $(ratio "$ap" "$bp") lower |"
}
{
  echo "DNS, dnsperf from inside a container, ${DUR}s per run, median of $RUNS; $(nproc) cores, kernel $(uname -r)."
  echo
  echo "| figure | berth | Docker $(dockerd --version | awk '{print $3}' | tr -d ,) | aardvark-dns 1.4 | berth vs Docker | berth vs aardvark |"
  echo "|---|---|---|---|---|---|"
  row "container name" "$berth_names" "$docker_names" "$aard_names"
  row "forwarded" "$berth_fwd" "$docker_fwd" "$aard_fwd"
} | tee "$ROOT/bench/dns-results.md"
