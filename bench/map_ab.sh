#!/bin/bash
# Times `stockade map -o json` for several binaries in turn (the order alternates each round),
# so that a virtual machine whose speed drifts treats them alike. Prints each binary's wall
# times and CPU times (user + system, all threads), each sorted, and its peak memory.
#
#   bench/map_ab.sh ROUNDS CLUSTER FLOWS BINARY...
#   bench/map_ab.sh 8 /tmp/c3k.json /tmp/f1m.json build/release/stockade /tmp/stockade-old
set -euo pipefail
rounds=$1 cluster=$2 flows=$3
shift 3
log=$(mktemp)
trap 'rm -f "$log"' EXIT
for i in $(seq "$rounds"); do
  if [ $((i % 2)) -eq 0 ]; then bins=$(printf '%s\n' "$@" | tac); else bins=$(printf '%s\n' "$@"); fi
  for bin in $bins; do
    /usr/bin/time -a -o "$log" -f "$bin %e %M %U %S" "$bin" map -f "$cluster" --flows "$flows" -o json >/dev/null
  done
done
sort -k1,1 -k2,2n "$log" | awk '{t[$1] = t[$1] " " $2; m[$1] = $3}
  END {for (b in t) printf "%s: wall s%s; peak %d MB\n", b, t[b], m[b] / 1024}'
awk '{printf "%s %.2f\n", $1, $4 + $5}' "$log" | sort -k1,1 -k2,2n |
  awk '{c[$1] = c[$1] " " $2} END {for (b in c) printf "%s: cpu s%s\n", b, c[b]}'
