#!/bin/bash
# shallow.sh: fit time of each shallow baseline (sh, agh1, agh2, sp, sgh, and
# itq for scale) at n = 10,000, d = 4,096, 128 bits, on a synthetic low-rank
# set, next to a NumPy/SciPy run of the same algorithm
# (tests/bench/ref_shallow.py) timed in the same loop: the two alternate,
# RUNS times each (default 3), and the medians of the fit times (the C side's
# baseline.json seconds_fit, the NumPy side's own timer around the fit) and
# of the per-pair ratios are printed. Also: the share of SH bits on which the
# C and NumPy codes of the training rows agree (same algorithm, same data).
set -eu
BIN=${DSAH_BIN:-$(dirname "$0")/../../bin}
HERE=$(cd "$(dirname "$0")" && pwd)
RUNS=${RUNS:-3}
METHODS=${METHODS:-"sh agh1 agh2 sp sgh itq"}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
/usr/bin/python3 - "$T" <<'PY'
import sys, numpy as np
rng = np.random.default_rng(0)
x = rng.standard_normal((10000, 64)) @ rng.standard_normal((64, 4096)) * 0.1 + rng.standard_normal((10000, 4096)) * 0.3
np.save(sys.argv[1] + "/train.npy", x.astype(np.float32))
np.save(sys.argv[1] + "/small.npy", x[:10].astype(np.float32))
PY
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
jfit() { /usr/bin/python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['seconds_fit'])" "$1"; }
for m in $METHODS; do
  : > "$T/c"; : > "$T/p"; : > "$T/r"
  for i in $(seq "$RUNS"); do
    "$BIN/dsah-baseline" -q --method "$m" --bits 128 --train "$T/train.npy" --query "$T/small.npy" --db "$T/small.npy" \
      --seed 0 --out "$T/out"
    c=$(jfit "$T/out/baseline.json"); echo "$c" >> "$T/c"
    if [ "$m" = itq ]; then continue; fi
    p=$(/usr/bin/python3 "$HERE/ref_shallow.py" --method "$m" --bits 128 --train "$T/train.npy" --seed 0 | awk '/fit_seconds/ {print $2}')
    echo "$p" >> "$T/p"
    awk -v a="$c" -v b="$p" 'BEGIN {print a / b}' >> "$T/r"
  done
  if [ "$m" = itq ]; then
    printf 'bench: %-5s fit 10000 x 4096, 128 bits: C median %.2f s (n=%d) [no NumPy run here: tests/bench/ref_baselines.py]\n' "$m" "$(median < "$T/c")" "$RUNS"
  else
    printf 'bench: %-5s fit 10000 x 4096, 128 bits: C median %.2f s, NumPy/SciPy median %.2f s, C/NumPy median ratio %.2f (n=%d pairs)\n' \
      "$m" "$(median < "$T/c")" "$(median < "$T/p")" "$(median < "$T/r")" "$RUNS"
  fi
done
case " $METHODS " in *" sh "*)
  "$BIN/dsah-baseline" -q --method sh --bits 128 --train "$T/train.npy" --query "$T/small.npy" --db "$T/train.npy" --seed 0 --out "$T/sh"
  /usr/bin/python3 "$HERE/ref_shallow.py" --method sh --bits 128 --train "$T/train.npy" --codes "$T/sh_np.npy" > /dev/null
  /usr/bin/python3 - "$T/sh/db.npy" "$T/sh_np.npy" <<'PY'
import sys, numpy as np
a = np.unpackbits(np.load(sys.argv[1]), axis=1); b = np.unpackbits(np.load(sys.argv[2]), axis=1)
print(f"bench: sh codes of the 10000 training rows, C vs NumPy: {np.mean(a == b) * 100:.3f}% of bits equal")
PY
esac
