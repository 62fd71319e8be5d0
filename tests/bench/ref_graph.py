#!/usr/bin/python3
"""ref_graph.py: an independent NumPy implementation of DSAH's initial
similarity matrix (paper 4.2.1, docs/DESIGN.md §Math), to check the
numbers of `dsah-graph`.

    /usr/bin/python3 tests/bench/ref_graph.py --features F.npy --k1 K1 --k2 K2 \
        [--labels labels.npy --indices train.npy] [--compare graph/stats.json] \
        [--w0 graph/w0.npy] [--wl graph/wl.npy] [--tie-tol 1e-5] [--block 1000]

Prints a JSON object: n+ of W_L, W_H and W0 and, with labels, alpha, beta and
F_w of each against the same-label matrix (share >= 1 label, all n^2 ordered
pairs, diagonal included). --compare checks those against dsah-graph's
stats.json (integers exactly, ratios to 1e-9); --w0 compares W0 bit for bit
with dsah-graph's w0.npy; --wl compares the neighbour set of every row with
dsah-graph's wl.npy.

Exit status: 0 when everything compared agrees exactly; also 0 when the only
W_L differences are float32 near-ties, i.e. every neighbour dsah-graph chose
that numpy did not has a float64 cosine within --tie-tol of numpy's k1-th
value (dsah-graph's cosines come from float32 sgemm, so it cannot order
cosines closer than float32 resolution the way float64 does); the W_H, W0 and
F_w differences that follow from such rows are then reported, not failed.
Otherwise 1.

Written plainly, not from the C: cosine in float64 on L2-normalised rows,
k-NN by a stable sort (ties by ascending index), overlaps |N_i ∩ N_j| as a
dense 0/1 matrix product, W_H by a stable sort of the overlaps, W0 as dense
booleans. Memory is O(n^2) bytes (n = 10,000: about 0.6 GB), time
O(n^3) flops for the overlaps. Where two cosines differ by less than float32
rounding, float64 here and float32 sgemm in dsah-graph may order them
differently; such near-ties are rare on real features and show up as a few
differing bits in --w0.
"""
import argparse
import json
import sys

import numpy as np


def topk_stable(scores, k):
    """Indices of the k largest per row, ties by ascending index (stable sort)."""
    order = np.argsort(-scores, axis=1, kind="stable")
    return order[:, :k]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--features", required=True)
    ap.add_argument("--k1", type=int, required=True)
    ap.add_argument("--k2", type=int, required=True)
    ap.add_argument("--labels")
    ap.add_argument("--indices")
    ap.add_argument("--compare")
    ap.add_argument("--w0")
    ap.add_argument("--wl")
    ap.add_argument("--tie-tol", type=float, default=1e-5)
    ap.add_argument("--block", type=int, default=1000)
    a = ap.parse_args()

    x = np.load(a.features).astype(np.float64)
    n = x.shape[0]
    if not (1 <= a.k1 < n and 1 <= a.k2 < n):
        sys.exit("ref_graph: k1 and k2 must be in [1, n)")
    xn = x / np.linalg.norm(x, axis=1, keepdims=True)

    # W_L: k1 nearest by cosine, self excluded.
    wl = np.zeros((n, a.k1), dtype=np.int64)
    cwl = np.load(a.wl) if a.wl else None
    wl_rows, wl_gap = 0, 0.0  # rows whose sets differ; largest shortfall below numpy's k1-th cosine
    for r0 in range(0, n, a.block):
        r1 = min(n, r0 + a.block)
        s = xn[r0:r1] @ xn.T
        s[np.arange(r1 - r0), np.arange(r0, r1)] = -np.inf
        wl[r0:r1] = topk_stable(s, a.k1)
        if cwl is not None:
            for r in range(r1 - r0):
                mine, theirs = set(wl[r0 + r].tolist()), set(cwl[r0 + r].tolist())
                if mine != theirs:
                    wl_rows += 1
                    kth = s[r, wl[r0 + r, a.k1 - 1]]
                    wl_gap = max(wl_gap, max(kth - s[r, j] for j in theirs - mine))
    A = np.zeros((n, n), dtype=np.float32)
    A[np.repeat(np.arange(n), a.k1), wl.ravel()] = 1.0

    # W_H: top-k2 by overlap, self excluded; W0 = W_L and W_H.
    WL = A.astype(bool)
    W0 = np.zeros((n, n), dtype=bool)
    WH_rows = []
    for r0 in range(0, n, a.block):
        r1 = min(n, r0 + a.block)
        ov = (A[r0:r1] @ A.T).astype(np.int64)  # exact: counts < 2^24
        ov[np.arange(r1 - r0), np.arange(r0, r1)] = -1
        h = topk_stable(ov, a.k2)
        WH_rows.append(h)
        blk = np.zeros((r1 - r0, n), dtype=bool)
        blk[np.repeat(np.arange(r1 - r0), a.k2), h.ravel()] = True
        W0[r0:r1] = WL[r0:r1] & blk
    wh = np.concatenate(WH_rows)
    W0 = W0 | W0.T
    W0[np.arange(n), np.arange(n)] = True

    out = {"n": n, "k1": a.k1, "k2": a.k2,
           "n_plus_wl": int(WL.sum()), "n_plus_wh": int(n * a.k2), "n_plus_w0": int(W0.sum())}
    if a.labels:
        lab = np.load(a.labels)[np.load(a.indices)].astype(np.float32)
        same = (lab @ lab.T) > 0  # share at least one label
        nsame = int(same.sum())
        out["same_label_pairs"] = nsame
        rows = np.arange(n)
        tps = {"wl": int(same[np.repeat(rows, a.k1), wl.ravel()].sum()),
               "wh": int(same[np.repeat(rows, a.k2), wh.ravel()].sum()),
               "w0": int((W0 & same).sum())}
        for key, tp in tps.items():
            npos = out["n_plus_" + key]
            al, be = tp / npos, tp / nsame if nsame else float("nan")
            out["tp_" + key] = tp
            out["alpha_" + key] = al
            out["beta_" + key] = be
            out["f_w_" + key] = 0.0 if tp == 0 else 2.0 / (1.0 / al + 1.0 / be)
    print(json.dumps(out, indent=2))

    bad, near_ties = 0, False
    if cwl is not None:
        near_ties = wl_rows > 0 and wl_gap <= a.tie_tol
        if wl_rows == 0:
            print(f"wl {a.wl}: identical neighbour sets", file=sys.stderr)
        else:
            print(f"wl {a.wl}: {wl_rows} rows with a different neighbour set; largest cosine shortfall "
                  f"{wl_gap:.3g} ({'float32 near-ties, within' if wl_gap <= a.tie_tol else 'BEYOND'} "
                  f"--tie-tol {a.tie_tol:g})", file=sys.stderr)
        bad += wl_gap > a.tie_tol
    if a.compare:
        c = json.load(open(a.compare))
        mism = 0
        for key, v in out.items():
            if key not in c:
                continue
            same_v = c[key] == v if isinstance(v, int) else abs(c[key] - v) <= 1e-9
            if not same_v:
                print(f"MISMATCH {key}: dsah-graph {c[key]} numpy {v}", file=sys.stderr)
                mism += 1
        print(f"compare {a.compare}: {'agree' if not mism else f'{mism} mismatches'}", file=sys.stderr)
        bad += mism > 0 and not near_ties
    if a.w0:
        bits = np.unpackbits(np.load(a.w0), axis=1, bitorder="little")[:, :n].astype(bool)
        diff = int((bits != W0).sum())
        print(f"w0 {a.w0}: {diff} differing bits of {n * n}", file=sys.stderr)
        bad += diff != 0 and not near_ties
    if near_ties:
        print("differences in W_H, W0 and F_w (if any) follow from the W_L near-ties above; not failures",
              file=sys.stderr)
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
