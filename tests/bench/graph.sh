#!/bin/bash
# graph.sh: figures of dsah-graph and dsah-and (issue "Adaptive Neighbor
# Discovery"):
#   dsah-graph, n = 10,000, d = 4,096, k1 = k2 = 500: limit 10 s (median of 5)
#   dsah-and,   n = 10,000, l = 128, gamma = 1:        limit 1 s  (median of 5)
#   dsah-graph, n = 50,000, d = 512, k1 = k2 = 100: runs once, peak memory
#               from /usr/bin/time -v, limit 4 GiB
# Features are random clustered data (100 gaussian clusters) generated here
# with numpy; the AND codes are tanh of a random projection of them, and W is
# the W0 of the first run. Timings are wall clock of the whole command
# (reading inputs and writing outputs included) with all cores (--threads
# default). Set BENCH_REPS to change the number of repetitions.
set -eu -o pipefail
BIN=${DSAH_BIN:-$(cd "$(dirname "$0")/../.." && pwd)/bin}
PY=/usr/bin/python3
REPS=${BENCH_REPS:-5}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
echo "bench: machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) at start"

$PY - "$T" <<'PY'
import numpy as np, sys
t = sys.argv[1]
def clustered(n, d, c, seed):
    rng = np.random.default_rng(seed)
    cent = rng.standard_normal((c, d), dtype=np.float32)
    lab = rng.integers(0, c, n)
    x = cent[lab] + 1.5 * rng.standard_normal((n, d), dtype=np.float32)
    return np.maximum(x, 0).astype(np.float32), lab  # relu-like, as VGG fc7 features
x, lab = clustered(10000, 4096, 100, 1)
np.save(f"{t}/x10k.npy", x)
L = np.zeros((10000, 100), np.uint8); L[np.arange(10000), lab] = 1
np.save(f"{t}/labels10k.npy", L); np.save(f"{t}/idx10k.npy", np.arange(10000, dtype=np.int64))
proj = np.random.default_rng(2).standard_normal((4096, 128), dtype=np.float32) / 64
np.save(f"{t}/z10k.npy", np.tanh(x @ proj).astype(np.float32))
del x
x, _ = clustered(50000, 512, 100, 3)
np.save(f"{t}/x50k.npy", x)
PY

median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
timeit() { local s e; s=$(date +%s.%N); "$@"; e=$(date +%s.%N); echo "$e - $s" | bc -l; }

: >"$T/tg"
for r in $(seq "$REPS"); do
    timeit "$BIN/dsah-graph" -q --features "$T/x10k.npy" --k1 500 --k2 500 --out "$T/g" >>"$T/tg"
done
printf 'bench: dsah-graph n=10000 d=4096 k1=k2=500: median %.2f s (n=%d) [limit 10 s] runs: %s\n' \
    "$(median <"$T/tg")" "$REPS" "$(tr '\n' ' ' <"$T/tg")"
"$BIN/dsah-graph" -q --features "$T/x10k.npy" --k1 500 --k2 500 --labels "$T/labels10k.npy" --indices "$T/idx10k.npy" --out "$T/gl"
cmp "$T/g/w0.npy" "$T/gl/w0.npy"
echo "bench: dsah-graph n=10000 stats: $(tr -d '\n ' <"$T/gl/stats.json")"

: >"$T/ta"
for r in $(seq "$REPS"); do
    timeit "$BIN/dsah-and" -q --codes "$T/z10k.npy" --w "$T/g/w0.npy" --gamma 1 --out "$T/r/w.npy" >>"$T/ta"
done
printf 'bench: dsah-and n=10000 l=128: median %.3f s (n=%d) [limit 1 s] runs: %s\n' \
    "$(median <"$T/ta")" "$REPS" "$(tr '\n' ' ' <"$T/ta")"
echo "bench: dsah-and n=10000 and.json: $(tr -d '\n ' <"$T/r/and.json")"

/usr/bin/time -v "$BIN/dsah-graph" -q --features "$T/x50k.npy" --k1 100 --k2 100 --out "$T/g50" 2>"$T/time50"
rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$T/time50")
wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$T/time50")
printf 'bench: dsah-graph n=50000 d=512 k1=k2=100: peak memory %.0f MiB (n=1) [limit 4096 MiB], wall %s\n' \
    "$(echo "$rss / 1024" | bc -l)" "$wall"
echo "bench: load average $(cut -d' ' -f1-3 /proc/loadavg) at end (other helpers share this machine)"
[ "$rss" -lt $((4 * 1024 * 1024)) ]
