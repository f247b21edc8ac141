#!/usr/bin/env bash
# Browser test of the web console (web/console): a real `stockade serve` on the demo's objects
# (demo/cluster, demo/policies) with a bearer token, the demo's Hubble records posted to it, and
# headless Chromium driven by playwright-core (console.mjs): sign in, the map, click an edge and
# read it, a denied edge from the audit, lock a baseline, a new edge's audit event.
#   run.sh STOCKADE_BINARY
# Output (screenshots, the server's log) goes to $CONSOLE_BROWSER_OUT, default
# build/console_browser/. Exit 0 when every check passes, 1 on a failure, 77 (skip) when
# Chromium is not installed.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
stockade="${1:?usage: run.sh STOCKADE_BINARY}"
out="${CONSOLE_BROWSER_OUT:-$root/build/console_browser}"

die() {
  echo "console_browser: FAIL: $*" >&2
  exit 1
}

command -v node >/dev/null 2>&1 || die "node is not installed (apt-get install nodejs)"
browser="$(command -v chromium || command -v chromium-browser || true)"
if [ -z "$browser" ]; then
  echo "console_browser: SKIP: chromium is not installed (apt-get install chromium)"
  exit 77
fi
# playwright-core is a devDependency of web/console: the page's build installs it.
bash "$root/scripts/build-web.sh" console >/dev/null || die "scripts/build-web.sh console failed"

mkdir -p "$out"
rm -f "$out"/*.png
work="$(mktemp -d "${TMPDIR:-/tmp}/console_browser.XXXXXX")"
server=""
cleanup() {
  if [ -n "$server" ]; then
    kill "$server" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

head -c 24 /dev/urandom | base64 | tr -d '/+=' >"$work/token"
zcat "$root/demo/flows/hubble.json.gz" >"$work/flows.json"
cd "$root"
"$stockade" serve -f demo/cluster -f demo/policies -f tests/data/policy_lint/sock-shop.yaml --store "sqlite:$work/stockade.db" \
  --listen 127.0.0.1:0 --token-file "$work/token" 2>"$out/serve.log" &
server=$!
addr=""
for _ in $(seq 200); do
  addr="$(grep '"listening"' "$out/serve.log" | sed -n 's/.*"address":"\([^"]*\)".*/\1/p' | head -1 || true)"
  [ -n "$addr" ] && break
  kill -0 "$server" 2>/dev/null || die "stockade serve exited: $(cat "$out/serve.log")"
  sleep 0.1
done
[ -n "$addr" ] || die "stockade serve did not say where it listens"
base="http://$addr"
auth="Authorization: Bearer $(cat "$work/token")"
for _ in $(seq 200); do
  curl -sf "$base/readyz" >/dev/null 2>&1 && break
  sleep 0.1
done
curl -sf -H "$auth" --data-binary @"$work/flows.json" "$base/api/v1/flows" >/dev/null ||
  die "posting the demo's records failed"

node "$here/console.mjs" "$base" "$work/token" "$work/flows.json" "$out"
