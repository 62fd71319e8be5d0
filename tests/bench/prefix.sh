#!/bin/bash
# prefix.sh: the frozen prefix computed once (common/nn/prefix.h), two figures
# side by side in one run, on CIFAR-shaped data (random 32x32x3 images,
# resized to S as the vgg19 pipeline does) and random VGG-19 weights with the
# real shapes (vgg19_random.py):
#   1. VGG-19 forward to pool5, img/s: dsah-features --layer pool5 vs PyTorch
#      CPU (torch_pool5.py, torchvision's vgg19().features) at the same input
#      S, batch and threads, alternating, REPS times each; dsah's figure
#      includes loading the weights, torch's does not.
#   2. One training epoch, finetune fc (images over the seconds of
#      dsah-train's epoch loop): from the images (every step runs the
#      frozen convolutions) vs from the pool5 cache (only fc6.. run), REPS
#      times each, alternating;
#      the cost of writing the cache once is the pool5 rate of figure 1.
#   3. Where a step from the cache goes (tests/bench/bench_head.c: forward
#      fc6.., loss, backward, Adam over the 123.7M trainable parameters), at
#      1 thread and PREFIX_THREADS, medians of PREFIX_STEPS steps.
# Then the medians of figures 1 and 2 over the repetitions and their ratios.
# Sizes (environment): PREFIX_S (224), PREFIX_BATCH (16, forward), PREFIX_N_FWD
# (32 images forward), PREFIX_N_IMG (100 images per epoch from the images),
# PREFIX_N_CACHE (10,000 images per epoch from the cache: a whole epoch, its
# checkpoint included), PREFIX_TRAIN_BATCH
# (50), PREFIX_THREADS (2), PREFIX_REPS (3), PREFIX_STEPS (6). The epoch of
# 10,000 images is 10,000 / img_per_s of each side (only full batches run;
# the rates do not depend on n beyond the first batch). OLD_BIN (optional): a
# second build's bin/ (e.g. before a change to the convolutions), whose
# dsah-features runs in figure 1's loop too, as `before`, and whose
# dsah-train runs figure 2's epoch from the images, as `images_before`.
set -eu
BIN=${DSAH_BIN:-$(dirname "$0")/../../bin}
BUILD=${DSAH_BUILD:-$(dirname "$0")/../../build}
HERE=$(cd "$(dirname "$0")" && pwd)
S=${PREFIX_S:-224} B=${PREFIX_BATCH:-16} NF=${PREFIX_N_FWD:-32} NI=${PREFIX_N_IMG:-100} NC=${PREFIX_N_CACHE:-10000}
TB=${PREFIX_TRAIN_BATCH:-50} TH=${PREFIX_THREADS:-2} REPS=${PREFIX_REPS:-3}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
/usr/bin/python3 "$HERE/vgg19_random.py" "$T/w.safetensors" "$S"
N=$(( NC > NI ? NC : NI )); N=$(( N > NF ? N : NF ))
/usr/bin/python3 - "$T" "$N" "$NI" "$NC" <<'PY'
import sys, numpy as np
d, n, ni, nc = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
rng = np.random.default_rng(1)
np.save(f"{d}/im.npy", rng.integers(0, 256, (n, 32, 32, 3), dtype=np.uint8))
for name, m in (("img", ni), ("cache", nc)):
    np.save(f"{d}/ix_{name}.npy", np.arange(m, dtype=np.int64))
    np.save(f"{d}/w_{name}.npy", rng.integers(0, 256, (m, (m + 7) // 8), dtype=np.uint8))
PY
/usr/bin/python3 -c "import numpy as np; np.save('$T/ix_fwd.npy', np.arange($NF, dtype=np.int64))"
echo "# machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%FT%TZ); S=$S threads=$TH"
echo "# 1. VGG-19 forward to pool5 ($NF images, batch $B)"
for r in $(seq "$REPS"); do
    "$BIN/dsah-features" --images "$T/im.npy" --indices "$T/ix_fwd.npy" --extractor vgg19 --weights "$T/w.safetensors" \
        --input "$S" --layer pool5 --batch "$B" --threads "$TH" --out "$T/p5_fwd.npy" 2>&1 | grep -o '([0-9.]* img/s)' \
        | tr -d '()' | sed "s/^/dsah /; s/\$/ (load $(cut -d' ' -f1 /proc/loadavg))/" | tee -a "$T/res.txt"
    /usr/bin/python3 "$HERE/torch_pool5.py" "$T/w.safetensors" "$T/im.npy" "$NF" "$S" "$B" "$TH" 2>/dev/null \
        | sed "s/ (.*)\$//; s/\$/ (load $(cut -d' ' -f1 /proc/loadavg))/" | tee -a "$T/res.txt"
    if [ -n "${OLD_BIN:-}" ]; then
        "$OLD_BIN/dsah-features" --images "$T/im.npy" --indices "$T/ix_fwd.npy" --extractor vgg19 \
            --weights "$T/w.safetensors" --input "$S" --layer pool5 --batch "$B" --threads "$TH" --out "$T/p5_old.npy" 2>&1 \
            | grep -o '([0-9.]* img/s)' | tr -d '()' | sed "s/^/before /; s/\$/ (load $(cut -d' ' -f1 /proc/loadavg))/" \
            | tee -a "$T/res.txt"
    fi
done
if [ -n "${OLD_BIN:-}" ]; then # the same pool5 within float rounding (relative RMS)
    /usr/bin/python3 -c "import numpy as np; a, b = np.load('$T/p5_fwd.npy'), np.load('$T/p5_old.npy'); \
print(f'pool5 of this build against before: relative RMS difference {np.linalg.norm(a - b) / np.linalg.norm(b):.2g}')"
fi
echo "# 2. one training epoch, finetune fc, batch $TB: from the images ($NI) vs from the pool5 cache ($NC)"
# the cache: row k = pool5 of image k mod NF, from figure 1's output (the
# step's time does not depend on the values; running NC images through the
# convolutions here would take NC / 3 seconds)
/usr/bin/python3 -c "import numpy as np; p = np.load('$T/p5_fwd.npy'); np.save('$T/p5.npy', p[np.arange($NC) % len(p)])"
train() { # name indices w extra... (TRAIN_BIN: the bin/ to run, default BIN)
    local name=$1 ix=$2 w=$3; shift 3
    rm -rf "$T/run"
    "${TRAIN_BIN:-$BIN}/dsah-train" -q --images "$T/im.npy" --indices "$ix" --w "$w" --arch vgg19 --weights "$T/w.safetensors" \
        --input "$S" --bits 64 --epochs 1 --batch "$TB" --finetune fc --threads "$TH" --out "$T/run/" "$@"
    # img/s of the epoch loop to 3 significant digits (train.jsonl rounds it to
    # one decimal): the full batches' images over its seconds
    local n secs
    n=$(/usr/bin/python3 -c "import numpy as np; print(len(np.load('$ix')) // $TB * $TB)")
    secs=$(grep -o '"seconds": [0-9.]*' "$T/run/train.jsonl" | cut -d' ' -f2)
    echo "$name $(/usr/bin/python3 -c "print(f'{$n / $secs:.3g}')") img/s (load $(cut -d' ' -f1 /proc/loadavg))" \
        | tee -a "$T/res.txt"
}
for r in $(seq "$REPS"); do
    train images "$T/ix_img.npy" "$T/w_img.npy"
    train cache "$T/ix_cache.npy" "$T/w_cache.npy" --prefix-cache "$T/p5.npy" --prefix-layer pool5
    if [ -n "${OLD_BIN:-}" ]; then TRAIN_BIN=$OLD_BIN train images_before "$T/ix_img.npy" "$T/w_img.npy"; fi
done
echo "# 3. one step from the cache, phase by phase (seconds, medians of ${PREFIX_STEPS:-6} steps)"
for th in 1 "$TH"; do
    echo "load $(cut -d' ' -f1 /proc/loadavg): $("$BUILD/tests/bench_head" vgg19 "$S" fc "$TB" 64 "${PREFIX_STEPS:-6}" "$th")"
done
echo "# medians over $REPS repetitions"
med() { grep "^$1 " "$T/res.txt" | cut -d' ' -f2 | sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
d=$(med dsah) t=$(med torch) i=$(med images) c=$(med cache)
echo "VGG-19 to pool5 at $S, batch $B, $TH threads: dsah $d img/s, torch $t img/s, dsah/torch $(echo "scale=2; $d / $t" | bc)"
if [ -n "${OLD_BIN:-}" ]; then o=$(med before); echo "  before ($OLD_BIN): $o img/s, this build / before $(echo "scale=2; $d / $o" | bc)"; fi
echo "finetune fc epoch of 10,000 images: from the images $(echo "scale=0; 10000 / $i" | bc) s ($i img/s), from the cache" \
    "$(echo "scale=0; 10000 / $c" | bc) s ($c img/s): $(echo "scale=1; $c / $i" | bc)x faster"
if [ -n "${OLD_BIN:-}" ]; then
    o=$(med images_before)
    echo "  from the images with the build before ($OLD_BIN): $(echo "scale=0; 10000 / $o" | bc) s ($o img/s):" \
        "the cache is $(echo "scale=1; $c / $o" | bc)x faster"
fi
