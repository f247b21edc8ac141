#!/usr/bin/env bash
# Browser test of the `stockade map -o html` page (web/map):
#  1. builds web/map/dist/map.html if needed (scripts/build-web.sh is idempotent);
#  2. writes test maps (gen-data.mjs): ~1,200 nodes / 3,000 edges, a 3-node map whose labels try
#     to close the <script> element, and an empty map;
#  3. fills the template exactly as the C++ does (embed.mjs: the placeholder replaced by the JSON
#     with every "<" written as \u003c);
#  4. opens each page in headless Chromium (WebGL through SwiftShader, no network) and checks that
#     the page says it is ready and that it drew as many nodes and edges as the input has;
#     a deep link (#node=…) checks the node details panel;
#  5. takes a 1400x900 screenshot of each page for a person to look at.
# Output (pages, DOM dumps, screenshots) goes to $MAP_BROWSER_OUT, default build/map_browser/.
# Exit 0 when every check passes, 1 on a failure, 77 (skip) when Chromium is not installed.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
out="${MAP_BROWSER_OUT:-$root/build/map_browser}"
template="$root/web/map/dist/map.html"

die() {
  echo "map_browser: FAIL: $*" >&2
  exit 1
}

command -v node >/dev/null 2>&1 || die "node is not installed (apt-get install nodejs)"
browser="$(command -v chromium || command -v chromium-browser || true)"
if [ -z "$browser" ]; then
  echo "map_browser: SKIP: chromium is not installed (apt-get install chromium)"
  exit 77
fi

bash "$root/scripts/build-web.sh" >/dev/null || die "scripts/build-web.sh failed"
[ -s "$template" ] || die "$template was not built"
mkdir -p "$out"
node "$here/gen-data.mjs" "$out" >/dev/null

profiles=()
cleanup() { for p in "${profiles[@]}"; do rm -rf "$p"; done; }
trap cleanup EXIT

# run_chromium URL [SCREENSHOT.png]: prints the page's DOM once the page has settled.
run_chromium() {
  local url="$1" shot="${2:-}" profile
  profile="$(mktemp -d)"
  profiles+=("$profile")
  local args=(--headless --no-sandbox --disable-gpu --enable-unsafe-swiftshader --use-angle=swiftshader
    --disable-quic --no-first-run --disable-background-networking --disable-component-update
    --disable-sync --disable-extensions --host-resolver-rules="MAP * ~NOTFOUND"
    --user-data-dir="$profile" --virtual-time-budget=15000 --window-size=1400,900 --hide-scrollbars)
  [ -z "$shot" ] || args+=(--screenshot="$shot")
  timeout 120 "$browser" "${args[@]}" --dump-dom "$url" 2>/dev/null
}

# The <body ...> attributes of a DOM dump, one name=value a line.
body_attrs() {
  node -e '
    const dom = require("fs").readFileSync(0, "utf8");
    const m = /<body\b([^>]*)>/i.exec(dom);
    if (!m) process.exit(0);
    for (const a of m[1].matchAll(/([\w-]+)="([^"]*)"/g)) console.log(a[1] + "=" + a[2]);'
}

passed=0
failed=0
check() { # name condition-result message
  if [ "$2" = ok ]; then
    passed=$((passed + 1))
    echo "map_browser: ok   $1"
  else
    failed=$((failed + 1))
    echo "map_browser: FAIL $1: $3" >&2
  fi
}

for name in large tiny empty; do
  json="$out/$name.json"
  page="$out/$name.html"
  node "$here/embed.mjs" "$template" "$json" "$page"
  read -r want_nodes want_edges < <(node -e '
    const d = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    console.log(d.nodes.length, d.edges.length)' "$json")

  start=$(date +%s%N)
  rm -f "$out/$name.png"
  run_chromium "file://$page" "$out/$name.png" >"$out/$name.dom.html" || true
  ms=$((($(date +%s%N) - start) / 1000000))
  secs="$((ms / 1000)).$(((ms % 1000) / 100))"
  attrs="$(body_attrs <"$out/$name.dom.html")"
  get() { sed -n "s/^data-$1=//p" <<<"$attrs"; }
  ready="$(get ready)" nodes="$(get rendered-nodes)" edges="$(get rendered-edges)" err="$(get error)"

  if [ "$ready" = true ]; then r=ok; else r=bad; fi
  check "$name: page ready (${secs}s)" $r "data-ready='$ready' (expected true)${err:+, error: $err}"
  if [ "$nodes" = "$want_nodes" ] && [ "$edges" = "$want_edges" ]; then r=ok; else r=bad; fi
  check "$name: rendered $want_nodes nodes / $want_edges edges" $r \
    "rendered nodes='$nodes' edges='$edges', input has $want_nodes nodes / $want_edges edges"
  if [ "$want_nodes" -gt 0 ]; then
    webgl="$(get webgl)"
    if [ -n "$webgl" ]; then r=ok; else r=bad; fi
    check "$name: drawn with WebGL (${webgl:-none})" $r "sigma did not report a WebGL context"
  fi
  if [ -z "$(get pwned)" ]; then r=ok; else r=bad; fi
  check "$name: embedded data cannot inject markup" $r "a label closed the data <script> and ran code"

  if [ -s "$out/$name.png" ]; then r=ok; else r=bad; fi
  check "$name: screenshot $out/$name.png" $r "chromium wrote no screenshot"
done

# Node details through a deep link: the details panel names the node and its open ingress.
run_chromium "file://$out/tiny.html#node=shop%2Fweb" "$out/tiny-node.png" >"$out/tiny-node.dom.html" || true
if grep -q 'class="d-title"[^<]*<span[^>]*></span>shop/web' "$out/tiny-node.dom.html" &&
  grep -q 'pill open-in">not isolated' "$out/tiny-node.dom.html"; then r=ok; else r=bad; fi
check "tiny: #node=shop/web shows its details" $r "the details panel does not show shop/web as not isolated for ingress"

# Filters and search, driven through the page's own controls (interact.js).
{ cat "$out/tiny.html"; printf '<script>\n'; cat "$here/interact.js"; printf '</script>\n'; } >"$out/tiny-interact.html"
run_chromium "file://$out/tiny-interact.html" "$out/tiny-interact.png" >"$out/tiny-interact.dom.html" || true
got="$(body_attrs <"$out/tiny-interact.dom.html" | sed -n 's/^data-interacted=//p')"
want="open:Ingress not isolated (1);hidden-shop:Ingress not isolated (0);all:Ingress not isolated (1);search:shop/api"
if [ "$got" = "$want" ]; then r=ok; else r=bad; fi
check "tiny: namespace filter, outcome filter and search" $r "got '$got', expected '$want'"

echo "map_browser: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
