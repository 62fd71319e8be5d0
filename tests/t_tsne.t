#!/bin/bash
# t_tsne.t: dsah-tsne against sklearn.manifold.TSNE (Debian's python3-sklearn).
#  - on 300 points in 4 Gaussian clusters of 20 dimensions with different
#    spreads: the trustworthiness dsah-tsne reports equals
#    sklearn.manifold.trustworthiness of its embedding (k = 5, 10), and is at
#    least sklearn's own exact t-SNE's (same perplexity and iterations,
#    random init) minus 0.01;
#  - on packed 64-bit codes with labels: tsne.tsv's classes are the labels
#    of items.npy's rows, and trustworthiness is sklearn's on the +-1 vectors;
#  - the same seed gives the same files; bad input: one error line, nothing written.
set -u
. "$(dirname "$0")/lib.sh"
BIN=${DSAH_BIN:-$(cd "$(dirname "$0")/.." && pwd)/bin}
PY=/usr/bin/python3
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
if ! $PY -c 'import sklearn, numpy' 2>/dev/null; then
  skip_all "Debian python3-sklearn / python3-numpy not installed"
fi
$PY - "$T" <<'PY'
import sys, numpy as np
T = sys.argv[1]; r = np.random.default_rng(1)
cent = r.normal(0, 6, (4, 20)); spread = np.array([0.5, 1.0, 2.0, 3.0])
c = np.arange(300) % 4
np.save(f"{T}/x.npy", (cent[c] + r.normal(0, 1, (300, 20)) * spread[c, None]).astype(np.float32))
# codes: 10 centres, 64 bits, 6% flips; labels = the centre
cc = r.integers(0, 2, (10, 64), dtype=np.uint8); lab = r.integers(0, 10, 900)
bits = cc[lab] ^ (r.random((900, 64)) < 0.06)
np.save(f"{T}/codes.npy", np.packbits(bits.astype(np.uint8), axis=1, bitorder='little'))
L = np.zeros((1000, 10), np.uint8); rows = np.arange(900) + 100; L[rows, lab] = 1
np.save(f"{T}/labels.npy", L); np.save(f"{T}/idx.npy", rows.astype(np.int64))
PY
# python checks print "RC<tab>description" lines; each becomes one TAP line
check() { while IFS=$'\t' read -r rc what; do case $rc in 0|1) ok "$rc" "$what" ;; *) echo "# $what" ;; esac; done; }
"$BIN/dsah-tsne" -q --input "$T/x.npy" --points 0 --perplexity 30 --iters 1000 --seed 0 --out "$T/f"; ok $? "dsah-tsne on 300 float points"
$PY - "$T" > "$T/res" <<'PY' 
import sys, json, numpy as np
from sklearn.manifold import TSNE, trustworthiness
T = sys.argv[1]
X = np.load(f"{T}/x.npy"); Y = np.load(f"{T}/f/tsne.npy"); j = json.load(open(f"{T}/f/tsne.json"))
t5, t10 = trustworthiness(X, Y, n_neighbors=5), trustworthiness(X, Y, n_neighbors=10)
print(f"#\tC: T(5) {j['trustworthiness_5']:.6f} (sklearn on C's embedding {t5:.6f}), T(10) {j['trustworthiness_10']:.6f} ({t10:.6f}), KL {j['kl']:.4f}")
ok1 = abs(t5 - j['trustworthiness_5']) < 1e-6 and abs(t10 - j['trustworthiness_10']) < 1e-6
S = TSNE(n_components=2, perplexity=30, method='exact', init='random', learning_rate='auto', n_iter=1000, random_state=0).fit_transform(X)
s5, s10 = trustworthiness(X, S, n_neighbors=5), trustworthiness(X, S, n_neighbors=10)
print(f"#\tsklearn TSNE (exact, random init): T(5) {s5:.6f}, T(10) {s10:.6f}")
print(f"{0 if ok1 else 1}\tfloat points: trustworthiness in tsne.json = sklearn.manifold.trustworthiness of the embedding (k = 5, 10)")
print(f"{0 if (t5 >= s5 - 0.01 and t10 >= s10 - 0.01) else 1}\tfloat points: trustworthiness >= sklearn exact TSNE's - 0.01 (C {t5:.4f}/{t10:.4f}, sklearn {s5:.4f}/{s10:.4f})")
PY
check < "$T/res"
"$BIN/dsah-tsne" -q --input "$T/codes.npy" --labels "$T/labels.npy" --indices "$T/idx.npy" --points 300 --iters 500 --seed 4 --out "$T/c"; ok $? "dsah-tsne on 300 of 900 packed 64-bit codes with labels"
"$BIN/dsah-tsne" -q --input "$T/codes.npy" --labels "$T/labels.npy" --indices "$T/idx.npy" --points 300 --iters 500 --seed 4 --out "$T/c2"
cmp -s "$T/c/tsne.npy" "$T/c2/tsne.npy" && cmp -s "$T/c/items.npy" "$T/c2/items.npy"; ok $? "same seed: identical embedding and sample"
$PY - "$T" > "$T/res" <<'PY' 
import sys, json, numpy as np
from sklearn.manifold import trustworthiness
T = sys.argv[1]
C = np.unpackbits(np.load(f"{T}/codes.npy"), axis=1, bitorder='little').astype(np.float64) * 2 - 1
items = np.load(f"{T}/c/items.npy"); Y = np.load(f"{T}/c/tsne.npy"); j = json.load(open(f"{T}/c/tsne.json"))
tsv = np.loadtxt(f"{T}/c/tsne.tsv", skiprows=1)
L = np.load(f"{T}/labels.npy"); idx = np.load(f"{T}/idx.npy")
print(f"{0 if (len(items) == 300 and np.all(np.diff(items) > 0) and items.max() < 900) else 1}\tcodes: 300 distinct rows drawn, ascending")
print(f"{0 if np.array_equal(tsv[:, 2].astype(int), L[idx[items]].argmax(1)) else 1}\tcodes: tsne.tsv's class column = the labels of the drawn rows")
print(f"{0 if np.allclose(tsv[:, :2], Y, rtol=1e-5, atol=1e-6) else 1}\tcodes: tsne.tsv's x, y = tsne.npy")
# the codes have ties of Hamming distance: compare where the input ranks agree (k=5 with sklearn's argsort can
# order ties differently), so check the statistic is high and close
t5 = trustworthiness(C[items], Y, n_neighbors=5)
print(f"#\tcodes: T(5) C {j['trustworthiness_5']:.4f}, sklearn on the same embedding {t5:.4f}")
print(f"{0 if (abs(t5 - j['trustworthiness_5']) < 0.02 and t5 > 0.8) else 1}\tcodes: trustworthiness near sklearn's on the +-1 vectors (ties ordered differently) and > 0.8")
PY
check < "$T/res"
# bad input
$PY -c "import numpy as np; x=np.ones((10,3),np.float32); x[2,1]=np.nan; np.save('$T/nan.npy', x)"
out=$("$BIN/dsah-tsne" --input "$T/nan.npy" --out "$T/bad" 2>&1); rc=$?
[ $rc -ne 0 ] && [ "$(echo "$out" | wc -l)" = 1 ] && echo "$out" | grep -q "nan.npy" && [ ! -e "$T/bad/tsne.npy" ]; ok $? "NaN in features: one error line naming the file, nothing written ($out)"
out=$("$BIN/dsah-tsne" --input "$T/x.npy" --points 20 --perplexity 30 --out "$T/bad" 2>&1); rc=$?
[ $rc -ne 0 ] && echo "$out" | grep -q -- "--perplexity" && [ ! -e "$T/bad/tsne.npy" ]; ok $? "perplexity above the points: refused ($out)"
done_testing
