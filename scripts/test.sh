#!/usr/bin/env bash
# Sets up (nats-server, prometheus, npm ci, build) and runs the whole test suite with tap.
# The last line is "N passed, N failed"; the exit code is non-zero on any failure.
set -uo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --test || { echo "0 passed, 1 failed"; exit 1; }
export PATH="$PATH:/usr/sbin"
# The tests are TypeScript run directly by tap, which does not type-check them: do it here.
npx tsc -p tsconfig.test.json --noEmit || { echo "type errors in the sources or tests"; echo "0 passed, 1 failed"; exit 1; }
mkdir -p .tap
npx tap --reporter=tap "$@" 2>&1 | tee .tap/last-run.tap
tap_status=${PIPESTATUS[0]}
node scripts/tap-summary.mjs .tap/last-run.tap "$tap_status"
