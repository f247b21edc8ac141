#!/usr/bin/env bash
# The console's "select a workload → its draft and simulation" at scale, against a real
# `stockade serve`: gen_cluster --pods 5000 --replicas 1 --namespaces 50 and 470,000 gen_flows
# records (three seeds) posted to it.
#  1. the server alone: POST /api/v1/simulate of one workload's recommended policies (what the
#     console posts on a click), timed with curl, RUNS times (median); and GET
#     /api/v1/recommendations once (the console reads it once per data version);
#  2. the browser: bench/console_tti.mjs against the server, click → draft + simulation.
#   bench/console_scale.sh [STOCKADE_BINARY] [GEN_DIR]
#     STOCKADE_BINARY default build/release/stockade; GEN_DIR (default build/release/bench, where
#     gen_cluster and gen_flows are). DATA=DIR keeps the generated cluster and records there (and
#     reuses them on the next run: before/after figures on the same input). RUNS (default 5),
#     BROWSER=0 skips the browser half.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
stockade="${1:-$root/build/release/stockade}"
gen="${2:-$root/build/release/bench}"
runs="${RUNS:-5}"
work="$(mktemp -d "${TMPDIR:-/tmp}/console_scale.XXXXXX")"
data="${DATA:-$work}"
mkdir -p "$data"
server=""
cleanup() {
  if [ -n "$server" ]; then
    kill "$server" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
if [ ! -s "$data/cluster.json" ]; then
  "$gen/gen_cluster" --pods 5000 --replicas 1 --namespaces 50 >"$data/cluster.json"
  for seed in 1 2 3; do
    # Posted in pieces of 20,000 records (~47 MB; the server runs with --max-body 64).
    "$gen/gen_flows" --cluster "$data/cluster.json" --records 156667 --seed "$seed" |
      split -l 20000 -d -a 3 --filter='gzip -1 >"$FILE.gz"' - "$data/flows-$seed-"
  done
fi
"$stockade" serve -f "$data/cluster.json" --store "sqlite:$work/s.db" --listen 127.0.0.1:0 --max-body 64 \
  2>"$work/serve.log" &
server=$!
addr=""
for _ in $(seq 600); do
  addr="$(grep '"listening"' "$work/serve.log" | sed -n 's/.*"address":"\([^"]*\)".*/\1/p' | head -1 || true)"
  [ -n "$addr" ] && curl -sf "http://$addr/readyz" >/dev/null 2>&1 && break
  sleep 0.1
done
for f in "$data"/flows-*.gz; do
  curl -sf -H 'Content-Encoding: gzip' --data-binary @"$f" "http://$addr/api/v1/flows" >/dev/null
done
t0=$(date +%s.%N)
curl -sf "http://$addr/api/v1/recommendations?acceptBlocked=true" >"$work/recs.json"
t1=$(date +%s.%N)
echo "recommendations: $(echo "$t1 - $t0" | bc) s, $(stat -c %s "$work/recs.json") bytes" >&2
# Two workloads with recommended policies: the timed click (first) and the one before it.
python3 - "$work/recs.json" "$work" <<'EOF'
import json, sys
items = json.load(open(sys.argv[1]))["items"]
by = {}
for p in items:
    wl = p["metadata"].get("annotations", {}).get("stockade.io/workload")
    if wl:
        by.setdefault((p["metadata"]["namespace"], wl.split("/", 1)[1]), []).append(p)
keys = sorted(by)[:2]
open(sys.argv[2] + "/click", "w").write(",".join(f"{ns}/{n}" for ns, n in keys))
for i, k in enumerate(keys):
    json.dump({"apiVersion": "v1", "kind": "List", "items": by[k]}, open(f"{sys.argv[2]}/draft{i}.json", "w"))
EOF
echo "workloads: $(cat "$work/click")" >&2
times=()
for _ in $(seq "$runs"); do
  times+=("$(curl -sf -o "$work/sim.json" -w '%{time_total}' -H 'Content-Type: application/json' \
    --data-binary @"$work/draft0.json" "http://$addr/api/v1/simulate")")
done
echo "simulate (server, curl): ${times[*]} s; median $(printf '%s\n' "${times[@]}" | sort -n | sed -n "$(((runs + 1) / 2))p") s" >&2
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print("  answer: changes", len(d["changes"]), "summary", d["summary"], "flows", d["flows"]["summary"])' "$work/sim.json" >&2
if [ "${BROWSER:-1}" != 0 ]; then
  bash "$root/scripts/build-web.sh" console >/dev/null
  CLICK="$(cat "$work/click")" node "$root/bench/console_tti.mjs" demo "http://$addr/" "$runs"
fi
