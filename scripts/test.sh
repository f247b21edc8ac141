#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine, builds Stockade and runs the whole test suite:
#  1. release build + all tests (ctest),
#  2. debug build with AddressSanitizer + UndefinedBehaviorSanitizer + all tests,
#  3. libFuzzer targets, each run briefly on its seed corpus (FUZZ_SECONDS, default 30).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh

jobs=$(nproc)
# Where the agent's eBPF programs can load (root, kernel BTF), its kernel tests must run: a
# skip would hide a broken agent.
if [ "$(id -u)" -eq 0 ] && [ -r /sys/kernel/btf/vmlinux ]; then export STOCKADE_REQUIRE_BPF=1; fi
# The store's suite runs against a PostgreSQL server it starts (tests/store/temp_postgres.h):
# here a missing PostgreSQL is a failure, not a skip.
export STOCKADE_REQUIRE_POSTGRES=1
# The live tests' real kube-apiserver and etcd (tests/apiserver/), built from the upstream Go
# modules into build/apiserver (reused while go.mod/go.sum are unchanged); a missing server is a
# failure here, not a skip.
echo "== kube-apiserver and etcd for the live tests"
scripts/test-apiserver.sh build
# helm, for the chart's test (tests/helm/), from the Go module into build/helm.
echo "== helm for the chart test"
scripts/test-helm.sh build
export STOCKADE_REQUIRE_APISERVER=1
fuzz_seconds=${FUZZ_SECONDS:-30}

echo "== release build and tests"
cmake --preset release >/dev/null
cmake --build --preset release -j "$jobs"
ctest --preset release -j "$jobs"

echo "== debug build (ASan + UBSan) and tests"
cmake --preset debug >/dev/null
cmake --build --preset debug -j "$jobs"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --preset debug -j "$jobs"

if [ "$fuzz_seconds" -gt 0 ]; then
  echo "== fuzzing (${fuzz_seconds}s per target)"
  cmake --preset fuzz >/dev/null
  # Only the fuzz targets (and the libraries they link), not the whole project again.
  targets=$(cd fuzz && ls ./*_fuzz.cc | sed 's|^\./||; s|\.cc$||')
  # shellcheck disable=SC2086
  cmake --build --preset fuzz -j "$jobs" --target $targets
  for target in build/fuzz/fuzz/*_fuzz; do
    name=$(basename "$target")
    corpus=$(mktemp -d)
    cp -r "fuzz/corpus/${name%_fuzz}/." "$corpus/"
    dict=()  # a target's dictionary, when it has one (fuzz/NAME.dict)
    if [ -f "fuzz/${name%_fuzz}.dict" ]; then dict=(-dict="fuzz/${name%_fuzz}.dict"); fi
    "$target" -max_total_time="$fuzz_seconds" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
      "${dict[@]}" -print_final_stats=1 "$corpus" 2>&1 | tail -n 4
    rm -rf "$corpus"
  done
fi
echo "== all tests passed"
