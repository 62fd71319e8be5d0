"""torch_relu7.py: dsah-features --extractor vgg19 --device cuda against
PyTorch on the GPU (tests/gpu/device.sh): the same random VGG-19 weights
(tests/ref_features_vgg.py's random_vgg19, written as torchvision-named
safetensors), 64 random 224x224 RGB images, relu7 in eval mode; PyTorch in
float32 with TF32 off (dsah-features runs fp32). Prints the normalised
error ||dsah - torch|| / ||torch|| and "PASS" when it is below 1e-4 (float32
sums of 25,088 and 4,096 terms in another order), else "FAIL".

  python3 torch_relu7.py DIR BIN      (BIN: dsah's binaries; their library
                                      path from the environment's DSAH_LD)
"""
import os
import subprocess
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from ref_features_vgg import preprocess, random_vgg19, save_st  # noqa: E402


def main(d, binp):
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    m = random_vgg19()
    save_st(f"{d}/vgg19.safetensors", m.state_dict())
    im = np.random.default_rng(3).integers(0, 256, (64, 224, 224, 3), dtype=np.uint8)
    np.save(f"{d}/r7_images.npy", im)
    np.save(f"{d}/r7_idx.npy", np.arange(len(im), dtype=np.int64))
    env = dict(os.environ, LD_LIBRARY_PATH=os.environ.get("DSAH_LD", ""))
    t0 = time.time()
    subprocess.run([f"{binp}/dsah-features", "-q", "--images", f"{d}/r7_images.npy", "--indices", f"{d}/r7_idx.npy",
                    "--extractor", "vgg19", "--weights", f"{d}/vgg19.safetensors", "--input", "224", "--batch", "32",
                    "--device", "cuda", "--out", f"{d}/r7_feat.npy"], check=True, env=env)
    t1 = time.time()
    got = np.load(f"{d}/r7_feat.npy").astype(np.float64)
    m = m.cuda()
    with torch.no_grad():
        ref = torch.cat([m.relu7(preprocess(im[i:i + 32]).cuda()) for i in range(0, len(im), 32)]).double().cpu().numpy()
    err = np.linalg.norm(got - ref) / np.linalg.norm(ref)
    print(f"relu7 of 64 images: dsah-features --device cuda {t1 - t0:.1f} s; normalised error vs PyTorch fp32 "
          f"{err:.3g} (tolerance 1e-4) {'PASS' if err < 1e-4 else 'FAIL'}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
