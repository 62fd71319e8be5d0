#!/bin/bash
# summary.sh RUNDIR: after make pipeline, the table of mAP@5000, mAP@1000 and
# P@100 for DSAH and the baselines at each code length, and n+ / F_w of W0
# (graph/stats.json). Also written to RUNDIR/summary.md.
set -euo pipefail
d=$1
here=$(cd "$(dirname "$0")" && pwd)
. "$here/jsonget.sh"
out=$d/summary.md
{
  echo "## $(basename "$d")"
  echo
  echo "| method | bits | mAP@5000 | mAP@1000 | P@100 |"
  echo "| --- | --- | --- | --- | --- |"
  while IFS=$'\t' read -r kind label bits gamma tau dir; do
    [ "$kind" = main ] || continue
    m=$dir/eval/metrics.json
    [ -f "$m" ] || { echo "| $label | $bits | not run | | |"; continue; }
    echo "| $label | $bits | $(fmt4 "$(jget "$m" mAP@5000)") | $(fmt4 "$(jget "$m" mAP@1000)") | $(fmt4 "$(jget "$m" P@100)") |"
  done < "$d/index.tsv"
  s=$d/graph/stats.json
  if [ -f "$s" ]; then
    echo
    echo "W0 ($s): n+ = $(jget "$s" n_plus_w0), F_w = $(fmt4 "$(jget "$s" f_w_w0)")"
  fi
} > "$out.tmp.$$"
mv "$out.tmp.$$" "$out"
cat "$out"
