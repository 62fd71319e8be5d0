#!/usr/bin/python3
"""gen_st.py: by-hand cross-check of common/safetensors.c against torch
(not part of make test: CI has no torch).

    gen_st.py write DIR   writes DIR/py.safetensors (F32, F16, BF16, F64
                          tensors + __metadata__, laid out with json+struct as
                          the safetensors reference does) and DIR/py_expect.bin
                          (every tensor as float32, in header order, as torch
                          converts it)
    gen_st.py check FILE  parses a safetensors file written by dsah with
                          json+struct and prints each tensor's name, shape and
                          sum (float64) for comparison
"""
import json
import struct
import sys

import torch

DT = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16", torch.float64: "F64"}


def write(d):
    g = torch.Generator().manual_seed(0)
    tensors = {
        "features.0.weight": (torch.randn(4, 3, 3, 3, generator=g) * 3).to(torch.float16),
        "pre_logits.fc1.weight": torch.randn(5, 2, 2, 2, generator=g).to(torch.bfloat16),
        "head.fc.bias": torch.randn(7, generator=g, dtype=torch.float64),
        "scale": torch.tensor([1e-6, 65504.0, -0.0, 6e-8]).to(torch.float16),
        "plain": torch.randn(3, 5, generator=g),
    }
    header, blobs, off = {"__metadata__": {"arch": "vgg19", "who": "gen_st.py \u00e9"}}, [], 0
    for name, t in tensors.items():
        b = t.contiguous().view(torch.uint8).numpy().tobytes()
        header[name] = {"dtype": DT[t.dtype], "shape": list(t.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(f"{d}/py.safetensors", "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))
    with open(f"{d}/py_expect.bin", "wb") as f:
        for t in tensors.values():
            f.write(t.to(torch.float32).contiguous().numpy().tobytes())


def check(path):
    raw = open(path, "rb").read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + n])
    assert n % 8 == 0, n
    data = raw[8 + n :]
    for name, e in header.items():
        if name == "__metadata__":
            print("meta", json.dumps(e, sort_keys=True))
            continue
        b, en = e["data_offsets"]
        t = torch.frombuffer(bytearray(data[b:en]), dtype=torch.float32).reshape(e["shape"])
        print(name, e["dtype"], list(t.shape), repr(float(t.double().sum())))


if __name__ == "__main__":
    {"write": write, "check": check}[sys.argv[1]](sys.argv[2])
