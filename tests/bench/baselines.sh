#!/bin/bash
# baselines.sh: dsah-baseline ITQ fit time, 128 bits on 10,000 x 784 features
# (Fashion-MNIST pixels when work/fashion-mnist/features/pixels_train.npy
# exists, else a synthetic low-rank set of the same shape); median of 5 runs
# of the fit (baseline.json seconds_fit), plus the whole-process time.
set -eu
BIN=${DSAH_BIN:-$(dirname "$0")/../../bin}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
F="$ROOT/work/fashion-mnist/features/pixels_train.npy"
if [ -f "$F" ]; then
  src="Fashion-MNIST pixels"
else
  src="synthetic 10000x784"
  F="$T/train.npy"
  /usr/bin/python3 - "$F" <<'PY'
import sys, numpy as np
rng = np.random.default_rng(0)
x = rng.standard_normal((10000, 40)) @ rng.standard_normal((40, 784)) * 0.05 + rng.random((10000, 784)) * 0.3
np.save(sys.argv[1], np.clip(x, 0, 1).astype(np.float32))
PY
fi
shape=$(/usr/bin/python3 -c "import numpy as np,sys; print('x'.join(map(str, np.load(sys.argv[1], mmap_mode='r').shape)))" "$F")
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
: > "$T/f"; : > "$T/w"
for i in 1 2 3 4 5; do
  t0=$(date +%s%N)
  "$BIN/dsah-baseline" -q --method itq --bits 128 --train "$F" --query "$F" --db "$F" --seed $i --out "$T/out"
  t1=$(date +%s%N)
  /usr/bin/python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['seconds_fit'])" "$T/out/baseline.json" >> "$T/f"
  awk -v a=$t0 -v b=$t1 'BEGIN {print (b - a) / 1e9}' >> "$T/w"
done
printf 'bench: itq fit 128 bits, 50 iterations on %s (%s): median %.2f s (n=5) [limit 3 s]\n' "$src" "$shape" "$(median < "$T/f")"
printf 'bench: itq whole process (fit + encode %s twice): median %.2f s (n=5)\n' "$shape" "$(median < "$T/w")"
