#!/usr/bin/python3
"""ref_baselines.py: an independent NumPy implementation of LSH, ITQ and the
retrieval metrics (mAP@K, P@N by a stable argsort), to check dsah-baseline and
dsah-eval on the same feature/label/split files.

Run with Debian's numpy: /usr/bin/python3 tests/bench/ref_baselines.py \\
    --train F_train.npy --query F_query.npy --db F_db.npy \\
    --labels data/labels.npy --query-indices data/query.npy --db-indices data/db.npy \\
    [--bits 16,32,64,128] [--seed 0] [--iters 50] [--runs 3] [--bin bin] [--work DIR]

For every bit length it
  1. runs bin/dsah-baseline (lsh, itq) and bin/dsah-eval on the C codes;
  2. re-evaluates the C codes here (argsort): must equal dsah-eval's mAP@K and
     P@N within 1e-6 (same codes, so this checks the metric code exactly);
  3. fits ITQ and LSH here with NumPy's own random numbers (the two sides
     cannot share random draws): ITQ's mAP must agree within --itq-tol
     (default 0.02 absolute); LSH, being a random method, is compared
     statistically over --runs seeds on each side: the means must agree within
     3 standard errors + 0.01.
Prints one table row per (bits, method) and exits 1 when a check fails.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np


def ranks_metrics(qcodes, dbcodes, qlab, dblab, topk, pat):
    """mAP@K for K in topk and P@N for N in pat: ranking by Hamming distance,
    ties by ascending db index (stable argsort), relevant = share a label.
    K or N above n_db is clipped to n_db."""
    nbits = qcodes.shape[1] * 8
    qb = np.unpackbits(qcodes, axis=1, bitorder="little").astype(np.float32)
    db = np.unpackbits(dbcodes, axis=1, bitorder="little").astype(np.float32)
    n_db = db.shape[0]
    topk = [min(k, n_db) if k > 0 else n_db for k in topk]
    pat = [min(k, n_db) if k > 0 else n_db for k in pat]
    kmax = max(topk + pat)
    ap = {k: 0.0 for k in topk}
    pr = {k: 0.0 for k in pat}
    dsum = db.sum(1)
    ql = qlab.astype(np.float32)
    dl = dblab.astype(np.float32)
    for s in range(0, qb.shape[0], 64):
        q = qb[s:s + 64]
        dist = np.rint(q.sum(1)[:, None] + dsum[None, :] - 2.0 * (q @ db.T)).astype(np.int32)
        assert dist.min() >= 0 and dist.max() <= nbits
        order = np.argsort(dist, axis=1, kind="stable")[:, :kmax]
        rel = ((ql[s:s + 64] @ dl.T) > 0)
        relk = np.take_along_axis(rel, order, axis=1).astype(np.float64)
        cum = np.cumsum(relk, axis=1)
        prec = cum / np.arange(1, kmax + 1)[None, :]
        for k in topk:
            R = cum[:, k - 1]
            num = (prec[:, :k] * relk[:, :k]).sum(1)
            ap[k] += np.where(R > 0, num / np.maximum(R, 1), 0.0).sum()
        for k in pat:
            pr[k] += (cum[:, k - 1] / k).sum()
    nq = qb.shape[0]
    return {k: v / nq for k, v in ap.items()}, {k: v / nq for k, v in pr.items()}


def pack(signs_nonneg):
    return np.packbits(signs_nonneg.astype(np.uint8), axis=1, bitorder="little")


def lsh_fit(x, bits, rng):
    mean = x.mean(0, dtype=np.float64)
    P = rng.standard_normal((x.shape[1], bits))
    return mean, P


def itq_fit(x, bits, iters, rng):
    mean = x.mean(0, dtype=np.float64)
    xc = x.astype(np.float64) - mean
    w, v = np.linalg.eigh(xc.T @ xc)
    W = v[:, ::-1][:, :bits]
    V = xc @ W
    R, _ = np.linalg.qr(rng.standard_normal((bits, bits)))
    losses = []
    for _ in range(iters):
        Z = V @ R
        B = np.where(Z >= 0, 1.0, -1.0)
        losses.append(float(((B - Z) ** 2).sum()))
        U, _, Wt = np.linalg.svd(V.T @ B)
        R = U @ Wt
    Z = V @ R
    losses.append(float(((np.where(Z >= 0, 1.0, -1.0) - Z) ** 2).sum()))
    return mean, W @ R, losses


def encode(x, mean, P):
    return pack((x.astype(np.float64) - mean) @ P >= 0)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--train", required=True)
    ap.add_argument("--query", required=True)
    ap.add_argument("--db", required=True)
    ap.add_argument("--labels", required=True)
    ap.add_argument("--query-indices", required=True)
    ap.add_argument("--db-indices", required=True)
    ap.add_argument("--bits", default="16,32,64,128")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--iters", type=int, default=50)
    ap.add_argument("--runs", type=int, default=3, help="LSH seeds per side (default 3)")
    ap.add_argument("--topk", type=int, default=5000)
    ap.add_argument("--precision-at", type=int, default=100)
    ap.add_argument("--itq-tol", type=float, default=0.02)
    ap.add_argument("--bin", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "bin"))
    ap.add_argument("--work", default=None, help="directory for the C outputs (default: a temporary one)")
    a = ap.parse_args()

    xt = np.load(a.train, mmap_mode="r")
    xq = np.load(a.query, mmap_mode="r")
    xd = np.load(a.db, mmap_mode="r")
    labels = np.load(a.labels, mmap_mode="r")
    qi = np.load(a.query_indices)
    di = np.load(a.db_indices)
    qlab, dblab = np.asarray(labels[qi]), np.asarray(labels[di])
    work = a.work or tempfile.mkdtemp(prefix="ref_baselines.")
    K, N = a.topk, a.precision_at
    failed = False

    def c_run(method, bits, seed):
        out = os.path.join(work, f"{method}_{bits}_{seed}")
        subprocess.run([os.path.join(a.bin, "dsah-baseline"), "-q", "--method", method, "--bits", str(bits),
                        "--train", a.train, "--query", a.query, "--db", a.db, "--seed", str(seed),
                        "--iters", str(a.iters), "--out", out], check=True)
        subprocess.run([os.path.join(a.bin, "dsah-eval"), "-q", "--query-codes", os.path.join(out, "query.npy"),
                        "--db-codes", os.path.join(out, "db.npy"), "--labels", a.labels,
                        "--query-indices", a.query_indices, "--db-indices", a.db_indices,
                        "--topk", str(K), "--precision-at", str(N), "--out", os.path.join(out, "eval")], check=True)
        with open(os.path.join(out, "eval", "metrics.json")) as f:
            m = json.load(f)
        qc, dc = np.load(os.path.join(out, "query.npy")), np.load(os.path.join(out, "db.npy"))
        return m[f"mAP@{K}"], m[f"P@{N}"], qc, dc

    print(f"{'bits':>4} {'method':>6} {'C mAP@%d' % K:>12} {'np mAP@%d' % K:>13} {'C P@%d' % N:>9} "
          f"{'np P@%d' % N:>9}  check")
    for bits in [int(b) for b in a.bits.split(",")]:
        # 1+2: C codes, C metrics vs metrics recomputed here
        c_itq = c_run("itq", bits, a.seed)
        c_lsh = [c_run("lsh", bits, a.seed + r) for r in range(a.runs)]
        for name, (cm, cp, qc, dc) in [("itq", c_itq), ("lsh", c_lsh[0])]:
            rm, rp = ranks_metrics(qc, dc, qlab, dblab, [K], [N])
            good = abs(rm[K] - cm) < 1e-6 and abs(rp[N] - cp) < 1e-6
            failed |= not good
            print(f"{bits:>4} {name:>6} {cm:12.6f} {rm[K]:13.6f} {cp:9.4f} {rp[N]:9.4f}  "
                  f"eval on C codes {'agrees' if good else 'DISAGREES'} (1e-6)")
        # 3: NumPy fits
        mean, P, losses = itq_fit(np.asarray(xt), bits, a.iters, np.random.default_rng(a.seed))
        nm, npr = ranks_metrics(encode(xq, mean, P), encode(xd, mean, P), qlab, dblab, [K], [N])
        good = abs(nm[K] - c_itq[0]) <= a.itq_tol
        failed |= not good
        print(f"{bits:>4} {'itq':>6} {c_itq[0]:12.6f} {nm[K]:13.6f} {c_itq[1]:9.4f} {npr[N]:9.4f}  "
              f"ITQ C vs NumPy |diff| {abs(nm[K] - c_itq[0]):.4f} {'<=' if good else '>'} {a.itq_tol} "
              f"(NumPy loss {losses[0]:.6g} -> {losses[-1]:.6g})")
        np_lsh = []
        for r in range(a.runs):
            mean, P = lsh_fit(np.asarray(xt), bits, np.random.default_rng(1000 + a.seed + r))
            np_lsh.append(ranks_metrics(encode(xq, mean, P), encode(xd, mean, P), qlab, dblab, [K], [N])[0][K])
        c_m = np.array([c[0] for c in c_lsh])
        n_m = np.array(np_lsh)
        se = np.sqrt(c_m.var(ddof=1) / len(c_m) + n_m.var(ddof=1) / len(n_m)) if a.runs > 1 else 0.0
        good = abs(c_m.mean() - n_m.mean()) <= 3 * se + 0.01
        failed |= not good
        print(f"{bits:>4} {'lsh':>6} {c_m.mean():12.6f} {n_m.mean():13.6f} {'':>9} {'':>9}  "
              f"LSH mean of {a.runs} seeds |diff| {abs(c_m.mean() - n_m.mean()):.4f} "
              f"{'<=' if good else '>'} 3 s.e. + 0.01 = {3 * se + 0.01:.4f}")
        sys.stdout.flush()
    print("ref_baselines: " + ("FAILED" if failed else "all checks passed"))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
