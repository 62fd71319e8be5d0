"""torch_vgg.py: the PyTorch side of tests/gpu/device.sh's VGG-19 figures.

The same work as bench_gpu (tests/bench/bench_gpu.c) in PyTorch eager:
torchvision's vgg19 (features, then classifier[:-1]: fc6, ReLU, dropout,
fc7, ReLU, dropout; no adaptive pool at 224, where it is the identity),
then hash.fc8 4096 -> 1000 and hash.fc 1000 -> BITS and tanh, the DSAH loss
(PIC weights, tau = 1, lambda = 0; the same as nn/loss.h) and Adam, batch B,
random weights and input resident on the GPU.

  python3 torch_vgg.py train|encode S BITS B fp32|tf32|bf16 STEPS

fp32: TF32 off in cuBLAS and cuDNN (torch.backends.*.allow_tf32 = False);
tf32: both on; bf16: torch.autocast(bfloat16) around forward and loss (fp32
master weights and Adam state: mixed precision as dsah's --precision bf16).
Prints one line as bench_gpu's: the median of STEPS steps after 3 warm-ups,
each timed with CUDA events.
"""
import statistics
import sys

import torch
import torch.nn as nn
import torchvision


def dsah_loss(z, w, tau=1.0):
    u = torch.nn.functional.normalize(z.float(), dim=1, eps=1e-6)
    s = u @ u.t()
    logp = s / tau - torch.logsumexp((s / tau).reshape(-1), 0)
    return (-logp * (s - w) ** 2).mean()


def main():
    mode, S, bits, B, prec, steps = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5], int(sys.argv[6])
    torch.backends.cuda.matmul.allow_tf32 = prec == "tf32"
    torch.backends.cudnn.allow_tf32 = prec == "tf32"
    torch.backends.cudnn.benchmark = False  # dsah picks by heuristics, once per shape
    torch.manual_seed(0)
    dev = torch.device("cuda")
    vgg = torchvision.models.vgg19(weights=None)
    net = nn.Sequential(vgg.features, nn.Flatten(), *list(vgg.classifier.children())[:-1],
                        nn.Linear(4096, 1000), nn.Linear(1000, bits), nn.Tanh()).to(dev)
    x = torch.rand(B, 3, S, S, device=dev) * 4 - 2
    w = torch.where(torch.rand(B, B, device=dev) < 0.1, 1.0, -1.0)
    w = torch.triu(w) + torch.triu(w, 1).t()
    w.fill_diagonal_(1.0)
    opt = torch.optim.Adam(net.parameters(), lr=1e-5, eps=1e-8)
    amp = torch.autocast("cuda", dtype=torch.bfloat16, enabled=prec == "bf16")
    train = mode == "train"
    net.train(train)
    times = []
    for it in range(-3, steps):
        a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        a.record()
        if train:
            opt.zero_grad(set_to_none=True)
            with amp:
                loss = dsah_loss(net(x), w)
            loss.backward()
            opt.step()
            loss.item()  # the value reaches the host every step, as in dsah
        else:
            with torch.no_grad(), amp:
                net(x).float()
        b.record()
        b.synchronize()
        if it >= 0:
            times.append(a.elapsed_time(b))
    med = statistics.median(times)
    print(f"torch {mode} vgg19 S={S} bits={bits} B={B} {prec}: median {med:.2f} ms (min {min(times):.2f}, n={steps}), "
          f"{B / (med / 1000):.1f} img/s")


if __name__ == "__main__":
    main()
