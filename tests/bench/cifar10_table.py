#!/usr/bin/python3
"""cifar10_table.py TIMES THREADS: the per-stage cost table of
`make pipeline DATASET=cifar10` with finetune fc, from the measurements of
cifar10_estimate.sh (TIMES: its lines "NAME rows R seconds S load L" and the
bench_head JSON lines), for THREADS cores (as measured) and for 16 cores.

What `make pipeline` runs (dsah-plan on pipelines/cifar10.yaml with finetune
fc; 1,000 query, 10,000 training, 59,000 database images, the training images
part of the database; bits 16, 32, 64, 128):
  ingest once; the convolutions to pool5 once per split (train, query, db:
  70,000 images, the training images twice); relu7 from the cache per split
  (70,000 rows); the graph; SSDH's S; DSAH 4 lengths x 3 rounds x 10 epochs,
  with an encode of the training rows after rounds 1 and 2 (--real) and AND;
  GreedyHash and SSDH 4 lengths x 1 round x 30 epochs; an encode of query +
  db per trained model (12); eval and index per method and length (10 x 4);
  the seven shallow baselines x 4 lengths.
Per-row stages are scaled linearly from their measured rows (the measured
time includes the stage's fixed cost, so this overestimates slightly); a
training round is its fixed cost (weights, cache, the first checkpoint and
the final model and optimiser files: a 1-epoch round minus its epoch loop)
plus the epochs' loops (scaled to 10,000 rows) plus one checkpoint per
further epoch (a 2-epoch minus a 1-epoch round, minus the extra loop). The
baselines were timed at 64 bits and count the same at every length.

16 cores: Amdahl's law fitted to the 1 -> THREADS thread speed-up measured
for the convolutions (serial fraction f from s_T = 1 / (f + (1 - f) / T))
gives their 16-core time, and the same fit on the training step's GEMMs
(forward + backward of bench_head) the fc layers'; the other compute stages
(graph, encode, eval, baselines) are assumed to scale as the convolutions
(not measured at 1 thread); the Adam pass of a training step is memory-bound and is kept at
its measured THREADS-thread time (more cores do not add memory bandwidth on
one socket beyond what 2 cores draw here, a conservative assumption); file
writes (checkpoints, models) and ingest are kept as measured."""
import json
import sys

times, T = sys.argv[1], int(sys.argv[2])
m, bench = {}, {}
for line in open(times):
    w = line.split()
    if w[0].startswith("bench_head_t"):
        bench[int(w[0][len("bench_head_t"):])] = json.loads(line[line.index("{"):])
        continue
    m[w[0]] = (float(w[2]), float(w[4]), float(w[6]))  # rows, seconds, load


def sec(name):
    return m[name][1]


def per_row(name):
    return m[name][1] / m[name][0]


N_TRAIN, N_Q, N_DB = 10000, 1000, 59000
SPLITS = N_TRAIN + N_Q + N_DB


def amdahl_16(s_T):
    """Speed-up from T to 16 threads under Amdahl's law fitted to s_T (1 -> T)."""
    f = min(1.0, max(0.0, (T / s_T - 1) / (T - 1)))
    return (1 / (f + (1 - f) / 16)) / (1 / (f + (1 - f) / T)), f


conv1, convT = per_row("conv_pool5_t1"), per_row(f"conv_pool5_t{T}")
speed16, f_conv = amdahl_16(conv1 / convT)  # compute stages: time_16 = time_T / speed16

loop = sec("train_epoch_loop") * N_TRAIN / m["train_epoch_loop"][0]
fixed = sec("train_round_1epoch") - sec("train_epoch_loop")
ckpt = max(0.0, sec("train_round_2epochs") - sec("train_round_1epoch")
           - (sec("train_2epoch_loops") - sec("train_epoch_loop")))
bt, b1 = bench[T], bench[1]
gemm_T, gemm_1 = bt["forward_s"] + bt["backward_s"], b1["forward_s"] + b1["backward_s"]
speed16_fc, f_fc = amdahl_16(gemm_1 / gemm_T)
step16 = gemm_T / speed16_fc + bt["adam_s"] + bt["loss_s"]
loop16 = loop * step16 / bt["step_s"]


def round_s(epochs, lp):
    return fixed + epochs * lp + (epochs - 1) * ckpt


rows = []  # (stage, count, unit, seconds at T, seconds at 16)


def add(stage, count, unit, s_T, s_16):
    rows.append((stage, count, unit, s_T, s_16))


add("ingest (archive -> images.npy, split)", "60,000 images", f"{sec('ingest'):.0f} s", sec("ingest"), sec("ingest"))
add("convolutions to pool5 (resize to 224 included)", f"{SPLITS:,} images", f"{1 / convT:.2f} img/s",
    SPLITS * convT, SPLITS * convT / speed16)
add("relu7 from the cache (fc6, fc7)", f"{SPLITS:,} rows", f"{1 / per_row('relu7_from_cache'):.0f} rows/s",
    SPLITS * per_row("relu7_from_cache"), SPLITS * per_row("relu7_from_cache") / speed16)
add("graph (k1 = k2 = 500)", "1", f"{sec('graph'):.0f} s", sec("graph"), sec("graph") / speed16)
add("SSDH's S", "1", f"{sec('ssdh_s'):.0f} s", sec("ssdh_s"), sec("ssdh_s") / speed16)
dsah_T, dsah_16 = 12 * round_s(10, loop), 12 * round_s(10, loop16)
add("DSAH training (4 lengths x 3 rounds x 10 epochs)", "120 epochs",
    f"{N_TRAIN / loop:.0f} img/s, ckpt {ckpt:.1f} s, round fixed {fixed:.0f} s", dsah_T, dsah_16)
gs_T, gs_16 = 8 * round_s(30, loop), 8 * round_s(30, loop16)
add("GreedyHash + SSDH training (2 x 4 lengths x 30 epochs)", "240 epochs", "as DSAH", gs_T, gs_16)
enc_rows = 4 * 2 * N_TRAIN + 12 * (N_Q + N_DB)
add("encode from the cache", f"{enc_rows:,} rows", f"{1 / per_row('encode_from_cache'):.0f} rows/s",
    enc_rows * per_row("encode_from_cache"), enc_rows * per_row("encode_from_cache") / speed16)
add("AND", "8", f"{sec('and'):.1f} s", 8 * sec("and"), 8 * sec("and") / speed16)
add("eval + index", "40 + 40", f"{sec('eval'):.1f} + {sec('index'):.1f} s", 40 * (sec("eval") + sec("index")),
    40 * (sec("eval") + sec("index")) / speed16)
bl = sum(sec(k) for k in m if k.startswith("baseline_"))
add("shallow baselines (7 methods x 4 lengths)", "28", f"{bl:.0f} s per length (all 7)", 4 * bl, 4 * bl / speed16)

tot_T, tot_16 = sum(r[3] for r in rows), sum(r[4] for r in rows)


def hm(s):
    return f"{s / 3600:.2f} h" if s >= 360 else f"{s / 60:.1f} min" if s >= 60 else f"{s:.0f} s"


print(f"\nthread scaling 1 -> {T}: convolutions {conv1 / convT:.2f}x (Amdahl serial fraction {f_conv:.2f}: "
      f"{T} -> 16 threads {speed16:.2f}x), training step GEMMs {gemm_1 / gemm_T:.2f}x (f {f_fc:.2f}: "
      f"{speed16_fc:.2f}x), Adam {b1['adam_s'] / bt['adam_s']:.2f}x "
      f"({bt['adam_gb_per_s']:.1f} GB/s at {T}); loads during the runs: "
      f"{min(v[2] for v in m.values()):.1f} to {max(v[2] for v in m.values()):.1f}\n")
print(f"| stage | count | measured rate ({T} threads) | {T} cores | 16 cores |")
print("| --- | --- | --- | --- | --- |")
for r in rows:
    print(f"| {r[0]} | {r[1]} | {r[2]} | {hm(r[3])} | {hm(r[4])} |")
print(f"| **total** | | | **{hm(tot_T)}** | **{hm(tot_16)}** |")
