#!/usr/bin/env bash
# Builds and starts the bundled demo service (test/go/demo), lets its leak and
# contention build up for a few seconds, and opens gtop's interactive view on
# it (q quits). Arguments go to gtop, e.g. `--once` to print the goroutines
# instead; without a terminal it prints them (--once) too. The demo process is
# stopped when this script exits.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p .cache/demo
(cd test/go && GOTOOLCHAIN=local CGO_ENABLED=0 go build -o ../../.cache/demo/demo ./demo)
.cache/demo/demo >/dev/null &
demo_pid=$!
trap 'kill "$demo_pid" 2>/dev/null || true' EXIT
sleep "${GTOP_DEMO_WARMUP:-3}"
args=("$@")
if [ ${#args[@]} -eq 0 ] && ! { [ -t 0 ] && [ -t 1 ]; }; then args=(--once); fi
echo "gtop -p $demo_pid ${args[*]}" >&2
./bin/gtop -p "$demo_pid" "${args[@]}"
