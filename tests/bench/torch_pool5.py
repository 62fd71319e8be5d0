#!/usr/bin/python3
"""torch_pool5.py WEIGHTS IMAGES N S B THREADS: PyTorch CPU reference of
dsah-features --layer pool5: torchvision's vgg19().features (eval, no_grad)
with the weights' convolutions, on images[0:N] (u1 [N,H,W,3]) resized to S
(bilinear, as preprocess.h) and ImageNet-normalised, B images per forward,
THREADS intra-op threads. Prints img/s of the loop (preprocessing included,
weight loading not), one line."""
import json
import struct
import sys
import time

import numpy as np
import torch
import torchvision

wpath, ipath, n, S, B, th = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
torch.set_num_threads(th)
with open(wpath, "rb") as f:
    hl = struct.unpack("<Q", f.read(8))[0]
    hdr = json.loads(f.read(hl))
    base = 8 + hl
    raw = np.memmap(wpath, dtype=np.uint8, mode="r")
m = torchvision.models.vgg19().features.eval()
sd = {}
for k, v in hdr.items():
    if k.startswith("features."):
        a, b = v["data_offsets"]
        sd[k[len("features."):]] = torch.from_numpy(np.frombuffer(raw[base + a:base + b], dtype=np.float32).reshape(v["shape"]).copy())
m.load_state_dict(sd)
im = np.load(ipath, mmap_mode="r")
mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
t0 = time.perf_counter()
with torch.no_grad():
    for k in range(0, n, B):
        x = torch.from_numpy(np.ascontiguousarray(im[k:k + B])).permute(0, 3, 1, 2).float() / 255
        x = torch.nn.functional.interpolate(x, size=(S, S), mode="bilinear", align_corners=False)
        y = m((x - mean) / std)
dt = time.perf_counter() - t0
print(f"torch {n / dt:.2f} img/s ({tuple(y.shape[1:])})")
