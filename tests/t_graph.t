#!/bin/bash
# t_graph.t: dsah-graph and dsah-and through the binaries: outputs, bad inputs
# (k >= n, NaN row, zero row, W of the wrong size or asymmetric, mismatched
# labels, --device cuda) with no output left behind, byte-identical outputs
# for --threads 1 and 2, and the numpy reference agreeing with dsah-graph.
set -u
. "$(dirname "$0")/lib.sh"
BIN=${DSAH_BIN:-$(dirname "$0")/../bin}
PY=/usr/bin/python3
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
# expect_fail NAME PATTERN OUTFILE CMD...: non-zero exit, one error line
# matching PATTERN, OUTFILE absent.
expect_fail() {
    local name=$1 pat=$2 out=$3; shift 3
    "$@" >"$T/out.txt" 2>"$T/err.txt"; local rc=$?
    local good=0
    [ $rc -ne 0 ] || good=1
    grep -q "error: .*$pat" "$T/err.txt" || good=1
    [ ! -e "$out" ] || good=1
    ok $good "$name (rc $rc: $(head -1 "$T/err.txt"))"
}

$PY - "$T" <<'PY'
import numpy as np, sys
t = sys.argv[1]
rng = np.random.default_rng(0)
n, d, c = 400, 24, 6
lab = rng.integers(0, c, n)
cent = rng.standard_normal((c, d))
x = (cent[lab] + 0.8 * rng.standard_normal((n, d))).astype(np.float32)
np.save(f"{t}/x.npy", x)
L = np.zeros((n + 5, c), np.uint8); L[np.arange(n), lab] = 1
np.save(f"{t}/labels.npy", L)
np.save(f"{t}/idx.npy", np.arange(n, dtype=np.int64))
np.save(f"{t}/idx_short.npy", np.arange(n - 1, dtype=np.int64))
np.save(f"{t}/idx_bad.npy", np.arange(n, dtype=np.int64) + 10)
xn = x.copy(); xn[17, 3] = np.nan; np.save(f"{t}/x_nan.npy", xn)
xz = x.copy(); xz[5] = 0; np.save(f"{t}/x_zero.npy", xz)
np.save(f"{t}/x_1row.npy", x[:1])
np.save(f"{t}/codes.npy", np.tanh(x[:, :16] @ rng.standard_normal((16, 16))).astype(np.float32))
np.save(f"{t}/codes_short.npy", np.tanh(x[:-8, :16]).astype(np.float32))
PY
ok $? "fixtures"

G="$BIN/dsah-graph"; A="$BIN/dsah-and"
"$G" -q --features "$T/x.npy" --k1 30 --k2 20 --labels "$T/labels.npy" --indices "$T/idx.npy" --out "$T/g1" --threads 1
ok $? "dsah-graph runs (1 thread)"
"$G" -q --features "$T/x.npy" --k1 30 --k2 20 --labels "$T/labels.npy" --indices "$T/idx.npy" --out "$T/g2" --threads 2 --device cpu
ok $? "dsah-graph runs (2 threads, --device cpu)"
# Exact on purpose: dsah-graph's blocking does not depend on --threads and
# each sgemm runs single-threaded (graph.h), so both runs make the same BLAS
# calls on this machine.
cmp -s "$T/g1/wl.npy" "$T/g2/wl.npy" && cmp -s "$T/g1/w0.npy" "$T/g2/w0.npy"
ok $? "wl.npy and w0.npy byte-identical for --threads 1 and 2 (the same BLAS calls)"
$PY - "$T/g1" <<'PY'
import numpy as np, json, sys
g = sys.argv[1]; s = json.load(open(f"{g}/stats.json"))
wl = np.load(f"{g}/wl.npy"); w = np.load(f"{g}/w0.npy")
n = 400
b = np.unpackbits(w, axis=1, bitorder="little")[:, :n].astype(bool)
assert wl.shape == (n, 30) and wl.dtype == np.int32 and w.shape == (n, 50) and w.dtype == np.uint8
assert (b == b.T).all() and b.diagonal().all() and (wl != np.arange(n)[:, None]).all()
assert s["n_plus_w0"] == int(b.sum()) and s["n_plus_wl"] == n * 30 and s["n_plus_wh"] == n * 20
assert 0 < s["f_w_w0"] <= 1 and abs(s["f_w_w0"] - 2 / (1 / s["alpha_w0"] + 1 / s["beta_w0"])) < 1e-8
PY
ok $? "outputs: shapes, dtypes, symmetric W0 with diagonal, no self in W_L, stats consistent"
$PY "$(dirname "$0")/bench/ref_graph.py" --features "$T/x.npy" --k1 30 --k2 20 --labels "$T/labels.npy" \
    --indices "$T/idx.npy" --compare "$T/g1/stats.json" --w0 "$T/g1/w0.npy" --wl "$T/g1/wl.npy" >/dev/null 2>"$T/ref.txt"
# Exit 0: identical, or differing only by float32 near-ties (cosines within
# 1e-5 of the k1-th), which the BLAS kernel picked at run time may order
# either way (ref_graph.py explains).
ok $? "numpy reference agrees: $(tr '\n' ' ' <"$T/ref.txt")"

"$A" -q --codes "$T/codes.npy" --w "$T/g1/w0.npy" --gamma 1 --labels "$T/labels.npy" --indices "$T/idx.npy" --out "$T/r1/w.npy" --threads 1
ok $? "dsah-and runs (1 thread)"
"$A" -q --codes "$T/codes.npy" --w "$T/g1/w0.npy" --gamma 1 --labels "$T/labels.npy" --indices "$T/idx.npy" --out "$T/r2/w.npy" --threads 2
cmp -s "$T/r1/w.npy" "$T/r2/w.npy" && diff <(grep -v seconds "$T/r1/and.json" | grep -v threads) <(grep -v seconds "$T/r2/and.json" | grep -v threads) >/dev/null
ok $? "dsah-and: w.npy and and.json statistics identical for --threads 1 and 2"
$PY - "$T" <<'PY'
import numpy as np, json, sys
t = sys.argv[1]; j = json.load(open(f"{t}/r1/and.json")); n = 400
z = np.load(f"{t}/codes.npy").astype(np.float64)
w = np.unpackbits(np.load(f"{t}/g1/w0.npy"), axis=1, bitorder="little")[:, :n].astype(bool)
zn = z / np.linalg.norm(z, axis=1, keepdims=True); s = zn @ zn.T; np.fill_diagonal(s, 1.0)
mu = s[w].mean(); sd = s[w].std(ddof=1); m = mu + sd
new = w | (s >= m)
out = np.unpackbits(np.load(f"{t}/r1/w.npy"), axis=1, bitorder="little")[:, :n].astype(bool)
assert abs(j["mu"] - mu) < 1e-6 and abs(j["sigma"] - sd) < 1e-6 and abs(j["m"] - m) < 1e-6, (j, mu, sd)
assert j["n_plus_before"] == int(w.sum()) and j["n_plus_after"] == int(out.sum())
assert (out == new).all(), int((out != new).sum())
assert j["f_w"] is not None and j["f_w_before"] is not None
PY
ok $? "dsah-and matches numpy (mu, sigma, m, n+, flipped set)"

expect_fail "graph: k1 >= n" "must be < n" "$T/b1/w0.npy" "$G" --features "$T/x.npy" --k1 400 --k2 5 --out "$T/b1"
expect_fail "graph: k2 >= n" "must be < n" "$T/b2/w0.npy" "$G" --features "$T/x.npy" --k1 5 --k2 500 --out "$T/b2"
expect_fail "graph: NaN row" "row 17, column 3 is NaN" "$T/b3/w0.npy" "$G" --features "$T/x_nan.npy" --k1 5 --k2 5 --out "$T/b3"
expect_fail "graph: zero row" "row 5 is all zero" "$T/b4/w0.npy" "$G" --features "$T/x_zero.npy" --k1 5 --k2 5 --out "$T/b4"
expect_fail "graph: one row" "n >= 2" "$T/b5/w0.npy" "$G" --features "$T/x_1row.npy" --k1 1 --k2 1 --out "$T/b5"
expect_fail "graph: indices of the wrong length" "idx_short.npy: expected dimension 0 to be 400 (one index per row of --features), found shape .399." "$T/b6/w0.npy" "$G" --features "$T/x.npy" --k1 5 --k2 5 --labels "$T/labels.npy" --indices "$T/idx_short.npy" --out "$T/b6"
expect_fail "graph: index out of range" "outside the 405 rows" "$T/b7/w0.npy" "$G" --features "$T/x.npy" --k1 5 --k2 5 --labels "$T/labels.npy" --indices "$T/idx_bad.npy" --out "$T/b7"
expect_fail "graph: --labels without --indices" "go together" "$T/b8/w0.npy" "$G" --features "$T/x.npy" --k1 5 --k2 5 --labels "$T/labels.npy" --out "$T/b8"
expect_fail "graph: --device cuda" "no CUDA" "$T/b9/w0.npy" "$G" --features "$T/x.npy" --k1 5 --k2 5 --device cuda --out "$T/b9"
expect_fail "graph: wrong dtype" "expected dtype" "$T/b10/w0.npy" "$G" --features "$T/labels.npy" --k1 5 --k2 5 --out "$T/b10"
expect_fail "graph: k1 = 0" "--k1 0: must be in" "$T/b11/w0.npy" "$G" --features "$T/x.npy" --k1 0 --k2 5 --out "$T/b11"
expect_fail "and: W of the wrong size" "w0.npy: expected dimension 0 to be 392 (one row per row of --codes)" "$T/c1/w.npy" "$A" --codes "$T/codes_short.npy" --w "$T/g1/w0.npy" --gamma 1 --out "$T/c1/w.npy"
$PY -c "
import numpy as np; w = np.load('$T/g1/w0.npy').copy(); w[3, 0] &= 0xF7; np.save('$T/w_nodiag.npy', w)
w = np.load('$T/g1/w0.npy').copy(); b = np.unpackbits(w, axis=1, bitorder='little'); b[2, 9] ^= 1 if b[9, 2] == b[2, 9] else 0
np.save('$T/w_asym.npy', np.packbits(b, axis=1, bitorder='little'))"
expect_fail "and: W without diagonal" "diagonal bit of row 3" "$T/c2/w.npy" "$A" --codes "$T/codes.npy" --w "$T/w_nodiag.npy" --gamma 1 --out "$T/c2/w.npy"
expect_fail "and: asymmetric W" "not symmetric" "$T/c3/w.npy" "$A" --codes "$T/codes.npy" --w "$T/w_asym.npy" --gamma 1 --out "$T/c3/w.npy"
expect_fail "and: NaN codes" "is NaN" "$T/c4/w.npy" "$A" --codes "$T/x_nan.npy" --w "$T/g1/w0.npy" --gamma 1 --out "$T/c4/w.npy"
expect_fail "and: zero code row" "row 5 is all zero" "$T/c5/w.npy" "$A" --codes "$T/x_zero.npy" --w "$T/g1/w0.npy" --gamma 1 --out "$T/c5/w.npy"
expect_fail "and: mismatched labels" "idx_short.npy: expected dimension 0 to be 400 (one index per row of --codes), found shape .399." "$T/c6/w.npy" "$A" --codes "$T/codes.npy" --w "$T/g1/w0.npy" --gamma 1 --labels "$T/labels.npy" --indices "$T/idx_short.npy" --out "$T/c6/w.npy"
expect_fail "and: gamma not a number" "--gamma abc: not a finite number" "$T/c7/w.npy" "$A" --codes "$T/codes.npy" --w "$T/g1/w0.npy" --gamma abc --out "$T/c7/w.npy"
expect_fail "and: gamma missing" "missing --gamma" "$T/c8/w.npy" "$A" --codes "$T/codes.npy" --w "$T/g1/w0.npy" --out "$T/c8/w.npy"
expect_fail "and: --device cuda:0" "no CUDA" "$T/c9/w.npy" "$A" --codes "$T/codes.npy" --w "$T/g1/w0.npy" --gamma 1 --device cuda:0 --out "$T/c9/w.npy"
"$G" --help | grep -q -- "--k2" && "$A" --help | grep -q "n+ - 1"
ok $? "--help of both stages"
done_testing
