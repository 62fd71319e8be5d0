#!/usr/bin/python3
"""cifar10_table.py TIMES THREADS: the per-stage cost table of
`make pipeline DATASET=cifar10` with finetune fc, from the measurements of
cifar10_estimate.sh (TIMES: its lines "NAME rows R seconds S cpu C load L"
and the bench_head JSON lines; lines starting with # are skipped), for an
idle machine of 2 and of 16 cores. cifar10_times_2026-11-29.txt holds the
lines of the 2026-11-29 run:
  python3 tests/bench/cifar10_table.py tests/bench/cifar10_times_2026-11-29.txt 2

What `make pipeline` runs (dsah-plan on pipelines/cifar10.yaml with finetune
fc; 1,000 query, 10,000 training, 59,000 database images, the training images
part of the database; bits 16, 32, 64, 128):
  ingest once; the convolutions to pool5 for the query and db splits (60,000
  images, each once: the training split reads db's cache through
  --prefix-indices); relu7 from the cache per split, train included
  (70,000 rows); the graph; SSDH's S; DSAH 4 lengths x 3 rounds x 10 epochs,
  with an encode of the training rows after rounds 1 and 2 (--real) and AND;
  SSDH 4 lengths x 1 round x 30 epochs as DSAH's; GreedyHash 4 lengths x 30
  epochs of its hash head alone on the relu7 rows (eval.greedyhash_finetune
  head, since 2026-11-30; TIMES files without greedyhash_* lines count it as
  SSDH); an encode of query + db per trained model (12; GreedyHash's from
  relu7); eval and index per method and length (10 x 4); the seven shallow
  baselines x 4 lengths.

On 2026-11-29 the machine was shared (load average 15-25 on 2 cores), so
wall times measured the queue, not the code. The estimate is built from CPU seconds
(user + system, with OMP_WAIT_POLICY=passive so that waiting threads do not
spin): the work of each stage. Model:
  - compute stages (convolutions, relu7, encode, the fc GEMMs of a training
    step, graph, SSDH's S, AND, eval, index, baselines): work / cores. At 2
    cores this assumes the work measured at 2 threads divides evenly over
    them; at 16 it assumes perfect scaling, optimistic;
  - the Adam pass of a training step (memory-bound): its 1-thread time at
    any core count (more cores do not add bandwidth on one socket; a
    conservative assumption);
  - a training round's fixed cost (weights, cache, the final model and
    optimiser files) and each epoch's checkpoint (1.56 GB: parameters and
    Adam moments): their CPU seconds, serial, at any core count;
  - ingest: its CPU seconds.
Per-row stages are scaled linearly from their measured rows (the fixed
cost of a stage is then counted per row: slightly pessimistic). The
baselines were timed at 64 bits and count the same at every length. The
last column is the measured wall time under the load, scaled the same way:
what the pipeline would take on this machine as loaded as it was.
"DSAH alone" is the pipeline without GreedyHash, SSDH (S, training and
their encodes) and the shallow baselines (with the relu7 of query and db
they read): ingest, the convolutions, relu7 of the training split, the
graph, DSAH's training, its encodes, AND, its eval and index.
Before 2026-11-30 the plan also wrote a cache of the training split, and the
convolutions counted 70,000 images; the 2026-11-29 figures are re-tabulated
here with the plan's 60,000."""
import json
import sys

times, T = sys.argv[1], int(sys.argv[2])
m, bench = {}, {}
for line in open(times):
    w = line.split()
    if not w or w[0].startswith("#"):
        continue
    if w[0].startswith("bench_head_t"):
        bench[int(w[0][len("bench_head_t"):])] = dict(json.loads(line[line.index("{"):]), load=float(w[2]))
        continue
    m[w[0]] = (float(w[2]), float(w[4]), None if w[6] == "-" else float(w[6]), float(w[8]))  # rows, wall, cpu, load


def rows(name):
    return m[name][0]


def wall(name):
    return m[name][1]


def cpu(name):
    return m[name][2]


N_TRAIN, N_Q, N_DB = 10000, 1000, 59000
SPLITS = N_TRAIN + N_Q + N_DB  # relu7 rows: every split, train included
CONV = N_Q + N_DB  # images through the convolutions: the caches of query and db
B = 50
b1, bT = bench[1], bench[T]
gemm_cpu = bT["forward_cpu_s"] + bT["backward_cpu_s"] + bT["loss_cpu_s"]  # work of a step's fc layers, T threads
adam_1 = b1["adam_cpu_s"]


def step(cores):
    return gemm_cpu / cores + adam_1


nr = rows("train_round_1epoch")
steps_nr = nr // B
fixed = max(0.0, cpu("train_round_1epoch") - steps_nr * bT["step_cpu_s"])
ckpt = max(0.0, cpu("train_round_2epochs") - cpu("train_round_1epoch") - steps_nr * bT["step_cpu_s"])
loop_wall = wall("train_epoch_loop") * N_TRAIN / rows("train_epoch_loop")
ckpt_wall = max(0.0, wall("train_round_2epochs") - wall("train_round_1epoch")
                - (wall("train_2epoch_loops") - wall("train_epoch_loop")))
fixed_wall = wall("train_round_1epoch") - wall("train_epoch_loop")


def train_s(runs, epochs, cores):
    return runs * (fixed + epochs * (N_TRAIN // B) * step(cores) + (epochs - 1) * ckpt)


def train_wall(runs, epochs):
    return runs * (fixed_wall + epochs * loop_wall + (epochs - 1) * ckpt_wall)


table = []  # (stage, count, work note, idle 2 cores, idle 16 cores, wall under load at T)
dsah = []  # DSAH alone: the same columns for its share of each stage


def per_row(name, count, note):
    c, w = cpu(name) / rows(name) * count, wall(name) / rows(name) * count
    return (note, c / 2, c / 16, w)


conv = "conv_pool5_t%d" % T
table.append(("ingest (archive -> images.npy, split)", "60,000 images", f"{cpu('ingest'):.1f} CPU s",
              cpu("ingest"), cpu("ingest"), wall("ingest")))
dsah.append(table[-1][3:])
table.append(("convolutions to pool5 (resize to 224 included; query + db)", f"{CONV:,} images") +
             per_row(conv, CONV, f"{cpu(conv) / rows(conv):.2f} CPU s/img"))
dsah.append(table[-1][3:])
table.append(("relu7 from the cache (fc6, fc7)", f"{SPLITS:,} rows") +
             per_row("relu7_from_cache", SPLITS, f"{cpu('relu7_from_cache') / rows('relu7_from_cache') * 1000:.1f} CPU ms/row"))
dsah.append(per_row("relu7_from_cache", N_TRAIN, "")[1:])
for name, label in (("graph", "graph (k1 = k2 = 500)"), ("ssdh_s", "SSDH's S")):
    table.append((label, "1", f"{cpu(name):.0f} CPU s", cpu(name) / 2, cpu(name) / 16, wall(name)))
dsah.append(table[-2][3:])
table.append(("DSAH training (4 lengths x 3 rounds x 10 epochs)", "120 epochs",
              f"step: fc {gemm_cpu:.2f} + Adam {adam_1:.2f} CPU s; ckpt {ckpt:.1f} s, round {fixed:.1f} s",
              train_s(12, 10, 2), train_s(12, 10, 16), train_wall(12, 10)))
dsah.append(table[-1][3:])
if "greedyhash_round_1epoch" in m:
    table.append(("SSDH training (4 lengths x 30 epochs)", "120 epochs", "as DSAH",
                  train_s(4, 30, 2), train_s(4, 30, 16), train_wall(4, 30)))
    # GreedyHash's head: an epoch is the 2-epoch run minus the 1-epoch run,
    # the rest of the 1-epoch run is the round's fixed cost; all of it
    # divided by the cores like the other compute stages
    g1, g2 = "greedyhash_round_1epoch", "greedyhash_round_2epochs"
    ge_c, ge_w = cpu(g2) - cpu(g1), wall(g2) - wall(g1)
    gh_c, gh_w = 4 * (cpu(g1) + 29 * ge_c), 4 * (wall(g1) + 29 * ge_w)
    table.append(("GreedyHash training, its hash head on relu7 (4 lengths x 30 epochs)", "120 epochs",
                  f"epoch {ge_c:.1f} CPU s, round {cpu(g1) - ge_c:.1f} s", gh_c / 2, gh_c / 16, gh_w))
    enc_rows = 4 * 2 * N_TRAIN + 8 * (N_Q + N_DB)
    table.append(("encode from the pool5 cache (DSAH, SSDH)", f"{enc_rows:,} rows") +
                 per_row("encode_from_cache", enc_rows,
                         f"{cpu('encode_from_cache') / rows('encode_from_cache') * 1000:.1f} CPU ms/row"))
    table.append(("encode GreedyHash from relu7", f"{4 * (N_Q + N_DB):,} rows") +
                 per_row("greedyhash_encode", 4 * (N_Q + N_DB),
                         f"{cpu('greedyhash_encode') / rows('greedyhash_encode') * 1000:.2f} CPU ms/row"))
else:
    table.append(("GreedyHash + SSDH training (2 x 4 lengths x 30 epochs)", "240 epochs", "as DSAH",
                  train_s(8, 30, 2), train_s(8, 30, 16), train_wall(8, 30)))
    enc_rows = 4 * 2 * N_TRAIN + 12 * (N_Q + N_DB)
    table.append(("encode from the cache", f"{enc_rows:,} rows") +
                 per_row("encode_from_cache", enc_rows,
                         f"{cpu('encode_from_cache') / rows('encode_from_cache') * 1000:.1f} CPU ms/row"))
dsah.append(per_row("encode_from_cache", 4 * 2 * N_TRAIN + 4 * (N_Q + N_DB), "")[1:])  # 4 models: AND's and query + db
table.append(("AND", "8", f"{cpu('and'):.1f} CPU s", 8 * cpu("and") / 2, 8 * cpu("and") / 16, 8 * wall("and")))
dsah.append(table[-1][3:])
ei_c, ei_w = cpu("eval") + cpu("index"), wall("eval") + wall("index")
table.append(("eval + index", "40 + 40", f"{cpu('eval'):.1f} + {cpu('index'):.1f} CPU s", 40 * ei_c / 2, 40 * ei_c / 16,
              40 * ei_w))
dsah.append((4 * ei_c / 2, 4 * ei_c / 16, 4 * ei_w))
bl = [k for k in m if k.startswith("baseline_")]
bl_c, bl_w = sum(cpu(k) for k in bl), sum(wall(k) for k in bl)
table.append((f"shallow baselines ({len(bl)} methods x 4 lengths)", f"{4 * len(bl)}",
              f"{bl_c:.0f} CPU s per length (all {len(bl)})", 4 * bl_c / 2, 4 * bl_c / 16, 4 * bl_w))


def hm(s):
    return f"{s / 3600:.2f} h" if s >= 360 else f"{s / 60:.1f} min" if s >= 60 else f"{s:.0f} s"


loads = [v[3] for v in m.values()] + [b["load"] for b in bench.values()]
print(f"\nloads (1-minute average) when the stages started: {min(loads):.1f} to {max(loads):.1f}; training step "
      f"(vgg19 fc, batch 50) 1 thread: {b1['step_cpu_s']:.3f} CPU s (forward {b1['forward_cpu_s']:.3f}, backward "
      f"{b1['backward_cpu_s']:.3f}, Adam {b1['adam_cpu_s']:.3f}); {T} threads: {bT['step_cpu_s']:.3f} CPU s; "
      f"convolutions {cpu('conv_pool5_t1') / rows('conv_pool5_t1'):.2f} CPU s/img at 1 thread, "
      f"{cpu(conv) / rows(conv):.2f} at {T}\n")
print(f"| stage | count | work measured | idle, 2 cores | idle, 16 cores | measured wall, scaled ({T} threads) |")
print("| --- | --- | --- | --- | --- | --- |")
for r in table:
    print(f"| {r[0]} | {r[1]} | {r[2]} | {hm(r[3])} | {hm(r[4])} | {hm(r[5])} |")
print(f"| **total** | | | **{hm(sum(r[3] for r in table))}** | **{hm(sum(r[4] for r in table))}** | "
      f"**{hm(sum(r[5] for r in table))}** |")
print(f"| DSAH alone (no GreedyHash, SSDH or shallow baselines) | | | {hm(sum(r[0] for r in dsah))} | "
      f"{hm(sum(r[1] for r in dsah))} | {hm(sum(r[2] for r in dsah))} |")
