#!/bin/sh
# Compiles berth-relay-tcp (src/relay/tcp-plane.c), the relay's TCP data path, beside the relay's
# compiled TypeScript in dist/. Part of `npm run build`; needs a C compiler (scripts/deps.sh
# installs gcc and libc6-dev).
set -e
cd "$(dirname "$0")/.."
mkdir -p dist/src/relay
CC=${CC:-cc}
if ! command -v "$CC" >/dev/null; then
  echo "scripts/build-relay.sh: no C compiler ($CC): install gcc and libc6-dev (scripts/deps.sh does)" >&2
  exit 1
fi
"$CC" -O2 -Wall -Wextra -Werror -std=gnu11 -o dist/src/relay/berth-relay-tcp.tmp src/relay/tcp-plane.c
mv dist/src/relay/berth-relay-tcp.tmp dist/src/relay/berth-relay-tcp
