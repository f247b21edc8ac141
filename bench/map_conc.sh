#!/bin/bash
# Runs `stockade map -o json` with two binaries at the same time, ROUNDS times, and prints the
# ratio of their CPU times (user + system) per round and its median. A virtual machine whose
# speed drifts within seconds treats simultaneous runs alike, so the ratio is steadier than
# wall times taken one after another (bench/map_ab.sh).
#
#   bench/map_conc.sh ROUNDS CLUSTER FLOWS BINARY_A BINARY_B     (ratio: B / A)
set -euo pipefail
rounds=$1 cluster=$2 flows=$3 a=$4 b=$5
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
for _ in $(seq "$rounds"); do
  /usr/bin/time -o "$dir/a" -f "%U %S" "$a" map -f "$cluster" --flows "$flows" -o json >/dev/null &
  /usr/bin/time -o "$dir/b" -f "%U %S" "$b" map -f "$cluster" --flows "$flows" -o json >/dev/null &
  wait
  ca=$(awk '{print $1 + $2}' "$dir/a")
  cb=$(awk '{print $1 + $2}' "$dir/b")
  awk -v a="$ca" -v b="$cb" 'BEGIN {printf "%.4f  cpu A %.2f s, B %.2f s\n", b / a, a, b}'
done | sort -n | awk '{r[NR] = $1; print} END {printf "median B/A cpu %.3f\n", r[int((NR + 1) / 2)]}'
