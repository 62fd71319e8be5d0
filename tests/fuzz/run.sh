#!/bin/bash
# run.sh TARGET...: run each fuzz target built by make fuzz for FUZZ_SECONDS
# seconds, one at a time, and write the figures to $FUZZ_BUILD/fuzz.tsv:
# target, seconds (wall clock), executions, crashes (crash/timeout/oom inputs saved),
# leaks (leak inputs saved, or "off" where the target catches die() by
# longjmp and so cannot check leaks), edges covered (libFuzzer's cov).
set -u
B=${FUZZ_BUILD:-build-fuzz}; S=${FUZZ_SECONDS:-60}
here=$(cd "$(dirname "$0")" && pwd)
tsv=$B/fuzz.tsv
printf "target\tseconds\texecutions\tcrashes\tleaks\tedges\tcorpus\n" > "$tsv"
fail=0
for t in "$@"; do
    c=$B/corpus/$t; a=$B/crashes/$t; mkdir -p "$c" "$a"
    # A target that catches die() by longjmp loses what the dying code held
    # (by design: a stage exits there), so it runs without leak detection and
    # in fork mode (-fork=1: a fresh child process per batch of inputs), lest
    # that memory pile up to the RSS limit in one long process.
    leaks=1; fork=
    grep -q FUZZ_TRY "$here/fuzz_$t.c" && { leaks=0; fork=-fork=1; }
    regress=$here/regress/$t; [ -d "$regress" ] || regress=
    log=$B/fuzz_$t.log
    echo "== fuzz_$t: $S s" >&2
    start=$(date +%s)
    "$B/bin/fuzz_$t" -max_total_time="$S" -timeout=20 -rss_limit_mb=2560 -close_fd_mask=3 -print_final_stats=1 \
        -detect_leaks=$leaks $fork -dict="$here/$t.dict" -artifact_prefix="$a/" "$c" "$B/seeds/$t" $regress > "$log" 2>&1
    rc=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    [ -n "$execs" ] || execs=$(grep -o '^#[0-9]*' "$log" | tail -1 | tr -d '#')   # fork mode
    secs=$(( $(date +%s) - start ))
    edges=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
    ncrash=$(ls "$a" | grep -c '^\(crash\|timeout\|oom\)-')
    nleak=$(ls "$a" | grep -c '^leak-')
    [ $leaks = 0 ] && nleak=off
    printf "%s\t%s\t%s\t%s\t%s\t%s\t%s\n" "$t" "$secs" "${execs:-?}" "$ncrash" "$nleak" "${edges:-?}" "$(ls "$c" | wc -l)" >> "$tsv"
    [ $rc = 0 ] || { fail=1; echo "fuzz_$t: exit $rc, see $log" >&2; grep -m3 "ERROR\|SUMMARY" "$log" >&2; }
done
column -t -s$'\t' "$tsv"
exit $fail
