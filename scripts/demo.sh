#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine, builds Stockade and runs it on the embedded demo data
# (demo/): who can reach whom and why; the observed traffic as a map; least-privilege policies
# learned from it, proved against it, and a policy change checked against it (the closed
# loop); a posture scan of a deliberately vulnerable set.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release --target stockade -j "$(nproc)"

stockade=build/release/stockade
run() {
  echo
  echo "\$ stockade $*"
  local code=0
  "$stockade" "$@" || code=$?
  if [ "$code" -ne 0 ]; then echo "(exit $code)"; fi
  if [ "$code" -ge 2 ]; then exit "$code"; fi  # 1 = found what the command reports; 2+ = error
}
out=$(mktemp -d)

run reach -f demo/cluster -f demo/policies -o summary
run reach -f demo/cluster -f demo/policies --from shop/frontend --to 'shop/*'
run explain -f demo/cluster -f demo/policies --from shop/nightly-report --to data/postgres-0 \
  --port tcp/5432
run explain -f demo/cluster -f demo/policies --from monitoring/prometheus \
  --to kube-system/coredns-5dd5756b68-8xq2l --port tcp/metrics
run explain -f demo/cluster -f demo/policies --from 198.51.100.7 --to shop/frontend \
  --port tcp/http
run diff -f demo/cluster --before demo/policies --after demo/policies-change

# The closed loop on the demo's observed traffic (demo/flows).
flows=demo/flows/hubble.json.gz
run map -f demo/cluster -f demo/policies --flows "$flows" -o html > "$out/map.html"
echo "map written to $out/map.html (open it in a browser)"
run recommend -f demo/cluster --flows "$flows" --out-dir "$out/recommended"
run verify -f demo/cluster -f "$out/recommended" --flows "$flows"
run diff -f demo/cluster --before demo/policies --after demo/policies-change --flows "$flows"

# Posture: every planted weakness of demo/vulnerable, riskiest workloads first.
run scan -f demo/vulnerable --fail-on critical
echo
echo "demo outputs are in $out"

# The loop that keeps running: the server on the demo's objects, the demo's records posted to
# it as a shipper would, a baseline locked, the live audit read back; then it stays up with the
# web console at http://127.0.0.1:${STOCKADE_DEMO_PORT:-7080}/ until Ctrl-C
# (STOCKADE_DEMO_SERVE=0: stop it instead).
port=${STOCKADE_DEMO_PORT:-7080}
api=http://127.0.0.1:$port
echo
echo "\$ stockade serve -f demo/cluster -f demo/policies --store sqlite:$out/stockade.db --listen 127.0.0.1:$port &"
"$stockade" serve -f demo/cluster -f demo/policies --store "sqlite:$out/stockade.db" \
  --listen "127.0.0.1:$port" 2>"$out/serve.log" &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 600); do  # up to a minute: a busy machine
  curl -sf "$api/readyz" >/dev/null 2>&1 && break
  kill -0 $server 2>/dev/null || { cat "$out/serve.log"; exit 2; }
  sleep 0.1
done
show() { echo; echo "\$ curl $(printf '%q ' "$@")"; curl -sS "$@"; echo; }
show -H 'Content-Encoding: gzip' --data-binary @"$flows" "$api/api/v1/flows"
show -X POST -d '' "$api/api/v1/baselines/data/lock"
echo
echo "\$ curl $api/api/v1/audit?limit=3   (the first denied edges and why)"
curl -sS "$api/api/v1/audit?limit=3" | head -c 1200
echo
if [ "${STOCKADE_DEMO_SERVE:-1}" = 0 ]; then exit 0; fi
echo
echo "stockade serve is running: the console at $api/ , the API under $api/api/v1/ (Ctrl-C stops it)"
wait $server
