#!/bin/bash
# Runs every command line of LIST with two binaries and compares stdout, stderr (phase timings
# masked) and exit code, and the trees an --out-dir (written OUTDIR in LIST) leaves: a check
# that a refactoring changed no behaviour. Run from the repository's top.
#
#   bench/cli_ab.sh OLD_BINARY NEW_BINARY [LIST]      (LIST: bench/cli_ab_commands.txt)
set -uo pipefail
old=$1 new=$2 list=${3:-bench/cli_ab_commands.txt}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0 bad=0
while IFS= read -r cmd; do
  [ -z "$cmd" ] && continue
  n=$((n + 1))
  for side in old new; do
    bin=${!side}
    out=$(eval "$bin ${cmd//OUTDIR/$tmp/out-$side}" 2>"$tmp/err-$side"; echo "rc=$?")
    printf '%s' "$out" >"$tmp/out-$side.txt"
    sed -i "s|$tmp/out-$side|OUTDIR|g; s/[0-9.]* ms/X ms/g" "$tmp/err-$side"
  done
  cmp -s "$tmp/out-old.txt" "$tmp/out-new.txt" || { echo "stdout differs: $cmd"; bad=$((bad + 1)); }
  cmp -s "$tmp/err-old" "$tmp/err-new" || { echo "stderr differs: $cmd"; bad=$((bad + 1)); }
  if [ -d "$tmp/out-old" ] || [ -d "$tmp/out-new" ]; then
    diff -r "$tmp/out-old" "$tmp/out-new" >/dev/null || { echo "out-dir differs: $cmd"; bad=$((bad + 1)); }
  fi
  rm -rf "$tmp/out-old" "$tmp/out-new"
done <"$list"
echo "$n command lines, $bad differences"
[ "$bad" -eq 0 ]
