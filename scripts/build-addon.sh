#!/usr/bin/env bash
# Builds the packet_ring N-API addon (native/packet-ring: AF_PACKET rings for FromDevice and
# ToDevice) with npm's own node-gyp against the headers of the Node that runs it: offline, no
# download, no npm package. Idempotent: skipped when the addon is newer than its sources.
set -euo pipefail
cd "$(dirname "$0")/../native/packet-ring"
out=build/Release/packet_ring.node
if [ -f "$out" ] && [ "$out" -nt packet-ring.c ] && [ "$out" -nt binding.gyp ]; then
  echo "setup: packet_ring addon up to date ($out)"
  exit 0
fi
# The Node headers: the ones next to this node binary (/usr/include/node for Debian's node,
# <prefix>/include/node for a release tarball).
node_prefix=$(dirname "$(dirname "$(readlink -f "$(command -v node)")")")
nodedir=""
for d in "$node_prefix" /usr /usr/local; do
  if [ -f "$d/include/node/node_api.h" ]; then nodedir=$d; break; fi
done
if [ -z "$nodedir" ]; then
  echo "setup: cannot find Node's headers (include/node/node_api.h under $node_prefix, /usr or /usr/local)" >&2
  exit 1
fi
gyp="$(npm root -g)/npm/node_modules/node-gyp/bin/node-gyp.js"
if [ ! -f "$gyp" ]; then
  echo "setup: npm's bundled node-gyp not found at $gyp" >&2
  exit 1
fi
echo "setup: building the packet_ring addon (node-gyp, headers from $nodedir/include/node)"
node "$gyp" rebuild --nodedir="$nodedir" --loglevel=warn
ls -l "$out"
