#!/usr/bin/env bash
# hetbox set-up on a fresh Debian 12 machine: npm packages, the system packages the backends
# need (Verilator, tshark, Mesa's software Vulkan driver from bookworm-backports; iproute2, ping,
# socat and ethtool for the live-interface demo and tests; python3, make and g++ for node-gyp), the build, the packet_ring addon (FromDevice /
# ToDevice) and the demo's input files. Idempotent: a second run installs nothing and takes seconds.
set -euo pipefail
cd "$(dirname "$0")/.."

apt_packages=(verilator tshark libvulkan1 iproute2 iputils-ping socat ethtool python3 make g++)
backports_packages=(mesa-vulkan-drivers)
backports_list=/etc/apt/sources.list.d/hetbox-bookworm-backports.list

missing=()
for p in "${apt_packages[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
# Dawn refuses bookworm's own Mesa 22.3 lavapipe: we need Mesa from backports (>= 25).
mesa_ok=false
if dpkg -s mesa-vulkan-drivers >/dev/null 2>&1; then
  v=$(dpkg-query -W -f='${Version}' mesa-vulkan-drivers)
  dpkg --compare-versions "$v" ge 25 && mesa_ok=true
fi

if [ ${#missing[@]} -gt 0 ] || [ "$mesa_ok" = false ]; then
  cmds=(
    "echo 'deb http://deb.debian.org/debian bookworm-backports main' > $backports_list"
    "apt-get update"
    "DEBIAN_FRONTEND=noninteractive apt-get install -y ${apt_packages[*]}"
    "DEBIAN_FRONTEND=noninteractive apt-get install -y -t bookworm-backports ${backports_packages[*]}"
  )
  if [ "$(id -u)" = 0 ]; then
    want="${missing[*]:-}"
    [ "$mesa_ok" = false ] && want="$want mesa-vulkan-drivers(bookworm-backports)"
    echo "setup: installing system packages:$want"
    if ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
      echo 'deb http://deb.debian.org/debian bookworm-backports main' > "$backports_list"
    fi
    apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${apt_packages[@]}"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q -t bookworm-backports "${backports_packages[@]}"
  else
    echo "setup: system packages missing (${missing[*]:-mesa-vulkan-drivers from backports}); run as root:"
    for c in "${cmds[@]}"; do echo "  sudo sh -c \"$c\""; done
  fi
else
  echo "setup: system packages present (verilator, tshark, libvulkan1, iproute2, iputils-ping, socat, ethtool, python3, make, g++, mesa-vulkan-drivers $(dpkg-query -W -f='${Version}' mesa-vulkan-drivers))"
fi

if [ -f package-lock.json ]; then
  [ -d node_modules ] && [ node_modules/.package-lock.json -nt package-lock.json ] || npm ci --no-audit --no-fund
else
  npm install --no-audit --no-fund
fi
npm run build
bash scripts/build-addon.sh
node dist/scripts/prepare-demo.js
node dist/scripts/prebuild-simulators.js
