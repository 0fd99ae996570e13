#!/bin/bash
# The machine and the versions a benchmark run measured, as one JSON object (bench/report.js
# stores it in bench/history.jsonl with the run's figures). $1: the run's length in seconds.
set -euo pipefail
cd "$(dirname "$0")/.."
pkgs=$(dpkg-query -W -f '${Package}=${Version}\n' docker.io containerd runc crun conmon netavark aardvark-dns \
  containernetworking-plugins dnsperf iperf3 nftables iptables 2>/dev/null | grep -v '=$' || true)
MACHINE_CPU=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo) \
MACHINE_CORES=$(nproc) MACHINE_MEM_KB=$(awk '/^MemTotal/ {print $2}' /proc/meminfo) \
MACHINE_KERNEL=$(uname -r) MACHINE_LOAD=$(cut -d' ' -f1-3 /proc/loadavg) \
MACHINE_COMMIT=$(git rev-parse --short HEAD 2>/dev/null)$(git diff --quiet HEAD -- src bench 2>/dev/null || echo +dirty) \
MACHINE_PKGS=$pkgs MACHINE_SECONDS=${1:-0} node -e '
  const e = process.env;
  const packages = Object.fromEntries(e.MACHINE_PKGS.split("\n").filter(Boolean).map((l) => l.split("=")));
  console.log(JSON.stringify({ cpu: e.MACHINE_CPU, cores: +e.MACHINE_CORES, memKiB: +e.MACHINE_MEM_KB,
    kernel: e.MACHINE_KERNEL, loadavg: e.MACHINE_LOAD, node: process.version, berth: e.MACHINE_COMMIT,
    packages, seconds: +e.MACHINE_SECONDS }));'
