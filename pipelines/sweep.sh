#!/bin/bash
# sweep.sh RUNDIR: run every sweep point of RUNDIR/plan.mk with GNU parallel
# (DSAH_JOBS jobs; DSAH_SSHLOGINFILE spreads them over machines that share the
# work folder), then write RUNDIR/results.csv, results.md and one gamma x tau
# heatmap of mAP@5000 per code length (heatmap-b<L>.png/.svg).
set -euo pipefail
d=$1
plan=$d/plan.mk
here=$(cd "$(dirname "$0")" && pwd)
mapfile -t points < <(awk -F'\t' '$1=="sweep"{print "sweep-" $2}' "$d/index.tsv")
[ ${#points[@]} -gt 0 ] || { echo "sweep: no grid points in $d/index.tsv" >&2; exit 1; }
"$here/parallel-goals.sh" "$plan" sweep-upstream sweep "${points[@]}"
"$here/collect.sh" "$d" sweep "$d/results.csv"
"$here/csv2md.sh" "$d/results.csv" > "$d/results.md.tmp.$$" && mv "$d/results.md.tmp.$$" "$d/results.md"
cat "$d/results.md"
"$here/heatmap.sh" "$d" "mAP@5000"
