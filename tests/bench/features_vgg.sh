#!/bin/bash
# features_vgg.sh: dsah-features --extractor vgg19 throughput at 224 (relu7,
# eval mode): 32 random 224x224 RGB images, batch 32, random real-shaped
# VGG-19 weights (548 MB, written once with numpy as torchvision-named
# safetensors); median of 5 whole-process runs (weights loading included).
set -eu
BIN=${DSAH_BIN:-$(dirname "$0")/../../bin}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
/usr/bin/python3 "$(dirname "$0")/vgg19_random.py" "$T/w.safetensors" 224
/usr/bin/python3 - "$T" <<'PY'
import sys, numpy as np
d = sys.argv[1]
rng = np.random.default_rng(0)
np.save(f"{d}/im.npy", rng.integers(0, 256, (32, 224, 224, 3), dtype=np.uint8))
np.save(f"{d}/ix.npy", np.arange(32, dtype=np.int64))
PY
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
: > "$T/r"
for i in 1 2 3 4 5; do
  t0=$(date +%s%N)
  "$BIN/dsah-features" -q --images "$T/im.npy" --indices "$T/ix.npy" --extractor vgg19 --weights "$T/w.safetensors" \
    --input 224 --batch 32 --out "$T/f.npy"
  t1=$(date +%s%N)
  awk -v a=$t0 -v b=$t1 'BEGIN {print 32 / ((b - a) / 1e9)}' >> "$T/r"
done
load=$(cut -d' ' -f1 /proc/loadavg)
printf 'bench: vgg19 relu7 features at 224, 32 images, batch 32, %s cores (load %s at the end): median %.2f img/s (n=5) [limit 1 img/s]\n' \
  "$(nproc)" "$load" "$(median < "$T/r")"
