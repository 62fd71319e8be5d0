#!/bin/bash
# t_baseline.t: dsah-baseline on tiny hand-made .npy files: a valid LSH run
# (codes of the right shape), then bad inputs, each of which must exit
# non-zero with one error line and leave no output behind.
set -u
. "$(dirname "$0")/lib.sh"
BIN=${DSAH_BIN:-$(dirname "$0")/../bin}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
f4() { local s=""; for v in "$@"; do s="$s$v"; done; echo "$s"; }
ONE='\x00\x00\x80\x3f'; TWO='\x00\x00\x00\x40'; ZERO='\x00\x00\x00\x00'; NAN='\x00\x00\xc0\x7f'
npy "$T/x.npy" '<f4' '(3, 2)' "$(f4 $ONE $ZERO $ZERO $ONE $TWO $TWO)"
npy "$T/x3.npy" '<f4' '(1, 3)' "$(f4 $ONE $ZERO $ONE)"
npy "$T/xnan.npy" '<f4' '(1, 2)' "$(f4 $ONE $NAN)"

"$BIN/dsah-baseline" -q --method lsh --bits 16 --train "$T/x.npy" --query "$T/x.npy" --db "$T/x.npy" --seed 1 --out "$T/good"
ok $? "lsh 16 bits on 3x2: exit 0"
[ "$(stat -c %s "$T/good/db.npy")" = $((128 + 3 * 2)) ] && grep -q '"method": "lsh"' "$T/good/baseline.json"
ok $? "lsh: db.npy holds 3 codes of 2 bytes; baseline.json written"

bad() {
  local name=$1 pat=$2; shift 2
  local out="$T/out_$TAP_N"
  "$BIN/dsah-baseline" "$@" --out "$out" 2> "$T/err"
  local rc=$?
  ok $([ $rc -ne 0 ] && echo 0 || echo 1) "$name: exit $rc"
  ok $([ "$(wc -l < "$T/err")" = 1 ] && grep -q "^dsah-baseline: error: .*$pat" "$T/err" && echo 0 || echo 1) \
    "$name: one error line: $(head -c 160 "$T/err")"
  ok $([ ! -e "$out" ] && echo 0 || echo 1) "$name: no output"
}
# a small clustered set: 200 x 16 in 4 clusters
/usr/bin/python3 - "$T" <<'PY'
import sys, numpy as np
r = np.random.default_rng(1)
c = r.standard_normal((4, 16)) * 3
np.save(sys.argv[1] + "/c.npy", (c[r.integers(0, 4, 200)] + r.standard_normal((200, 16))).astype(np.float32))
PY
bad "itq with bits > feature dimension" "$T/x.npy: itq needs --bits <= the feature dimension" \
  --method itq --bits 8 --train "$T/x.npy" --query "$T/x.npy" --db "$T/x.npy" --seed 1
bad "bits not a multiple of 8" "--bits 12: must be a multiple of 8" \
  --method lsh --bits 12 --train "$T/x.npy" --query "$T/x.npy" --db "$T/x.npy" --seed 1
bad "query of another dimension" "$T/x3.npy" \
  --method lsh --bits 8 --train "$T/x.npy" --query "$T/x3.npy" --db "$T/x.npy" --seed 1
bad "NaN in the db features" "$T/xnan.npy: element 1 is NaN" \
  --method lsh --bits 8 --train "$T/x.npy" --query "$T/x.npy" --db "$T/xnan.npy" --seed 1
bad "unknown method" "--method pca: must be one of lsh|itq|sh|agh1|agh2|sp|sgh" \
  --method pca --bits 8 --train "$T/x.npy" --query "$T/x.npy" --db "$T/x.npy" --seed 1
bad "agh with anchors >= n" "$T/c.npy: agh1 needs --anchors < the training rows, but anchors 200 >= n 200" \
  --method agh1 --bits 8 --anchors 200 --train "$T/c.npy" --query "$T/c.npy" --db "$T/c.npy" --seed 1
bad "agh2 with bits/2 >= anchors" "agh2: --bits 16 needs 8 eigenvectors of the anchor graph, more than --anchors 8 - 1" \
  --method agh2 --bits 16 --anchors 8 --train "$T/x.npy" --query "$T/x.npy" --db "$T/x.npy" --seed 1
bad "sp with bits > feature dimension" "$T/x.npy: sp needs --bits <= the feature dimension" \
  --method sp --bits 8 --train "$T/x.npy" --query "$T/x.npy" --db "$T/x.npy" --seed 1
bad "sp density out of range" "--density 1.5: must be in (0, 1]" \
  --method sp --bits 8 --density 1.5 --train "$T/x.npy" --query "$T/x.npy" --db "$T/x.npy" --seed 1
# every method runs end to end on it (codes of the right size)
for m in sh agh1 agh2 sp sgh; do
  "$BIN/dsah-baseline" -q --method $m --bits 16 --anchors 30 --train "$T/c.npy" --query "$T/c.npy" --db "$T/c.npy" --seed 2 --out "$T/m_$m"
  ok $? "$m 16 bits on 200 x 16: exit 0"
  [ "$(stat -c %s "$T/m_$m/db.npy")" = $((128 + 200 * 2)) ] && grep -q "\"method\": \"$m\"" "$T/m_$m/baseline.json"
  ok $? "$m: db.npy holds 200 codes of 2 bytes; baseline.json names the method"
done
done_testing
