#!/bin/bash
# parallel-goals.sh PLAN UPSTREAM WHAT GOAL...: make UPSTREAM of PLAN once
# (the shared ingest, features, W0: concurrent goals never build it twice),
# then every GOAL as one GNU parallel job, DSAH_JOBS at a time with
# nproc / DSAH_JOBS threads each (DSAH_SSHLOGINFILE spreads them over
# machines that share the work folder). WHAT names them in the message.
# Used by make sweep (sweep.sh) and make report (report-run.sh).
set -euo pipefail
plan=$1 upstream=$2 what=$3
shift 3
MAKE=${MAKE:-make}
jobs=${DSAH_JOBS:-$(nproc)}
# the goals run as independent makes: no jobserver from the calling make
unset MAKEFLAGS MFLAGS MAKELEVEL MAKEFILES
"$MAKE" --no-print-directory -f "$plan" "$upstream"
[ $# -gt 0 ] || exit 0
threads=$(( $(nproc) / jobs ))
[ "$threads" -ge 1 ] || threads=1
popts=(-j "$jobs" --halt soon,fail=1 --line-buffer)
if [ -n "${DSAH_SSHLOGINFILE:-}" ]; then
  popts+=(--sshloginfile "$DSAH_SSHLOGINFILE" --workdir "$PWD")
fi
echo "$what: $# runs, $jobs at a time, $threads threads each" >&2
parallel "${popts[@]}" "$MAKE" --no-print-directory -f "$plan" THREADS="$threads" {} ::: "$@"
