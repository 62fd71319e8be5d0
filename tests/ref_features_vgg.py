#!/usr/bin/python3
"""ref_features_vgg.py: by-hand cross-check of dsah-features --extractor vgg19
against torch (not part of make test: a real-shaped VGG-19 is 548 MB and
~20 GFLOP per image at 224, and CI has no torch).

    ref_features_vgg.py DIR [BIN]

Builds VGG-19 in plain torch.nn (torchvision's layer order and names,
features.N / classifier.N; torchvision itself is not needed), with He-uniform
random weights (seeded), writes them to DIR/vgg19.safetensors (F32, json +
struct), writes DIR/images.npy (4 Fashion-MNIST 28x28 grey images) and
DIR/rgb.npy (2 random 50x60 RGB images), runs BIN/dsah-features --extractor
vgg19 --input 224 on both, and compares with torch's relu7 (eval mode) on
torchvision's preprocessing (ToTensor, F.interpolate bilinear
align_corners=False antialias=False, grey repeated to 3 channels, Normalize).
Prints the max abs and max relative (to the row's max) differences."""
import gzip
import json
import struct
import subprocess
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

CFG = [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512, 512, 512, 512, "M"]


class VGG19(nn.Module):
    def __init__(self):
        super().__init__()
        layers, c = [], 3
        for v in CFG:
            if v == "M":
                layers.append(nn.MaxPool2d(2, 2))
            else:
                layers += [nn.Conv2d(c, v, 3, padding=1), nn.ReLU(inplace=True)]
                c = v
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(nn.Linear(512 * 7 * 7, 4096), nn.ReLU(True), nn.Dropout(0.5),
                                        nn.Linear(4096, 4096), nn.ReLU(True), nn.Dropout(0.5),
                                        nn.Linear(4096, 1000))

    def relu7(self, x):
        x = torch.flatten(self.features(x), 1)
        return self.classifier[:5](x)


def save_st(path, sd):
    header, blobs, off = {}, [], 0
    for name, t in sd.items():
        b = t.detach().to(torch.float32).contiguous().numpy().tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h)
        for b in blobs:
            f.write(b)


def preprocess(u8):  # u8 [n,h,w,c] -> [n,3,224,224]
    x = torch.from_numpy(u8).permute(0, 3, 1, 2).float() / 255
    x = F.interpolate(x, size=(224, 224), mode="bilinear", align_corners=False, antialias=False)
    if x.shape[1] == 1:
        x = x.repeat(1, 3, 1, 1)
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    return (x - mean) / std


def random_vgg19(seed=0):
    """VGG19 in eval mode with He-uniform weights and U(-0.1, 0.1) biases
    (activations stay O(1)), seeded; also tests/gpu/torch_relu7.py's."""
    torch.manual_seed(seed)
    m = VGG19().eval()
    with torch.no_grad():
        for mod in m.modules():
            if isinstance(mod, (nn.Conv2d, nn.Linear)):
                fan_in = mod.weight[0].numel()
                bound = (6.0 / fan_in) ** 0.5
                mod.weight.uniform_(-bound, bound)
                mod.bias.uniform_(-0.1, 0.1)
    return m


def main(d, binp):
    m = random_vgg19()
    save_st(f"{d}/vgg19.safetensors", m.state_dict())
    with gzip.open("/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz") as f:
        raw = f.read()
    fm = np.frombuffer(raw, np.uint8, offset=16).reshape(-1, 28, 28, 1)[:4].copy()
    rgb = np.random.default_rng(1).integers(0, 256, (2, 50, 60, 3), dtype=np.uint8)
    torch.set_num_threads(2)
    for name, im in (("images", fm), ("rgb", rgb)):
        np.save(f"{d}/{name}.npy", im)
        np.save(f"{d}/{name}_idx.npy", np.arange(len(im), dtype=np.int64))
        t0 = time.time()
        subprocess.run([f"{binp}/dsah-features", "--images", f"{d}/{name}.npy", "--indices", f"{d}/{name}_idx.npy",
                        "--extractor", "vgg19", "--weights", f"{d}/vgg19.safetensors", "--input", "224",
                        "--out", f"{d}/{name}_feat.npy"], check=True)
        t1 = time.time()
        got = np.load(f"{d}/{name}_feat.npy")
        with torch.no_grad():
            ref = m.relu7(preprocess(im)).numpy()
        t2 = time.time()
        ad = np.abs(got.astype(np.float64) - ref)
        rel = (ad.max(1) / np.abs(ref).max(1)).max()
        print(f"{name}: {got.shape} dsah {t1 - t0:.1f}s torch {t2 - t1:.1f}s  max|diff| {ad.max():.3g}  "
              f"max|diff|/row max {rel:.3g}  row max {np.abs(ref).max(1).round(3).tolist()}  "
              f"positive {(ref > 0).mean():.2f}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else "bin")
