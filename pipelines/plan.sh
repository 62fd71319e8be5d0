#!/bin/bash
# plan.sh: run dsah-plan with what make passes in DSAH_* environment variables
# (PIPELINE, WORK, BIN, STAGE_BIN, GAMMA, TAU, BITS, SET); prints the run directory.
# Values travel as separate arguments, never through a shell command line.
set -euo pipefail
set -f   # no globbing of SET words
bin=${DSAH_BINDIR:-bin}
args=(--config "${DSAH_PIPELINE:?}" --work "${DSAH_WORK:-work}" --bin "${DSAH_STAGE_BIN:-$bin}")
[ -n "${DSAH_GAMMA:-}" ] && args+=(--set "sweep.gamma=$DSAH_GAMMA")
[ -n "${DSAH_TAU:-}" ] && args+=(--set "sweep.tau=$DSAH_TAU")
[ -n "${DSAH_BITS:-}" ] && args+=(--set "sweep.bits=$DSAH_BITS")
read -r -a sets <<< "${DSAH_SET:-}"
for s in "${sets[@]}"; do args+=(--set "$s"); done
exec "$bin/dsah-plan" "${args[@]}"
