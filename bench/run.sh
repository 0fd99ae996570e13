#!/bin/bash
# berth against Docker, netavark and the CNI plugins, side by side in one run, inside a private
# network/mount/PID namespace this script creates (the machine's interfaces, routes and
# firewall are never touched). Writes bench/RESULTS.md and bench/chart.svg.
#
#   npm run bench              (= npm run build && bench/run.sh)
#   bench/run.sh --quick       fewer repetitions and smaller scales, under 3 minutes
#
# Times are medians over repeated runs, in milliseconds; ratios are peer / berth for costs
# (above 1: berth is faster) and berth / peer for rates. Each system is driven through its
# normal path: berth's and Docker's Engine API over their unix sockets (curl), netavark's
# setup/teardown, the CNI bridge + host-local + portmap plugins' ADD/DEL.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
if [[ ${1:-} != --inside ]]; then
  need=()
  for p in dnsperf:dnsperf iperf3:iperf3 dockerd:docker.io; do command -v "${p%%:*}" >/dev/null || need+=("${p#*:}"); done
  [[ -x /usr/lib/podman/netavark ]] || need+=(netavark)
  [[ -x /usr/lib/podman/aardvark-dns ]] || need+=(aardvark-dns)
  [[ -x /usr/lib/cni/bridge ]] || need+=(containernetworking-plugins)
  if ((${#need[@]})); then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" iptables >/dev/null
  fi
  [[ -f dist/src/daemon/main.js ]] || npm run build
  unshare --net --mount --pid --fork --propagation private "$0" --inside "$@"
  bench/dns.sh "$@" >/dev/null
  node bench/report.js
  exit 0
fi
shift
QUICK=0; [[ ${1:-} == --quick ]] && QUICK=1
R=$((QUICK ? 5 : 15))              # repetitions of each timed operation
NSCALE=$((QUICK ? 30 : 200))       # containers in the attach-scaling figure
NPORTS=$((QUICK ? 200 : 2000))     # ports in the port-scaling figure
RANGE_END=$((QUICK ? 6000 : 10000))
# Docker starts two docker-proxy processes per port (IPv4 and IPv6): 10002 for the full range
# would take most of this machine's memory, so Docker gets at most 2001 ports.
DRANGE_END=$((QUICK ? 6000 : 7000))

mount -t proc proc /proc
top=$(mktemp -d /tmp/berth-bench-XXXXXX)
mount -t tmpfs tmpfs "$top"
OUT=$ROOT/bench/out; mkdir -p "$OUT"; rm -f "$OUT"/*.txt
cleanup() { pkill -P $$ 2>/dev/null || true; kill "$(cat "$top/docker.pid" 2>/dev/null)" 2>/dev/null || true; sleep 1; umount -l "$top" 2>/dev/null; rmdir "$top" 2>/dev/null || true; }
trap cleanup EXIT
ip link set lo up
sysctl -qw net.ipv4.ip_forward=1
# The host's own address (as a machine's uplink would carry), for figure 5.
HOSTIP=192.168.77.1
ip link add upl0 type veth peer name upl1; ip addr add $HOSTIP/24 dev upl0; ip link set upl0 up; ip link set upl1 up
scripts/busybox-image.sh >"$top/busybox.tar"

now() { date +%s%N; }
# Time a command R times: writes the median (ms) to $OUT/<key>.txt
timeit() { # key cmd...
  local key=$1; shift; local i s
  for ((i = 0; i < R; i++)); do s=$(now); "$@" >/dev/null 2>&1; echo $(( ($(now) - s) / 1000 )); done |
    sort -n | awk -v k="$key" '{a[NR]=$1} END{printf "%.2f\n", a[int((NR+1)/2)]/1000}' >"$OUT/$key.txt"
}
record() { echo "$2" >"$OUT/$1.txt"; }   # key value
rss_kb() { local t=0 p; for p in "$@"; do t=$((t + $(awk '/VmRSS/{print $2}' "/proc/$p/status" 2>/dev/null || echo 0))); done; echo $t; }
waitport() { for _ in $(seq 300); do curl -s -o /dev/null --max-time 1 "$1" && return 0; sleep 0.02; done; return 1; }

# 5. throughput (Gbit/s) host → container with iperf3: $1 address, $2 port
gbps() { iperf3 -c "$1" -p "$2" -t "$((QUICK ? 2 : 5))" -J 2>/dev/null | python3 -c 'import json,sys; print("%.2f" % (json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"] / 1e9))' || echo 0; }
waittcp() { for _ in $(seq 200); do python3 -c "import socket; socket.create_connection(('$1', $2), timeout=1)" 2>/dev/null && return 0; sleep 0.05; done; return 1; }

# HTTP connections per second through a published port (median of five 1 s samples)
conns() { conns_at 127.0.0.1 "$1"; }
conns_at() {
  python3 - "$1" "$2" <<'PY'
import socket, sys, time
host, port = sys.argv[1], int(sys.argv[2])
rates = []
for _ in range(5):  # the median of five 1-second samples
    n, end = 0, time.time() + 1
    while time.time() < end:
        s = socket.create_connection((host, port)); s.sendall(b'GET / HTTP/1.0\r\n\r\n')
        while s.recv(65536): pass
        s.close(); n += 1
    rates.append(n)
print(sorted(rates)[2])
PY
}
ms_since() { awk -v t=$(( ($(now) - $1) / 1000 )) 'BEGIN{printf "%.2f", t/1000}'; }

# The figures berth and Docker share, each through its own CLI (`$CLI`), Engine API (`api`),
# daemon processes (`daemon_pids`) and host ports from $PB (PB+80 attach, +81 start, +90
# packet path, +201 iperf3). $1: berth | docker; $2: the end of the UDP port range.
engine_figures() {
  local sys=$1 rend=$2 s m0 n i
  record "${sys}_rss_idle_kb" "$(rss_kb $(daemon_pids))"
  $CLI import --change 'ENV PATH=/bin:/usr/bin:/sbin' "$top/busybox.tar" busybox >/dev/null
  timeit "${sys}_cli_version" $CLI version
  # 2. network create + remove
  netcycle() { api POST /networks/create '{"Name":"cnet"}' && api DELETE /networks/cnet; }
  timeit "${sys}_net_create_rm" netcycle
  # 1. attach + detach of a running container with a published port
  api POST /networks/create '{"Name":"anet"}' >/dev/null
  $CLI run -d --name att -p $((PB + 80)):80 busybox sleep 100000 >/dev/null
  attach() { api POST /networks/anet/connect '{"Container":"att"}' && api POST /networks/anet/disconnect '{"Container":"att"}'; }
  timeit "${sys}_attach_detach" attach
  # 3. run -d with a published port until it answers
  for ((i = 0; i < R; i++)); do
    s=$(now); $CLI run -d --name s1 -p $((PB + 81)):80 busybox httpd -f -p 80 -h /www >/dev/null
    waitport "http://127.0.0.1:$((PB + 81))/" || true; echo $(( ($(now) - s) / 1000 )); $CLI rm -f s1 >/dev/null
  done | sort -n | awk '{a[NR]=$1} END{printf "%.2f\n", a[int((NR+1)/2)]/1000}' >"$OUT/${sys}_start_first_packet.txt"
  # 6. a large UDP port range: time to start, memory added (daemon and its proxies)
  m0=$(rss_kb $(daemon_pids)); s=$(now)
  $CLI run -d --name range -p "5000-$rend:5000-$rend/udp" busybox sleep 100000 >/dev/null
  record "${sys}_range_start" "$(ms_since "$s")"
  record "${sys}_range_mem_kb" "$(( $(rss_kb $(daemon_pids)) - m0 ))"
  record "${sys}_range_procs" "$(pgrep -c docker-proxy || true)"
  $CLI rm -f range >/dev/null
  # 4. scale: the cost of the n-th container start on one bridge as n grows; memory at the end
  api POST /networks/create '{"Name":"snet"}' >/dev/null
  for ((n = 1; n <= NSCALE; n++)); do
    s=$(now); $CLI run -d --network snet busybox sleep 100000 >/dev/null; echo "$n $(( ($(now) - s) / 1000 ))"
  done >"$OUT/${sys}_scale_attach.dat"
  record "${sys}_rss_loaded_kb" "$(rss_kb $(daemon_pids) $(pgrep -f containerd-shim | tr '\n' ' '))"
  record "${sys}_loaded_n" "$NSCALE"
  $CLI rm -f $($CLI ps -q --filter network=snet) >/dev/null
  # 4b/5. connections/s through a published port: 127.0.0.1, the host's address
  $CLI run -d --name pp -p $((PB + 90)):80 busybox httpd -f -p 80 -h /www >/dev/null
  waitport "http://127.0.0.1:$((PB + 90))/"
  record "${sys}_connrate_1" "$(conns $((PB + 90)))"
  record "${sys}_connrate_hostip" "$(conns_at $HOSTIP $((PB + 90)))"
  if [[ $sys == berth ]]; then
    # NPORTS separate mappings (host port != container port: one map element each, no range);
    # Docker would start two docker-proxy processes for each.
    local pflags=(); for ((i = 0; i < NPORTS; i++)); do pflags+=(-p "$((20000 + i)):$((1000 + i))"); done
    $CLI run -d --name many "${pflags[@]}" busybox sleep 100000 >/dev/null
    record "${sys}_connrate_n" "$(conns $((PB + 90)))"
    $CLI rm -f many >/dev/null
  fi
  $CLI rm -f pp att >/dev/null
  # 5. iperf3 through 127.0.0.1, through the host's address, and to the container directly
  $CLI run -d --name ip3 -p $((PB + 201)):5201 "${IPERF_IMAGE[@]}" iperf3 -s -p 5201 >/dev/null
  local ip3; ip3=$($CLI inspect --format '{{.NetworkSettings.IPAddress}}' ip3)
  waittcp 127.0.0.1 $((PB + 201))
  record "${sys}_gbps_lo" "$(gbps 127.0.0.1 $((PB + 201)))"
  record "${sys}_gbps_hostip" "$(gbps $HOSTIP $((PB + 201)))"
  record "${sys}_gbps_direct" "$(gbps "$ip3" 5201)"
  $CLI rm -f ip3 >/dev/null
}

# ------------------------------------------------------------------ berth
B=$top/berth.sock
node bin/berthd --data-root "$top/bd" --exec-root "$top/be" -H "unix://$B" 2>"$top/berthd.log" &
BPID=$!
for _ in $(seq 100); do curl -s --unix-socket "$B" http://x/_ping >/dev/null && break; sleep 0.1; done
berth() { node "$ROOT/bin/berth" -H "unix://$B" "$@"; }
api() { curl -sf --unix-socket "$B" -X "$1" -H 'Content-Type: application/json' ${3:+-d "$3"} "http://x/v1.45$2"; }
daemon_pids() { echo $BPID; }
CLI=berth PB=10000 IPERF_IMAGE=(host)
engine_figures berth "$RANGE_END"
kill $BPID; wait $BPID 2>/dev/null || true

# ------------------------------------------------------------------ Docker
export DOCKER_HOST=unix://$top/docker.sock
dockerd --data-root "$top/dd" --exec-root "$top/de" -H "$DOCKER_HOST" --pidfile "$top/docker.pid" >"$top/dockerd.log" 2>&1 &
for _ in $(seq 120); do docker version >/dev/null 2>&1 && break; sleep 0.5; done
DPID=$(cat "$top/docker.pid")
api() { curl -sf --unix-socket "$top/docker.sock" -X "$1" -H 'Content-Type: application/json' ${3:+-d "$3"} "http://x/v1.41$2"; }
daemon_pids() { echo "$DPID $(pgrep -f 'containerd' | tr '\n' ' ') $(pgrep -f docker-proxy | tr '\n' ' ')"; }
# iperf3 from the host, bind-mounted into the busybox image (Docker has no host image)
CLI=docker PB=20000 IPERF_IMAGE=(-v /usr/bin/iperf3:/usr/bin/iperf3:ro -v /usr/lib/x86_64-linux-gnu:/usr/lib/x86_64-linux-gnu:ro busybox)
engine_figures docker "$DRANGE_END"
kill "$DPID"; sleep 2
# 5 again with Docker's best data path: no userland proxy (kernel NAT, 127.0.0.1 included)
dockerd --data-root "$top/dd" --exec-root "$top/de" -H "$DOCKER_HOST" --pidfile "$top/docker.pid" \
  --userland-proxy=false >"$top/dockerd-np.log" 2>&1 &
for _ in $(seq 120); do docker version >/dev/null 2>&1 && break; sleep 0.5; done
DPID=$(cat "$top/docker.pid")
docker run -d --name ip3np -p 20301:5201 "${IPERF_IMAGE[@]}" iperf3 -s -p 5201 >/dev/null
waittcp 127.0.0.1 20301
record docker_np_gbps_lo "$(gbps 127.0.0.1 20301)"
record docker_np_gbps_hostip "$(gbps $HOSTIP 20301)"
docker run -d --name ppnp -p 20390:80 busybox httpd -f -p 80 -h /www >/dev/null
waitport http://127.0.0.1:20390/
record docker_np_connrate_hostip "$(conns_at $HOSTIP 20390)"
docker rm -f ip3np ppnp >/dev/null
kill "$DPID"; sleep 2

# ------------------------------------------------------------------ netavark
NV=/usr/lib/podman/netavark
mkdir -p "$top/nv"
nvconf() { # netns-name port
  cat <<JSON
{"container_id":"$(printf 'a%.0s' {1..64})","container_name":"nv","port_mappings":[{"host_ip":"","container_port":80,"host_port":$2,"range":1,"protocol":"tcp"}],
 "networks":{"nvnet":{"static_ips":["10.88.0.2"],"interface_name":"eth0"}},
 "network_info":{"nvnet":{"name":"nvnet","id":"$(printf 'b%.0s' {1..64})","driver":"bridge","network_interface":"nv0",
   "subnets":[{"subnet":"10.88.0.0/16","gateway":"10.88.0.1"}],"ipv6_enabled":false,"internal":false,"dns_enabled":false,"ipam_options":{"driver":"host-local"}}}}
JSON
}
touch "$top/nv.ns"; unshare --net="$top/nv.ns" true
nvconf nv 38080 >"$top/nv/conf.json"
nv_cycle() { $NV --config "$top/nv" -f "$top/nv/conf.json" setup "$top/nv.ns" && $NV --config "$top/nv" -f "$top/nv/conf.json" teardown "$top/nv.ns"; }
timeit netavark_attach_detach nv_cycle

# ------------------------------------------------------------------ CNI: bridge + host-local + portmap
export CNI_PATH=/usr/lib/cni CNI_IFNAME=eth0 CNI_CONTAINERID=benchcni
touch "$top/cni.ns"; unshare --net="$top/cni.ns" true
export CNI_NETNS=$top/cni.ns
BR='{"cniVersion":"1.0.0","name":"cninet","type":"bridge","bridge":"cni0","isGateway":true,"ipMasq":true,"ipam":{"type":"host-local","ranges":[[{"subnet":"10.77.0.0/16"}]],"dataDir":"'$top'/cni-ipam"}}'
pm() { echo '{"cniVersion":"1.0.0","name":"cninet","type":"portmap","capabilities":{"portMappings":true},"runtimeConfig":{"portMappings":[{"hostPort":48080,"containerPort":80,"protocol":"tcp"}]},"prevResult":'"$1"'}'; }
cni_cycle() {
  local res
  res=$(CNI_COMMAND=ADD /usr/lib/cni/bridge <<<"$BR")
  CNI_COMMAND=ADD /usr/lib/cni/portmap <<<"$(pm "$res")" >/dev/null
  CNI_COMMAND=DEL /usr/lib/cni/portmap <<<"$(pm "$res")" >/dev/null
  CNI_COMMAND=DEL /usr/lib/cni/bridge <<<"$BR" >/dev/null
}
cni_cycle >/dev/null 2>&1 || true   # first ADD creates the bridge and chains: not a per-container cost
timeit cni_attach_detach cni_cycle

echo "$(nproc) cores, kernel $(uname -r), $([[ $QUICK == 1 ]] && echo quick || echo full) run, $R repetitions" >"$OUT/machine.txt"
echo "$RANGE_END" >"$OUT/range_end.txt"; echo "$DRANGE_END" >"$OUT/drange_end.txt"; echo "$NPORTS" >"$OUT/nports.txt"
