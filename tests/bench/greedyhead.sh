#!/bin/bash
# greedyhead.sh: GreedyHash's training epoch and encode on CIFAR-10's VGG-19
# shapes, its two settings of eval.greedyhash_finetune side by side in one
# run, on random VGG-19 weights with the real shapes (vgg19_random.py) and
# random cached rows (the time does not depend on the values):
#   head     (the default): dsah-train --loss greedyhash --finetune head
#            --frozen-eval from the relu7 features (--prefix-cache, --prefix-layer
#            relu7): hash.fc8 and hash.fc run and learn, 4.1 M parameters;
#   network  (today's train.finetune fc): the same loss from the pool5 cache:
#            fc6, fc7, hash.fc8 and hash.fc run and learn, 123.7 M parameters.
# Per epoch: the seconds of dsah-train's epoch loop (train.jsonl, without the
# epoch's checkpoint), as the seconds of an epoch of 10,000 rows (10,000 /
# img_per_s; head runs a whole epoch of GH_N_HEAD rows, network GH_N_NET rows);
# per run: the wall seconds of the whole dsah-train (loading the weights, one
# epoch, the checkpoint, the model) and of dsah-encode of GH_N_HEAD rows (head:
# relu7 -> codes) or GH_N_NET rows (network: pool5 -> codes), alternating,
# GH_REPS times. Sizes (environment): GH_S (224), GH_N_HEAD (10,000),
# GH_N_NET (1,000), GH_BATCH (50), GH_BITS (64), GH_THREADS (1), GH_REPS (2).
set -eu
BIN=${DSAH_BIN:-$(dirname "$0")/../../bin}
HERE=$(cd "$(dirname "$0")" && pwd)
S=${GH_S:-224} NH=${GH_N_HEAD:-10000} NN=${GH_N_NET:-1000} TB=${GH_BATCH:-50} L=${GH_BITS:-64}
TH=${GH_THREADS:-1} REPS=${GH_REPS:-2}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
/usr/bin/python3 "$HERE/vgg19_random.py" "$T/w.safetensors" "$S"
/usr/bin/python3 - "$T" "$NH" "$NN" "$S" <<'PY'
import sys, numpy as np
d, nh, nn, s = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
rng = np.random.default_rng(1)
n = max(nh, nn)
np.save(f"{d}/im.npy", rng.integers(0, 256, (n, 32, 32, 3), dtype=np.uint8))
for name, m in (("head", nh), ("net", nn)):
    np.save(f"{d}/ix_{name}.npy", np.arange(m, dtype=np.int64))
    # relu7-like rows: non-negative, half of them zero
    np.save(f"{d}/r7_{name}.npy", np.maximum(rng.standard_normal((m, 4096), dtype=np.float32), 0))
np.save(f"{d}/p5_net.npy", np.maximum(rng.standard_normal((nn, 512 * (s // 32) ** 2), dtype=np.float32), 0))
PY
echo "# machine: $(nproc --all) cores, load $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%FT%TZ); S=$S threads=$TH batch=$TB bits=$L"
load() { cut -d' ' -f1 /proc/loadavg; }
train() { # name rows-file relu7-file extra...
    local name=$1 ix=$2 r7=$3; shift 3
    rm -rf "$T/run"
    local t0 t1
    t0=$(date +%s.%N)
    "$BIN/dsah-train" -q --images "$T/im.npy" --indices "$ix" --arch vgg19 --weights "$T/w.safetensors" --input "$S" \
        --bits "$L" --epochs 1 --batch "$TB" --loss greedyhash --features "$r7" --threads "$TH" --out "$T/run/" "$@"
    t1=$(date +%s.%N)
    local rate
    rate=$(grep -o '"img_per_s": [0-9.]*' "$T/run/train.jsonl" | cut -d' ' -f2)
    echo "$name train: epoch of 10,000 rows $(/usr/bin/python3 -c "print(f'{10000 / $rate:.3g}')") s ($rate rows/s); whole dsah-train $(/usr/bin/python3 -c "print(f'{$t1 - $t0:.1f}')") s for $(/usr/bin/python3 -c "import numpy as np; print(len(np.load('$ix')))") rows (load $(load))"
}
encode() { # name rows-file extra...
    local name=$1 ix=$2; shift 2
    local line
    line=$("$BIN/dsah-encode" --model "$T/run/model.safetensors" --images "$T/im.npy" --indices "$ix" --threads "$TH" \
        --out "$T/codes.npy" "$@" 2>&1 | grep -o '[0-9]* images encoded in [0-9.]* s ([0-9]* img/s)')
    echo "$name encode: $line (load $(load))"
}
for r in $(seq "$REPS"); do
    train head "$T/ix_head.npy" "$T/r7_head.npy" --finetune head --frozen-eval --prefix-cache "$T/r7_head.npy" \
        --prefix-layer relu7
    encode head "$T/ix_head.npy" --prefix-cache "$T/r7_head.npy" --prefix-layer relu7
    train network "$T/ix_net.npy" "$T/r7_net.npy" --finetune fc --prefix-cache "$T/p5_net.npy" --prefix-layer pool5
    encode network "$T/ix_net.npy" --prefix-cache "$T/p5_net.npy" --prefix-layer pool5
done
