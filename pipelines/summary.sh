#!/bin/bash
# summary.sh RUNDIR: after make pipeline, the table of the run's metrics for
# DSAH and the baselines at each code length: mAP@K for each eval.topk and
# P@N for each eval.precision_at, in the order of metrics.json (the first
# one found names the columns), and n+ / F_w of W0 (graph/stats.json). Also
# written to RUNDIR/summary.md.
set -euo pipefail
d=$1
here=$(cd "$(dirname "$0")" && pwd)
. "$here/jsonget.sh"
out=$d/summary.md
cols=()
while IFS=$'\t' read -r kind label bits gamma tau dir; do
  [ "$kind" = main ] && [ -f "$dir/eval/metrics.json" ] || continue
  mapfile -t cols < <(jq -r 'keys_unsorted[] | select(test("^(mAP|P)@"))' "$dir/eval/metrics.json")
  break
done < "$d/index.tsv"
[ ${#cols[@]} -gt 0 ] || cols=(mAP@5000 mAP@1000 P@100)  # nothing evaluated yet
{
  echo "## $(basename "$d")"
  echo
  head="| method | bits |" rule="| --- | --- |"
  for c in "${cols[@]}"; do head="$head $c |" rule="$rule --- |"; done
  echo "$head"
  echo "$rule"
  while IFS=$'\t' read -r kind label bits gamma tau dir; do
    [ "$kind" = main ] || continue
    m=$dir/eval/metrics.json
    row="| $label | $bits |"
    if [ -f "$m" ]; then
      for c in "${cols[@]}"; do row="$row $(fmt4 "$(jget "$m" "$c")") |"; done
    else
      row="$row not run |"
      for ((i = 1; i < ${#cols[@]}; i++)); do row="$row |"; done
    fi
    echo "$row"
  done < "$d/index.tsv"
  s=$d/graph/stats.json
  if [ -f "$s" ]; then
    echo
    echo "W0 ($s): n+ = $(jget "$s" n_plus_w0), F_w = $(fmt4 "$(jget "$s" f_w_w0)")"
  fi
} > "$out.tmp.$$"
mv "$out.tmp.$$" "$out"
cat "$out"
