#!/bin/bash
# Installs berth on a Debian (bookworm) machine, as root, and starts berthd with its built-in
# defaults (data in /var/lib/berth, state in /run/berth, API on unix:///run/berth/berth.sock),
# then imports a busybox image. Log: /var/log/berthd.log.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
npm run build
# The API socket is root's and the berth group's (mode 0660), as Docker's is the docker group's:
# add a user to it (usermod -aG berth NAME) to let them run berth without sudo; that is root.
getent group berth >/dev/null || groupadd --system berth
ln -sf "$PWD/bin/berth" /usr/local/bin/berth
ln -sf "$PWD/bin/berthd" /usr/local/bin/berthd
if [[ -S /run/berth/berth.sock ]] && berth version >/dev/null 2>&1; then
  echo "berthd is already running"
else
  nohup berthd >>/var/log/berthd.log 2>&1 &
  for _ in $(seq 100); do berth version >/dev/null 2>&1 && break; sleep 0.1; done
  berth version >/dev/null || { tail /var/log/berthd.log >&2; exit 1; }
  echo "berthd started (pid $!), log: /var/log/berthd.log"
fi
berth images --format '{{.Repository}}' | grep -qx busybox ||
  scripts/busybox-image.sh | berth import - busybox --change 'ENV PATH=/bin:/usr/bin:/sbin' >/dev/null
berth images
