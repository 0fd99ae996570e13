# Sourced by the walkthrough scripts: re-executes the caller inside a private network, mount and
# PID namespace (nothing on the machine changes), with a stand-in uplink 192.168.10.10/24, a
# throwaway berthd on a tmpfs, the busybox image, and `berth` and `show` defined.
# Run the callers as root after `npm run build`.
if [[ ${1:-} != --inside ]]; then
  exec unshare --net --mount --pid --fork --propagation private "$0" --inside
fi
top=$(mktemp -d /tmp/berth-walk-XXXXXX)
mount -t tmpfs tmpfs "$top"
trap 'kill $(jobs -p) 2>/dev/null; umount -l "$top"; rmdir "$top"' EXIT
mount -t proc proc /proc
ip link set lo up
# A stand-in for the machine's uplink, so the host has an address of its own.
ip link add uplink type veth peer name uplink-peer
ip addr add 192.168.10.10/24 dev uplink; ip link set uplink up; ip link set uplink-peer up
export BERTH_HOST=unix://$top/berth.sock
export DOCKER_HOST=$BERTH_HOST
node bin/berthd --data-root "$top/data" --exec-root "$top/exec" -H "$BERTH_HOST" 2>"$top/berthd.log" &
for _ in $(seq 100); do node bin/berth version >/dev/null 2>&1 && break; sleep 0.1; done
berth() { node "$PWD/bin/berth" "$@"; }
scripts/busybox-image.sh | berth import - busybox --change 'ENV PATH=/bin:/usr/bin:/sbin' >/dev/null

show() { echo "\$ $*"; eval "$@" 2>&1 | sed 's/[[:space:]]*$//'; echo; }
settle() { sleep 0.5; }
