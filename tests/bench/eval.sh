#!/bin/bash
# eval.sh: dsah-eval speed. 1,000 random query codes against 69,000 db codes
# (10 single-label classes), computing mAP@5000, mAP@1000, P@100, the P-curve
# at 100 and the PR curve together; median of 5 runs at 64 and 128 bits.
# Figures: the compute time (metrics.json seconds_compute: from the mapped
# inputs to the metrics, excluding process start and file load) and the
# whole-process wall time.
set -eu
BIN=${DSAH_BIN:-$(dirname "$0")/../../bin}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
/usr/bin/python3 - "$T" <<'PY'
import sys, numpy as np
d = sys.argv[1]; rng = np.random.default_rng(0)
for bits in (64, 128):
    np.save(f"{d}/q{bits}.npy", rng.integers(0, 256, (1000, bits // 8), dtype=np.uint8))
    np.save(f"{d}/d{bits}.npy", rng.integers(0, 256, (69000, bits // 8), dtype=np.uint8))
lab = np.zeros((70000, 10), np.uint8); lab[np.arange(70000), rng.integers(0, 10, 70000)] = 1
np.save(f"{d}/labels.npy", lab)
perm = rng.permutation(70000)
np.save(f"{d}/qi.npy", np.sort(perm[:1000]).astype(np.int64))
np.save(f"{d}/di.npy", np.sort(perm[1000:]).astype(np.int64))
PY
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
for bits in 64 128; do
  limit=$([ $bits = 64 ] && echo 25 || echo 40)
  : > "$T/c"; : > "$T/w"
  for i in 1 2 3 4 5; do
    t0=$(date +%s%N)
    "$BIN/dsah-eval" -q --query-codes "$T/q$bits.npy" --db-codes "$T/d$bits.npy" --labels "$T/labels.npy" \
      --query-indices "$T/qi.npy" --db-indices "$T/di.npy" --topk 5000,1000 --precision-at 100 --pn-at 100 \
      --out "$T/out"
    t1=$(date +%s%N)
    /usr/bin/python3 -c "import json,sys; print(1e3*json.load(open(sys.argv[1]))['seconds_compute'])" \
      "$T/out/metrics.json" >> "$T/c"
    awk -v a=$t0 -v b=$t1 'BEGIN {print (b - a) / 1e6}' >> "$T/w"
  done
  printf 'bench: eval compute 1000x69000 %d bits (mAP@5000,1000, P@100, PR): median %.1f ms (n=5) [limit %d ms]\n' \
    $bits "$(median < "$T/c")" $limit
  printf 'bench: eval whole process 1000x69000 %d bits: median %.1f ms (n=5)\n' $bits "$(median < "$T/w")"
done
