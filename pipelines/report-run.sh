#!/bin/bash
# report-run.sh RUNDIR: make report. Runs what the report needs (RUNDIR/plan.mk,
# goal 'report'; existing artifacts are reused, a killed run resumes), then
# writes the page (pipelines/report.sh). The shared upstream (ingest,
# features, W0) is built once; then every run directory of the report is
# one GNU parallel job (DSAH_JOBS at a time; DSAH_SSHLOGINFILE spreads them
# over machines sharing the work folder), as make sweep does; then the rest
# (t-SNE, batch pairs, search, montages) with make -j.
set -euo pipefail
d=$1
plan=$d/plan.mk
here=$(cd "$(dirname "$0")" && pwd)
MAKE=${MAKE:-make}
jobs=${DSAH_JOBS:-$(nproc)}
unset MAKEFLAGS MFLAGS MAKELEVEL MAKEFILES
"$MAKE" --no-print-directory -f "$plan" report-upstream
read -r -a units <<< "$(sed -n 's/^REPORT_UNITS := *//p' "$plan")"
threads=$(( $(nproc) / jobs ))
[ "$threads" -ge 1 ] || threads=1
if [ ${#units[@]} -gt 0 ]; then
  popts=(-j "$jobs" --halt soon,fail=1 --line-buffer)
  [ -n "${DSAH_SSHLOGINFILE:-}" ] && popts+=(--sshloginfile "$DSAH_SSHLOGINFILE" --workdir "$PWD")
  echo "report: ${#units[@]} run directories, $jobs at a time, $threads threads each" >&2
  parallel "${popts[@]}" "$MAKE" --no-print-directory -f "$plan" THREADS="$threads" unit-{} ::: "${units[@]}"
fi
"$MAKE" --no-print-directory -j "$jobs" -f "$plan" report
"$here/report.sh" "$d"
