#!/bin/bash
# collect.sh RUNDIR KIND[,KIND...] OUT.csv
# One CSV row per run of the given kinds in RUNDIR/index.tsv (written by
# dsah-plan): kind,label,bits,gamma,tau, then every mAP@K and P@N key of
# the runs' eval/metrics.json (columns from the first run that has one).
set -euo pipefail
d=$1 kinds=$2 out=$3
here=$(dirname "$0")
. "$here/jsonget.sh"
cols=""
while IFS=$'\t' read -r kind label bits gamma tau dir; do
  [ "$kind" = kind ] && continue
  m=$dir/eval/metrics.json
  if [ -f "$m" ]; then
    cols=$(jq -r 'keys_unsorted[] | select(test("^(mAP|P)@"))' "$m" | paste -sd' ')
    break
  fi
done < "$d/index.tsv"
tmp=$out.tmp.$$
{
  printf 'kind,label,bits,gamma,tau'
  for c in $cols; do printf ',%s' "$c"; done
  printf '\n'
  while IFS=$'\t' read -r kind label bits gamma tau dir; do
    [ "$kind" = kind ] && continue
    case ",$kinds," in *",$kind,"*) ;; *) continue ;; esac
    printf '%s,%s,%s,%s,%s' "$kind" "$label" "$bits" "$gamma" "$tau"
    for c in $cols; do printf ',%s' "$(jget "$dir/eval/metrics.json" "$c")"; done
    printf '\n'
  done < "$d/index.tsv"
} > "$tmp"
mv "$tmp" "$out"
