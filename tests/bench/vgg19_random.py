#!/usr/bin/python3
"""vgg19_random.py OUT [S]: random VGG-19 weights with the real shapes as
torchvision-named safetensors (convolutions, classifier.0 for input side S,
default 224, and classifier.3), uniform He-scaled so activations stay O(1).
For the benches (no ImageNet weights needed to time a forward)."""
import json
import struct
import sys

import numpy as np

out = sys.argv[1]
S = int(sys.argv[2]) if len(sys.argv) > 2 else 224
rng = np.random.default_rng(0)
cfg = [64, 64, 0, 128, 128, 0, 256, 256, 256, 256, 0, 512, 512, 512, 512, 0, 512, 512, 512, 512, 0]
t, c, i = {}, 3, 0
for k in cfg:
    if k:
        b = (6 / (9 * c)) ** 0.5
        t[f"features.{i}.weight"] = rng.uniform(-b, b, (k, c, 3, 3)).astype(np.float32)
        t[f"features.{i}.bias"] = rng.uniform(-0.1, 0.1, k).astype(np.float32)
        c, i = k, i + 2
    else:
        i += 1
for n, fi in (("classifier.0", 512 * (S // 32) ** 2), ("classifier.3", 4096)):
    b = (6 / fi) ** 0.5
    t[n + ".weight"] = rng.uniform(-b, b, (4096, fi)).astype(np.float32)
    t[n + ".bias"] = rng.uniform(-0.1, 0.1, 4096).astype(np.float32)
h, off = {}, 0
for n, a in t.items():
    h[n] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [off, off + a.nbytes]}
    off += a.nbytes
hb = json.dumps(h, separators=(",", ":")).encode()
hb += b" " * ((8 - len(hb) % 8) % 8)
with open(out, "wb") as f:
    f.write(struct.pack("<Q", len(hb)) + hb)
    for a in t.values():
        f.write(a.tobytes())
