#!/bin/bash
# cifar10_estimate.sh: the expected wall time of `make pipeline DATASET=cifar10`
# with train.finetune fc (pipelines/cifar10.yaml otherwise), from per-stage
# rates measured here on CIFAR-shaped data: a cifar-10-binary.tar.gz of 60,000
# random 32x32x3 images in the official layout, ingested by dsah-ingest with
# the paper's split (1,000 queries, 10,000 training images, 59,000 database
# images), and random VGG-19 weights of the real shapes (vgg19_random.py; the
# ImageNet weights are not downloadable here and the time does not depend on
# the values). Each stage runs the command the plan runs (pipelines/cifar10
# with finetune fc): the per-image stages on a sample of the training rows
# (the convolutions, relu7 from the cache, a training epoch, encode), the
# others at full size (ingest, graph, SSDH's S, AND, eval, index, baselines).
# Inputs that earlier stages would compute from real images are random rows of
# their shape: the pool5 cache (relu-like, 60% zeros; read through
# --prefix-indices, as the plan's training split reads db's cache) and the relu7 features of the graph and the baselines (the time of
# these GEMM and k-NN stages does not depend on the values). Prints one line
# per measurement, with the load average when it started, then the per-stage
# table of cifar10_table.py (which counts the convolutions over the query and
# db images, 60,000: the plan convolves no image twice). The lines of the
# 2026-11-29 run are in cifar10_times_2026-11-29.txt.
# GreedyHash (eval.greedyhash_finetune head, the default) trains only its
# hash head on relu7 rows, from a cache of them (the graph's features): one
# and two epochs of all 10,000 training rows, and its encode from that cache.
# Sizes (environment): EST_THREADS (2), EST_N_CONV (100 images through the
# convolutions at each of 1 and EST_THREADS threads, in one batch of 100 as
# features.batch's default), EST_N_ROWS (2000 rows
# for relu7, the epoch and encode), EST_STEPS (6: training steps of
# bench_head at 1 and EST_THREADS threads).
set -eu
BIN=${DSAH_BIN:-$(cd "$(dirname "$0")/../.." && pwd)/bin}
BUILD=${DSAH_BUILD:-$(cd "$(dirname "$0")/../.." && pwd)/build}
HERE=$(cd "$(dirname "$0")" && pwd)
PY=/usr/bin/python3
TH=${EST_THREADS:-2} NCONV=${EST_N_CONV:-100} NR=${EST_N_ROWS:-2000} STEPS=${EST_STEPS:-6}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
load() { cut -d' ' -f1 /proc/loadavg; }
# Threads that wait at a barrier sleep instead of spinning, so that the CPU
# seconds count work: on a shared machine the wall time is mostly waiting for
# a core, and cifar10_table.py estimates an idle machine from the CPU seconds.
export OMP_WAIT_POLICY=passive
# tm NAME ROWS CMD...: run CMD, print "NAME rows ROWS seconds S cpu C load L"
# (S wall, C user + system seconds of the command, L the 1-minute load average
# when it started)
tm() {
    local name=$1 rows=$2 l r
    shift 2
    l=$(load)
    r=$( { TIMEFORMAT='%R %U %S'; time "$@" > "$T/last.log" 2>&1 || { cat "$T/last.log" >&2; echo FAIL; }; } 2>&1 )
    case $r in *FAIL*) echo "$name failed" >&2; exit 1 ;; esac
    set -- $r
    echo "$name rows $rows seconds $1 cpu $(echo "$2 + $3" | bc) load $l" | tee -a "$T/times.txt"
}
echo "# machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%FT%TZ); threads $TH"

# ---- data: the archive and its ingest -----------------------------------------
$PY - "$T/cifar" <<'PY'
import gzip, io, sys, tarfile, os, numpy as np
d = sys.argv[1]; os.makedirs(d)
rng = np.random.default_rng(0)
with tarfile.open(f"{d}/cifar-10-binary.tar.gz", "w:gz", compresslevel=1) as tf:
    def add(name, data):
        ti = tarfile.TarInfo("cifar-10-batches-bin/" + name); ti.size = len(data)
        tf.addfile(ti, io.BytesIO(data))
    add("batches.meta.txt", "".join(f"class{i}\n" for i in range(10)).encode())
    for name in [f"data_batch_{i}.bin" for i in range(1, 6)] + ["test_batch.bin"]:
        rec = np.empty((10000, 3073), np.uint8)
        rec[:, 0] = np.arange(10000) % 10
        rec[:, 1:] = rng.integers(0, 256, (10000, 3072), dtype=np.uint8)
        add(name, rec.tobytes())
PY
tm ingest 60000 "$BIN/dsah-ingest" -q --source cifar10 --path "$T/cifar" --query-per-class 100 --train-per-class 1000 \
    --seed 0 --out "$T/data" --threads "$TH"
rm -rf "$T/cifar"
$PY "$HERE/vgg19_random.py" "$T/w.safetensors" 224
D="$T/data"

# ---- the convolutions to pool5 (resize to 224 included), 1 and TH threads ------
$PY -c "import numpy as np; np.save('$T/ix_conv.npy', np.load('$D/train.npy')[:$NCONV])"
for th in 1 "$TH"; do
    tm "conv_pool5_t$th" "$NCONV" "$BIN/dsah-features" -q --images "$D/images.npy" --indices "$T/ix_conv.npy" \
        --extractor vgg19 --weights "$T/w.safetensors" --input 224 --layer pool5 --batch "$NCONV" --threads "$th" \
        --out "$T/p5_conv.npy"
done

# ---- random stand-ins: pool5 rows of NR training images, listed by ------------
# ---- --prefix-indices as the plan's db cache is, relu7 of all 10,000 -----------
$PY - "$D" "$T" "$NR" <<'PY'
import sys, numpy as np
d, t, nr = sys.argv[1], sys.argv[2], int(sys.argv[3]); rng = np.random.default_rng(2)
ix = np.load(d + "/train.npy"); nr = min(nr, len(ix))
np.save(t + "/ix_rows.npy", ix[:nr])
np.save(t + "/ix_cache.npy", np.sort(ix[:nr]))  # in db order (db.npy, like train.npy, is ascending)
a = np.lib.format.open_memmap(t + "/p5_rows.npy", mode="w+", dtype=np.float32, shape=(nr, 25088))
for i in range(0, nr, 500):
    b = rng.random((min(500, nr - i), 25088), dtype=np.float32)
    b[b < 0.6] = 0  # relu-like: most of pool5 is zero
    a[i:i + len(b)] = b
a.flush()
f = rng.random((len(ix), 4096), dtype=np.float32)
f[f < 0.7] = 0
np.save(t + "/f_train.npy", f)
PY
P5="--prefix-cache $T/p5_rows.npy --prefix-indices $T/ix_cache.npy --prefix-layer pool5"

# ---- relu7 from the cache, the graph, SSDH's S ---------------------------------
tm relu7_from_cache "$NR" "$BIN/dsah-features" -q --images "$D/images.npy" --indices "$T/ix_rows.npy" --extractor vgg19 \
    --weights "$T/w.safetensors" --input 224 $P5 --batch 100 --threads "$TH" --out "$T/f_rows.npy"
NTR=$($PY -c "import numpy as np; print(len(np.load('$D/train.npy')))")
tm graph "$NTR" "$BIN/dsah-graph" -q --features "$T/f_train.npy" --k1 500 --k2 500 --labels "$D/labels.npy" \
    --indices "$D/train.npy" --threads "$TH" --out "$T/graph/"
tm ssdh_s "$NTR" "$BIN/dsah-ssdh" -q --features "$T/f_train.npy" --alpha 2 --beta 0 --threads "$TH" --out "$T/ssdh/"

# ---- training: the step at 1 and TH threads, then real rounds on NR rows -------
for th in 1 "$TH"; do
    "$BUILD/tests/bench_head" vgg19 224 fc 50 64 "$STEPS" "$th" | sed "s/^/bench_head_t$th load $(load) /" | tee -a "$T/times.txt"
done
$PY - "$T/graph/w0.npy" "$NR" "$T/w_rows.npy" <<'PY'
import sys, numpy as np
w, m = np.load(sys.argv[1]), int(sys.argv[2])
bits = np.unpackbits(w[:m], axis=1, bitorder="little")[:, :m]
np.save(sys.argv[3], np.packbits(bits, axis=1, bitorder="little"))
PY
train() { # OUT EPOCHS
    "$BIN/dsah-train" -q --images "$D/images.npy" --indices "$T/ix_rows.npy" --w "$T/w_rows.npy" --weights "$T/w.safetensors" \
        --arch vgg19 --input 224 --bits 64 --epochs "$2" --batch 50 --lr 0.0001 --adam-eps 1e-08 --lr-every 200 \
        --lr-factor 0.99 --tau 1 --lambda 10 --pic pic --finetune fc --seed 0 --threads "$TH" --out "$1" $P5
}
loops() { grep -o '"seconds": [0-9.]*' "$1/train.jsonl" | cut -d' ' -f2 | paste -sd+ | bc; }
# a round's fixed cost and the per-epoch checkpoint: a 2-epoch round minus a 1-epoch one
tm train_round_1epoch "$NR" train "$T/run1/" 1
echo "train_epoch_loop rows $NR seconds $(loops "$T/run1") cpu - load $(load)" | tee -a "$T/times.txt"
tm train_round_2epochs "$NR" train "$T/run2/" 2
echo "train_2epoch_loops rows $NR seconds $(loops "$T/run2") cpu - load $(load)" | tee -a "$T/times.txt"

# ---- GreedyHash's head (the plan's command with head: relu7 cache, frozen -------
# ---- eval mode), 1 and 2 epochs of the 10,000 training rows, and its encode ----
gh() { # OUT EPOCHS
    "$BIN/dsah-train" -q --images "$D/images.npy" --indices "$D/train.npy" --weights "$T/w.safetensors" --arch vgg19 \
        --input 224 --bits 64 --epochs "$2" --batch 50 --lr 0.0001 --adam-eps 1e-08 --lr-every 200 --lr-factor 0.99 \
        --loss greedyhash --features "$T/f_train.npy" --gh-alpha 0.1 --finetune head --frozen-eval --seed 0 \
        --threads "$TH" --out "$1" --prefix-cache "$T/f_train.npy" --prefix-layer relu7
}
tm greedyhash_round_1epoch "$NTR" gh "$T/gh1/" 1
tm greedyhash_round_2epochs "$NTR" gh "$T/gh2/" 2
tm greedyhash_encode "$NTR" "$BIN/dsah-encode" -q --model "$T/gh1/model.safetensors" --images "$D/images.npy" \
    --indices "$D/train.npy" --prefix-cache "$T/f_train.npy" --prefix-layer relu7 --threads "$TH" --out "$T/gh_codes.npy"

# ---- encode (real, train from the cache), AND, eval, index ---------------------
tm encode_from_cache "$NR" "$BIN/dsah-encode" -q --model "$T/run1/model.safetensors" --images "$D/images.npy" \
    --indices "$T/ix_rows.npy" --real $P5 --threads "$TH" --out "$T/rows_real.npy"
$PY -c "import numpy as np; np.save('$T/train_real.npy', np.random.default_rng(4).uniform(-1, 1, ($NTR, 64)).astype(np.float32))"
tm and "$NTR" "$BIN/dsah-and" -q --codes "$T/train_real.npy" --w "$T/graph/w0.npy" --gamma 1 --labels "$D/labels.npy" \
    --indices "$D/train.npy" --threads "$TH" --out "$T/w1.npy"
# codes of the query and database rows (random, 64 bits) and relu7-shaped
# database features (the training rows repeated) for eval and the baselines
$PY - "$D" "$T" <<'PY'
import sys, numpy as np
d, t = sys.argv[1], sys.argv[2]; rng = np.random.default_rng(3)
q, db = len(np.load(d + "/query.npy")), len(np.load(d + "/db.npy"))
np.save(t + "/cq.npy", rng.integers(0, 256, (q, 8), dtype=np.uint8))
np.save(t + "/cdb.npy", rng.integers(0, 256, (db, 8), dtype=np.uint8))
f = np.load(t + "/f_train.npy", mmap_mode="r")
np.save(t + "/f_query.npy", np.asarray(f[:q]))
out = np.lib.format.open_memmap(t + "/f_db.npy", mode="w+", dtype=np.float32, shape=(db, f.shape[1]))
for i in range(0, db, len(f)):
    k = min(len(f), db - i); out[i:i + k] = f[:k]
out.flush()
PY
NQ=$($PY -c "import numpy as np; print(len(np.load('$D/query.npy')))")
NDB=$($PY -c "import numpy as np; print(len(np.load('$D/db.npy')))")
tm eval "$NQ" "$BIN/dsah-eval" -q --query-codes "$T/cq.npy" --db-codes "$T/cdb.npy" --labels "$D/labels.npy" \
    --query-indices "$D/query.npy" --db-indices "$D/db.npy" --topk 1000,5000 --precision-at 100,1000 --threads "$TH" \
    --out "$T/eval/"
tm index "$NDB" "$BIN/dsah-index" -q --codes "$T/cdb.npy" --ids "$D/db.npy" --threads "$TH" --out "$T/index/"

# ---- the shallow baselines at 64 bits on the relu7 features ---------------------
B="--train $T/f_train.npy --query $T/f_query.npy --db $T/f_db.npy --seed 0 --threads $TH"
tm baseline_lsh "$NDB" "$BIN/dsah-baseline" -q --method lsh --bits 64 $B --out "$T/b/lsh/"
tm baseline_itq "$NDB" "$BIN/dsah-baseline" -q --method itq --bits 64 $B --iters 50 --out "$T/b/itq/"
tm baseline_sh "$NDB" "$BIN/dsah-baseline" -q --method sh --bits 64 $B --out "$T/b/sh/"
tm baseline_agh1 "$NDB" "$BIN/dsah-baseline" -q --method agh1 --bits 64 $B --anchors 300 --nearest 2 --kmeans-iters 5 --out "$T/b/agh1/"
tm baseline_agh2 "$NDB" "$BIN/dsah-baseline" -q --method agh2 --bits 64 $B --anchors 300 --nearest 2 --kmeans-iters 5 --out "$T/b/agh2/"
tm baseline_sp "$NDB" "$BIN/dsah-baseline" -q --method sp --bits 64 $B --sp-iters 20 --density 0.1 --lambda 1 --out "$T/b/sp/"
tm baseline_sgh "$NDB" "$BIN/dsah-baseline" -q --method sgh --bits 64 $B --sgh-epochs 16 --sgh-batch 500 --sgh-lr 0.01 --out "$T/b/sgh/"
echo "# done $(date -u +%FT%TZ), load $(cut -d' ' -f1-3 /proc/loadavg)"
$PY "$HERE/cifar10_table.py" "$T/times.txt" "$TH"
