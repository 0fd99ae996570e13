#!/bin/bash
# berth against Docker, netavark and the CNI plugins, side by side in one run, inside a private
# network/mount/PID namespace this script creates (the machine's interfaces, routes and
# firewall are never touched). Writes bench/out/, then bench/report.js appends a full run to
# bench/history.jsonl and renders bench/RESULTS.md and bench/chart.svg.
#
#   npm run bench              (= npm run build && bench/run.sh), about 20 minutes
#   bench/run.sh --quick       fewer repetitions and smaller scales; not recorded in the history
#   bench/run.sh --only fig5   figure 5 alone (HTTP connections/s and iperf3 through a published
#                              port, IPv4 and IPv6, berth and Docker with and without its proxy),
#                              printed, not recorded: a few minutes, for work on the data path
#
# Every figure states the work each system does (the table's "work" column): figure 1 is the same
# job for all four (attach to and detach from an existing network, no ports), figure 1b the cost
# of publishing one port where each system can. Times are medians over repeated runs, in
# milliseconds. Each system is driven through its normal path: berth's and Docker's Engine API
# over their unix sockets (curl) or their CLIs, netavark's setup/teardown, the CNI plugins'
# ADD/DEL. Memory is the PSS of every process a system keeps, found by cgroup (see sys_start).
# Figure 7 (DNS) is bench/dns.sh, figure 9 (overlay, two hosts) bench/overlay-latency.sh: they run
# after this namespace is gone, one after the other.
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
  start=$(date +%s)
  unshare --net --mount --pid --fork --propagation private "$0" --inside "$@"
  if [[ " $* " == *" --only fig5 "* ]]; then
    for f in bench/out/*_connrate_*.txt bench/out/*_gbps_*.txt; do echo "$(basename "$f" .txt) $(cat "$f")"; done
    exit 0
  fi
  bench/dns.sh "$@" >/dev/null
  bench/overlay-latency.sh "$@" >/dev/null   # figure 9: two hosts each, outside this namespace
  bench/machine.sh "$(( $(date +%s) - start ))" >bench/out/machine.json
  node bench/report.js --record
  exit 0
fi
shift
QUICK=0; ONLY=
while (($#)); do
  case $1 in
    --quick) QUICK=1 ;;
    --only) ONLY=$2; shift; [[ $ONLY == fig5 ]] || { echo "bench/run.sh: --only takes fig5" >&2; exit 2; } ;;
    *) echo "bench/run.sh: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
R=$((QUICK ? 5 : 15))              # repetitions of each timed operation
NSCALE=$((QUICK ? 30 : 200))       # containers in the scaling and memory figures
NPORTS=$((QUICK ? 200 : 2000))     # ports in the port-scaling figure
REPS=3                             # figure 5: each rate measured three times, the median kept
RANGE_END=$((QUICK ? 6000 : 10000))
# Docker starts two docker-proxy processes per port (IPv4 and IPv6): 10002 for the full range
# would take most of this machine's memory, so Docker gets at most 2001 ports.
DRANGE_END=$((QUICK ? 5500 : 7000))

mount -t proc proc /proc
top=$(mktemp -d /tmp/berth-bench-XXXXXX)
mount -t tmpfs tmpfs "$top"
OUT=$ROOT/bench/out; mkdir -p "$OUT"; rm -f "$OUT"/*.txt "$OUT"/*.dat "$OUT"/*.json
# The cgroup each system's daemon starts in (one per system, below the bench's own): cgroup v2
# when the machine has it, else v1's pids hierarchy (every process is in exactly one cgroup of it).
if [[ -f /sys/fs/cgroup/cgroup.controllers ]]; then CGFIELD=; CGROOT=/sys/fs/cgroup; else CGFIELD=pids; CGROOT=/sys/fs/cgroup/pids; fi
CGREL=$(awk -F: -v k="$CGFIELD" '$2 == k {print $3; exit}' /proc/self/cgroup)
CGBASE=$CGROOT${CGREL%/}
cg_gone() { # kill what is left in a system's cgroup, then remove it
  local p; [[ -d $1 ]] || return 0
  for _ in 1 2 3 4 5; do
    for p in $(cat "$1/cgroup.procs" 2>/dev/null); do kill -9 "$p" 2>/dev/null || true; done
    rmdir "$1" 2>/dev/null && return 0; sleep 0.5
  done
}
cleanup() {
  pkill -P $$ 2>/dev/null || true; kill "$(cat "$top/docker.pid" 2>/dev/null)" 2>/dev/null || true; sleep 1
  for d in "$CGBASE"/berth-bench-$$-*; do cg_gone "$d"; done
  umount -l "$top" 2>/dev/null; rmdir "$top" 2>/dev/null || true
}
trap cleanup EXIT
ip link set lo up
sysctl -qw net.ipv4.ip_forward=1
# The host's own address (as a machine's uplink would carry), for figure 5.
HOSTIP=192.168.77.1
HOSTIP6=fd77::1
ip link add upl0 type veth peer name upl1; ip addr add $HOSTIP/24 dev upl0; ip link set upl0 up; ip link set upl1 up
ip -6 addr add $HOSTIP6/64 dev upl0 nodad
scripts/busybox-image.sh >"$top/busybox.tar"

now() { date +%s%N; }
median_ms() { sort -n | awk '{a[NR]=$1} END{printf "%.2f\n", a[int((NR+1)/2)]/1000}'; }   # µs lines → median ms
# Time a command R times: writes the median (ms) to $OUT/<key>.txt
timeit() { # key cmd...
  local key=$1; shift; local i s
  for ((i = 0; i < R; i++)); do s=$(now); "$@" >/dev/null 2>&1; echo $(( ($(now) - s) / 1000 )); done | median_ms >"$OUT/$key.txt"
}
# Time the first half of a cycle R times, undoing it (untimed) after each: "bring up" figures.
timeup() { # key up-command down-command (each one word: a function or program)
  local key=$1 up=$2 down=$3 i s
  for ((i = 0; i < R; i++)); do s=$(now); $up >/dev/null 2>&1; echo $(( ($(now) - s) / 1000 )); $down >/dev/null 2>&1 || true; done | median_ms >"$OUT/$key.txt"
}
record() { echo "$2" >"$OUT/$1.txt"; }   # key value
median() { sort -g | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}'; }
# Figure 5's rates: the median of $REPS measurements of a command that prints a number.
median_of() { local i; for ((i = 0; i < REPS; i++)); do "$@"; done | median; }
waitport() { for _ in $(seq 300); do curl -s -o /dev/null --max-time 1 "$1" && return 0; sleep 0.02; done; return 1; }

# Memory: every process a system keeps for its containers, by cgroup and PID namespace, not by
# name. The daemon starts in a cgroup of its own, which everything it starts inherits (berth:
# berth-dns, the per-container monitors and runtimes; Docker: containerd, the shims,
# docker-proxy), wherever it is reparented; the bench's own processes stay in the bench's
# cgroup, and container processes live in PID namespaces of their own. Counted: every process
# of this PID namespace outside the bench's cgroup, so a monitor that moves itself to another
# cgroup is still counted. Each process once; PSS shares every shared page among its users.
sys_start() { # system command... : start the daemon in background inside $SYSCG
  SYSCG=$CGBASE/berth-bench-$$-$1; mkdir "$SYSCG"; shift
  ( echo "$BASHPID" >"$SYSCG/cgroup.procs"; exec "$@" ) &
}
sys_mem() { # pss: the PSS sum in KiB; procs: "30 runc, 1 berthd" (node programs by their script)
  python3 - "$CGFIELD" "$CGREL" "$1" <<'PY'
import collections, os, sys
field, own, what = sys.argv[1:4]
mine = os.readlink('/proc/self/ns/pid')
total, names = 0, collections.Counter()
for p in filter(str.isdigit, os.listdir('/proc')):
    try:
        if os.readlink(f'/proc/{p}/ns/pid') != mine:
            continue
        cg = next((l.rstrip('\n').split(':', 2)[2] for l in open(f'/proc/{p}/cgroup') if l.split(':', 2)[1] == field), None)
        if cg is None or cg == own:
            continue
        pss = next((int(l.split()[1]) for l in open(f'/proc/{p}/smaps_rollup') if l.startswith('Pss:')), 0)
        argv = open(f'/proc/{p}/cmdline', 'rb').read().decode(errors='replace').split('\0')
    except (FileNotFoundError, ProcessLookupError):
        continue  # ended meanwhile
    name = os.path.basename(argv[1] if os.path.basename(argv[0]) == 'node' and len(argv) > 1 else argv[0])
    total += pss
    names[name] += 1
print(total if what == 'pss' else ', '.join(f'{n} {k}' for k, n in names.most_common()))
PY
}
pss_kb() { sys_mem pss; }
sys_procs() { sys_mem procs; }

# Between systems: nothing of one stays in the namespace for the next to walk through (berth's
# nft table, Docker's iptables chains, their bridges). Only this private namespace is touched.
scrub() {
  local l
  nft flush ruleset
  for l in $(ip -o link show type bridge | awk -F': ' '{print $2}'); do ip link del "$l"; done
}

# 5. throughput (Gbit/s) host → container with iperf3: $1 address, $2 port
gbps() { iperf3 -c "$1" -p "$2" -t "$((QUICK ? 2 : 3))" -J 2>/dev/null | python3 -c 'import json,sys; print("%.2f" % (json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"] / 1e9))' || echo 0; }
waittcp() { for _ in $(seq 200); do python3 -c "import socket; socket.create_connection(('$1', $2), timeout=1)" 2>/dev/null && return 0; sleep 0.05; done; return 1; }

# HTTP connections per second through a published port (median of three 1 s samples)
conns() { conns_at 127.0.0.1 "$1"; }
conns_at() {
  python3 - "$1" "$2" <<'PY'
import socket, sys, time
host, port = sys.argv[1], int(sys.argv[2])
rates = []
for _ in range(3):  # the median of three 1-second samples
    n, end = 0, time.time() + 1
    while time.time() < end:
        s = socket.create_connection((host, port)); s.sendall(b'GET / HTTP/1.0\r\n\r\n')
        while s.recv(65536): pass
        s.close(); n += 1
    rates.append(n)
print(sorted(rates)[1])
PY
}
conns6() { conns_at "$1" "$2" 2>/dev/null || echo 0; }
ms_since() { awk -v t=$(( ($(now) - $1) / 1000 )) 'BEGIN{printf "%.2f", t/1000}'; }

# Figure 5 for one data path: HTTP connections/s and iperf3 Gbit/s through 127.0.0.1 and the
# host's address, each the median of $REPS measurements. $1 key prefix, $2 HTTP port, $3 iperf3 port.
fig5() {
  local k=$1 hp=$2 ip=$3
  waitport "http://127.0.0.1:$hp/"; waittcp 127.0.0.1 "$ip"
  record "${k}_connrate_1" "$(median_of conns "$hp")"
  record "${k}_connrate_hostip" "$(median_of conns_at $HOSTIP "$hp")"
  # The same over IPv6 ([::1] and the host's IPv6 address); 0 where a system has no IPv6 path
  # (Docker without its proxy has none for a container without an IPv6 address).
  record "${k}_connrate_v6lo" "$(median_of conns6 ::1 "$hp")"
  record "${k}_connrate_v6hostip" "$(median_of conns6 $HOSTIP6 "$hp")"
  record "${k}_gbps_lo" "$(median_of gbps 127.0.0.1 "$ip")"
  record "${k}_gbps_hostip" "$(median_of gbps $HOSTIP "$ip")"
}

# `run -d -p` until the port answers, R times, through a given CLI. $1 key, $2 host port, CLI words...
first_packet() {
  local key=$1 port=$2 i s; shift 2
  for ((i = 0; i < R; i++)); do
    s=$(now); "$@" run -d --name s1 -p "$port":80 busybox httpd -f -p 80 -h /www >/dev/null
    waitport "http://127.0.0.1:$port/" || true; echo $(( ($(now) - s) / 1000 )); "$@" rm -f s1 >/dev/null
  done | median_ms >"$OUT/$key.txt"
}

# Create + start through the Engine API, with one published port when $PORT is set (figure 1b).
apistart() {
  local body='{"Image":"busybox","Cmd":["sleep","100000"]'
  [[ -n ${PORT:-} ]] && body+=',"ExposedPorts":{"80/tcp":{}},"HostConfig":{"PortBindings":{"80/tcp":[{"HostPort":"'$PORT'"}]}}'
  api POST "/containers/create?name=up1" "$body}" && api POST /containers/up1/start
}
apirm() { api DELETE '/containers/up1?force=1'; }

# The figures berth and Docker share, each through its own CLI (`$CLI`), Engine API (`api`),
# and host ports from $PB (PB+80 start, +81 first packet, +90 packet path, +201 iperf3).
# $1: berth | docker; $2: the end of the UDP port range.
engine_figures() {
  local sys=$1 rend=$2 s m0 n i step
  $CLI import --change 'ENV PATH=/bin:/usr/bin:/sbin' "$top/busybox.tar" busybox >/dev/null
  if [[ $ONLY == fig5 ]]; then packet_figures "$sys"; return; fi
  record "${sys}_pss_idle_kb" "$(pss_kb)"
  record "${sys}_procs_idle" "$(sys_procs)"
  timeit "${sys}_cli_version" $CLI version
  # 2. network create + remove
  netcycle() { api POST /networks/create '{"Name":"cnet"}' && api DELETE /networks/cnet; }
  timeit "${sys}_net_create_rm" netcycle
  # 1. attach to + detach from an existing network (its bridge made), a running container, no ports
  api POST /networks/create '{"Name":"anet"}' >/dev/null
  $CLI run -d --name att busybox sleep 100000 >/dev/null
  attach() { api POST /networks/anet/connect '{"Container":"att"}' && api POST /networks/anet/disconnect '{"Container":"att"}'; }
  timeit "${sys}_attach_detach" attach
  $CLI rm -f att >/dev/null
  # 1b. create + start (Engine API), without and with one published port; removal untimed
  PORT= timeup "${sys}_up_noport" apistart apirm
  PORT=$((PB + 80)) timeup "${sys}_up_port" apistart apirm
  # 3. run -d -p until the port answers, through the docker CLI (and berth's own for berth)
  first_packet "${sys}_start_first_packet" $((PB + 81)) $CLI
  [[ $sys == berth ]] && first_packet berth_start_first_packet_dockercli $((PB + 81)) docker -H "unix://$B"
  # 6. a large UDP port range: time to start, memory added (every process of the system)
  m0=$(pss_kb); s=$(now)
  $CLI run -d --name range -p "5000-$rend:5000-$rend/udp" busybox sleep 100000 >/dev/null
  record "${sys}_range_start" "$(ms_since "$s")"
  record "${sys}_range_mem_kb" "$(( $(pss_kb) - m0 ))"
  record "${sys}_range_procs" "$(sys_procs)"
  $CLI rm -f range >/dev/null
  # 4a/8. scale: the cost of the n-th container start on one bridge as n grows, and the memory
  # of everything the system keeps, sampled along the way (the per-container slope)
  api POST /networks/create '{"Name":"snet"}' >/dev/null
  step=$((NSCALE / 8))
  : >"$OUT/${sys}_pss_scale.dat"
  for ((n = 1; n <= NSCALE; n++)); do
    s=$(now); $CLI run -d --network snet busybox sleep 100000 >/dev/null; echo "$n $(( ($(now) - s) / 1000 ))" >>"$OUT/${sys}_scale_attach.dat"
    if ((n == 1 || n % step == 0)); then echo "$n $(pss_kb)" >>"$OUT/${sys}_pss_scale.dat"; fi
  done
  record "${sys}_procs_loaded" "$(sys_procs)"
  record "${sys}_loaded_n" "$NSCALE"
  $CLI rm -f $($CLI ps -q --filter network=snet) >/dev/null
  packet_figures "$sys"
}

# 4b/5. connections/s and throughput through a published port: 127.0.0.1, the host's address
# (IPv4 and IPv6). $1: berth | docker
packet_figures() {
  local sys=$1 i ip3
  if [[ $sys == berth && -z $ONLY ]]; then
    # 4b first, on a container of its own: one port, then NPORTS separate mappings beside it
    # (host port != container port: one map element each, no range; Docker would start two
    # docker-proxy processes for each). Measured after figure 5's tens of thousands of
    # connections, it measured their TIME_WAIT sockets in the container more than the ports.
    local pflags=(); for ((i = 0; i < NPORTS; i++)); do pflags+=(-p "$((20000 + i)):$((1000 + i))"); done
    $CLI run -d --name p4b -p $((PB + 91)):80 busybox httpd -f -p 80 -h /www >/dev/null
    waitport "http://127.0.0.1:$((PB + 91))/" || true
    record "${sys}_connrate_n1" "$(conns $((PB + 91)))"
    $CLI run -d --name many "${pflags[@]}" busybox sleep 100000 >/dev/null
    record "${sys}_connrate_n" "$(conns $((PB + 91)))"
    $CLI rm -f many >/dev/null
  fi
  # (p4b stays until figure 5 is done, so pp does not reuse its address: new connections to an
  # address that just took thousands would meet their TIME_WAIT sockets and conntrack entries.)
  $CLI run -d --name pp -p $((PB + 90)):80 busybox httpd -f -p 80 -h /www >/dev/null
  $CLI run -d --name ip3 -p $((PB + 201)):5201 "${IPERF_IMAGE[@]}" iperf3 -s -p 5201 >/dev/null
  fig5 "$sys" $((PB + 90)) $((PB + 201))
  ip3=$($CLI inspect --format '{{.NetworkSettings.IPAddress}}' ip3)
  record "${sys}_gbps_direct" "$(median_of gbps "$ip3" 5201)"
  $CLI rm -f pp ip3 >/dev/null
  if [[ $sys == berth && -z $ONLY ]]; then $CLI rm -f p4b >/dev/null; fi
}

# ------------------------------------------------------------------ berth
B=$top/berth.sock
sys_start berth node bin/berthd --data-root "$top/bd" --exec-root "$top/be" -H "unix://$B" 2>"$top/berthd.log"
BPID=$!
for _ in $(seq 100); do curl -s --unix-socket "$B" http://x/_ping >/dev/null && break; sleep 0.1; done
berth() { node "$ROOT/bin/berth" -H "unix://$B" "$@"; }
api() { curl -sf --unix-socket "$B" -X "$1" -H 'Content-Type: application/json' ${3:+-d "$3"} "http://x/v1.45$2"; }
CLI=berth PB=10000 IPERF_IMAGE=(host)
engine_figures berth "$RANGE_END"
kill $BPID; wait $BPID 2>/dev/null || true
cg_gone "$SYSCG"; scrub

# ------------------------------------------------------------------ Docker
export DOCKER_HOST=unix://$top/docker.sock
sys_start docker dockerd --data-root "$top/dd" --exec-root "$top/de" -H "$DOCKER_HOST" --pidfile "$top/docker.pid" >"$top/dockerd.log" 2>&1
for _ in $(seq 120); do docker version >/dev/null 2>&1 && break; sleep 0.5; done
DPID=$(cat "$top/docker.pid")
api() { curl -sf --unix-socket "$top/docker.sock" -X "$1" -H 'Content-Type: application/json' ${3:+-d "$3"} "http://x/v1.41$2"; }
# iperf3 from the host, bind-mounted into the busybox image (Docker has no host image)
CLI=docker PB=20000 IPERF_IMAGE=(-v /usr/bin/iperf3:/usr/bin/iperf3:ro -v /usr/lib/x86_64-linux-gnu:/usr/lib/x86_64-linux-gnu:ro busybox)
engine_figures docker "$DRANGE_END"
kill "$DPID"; for _ in $(seq 40); do [[ -d /proc/$DPID ]] || break; sleep 0.25; done
cg_gone "$SYSCG"; scrub
# 5 again with Docker's other data path: no userland proxy (kernel NAT, 127.0.0.1 included)
sys_start docker-np dockerd --data-root "$top/dd" --exec-root "$top/de" -H "$DOCKER_HOST" --pidfile "$top/docker.pid" \
  --userland-proxy=false >"$top/dockerd-np.log" 2>&1
for _ in $(seq 120); do docker version >/dev/null 2>&1 && break; sleep 0.5; done
DPID=$(cat "$top/docker.pid")
docker run -d --name ppnp -p 20390:80 busybox httpd -f -p 80 -h /www >/dev/null
docker run -d --name ip3np -p 20301:5201 "${IPERF_IMAGE[@]}" iperf3 -s -p 5201 >/dev/null
fig5 docker_np 20390 20301
docker rm -f ip3np ppnp >/dev/null
kill "$DPID"; for _ in $(seq 40); do [[ -d /proc/$DPID ]] || break; sleep 0.25; done
cg_gone "$SYSCG"; scrub
[[ -n $ONLY ]] && exit 0

# ------------------------------------------------------------------ netavark
# The same job as berth's and Docker's figure 1: a namespace that already has a network (eth0 on
# nvnet1) gets a second one (eth1 on nvnet2) and loses it again; nvnet2's bridge already exists,
# kept by another namespace attached to it (netavark removes a bridge when its last port goes).
NV=/usr/lib/podman/netavark
mkdir -p "$top/nv"
nvconf() { # container-id-letter network-number address interface [host port]
  local ports='[]'
  [[ -n ${5:-} ]] && ports='[{"host_ip":"","container_port":80,"host_port":'$5',"range":1,"protocol":"tcp"}]'
  cat <<JSON
{"container_id":"$(printf "$1%.0s" {1..64})","container_name":"nv$1","port_mappings":$ports,
 "networks":{"nvnet$2":{"static_ips":["$3"],"interface_name":"$4"}},
 "network_info":{"nvnet$2":{"name":"nvnet$2","id":"$(printf "$2%.0s" {1..64})","driver":"bridge","network_interface":"nv$2",
   "subnets":[{"subnet":"10.$((87 + $2)).0.0/16","gateway":"10.$((87 + $2)).0.1"}],"ipv6_enabled":false,"internal":false,"dns_enabled":false,"ipam_options":{"driver":"host-local"}}}}
JSON
}
for n in nv hold; do touch "$top/$n.ns"; unshare --net="$top/$n.ns" ip link set lo up; done
nvconf a 1 10.88.0.2 eth0 >"$top/nv/first.json"
nvconf b 2 10.89.0.2 eth0 >"$top/nv/hold.json"
nvconf a 2 10.89.0.3 eth1 >"$top/nv/second.json"
nvconf a 2 10.89.0.3 eth1 38080 >"$top/nv/second-port.json"
$NV --config "$top/nv" -f "$top/nv/first.json" setup "$top/nv.ns" >/dev/null
$NV --config "$top/nv" -f "$top/nv/hold.json" setup "$top/hold.ns" >/dev/null
nv() { $NV --config "$top/nv" -f "$top/nv/$1.json" "$2" "$top/nv.ns"; }
nv_cycle() { nv second setup && nv second teardown; }
timeit netavark_attach_detach nv_cycle
# 1b. setup of the second network without and with one port mapping; teardown untimed
nv_up() { nv second setup; }; nv_down() { nv second teardown; }
nv_up_port() { nv second-port setup; }; nv_down_port() { nv second-port teardown; }
timeup netavark_up_noport nv_up nv_down
timeup netavark_up_port nv_up_port nv_down_port

# ------------------------------------------------------------------ CNI: bridge + host-local (+ portmap)
# The same job again: a namespace with eth0 on cninet1 gets eth1 on cninet2 (bridge cni2 made
# by a first ADD from another namespace, which stays) and loses it.
export CNI_PATH=/usr/lib/cni
for n in cni cnihold; do touch "$top/$n.ns"; unshare --net="$top/$n.ns" ip link set lo up; done
cnibr() { echo '{"cniVersion":"1.0.0","name":"cninet'$1'","type":"bridge","bridge":"cni'$1'","isGateway":true,"ipMasq":true,"ipam":{"type":"host-local","ranges":[[{"subnet":"10.'$((76 + $1))'.0.0/16"}]],"dataDir":"'$top'/cni-ipam"}}'; }
pm() { echo '{"cniVersion":"1.0.0","name":"cninet2","type":"portmap","capabilities":{"portMappings":true},"runtimeConfig":{"portMappings":[{"hostPort":48080,"containerPort":80,"protocol":"tcp"}]},"prevResult":'"$1"'}'; }
cni() { # verb network netns container-id ifname plugin-config-on-stdin
  CNI_COMMAND=$1 CNI_NETNS=$top/$3.ns CNI_CONTAINERID=$4 CNI_IFNAME=$5 "$CNI_PATH/$2"
}
cni ADD bridge cni c1 eth0 <<<"$(cnibr 1)" >/dev/null
cni ADD bridge cnihold c2 eth0 <<<"$(cnibr 2)" >/dev/null
cni_add() { cni ADD bridge cni c3 eth1 <<<"$(cnibr 2)"; }
cni_del() { cni DEL bridge cni c3 eth1 <<<"$(cnibr 2)"; }
cni_cycle() { cni_add >/dev/null && cni_del; }
timeit cni_attach_detach cni_cycle
# 1b. ADD without and with portmap; DEL untimed
cni_add_port() { cni_add >"$top/cni-res.json" && cni ADD portmap cni c3 eth1 <<<"$(pm "$(cat "$top/cni-res.json")")"; }
cni_del_port() { cni DEL portmap cni c3 eth1 <<<"$(pm "$(cat "$top/cni-res.json")")"; cni_del; }
timeup cni_up_noport cni_add cni_del
timeup cni_up_port cni_add_port cni_del_port

record mode "$([[ $QUICK == 1 ]] && echo quick || echo full)"
record reps "$R"; record fig5_reps "$REPS"
echo "$RANGE_END" >"$OUT/range_end.txt"; echo "$DRANGE_END" >"$OUT/drange_end.txt"; echo "$NPORTS" >"$OUT/nports.txt"
