/* t_device.c: --device and --precision parsing (exact, every build), and on
 * a GPU (a build with CUDA where gpu_count() > 0; elsewhere each GPU check
 * prints "ok N # skip no GPU"):
 *   - dropout: the device drops exactly the units the CPU drops (the same
 *     counter-based mask, activations.h), values equal to the bit;
 *   - the network input converted on the device from u8 images (resize,
 *     grey to RGB, ImageNet normalisation) against net_input;
 *   - one full training step of a small VGG-shaped net (conv, ReLU, pool,
 *     fc, dropout, hash fc, tanh; the DSAH loss; backward; Adam) on the GPU
 *     against the CPU from the same parameters, batch and seeds, in each
 *     precision: the output z, dL/dz, every parameter gradient and the
 *     parameters after Adam, by normalised error ||gpu - cpu|| / ||cpu||
 *     (printed), with every device activation, gradient and workspace
 *     poisoned with NaN first, so an element the GPU leaves unwritten fails;
 *   - eval-mode forward (encode) of the same net: codes equal where |z| is
 *     not within the precision's error of 0.
 * Tolerances (normalised error): fp32 1e-5, tf32 1e-2, bf16 5e-2. fp32 sums
 * the same products in another order (cuDNN and cuBLAS kernels), so it
 * lands near 1e-6; TF32 keeps 10 mantissa bits and bfloat16 7 (unit
 * roundoff 2^-11 and 2^-8), and the gradients pass through several layers.
 * These are written before any run on a GPU: docs/GPU.md says so, and the
 * first run on the H200 prints the errors found. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn/adam.h"
#include "nn/loss.h"
#include "nn/net.h"
#include "nn/input.h"
#include "tap.h"
#include "util/device.h"
#include "util/rng.h"
#include "util/util.h"

#if DSAH_CUDA
#include "gpu.h"
#include "net_cuda.h"
#include "ops.h"
#endif

#define GPU_CHECKS_PER_PRECISION 8
#define GPU_CHECKS_OTHER 5

static void test_parse(void) {
    struct {
        const char *s;
        int rc;
        device_kind kind;
        int index;
    } c[] = {{"auto", 0, DEV_AUTO, -1}, {"cpu", 0, DEV_CPU, -1},   {"cuda", 0, DEV_CUDA, 0},
             {"cuda:0", 0, DEV_CUDA, 0}, {"cuda:7", 0, DEV_CUDA, 7}, {"cuda:4095", 0, DEV_CUDA, 4095},
             {"cuda:4096", -1, 0, 0},    {"cuda:", -1, 0, 0},        {"cuda:-1", -1, 0, 0},
             {"cuda:1x", -1, 0, 0},      {"cuda1", -1, 0, 0},        {"gpu", -1, 0, 0},
             {"CPU", -1, 0, 0},          {"", -1, 0, 0},             {"cuda:99999", -1, 0, 0}};
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        device_kind k = (device_kind)99;
        int idx = -99;
        int rc = device_parse(c[i].s, &k, &idx);
        ok(rc == c[i].rc && (rc || (k == c[i].kind && idx == c[i].index)), "device_parse('%s') = %d (kind %d, index %d)",
           c[i].s, rc, rc ? -1 : (int)k, rc ? -1 : idx);
    }
    precision p;
    ok(precision_parse("fp32", &p) == 0 && p == PREC_FP32 && precision_parse("tf32", &p) == 0 && p == PREC_TF32 &&
           precision_parse("bf16", &p) == 0 && p == PREC_BF16,
       "precision_parse: fp32, tf32, bf16");
    ok(precision_parse("fp16", &p) == -1 && precision_parse("FP32", &p) == -1 && precision_parse("", &p) == -1,
       "precision_parse refuses fp16, FP32, ''");
    ok(!strcmp(precision_name(PREC_BF16), "bf16") && !strcmp(precision_name(PREC_TF32), "tf32") &&
           !strcmp(precision_name(PREC_FP32), "fp32"),
       "precision_name round trip");
    /* auto: the GPU only where one answers */
#if DSAH_CUDA
    const int want = gpu_count() > 0 ? 0 : -1;
#else
    const int want = -1;
#endif
    ok(device_select("auto", "fp32", 1, "") == want, "device_select(auto) is %d (%s)", want,
       want < 0 ? "no GPU: the CPU" : "cuda:0");
    ok(device_select("cpu", NULL, 1, "") == -1 && device_select("auto", "fp32", 0, "x") == -1,
       "device_select: cpu is the CPU, and auto without a CUDA path is the CPU");
}

#if DSAH_CUDA
static void fill(float *p, int64_t n, rng *r, double lo, double hi) {
    for (int64_t i = 0; i < n; i++) p[i] = (float)(lo + (hi - lo) * rng_uniform(r));
}

static float *to_host(const float *d, int64_t n) {
    float *h = xmalloc(sizeof(float) * (size_t)n);
    gpu_download(h, d, sizeof(float) * (size_t)n);
    return h;
}

static void test_dropout(void) {
    const int64_t n = 1 << 20;
    rng r;
    rng_seed(&r, 11);
    float *x = xmalloc(sizeof(float) * n), *y = xmalloc(sizeof(float) * n);
    fill(x, n, &r, -1, 1);
    dropout_forward(y, x, n, 0.5f, 1234, 77);
    float *dx = gpu_alloc(sizeof(float) * n), *dy = gpu_alloc(sizeof(float) * n);
    gpu_upload(dx, x, sizeof(float) * n);
    gpu_fill_f32(dy, NAN, n);
    dropout_forward_cuda(dy, dx, n, 0.5f, 1234, 77);
    float *g = to_host(dy, n);
    int64_t diff = 0, dropped = 0;
    for (int64_t i = 0; i < n; i++) {
        diff += memcmp(&g[i], &y[i], sizeof(float)) != 0;
        dropped += y[i] == 0;
    }
    ok(diff == 0 && dropped > n / 3 && dropped < 2 * n / 3,
       "dropout p = 0.5 over 2^20 values: GPU equals CPU at every element (%lld differ; %lld dropped)", (long long)diff,
       (long long)dropped);
    free(g);
    gpu_free(dx);
    gpu_free(dy);
    free(x);
    free(y);
}

/* The network input on the device (net_cuda_input) against net_input on
 * random u8 images: vgg19's ImageNet pipeline with 3 channels and with grey
 * (replicated), each at the stored size and resized; a list arch's
 * pixel / 255, resized. Within 1e-6 (an ulp or two of fused sums). */
static void test_input(void) {
    const struct {
        int H, W, C, S, vgg;
    } c[] = {{32, 32, 3, 32, 1}, {28, 28, 1, 32, 1}, {30, 20, 3, 32, 1}, {28, 28, 1, 16, 0}};
    for (size_t k = 0; k < sizeof c / sizeof c[0]; k++) {
        const int B = 6, N = 9, H = c[k].H, W = c[k].W, C = c[k].C, S = c[k].S, vgg = c[k].vgg;
        const int OC = vgg ? 3 : C;
        rng r;
        rng_seed(&r, 30 + k);
        uint8_t *im = xmalloc((size_t)N * H * W * C);
        for (int64_t i = 0; i < (int64_t)N * H * W * C; i++) im[i] = (uint8_t)rng_below(&r, 256);
        const int64_t idx[6] = {8, 0, 3, 3, 5, 1};
        const int64_t nx = (int64_t)B * OC * S * S;
        float *x = xmalloc(sizeof(float) * (size_t)nx);
        float *scr = xmalloc(sizeof(float) * (size_t)net_input_scratch(B, H, W, C, S, vgg));
        net_input(x, scr, im, idx, B, H, W, C, S, vgg);
        char err[256], arch[32];
        snprintf(arch, sizeof arch, "fc-4");
        net n;
        CHECK(net_build(&n, arch, OC, S, 8, err, sizeof err) == 0);
        net_cuda g;
        net_cuda_alloc(&g, &n, B, 0, 0);
        gpu_fill_f32(g.x, NAN, nx);
        net_cuda_input(&g, im, idx, B, H, W, C, S, vgg);
        float *xg = to_host(g.x, nx);
        const double e = rel_err_f(xg, x, nx);
        ok(e < 1e-6, "input %dx%dx%d -> %d %s: device conversion vs net_input, normalised error %.3g < 1e-6", H, W, C, S,
           vgg ? "(vgg19: /255, ImageNet mean/std)" : "(/255)", e);
        net_cuda_free(&g);
        net_free(&n);
        free(im); free(x); free(scr); free(xg);
    }
}

/* One training step of arch on CPU and GPU from the same start. */
static void test_step(precision prec, double tol) {
    const char *arch = "conv3-8,conv3-8,pool,conv3-16,pool,fc-64,dropout-0.5";
    const int B = 12, S = 16, CH = 3, L = 32;
    const uint64_t seed = 5, step = 3;
    const char *pn = precision_name(prec);
    gpu_open(0, prec);
    char err[256];
    net nc, ng;
    CHECK(net_build(&nc, arch, CH, S, L, err, sizeof err) == 0 && net_build(&ng, arch, CH, S, L, err, sizeof err) == 0);
    net_init_params(&nc, 9);
    net_init_params(&ng, 9);
    net_set_finetune(&nc, "all");
    net_set_finetune(&ng, "all");
    net_alloc(&nc, B, 1);
    float *p0 = xmalloc(sizeof(float) * (size_t)nc.np);
    memcpy(p0, nc.params, sizeof(float) * (size_t)nc.np);
    rng r;
    rng_seed(&r, 21);
    const int64_t xin = (int64_t)B * CH * S * S;
    float *x = xmalloc(sizeof(float) * xin), *w = xmalloc(sizeof(float) * B * B);
    fill(x, xin, &r, -1, 1);
    for (int i = 0; i < B; i++)
        for (int j = 0; j < B; j++) w[i * B + j] = i == j || rng_uniform(&r) < 0.3 ? 1.0f : -1.0f;
    for (int i = 0; i < B; i++)
        for (int j = 0; j < i; j++) w[i * B + j] = w[j * B + i];
    /* CPU */
    float *dz = xmalloc(sizeof(float) * B * L), *lws = xmalloc(sizeof(float) * (size_t)dsah_loss_ws(B, L));
    const float *zc = net_forward(&nc, x, B, 1, seed, step);
    float *zc_copy = xmalloc(sizeof(float) * B * L);
    memcpy(zc_copy, zc, sizeof(float) * B * L);
    loss_parts lc;
    dsah_loss_forward(&lc, lws, zc, w, B, L, 1.0, 0.1, PIC_PIC, QUANT_Z);
    dsah_loss_backward(dz, lws, &lc, zc, w, B, L, 1.0, 0.1, PIC_PIC, QUANT_Z);
    net_backward(&nc, dz, B, seed, step);
    const int64_t nt = nc.np - nc.train_off;
    float *gc = xmalloc(sizeof(float) * (size_t)nt);
    memcpy(gc, nc.grads, sizeof(float) * (size_t)nt);
    adam oc;
    adam_init(&oc, nt, 1e-8);
    adam_step(&oc, nc.params + nc.train_off, nc.grads, 1e-3);
    /* GPU, everything it writes poisoned first */
    net_cuda g;
    net_cuda_alloc(&g, &ng, B, 1, 0);
    int64_t total = 0, gmax = 0;
    for (int i = 0; i < ng.nl; i++) {
        if (ng.L[i].type == NL_CONV || ng.L[i].type == NL_POOL || ng.L[i].type == NL_FC) total += ng.L[i].out_n;
        if (ng.L[i].out_n > gmax) gmax = ng.L[i].out_n;
        if (ng.L[i].in_n > gmax) gmax = ng.L[i].in_n;
    }
    gpu_fill_f32(g.bufs, NAN, total * B);
    gpu_fill_f32(g.grads, NAN, nt);
    gpu_fill_f32(g.gbuf[0], NAN, gmax * B);
    gpu_fill_f32(g.gbuf[1], NAN, gmax * B);
    if (g.ws) gpu_fill_f32(g.ws, NAN, g.ws_len);
    float *d_w = gpu_alloc(sizeof(float) * B * B), *d_dz = gpu_alloc(sizeof(float) * B * L),
          *d_lws = gpu_alloc(sizeof(float) * (size_t)dsah_loss_ws(B, L));
    gpu_fill_f32(d_dz, NAN, (int64_t)B * L);
    gpu_fill_f32(d_lws, NAN, dsah_loss_ws(B, L));
    gpu_upload(g.x, x, sizeof(float) * (size_t)xin);
    gpu_upload(d_w, w, sizeof(float) * B * B);
    const float *zg_d = net_cuda_forward_from(&g, g.x, 0, B, 1, seed, step);
    float *zg = to_host(zg_d, (int64_t)B * L);
    loss_parts lg;
    dsah_loss_forward_cuda(&lg, d_lws, zg_d, d_w, B, L, 1.0, 0.1, PIC_PIC, QUANT_Z);
    dsah_loss_backward_cuda(d_dz, d_lws, &lg, zg_d, d_w, B, L, 1.0, 0.1, PIC_PIC, QUANT_Z);
    float *dzg = to_host(d_dz, (int64_t)B * L);
    net_cuda_backward(&g, d_dz, B, seed, step);
    float *gg = to_host(g.grads, nt);
    adam og;
    adam_init_cuda(&og, nt, 1e-8);
    adam_step_cuda(&og, g.params + ng.train_off, g.grads, 1e-3);
    net_cuda_download_params(&g);
    gpu_sync();

    double e = rel_err_f(zg, zc_copy, (int64_t)B * L);
    ok(e < tol, "%s: training forward z [%d,%d]: normalised error %.3g < %g", pn, B, L, e, tol);
    e = fabs(lg.total - lc.total) / fabs(lc.total);
    ok(e < tol, "%s: loss %.9g vs CPU %.9g: relative error %.3g < %g", pn, lg.total, lc.total, e, tol);
    e = rel_err_f(dzg, dz, (int64_t)B * L);
    ok(e < tol, "%s: dL/dz: normalised error %.3g < %g", pn, e, tol);
    /* every parameter tensor's gradient on its own: a layer whose gradient
     * is wrong or unwritten cannot hide in the norm of a larger one */
    double worst = 0;
    int worst_i = -1;
    for (int i = 0; i < ng.nl; i++) {
        const nn_layer *l = &ng.L[i];
        if (l->woff < 0) continue;
        double ew = rel_err_f(gg + (l->woff - ng.train_off), gc + (l->woff - nc.train_off), l->wn);
        double eb = rel_err_f(gg + (l->boff - ng.train_off), gc + (l->boff - nc.train_off), l->bn);
        if (ew > worst || ew != ew) { worst = ew; worst_i = i; }
        if (eb > worst || eb != eb) { worst = eb; worst_i = i; }
        diag("%s: grad %s: %.3g, bias %.3g", pn, l->wname, ew, eb);
    }
    ok(worst < tol, "%s: every weight and bias gradient: worst normalised error %.3g (layer %d) < %g", pn, worst,
       worst_i, tol);
    /* Adam's update is a function of the gradient's sign and size: compare
     * the change of the parameters, not the parameters themselves */
    double d2 = 0, r2 = 0;
    for (int64_t k = 0; k < nc.np; k++) {
        double a = (double)ng.params[k] - p0[k], b = (double)nc.params[k] - p0[k];
        d2 += (a - b) * (a - b);
        r2 += b * b;
    }
    e = d2 == d2 && r2 > 0 ? sqrt(d2 / r2) : INFINITY;
    /* Adam's first step moves each parameter by about lr * sign(g): where a
     * gradient is near 0, its sign may differ, so the tolerance is wider */
    ok(e < 10 * tol + 1e-3, "%s: Adam step (change of the parameters): normalised error %.3g < %g", pn, e,
       10 * tol + 1e-3);

    /* eval mode (encode): the CPU net's parameters after its step, on both */
    net ne;
    CHECK(net_build(&ne, arch, CH, S, L, err, sizeof err) == 0);
    memcpy(ne.params, nc.params, sizeof(float) * (size_t)nc.np);
    net_set_finetune(&ne, "all");
    net_alloc(&ne, B, 0);
    net_cuda ge;
    net_cuda_alloc(&ge, &ne, B, 0, 0);
    gpu_upload(ge.x, x, sizeof(float) * (size_t)xin);
    float *ze = to_host(net_cuda_forward_from(&ge, ge.x, 0, B, 0, 0, 0), (int64_t)B * L);
    const float *zce = net_forward(&ne, x, B, 0, 0, 0);
    e = rel_err_f(ze, zce, (int64_t)B * L);
    ok(e < tol, "%s: eval forward (encode): normalised error %.3g < %g", pn, e, tol);
    int64_t flips = 0, near0 = 0;
    double zmax = 0;
    for (int64_t k = 0; k < (int64_t)B * L; k++) zmax = fmax(zmax, fabs(zce[k]));
    for (int64_t k = 0; k < (int64_t)B * L; k++) {
        const int near = fabs(zce[k]) < 10 * tol * zmax;
        near0 += near;
        flips += !near && ((ze[k] >= 0) != (zce[k] >= 0));
    }
    ok(flips == 0, "%s: codes sgn(z) equal away from 0 (%lld flips; %lld values within %g of 0 not compared)", pn,
       (long long)flips, (long long)near0, 10 * tol * zmax);
    int finite = 1;
    for (int64_t k = 0; k < (int64_t)B * L; k++) finite &= isfinite(ze[k]) && isfinite(zg[k]);
    ok(finite, "%s: no NaN left from the poison in z (train and eval)", pn);
    net_cuda_free(&ge);
    net_cuda_free(&g);
    adam_free_cuda(&og);
    adam_free(&oc);
    gpu_free(d_w);
    gpu_free(d_dz);
    gpu_free(d_lws);
    net_free(&nc);
    net_free(&ng);
    net_free(&ne);
    free(x); free(w); free(dz); free(lws); free(zc_copy); free(gc); free(zg); free(dzg); free(gg); free(ze); free(p0);
}
#endif

int main(void) {
    dsah_init("t_device");
    test_parse();
    const struct {
        precision p;
        double tol;
    } precs[] = {{PREC_FP32, 1e-5}, {PREC_TF32, 1e-2}, {PREC_BF16, 5e-2}};
    const int nprec = (int)(sizeof precs / sizeof precs[0]);
#if DSAH_CUDA
    if (gpu_count() > 0) {
        gpu_open(0, PREC_FP32);
        test_dropout();
        test_input();
        for (int i = 0; i < nprec; i++) test_step(precs[i].p, precs[i].tol);
        return done_testing();
    }
    diag("no GPU: %s", gpu_count_error());
#endif
    (void)precs;
    skip(GPU_CHECKS_OTHER + nprec * GPU_CHECKS_PER_PRECISION, "no GPU");
    return done_testing();
}
