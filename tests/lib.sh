# tests/lib.sh: the TAP helpers of the shell tests (tests/t_*.t), with one
# check counter and one failure counter. Source it first:
#
#   . "$(dirname "$0")/lib.sh"
#
#   ok STATUS "what"        one check; STATUS 0 passes (a command's $?)
#   is GOT EXPECTED "what"  one check: the strings are equal; both printed
#                           as comments when not
#   skip N "why"            N checks skipped (ok N # skip why)
#   skip_all "why"          no checks here at all: the plan 1..0 # skip why,
#                           exit 0 (before any check)
#   external N STATUS       N checks another program printed, numbered from
#                           TAP_N + 1 (pass it $TAP_N); STATUS non-zero
#                           counts as a failure
#   diag FILE...            the files' lines as comments
#   note "text"             one comment line
#   done_testing            the plan 1..N last; exits 1 when any check failed
#
# TAP_N is the number of checks so far, TAP_FAILED of failed ones. The test
# ends with done_testing (the plan comes last, which prove accepts).
#
#   npy FILE DESCR SHAPE BYTES  writes a .npy file (v1.0 header, printf
#                               escapes in BYTES), for hand-made inputs

TAP_N=0
TAP_FAILED=0

ok() {
    TAP_N=$((TAP_N + 1))
    if [ "$1" = 0 ]; then
        echo "ok $TAP_N - $2"
    else
        echo "not ok $TAP_N - $2"
        TAP_FAILED=$((TAP_FAILED + 1))
    fi
}

is() {
    if [ "$1" = "$2" ]; then
        ok 0 "$3"
    else
        ok 1 "$3"
        echo "#   got:      $(echo "$1" | tr '\n' ' ')"
        echo "#   expected: $(echo "$2" | tr '\n' ' ')"
    fi
}

skip() {
    local i
    for ((i = 0; i < $1; i++)); do
        TAP_N=$((TAP_N + 1))
        echo "ok $TAP_N # skip $2"
    done
}

skip_all() {
    echo "1..0 # skip $1"
    exit 0
}

external() {
    TAP_N=$((TAP_N + $1))
    [ "$2" = 0 ] || TAP_FAILED=$((TAP_FAILED + 1))
}

diag() { sed 's/^/# /' "$@"; }

note() { echo "# $*"; }

done_testing() {
    echo "1..$TAP_N"
    [ "$TAP_FAILED" = 0 ] || exit 1
    exit 0
}

npy() {
    local h="{'descr': '$2', 'fortran_order': False, 'shape': $3, }"
    local len=$(((10 + ${#h} + 1 + 63) / 64 * 64 - 10))
    {
        printf '\x93NUMPY\x01\x00'
        printf "\\x$(printf %02x $((len & 255)))\\x$(printf %02x $((len >> 8)))"
        printf '%-*s\n' $((len - 1)) "$h"
        printf "$4"
    } >"$1"
}

# Pipeline runs: the stage log of a run is $log (set by the test, or by
# smoke_fixture). mark prints the number of the log's next line; ran N prints
# the stages logged from line N on, sorted (what a make call ran).
mark() { [ -f "$log" ] && echo $(( $(wc -l < "$log") + 1 )) || echo 1; }
ran() { tail -n +"$1" "$log" 2>/dev/null | sort; }

# smoke_fixture DIR BUILD REPO: the smoke data (BUILD/tests/gen_smoke) in
# DIR/data and DIR/smoke.yaml, pipelines/smoke.yaml pointed at it with one
# code length (16 bits); sets W (the run's work dir) and log.
smoke_fixture() {
    "$2/tests/gen_smoke" "$1/data"
    sed "s|path: work/smoke-data|path: $1/data|; s|bits: \[16, 32\]|bits: [16]|" "$3/pipelines/smoke.yaml" > "$1/smoke.yaml"
    W=$1/work/smoke
    log=$W/stages.log
}
