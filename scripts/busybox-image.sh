#!/bin/bash
# Writes a busybox rootfs tarball to stdout, from Debian's busybox-static plus the glibc pieces
# its name lookups need (the same recipe as the test suite's image). Import it with:
#   scripts/busybox-image.sh | berth import - busybox --change 'ENV PATH=/bin:/usr/bin:/sbin'
set -euo pipefail
[[ -x /bin/busybox ]] || { echo "busybox-image.sh: install busybox-static first (apt-get install busybox-static)" >&2; exit 1; }
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{bin,etc,tmp,proc,sys,dev,www,lib64,lib/x86_64-linux-gnu}
cp /bin/busybox "$root/bin/busybox"
for a in $(/bin/busybox --list); do [[ $a == busybox ]] || ln -sf busybox "$root/bin/$a"; done
cp -L /lib64/ld-linux-x86-64.so.2 "$root/lib64/"
for l in libc.so.6 libnss_dns.so.2 libnss_files.so.2 libresolv.so.2; do cp -L "/lib/x86_64-linux-gnu/$l" "$root/lib/x86_64-linux-gnu/"; done
echo 'hosts: files dns' > "$root/etc/nsswitch.conf"
tar -C "$root" -cf - .
