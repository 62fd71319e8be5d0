#!/bin/bash
# shallow.sh: fit time of each shallow baseline (sh, agh1, agh2, sp, sgh, and
# itq for scale) at n = 10,000, d = 4,096, 128 bits, on a synthetic low-rank
# set, next to a NumPy/SciPy run of the same algorithm
# (tests/bench/ref_shallow.py) timed in the same loop: the two alternate,
# RUNS times each (default 3), and the medians of the fit times (the C side's
# baseline.json seconds_fit and cpu_seconds_fit, the NumPy side's own timers
# around the fit: wall and process CPU time, all threads) and of the per-pair
# wall ratios are printed, with the load average before each method. CPU
# seconds do not depend on what else the machine runs as much as wall
# seconds do (spinning threads of a busy machine still add to them).
# THREADS (optional) is passed to dsah-baseline --threads. OLD_BIN (optional):
# the bin/ of another dsah build (say, before a change), timed in the same
# loop and printed as "before". Also: the share of
# SH bits on which the C and NumPy codes of the training rows agree (same
# algorithm, same data).
set -eu
BIN=${DSAH_BIN:-$(dirname "$0")/../../bin}
HERE=$(cd "$(dirname "$0")" && pwd)
RUNS=${RUNS:-3}
METHODS=${METHODS:-"sh agh1 agh2 sp sgh itq"}
THR=()
if [ -n "${THREADS:-}" ]; then THR=(--threads "$THREADS"); fi
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
jget() { /usr/bin/python3 -c "import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])" "$1" "$2"; }
for m in $METHODS; do
  : > "$T/c"; : > "$T/cc"; : > "$T/p"; : > "$T/pc"; : > "$T/r"; : > "$T/o"; : > "$T/oc"
  load=$(cut -d' ' -f1 /proc/loadavg)
  for i in $(seq "$RUNS"); do
    if [ -n "${OLD_BIN:-}" ]; then
      /usr/bin/time -o "$T/old.time" -f '%U %S' "$OLD_BIN/dsah-baseline" -q "${THR[@]}" --method "$m" --bits 128 \
        --train "$T/train.npy" --query "$T/small.npy" --db "$T/small.npy" --seed 0 --out "$T/old"
      jget "$T/old/baseline.json" seconds_fit >> "$T/o"
      awk '{print $1 + $2}' "$T/old.time" >> "$T/oc" # the whole process: fit, load and encode
    fi
    "$BIN/dsah-baseline" -q "${THR[@]}" --method "$m" --bits 128 --train "$T/train.npy" --query "$T/small.npy" \
      --db "$T/small.npy" --seed 0 --out "$T/out"
    c=$(jget "$T/out/baseline.json" seconds_fit); echo "$c" >> "$T/c"
    jget "$T/out/baseline.json" cpu_seconds_fit >> "$T/cc"
    if [ "$m" = itq ]; then continue; fi
    /usr/bin/python3 "$HERE/ref_shallow.py" --method "$m" --bits 128 --train "$T/train.npy" --seed 0 > "$T/np.txt"
    p=$(awk '/^fit_seconds/ {print $2}' "$T/np.txt")
    echo "$p" >> "$T/p"
    awk '/^fit_cpu_seconds/ {print $2}' "$T/np.txt" >> "$T/pc"
    awk -v a="$c" -v b="$p" 'BEGIN {print a / b}' >> "$T/r"
  done
  if [ "$m" = itq ]; then
    printf 'bench: %-5s fit 10000 x 4096, 128 bits: C median %.2f s (%.2f CPU s) (n=%d, load %s) [no NumPy run here: tests/bench/ref_baselines.py]\n' \
      "$m" "$(median < "$T/c")" "$(median < "$T/cc")" "$RUNS" "$load"
  else
    printf 'bench: %-5s fit 10000 x 4096, 128 bits: C median %.2f s (%.2f CPU s), NumPy/SciPy median %.2f s (%.2f CPU s), C/NumPy median wall ratio %.2f (n=%d pairs, load %s)\n' \
      "$m" "$(median < "$T/c")" "$(median < "$T/cc")" "$(median < "$T/p")" "$(median < "$T/pc")" "$(median < "$T/r")" "$RUNS" "$load"
  fi
  if [ -n "${OLD_BIN:-}" ]; then
    printf 'bench: %-5s before (%s): C median %.2f s (%.2f CPU s of the whole process) (n=%d)\n' "$m" "$OLD_BIN" "$(median < "$T/o")" \
      "$(median < "$T/oc")" "$RUNS"
  fi
done
case " $METHODS " in *" sh "*)
  "$BIN/dsah-baseline" -q "${THR[@]}" --method sh --bits 128 --train "$T/train.npy" --query "$T/small.npy" --db "$T/train.npy" \
    --seed 0 --out "$T/sh"
  /usr/bin/python3 "$HERE/ref_shallow.py" --method sh --bits 128 --train "$T/train.npy" --codes "$T/sh_np.npy" > /dev/null
  /usr/bin/python3 - "$T/sh/db.npy" "$T/sh_np.npy" <<'PY'
import sys, numpy as np
a = np.unpackbits(np.load(sys.argv[1]), axis=1); b = np.unpackbits(np.load(sys.argv[2]), axis=1)
print(f"bench: sh codes of the 10000 training rows, C vs NumPy: {np.mean(a == b) * 100:.3f}% of bits equal")
PY
esac
