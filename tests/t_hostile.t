#!/bin/bash
# t_hostile.t: the failures of issue 14 as regression tests, through the real
# binaries, on inputs made by tests/hostile_inputs.py. Each case asserts the
# exact exit status and first stderr line, and what is (not) left behind.
# The cases that used to allocate gigabytes from a header run under
# ulimit -v 1 GiB (not under AddressSanitizer, which reserves more), so an
# allocation sized by the lie fails them.
set -u
. "$(dirname "$0")/lib.sh"
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${DSAH_BIN:-$ROOT/bin}
PY=/usr/bin/python3
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
VMEM=1048576
[ -n "${DSAH_ASAN:-}" ] && VMEM=unlimited
# expect NAME RC FIRST_STDERR_LINE CMD...: exit status and first stderr line exact.
expect() {
    local name=$1 want_rc=$2 want_msg=$3; shift 3
    ( ulimit -v $VMEM; timeout 60 "$@" ) >"$T/out.txt" 2>"$T/err.txt"; local rc=$?
    local msg; msg=$(head -1 "$T/err.txt")
    if [ "$rc" = "$want_rc" ] && [ "$msg" = "$want_msg" ]; then ok 0 "$name (rc $rc)"
    else ok 1 "$name: rc $rc (want $want_rc), stderr: $msg"; echo "#   want: $want_msg"; fi
}
json_n() { sed -n 's/.*"n": *\([0-9]*\).*/\1/p' "$1" | head -1; }

$PY "$ROOT/tests/hostile_inputs.py" "$T/in"
ok $? "inputs generated"
H=$T/in
ING=("$BIN/dsah-ingest" --query 1 --train 1 --seed 1 --size 8 --threads 2)

# 1. FLICKR25K image number 2305843009213693952: 8 * (k + 1) wrapped to 8
expect "1: flickr25k image number near 2^61 is an ordinary image" 0 "" \
    "${ING[@]}" -q --source flickr25k --path "$H/c1-images.zip" --annotations "$H/c1-ann.zip" --out "$T/c1"
ok $([ "$(json_n "$T/c1/ingest.json")" = 2 ] && echo 0 || echo 1) "1: both images ingested"

# 2. .npy shape product overflowing (wrapped to 0 bytes)
expect "2: f4 (2^31, 2^31) refused by dsah-baseline" 1 \
    "dsah-baseline: error: $H/c2-shape.npy: shape overflows (the payload size does not fit in 64 bits)" \
    "$BIN/dsah-baseline" -q --method lsh --bits 8 --train "$H/c2-shape.npy" --query "$H/c2-shape.npy" \
    --db "$H/c2-shape.npy" --seed 1 --out "$T/c2b"
expect "2: f4 (2^30, 2^32) refused by dsah-graph" 1 \
    "dsah-graph: error: $H/c2-rows.npy: shape overflows (the payload size does not fit in 64 bits)" \
    "$BIN/dsah-graph" -q --features "$H/c2-rows.npy" --k1 2 --k2 2 --out "$T/c2g"
$PY -c "import numpy, sys; numpy.load(sys.argv[1], mmap_mode='r')" "$H/c2-shape.npy" 2>/dev/null
ok $([ $? != 0 ] && echo 0 || echo 1) "2: NumPy refuses the same file"

# 3. zip member names with non-ASCII characters (NULL name in the C locale)
expect "3: zip with café/a.jpg and thé/b.jpg" 0 "" \
    "${ING[@]}" -q --source folder --path "$H/c3-utf8.zip" --out "$T/c3"
grep -qF '"classes": [ "café", "thé" ]' "$T/c3/ingest.json"
ok $? "3: classes named café and thé"

# 4. decompression bombs: skipped by name before any pixel buffer
for c in "c4-bomb.zip a/bomb.jpg 20000x20000 is 400000000" "c4-bomb65500.zip a/bomb.jpg 65500x65500 is 4290250000" \
         "c4-pngbomb.zip a/bomb.png 20000x20000 is 400000000"; do
    set -- $c
    expect "4: $1: $3 refused" 0 \
        "dsah-ingest: warning: $H/$1: $2: $3 $4 $5 pixels, more than the limit of 178956970 (decompression bomb?); raise it with --limit pixels=N; skipped" \
        "${ING[@]}" -q --source folder --path "$H/$1" --out "$T/c4"
    ok $([ "$(json_n "$T/c4/ingest.json")" = 2 ] && echo 0 || echo 1) "4: $1: the two good images kept"
done
expect "4: --limit pixels=63 applies to --size 8" 1 \
    "dsah-ingest: error: --size 8: 8x8 is more than 63 pixels (the pixels limit)" \
    "${ING[@]}" -q --limit pixels=63 --source folder --path "$H/c4-bomb.zip" --out "$T/c4l"
expect "4: --limit with an unknown key" 1 \
    "dsah-ingest: error: --limit pixel=9: expected KEY=N with KEY one of pixels, members, member_bytes, model_params" \
    "${ING[@]}" --limit pixel=9 --source folder --path "$H/c4-bomb.zip" --out "$T/c4l"

# 5. allocations sized by untrusted numbers
expect "5: annotation line 2000000000 (was 1.96 GB)" 0 \
    "dsah-ingest: warning: $H/c5-images.zip: mirflickr/im2000000000.jpg: listed in animals.txt but absent from the image archive; skipped" \
    "${ING[@]}" -q --source flickr25k --path "$H/c5-images.zip" --annotations "$H/c5-ann-big.zip" --out "$T/c5a"
expect "5: annotation line 9223372036854775807 (signed overflow)" 0 \
    "dsah-ingest: warning: $H/c5-images.zip: mirflickr/im9223372036854775807.jpg: listed in animals.txt but absent from the image archive; skipped" \
    "${ING[@]}" -q --source flickr25k --path "$H/c5-images.zip" --annotations "$H/c5-ann-huge.zip" --out "$T/c5b"
expect "5: zip member declaring 4.2 GB" 1 \
    "dsah-ingest: error: $H/c5-zipsize.zip: member a/x.jpg is larger than 268435456 bytes (the member_bytes limit)" \
    "${ING[@]}" -q --source folder --path "$H/c5-zipsize.zip" --out "$T/c5c"
expect "5: CIFAR tar header declaring 999,999 records" 1 \
    "dsah-ingest: error: $H/c5-cifar.tar: truncated or corrupt archive in cifar-10-batches-bin/data_batch_1.bin (0 of 3072996927 bytes read): Truncated tar archive" \
    "$BIN/dsah-ingest" -q --source cifar10 --path "$H/c5-cifar.tar" --query 1 --train 1 --seed 1 --out "$T/c5d"
expect "5: IDX header declaring 99,999,999 labels" 1 \
    "dsah-ingest: error: $H/c5-idx/train-labels-idx1-ubyte: truncated: the labels need 99999999 bytes, the file ends after 3" \
    "$BIN/dsah-ingest" -q --source mnist --path "$H/c5-idx" --query 1 --train 1 --seed 1 --out "$T/c5e"
expect "5: model metadata conv3-4096,fc-8 at input 1024" 1 \
    "dsah-encode: error: $H/c5-model.safetensors: arch: 'fc-8' on a 4096x1024x1024 map: 4294967296 inputs, more than 2^31-1 (input 1024 is too large for this arch)" \
    "$BIN/dsah-encode" -q --model "$H/c5-model.safetensors" --images "$H/imgs.npy" --indices "$H/idx2.npy" --out "$T/c5f/codes.npy"
ok $([ ! -e "$T/c5f/codes.npy" ] && echo 0 || echo 1) "5: no codes written"
for d in c5c c5d c5e; do
    ok $([ -z "$(ls -A "$T/$d" 2>/dev/null)" ] && echo 0 || echo 1) "5: $d: nothing left behind"
done

# 6. repeated code lengths
expect "6: --set train.bits=[16,16]" 1 "dsah-plan: error: --set: train.bits: 16 is listed twice" \
    "$BIN/dsah-plan" -q --config "$ROOT/pipelines/smoke.yaml" --set 'train.bits=[16,16]' --work "$T/c6w" --out "$T/c6.mk"

# 7. make never expands $(...) in values from the command line or environment
make -s -C "$ROOT" help SET="\$(shell touch $T/F1)" GAMMA="\$(shell touch $T/F2)" TAU="\$(shell touch $T/F3)" \
    BITS="\$(shell touch $T/F4)" DATASET="\$(shell touch $T/F5)" >/dev/null 2>&1
SET="\$(shell touch $T/F6)" make -s -C "$ROOT" help >/dev/null 2>&1
ok $([ -z "$(ls "$T"/F* 2>/dev/null)" ] && echo 0 || echo 1) "7: make help SET='\$(shell touch F)' (and GAMMA, TAU, BITS, DATASET, env SET) creates nothing"

# 8. a temporary left by a killed run is removed by the rerun
mkdir -p "$T/c8"
dead=$(sh -c 'echo $$')
echo junk > "$T/c8/query.npy.tmp.$dead"
echo junk > "$T/c8/baseline.json.tmp.$dead"
expect "8: baseline rerun beside stale temporaries" 0 "" \
    "$BIN/dsah-baseline" -q --method lsh --bits 8 --train "$H/x.npy" --query "$H/x.npy" --db "$H/x.npy" --seed 1 --out "$T/c8"
ok $([ "$(cd "$T/c8" && ls | tr '\n' ' ')" = "baseline.json db.npy query.npy " ] && echo 0 || echo 1) \
    "8: the temporaries of dead pid $dead are gone"

# 9. a stage's outputs are committed together
mkdir -p "$T/c9/metrics.json"
expect "9: eval whose metrics.json cannot be committed" 1 \
    "dsah-eval: error: $T/c9/metrics.json: rename failed: Is a directory (no output of this stage was replaced)" \
    "$BIN/dsah-eval" -q --query-codes "$H/codes.npy" --db-codes "$H/codes.npy" --labels "$H/labels.npy" \
    --query-indices "$H/idx40.npy" --db-indices "$H/idx40.npy" --out "$T/c9"
ok $([ "$(cd "$T/c9" && ls | tr '\n' ' ')" = "metrics.json " ] && echo 0 || echo 1) "9: no pr.csv or pn.csv committed"
# disk full (a file size limit): nothing committed, nothing left
mkdir -p "$T/c9b"
(trap '' XFSZ; ulimit -f 1; "$BIN/dsah-eval" -q --query-codes "$H/codes.npy" --db-codes "$H/codes.npy" \
    --labels "$H/labels.npy" --query-indices "$H/idx40.npy" --db-indices "$H/idx40.npy" \
    --pn-at "$(seq -s, 1 40),$(seq -s, 1 40),$(seq -s, 1 40)" \
    --out "$T/c9b") 2>"$T/err9"
rc=$?
ok $([ $rc = 1 ] && grep -q "^dsah-eval: error: $T/c9b/pn.csv: write failed: File too large$" "$T/err9" && [ -z "$(ls -A "$T/c9b")" ] && echo 0 || echo 1) \
    "9: pn.csv over the file size limit: rc $rc, $(head -1 "$T/err9"), nothing left"

# 10. a FIFO as an input; a symlink at the temporary name
mkfifo "$T/fifo.npy"
expect "10: FIFO as --train does not block" 1 "dsah-baseline: error: $T/fifo.npy: not a regular file (a FIFO)" \
    "$BIN/dsah-baseline" -q --method lsh --bits 8 --train "$T/fifo.npy" --query "$H/x.npy" --db "$H/x.npy" --seed 1 --out "$T/c10"
expect "10: FIFO as --path of cifar10" 1 "dsah-ingest: error: $T/fifo.npy: not a regular file (a FIFO)" \
    "$BIN/dsah-ingest" -q --source cifar10 --path "$T/fifo.npy" --query 1 --train 1 --seed 1 --out "$T/c10i"
mkdir -p "$T/c10s"; echo keep > "$T/victim"
bash -c 'echo $$ > "$1/pid"; ln -s "$1/victim" "$1/c10s/query.npy.tmp.$$"; exec "$2" -q --method lsh --bits 8 --train "$3" --query "$3" --db "$3" --seed 1 --out "$1/c10s"' \
    _ "$T" "$BIN/dsah-baseline" "$H/x.npy" 2>"$T/err10"
rc=$?; pid=$(cat "$T/pid")
ok $([ $rc = 1 ] && [ "$(head -1 "$T/err10")" = "dsah-baseline: error: $T/c10s/query.npy.tmp.$pid: cannot create: File exists" ] && echo 0 || echo 1) \
    "10: symlink planted at query.npy.tmp.<pid> refused (rc $rc: $(head -1 "$T/err10"))"
ok $([ "$(cat "$T/victim")" = keep ] && echo 0 || echo 1) "10: the symlink's target is untouched"

# 11. symbolic links in a folder source: a cycle (cls_a/loop -> ..), a second
# link to a directory (cls_b/again -> ../cls_a), a link loop (cls_b/self ->
# self) and a dangling link. Before: the walk followed every link until the
# kernel's 40-link limit, a copy of the tree per level and link (no end).
F=$T/c11
mkdir -p "$F/cls_a" "$F/cls_b"
$PY - "$F" <<'PY'
import io, sys
from PIL import Image
for name, c in (("cls_a/1.jpg", (200, 30, 30)), ("cls_b/2.jpg", (30, 30, 200))):
    Image.new("RGB", (8, 8), c).save(f"{sys.argv[1]}/{name}", "JPEG", quality=90)
PY
ln -s .. "$F/cls_a/loop"; ln -s ../cls_a "$F/cls_b/again"; ln -s self "$F/cls_b/self"; ln -s nowhere "$F/dangling"
( ulimit -v $VMEM; timeout 60 "${ING[@]}" -q --source folder --path "$F" --out "$T/c11o" ) 2>"$T/err11"
rc=$?
printf '%s\n' \
  "dsah-ingest: warning: $F: cls_a/loop: a link to a directory already walked (a cycle, or a second link to it); skipped" \
  "dsah-ingest: warning: $F: cls_b/again: a link to a directory already walked (a cycle, or a second link to it); skipped" \
  "dsah-ingest: warning: $F: cls_b/self: Too many levels of symbolic links; skipped" \
  "dsah-ingest: warning: $F: dangling: No such file or directory; skipped" \
  "dsah-ingest: warning: $F: skipped 2 links to directories already walked (cycles or repeated links)" \
  "dsah-ingest: warning: $F: skipped 2 entries that cannot be followed (dangling links or link loops)" >"$T/want11"
ok $([ $rc = 0 ] && diff "$T/want11" "$T/err11" >&2 && echo 0 || echo 1) \
    "11: folder with a link cycle, a repeated link, a link loop and a dangling link ends (rc $rc), each skipped by name and counted"
ok $([ "$(json_n "$T/c11o/ingest.json")" = 2 ] && grep -qF '"classes": [ "cls_a", "cls_b" ]' "$T/c11o/ingest.json" && echo 0 || echo 1) \
    "11: the two images listed once each, classes cls_a and cls_b"

# 12. outputs committed together when one rename fails: an earlier run's
# outputs stay as they were (none replaced), for dsah-index, dsah-search and
# dsah-train; the second output's name is taken by a directory.
# same OLD_DIR NEW_DIR FILE...: each FILE identical in both directories.
same() { local a=$1 b=$2 f; shift 2; for f in "$@"; do cmp -s "$a/$f" "$b/$f" || return 1; done; }
$PY - "$T" <<'PY'
import sys, numpy as np
T = sys.argv[1]; r = np.random.default_rng(5)
np.save(f"{T}/codes2.npy", r.integers(0, 256, (40, 2), dtype=np.uint8))
np.save(f"{T}/timgs.npy", r.integers(0, 256, (40, 8, 8, 1), dtype=np.uint8))
w = np.zeros((40, 40), np.uint8)
for i in range(40): w[i, i % 2::2] = 1
np.save(f"{T}/tw.npy", np.packbits(w, axis=1, bitorder="little"))
PY
"$BIN/dsah-index" -q --codes "$H/codes.npy" --out "$T/c12i" && cp -r "$T/c12i" "$T/c12i.old" && rm "$T/c12i/mih.bin" && mkdir "$T/c12i/mih.bin"
ok $? "12: dsah-index run once, mih.bin replaced by a directory"
expect "12: dsah-index whose mih.bin cannot be replaced" 1 \
    "dsah-index: error: $T/c12i/mih.bin: rename failed: Is a directory (no output of this stage was replaced)" \
    "$BIN/dsah-index" -q --codes "$T/codes2.npy" --out "$T/c12i"
ok $(same "$T/c12i.old" "$T/c12i" index.faiss index.json && [ "$(ls "$T/c12i" | tr '\n' ' ')" = "index.faiss index.json mih.bin " ] \
     && echo 0 || echo 1) "12: index.faiss and index.json as before, nothing else left"
S=("$BIN/dsah-search" -q --index "$T/c12i.old" --codes "$H/codes.npy" --out "$T/c12s")
"${S[@]}" --k 3 && cp -r "$T/c12s" "$T/c12s.old" && rm "$T/c12s/dist.npy" && mkdir "$T/c12s/dist.npy"
ok $? "12: dsah-search run once, dist.npy replaced by a directory"
expect "12: dsah-search whose dist.npy cannot be replaced" 1 \
    "dsah-search: error: $T/c12s/dist.npy: rename failed: Is a directory (no output of this stage was replaced)" "${S[@]}" --k 5
ok $(same "$T/c12s.old" "$T/c12s" ids.npy lims.npy results.tsv results.json \
     && [ "$(ls "$T/c12s" | tr '\n' ' ')" = "dist.npy ids.npy lims.npy results.json results.tsv " ] && echo 0 || echo 1) \
    "12: ids.npy, lims.npy, results.tsv and results.json as before, nothing else left"
TR=("$BIN/dsah-train" -q --images "$T/timgs.npy" --indices "$H/idx40.npy" --w "$T/tw.npy" --arch fc-8 --input 8 --bits 8
    --batch 20 --lr 1e-3 --seed 1 --threads 2 --out "$T/c12t")
"${TR[@]}" --epochs 1 && cp -r "$T/c12t" "$T/c12t.old" && rm "$T/c12t/train.jsonl" && mkdir "$T/c12t/train.jsonl"
ok $? "12: dsah-train run once, train.jsonl replaced by a directory"
expect "12: dsah-train whose train.jsonl cannot be replaced" 1 \
    "dsah-train: error: $T/c12t/train.jsonl: rename failed: Is a directory (no output of this stage was replaced)" \
    "${TR[@]}" --epochs 2
ok $(same "$T/c12t.old" "$T/c12t" model.safetensors optim.safetensors && [ -e "$T/c12t/checkpoint.safetensors" ] \
     && [ "$(ls "$T/c12t" | tr '\n' ' ')" = "checkpoint.safetensors model.safetensors optim.safetensors train.jsonl " ] \
     && echo 0 || echo 1) "12: model and optimizer state as before; the checkpoint of the new run kept to resume from"
rmdir "$T/c12t/train.jsonl"
"${TR[@]}" --epochs 2 2>"$T/err12" && [ "$(ls "$T/c12t" | tr '\n' ' ')" = "model.safetensors optim.safetensors train.jsonl " ] \
    && ! cmp -s "$T/c12t.old/model.safetensors" "$T/c12t/model.safetensors" && [ "$(wc -l < "$T/c12t/train.jsonl")" = 2 ]
ok $? "12: the rerun resumes from the checkpoint and commits all three new outputs"

done_testing
