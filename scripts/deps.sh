#!/bin/bash
# What berth needs on a Debian (bookworm) machine, as root: the kernel tools it drives, runc,
# the programs its tests and walkthrough run, Node.js, and its npm packages.
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ $(id -u) -ne 0 ]]; then echo "$0: run as root" >&2; exit 1; fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# conmon: the monitor that keeps each container's stdio, log and exit code (podman's);
# crun: an OCI runtime containers may choose (--runtime crun; runc is the default); nftables, iproute2: berth's kernel tools; util-linux: unshare, nsenter,
# script; busybox-static: the busybox image; curl, nginx-light, python3: programs the tests
# and the walkthrough run from the host image; docker-registry: the registry the pull tests run
# inside their namespace (Debian does not start it); gcc, libc6-dev: `npm run build` compiles
# berth-relay-tcp, the port relay's TCP data path (src/relay/tcp-plane.c).
apt-get install -y -qq --no-install-recommends \
  gcc libc6-dev conmon crun runc nftables iproute2 util-linux busybox-static curl nginx-light python3 procps tar ca-certificates \
  docker-registry >/dev/null
# The docker CLI, for the tests that drive berthd with it (Debian's docker.io; only its client is used).
command -v docker >/dev/null || apt-get install -y -qq --no-install-recommends docker.io >/dev/null
# Third-party clients the compatibility tests drive berthd with: docker-compose 1.29 and the
# Docker SDK for Python (python3-docker).
apt-get install -y -qq --no-install-recommends docker-compose python3-docker >/dev/null
# etcd: the cluster store behind overlay networks (`swarm init` runs etcd as berthd's child;
# Debian's package is not started here: policy-rc.d or no systemd on CI); etcdctl for looking in.
apt-get install -y -qq --no-install-recommends etcd-server etcd-client >/dev/null
# Node.js 20 or newer; Debian's own package when the machine has none.
if ! command -v node >/dev/null; then apt-get install -y -qq nodejs npm >/dev/null; fi
npm ci --no-audit --no-fund
