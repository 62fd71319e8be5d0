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
read -r -a units <<< "$(sed -n 's/^REPORT_UNITS := *//p' "$plan")"
"$here/parallel-goals.sh" "$plan" report-upstream report "${units[@]/#/unit-}"
unset MAKEFLAGS MFLAGS MAKELEVEL MAKEFILES
# the rest, as many rules at once as units, with as many threads each as a
# unit had (more would oversubscribe the cores)
jobs=${DSAH_JOBS:-$(nproc)}
threads=$(( $(nproc) / jobs ))
[ "$threads" -ge 1 ] || threads=1
"${MAKE:-make}" --no-print-directory -j "$jobs" -f "$plan" THREADS="$threads" report
"$here/report.sh" "$d"
