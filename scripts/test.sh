#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine, builds Stockade and runs the whole test suite:
#  1. release build + all tests (ctest),
#  2. debug build with AddressSanitizer + UndefinedBehaviorSanitizer + all tests,
#  3. libFuzzer targets, each run briefly on its seed corpus (FUZZ_SECONDS, default 30).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh

jobs=$(nproc)
# Each phase is stamped with the seconds since the start: CI must stay under 60 minutes, and
# the log shows where the time goes.
phase() { echo "== $* (at ${SECONDS} s)"; }
# Where the agent's eBPF programs can load (root, kernel BTF), its kernel tests must run: a
# skip would hide a broken agent.
if [ "$(id -u)" -eq 0 ] && [ -r /sys/kernel/btf/vmlinux ]; then export STOCKADE_REQUIRE_BPF=1; fi
# The store's suite runs against a PostgreSQL server it starts (tests/store/temp_postgres.h):
# here a missing PostgreSQL is a failure, not a skip.
export STOCKADE_REQUIRE_POSTGRES=1
# The live tests' real kube-apiserver and etcd (tests/apiserver/), built from the upstream Go
# modules into build/apiserver (reused while go.mod/go.sum are unchanged), and helm for the
# chart's test (tests/helm/), into build/helm; a missing server is a failure here, not a skip.
# They build beside the C++ release build: much of a first Go build is downloading modules and
# linking one large binary, time in which the C++ build keeps the cores busy.
# Builds left in the background are stopped when the script ends (a failure before them).
trap 'kill $(jobs -p) 2>/dev/null || true' EXIT
in_background() {  # log, command...: runs the command with its output in log; its pid in bg_pid
  local log=$1
  shift
  "$@" >"$log" 2>&1 &
  bg_pid=$!
}
finish() {  # log, what: waits for bg_pid; shows the log's end, or all of it when it failed
  if ! wait "$bg_pid"; then
    cat "$1"
    echo "== $2 failed" >&2
    exit 1
  fi
  tail -n 4 "$1"
}
go_log=$(mktemp)
phase "kube-apiserver, etcd and helm for the live tests (beside the release build; log $go_log)"
in_background "$go_log" bash -c 'scripts/test-apiserver.sh build && scripts/test-helm.sh build'
export STOCKADE_REQUIRE_APISERVER=1
fuzz_seconds=${FUZZ_SECONDS:-30}

phase "release build"
cmake --preset release >/dev/null
cmake --build --preset release -j "$jobs"
phase "waiting for the Go builds"
finish "$go_log" "the Go builds for the live tests"
# The tests mostly wait on the servers and browsers they start (the cores are busy about 40% of
# a test run): the next build runs beside them at the lowest priority, taking only what the
# tests leave (docs/notes/ci.md).
phase "release tests (the ASan + UBSan debug build beside them)"
cmake --preset debug >/dev/null
debug_log=$(mktemp)
in_background "$debug_log" nice -n 19 cmake --build --preset debug -j "$jobs"
ctest --preset release -j "$jobs"
phase "debug build (ASan + UBSan), finishing"
finish "$debug_log" "the debug build"

fuzz_log=$(mktemp)
if [ "$fuzz_seconds" -gt 0 ]; then
  cmake --preset fuzz >/dev/null
  # Only the fuzz targets (and the libraries they link), not the whole project again.
  targets=$(cd fuzz && ls ./*_fuzz.cc | sed 's|^\./||; s|\.cc$||' | tr '\n' ' ')
  # shellcheck disable=SC2086
  in_background "$fuzz_log" nice -n 19 cmake --build --preset fuzz -j "$jobs" --target $targets
  phase "debug tests (the fuzz targets' build beside them)"
else
  phase "debug tests"
fi
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --preset debug -j "$jobs"

if [ "$fuzz_seconds" -gt 0 ]; then
  phase "fuzz targets' build, finishing"
  finish "$fuzz_log" "the fuzz targets' build"
  phase "fuzzing (${fuzz_seconds}s per target)"
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
phase "all tests passed"
