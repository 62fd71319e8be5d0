#!/usr/bin/python3
"""ref_shallow.py: NumPy/SciPy implementations of the shallow baselines of
docs/baselines.md (SH, 1-/2-AGH, SP, SGH), written from the same equations as
common/hash/baseline_{sh,agh,sp}.c and common/nn/sgh*.c but with NumPy's and SciPy's own
routines, to time the C fits against and to cross-check SH's codes.

    /usr/bin/python3 tests/bench/ref_shallow.py --method sh|agh1|agh2|sp|sgh \\
        --bits L --train X.npy [--seed S] [--codes OUT.npy]

Prints "fit_seconds <s>" (wall time of the fit alone, after loading) and
"fit_cpu_seconds <s>" (CPU time of the process over the fit, all threads), and with
--codes saves the packed training codes (same layout as dsah-baseline).
"""
import argparse
import time

import numpy as np
import scipy.linalg


def pca(xc, k):
    c = xc.T @ xc
    d = c.shape[0]
    w, v = scipy.linalg.eigh(c, subset_by_index=[d - k, d - 1], driver="evr")
    v = v[:, ::-1]
    w = w[::-1]
    big = np.argmax(np.abs(v), axis=0)
    v = v * np.sign(v[big, np.arange(k)])
    return v, w


def sh_fit(x, bits):
    mean = x.mean(0)
    xc = x - mean
    p = min(bits, x.shape[1])
    pc, _ = pca(xc, p)
    y = xc @ pc
    lo, hi = y.min(0), y.max(0)
    r = (hi - lo).astype(np.float64)
    cand = []
    for j in range(p):
        for k in range(1, int(np.ceil((bits + 1) * r[j] / r.max())) + 1):
            cand.append(((k * np.pi / r[j]) ** 2, j, k))
    cand.sort()
    modes = [(j, k) for _, j, k in cand[:bits]]
    return mean, pc, lo, hi, modes


def sh_encode(x, model):
    mean, pc, lo, hi, modes = model
    y = (x - mean) @ pc
    u = np.stack([np.sin(np.pi / 2 + k * np.pi * (y[:, j] - lo[j]) / (hi[j] - lo[j])) for j, k in modes], 1)
    return u >= 0


def sqdist(x, c):
    return np.maximum((x * x).sum(1)[:, None] - 2.0 * x @ c.T + (c * c).sum(1)[None, :], 0)


def kmeans(x, m, iters, rng):
    c = x[rng.choice(len(x), m, replace=False)].copy()
    for _ in range(iters):
        a = sqdist(x, c).argmin(1)
        cnt = np.bincount(a, minlength=m)
        s = np.zeros_like(c, dtype=np.float64)
        np.add.at(s, a, x)
        nz = cnt > 0
        c[nz] = (s[nz] / cnt[nz, None]).astype(c.dtype)
    return c


def agh_fit(x, bits, layers, m=300, s=2, iters=5, seed=0):
    rng = np.random.default_rng(seed)
    n = len(x)
    anchors = kmeans(x, m, iters, rng)
    d2 = sqdist(x, anchors)
    idx = np.argsort(d2, 1, kind="stable")[:, :s]
    v = np.take_along_axis(d2, idx, 1)
    sigma = np.sqrt(v[:, -1]).mean()
    w = np.exp(-(v - v[:, :1]) / sigma ** 2)
    w /= w.sum(1, keepdims=True)
    z = np.zeros((n, m))
    np.put_along_axis(z, idx, w, 1)
    lam = z.sum(0)
    il = np.where(lam > 0, 1 / np.sqrt(np.maximum(lam, 1e-300)), 0)
    mm = il[:, None] * (z.T @ z) * il[None, :] - np.sqrt(np.outer(lam, lam)) / lam.sum()
    ev, vv = np.linalg.eigh(mm)
    order = np.argsort(-ev)
    r = bits // layers
    keep = [j for j in order if ev[j] > 1e-9][:r]
    W = np.sqrt(n) * il[:, None] * vv[:, keep] / np.sqrt(ev[keep])[None, :]
    y = z @ W
    thres = None
    if layers == 2:
        thres = np.zeros((2, r))
        A = lambda f: z @ ((z.T @ f) / np.where(lam > 0, lam, 1))
        for k in range(r):
            pos = y[:, k] >= 0
            npos, nneg = pos.sum(), (~pos).sum()
            G = np.abs(y[:, k]).sum()
            f0 = np.where(pos, y[:, k], -y[:, k] - G / nneg)
            e = np.where(pos, -1.0, npos / nneg)
            bp = -(e @ (f0 - A(f0))) / (e @ (e - A(e)))
            thres[:, k] = bp, (npos * bp - G) / nneg
    return anchors, sigma, W, thres


def sp_fit(x, bits, density=0.1, lam=1.0, iters=20):
    n, d = x.shape
    mean = x.mean(0)
    xc = x - mean
    w, top = pca(xc, bits)
    t = max(1, int(round(density * d * bits)))

    def keep(w):
        flat = np.abs(w).ravel()
        if t < flat.size:
            cut = np.argsort(-flat, kind="stable")[t:]
            w = w.copy().ravel()
            w[cut] = 0
            w = w.reshape(d, bits)
        return w

    w = keep(w)
    c = (xc.T @ xc) / n
    eta0 = 1.0 / (2 * top[0] / n + 12 * lam)

    def obj(w, p):
        g = w.T @ w - np.eye(bits)
        return (w * (c @ w)).sum() - 2 * (w * p).sum() + bits + lam * (g * g).sum()

    for it in range(iters + 1):
        b = np.where(xc @ w >= 0, 1.0, -1.0).astype(x.dtype)
        p = xc.T @ b / n
        j = obj(w, p)
        if it == iters:
            break
        grad = 2 * (c @ w - p) + 4 * lam * w @ (w.T @ w - np.eye(bits))
        eta = eta0
        for _ in range(40):
            wn = keep(w - eta * grad)
            if obj(wn, p) <= j:
                w = wn
                break
            eta *= 0.5
    return mean, w


def sgh_fit(x, bits, epochs=16, batch=500, lr=1e-2, seed=0):
    """SGH as common/nn/sgh.h: encoder sigmoid(x We^T + be), neuron
    h = [p >= xi], decoder h Wd^T + bd, loss ||x - xhat||^2 / (2 rho^2) + KL,
    gradient p (1 - p) (dl/dh + dl/dp) through the neuron; Adam (TF form)."""
    rng = np.random.default_rng(seed)
    n, d = x.shape
    mean = x.mean(0)
    xc = (x - mean).astype(np.float32)
    rho2 = float((xc.astype(np.float64) ** 2).mean())
    P = [rng.standard_normal((bits, d)).astype(np.float32) / np.sqrt(d), np.zeros(bits, np.float32),
         rng.standard_normal((d, bits)).astype(np.float32) / np.sqrt(bits), np.zeros(d, np.float32)]
    m = [np.zeros_like(p) for p in P]
    v = [np.zeros_like(p) for p in P]
    t = 0
    for _ in range(epochs):
        order = rng.permutation(n)
        for i0 in range(0, n, batch):
            xb = xc[order[i0:i0 + batch]]
            B = len(xb)
            z = xb @ P[0].T + P[1]
            p = 1 / (1 + np.exp(-z))
            h = (p >= rng.random(p.shape, dtype=np.float32)).astype(np.float32)
            xr = h @ P[2].T + P[3]
            dxr = (xr - xb) / (rho2 * B)
            dh = dxr @ P[2]
            dz = p * (1 - p) * (dh + z / B)
            g = [dz.T @ xb, dz.sum(0), dxr.T @ h, dxr.sum(0)]
            t += 1
            lr_t = lr * np.sqrt(1 - 0.999 ** t) / (1 - 0.9 ** t)
            for k in range(4):
                m[k] = 0.9 * m[k] + 0.1 * g[k]
                v[k] = 0.999 * v[k] + 0.001 * g[k] * g[k]
                P[k] -= lr_t * m[k] / (np.sqrt(v[k]) + 1e-8)
    return mean, P


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--method", required=True, choices=["sh", "agh1", "agh2", "sp", "sgh"])
    ap.add_argument("--bits", type=int, required=True)
    ap.add_argument("--train", required=True)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--codes")
    a = ap.parse_args()
    x = np.ascontiguousarray(np.load(a.train), dtype=np.float32)
    t0, c0 = time.perf_counter(), time.process_time()
    if a.method == "sh":
        model = sh_fit(x, a.bits)
    elif a.method == "sp":
        model = sp_fit(x, a.bits)
    elif a.method == "sgh":
        model = sgh_fit(x, a.bits, seed=a.seed)
    else:
        model = agh_fit(x, a.bits, 2 if a.method == "agh2" else 1, seed=a.seed)
    dt, dc = time.perf_counter() - t0, time.process_time() - c0
    print(f"fit_seconds {dt:.4f}")
    print(f"fit_cpu_seconds {dc:.4f}")
    if a.codes and a.method == "sh":
        np.save(a.codes, np.packbits(sh_encode(x, model).astype(np.uint8), axis=1, bitorder="little"))


if __name__ == "__main__":
    main()
