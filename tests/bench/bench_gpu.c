/* bench_gpu: device-side timings of the CUDA path for tests/gpu/device.sh.
 *
 *   bench_gpu train ARCH S BITS B PREC STEPS
 *       one training step (forward with dropout, the DSAH loss forward and
 *       backward, the network's backward, Adam) of ARCH (vgg19, or a list)
 *       at input S x S, batch B, in precision PREC (fp32 | tf32 | bf16),
 *       on random input and W resident on the device (the host's input
 *       pipeline is not timed: dsah-train's own img/s includes it);
 *   bench_gpu encode ARCH S BITS B PREC STEPS
 *       the eval-mode forward of B images (dsah-encode's work on the device).
 * Random weights of the real shapes (torch's default init, net.h). After 3
 * warm-up steps, STEPS steps are timed one by one with CUDA events; prints
 * one line
 *   bench_gpu train vgg19 S=224 bits=64 B=50 bf16: median 21.3 ms (min 21.1, n=20), 2347.4 img/s
 * and the same as JSON on a second line. Never run on a GPU so far. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/device.h"
#include "util/util.h"

#if DSAH_CUDA
#include "gpu.h"
#include "net_cuda.h"
#include "nn/adam.h"
#include "nn/loss.h"
#include "nn/net.h"
#include "ops.h"
#include "util/rng.h"

static int cmp_double(const void *a, const void *b) {
    const double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
    dsah_init("bench_gpu");
    if (argc != 8) die("usage: bench_gpu train|encode ARCH S BITS B fp32|tf32|bf16 STEPS");
    const int train = !strcmp(argv[1], "train");
    if (!train && strcmp(argv[1], "encode")) die("mode '%s': expected train or encode", argv[1]);
    const char *arch = argv[2];
    const int S = atoi(argv[3]), L = atoi(argv[4]), B = atoi(argv[5]), steps = atoi(argv[7]);
    if (S < 1 || L < 1 || B < 2 || steps < 1) die("S, BITS, STEPS must be >= 1 and B >= 2");
    if (device_select("cuda", argv[6], 1, "") < 0) die("no GPU");
    net n;
    char err[256];
    const int ch = 3;
    if (net_build(&n, arch, ch, S, L, err, sizeof err)) die("%s", err);
    net_init_params(&n, 1);
    net_set_finetune(&n, "all");
    net_cuda g;
    net_cuda_alloc(&g, &n, B, train, 0);
    rng r;
    rng_seed(&r, 2);
    const int64_t xin = (int64_t)B * ch * S * S;
    float *x = xmalloc(sizeof(float) * (size_t)xin), *w = xmalloc(sizeof(float) * (size_t)B * B);
    for (int64_t i = 0; i < xin; i++) x[i] = (float)(4 * rng_uniform(&r) - 2);
    for (int i = 0; i < B; i++)
        for (int j = 0; j <= i; j++) w[i * B + j] = w[j * B + i] = i == j || rng_uniform(&r) < 0.1 ? 1.0f : -1.0f;
    gpu_upload(g.x, x, sizeof(float) * (size_t)xin);
    float *d_w = gpu_alloc(sizeof(float) * (size_t)B * B), *d_dz = gpu_alloc(sizeof(float) * (size_t)B * L),
          *d_lws = gpu_alloc(sizeof(float) * (size_t)dsah_loss_ws(B, L));
    gpu_upload(d_w, w, sizeof(float) * (size_t)B * B);
    adam opt = {0};
    if (train) adam_init_cuda(&opt, n.np - n.train_off, 1e-8);
    double *ms = xmalloc(sizeof(double) * (size_t)steps);
    for (int it = -3; it < steps; it++) {
        gpu_timer_start();
        const float *z = net_cuda_forward_from(&g, g.x, 0, B, train, 7, (uint64_t)(it + 3));
        if (train) {
            loss_parts lp;
            /* the loss value comes back to the host every step, as in dsah-train */
            dsah_loss_forward_cuda(&lp, d_lws, z, d_w, B, L, 1.0, 0.0, PIC_PIC, QUANT_Z);
            dsah_loss_backward_cuda(d_dz, d_lws, &lp, z, d_w, B, L, 1.0, 0.0, PIC_PIC, QUANT_Z);
            net_cuda_backward(&g, d_dz, B, 7, (uint64_t)(it + 3));
            adam_step_cuda(&opt, g.params + n.train_off, g.grads, 1e-5);
        }
        const double t = gpu_timer_stop();
        if (it >= 0) ms[it] = t;
    }
    qsort(ms, (size_t)steps, sizeof(double), cmp_double);
    const double med = steps % 2 ? ms[steps / 2] : 0.5 * (ms[steps / 2 - 1] + ms[steps / 2]);
    printf("bench_gpu %s %s S=%d bits=%d B=%d %s: median %.2f ms (min %.2f, n=%d), %.1f img/s\n", argv[1], arch, S, L, B,
           argv[6], med, ms[0], steps, B / (med / 1000));
    printf("{\"mode\": \"%s\", \"arch\": \"%s\", \"S\": %d, \"bits\": %d, \"B\": %d, \"precision\": \"%s\", "
           "\"median_ms\": %.4f, \"min_ms\": %.4f, \"n\": %d, \"img_per_s\": %.2f, \"gpu\": \"%s\"}\n",
           argv[1], arch, S, L, B, argv[6], med, ms[0], steps, B / (med / 1000), gpu_name());
    if (train) adam_free_cuda(&opt);
    net_cuda_free(&g);
    net_free(&n);
    gpu_free(d_w);
    gpu_free(d_dz);
    gpu_free(d_lws);
    free(x);
    free(w);
    free(ms);
    return 0;
}
#else
int main(void) {
    dsah_init("bench_gpu");
    die("this build has no CUDA support (make found no nvcc)");
}
#endif
