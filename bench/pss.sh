#!/bin/bash
# The true cost of berth's containers (issue 17): the sum of PSS (/proc/PID/smaps_rollup) of
# every process berth keeps for N running containers (berthd, berth-dns, and per container
# whatever the runtime keeps: conmon now; the sh shim and `runc run` before), each counted once,
# at 0, 50 and 200 containers; and the time of `run -d -p` until the port answers, driven by
# berth's CLI and by the docker CLI against berthd.
# Runs in private namespaces (net, mount, pid) with its roots on a tmpfs; nothing outlives it.
#   bench/pss.sh [--runtime crun|runc] [--counts "0 50 200"] [--runs 9]
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
if [[ ${1:-} != --inside ]]; then
  [[ -f dist/src/daemon/main.js ]] || npm run build >/dev/null
  exec unshare --net --mount --pid --fork --propagation private "$0" --inside "$@"
fi
shift
RUNTIME=; COUNTS="0 50 200"; RUNS=9
while (($#)); do
  case $1 in
    --runtime) RUNTIME=$2; shift 2 ;;
    --counts) COUNTS=$2; shift 2 ;;
    --runs) RUNS=$2; shift 2 ;;
    *) echo "usage: $0 [--runtime NAME] [--counts LIST] [--runs N]" >&2; exit 2 ;;
  esac
done
mount -t proc proc /proc
top=$(mktemp -d /tmp/berth-pss-XXXXXX)
mount -t tmpfs tmpfs "$top"
cleanup() { kill "${BPID:-}" 2>/dev/null; sleep 1; umount -l "$top" 2>/dev/null; rmdir "$top" 2>/dev/null || true; }
trap cleanup EXIT
ip link set lo up
# crun cannot use a hybrid cgroup layout whose v2 hierarchy has controllers; in this private
# mount namespace the v2 hierarchy can go, leaving plain cgroup v1 (nothing outside changes).
if [[ $RUNTIME == crun && -n $(cat /sys/fs/cgroup/unified/cgroup.controllers 2>/dev/null) ]]; then umount /sys/fs/cgroup/unified; fi

B=$top/berth.sock
node bin/berthd --data-root "$top/data" --exec-root "$top/exec" -H "unix://$B" ${RUNTIME:+--default-runtime "$RUNTIME"} 2>"$top/berthd.log" &
BPID=$!
for _ in $(seq 100); do curl -s --unix-socket "$B" http://x/_ping >/dev/null && break; sleep 0.1; done
berth() { node "$ROOT/bin/berth" -H "unix://$B" "$@"; }
scripts/busybox-image.sh | berth import --change 'ENV PATH=/bin:/usr/bin:/sbin' - busybox >/dev/null
echo "# OCI runtime: $(curl -s --unix-socket "$B" http://x/info | python3 -c 'import json,sys; print(json.load(sys.stdin)["DefaultRuntime"])')"

# Every process berth keeps: berthd and its children (berth-dns), and every process that works
# on a bundle under the exec-root (conmon; formerly the sh shim and `runc run`), not the
# containers' own processes.
kept_pids() {
  local p
  for p in /proc/[0-9]*; do
    p=${p#/proc/}
    [[ $p == "$BPID" ]] && { echo "$p"; continue; }
    local cmd; cmd=$(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null) || continue
    grep -q "/berth/[0-9a-f]\{64\}" "/proc/$p/cgroup" 2>/dev/null && continue
    case $cmd in
      *"$top/exec/containers/"*|*berth-dns*|*"$top/exec/dns"*) echo "$p" ;;
    esac
  done
}
pss_kb() { # sum of PSS of the given pids, in KiB
  local total=0 p v
  for p in "$@"; do
    v=$(awk '/^Pss:/ {print $2}' "/proc/$p/smaps_rollup" 2>/dev/null || echo 0)
    total=$((total + ${v:-0}))
  done
  echo $total
}

running=0
printf '%-11s %-10s %-12s %s\n' containers processes 'PSS (MiB)' 'of which berthd'
for n in $COUNTS; do
  while ((running < n)); do berth run -d busybox sleep 1000000 >/dev/null; running=$((running + 1)); done
  sleep 3 # let the JIT and allocators settle
  mapfile -t pids < <(kept_pids)
  kb=$(pss_kb "${pids[@]}"); bkb=$(pss_kb "$BPID")
  printf '%-11s %-10s %-12s %s\n' "$n" "${#pids[@]}" "$(awk -v k="$kb" 'BEGIN{printf "%.1f", k/1024}')" "$(awk -v k="$bkb" 'BEGIN{printf "%.1f", k/1024}')"
  echo "$n $kb" >>"$top/pss.txt"
done
awk 'NR==1{n0=$1;k0=$2} {n=$1;k=$2} END{if (n>n0) printf "per-container slope: %.0f KiB\n", (k-k0)/(n-n0)}' "$top/pss.txt"
berth rm -f $(berth ps -aq) >/dev/null

# run -d -p until the port answers (busybox httpd), median of $RUNS, with each CLI.
now() { date +%s%N; }
rundp() { # cli-name command...
  local name=$1; shift; local i s port
  for ((i = 0; i < RUNS; i++)); do
    port=$((18000 + i))
    s=$(now)
    "$@" run -d --name "rp$i" -p "$port:80" busybox httpd -f -p 80 -h /etc >/dev/null
    until curl -s -o /dev/null "http://127.0.0.1:$port/hostname"; do :; done
    echo $(( ($(now) - s) / 1000 ))
    "$@" rm -f "rp$i" >/dev/null
  done | sort -n | awk -v n="$name" '{a[NR]=$1} END{printf "run -d -p until the port answers, %s: median %.1f ms (min %.1f, max %.1f)\n", n, a[int((NR+1)/2)]/1000, a[1]/1000, a[NR]/1000}'
}
rundp 'berth CLI' berth
rundp 'docker CLI' docker -H "unix://$B"
