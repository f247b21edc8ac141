#!/usr/bin/env bash
# Issue 20's load bar end to end: the real `stockade serve` (SQLite store, the demo's objects)
# and bench/agent_batch_load simulating N node agents at R connections/s each, aggregated on the
# node (the batches the agent's aggregator forms), posted in real time. Prints the generator's
# figures (answers, POST latency = POST to durable, formed -> acknowledged) and the server's CPU
# over the run (from /proc/PID/stat).
#
#   bench/serve_load.sh [STOCKADE_BINARY...]     # default build/release/stockade
#   AGENTS=5000 RATE=1000 DURATION=60 WINDOW=10 bench/serve_load.sh build/release/stockade /tmp/main-stockade
#
# Several binaries are run one after the other on the same batches (side by side with main's).
# The batches are formed before each run (a minute of CPU for 5,000 agents), not during it.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
AGENTS=${AGENTS:-5000} RATE=${RATE:-1000} DURATION=${DURATION:-60} WINDOW=${WINDOW:-10}
NEW_EDGE_RATE=${NEW_EDGE_RATE:-0.001} WORKERS=${WORKERS:-48}
LOADGEN=${LOADGEN:-$here/build/release/bench/agent_batch_load}
bins=("$@")
[ ${#bins[@]} -gt 0 ] || bins=("$here/build/release/stockade")
work=$(mktemp -d /tmp/stockade-serve-load.XXXXXX)
server=
cleanup() { [ -n "$server" ] && kill -9 "$server" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load $(cut -d' ' -f1-3 /proc/loadavg)"
for bin in "${bins[@]}"; do
  rm -f "$work"/db*
  "$bin" serve -f "$here/demo/cluster" -f "$here/demo/policies" --store "sqlite:$work/db" \
    --listen 127.0.0.1:0 --agent-interval "${WINDOW}s" 2>"$work/log" &
  server=$!
  port=
  for _ in $(seq 600); do
    port=$(grep -o '"address":"127.0.0.1:[0-9]*".*"msg":"listening"' "$work/log" 2>/dev/null |
      sed 's/.*127.0.0.1:\([0-9]*\)".*/\1/' | head -1) || true
    [ -n "$port" ] && break
    sleep 0.1
  done
  [ -n "$port" ] || { echo "serve did not start:"; cat "$work/log"; exit 1; }
  echo "== $bin ($("$bin" --version 2>/dev/null | head -1)), port $port"
  "$LOADGEN" --server "http://127.0.0.1:$port" --server-pid "$server" --agents "$AGENTS" \
    --rate "$RATE" --seconds "$DURATION" --window "$WINDOW" --new-edge-rate "$NEW_EDGE_RATE" \
    --workers "$WORKERS" || echo "(agent_batch_load exit $?)"
  echo "store: $(du -sh "$work"/db* | tr '\n' ' ')"
  kill -TERM "$server"; wait "$server" || true
  server=
done
