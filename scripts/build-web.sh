#!/usr/bin/env bash
# Builds the web pages the C++ build embeds into the binary, each one self-contained file (all
# JS/CSS inline): web/map/dist/map.html (`stockade map -o html`) and web/console/dist/console.html
# (the console `stockade serve` answers at /). `build-web.sh map` or `build-web.sh console` builds
# one of them; without an argument, both.
# Idempotent: `npm ci` runs only when node_modules is missing or package.json/package-lock.json
# changed; the bundle is rebuilt every time (it takes well under a second).
# CMake runs this as a custom command; it is safe to run by hand too.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

fail() {
  echo "build-web: $*" >&2
  exit 1
}

command -v node >/dev/null 2>&1 ||
  fail "node is not installed: the map page is built with Node.js (Debian: apt-get install nodejs npm; or run scripts/install-deps.sh)"
command -v npm >/dev/null 2>&1 ||
  fail "npm is not installed: the map page's libraries come from npm (Debian: apt-get install npm; or run scripts/install-deps.sh)"
node_major="$(node -p 'process.versions.node.split(".")[0]')"
[ "$node_major" -ge 18 ] || fail "node $(node --version) is too old: esbuild needs Node.js 18 or newer"

build_one() {
  local page="$1" dir="$root/web/$1" out="$root/web/$1/dist/$2"
  (
    mkdir -p "$dir/dist"
    # Two build trees (or a build and the browser test) may run this at the same time.
    if command -v flock >/dev/null 2>&1; then
      exec 9>"$dir/dist/.build.lock"
      flock 9
    fi

    cd "$dir"
    stamp="node_modules/.stockade-deps.sha256"
    want="$(cat package.json package-lock.json | sha256sum | cut -d' ' -f1)"
    if [ ! -d node_modules ] || [ "$(cat "$stamp" 2>/dev/null || true)" != "$want" ]; then
      echo "build-web: npm ci in web/$page"
      # --ignore-scripts: nothing here needs an install script (esbuild finds its platform binary
      # through its optional dependency), and we run no code from the registry at install time.
      npm ci --ignore-scripts --no-audit --no-fund --loglevel=error ||
        fail "npm ci failed in web/$page (is the npm registry reachable? see the npm output above)"
      echo "$want" >"$stamp"
    fi

    node build.mjs
    [ -s "$out" ] || fail "the build did not produce $out"
  )
}

case "${1:-all}" in
map) build_one map map.html ;;
console) build_one console console.html ;;
all) build_one map map.html && build_one console console.html ;;
*) fail "unknown page '$1' (map, console)" ;;
esac
