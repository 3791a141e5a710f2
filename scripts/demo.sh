#!/usr/bin/env bash
# Builds and starts the bundled demo service (test/go/demo), lets its leak and
# contention build up for a few seconds, and points gtop at it. The demo
# process is stopped when this script exits.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p .cache/demo
(cd test/go && GOTOOLCHAIN=local CGO_ENABLED=0 go build -o ../../.cache/demo/demo ./demo)
.cache/demo/demo >/dev/null &
demo_pid=$!
trap 'kill "$demo_pid" 2>/dev/null || true' EXIT
sleep "${GTOP_DEMO_WARMUP:-3}"
echo "gtop -p $demo_pid $*" >&2
./bin/gtop -p "$demo_pid" "${@:---once}"
