"""torch_train.py: the reference for tests/bench/train.sh. Trains the same
network (an arch list as dsah-train's: conv3-K + ReLU, pool, fc-N + ReLU,
dropout-P, then hash fc + tanh) with the same DSAH loss (pic, lambda) and Adam
on the CPU with torch, on random images of the given size, and prints
"img/s <value>" (median of the timed epochs of `steps` batches each).

usage: /usr/bin/python3 torch_train.py ARCH SIZE CHANNELS BITS BATCH THREADS STEPS REPEATS
"""
import math
import statistics
import sys
import time

import torch
import torch.nn as nn


def build(arch, size, ch, bits):
    layers, c, s, flat = [], ch, size, False
    for tok in arch.split(","):
        if tok.startswith("conv3-"):
            k = int(tok[6:])
            layers += [nn.Conv2d(c, k, 3, padding=1), nn.ReLU()]
            c = k
        elif tok == "pool":
            layers.append(nn.MaxPool2d(2))
            s //= 2
        elif tok.startswith("fc-"):
            k = int(tok[3:])
            if not flat:
                layers.append(nn.Flatten())
                c, flat = c * s * s, True
            layers += [nn.Linear(c, k), nn.ReLU()]
            c = k
        elif tok.startswith("dropout-"):
            layers.append(nn.Dropout(float(tok[8:])))
    if not flat:
        layers.append(nn.Flatten())
        c = c * s * s
    layers += [nn.Linear(c, bits), nn.Tanh()]
    return nn.Sequential(*layers)


def dsah_loss(z, w, tau=1.0, lam=0.0):
    u = torch.nn.functional.normalize(z, dim=1, eps=1e-6)
    s = u @ u.t()
    logp = s / tau - torch.logsumexp((s / tau).reshape(-1), 0)
    a = -logp
    pair = (a * (s - w) ** 2).mean()
    b = torch.where(z >= 0, 1.0, -1.0).detach()
    return pair + lam * ((z - b) ** 2).mean()


def main():
    arch, size, ch, bits, batch, threads, steps, reps = sys.argv[1:9]
    size, ch, bits, batch, threads, steps, reps = map(int, (size, ch, bits, batch, threads, steps, reps))
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    net = build(arch, size, ch, bits)
    opt = torch.optim.Adam(net.parameters(), lr=1e-4, eps=1e-8)
    x = torch.rand(batch, ch, size, size)
    lab = torch.randint(0, 10, (batch,))
    w = torch.where(lab[:, None] == lab[None, :], 1.0, -1.0)
    net.train()
    rates = []
    for r in range(reps + 1):
        t0 = time.perf_counter()
        for _ in range(steps):
            opt.zero_grad(set_to_none=False)
            loss = dsah_loss(net(x), w)
            loss.backward()
            opt.step()
        dt = time.perf_counter() - t0
        if r > 0:  # the first round warms up
            rates.append(steps * batch / dt)
    print("img/s %.1f" % statistics.median(rates))


if __name__ == "__main__":
    main()
