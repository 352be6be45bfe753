#!/usr/bin/env bash
# Idempotent set-up on a fresh Debian/Ubuntu machine: system packages, npm ci, build.
#   scripts/setup.sh          what `gantry demo` needs (nats-server)
#   scripts/setup.sh --test   also what the tests need (prometheus, for promtool)
set -euo pipefail
cd "$(dirname "$0")/.."

want_test=0
[ "${1:-}" = "--test" ] && want_test=1

if ! command -v node >/dev/null 2>&1; then
  echo "setup: Node.js 20 or newer is required (https://nodejs.org or your distribution's nodejs package)" >&2
  exit 1
fi
node_major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$node_major" -lt 20 ]; then
  echo "setup: Node.js $(node --version) is too old; Gantry needs 20 or newer" >&2
  exit 1
fi

pkgs=()
command -v nats-server >/dev/null 2>&1 || pkgs+=(nats-server)
# A C compiler for the native rank supervisor (scripts/build-native.mjs); without one, ranks run
# under the Node supervisor.
command -v "${CC:-cc}" >/dev/null 2>&1 || pkgs+=(gcc libc6-dev)
if [ "$want_test" = 1 ]; then
  command -v promtool >/dev/null 2>&1 || pkgs+=(prometheus)
fi
if [ ${#pkgs[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  echo "setup: installing ${pkgs[*]} with apt-get"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null
fi
# Debian installs nats-server and promtool under /usr/sbin and /usr/bin.
export PATH="$PATH:/usr/sbin"

# npm ci only when the lock file changed since the last install.
stamp=node_modules/.gantry-lock-sha
lock_sha=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$lock_sha" ]; then
  echo "setup: npm ci"
  npm ci --no-audit --no-fund --loglevel=error
  echo "$lock_sha" > "$stamp"
fi

echo "setup: building"
npm run --silent build
