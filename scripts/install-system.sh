#!/usr/bin/env bash
# Install the Debian tools some phases and tests use (Prometheus, Chromium), where apt-get is usable.
set -euo pipefail
wanted=(prometheus chromium)
missing=()
command -v prometheus >/dev/null 2>&1 || missing+=(prometheus)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
[ ${#missing[@]} -eq 0 ] && exit 0
if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "optional tools missing: ${missing[*]} (install them with your package manager, e.g. 'sudo apt-get install ${wanted[*]}')" >&2
fi
