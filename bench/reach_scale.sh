#!/usr/bin/env bash
# Whole-process `reach -o summary` at 10k, 50k and 150k pods: wall time and peak memory
# (maximum resident set size, from /usr/bin/time -v), median and range of several runs, for one
# binary or two side by side.
#
#   bench/reach_scale.sh [-n RUNS] [-d DIR] [-s "10000 50000 150000"] BINARY [OTHER_BINARY]
#
# The clusters come from gen_cluster (next to this script's build: build/release/bench/gen_cluster,
# or $GEN_CLUSTER) with its defaults (0.3 NetworkPolicies per pod), generated once into DIR
# (default /tmp/stockade-scale; the 150k dump is about 0.9 GB and takes minutes) and reused.
# Runs alternate between the binaries so that load from other processes falls on both alike.
set -euo pipefail

runs=5
dir=/tmp/stockade-scale
sizes="10000 50000 150000"
while getopts "n:d:s:" opt; do
  case $opt in
    n) runs=$OPTARG ;;
    d) dir=$OPTARG ;;
    s) sizes=$OPTARG ;;
    *) exit 2 ;;
  esac
done
shift $((OPTIND - 1))
if [ $# -lt 1 ] || [ $# -gt 2 ]; then
  sed -n '2,11p' "$0" >&2
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
printf "%-8s %-10s %-22s %-24s %s\n" pods binary "wall s: median [range]" "peak MB: median [range]" summary
for pods in $sizes; do
  file=$dir/cluster-$pods.json
  if [ ! -s "$file" ]; then
    "$gen" --pods "$pods" --out "$file.tmp" 2>/dev/null
    mv "$file.tmp" "$file"
  fi
  declare -A wall=() peak=() answer=()
  for ((r = 0; r < runs; r++)); do
    for i in "${!bins[@]}"; do
      log=$(mktemp)
      out=$(/usr/bin/time -v -o "$log" "${bins[$i]}" reach -f "$file" -o summary)
      w=$(awk -F': ' '/Elapsed \(wall clock\)/ { n = split($2, t, ":"); s = 0
            for (j = 1; j <= n; j++) s = s * 60 + t[j]; print s }' "$log")
      p=$(awk -F': ' '/Maximum resident set size/ { printf "%d", $2 / 1024 }' "$log")
      rm -f "$log"
      wall[$i]+="$w"$'\n'
      peak[$i]+="$p"$'\n'
      answer[$i]=$out
    done
  done
  for i in "${!bins[@]}"; do
    printf "%-8s %-10s %-22s %-24s %s\n" "$pods" "$((i + 1))" \
      "$(printf %s "${wall[$i]}" | sed '/^$/d' | stats)" \
      "$(printf %s "${peak[$i]}" | sed '/^$/d' | stats)" "${answer[$i]}"
  done
  unset wall peak answer
done
