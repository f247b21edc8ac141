#!/bin/bash
# Times command lines with two binaries, alternating runs (old, new, old, new, ...), and prints
# the median wall time, CPU time (user + system) and peak resident memory of each side, and
# whether their stdout is
# the same: a side-by-side check that a change costs nothing. Noisy on a shared machine: give
# several runs and compare medians.
#
#   bench/ab_time.sh OLD_BINARY NEW_BINARY RUNS 'BIN reach -f x.yaml -o summary' ['BIN ...' ...]
#
# In each command line BIN stands for the binary; the line runs in a shell (pipes and
# redirections allowed), stderr to a file (not a terminal).
set -uo pipefail
old=$1 new=$2 runs=$3
shift 3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
median() { sort -n | awk '{a[NR]=$1} END {m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; printf "%.2f", m}'; }
for cmd in "$@"; do
  for f in old.wall old.cpu old.rss new.wall new.cpu new.rss; do : >"$tmp/$f"; done
  for _ in $(seq "$runs"); do
    for side in old new; do
      bin=${!side}
      /usr/bin/time -f "%e %U %S %M" -o "$tmp/t" bash -c "${cmd//BIN/$bin}" >"$tmp/out-$side" 2>"$tmp/err-$side"
      read -r wall user sys rss <"$tmp/t"
      echo "$wall" >>"$tmp/$side.wall"
      echo "$rss" | awk '{print $1 / 1024}' >>"$tmp/$side.rss"
      echo "$user $sys" | awk '{print $1 + $2}' >>"$tmp/$side.cpu"
    done
  done
  same=$(cmp -s "$tmp/out-old" "$tmp/out-new" && echo "stdout same" || echo "stdout DIFFERS")
  printf '%s\n  wall %s -> %s s, cpu %s -> %s s, peak %s -> %s MiB (medians of %d), %s\n' "$cmd" \
    "$(median <"$tmp/old.wall")" "$(median <"$tmp/new.wall")" \
    "$(median <"$tmp/old.cpu")" "$(median <"$tmp/new.cpu")" \
    "$(median <"$tmp/old.rss")" "$(median <"$tmp/new.rss")" "$runs" "$same"
done
