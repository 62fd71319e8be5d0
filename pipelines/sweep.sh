#!/bin/bash
# sweep.sh RUNDIR: run every sweep point of RUNDIR/plan.mk with GNU parallel
# (DSAH_JOBS jobs; DSAH_SSHLOGINFILE spreads them over machines that share the
# work folder), then write RUNDIR/results.csv, results.md and one gamma x tau
# heatmap of mAP@5000 per code length (heatmap-b<L>.png/.svg).
set -euo pipefail
d=$1
plan=$d/plan.mk
here=$(cd "$(dirname "$0")" && pwd)
MAKE=${MAKE:-make}
jobs=${DSAH_JOBS:-$(nproc)}
# the points run as independent makes: no jobserver from the calling make
unset MAKEFLAGS MFLAGS MAKELEVEL MAKEFILES
# The shared upstream (ingest, features, W0) once, before the points, so that
# concurrent points never build it twice.
"$MAKE" --no-print-directory -f "$plan" sweep-upstream
mapfile -t points < <(awk -F'\t' '$1=="sweep"{print $2}' "$d/index.tsv")
[ ${#points[@]} -gt 0 ] || { echo "sweep: no grid points in $d/index.tsv" >&2; exit 1; }
threads=$(( $(nproc) / jobs ))
[ "$threads" -ge 1 ] || threads=1
popts=(-j "$jobs" --halt soon,fail=1 --line-buffer)
if [ -n "${DSAH_SSHLOGINFILE:-}" ]; then
  popts+=(--sshloginfile "$DSAH_SSHLOGINFILE" --workdir "$PWD")
fi
echo "sweep: ${#points[@]} runs, $jobs at a time, $threads threads each" >&2
parallel "${popts[@]}" "$MAKE" --no-print-directory -f "$plan" THREADS="$threads" sweep-{} ::: "${points[@]}"
"$here/collect.sh" "$d" sweep "$d/results.csv"
"$here/csv2md.sh" "$d/results.csv" > "$d/results.md.tmp.$$" && mv "$d/results.md.tmp.$$" "$d/results.md"
cat "$d/results.md"
"$here/heatmap.sh" "$d" "mAP@5000"
