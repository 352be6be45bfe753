#!/usr/bin/env bash
# Sets up (nats-server, npm ci, build) and runs `gantry demo`. Arguments go to gantry demo.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export PATH="$PATH:/usr/sbin"
exec node dist/cli/main.js demo "$@"
