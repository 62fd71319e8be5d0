#!/usr/bin/python3
# make_seeds.py DIR: the seed corpus of every fuzz target, DIR/<target>/*:
# small valid inputs of each format and the hostile inputs of issue 14
# (tests/hostile_inputs.py), in each target's input layout (fuzz_*.c).
# Run by tests/t_fuzz_regress.t (every seed through the plain-build
# harnesses) and by make fuzz.
import io, json, os, struct, subprocess, sys, tarfile, tempfile, zipfile

import numpy as np
from PIL import Image

out = sys.argv[1]
here = os.path.dirname(os.path.abspath(__file__))
root = os.path.dirname(os.path.dirname(here))
SEP = b"\n--8<--\n"
H = tempfile.mkdtemp()
subprocess.check_call(["/usr/bin/python3", os.path.join(root, "tests", "hostile_inputs.py"), H])


def rd(name):
    return open(os.path.join(H, name), "rb").read()


def seed(target, name, data):
    d = os.path.join(out, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def img(fmt, mode="RGB", size=(9, 7), **kw):
    b = io.BytesIO()
    im = Image.new(mode, size)
    im.putdata([(i * 37) % 256 if mode in ("L", "P") else tuple((i * k) % 256 for k in (3, 5, 7, 11)[: len(mode)])
                for i in range(size[0] * size[1])])
    im.save(b, fmt, **kw)
    return b.getvalue()


def npy(a):
    b = io.BytesIO()
    np.save(b, a)
    return b.getvalue()


def zipb(members):
    b = io.BytesIO()
    with zipfile.ZipFile(b, "w", zipfile.ZIP_DEFLATED) as z:
        for n, d in members:
            z.writestr(n, d)
    return b.getvalue()


def tarb(members, mode="w"):
    b = io.BytesIO()
    with tarfile.open(fileobj=b, mode=mode) as t:
        for n, d in members:
            ti = tarfile.TarInfo(n)
            ti.size = len(d)
            t.addfile(ti, io.BytesIO(d))
    return b.getvalue()


def st(tensors, meta=None):
    hdr, data = {}, b""
    if meta:
        hdr["__metadata__"] = meta
    for n, a in tensors:
        raw = a.tobytes()
        hdr[n] = {"dtype": {"float32": "F32", "float16": "F16", "int64": "I64", "uint8": "U8"}[str(a.dtype)],
                  "shape": list(a.shape), "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    h = json.dumps(hdr).encode()
    h += b" " * (-len(h) % 8)
    return struct.pack("<Q", len(h)) + h + data, h


# npy
seed("npy", "f4_3x4.npy", npy(np.arange(12, dtype=np.float32).reshape(3, 4)))
seed("npy", "u1_2x2x2x3.npy", npy(np.zeros((2, 2, 2, 3), np.uint8)))
seed("npy", "i8_5.npy", npy(np.arange(5, dtype=np.int64)))
seed("npy", "f8_scalar.npy", npy(np.float64(1.5)))
seed("npy", "f2_2x3.npy", npy(np.array([[0, 1, -2.5], [65504, 2.0 ** -24, np.inf]], np.float16)))
seed("npy", "i4_0x3.npy", npy(np.zeros((0, 3), np.int32)))
seed("npy", "c2-shape.npy", rd("c2-shape.npy"))
seed("npy", "c2-rows.npy", rd("c2-rows.npy"))
# safetensors and its JSON header
f1, h1 = st([("w", np.ones((2, 3), np.float32)), ("b", np.zeros(3, np.float32))], {"format": "dsah", "arch": "fc-4"})
f2, h2 = st([("e", np.zeros((0, 4), np.float16)), ("i", np.arange(3, dtype=np.int64))])
seed("safetensors", "two.safetensors", f1)
seed("safetensors", "empty_f16.safetensors", f2)
seed("safetensors", "c5-model.safetensors", rd("c5-model.safetensors"))
seed("st_json", "two.json", h1)
seed("st_json", "empty_f16.json", h2)
seed("st_json", "c5-model.json", rd("c5-model.safetensors")[8:])
# config: the shipped pipelines, with --set strings after a NUL
for y in sorted(os.listdir(os.path.join(root, "pipelines"))):
    if y.endswith(".yaml"):
        t = open(os.path.join(root, "pipelines", y), "rb").read()
        seed("config", y, t)
        seed("config", y + ".set", t + b"\0train.bits=[16,32]\0train.gamma=0.5\0sweep.tau=[1,2]")
        seed("config", y + ".c6", t + b"\0train.bits=[16,16]")
# images
seed("image", "rgb.jpg", img("JPEG"))
seed("image", "gray.jpg", img("JPEG", "L"))
seed("image", "cmyk.jpg", img("JPEG", "CMYK"))
seed("image", "progressive.jpg", img("JPEG", progressive=True))
seed("image", "rgb.png", img("PNG"))
seed("image", "rgba.png", img("PNG", "RGBA"))
seed("image", "pal.png", img("PNG", "P"))
seed("image", "gray.png", img("PNG", "L"))
seed("image", "interlaced.png", img("PNG", interlace=1))
with zipfile.ZipFile(os.path.join(H, "c4-bomb.zip")) as z:
    seed("image", "c4-bomb.jpg", z.read("a/bomb.jpg"))
with zipfile.ZipFile(os.path.join(H, "c4-pngbomb.zip")) as z:
    seed("image", "c4-bomb.png", z.read("a/bomb.png"))
# model metadata: "channels input bits arch"
for i, m in enumerate([b"3 32 16 conv3-8,pool,fc-16,dropout-0.5", b"1 28 8 fc-32", b"3 224 64 vgg19",
                       b"3 1024 8 conv3-4096,fc-8", b"3 64 16 conv3-4,pool,pool,pool,pool,pool,pool,pool"]):
    seed("model", "m%d" % i, m)
# folder sources
jp = img("JPEG")
seed("folder", "classes.zip", zipb([("cat/a.jpg", jp), ("cat/b.png", img("PNG")), ("dog/c.jpg", jp)]))
seed("folder", "wrapped.tar.gz", tarb([("data/cat/a.jpg", jp), ("data/dog/b.jpg", jp)], "w:gz"))
for z in ("c3-utf8.zip", "c4-bomb.zip", "c4-pngbomb.zip", "c5-zipsize.zip"):
    seed("folder", z, rd(z))
seed("label_list", "list.zip", zipb([("x/a.jpg", jp), ("y/b.jpg", jp)]) + SEP + b"# comment\nx/a.jpg cat dog\ny/b.jpg dog\n")
seed("label_list", "absent.tar", tarb([("r/x/a.jpg", jp)]) + SEP + b"x/a.jpg cat\nx/missing.jpg dog\nx/none.jpg\n")
# FLICKR25K: images archive, then annotations archive
fl = zipb([("mirflickr/im1.jpg", jp), ("mirflickr/im2.jpg", jp), ("mirflickr/im3.jpg", jp)])
ann = zipb([("README.txt", b"x"), ("animals.txt", b"1\n3\n"), ("sky.txt", b"2\n9\n"), ("sky_r1.txt", b"2\n")])
seed("flickr", "small", fl + SEP + ann)
seed("flickr", "c1", rd("c1-images.zip") + SEP + rd("c1-ann.zip"))
seed("flickr", "c5-big", rd("c5-images.zip") + SEP + rd("c5-ann-big.zip"))
seed("flickr", "c5-huge", rd("c5-images.zip") + SEP + rd("c5-ann-huge.zip"))
# NUS-WIDE: list, labels and images in one archive
nus = tarb([("ImageList/Imagelist.txt", b"C:\\ImageData\\Flickr\\cat\\0001_1.jpg\r\nC:\\ImageData\\Flickr\\dog\\0002_2.jpg\r\n"),
            ("Groundtruth/AllLabels/Labels_cat.txt", b"1\n0\n"), ("Groundtruth/AllLabels/Labels_dog.txt", b"0\n1\n"),
            ("Flickr/cat/0001_1.jpg", jp), ("Flickr/dog/0002_2.jpg", jp)])
seed("nuswide", "nus.tar", nus)
# CIFAR-10: one record per batch
rec = lambda k: bytes([k]) + bytes(range(256)) * 12
names = ["data_batch_%d.bin" % i for i in range(1, 6)] + ["test_batch.bin"]
cif = [("cifar-10-batches-bin/" + n, rec(i) + rec(9 - i)) for i, n in enumerate(names)]
cif.append(("cifar-10-batches-bin/batches.meta.txt", b"\n".join(b"c%d" % i for i in range(10)) + b"\n"))
seed("cifar", "cifar.tar.gz", tarb(cif, "w:gz"))
seed("cifar", "c5-cifar.tar", rd("c5-cifar.tar"))
# IDX: train labels, t10k labels, train images, t10k images
lab = lambda n: struct.pack(">II", 0x801, n) + bytes(range(n))
ims = lambda n: struct.pack(">IIII", 0x803, n, 2, 3) + bytes(6 * n)
seed("idx", "small", SEP.join([lab(3), lab(2), ims(3), ims(2)]))
cd = os.path.join(H, "c5-idx")
seed("idx", "c5-idx", SEP.join(open(os.path.join(cd, f), "rb").read() for f in
                               ("train-labels-idx1-ubyte", "t10k-labels-idx1-ubyte", "train-images-idx3-ubyte",
                                "t10k-images-idx3-ubyte")))
subprocess.call(["rm", "-rf", H])
