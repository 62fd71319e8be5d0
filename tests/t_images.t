#!/bin/bash
# t_images.t: dsah-ingest on image sources through the real binary.
#  - folder (zip of class subfolders; JPEG RGB/gray/CMYK-free, PNG RGB/RGBA/
#    palette/gray): images.npy is byte-identical to Pillow's
#    Image.open(f).convert("RGB").resize((S, S), Image.BILINEAR), i.e. what a
#    torchvision/PIL pipeline gives (skipped without Debian's python3-pil);
#  - flickr25k in the real zip layout: the paper's split scaled down
#    (queries, training images from the database), sorted, disjoint,
#    identical across thread counts; corrupt image reported and counted;
#  - bad layouts fail with the expected file named and no output left.
set -u
. "$(dirname "$0")/lib.sh"
BIN=${DSAH_BIN:?DSAH_BIN not set}
tmp=${TMPDIR:-/tmp}/dsah_t_images_t.$$; rm -rf "$tmp"; mkdir -p "$tmp" || exit 1
trap 'rm -rf "$tmp"' EXIT
PY=/usr/bin/python3
if ! $PY -c 'import PIL, numpy' 2>/dev/null; then
  skip_all "Debian python3-pil / python3-numpy not installed"
fi

# ---- fixtures (PIL writes them; the pixels come from numpy's seeded rng) --
$PY - "$tmp" <<'PY' || { ok 1 "fixtures written by PIL"; done_testing; }
import sys, os, io, zipfile, numpy as np
from PIL import Image
t = sys.argv[1]
rng = np.random.default_rng(3)
def img(w, h):
    y, x = np.mgrid[0:h, 0:w]
    base = np.stack([128 + 100*np.sin(x*0.09*(c+1) + y*0.05) for c in range(3)], -1)
    return np.clip(base + rng.integers(-40, 40, (h, w, 3)), 0, 255).astype(np.uint8)
def enc(im, fmt, **kw):
    b = io.BytesIO(); im.save(b, fmt, **kw); return b.getvalue()
files = []
for i in range(12):
    w, h = 50 + 7*i, 37 + 5*(i % 4)
    a = img(w, h)
    k = i % 6
    if k == 0: data, ext = enc(Image.fromarray(a), "JPEG", quality=90), "jpg"
    elif k == 1: data, ext = enc(Image.fromarray(a).convert("L"), "JPEG", quality=85), "jpg"
    elif k == 2: data, ext = enc(Image.fromarray(a), "PNG"), "png"
    elif k == 3:
        rgba = np.concatenate([a, rng.integers(0, 256, (h, w, 1)).astype(np.uint8)], -1)
        data, ext = enc(Image.fromarray(rgba, "RGBA"), "PNG"), "png"
    elif k == 4: data, ext = enc(Image.fromarray(a).convert("P", palette=Image.ADAPTIVE, colors=40), "PNG"), "png"
    else: data, ext = enc(Image.fromarray(a).convert("L"), "PNG"), "png"
    files.append((f"set/{['owl','cat','dog'][i % 3]}/{i:03d}.{ext}", data))
with zipfile.ZipFile(f"{t}/folder.zip", "w") as z:
    for name, data in reversed(files): z.writestr(name, data)
# reference: sorted path order, PIL decode + convert + resize
ref = []
for name, data in sorted(files):
    ref.append(np.asarray(Image.open(io.BytesIO(data)).convert("RGB").resize((24, 24), Image.BILINEAR)))
np.save(f"{t}/folder_ref.npy", np.stack(ref))
# FLICKR25K layout: 120 images, 6 concepts, ids 7, 50, 99 unlabeled, im33 truncated
n, C = 120, ["sky", "tree", "water", "night", "dog", "people"]
lab = rng.random((n + 1, len(C))) < 0.3
for k in (7, 50, 99): lab[k] = False
for k in range(1, n + 1):
    if k not in (7, 50, 99) and not lab[k].any(): lab[k, k % len(C)] = True
with zipfile.ZipFile(f"{t}/mirflickr25k.zip", "w") as z:
    for k in rng.permutation(np.arange(1, n + 1)):
        d = enc(Image.fromarray(img(40, 30)), "JPEG", quality=80)
        if k == 33: d = d[: len(d) // 2]
        z.writestr(f"mirflickr/im{k}.jpg", d)
with zipfile.ZipFile(f"{t}/annotations.zip", "w") as z:
    z.writestr("README.txt", "annotations\n")
    for c, name in enumerate(C):
        z.writestr(f"{name}.txt", "".join(f"{k}\n" for k in range(1, n + 1) if lab[k, c]))
        z.writestr(f"{name}_r1.txt", "1\n")
with open(f"{t}/flickr_expect.txt", "w") as f:
    keep = [k for k in range(1, n + 1) if lab[k].any() and k != 33]
    f.write(f"{len(keep)}\n")
    np.save(f"{t}/flickr_labels.npy", lab[keep][:, np.argsort(C)].astype(np.uint8))
PY
ok 0 "fixtures written by PIL"

# ---- folder zip vs PIL --------------------------------------------------------
"$BIN/dsah-ingest" -q --source folder --path "$tmp/folder.zip" --size 24 --query 3 --train 4 --seed 1 --out "$tmp/fo" 2>"$tmp/err"
ok $? "folder zip ingests"
$PY - "$tmp" $TAP_N <<'PY'
import sys, json, numpy as np
t, k = sys.argv[1], int(sys.argv[2])
a = np.load(f"{t}/fo/images.npy", mmap_mode="r"); r = np.load(f"{t}/folder_ref.npy")
lab = np.load(f"{t}/fo/labels.npy"); js = json.load(open(f"{t}/fo/ingest.json"))
ok = a.shape == r.shape and (a == r).all()
print(("ok" if ok else "not ok") + f" {k+1} - folder: images.npy byte-identical to PIL convert('RGB').resize(BILINEAR)"
      + ("" if ok else f" (max diff {np.abs(a.astype(int) - r).max() if a.shape == r.shape else a.shape})"))
exp = np.eye(3, dtype=np.uint8)[[["cat","dog","owl"].index(s) for s in ["cat","dog","owl"] for _ in range(4)]]
ok2 = js["classes"] == ["cat", "dog", "owl"] and (lab == exp).all() and js["nq"] == 3 and js["nt"] == 4 and js["ndb"] == 9
print(("ok" if ok2 else "not ok") + f" {k+2} - folder: classes = sorted subfolders, one-hot in path order, split 3/4/9")
sys.exit(0 if ok and ok2 else 1)
PY
external 2 $?

# ---- flickr25k: scaled split, threads, corrupt image --------------------------
run() { "$BIN/dsah-ingest" -q --source flickr25k --path "$tmp/mirflickr25k.zip" --annotations "$tmp/annotations.zip" \
        --size 16 --query 10 --train 40 --seed 7 "$@"; }
run --threads 2 --out "$tmp/f2" 2>"$tmp/err2"; rc=$?
ok $rc "flickr25k ingests (2 threads)"
grep -q "warning: .*mirflickr/im33.jpg: .*JPEG.*skipped" "$tmp/err2"; ok $? "the truncated im33.jpg is reported by name"
run --threads 1 --out "$tmp/f1" 2>/dev/null
same=0; for f in images labels query train db; do cmp -s "$tmp/f1/$f.npy" "$tmp/f2/$f.npy" || same=1; done
ok $same "flickr25k: outputs byte-identical with 1 and 2 threads"
$PY - "$tmp" $TAP_N <<'PY'
import sys, json, numpy as np
t, k = sys.argv[1], int(sys.argv[2])
js = json.load(open(f"{t}/f2/ingest.json")); N = int(open(f"{t}/flickr_expect.txt").read())
q, tr, db = (np.load(f"{t}/f2/{s}.npy") for s in ("query", "train", "db"))
lab = np.load(f"{t}/f2/labels.npy")
ok = (js["n"] == N and js["unlabeled"] == 3 and js["skipped"] == 4 and len(q) == 10 and len(tr) == 40
      and len(db) == N - 10 and set(tr) <= set(db) and not set(q) & set(db)
      and sorted(set(q) | set(db)) == list(range(N)) and all((np.diff(x) > 0).all() for x in (q, tr, db)))
print(("ok" if ok else "not ok") + f" {k+1} - flickr25k: n={js['n']} (expect {N}), 3 unlabeled + 1 corrupt skipped, "
      "query 10, train 40 within the database, sorted and disjoint")
ok2 = js["classes"] == sorted(["sky", "tree", "water", "night", "dog", "people"]) and (lab == np.load(f"{t}/flickr_labels.npy")).all()
print(("ok" if ok2 else "not ok") + f" {k+2} - flickr25k: labels exact, classes in name order")
sys.exit(0 if ok and ok2 else 1)
PY
external 2 $?
run --strict --out "$tmp/fs" 2>"$tmp/err3"; rc=$?
[ $rc -ne 0 ] && grep -q "^dsah-ingest: error: .*im33.jpg.*--strict" "$tmp/err3" && [ -z "$(ls -A "$tmp/fs" 2>/dev/null)" ]
ok $? "flickr25k --strict: fails naming im33.jpg, leaves no output"
"$BIN/dsah-ingest" -q --source flickr25k --path "$tmp/annotations.zip" --annotations "$tmp/annotations.zip" \
  --size 16 --query 1 --train 1 --seed 0 --out "$tmp/fb" 2>"$tmp/err4"; rc=$?
[ $rc -ne 0 ] && grep -q "expected mirflickr/im1.jpg" "$tmp/err4" && [ -z "$(ls -A "$tmp/fb" 2>/dev/null)" ]
ok $? "flickr25k with the wrong archive: error names mirflickr/im1.jpg"
done_testing
