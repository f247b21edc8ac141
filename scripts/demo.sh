#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine, builds Stockade and runs it on the embedded demo data
# (demo/): who can reach whom, why three connections are allowed or denied, and what a policy
# change would change.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release --target stockade -j "$(nproc)"

stockade=build/release/stockade
run() {
  echo
  echo "\$ stockade $*"
  "$stockade" "$@"
}

run reach -f demo/cluster -f demo/policies -o summary
run reach -f demo/cluster -f demo/policies --from shop/frontend --to 'shop/*'
run explain -f demo/cluster -f demo/policies --from shop/nightly-report --to data/postgres-0 \
  --port tcp/5432
run explain -f demo/cluster -f demo/policies --from monitoring/prometheus \
  --to kube-system/coredns-5dd5756b68-8xq2l --port tcp/metrics
run explain -f demo/cluster -f demo/policies --from 198.51.100.7 --to shop/frontend \
  --port tcp/http
run diff -f demo/cluster --before demo/policies --after demo/policies-change
