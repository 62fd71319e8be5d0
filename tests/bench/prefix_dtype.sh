#!/bin/bash
# prefix_dtype.sh: the frozen-prefix cache as f4 and as f2
# (features.cache_dtype, common/nn/prefix.h), side by side in one run, on
# CIFAR-shaped data (random 32x32x3 images resized to S, as the vgg19
# pipeline does) and random VGG-19 weights with the real shapes
# (vgg19_random.py):
#   1. dsah-features --layer pool5 of PD_N images, f4 and --dtype f2: the
#      file sizes (f2 must be the header plus exactly half of f4's payload)
#      and the largest rounding error of the f2 values against the f4 ones
#      (relative for |x| >= 2^-14, absolute below), against the stated bound;
#   2. one training step from each cache (tests/bench/bench_head.c with the
#      cache: the gather of the batch's rows at shuffled positions, then
#      forward, loss, backward, Adam), PD_REPS times each, alternating:
#      the gather's and the step's medians;
#   3. one dsah-train epoch, finetune fc, from each cache, PD_TRAIN_REPS
#      times each, alternating (train.jsonl's seconds; its checkpoint
#      included).
# Sizes (environment): PD_N (200), PD_S (224), PD_BATCH (50), PD_THREADS (1),
# PD_STEPS (4), PD_REPS (3), PD_TRAIN_REPS (2).
set -eu
BIN=${DSAH_BIN:-$(dirname "$0")/../../bin}
BUILD=${DSAH_BUILD:-$(dirname "$0")/../../build}
HERE=$(cd "$(dirname "$0")" && pwd)
N=${PD_N:-200} S=${PD_S:-224} TB=${PD_BATCH:-50} TH=${PD_THREADS:-1} STEPS=${PD_STEPS:-4} REPS=${PD_REPS:-3}
TREPS=${PD_TRAIN_REPS:-2}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
load() { cut -d' ' -f1 /proc/loadavg; }
/usr/bin/python3 "$HERE/vgg19_random.py" "$T/w.safetensors" "$S"
/usr/bin/python3 - "$T" "$N" <<'PY'
import sys, numpy as np
d, n = sys.argv[1], int(sys.argv[2])
rng = np.random.default_rng(1)
np.save(f"{d}/im.npy", rng.integers(0, 256, (n, 32, 32, 3), dtype=np.uint8))
np.save(f"{d}/ix.npy", np.arange(n, dtype=np.int64))
np.save(f"{d}/w.npy", rng.integers(0, 256, (n, (n + 7) // 8), dtype=np.uint8))
PY
echo "# machine: $(nproc --all) cores, load $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%FT%TZ); N=$N S=$S threads=$TH"
echo "# 1. pool5 of $N images, f4 and f2"
for dt in f4 f2; do
    "$BIN/dsah-features" --images "$T/im.npy" --indices "$T/ix.npy" --extractor vgg19 --weights "$T/w.safetensors" \
        --input "$S" --layer pool5 --dtype "$dt" --batch 10 --threads "$TH" --out "$T/p5_$dt.npy" 2>&1 \
        | grep -o '([0-9.]* img/s)' | sed "s/^/dsah-features --dtype $dt: /; s/\$/ (load $(load))/"
done
/usr/bin/python3 - "$T/p5_f4.npy" "$T/p5_f2.npy" <<'PY'
import os, sys, numpy as np
p4, p2 = sys.argv[1], sys.argv[2]
a, h = np.load(p4, mmap_mode="r"), np.load(p2, mmap_mode="r")
s4, s2 = os.path.getsize(p4), os.path.getsize(p2)
h4, h2 = s4 - a.size * 4, s2 - h.size * 2
print(f"f4: {s4} bytes ({h4}-byte header + {a.size} x 4), {s4 / a.shape[0] / 1e3:.1f} KB per image")
print(f"f2: {s2} bytes ({h2}-byte header + {h.size} x 2), {s2 / h.shape[0] / 1e3:.1f} KB per image; "
      f"f2 payload / f4 payload = {(s2 - h2) / (s4 - h4):.6f}")
assert h.dtype == np.float16 and h.shape == a.shape and (s2 - h2) * 2 == s4 - h4
x, y = np.asarray(a, np.float64), np.asarray(h, np.float64)
e, ax = np.abs(y - x), np.abs(x)
big = ax >= 2.0 ** -14
print(f"values: {x.size}, max |x| {ax.max():.4g}, {big.mean() * 100:.1f}% with |x| >= 2^-14; "
      f"max |h - x| / |x| there {(e[big] / ax[big]).max():.4g} (bound 2^-11 = {2.0 ** -11:.4g}); "
      f"max |h - x| below {e[~big].max() if (~big).any() else 0:.3g} (bound 2^-25 = {2.0 ** -25:.3g})")
assert (e[big] <= ax[big] * 2.0 ** -11).all() and (e[~big] <= 2.0 ** -25).all()
PY
echo "# 2. one training step from each cache (bench_head, finetune fc, batch $TB, $TH threads, medians of $STEPS steps)"
for r in $(seq "$REPS"); do
    for dt in f4 f2; do
        echo "$dt load $(load) $("$BUILD/tests/bench_head" vgg19 "$S" fc "$TB" 64 "$STEPS" "$TH" "$T/p5_$dt.npy")" \
            | tee -a "$T/res.txt"
    done
done
echo "# 3. one dsah-train epoch of $N images from each cache (finetune fc, batch $TB, $TH threads)"
for r in $(seq "$TREPS"); do
    for dt in f4 f2; do
        rm -rf "$T/run"
        "$BIN/dsah-train" -q --images "$T/im.npy" --indices "$T/ix.npy" --w "$T/w.npy" --arch vgg19 \
            --weights "$T/w.safetensors" --input "$S" --bits 64 --epochs 1 --batch "$TB" --finetune fc --threads "$TH" \
            --prefix-cache "$T/p5_$dt.npy" --prefix-layer pool5 --out "$T/run/"
        echo "epoch $dt $(grep -o '"seconds": [0-9.]*' "$T/run/train.jsonl" | cut -d' ' -f2) s (load $(load))" \
            | tee -a "$T/res.txt"
    done
done
echo "# medians"
/usr/bin/python3 - "$T/res.txt" <<'PY'
import json, statistics, sys
g, st, ep = {"f4": [], "f2": []}, {"f4": [], "f2": []}, {"f4": [], "f2": []}
for line in open(sys.argv[1]):
    w = line.split()
    if w[0] in g:
        j = json.loads(line[line.index("{"):])
        g[w[0]].append(j["gather_s"]); st[w[0]].append(j["step_s"])
    elif w[0] == "epoch":
        ep[w[1]].append(float(w[2]))
m = {k: (statistics.median(g[k]), statistics.median(st[k]), statistics.median(ep[k])) for k in g}
for k in ("f4", "f2"):
    print(f"{k}: gather {m[k][0] * 1e3:.2f} ms per step of the step's {m[k][1]:.3f} s ({m[k][0] / m[k][1] * 100:.2f}%), "
          f"epoch {m[k][2]:.2f} s")
print(f"f2 / f4: gather {m['f2'][0] / m['f4'][0]:.2f}, step {m['f2'][1] / m['f4'][1]:.3f}, epoch {m['f2'][2] / m['f4'][2]:.3f}")
PY
