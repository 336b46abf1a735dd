#!/usr/bin/env bash
# Install the Debian tools some phases and tests use, where apt-get is usable (as root, or through
# passwordless sudo): prometheus (+ promtool) for the server-side view and alert rules, chromium for
# the report's browser test. Elsewhere, print how to get them; agentload works without them.
set -euo pipefail

missing=()
command -v prometheus >/dev/null 2>&1 && command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
[ ${#missing[@]} -eq 0 ] && exit 0

as_root=()
if [ "$(id -u)" != 0 ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    as_root=(sudo -n)
  else
    as_root=(unavailable)
  fi
fi

if command -v apt-get >/dev/null 2>&1 && [ "${as_root[*]-}" != unavailable ]; then
  echo "installing ${missing[*]} with apt-get" >&2
  "${as_root[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${as_root[@]}" apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
  # Debian's package starts a system-wide Prometheus on :9090; agentload starts its own per run.
  exit 0
fi

echo "optional tools missing: ${missing[*]}" >&2
for tool in "${missing[@]}"; do
  case "$tool" in
    prometheus)
      echo "  prometheus: 'sudo apt-get install prometheus' (Debian/Ubuntu), 'brew install prometheus'" \
        "(macOS), or unpack https://prometheus.io/download/ and put prometheus and promtool on PATH" \
        "(or set AGENTLOAD_PROMETHEUS_BIN). Without it runs say the server-side view is missing." >&2
      ;;
    chromium)
      echo "  chromium: 'sudo apt-get install chromium' (Debian/Ubuntu); only the report's browser" \
        "test needs it." >&2
      ;;
  esac
done
