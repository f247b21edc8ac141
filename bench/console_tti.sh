#!/usr/bin/env bash
# Time to interactive of the web console (bench/console_tti.mjs), median of 5 runs each:
#  1. a real `stockade serve` on the demo (demo/cluster, demo/policies, demo/flows posted);
#  2. the page with a generated 5,000-node / 50,000-edge map answered in the browser.
#   bench/console_tti.sh [STOCKADE_BINARY]     (default build/release/stockade)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
stockade="${1:-$root/build/release/stockade}"
runs="${RUNS:-5}"
bash "$root/scripts/build-web.sh" console >/dev/null
work="$(mktemp -d "${TMPDIR:-/tmp}/console_tti.XXXXXX")"
server=""
cleanup() {
  if [ -n "$server" ]; then
    kill "$server" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
cd "$root"
"$stockade" serve -f demo/cluster -f demo/policies --store "sqlite:$work/s.db" --listen 127.0.0.1:0 \
  2>"$work/serve.log" &
server=$!
addr=""
for _ in $(seq 200); do
  addr="$(grep '"listening"' "$work/serve.log" | sed -n 's/.*"address":"\([^"]*\)".*/\1/p' | head -1 || true)"
  [ -n "$addr" ] && curl -sf "http://$addr/readyz" >/dev/null 2>&1 && break
  sleep 0.1
done
curl -sf -H 'Content-Encoding: gzip' --data-binary @demo/flows/hubble.json.gz "http://$addr/api/v1/flows" >/dev/null
node "$root/bench/console_tti.mjs" demo "http://$addr/" "$runs"
node "$root/bench/console_tti.mjs" synthetic 5000 50000 "$runs"
