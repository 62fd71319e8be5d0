#!/usr/bin/python3
# hostile_inputs.py DIR: writes the hostile inputs of issue 14 into DIR, one
# per failure case (used by tests/t_hostile.t and as fuzz seeds). Each is
# made from scratch here: small valid files, then the one field that lies.
import io, json, os, struct, sys, tarfile, zipfile

import numpy as np
from PIL import Image

d = sys.argv[1]
os.makedirs(d, exist_ok=True)


def jpeg(w=8, h=8, color=(200, 30, 30)):
    b = io.BytesIO()
    Image.new("RGB", (w, h), color).save(b, "JPEG", quality=90)
    return b.getvalue()


def png(w=8, h=8, color=(10, 200, 30)):
    b = io.BytesIO()
    Image.new("RGB", (w, h), color).save(b, "PNG")
    return b.getvalue()


def jpeg_claiming(w, h):
    """A valid 8x8 JPEG whose SOF0 frame header claims w x h."""
    j = bytearray(jpeg())
    i = 2
    while True:
        assert j[i] == 0xFF
        m, n = j[i + 1], struct.unpack(">H", j[i + 2:i + 4])[0]
        if m in (0xC0, 0xC1, 0xC2):
            struct.pack_into(">HH", j, i + 5, h, w)
            return bytes(j)
        i += 2 + n


def zipw(path, members):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members:
            z.writestr(name, data)


def write(name, data):
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


# 1. FLICKR25K image number that makes 8 * (k + 1) wrap.
zipw(f"{d}/c1-images.zip", [("mirflickr/im1.jpg", jpeg()), ("mirflickr/im2305843009213693952.jpg", jpeg())])
zipw(f"{d}/c1-ann.zip", [("README.txt", "concepts\n"), ("animals.txt", "1\n2305843009213693952\n")])

# 2. .npy whose shape product overflows: (2^31, 2^31) f4 in 128 bytes.
hdr = "{'descr': '<f4', 'fortran_order': False, 'shape': (2147483648, 2147483648), }"
hdr = hdr + " " * (128 - 10 - len(hdr) - 1) + "\n"
write("c2-shape.npy", b"\x93NUMPY\x01\x00" + struct.pack("<H", len(hdr)) + hdr.encode())
# and (2^30, 2^32): fewer than 2^31 rows, same wrapped product
hdr = "{'descr': '<f4', 'fortran_order': False, 'shape': (1073741824, 4294967296), }"
hdr = hdr + " " * (128 - 10 - len(hdr) - 1) + "\n"
write("c2-rows.npy", b"\x93NUMPY\x01\x00" + struct.pack("<H", len(hdr)) + hdr.encode())

# 3. zip with a non-ASCII member name (UTF-8 flag set by zipfile).
zipw(f"{d}/c3-utf8.zip", [("café/a.jpg", jpeg()), ("thé/b.jpg", jpeg(color=(0, 0, 255)))])

# 4. decompression bombs: JPEG headers claiming 20000x20000 and 65500x65500,
# and a PNG claiming 20000x20000, beside one good image.
zipw(f"{d}/c4-bomb.zip", [("a/good.jpg", jpeg()), ("a/good2.jpg", jpeg(color=(1, 2, 3))), ("a/bomb.jpg", jpeg_claiming(20000, 20000))])
zipw(f"{d}/c4-bomb65500.zip", [("a/good.jpg", jpeg()), ("a/good2.jpg", jpeg(color=(1, 2, 3))), ("a/bomb.jpg", jpeg_claiming(65500, 65500))])
p = bytearray(png())
struct.pack_into(">II", p, 16, 20000, 20000)
import zlib
struct.pack_into(">I", p, 29, zlib.crc32(bytes(p[12:29])))
zipw(f"{d}/c4-pngbomb.zip", [("a/good.jpg", jpeg()), ("a/good2.jpg", jpeg(color=(1, 2, 3))), ("a/bomb.png", bytes(p))])

# 5a. annotation lines that size allocations (FLICKR25K).
zipw(f"{d}/c5-images.zip", [("mirflickr/im1.jpg", jpeg()), ("mirflickr/im2.jpg", jpeg())])
zipw(f"{d}/c5-ann-big.zip", [("README.txt", "concepts\n"), ("animals.txt", "1\n2\n2000000000\n")])
zipw(f"{d}/c5-ann-huge.zip", [("README.txt", "concepts\n"), ("animals.txt", "1\n2\n9223372036854775807\n")])

# 5b. zip member declaring 4.2 GB (uncompressed size patched in the local
# and central headers; the data is 8 bytes of deflate).
zipw(f"{d}/c5-zipsize.zip", [("a/x.jpg", jpeg()), ("b/y.jpg", jpeg())])
z = bytearray(open(f"{d}/c5-zipsize.zip", "rb").read())
lie = 4200000000


def patch_all(sig, field):
    off = 0
    while (i := z.find(sig, off)) >= 0:
        struct.pack_into("<I", z, i + field, lie)
        off = i + 4


patch_all(b"PK\x03\x04", 22)   # local headers: uncompressed size
patch_all(b"PK\x01\x02", 24)   # central directory: uncompressed size
write("c5-zipsize.zip", bytes(z))

# 5c. CIFAR tar whose data_batch_1.bin header claims 999,999 records (3 GB)
# but holds one.
rec = bytes([3]) + bytes(3072)
t = io.BytesIO()
with tarfile.open(fileobj=t, mode="w", format=tarfile.USTAR_FORMAT) as tf:
    ti = tarfile.TarInfo("cifar-10-batches-bin/data_batch_1.bin")
    ti.size = len(rec)
    tf.addfile(ti, io.BytesIO(rec))
tb = bytearray(t.getvalue())
size = b"%011o\0" % (3073 * 999999)
tb[124:136] = size
chk = sum(tb[0:148]) + 8 * 32 + sum(tb[156:512])
tb[148:156] = b"%06o\0 " % chk
write("c5-cifar.tar", bytes(tb))

# 5d. IDX label header claiming 99,999,999 labels with 3 present.
os.makedirs(f"{d}/c5-idx", exist_ok=True)
for base in ("train", "t10k"):
    open(f"{d}/c5-idx/{base}-labels-idx1-ubyte", "wb").write(struct.pack(">II", 0x801, 99999999) + bytes([1, 2, 3]))
    open(f"{d}/c5-idx/{base}-images-idx3-ubyte", "wb").write(struct.pack(">IIII", 0x803, 3, 28, 28) + bytes(3 * 784))

# 5e. model metadata whose fc input overflows an int: conv3-4096,fc-8 at 1024.
meta = {"__metadata__": {"format": "dsah", "arch": "conv3-4096,fc-8", "input": "1024", "bits": "8", "channels": "3"}}
h = json.dumps(meta).encode()
h += b" " * (-len(h) % 8)
write("c5-model.safetensors", struct.pack("<Q", len(h)) + h)

# inputs for the encode / baseline / eval runs
np.save(f"{d}/imgs.npy", np.zeros((2, 8, 8, 3), np.uint8))
np.save(f"{d}/idx2.npy", np.arange(2, dtype=np.int64))
rng = np.random.default_rng(0)
x = rng.standard_normal((40, 8)).astype(np.float32)
np.save(f"{d}/x.npy", x)
np.save(f"{d}/codes.npy", rng.integers(0, 256, (40, 2), dtype=np.uint8))
L = np.zeros((40, 3), np.uint8); L[np.arange(40), np.arange(40) % 3] = 1
np.save(f"{d}/labels.npy", L)
np.save(f"{d}/idx40.npy", np.arange(40, dtype=np.int64))
