#!/bin/bash
# device.sh: the one command a session with a lent H200 runs (docs/GPU.md).
# Prepared here, on a machine without a GPU, by `make gpu-carry`
# (tests/gpu/prepare.sh fills .carry/); never run on a GPU so far.
#
#   device tool:  run  command="bash tests/gpu/device.sh"  carry=[".carry"]  timeout_s=540
#
# It stays inside 8 minutes (each step has its own timeout) and writes
# $OUT/device.log (everything), $OUT/table.md (the figures) and the JSON
# lines of the benchmarks ($OUT/bench.jsonl); the short table is printed last.
#  1. unpacks the carried Debian libraries into /tmp/sys (dpkg -x, never /),
#     finds cuDNN in the Python package nvidia-cudnn-cu13, checks that every
#     library of the carried binaries resolves (ldd), prints nvidia-smi and
#     cudnnGetVersion;
#  2. the GPU tests: .carry/tests/t_device (dropout mask, input conversion,
#     one training step per precision, encode) and t_ops (every op's CUDA
#     twin in fp32, tf32 and bf16 against the harness's reference); TAP;
#  3. VGG-19 at 224: one training step at batch 50 in fp32, tf32 and bf16,
#     bench_gpu (dsah) and torch_vgg.py (PyTorch eager) side by side, each
#     the median of 20 steps timed with CUDA events; the paper's 300,000
#     image-steps extrapolated from the bf16 step;
#  4. encoding at 224, batch 256: device forward img/s (dsah and PyTorch,
#     fp32 and bf16), and dsah-encode end to end on 2,000 random images;
#  4b. dsah-features relu7 on the GPU against PyTorch's (the same random
#     weights and 64 images, fp32, TF32 off): normalised error < 1e-4;
#  5. dsah-train end to end on the GPU (bf16, 1,000 random 224 images, one
#     epoch: its own img/s, the host's input pipeline included);
#  6. CPU against GPU on a small clustered set: the same training run with
#     --device cpu and --device cuda, encoded and evaluated: mAP within 0.02;
#  7. graph (n = 10,000, d = 4,096, k = 500) and eval (1,000 x 59,000, 64
#     bits) on this machine's CPU (no GPU path yet), for the record.
set -u
T0=$(date +%s)
OUT=${OUT:-/tmp/dsah-out}
mkdir -p "$OUT"
exec > >(tee "$OUT/device.log") 2>&1
REPO=$(cd "$(dirname "$0")/../.." && pwd)
cd "$REPO"
C=$REPO/.carry
W=/tmp/dsah-gpu
rm -rf "$W"; mkdir -p "$W"
TABLE=$OUT/table.md
JSONL=$OUT/bench.jsonl
: > "$JSONL"
printf '| figure | dsah | PyTorch | ratio |\n| --- | --- | --- | --- |\n' > "$TABLE"
fails=0
step() { echo; echo "=== [$(( $(date +%s) - T0 )) s] $*"; }
row() { printf '| %s | %s | %s | %s |\n' "$1" "$2" "$3" "$4" >> "$TABLE"; }
fail() { echo "device.sh: FAIL: $*"; fails=$((fails+1)); row "FAIL: $*" "" "" ""; }
# the "N img/s" and "median X ms" of a bench line
ips() { sed -n 's/.*, \([0-9.]*\) img\/s$/\1/p' | tail -1; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a > 0 && b > 0) printf "%.2f x", a / b; else print "-" }'; }

step "1. libraries, GPU, cuDNN"
[ -d "$C/debs" ] && [ -d "$C/bin" ] || { echo "device.sh: .carry/ is missing: run make gpu-carry on the build machine and carry .carry"; exit 2; }
mkdir -p /tmp/sys
for f in "$C"/debs/*.deb; do dpkg -x "$f" /tmp/sys; done
CUDNN=$(python3 -c "import nvidia.cudnn, os; print(os.path.dirname(nvidia.cudnn.__file__))" 2>/dev/null)
echo "cuDNN package: ${CUDNN:-not found}"
SYS=/tmp/sys/usr/lib/x86_64-linux-gnu
# the carried libraries for dsah's binaries only (dsah runs them through
# `dsah`): python3 and torch keep their own
DSAH_LD=$SYS:$SYS/openblas-pthread:$SYS/lapack${CUDNN:+:$CUDNN/lib}:/usr/local/cuda/lib64${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
dsah() { LD_LIBRARY_PATH=$DSAH_LD "$@"; }
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-16}
BIN=$C/bin
missing=$(for b in "$BIN"/* "$C"/tests/*; do dsah ldd "$b" | grep 'not found'; done | sort -u)
if [ -n "$missing" ]; then fail "libraries not found (add their packages to tests/gpu/prepare.sh): $(echo $missing | tr '\n' ' ')"; fi
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm,clocks.mem --format=csv | tee "$OUT/gpu.csv"
GPU=$(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | head -1)
python3 - "${CUDNN:-/nonexistent}/lib/libcudnn.so.9" <<'PY'
import ctypes, sys
try:
    print("cudnnGetVersion:", ctypes.CDLL(sys.argv[1]).cudnnGetVersion())
except OSError as e:
    print("cudnnGetVersion: not loadable:", e)
import torch, torchvision
print("torch", torch.__version__, "torchvision", torchvision.__version__, "cuda", torch.version.cuda,
      "cudnn", torch.backends.cudnn.version(), "device", torch.cuda.get_device_name(0))
PY
row "GPU, driver (nvidia-smi)" "$GPU" "" ""

step "2. GPU tests (t_device, t_ops)"
for t in t_device t_ops; do
    dsah timeout 120 "$C/tests/$t" > "$OUT/$t.tap" 2>&1; rc=$?
    grep -v '^ok' "$OUT/$t.tap"; echo "($t: the ok lines are in $OUT/$t.tap)"
    nok=$(grep -c '^ok' "$OUT/$t.tap"); nnot=$(grep -c '^not ok' "$OUT/$t.tap"); nskip=$(grep -c '# skip' "$OUT/$t.tap")
    [ $rc = 0 ] && [ "$nnot" = 0 ] || fail "$t: rc $rc, $nnot not ok"
    row "$t (GPU tests)" "$nok ok, $nnot not ok, $nskip skipped" "" ""
done

step "3. VGG-19 training step, 224x224, batch 50: dsah vs PyTorch"
for p in fp32 tf32 bf16; do
    d=$(dsah timeout 90 "$C/tests/bench_gpu" train vgg19 224 64 50 $p 20 2>&1 | tee -a "$W/bench_train_$p.log")
    echo "$d"; echo "$d" | grep '^{' >> "$JSONL"
    t=$(PYTHONUNBUFFERED=1 timeout 90 python3 tests/gpu/torch_vgg.py train 224 64 50 $p 20 2>&1 | tee -a "$W/bench_train_$p.log")
    echo "$t"
    di=$(echo "$d" | grep '^bench_gpu' | ips); ti=$(echo "$t" | grep '^torch' | ips)
    [ -n "$di" ] || fail "bench_gpu train $p gave no figure"
    row "VGG-19 train step B=50 $p (img/s)" "${di:--}" "${ti:--}" "$(ratio "${di:-0}" "${ti:-0}")"
    [ $p = bf16 ] && BF16_IPS=${di:-0}
done
awk -v r="${BF16_IPS:-0}" 'BEGIN { if (r > 0) printf "paper CIFAR-10 training, 300,000 image-steps at the bf16 rate: %.1f min (target <= 2)\n", 300000 / r / 60 }' | tee -a "$W/extrapolation.txt"
row "300,000 image-steps at the bf16 step (min)" "$(awk -v r="${BF16_IPS:-0}" 'BEGIN { if (r > 0) printf "%.2f", 300000 / r / 60; else print "-" }')" "" "target <= 2"

step "4. encoding at 224, batch 256"
for p in fp32 bf16; do
    d=$(dsah timeout 90 "$C/tests/bench_gpu" encode vgg19 224 64 256 $p 10 2>&1 | tee -a "$W/bench_encode.log")
    echo "$d"; echo "$d" | grep '^{' >> "$JSONL"
    t=$(PYTHONUNBUFFERED=1 timeout 90 python3 tests/gpu/torch_vgg.py encode 224 64 256 $p 10 2>&1 | tee -a "$W/bench_encode.log")
    echo "$t"
    di=$(echo "$d" | grep '^bench_gpu' | ips); ti=$(echo "$t" | grep '^torch' | ips)
    row "VGG-19 encode forward B=256 $p (img/s, device)" "${di:--}" "${ti:--}" "$(ratio "${di:-0}" "${ti:-0}")"
done
python3 - "$W" <<'PY'
import numpy as np, sys
w = sys.argv[1]
rs = np.random.RandomState(0)
np.save(w + "/img224.npy", rs.randint(0, 256, (2000, 224, 224, 3), dtype=np.uint8))
np.save(w + "/idx2000.npy", np.arange(2000, dtype=np.int64))
np.save(w + "/idx1000.npy", np.arange(1000, dtype=np.int64))
np.save(w + "/w1000.npy", np.packbits(rs.rand(1000, 1000) < 0.1, axis=1, bitorder="little"))
PY
# a model to encode with: one bf16 epoch (step 5), which also times dsah-train end to end
step "4b. dsah-features vgg19 relu7 on the GPU against PyTorch (fp32, TF32 off)"
mkdir -p "$W/r7"
r7=$(DSAH_LD=$DSAH_LD PYTHONUNBUFFERED=1 timeout 120 python3 tests/gpu/torch_relu7.py "$W/r7" "$BIN" 2>&1 | tee "$W/relu7.log" | tail -1)
echo "$r7"
case $r7 in *PASS*) ;; *) fail "relu7 parity: ${r7:-no result}" ;; esac
row "relu7 (64 images): dsah-features --device cuda vs PyTorch fp32" "$(echo "$r7" | sed -n 's/.*PyTorch fp32 \([0-9.e+-]*\).*/\1/p')" "reference" "tolerance 1e-4"

step "5. dsah-train end to end: vgg19, 1,000 random 224 images, batch 50, bf16, one epoch"
dsah timeout 150 "$BIN/dsah-train" --images "$W/img224.npy" --indices "$W/idx1000.npy" --w "$W/w1000.npy" --arch vgg19 \
    --input 224 --bits 64 --epochs 1 --batch 50 --device cuda --precision bf16 --out "$W/vgg" 2>&1 | tail -5
e2e=$(grep -o '"img_per_s": [0-9.]*' "$W/vgg/train.jsonl" 2>/dev/null | awk '{print $2}')
[ -n "$e2e" ] || fail "dsah-train --device cuda (vgg19 bf16) did not finish"
row "dsah-train vgg19 bf16, end to end (img/s, host input included)" "${e2e:--}" "" ""
if [ -f "$W/vgg/model.safetensors" ]; then
    dsah timeout 120 "$BIN/dsah-encode" --model "$W/vgg/model.safetensors" --images "$W/img224.npy" --indices "$W/idx2000.npy" \
        --device cuda --precision bf16 --out "$W/codes.npy" 2>&1 | tail -3 | tee "$W/encode_e2e.log"
    enc=$(sed -n 's/.*(\([0-9]*\) img\/s).*/\1/p' "$W/encode_e2e.log" | tail -1)
    row "dsah-encode vgg19 bf16, 2,000 images end to end (img/s)" "${enc:--}" "" "target >= 8000 (device)"
fi

step "6. CPU vs GPU: the same training run, encoded and evaluated"
python3 - "$W" <<'PY'
import numpy as np, sys
w = sys.argv[1]
rs = np.random.RandomState(1)
n, c = 6000, 10
lab = rs.randint(0, c, n)
proto = rs.randint(0, 256, (c, 16, 16, 1))
img = np.clip(proto[lab] + rs.normal(0, 60, (n, 16, 16, 1)), 0, 255).astype(np.uint8)
np.save(w + "/s_img.npy", img)
L = np.zeros((n, c), np.uint8); L[np.arange(n), lab] = 1
np.save(w + "/s_lab.npy", L)
q, db = np.arange(500), np.arange(500, n)
tr = db[:2000]
np.save(w + "/s_q.npy", q.astype(np.int64)); np.save(w + "/s_db.npy", db.astype(np.int64)); np.save(w + "/s_tr.npy", tr.astype(np.int64))
np.save(w + "/s_w.npy", np.packbits(lab[tr][:, None] == lab[tr][None, :], axis=1, bitorder="little"))
PY
for dev in cpu cuda; do
    dsah timeout 120 "$BIN/dsah-train" -q --images "$W/s_img.npy" --indices "$W/s_tr.npy" --w "$W/s_w.npy" \
        --arch conv3-16,pool,conv3-32,pool,fc-256,dropout-0.5 --input 16 --bits 32 --epochs 3 --batch 50 --lr 0.001 \
        --seed 0 --device $dev --out "$W/s_$dev" &&
    for sp in q db; do
        dsah "$BIN/dsah-encode" -q --model "$W/s_$dev/model.safetensors" --images "$W/s_img.npy" --indices "$W/s_$sp.npy" \
            --device $dev --out "$W/s_${dev}_$sp.npy" || break
    done &&
    dsah "$BIN/dsah-eval" -q --query-codes "$W/s_${dev}_q.npy" --db-codes "$W/s_${dev}_db.npy" --labels "$W/s_lab.npy" \
        --query-indices "$W/s_q.npy" --db-indices "$W/s_db.npy" --bits 32 --out "$W/s_${dev}_eval" ||
    fail "CPU/GPU comparison: the $dev run failed"
done
mc=$(python3 -c "import json; print(json.load(open('$W/s_cpu_eval/metrics.json'))['mAP@1000'])" 2>/dev/null)
mg=$(python3 -c "import json; print(json.load(open('$W/s_cuda_eval/metrics.json'))['mAP@1000'])" 2>/dev/null)
echo "mAP@1000: cpu ${mc:--} cuda ${mg:--}"
if [ -n "$mc" ] && [ -n "$mg" ]; then
    awk -v a="$mc" -v b="$mg" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d <= 0.02) }' || fail "mAP@1000 cpu $mc vs cuda $mg: more than 0.02 apart"
fi
row "small set, 3 epochs: mAP@1000 cuda vs cpu (tolerance 0.02)" "${mg:--}" "cpu ${mc:--}" ""

step "7. graph and eval on the CPU (no GPU path yet)"
python3 - "$W" <<'PY'
import numpy as np, sys
w = sys.argv[1]
rs = np.random.RandomState(2)
np.save(w + "/g_x.npy", rs.rand(10000, 4096).astype(np.float32))
lab = rs.randint(0, 10, 60000); L = np.zeros((60000, 10), np.uint8); L[np.arange(60000), lab] = 1
np.save(w + "/e_lab.npy", L)
np.save(w + "/e_q.npy", np.packbits(rs.rand(1000, 64) < 0.5, axis=1, bitorder="little"))
np.save(w + "/e_db.npy", np.packbits(rs.rand(59000, 64) < 0.5, axis=1, bitorder="little"))
np.save(w + "/e_qi.npy", np.arange(1000, dtype=np.int64)); np.save(w + "/e_dbi.npy", np.arange(1000, 60000, dtype=np.int64))
PY
t=$(date +%s.%N)
dsah timeout 120 "$BIN/dsah-graph" -q --features "$W/g_x.npy" --k1 500 --k2 500 --out "$W/g/" && \
    row "graph n=10,000 d=4,096 k1=k2=500, CPU $(nproc) threads (s)" "$(awk -v a="$t" -v b="$(date +%s.%N)" 'BEGIN {printf "%.2f", b - a}')" "" "GPU target <= 0.5 s (no GPU path)"
t=$(date +%s.%N)
dsah timeout 60 "$BIN/dsah-eval" -q --query-codes "$W/e_q.npy" --db-codes "$W/e_db.npy" --labels "$W/e_lab.npy" \
    --query-indices "$W/e_qi.npy" --db-indices "$W/e_dbi.npy" --bits 64 --out "$W/e/" && \
    row "eval 1,000 x 59,000 at 64 bits, CPU $(nproc) threads (s, with loading)" "$(awk -v a="$t" -v b="$(date +%s.%N)" 'BEGIN {printf "%.2f", b - a}')" "" "no GPU path"

echo
echo "=== [$(( $(date +%s) - T0 )) s] done: $fails failure(s); date $(date -u +%FT%TZ); logs in $OUT"
cat "$TABLE"
exit $((fails > 0))
