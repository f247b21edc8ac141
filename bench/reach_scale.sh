#!/usr/bin/env bash
# Whole-process `reach -o summary` at 10k, 50k and 150k pods: wall time, CPU time (user + sys,
# all threads) and peak memory (maximum resident set size), from /usr/bin/time -v, median and
# range of several runs, for one binary or two side by side.
#
#   bench/reach_scale.sh [-n RUNS] [-d DIR] [-s "10000 50000 150000"] [-g "--slim"] BINARY [OTHER]
#
# The clusters come from gen_cluster (next to this script's build: build/release/bench/gen_cluster,
# or $GEN_CLUSTER) with its defaults (0.3 NetworkPolicies per pod) and the arguments of -g,
# generated once into DIR (default /tmp/stockade-scale) and reused. The default dump is ~6 KB
# per pod (0.9 GB at 150k, minutes to generate); `-g --slim` gives ~1.7 KB per pod, the shape of
# `kubectl get pods,deployments,networkpolicies -o json` for small pod specs (no ReplicaSets).
# Runs alternate between the binaries (each first in turn) so that load from other processes
# falls on both alike; on a shared machine compare CPU time: wall time also counts what the
# other processes take. "crit s" is what `reach -v` reports of its main thread: its CPU time
# plus its waits for the second thread (the wall time the phases would take on an idle
# two-core machine, without the process's start and exit); "-" for a binary that prints none.
set -euo pipefail

runs=5
dir=/tmp/stockade-scale
sizes="10000 50000 150000"
gen_args=""
while getopts "n:d:s:g:" opt; do
  case $opt in
    n) runs=$OPTARG ;;
    d) dir=$OPTARG ;;
    s) sizes=$OPTARG ;;
    g) gen_args=$OPTARG ;;
    *) exit 2 ;;
  esac
done
shift $((OPTIND - 1))
if [ $# -lt 1 ] || [ $# -gt 2 ]; then
  sed -n '2,15p' "$0" >&2
  exit 2
fi
bins=("$@")
here=$(cd "$(dirname "$0")/.." && pwd)
gen=${GEN_CLUSTER:-$here/build/release/bench/gen_cluster}
[ -x /usr/bin/time ] || { echo "reach_scale.sh: /usr/bin/time (GNU time) is required" >&2; exit 2; }
[ -x "$gen" ] || { echo "reach_scale.sh: no gen_cluster at $gen (set GEN_CLUSTER)" >&2; exit 2; }
mkdir -p "$dir"

# median and range of a list of numbers, one per line
stats() { sort -g | awk '{ v[NR] = $1 } END {
  m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
  printf "%s [%s-%s]", m, v[1], v[NR] }'; }

echo "# $(date -u +%FT%TZ) $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg), $runs runs"
for i in "${!bins[@]}"; do echo "# binary $((i + 1)): ${bins[$i]}"; done
# the dump's name: cluster-N.json, or cluster-N-slim.json for -g --slim
suffix=$(printf %s "$gen_args" | tr -cs 'a-zA-Z0-9' '-' | sed 's/^-*//; s/-*$//')
printf "%-8s %-7s %-22s %-22s %-22s %-24s %s\n" pods binary "wall s: median [range]" \
  "cpu s: median [range]" "crit s: median [range]" "peak MB: median [range]" summary
for pods in $sizes; do
  file=$dir/cluster-$pods${suffix:+-$suffix}.json
  if [ ! -s "$file" ]; then
    # shellcheck disable=SC2086 # the generator's arguments, split on purpose
    "$gen" --pods "$pods" $gen_args --out "$file.tmp" 2>/dev/null
    mv "$file.tmp" "$file"
  fi
  echo "# $file ($(($(stat -L -c %s "$file") / 1000000)) MB), load average $(cut -d' ' -f1-3 /proc/loadavg)"
  declare -A wall=() cpu=() crit=() peak=() answer=()
  for ((r = 0; r < runs; r++)); do
    order=("${!bins[@]}")
    if ((r % 2)); then mapfile -t order < <(printf '%s\n' "${order[@]}" | tac); fi
    for i in "${order[@]}"; do
      log=$(mktemp)
      vlog=$(mktemp)
      out=$(/usr/bin/time -v -o "$log" "${bins[$i]}" reach -f "$file" -o summary -v 2>"$vlog")
      c=$(sed -n 's/.* \([0-9.]*\) s on this thread, \([0-9.]*\) s waiting.*/\1 \2/p' "$vlog" |
        awk 'END { if (NR) printf "%.2f", $1 + $2 }')
      rm -f "$vlog"
      w=$(awk -F': ' '/Elapsed \(wall clock\)/ { n = split($2, t, ":"); s = 0
            for (j = 1; j <= n; j++) s = s * 60 + t[j]; print s }' "$log")
      u=$(awk -F': ' '/User time|System time/ { s += $2 } END { printf "%.2f", s }' "$log")
      p=$(awk -F': ' '/Maximum resident set size/ { printf "%d", $2 / 1024 }' "$log")
      rm -f "$log"
      wall[$i]+="$w"$'\n'
      cpu[$i]+="$u"$'\n'
      crit[$i]+="${c:--}"$'\n'
      peak[$i]+="$p"$'\n'
      answer[$i]=$out
    done
  done
  for i in "${!bins[@]}"; do
    printf "%-8s %-7s %-22s %-22s %-22s %-24s %s\n" "$pods" "$((i + 1))" \
      "$(printf %s "${wall[$i]}" | sed '/^$/d' | stats)" \
      "$(printf %s "${cpu[$i]}" | sed '/^$/d' | stats)" \
      "$(printf %s "${crit[$i]}" | sed '/^$/d; /^-$/d' | stats)" \
      "$(printf %s "${peak[$i]}" | sed '/^$/d' | stats)" "${answer[$i]}"
  done
  unset wall cpu crit peak answer
done
