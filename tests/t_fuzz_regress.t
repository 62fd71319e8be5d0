#!/bin/bash
# t_fuzz_regress.t: every fuzz target (tests/fuzz/fuzz_*.c), built with the
# plain compiler and tests/fuzz/driver.c (make test), on its seed corpus
# (tests/fuzz/make_seeds.py: valid files and the hostile inputs of issue 14)
# and on the saved crash inputs (tests/fuzz/regress/<target>/). A target
# checks its parser's result for consistency and aborts on a CHECK failure,
# so a crash, an abort or a sanitizer report (make test-asan) fails here.
set -u
. "$(dirname "$0")/lib.sh"
ROOT=$(cd "$(dirname "$0")/.." && pwd)
B=${DSAH_BUILD:-$ROOT/build}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
/usr/bin/python3 "$ROOT/tests/fuzz/make_seeds.py" "$T/seeds"
ok $? "seed corpus generated"
for src in "$ROOT"/tests/fuzz/fuzz_*.c; do
    t=$(basename "$src" .c); t=${t#fuzz_}
    files=("$T/seeds/$t"/*)
    [ -d "$ROOT/tests/fuzz/regress/$t" ] && files+=("$ROOT/tests/fuzz/regress/$t"/*)
    "$B/fuzz/fuzz_$t" "${files[@]}" > "$T/out" 2> "$T/err"
    rc=$?
    good=$(grep -c "^ok " "$T/out")
    ok $([ $rc = 0 ] && [ "$good" = ${#files[@]} ] && echo 0 || echo 1) \
        "fuzz_$t: ${#files[@]} inputs, $good passed (rc $rc)$( [ $rc = 0 ] || grep -m1 'ERROR\|error' "$T/err" | sed 's/^/: /')"
done
done_testing
