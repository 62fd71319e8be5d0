#!/bin/bash
# train.sh: training figures of dsah-train on the CPU.
#  1. Throughput (img/s) of the default Fashion-MNIST network at batch 50 on 2
#     threads, next to PyTorch (CPU, same network, loss, batch and threads,
#     tests/bench/torch_train.py) in the same run; target >= 1.0x PyTorch.
#  2. img/s of candidate networks for the default, and the training time of
#     the default pipeline (R = 3 rounds x T = 10 epochs x 10,000 images for
#     each of the code lengths 16, 32, 64, 128) extrapolated from one full
#     round; limit 15 minutes for the whole pipeline.
#  3. VGG-19 forward at 224x224 (random weights) in img/s, for the record.
# Data: Fashion-MNIST's first 60,000 images; the training set is 10,000 of
# them (seed 0) and W is "same label" (a stand-in for the graph stage: the
# speed does not depend on W).
set -euo pipefail
BIN=${DSAH_BIN:-$(cd "$(dirname "$0")/../.." && pwd)/bin}
HERE=$(cd "$(dirname "$0")" && pwd)
PY=/usr/bin/python3
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
DEFAULT_ARCH=${DEFAULT_ARCH:-conv3-16,pool,conv3-32,pool,fc-512,dropout-0.5}
CANDIDATES=${CANDIDATES:-"conv3-16,pool,conv3-32,pool,fc-256 conv3-16,pool,conv3-32,pool,fc-512,dropout-0.5 conv3-32,pool,conv3-64,pool,fc-512,dropout-0.5 conv3-32,conv3-32,pool,conv3-64,conv3-64,pool,fc-512,dropout-0.5"}

$PY - "$T" <<'PYEOF'
import gzip, sys, numpy as np
d = '/usr/share/datasets/fashion-mnist/'
X = np.frombuffer(gzip.open(d + 'train-images-idx3-ubyte.gz').read(), np.uint8, offset=16).reshape(-1, 28, 28, 1)
y = np.frombuffer(gzip.open(d + 'train-labels-idx1-ubyte.gz').read(), np.uint8, offset=8)
tr = np.sort(np.random.RandomState(0).permutation(len(X))[:10000])
out = sys.argv[1]
np.save(out + '/images.npy', X)
for n in (10000, 2000):
    t = tr[:n]
    np.save(out + '/train%d.npy' % n, t.astype('<i8'))
    np.save(out + '/w%d.npy' % n, np.packbits(y[t][:, None] == y[t][None, :], axis=1, bitorder='little'))
PYEOF

median() { sort -g | awk '{a[NR]=$1} END {if (NR % 2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
# img/s of an arch: 5 epochs over 2,000 images (40 steps each), median epoch
c_rate() {
    "$BIN/dsah-train" -q --images "$T/images.npy" --indices "$T/train2000.npy" --w "$T/w2000.npy" --arch "$1" \
        --input 28 --bits 64 --epochs 5 --batch 50 --threads 2 --seed 0 --out "$T/c" >/dev/null
    grep -o '"img_per_s": [0-9.]*' "$T/c/train.jsonl" | awk '{print $2}' | median
}

# 1. default network vs PyTorch
c=$(c_rate "$DEFAULT_ARCH")
echo "bench: train img/s, default net $DEFAULT_ARCH, batch 50, 2 threads, dsah-train: median $c img/s (n=5)"
fail=0
if $PY -c 'import torch' 2>/dev/null; then
    t=$($PY "$HERE/torch_train.py" "$DEFAULT_ARCH" 28 1 64 50 2 40 5 | awk '{print $2}')
    ratio=$(awk -v a="$c" -v b="$t" 'BEGIN {printf "%.2f", a / b}')
    echo "bench: train img/s, same net in PyTorch $($PY -c 'import torch; print(torch.__version__)') CPU: median $t img/s (n=5)"
    echo "bench: train speed vs PyTorch: median ${ratio} x (n=5) [limit >= 1.0]"
    awk -v r="$ratio" 'BEGIN {exit !(r < 1.0)}' && { echo "bench: FAIL: slower than PyTorch"; fail=1; }
else
    echo "bench: train speed vs PyTorch: skipped: $PY has no torch (apt-get install python3-torch)"
fi

# 2. candidates, then one full round of the default and the extrapolation
for a in $CANDIDATES; do
    echo "bench: train img/s candidate $a: median $(c_rate "$a") img/s (n=5)"
done
t0=$(date +%s.%N)
"$BIN/dsah-train" -q --images "$T/images.npy" --indices "$T/train10000.npy" --w "$T/w10000.npy" --arch "$DEFAULT_ARCH" \
    --input 28 --bits 64 --epochs 10 --batch 50 --threads 2 --seed 0 --out "$T/round"
"$BIN/dsah-encode" -q --model "$T/round/model.safetensors" --images "$T/images.npy" --indices "$T/train10000.npy" \
    --real --threads 2 --out "$T/round/real.npy"
t1=$(date +%s.%N)
round=$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.1f", b - a}')
est=$(awk -v r="$round" 'BEGIN {printf "%.1f", r * 3 * 4 / 60}')
echo "bench: one round (10 epochs x 10,000 images + encode of the train split), default net: $round s (n=1)"
echo "bench: default pipeline training, 4 code lengths x 3 rounds, extrapolated: $est min (n=1) [limit 15 min in all]"
awk -v e="$est" 'BEGIN {exit !(e > 15)}' && { echo "bench: FAIL: training alone exceeds 15 minutes"; fail=1; }

# 3. VGG-19 forward at 224: a model from one head-only step on 2 random images
$PY - "$T" <<'PYEOF'
import sys, numpy as np
out = sys.argv[1]
rs = np.random.RandomState(1)
np.save(out + '/vgg_images.npy', rs.randint(0, 256, (16, 224, 224, 3)).astype(np.uint8))
np.save(out + '/vgg_idx.npy', np.arange(16, dtype='<i8'))
np.save(out + '/vgg_idx2.npy', np.arange(2, dtype='<i8'))
np.save(out + '/vgg_w.npy', np.packbits(np.ones((2, 2), bool), axis=1, bitorder='little'))
PYEOF
"$BIN/dsah-train" -q --images "$T/vgg_images.npy" --indices "$T/vgg_idx2.npy" --w "$T/vgg_w.npy" --arch vgg19 \
    --input 224 --bits 64 --epochs 1 --batch 2 --finetune head --threads 2 --out "$T/vgg"
rates=""
for i in 1 2 3; do
    s=$(date +%s.%N)
    "$BIN/dsah-encode" -q --model "$T/vgg/model.safetensors" --images "$T/vgg_images.npy" --indices "$T/vgg_idx.npy" \
        --batch 8 --threads 2 --out "$T/vgg/codes.npy"
    e=$(date +%s.%N)
    rates="$rates $(awk -v a="$s" -v b="$e" 'BEGIN {printf "%.2f", 16 / (b - a)}')"
done
echo "bench: VGG-19 forward 224x224, batch 8, 2 threads (incl. loading the 575 MB model): median $(echo $rates | tr ' ' '\n' | median) img/s (n=3)"
exit $fail
