#!/bin/bash
# t_ingest.t: dsah-ingest and dsah-features through the real binaries, on
# fixtures written by `t_ingest --gen` (IDX files and a cifar-10-binary.tar.gz
# in the real layout): good runs are complete and byte-identical when
# repeated; every bad input exits non-zero with one error line naming the file
# and the problem, and leaves no output file behind.
set -u
. "$(dirname "$0")/lib.sh"
BIN=${DSAH_BIN:?DSAH_BIN not set}
BUILD=${DSAH_BUILD:?DSAH_BUILD not set}
tmp=${TMPDIR:-/tmp}/dsah_t_ingest_t.$$; rm -rf "$tmp"; mkdir -p "$tmp" || exit 1
trap 'rm -rf "$tmp"' EXIT

fx=$tmp/fx
"$BUILD/tests/t_ingest" --gen "$fx"
ok $? "fixtures generated"

# run_fail NAME EXPECT1 EXPECT2 -- args...: non-zero exit, stderr has both
# strings on the error line, the output dir holds no file.
run_fail() {
  local what=$1 e1=$2 e2=$3; shift 4
  local out=$tmp/out_fail
  rm -rf "$out"
  "$BIN/dsah-ingest" -q "$@" --out "$out" 2>"$tmp/err"
  local rc=$?
  local line; line=$(grep -m1 '^dsah-ingest: error: ' "$tmp/err")
  local leftover; leftover=$(ls -A "$out" 2>/dev/null)
  [ $rc -ne 0 ] && [[ $line == *"$e1"* ]] && [[ $line == *"$e2"* || $(cat "$tmp/err") == *"$e2"* ]] && [ -z "$leftover" ]
  local r=$?
  ok $r "$what: exit $rc, error names '$e1' and '$e2', no output left"
  [ $r = 0 ] || { diag "$tmp/err"; echo "# left: $leftover"; }
}

split=(--query 5 --train 10 --seed 1)

# ---- good runs -----------------------------------------------------------
"$BIN/dsah-ingest" -q --source mnist --path "$fx/mnist_gz" "${split[@]}" --out "$tmp/m1"
ok $? "mnist from gzipped IDX: exit 0"
all=1
for f in images labels query train db; do [ -s "$tmp/m1/$f.npy" ] || all=0; done
[ $all = 1 ] && [ -s "$tmp/m1/ingest.json" ]
ok $? "mnist: images, labels, query, train, db .npy and ingest.json written"
grep -q '"n": 34,' "$tmp/m1/ingest.json" && grep -q '"h": 5,' "$tmp/m1/ingest.json" && grep -q '"w": 4,' "$tmp/m1/ingest.json" \
  && grep -q '"nq": 5,' "$tmp/m1/ingest.json" && grep -q '"nt": 10,' "$tmp/m1/ingest.json" && grep -q '"ndb": 29,' "$tmp/m1/ingest.json"
ok $? "mnist: ingest.json has n 34, 5x4, nq 5, nt 10, ndb 29"
"$BIN/dsah-ingest" -q --source mnist --path "$fx/mnist_plain" "${split[@]}" --out "$tmp/m2"
ok $? "mnist from plain IDX: exit 0"
same=0
for f in images labels query train db; do cmp -s "$tmp/m1/$f.npy" "$tmp/m2/$f.npy" || same=1; done
ok $same "gzipped and plain IDX give byte-identical arrays (same seed)"
"$BIN/dsah-ingest" -q --source mnist --path "$fx/mnist_gz" --query 5 --train 10 --seed 2 --out "$tmp/m3"
! cmp -s "$tmp/m1/query.npy" "$tmp/m3/query.npy"
ok $? "another seed gives another query split"

"$BIN/dsah-ingest" -q --source cifar10 --path "$fx/cifar/cifar-10-binary.tar.gz" --query 3 --train 4 --seed 0 --out "$tmp/c1"
ok $? "cifar10 from the archive path: exit 0"
"$BIN/dsah-ingest" -q --source cifar10 --path "$fx/cifar" --query 3 --train 4 --seed 0 --out "$tmp/c2"
ok $? "cifar10 from the directory holding the archive: exit 0"
cmp -s "$tmp/c1/images.npy" "$tmp/c2/images.npy" && cmp -s "$tmp/c1/labels.npy" "$tmp/c2/labels.npy"
ok $? "cifar10: archive path and directory path give identical arrays"
grep -q '"n": 45,' "$tmp/c1/ingest.json" && grep -q '"c": 3,' "$tmp/c1/ingest.json" && grep -q '"airplane", "automobile"' "$tmp/c1/ingest.json"
ok $? "cifar10: ingest.json has n 45, c 3, class names from batches.meta.txt"

# ---- bad input -----------------------------------------------------------
run_fail "missing dataset dir" "$tmp/nowhere" "apt-get install dataset-fashion-mnist" -- \
  --source fashion-mnist --path "$tmp/nowhere" "${split[@]}"
mkdir -p "$tmp/empty"
run_fail "missing cifar archive" "cifar-10-binary.tar.gz" "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz" -- \
  --source cifar10 --path "$tmp/empty" "${split[@]}"
run_fail "missing cifar archive (hint)" "$tmp/empty/cifar-10-binary.tar.gz" "make fetch DATASET=cifar10" -- \
  --source cifar10 --path "$tmp/empty" "${split[@]}"
sz=$(stat -c %s "$fx/cifar/cifar-10-binary.tar.gz")
head -c $((sz / 2)) "$fx/cifar/cifar-10-binary.tar.gz" > "$tmp/cut.tar.gz"
run_fail "truncated cifar archive" "$tmp/cut.tar.gz" "truncated" -- \
  --source cifar10 --path "$tmp/cut.tar.gz" "${split[@]}"
run_fail "cifar archive without data_batch_4.bin" "cifar-10-binary.tar.gz" "cifar-10-batches-bin/data_batch_4.bin is missing" -- \
  --source cifar10 --path "$fx/cifar_no_batch4" "${split[@]}"
run_fail "cifar label out of range" "data_batch_3.bin" "item 0 has label 10, outside the classes 0..9" -- \
  --source cifar10 --path "$fx/cifar_bad_label" "${split[@]}"
run_fail "wrong IDX magic" "train-images-idx3-ubyte.gz" "bad IDX magic 0x00000804" -- \
  --source mnist --path "$fx/bad_magic" "${split[@]}"
run_fail "IDX label out of range" "t10k-labels-idx1-ubyte.gz" "item 4 has label 10, outside the classes 0..9" -- \
  --source mnist --path "$fx/bad_label" "${split[@]}"
# validation split: the same train, queries from db minus train, real queries nowhere
"$BIN/dsah-ingest" -q --source mnist --path "$fx/mnist_gz" "${split[@]}" --validation 6 --out "$tmp/mv"
ok $? "mnist with --validation 6: exit 0"
/usr/bin/python3 - "$tmp/m1" "$tmp/mv" <<'PY'
import sys, json, numpy as np
a, v = sys.argv[1], sys.argv[2]
L = lambda d, f: set(np.load(f"{d}/{f}.npy").tolist())
q, t, db = L(a, "query"), L(a, "train"), L(a, "db")
vq, vt, vdb = L(v, "query"), L(v, "train"), L(v, "db")
j = json.load(open(f"{v}/ingest.json"))
good = (vt == t and len(vq) == 6 and vq <= db - t and vdb == db - vq and not (q & (vq | vdb))
        and j["validation"] is True and j["left_out_test_queries"] == 5 and j["nq"] == 6 and j["ndb"] == 23)
sys.exit(0 if good else 1)
PY
ok $? "validation: train unchanged, 6 queries from db minus train, db minus them, no real query anywhere, ingest.json says so"
run_fail "validation with the other split's flag" "--validation-per-class" "goes with --query-per-class" -- \
  --source mnist --path "$fx/mnist_gz" "${split[@]}" --validation-per-class 1
run_fail "validation larger than db minus train" "split" "--validation 20 is more than the 19 database images" -- \
  --source mnist --path "$fx/mnist_gz" "${split[@]}" --validation 20

run_fail "IDX image/label count mismatch" "train-images-idx3-ubyte.gz" "23 images but train-labels-idx1-ubyte has 22 labels" -- \
  --source mnist --path "$fx/count_mismatch" "${split[@]}"
run_fail "split larger than a class (after the images were read)" "class" "fewer than --query-per-class 100" -- \
  --source mnist --path "$fx/mnist_gz" --query-per-class 100 --train-per-class 1 --seed 0
# a failing rerun into a directory with a complete earlier run leaves nothing
out=$tmp/out_fail; rm -rf "$out"; cp -r "$tmp/m1" "$out"
"$BIN/dsah-ingest" -q --source mnist --path "$fx/bad_label" "${split[@]}" --out "$out" 2>/dev/null
rc=$?
[ $rc -ne 0 ] && [ -z "$(ls -A "$out")" ]
ok $? "failed rerun over an earlier run's outputs: exit $rc, no output (old or new) left"
run_fail "both kinds of split" "--query-per-class" "two different splits" -- \
  --source mnist --path "$fx/mnist_gz" --query-per-class 1 --train-per-class 1 --query 3 --train 3 --seed 0
run_fail "no seed" "missing --seed" "" -- --source mnist --path "$fx/mnist_gz" --query 3 --train 3
run_fail "unknown source" "--source imagenet: must be one of" "" -- --source imagenet --path "$fx" "${split[@]}"

# ---- features ------------------------------------------------------------
"$BIN/dsah-features" -q --images "$tmp/m1/images.npy" --indices "$tmp/m1/db.npy" --extractor pixels --batch 7 --out "$tmp/f/pixels_db.npy"
ok $? "features pixels on the db split: exit 0"
fsz=$(stat -c %s "$tmp/f/pixels_db.npy" 2>/dev/null || echo 0)
hdr=$((fsz - 29 * 20 * 4))
[ $hdr -gt 0 ] && [ $((hdr % 64)) = 0 ] && [ $hdr -le 256 ]
ok $? "features: file holds a header and exactly 29 x 20 f4 values ($fsz bytes)"

feat_fail() {
  local what=$1 e=$2; shift 2
  rm -rf "$tmp/ff"
  "$BIN/dsah-features" -q "$@" --out "$tmp/ff/x.npy" 2>"$tmp/err"
  local rc=$?
  [ $rc -ne 0 ] && grep -q "^dsah-features: error: .*$e" "$tmp/err" && [ -z "$(ls -A "$tmp/ff" 2>/dev/null)" ]
  local r=$?
  ok $r "features $what: exit $rc, error says '$e', no output left"
  [ $r = 0 ] || diag "$tmp/err"
}
feat_fail "index out of range" "c1/db.npy: index .* is outside the 34 rows of .*images.npy" \
  --images "$tmp/m1/images.npy" --indices "$tmp/c1/db.npy" --extractor pixels
feat_fail "vgg19 without --weights" "needs --weights" \
  --images "$tmp/m1/images.npy" --indices "$tmp/m1/db.npy" --extractor vgg19
feat_fail "indices of the wrong dtype" "labels.npy" \
  --images "$tmp/m1/images.npy" --indices "$tmp/m1/labels.npy" --extractor pixels

done_testing
