/* bench_head: where the time of one training step from a frozen-prefix cache
 * goes (tests/bench/prefix.sh, figure 3): the network after the cached layer
 * (vgg19 finetune fc from pool5: fc6 25088 -> 4096, fc7 4096 -> 4096,
 * hash.fc8 4096 -> 1000, hash.fc 1000 -> bits), phase by phase as
 * trainer.c runs them: forward from the cached rows, the DSAH loss,
 * backward, the Adam step over the trainable parameters; with CACHE, first
 * the gather of the step's rows from that cache file (f4 or f2,
 * nn/prefix.h: prefix_cache_gather at the positions of a shuffled epoch, as
 * trainer.c reads them; an f2 cache's rows converted to floats).
 *
 *   bench_head ARCH INPUT FINETUNE BATCH BITS STEPS THREADS [CACHE]
 *
 * Random parameters and (without CACHE) cache rows (the time does not
 * depend on the values).
 * After one warm-up step (first-touch page faults of the gradient and Adam
 * buffers), STEPS steps are timed; prints one JSON line with the median wall
 * and process CPU seconds (all threads) per phase and per step, the step's
 * img/s and the bytes per second of the Adam pass (it reads p, g, m, v and
 * writes p, m, v: 28 bytes per parameter). On a shared machine the CPU
 * seconds at one thread are what the phase takes on an idle core. */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>

#include "nn/adam.h"
#include "nn/loss.h"
#include "nn/net.h"
#include "nn/prefix.h"
#include "util/rng.h"
#include "util/util.h"
#include "bench.h"

static double process_cpu_sec(void) { return bench_cpu_sec(CLOCK_PROCESS_CPUTIME_ID); }

int main(int argc, char **argv) {
    dsah_init("bench_head");
    if (argc != 8 && argc != 9) die("usage: bench_head ARCH INPUT FINETUNE BATCH BITS STEPS THREADS [CACHE]");
    const char *arch = argv[1], *finetune = argv[3];
    const int input = atoi(argv[2]), B = atoi(argv[4]), L = atoi(argv[5]), steps = atoi(argv[6]);
    if (input < 1 || B < 2 || L < 1 || steps < 1) die("bench_head: INPUT, BATCH (>= 2), BITS and STEPS must be positive");
    nn_set_threads(atoi(argv[7]));
    net n;
    char err[256];
    if (net_build(&n, arch, 3, input, L, err, sizeof err)) die("%s", err);
    net_init_params(&n, 1);
    if (net_set_finetune(&n, finetune)) die("bench_head: finetune '%s' is not one of all, fc, head", finetune);
    const int first = net_prefix_layer(&n) + 1;
    net_alloc(&n, B, 1);
    const int64_t d = first ? n.L[first - 1].out_n : (int64_t)3 * input * input;
    float *h = xaligned(sizeof(float) * (size_t)B * (size_t)d), *w = xmalloc(sizeof(float) * B * B),
          *dz = xmalloc(sizeof(float) * B * L), *ws = xmalloc(sizeof(float) * (size_t)dsah_loss_ws(B, L));
    rng r;
    rng_seed(&r, 3);
    for (int64_t i = 0; i < (int64_t)B * d; i++) h[i] = (float)rng_uniform(&r);
    for (int i = 0; i < B * B; i++) w[i] = rng_uniform(&r) < 0.5 ? 1.0f : -1.0f;
    /* CACHE: one row per position 0..rows-1, read in a shuffled order */
    prefix_cache pc = {0};
    int64_t rows = 0, *perm = NULL, pos_at = 0;
    if (argc == 9) {
        if (!first) die("bench_head: finetune %s has no frozen prefix to read from %s", finetune, argv[8]);
        char label[32];
        net_layer_label(&n, first - 1, label, sizeof label);
        npy_array probe;
        npy_open_any(&probe, argv[8], NPY_BIT(NPY_F4) | NPY_BIT(NPY_F2), 2);
        rows = probe.shape[0];
        npy_close(&probe);
        if (rows < B) die("%s: %lld rows, fewer than the batch %d", argv[8], (long long)rows, B);
        perm = xmalloc(sizeof(int64_t) * (size_t)rows);
        for (int64_t k = 0; k < rows; k++) perm[k] = k;
        prefix_cache_open(&pc, argv[8], label, &n, NULL, perm, rows, "--indices");
        rng_shuffle_i64(&r, perm, rows);
    }
    adam a;
    adam_init(&a, n.np - n.train_off, 1e-8);
    /* per phase (gather, forward, loss, backward, Adam, the step): wall and
     * process CPU seconds of each timed step */
    enum { PH = 6 };
    double *wall[PH], *cpu[PH];
    for (int p = 0; p < PH; p++) wall[p] = xmalloc(sizeof(double) * steps), cpu[p] = xmalloc(sizeof(double) * steps);
    for (int s = -1; s < steps; s++) {
        double tw[PH], tc[PH];
        tw[0] = now_sec(), tc[0] = process_cpu_sec();
        if (perm) {
            int64_t pos[B];
            for (int i = 0; i < B; i++, pos_at++) pos[i] = perm[pos_at % rows];
            prefix_cache_gather(h, &pc, pos, B);
        }
        tw[1] = now_sec(), tc[1] = process_cpu_sec();
        const float *z = net_forward_from(&n, h, first, B, 1, 7, (uint64_t)(s + 1));
        tw[2] = now_sec(), tc[2] = process_cpu_sec();
        loss_parts lp;
        dsah_loss_forward(&lp, ws, z, w, B, L, 1.0, 10.0, PIC_PIC, QUANT_Z);
        dsah_loss_backward(dz, ws, &lp, z, w, B, L, 1.0, 10.0, PIC_PIC, QUANT_Z);
        tw[3] = now_sec(), tc[3] = process_cpu_sec();
        net_backward(&n, dz, B, 7, (uint64_t)(s + 1));
        tw[4] = now_sec(), tc[4] = process_cpu_sec();
        adam_step(&a, n.params + n.train_off, n.grads, 1e-4);
        tw[5] = now_sec(), tc[5] = process_cpu_sec();
        if (s < 0) continue;
        for (int p = 0; p < 5; p++) wall[p][s] = tw[p + 1] - tw[p], cpu[p][s] = tc[p + 1] - tc[p];
        wall[5][s] = tw[5] - tw[0], cpu[5][s] = tc[5] - tc[0];
    }
    double mw[PH], mc[PH];
    for (int p = 0; p < PH; p++) mw[p] = bench_median(wall[p], steps), mc[p] = bench_median(cpu[p], steps);
    printf("{\"arch\": \"%s\", \"input\": %d, \"finetune\": \"%s\", \"from_layer\": %d, \"batch\": %d, \"bits\": %d, "
           "\"threads\": %d, \"trainable\": %lld, \"steps\": %d, \"cache_dtype\": \"%s\", \"gather_s\": %.5f, "
           "\"forward_s\": %.4f, \"loss_s\": %.5f, \"backward_s\": %.4f, \"adam_s\": %.4f, \"step_s\": %.4f, "
           "\"gather_cpu_s\": %.5f, \"forward_cpu_s\": %.4f, \"loss_cpu_s\": %.5f, \"backward_cpu_s\": %.4f, "
           "\"adam_cpu_s\": %.4f, \"step_cpu_s\": %.4f, \"img_per_s\": %.1f, \"adam_gb_per_s\": %.1f}\n",
           arch, input, finetune, first, B, L, omp_get_max_threads(), (long long)a.n, steps,
           perm ? (pc.a.dtype == NPY_F2 ? "f2" : "f4") : "none", mw[0], mw[1], mw[2], mw[3], mw[4], mw[5], mc[0], mc[1],
           mc[2], mc[3], mc[4], mc[5], B / mw[5], 28.0 * (double)a.n / mw[4] / 1e9);
    if (perm) prefix_cache_close(&pc);
    free(perm);
    for (int p = 0; p < PH; p++) free(wall[p]), free(cpu[p]);
    adam_free(&a);
    net_free(&n);
    free(h); free(w); free(dz); free(ws);
    return 0;
}
