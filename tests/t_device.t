#!/bin/bash
# t_device.t: --device and --precision through the stage binaries: the one
# error line for a bad value, for cuda on a build without CUDA or a machine
# without a GPU, for a run without a CUDA path (--loss ssdh), for a precision
# other than fp32 on the CPU, and for train.precision in a YAML file; a run
# with --device auto (and --device cpu --precision fp32) trains on the CPU.
set -u
. "$(dirname "$0")/lib.sh"
BIN=${DSAH_BIN:-$(dirname "$0")/../bin}
PY=/usr/bin/python3
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
# expect_fail NAME PATTERN CMD...: exit 1, the first line "dsah-X: error: ..." matching PATTERN
expect_fail() {
    local name=$1 pat=$2; shift 2
    "$@" >"$T/out.txt" 2>"$T/err.txt"; local rc=$?
    local good=0
    [ $rc -eq 1 ] || good=1
    head -1 "$T/err.txt" | grep -Eq "^dsah-[a-z]+: error: $pat" || good=1
    ok $good "$name (rc $rc: $(head -1 "$T/err.txt"))"
}
gpu=0
nvidia-smi -L >/dev/null 2>&1 && gpu=1

$PY - "$T" <<'PY'
import numpy as np, sys
t = sys.argv[1]
rng = np.random.default_rng(0)
np.save(f"{t}/images.npy", rng.integers(0, 256, (40, 8, 8, 1), dtype=np.uint8))
np.save(f"{t}/idx.npy", np.arange(40, dtype=np.int64))
np.save(f"{t}/w.npy", np.packbits(np.eye(40, dtype=bool), axis=1, bitorder="little"))
PY
ok $? "fixtures"
TR=("$BIN/dsah-train" -q --images "$T/images.npy" --indices "$T/idx.npy" --w "$T/w.npy" --arch fc-8 --input 8
    --bits 8 --epochs 1 --batch 20)

expect_fail "train --device cuda:x" "--device 'cuda:x': expected auto, cpu, cuda or cuda:N" "${TR[@]}" --device cuda:x --out "$T/a"
expect_fail "train --device gpu" "--device 'gpu': expected auto, cpu, cuda or cuda:N" "${TR[@]}" --device gpu --out "$T/a"
expect_fail "train --precision fp16" "--precision" "${TR[@]}" --precision fp16 --out "$T/a"
expect_fail "train --device cpu --precision bf16" \
    "--precision bf16: only on a GPU \(--device cpu runs on the CPU, which computes in fp32\)" \
    "${TR[@]}" --device cpu --precision bf16 --out "$T/a"
expect_fail "encode --device cpu --precision tf32" "--precision tf32: only on a GPU" \
    "$BIN/dsah-encode" --model "$T/none" --images "$T/images.npy" --indices "$T/idx.npy" --device cpu --precision tf32 --out "$T/c.npy"
if [ $gpu = 0 ]; then
    expect_fail "train --device cuda without a GPU" "--device cuda: (no CUDA GPU answers|this build of dsah-train has no CUDA support)" \
        "${TR[@]}" --device cuda --out "$T/a"
    expect_fail "train --device cuda:1 without a GPU" "--device cuda:1: (no CUDA GPU answers|this build of dsah-train has no CUDA support)" \
        "${TR[@]}" --device cuda:1 --out "$T/a"
    expect_fail "train --precision bf16 with auto and no GPU" "--precision bf16: only on a GPU" \
        "${TR[@]}" --precision bf16 --out "$T/a"
else
    skip 3 "a GPU is present"
fi
expect_fail "train --loss ssdh --device cuda" "--device cuda: (--loss ssdh has no CUDA path|this build of dsah-train has no CUDA support|no CUDA GPU answers)" \
    "${TR[@]}" --loss ssdh --mask "$T/w.npy" --device cuda --out "$T/a"
[ ! -e "$T/a" ]
ok $? "no output directory left by the refused runs"

if [ $gpu = 0 ]; then
    "${TR[@]}" --device auto --out "$T/auto" && "${TR[@]}" --device cpu --precision fp32 --out "$T/cpu"
    ok $? "train with --device auto and with --device cpu --precision fp32 (the CPU here)"
    cmp -s "$T/auto/model.safetensors" "$T/cpu/model.safetensors"
    ok $? "auto without a GPU is the CPU: the same model, byte for byte"
else
    skip 2 "a GPU is present"
fi

# train.precision in a YAML file: checked against the stages' choices
cat > "$T/p.yaml" <<YAML
name: tp
dataset: {source: mnist, path: $T/data, query_per_class: 5, train_per_class: 20}
network: {arch: [fc-16], input: 12}
train: {bits: [16], precision: fp16}
YAML
expect_fail "dsah-plan: train.precision fp16" "$T/p.yaml:4: train.precision: fp16: must be one of fp32.tf32.bf16" \
    "$BIN/dsah-plan" --config "$T/p.yaml" --work "$T/work"

done_testing
