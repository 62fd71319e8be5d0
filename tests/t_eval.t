#!/bin/bash
# t_eval.t: dsah-eval on tiny hand-made .npy files: a valid run, then bad
# inputs, each of which must exit non-zero with one error line naming the
# file and leave no output behind.
set -u
. "$(dirname "$0")/lib.sh"
BIN=${DSAH_BIN:-$(dirname "$0")/../bin}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

# npy FILE DESCR SHAPE PAYLOAD(printf escapes): a format 1.0 .npy file
i8() { local s=""; for v in "$@"; do s="$s\\x$(printf %02x "$v")\\x00\\x00\\x00\\x00\\x00\\x00\\x00"; done; echo "$s"; }

# the hand-worked case of t_eval.c: query 0x00 (A), db 0x01 A, 0x00 B, 0x03 A, 0x02 A
npy "$T/q.npy" '|u1' '(1, 1)' '\x00'
npy "$T/d.npy" '|u1' '(4, 1)' '\x01\x00\x03\x02'
npy "$T/lab.npy" '|u1' '(5, 2)' '\x01\x00\x01\x00\x00\x01\x01\x00\x01\x00'
npy "$T/qi.npy" '<i8' '(1,)' "$(i8 0)"
npy "$T/di.npy" '<i8' '(4,)' "$(i8 1 2 3 4)"
ARGS=(--query-codes "$T/q.npy" --db-codes "$T/d.npy" --labels "$T/lab.npy" --query-indices "$T/qi.npy" --db-indices "$T/di.npy")

"$BIN/dsah-eval" -q "${ARGS[@]}" --topk 2,all --precision-at 3 --pn-at 1,4 --out "$T/good"
ok $? "valid input: exit 0"
grep -q '"mAP@all": 0.638888889' "$T/good/metrics.json"; ok $? "valid input: mAP@all = 23/36"
grep -q '"mAP@2": 0.5,' "$T/good/metrics.json" && grep -q '"P@3": 0.666666667' "$T/good/metrics.json"
ok $? "valid input: mAP@2 = 1/2, P@3 = 2/3"
[ "$(sed -n 3p "$T/good/pr.csv")" = "1,0.666666667,0.666666667,1" ] && [ "$(wc -l < "$T/good/pr.csv")" = 10 ]
ok $? "valid input: pr.csv radius 1 row and 9 radii"
[ "$(cat "$T/good/pn.csv")" = "$(printf 'N,precision\n1,0\n4,0.75')" ]; ok $? "valid input: pn.csv"

# bad CASE-NAME FILE-EXPECTED-IN-MESSAGE ARGS...
bad() {
  local name=$1 file=$2; shift 2
  local out="$T/out_$TAP_N"
  "$BIN/dsah-eval" "$@" --out "$out" 2> "$T/err"
  local rc=$?
  ok $([ $rc -ne 0 ] && echo 0 || echo 1) "$name: exit $rc"
  ok $([ "$(wc -l < "$T/err")" = 1 ] && grep -q "^dsah-eval: error: .*$file" "$T/err" && echo 0 || echo 1) \
    "$name: one error line naming $(basename "$file"): $(head -c 160 "$T/err")"
  ok $([ ! -e "$out" ] || [ -z "$(ls -A "$out")" ] && echo 0 || echo 1) "$name: no output files"
}

npy "$T/q2.npy" '|u1' '(1, 2)' '\x00\x00'
bad "query and db codes of different lengths" "$T/q2.npy" --query-codes "$T/q2.npy" "${ARGS[@]:2}"
npy "$T/lab_short.npy" '|u1' '(3, 2)' '\x01\x00\x01\x00\x00\x01'
A=("${ARGS[@]}"); A[5]="$T/lab_short.npy"
bad "label rows fewer than the indices need" "$T/di.npy" "${A[@]}"
npy "$T/qi2.npy" '<i8' '(2,)' "$(i8 0 1)"
A=("${ARGS[@]}"); A[7]="$T/qi2.npy"
bad "query indices not matching the query codes" "$T/qi2.npy" "${A[@]}"
npy "$T/di_neg.npy" '<i8' '(4,)' "$(i8 1 2 3 4 | sed 's/^\\x01\\x00\\x00\\x00\\x00\\x00\\x00\\x00/\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xff/')"
A=("${ARGS[@]}"); A[9]="$T/di_neg.npy"
bad "negative db index" "$T/di_neg.npy" "${A[@]}"
npy "$T/d_i8.npy" '<i8' '(4, 1)' "$(i8 1 0 3 2)"
A=("${ARGS[@]}"); A[3]="$T/d_i8.npy"
bad "db codes of dtype i8" "$T/d_i8.npy" "${A[@]}"
npy "$T/qi_i4.npy" '<i4' '(1,)' '\x00\x00\x00\x00'
A=("${ARGS[@]}"); A[7]="$T/qi_i4.npy"
bad "query indices of dtype i4" "$T/qi_i4.npy" "${A[@]}"
npy "$T/lab2.npy" '|u1' '(5, 2)' '\x01\x00\x02\x00\x00\x01\x01\x00\x01\x00'
A=("${ARGS[@]}"); A[5]="$T/lab2.npy"
bad "label value 2" "$T/lab2.npy" "${A[@]}"
A=("${ARGS[@]}"); A[1]="$T/missing.npy"
bad "missing query codes file" "$T/missing.npy" "${A[@]}"

done_testing
