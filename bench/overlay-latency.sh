#!/bin/bash
# Issue 16's overlay figure, alone or as part of bench/run.sh: the time from `run -d` on host A
# until host B resolves the new container's name and pings it (p50/p99 over 20 rounds, 5 with
# --quick), and the `run -d` alone; berth (two sandboxed hosts on etcd, its own CLI and the
# docker CLI) against Docker's swarm overlay (the reference swarm pair: two Docker 20.10
# engines in namespaces refswarm1/2; BERTH_SWARM_PAIR names its script). What each system does
# is in bench/overlay-latency.js. Writes bench/out/overlay_*; run bench/report.js to render.
#
#   bench/overlay-latency.sh [--quick]      (as root, after npm run build)
set -euo pipefail
cd "$(dirname "$0")/.."
need=()
for p in etcd:etcd-server dockerd:docker.io; do command -v "${p%%:*}" >/dev/null || need+=("${p#*:}"); done
[[ -x /bin/busybox ]] || need+=(busybox-static)
if ((${#need[@]})); then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" iptables >/dev/null
fi
[[ -f dist/test/harness/sandbox.js ]] || npm run build
exec node bench/overlay-latency.js "$@"
