/* t_preprocess: u8 HWC -> NCHW gather, bilinear resize against a hand-worked
 * case and an independent double-precision evaluation of the
 * align_corners=False formula, ImageNet normalisation, grayscale
 * replication, the whole pipeline, and thread-count independence. */
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "data/preprocess.h"
#include "util/rng.h"
#include "tap.h"
#include "util/util.h"

/* Reference: out(y, x) by the textbook formula, all in double.
 * src = (in/out)(dst + 1/2) - 1/2, clamped at 0; i0 = floor(src) clamped to
 * in-1; i1 = i0+1 clamped to in-1; weight of i1 = src - i0 (clamped to 1). */
static void ref_coord(int dst, int in, int out, int *i0, int *i1, double *l) {
    double s = (double)in / out * (dst + 0.5) - 0.5;
    if (s < 0) s = 0;
    int k = (int)floor(s);
    if (k > in - 1) k = in - 1;
    *i0 = k;
    *i1 = k + 1 < in ? k + 1 : in - 1;
    *l = s - k > 1 ? 1 : s - k;
}
static double ref_pixel(const float *img, int ih, int iw, int oh, int ow, int y, int x) {
    int y0, y1, x0, x1;
    double ly, lx;
    ref_coord(y, ih, oh, &y0, &y1, &ly);
    ref_coord(x, iw, ow, &x0, &x1, &lx);
    return (1 - ly) * ((1 - lx) * img[y0 * iw + x0] + lx * img[y0 * iw + x1]) +
           ly * ((1 - lx) * img[y1 * iw + x0] + lx * img[y1 * iw + x1]);
}

/* max |resize - reference| over np planes of a random ih x iw -> oh x ow case */
static double resize_err(rng *r, int np, int ih, int iw, int oh, int ow) {
    float *in = xmalloc(sizeof(float) * (size_t)(np * ih * iw)), *out = xmalloc(sizeof(float) * (size_t)(np * oh * ow));
    for (int i = 0; i < np * ih * iw; i++) in[i] = (float)rng_uniform(r);
    pre_resize_bilinear(out, in, np, ih, iw, oh, ow);
    double e = 0;
    for (int p = 0; p < np; p++)
        for (int y = 0; y < oh; y++)
            for (int x = 0; x < ow; x++) {
                double d = fabs(out[(p * oh + y) * ow + x] - ref_pixel(in + p * ih * iw, ih, iw, oh, ow, y, x));
                if (d > e) e = d;
            }
    free(in);
    free(out);
    return e;
}

int main(void) {
    dsah_init("t_preprocess");
    rng r;
    rng_seed(&r, 12345);

    /* ---- u8 HWC -> float NCHW, with gather ------------------------------ */
    {
        enum { N = 5, H = 3, W = 4, C = 3 };
        uint8_t img[N * H * W * C];
        for (int i = 0; i < N * H * W * C; i++) img[i] = (uint8_t)(rng_u64(&r) & 255);
        img[0] = 0;
        img[1] = 255;
        int64_t idx[3] = {4, 0, 2};
        float out[3 * C * H * W];
        pre_u8hwc_to_nchw(out, img, idx, 3, H, W, C);
        int good = 1;
        for (int i = 0; i < 3; i++)
            for (int ch = 0; ch < C; ch++)
                for (int y = 0; y < H; y++)
                    for (int x = 0; x < W; x++) {
                        float want = (float)img[((idx[i] * H + y) * W + x) * C + ch] / 255.0f;
                        good &= out[((i * C + ch) * H + y) * W + x] == want;
                    }
        ok(good, "HWC -> NCHW with gather: every element equals u8/255 (bit-exact)");
        ok(out[(1 * C + 0) * H * W] == 0.0f && out[(1 * C + 1) * H * W] == 1.0f, "0 -> 0.0 and 255 -> 1.0 exactly");
        float all[N * C * H * W];
        pre_u8hwc_to_nchw(all, img, NULL, N, H, W, C);
        ok(!memcmp(all + 2 * C * H * W, out + 2 * C * H * W, sizeof(float) * C * H * W), "idx NULL means 0..n-1");
    }

    /* ---- bilinear resize ------------------------------------------------ */
    {
        /* Hand-worked 2x2 -> 4x4, align_corners=False: scale 1/2, source
         * coordinates -0.25 (-> 0), 0.25, 0.75, 1.25 (-> 1 and 1 clamped),
         * so each row [p, q] becomes [p, .75p+.25q, .25p+.75q, q]; same down
         * the columns. torch.nn.functional.interpolate gives exactly this. */
        float in[4] = {0, 1, 2, 3}, out[16];
        const float want[16] = {0.00f, 0.25f, 0.75f, 1.00f,
                                0.50f, 0.75f, 1.25f, 1.50f,
                                1.50f, 1.75f, 2.25f, 2.50f,
                                2.00f, 2.25f, 2.75f, 3.00f};
        pre_resize_bilinear(out, in, 1, 2, 2, 4, 4);
        ok(!memcmp(out, want, sizeof want), "2x2 -> 4x4 hand-worked values exact");
        /* 4x4 -> 2x2: source 0.5 and 2.5, the mean of each 2x2 block */
        float in4[16], out2[4];
        for (int i = 0; i < 16; i++) in4[i] = (float)i;
        pre_resize_bilinear(out2, in4, 1, 4, 4, 2, 2);
        ok(out2[0] == 2.5f && out2[1] == 4.5f && out2[2] == 10.5f && out2[3] == 12.5f,
           "4x4 -> 2x2 hand-worked: block means 2.5 4.5 10.5 12.5 (%g %g %g %g)", out2[0], out2[1], out2[2], out2[3]);
        /* 1 -> 3 along x (a single column is replicated) and 3 -> 1 (centre) */
        float a3[3] = {1, 5, 9}, o3[3], o1[1];
        pre_resize_bilinear(o3, a3 + 1, 1, 1, 1, 1, 3);
        pre_resize_bilinear(o1, a3, 1, 1, 3, 1, 1);
        ok(o3[0] == 5 && o3[1] == 5 && o3[2] == 5 && o1[0] == 5, "1 -> 3 replicates; 3 -> 1 picks the centre");
        /* same size: identity, bit-exact */
        float id[2 * 7 * 5], oid[2 * 7 * 5];
        for (int i = 0; i < 70; i++) id[i] = (float)rng_uniform(&r);
        pre_resize_bilinear(oid, id, 2, 7, 5, 7, 5);
        ok(!memcmp(id, oid, sizeof id), "same size is the identity");

        const double tol = 2e-6;
        double e;
        e = resize_err(&r, 3, 28, 28, 224, 224);
        ok(e < tol, "28x28 -> 224x224 (3 planes) vs double reference: max err %.2e < %.0e", e, tol);
        e = resize_err(&r, 2, 5, 7, 3, 11);
        ok(e < tol, "5x7 -> 3x11 (mixed up/down) vs double reference: max err %.2e", e);
        e = resize_err(&r, 2, 13, 9, 4, 6);
        ok(e < tol, "13x9 -> 4x6 (downscale, no antialias) vs double reference: max err %.2e", e);
        /* scale 32/224 = 1/7 is inexact in float; the source coordinate is
         * computed in float (as torch does), off by up to ~32·2^-23 = 4e-6
         * pixel against double, times an image gradient of at most 1 per
         * pixel here */
        e = resize_err(&r, 1, 32, 32, 224, 224);
        ok(e < 1e-5, "32x32 -> 224x224 (scale 1/7, inexact in float) vs double reference: max err %.2e < 1e-5", e);
    }

    /* ---- normalisation -------------------------------------------------- */
    {
        ok(pre_imagenet_mean[0] == 0.485f && pre_imagenet_mean[1] == 0.456f && pre_imagenet_mean[2] == 0.406f &&
               pre_imagenet_std[0] == 0.229f && pre_imagenet_std[1] == 0.224f && pre_imagenet_std[2] == 0.225f,
           "torchvision ImageNet mean/std");
        enum { N = 2, C = 3, HW = 10 };
        float x[N * C * HW], y[N * C * HW];
        for (int i = 0; i < N * C * HW; i++) x[i] = (float)rng_uniform(&r);
        x[0] = 0.485f;
        x[HW] = 0.456f;
        pre_normalize(y, x, N, C, HW, pre_imagenet_mean, pre_imagenet_std);
        int exact = 1;
        double maxrel = 0;
        for (int i = 0; i < N; i++)
            for (int c = 0; c < C; c++)
                for (int p = 0; p < HW; p++) {
                    int k = (i * C + c) * HW + p;
                    float a = x[k] - pre_imagenet_mean[c];   /* torchvision: sub_ then div_, in float */
                    exact &= y[k] == a / pre_imagenet_std[c];
                    double d = ((double)x[k] - (double)pre_imagenet_mean[c]) / (double)pre_imagenet_std[c];
                    double rel = fabs(y[k] - d) / (fabs(d) > 1e-3 ? fabs(d) : 1e-3);
                    if (rel > maxrel) maxrel = rel;
                }
        ok(exact, "normalise equals float (x - mean[c]) / std[c] bit for bit, per channel");
        ok(maxrel < 3e-7, "and agrees with double to %.1e relative", maxrel);
        ok(y[0] == 0.0f && y[HW] == 0.0f, "the channel mean maps to 0");
        float z[N * C * HW];
        memcpy(z, x, sizeof x);
        pre_normalize(z, z, N, C, HW, pre_imagenet_mean, pre_imagenet_std);
        ok(!memcmp(z, y, sizeof y), "in place gives the same");
    }

    /* ---- whole pipeline: gray and RGB ---------------------------------- */
    {
        enum { N = 3, H = 28, W = 28, S = 56 };
        uint8_t *g = xmalloc(N * H * W), *rgb = xmalloc(N * H * W * 3);
        for (int i = 0; i < N * H * W; i++) g[i] = (uint8_t)(rng_u64(&r) & 255);
        for (int i = 0; i < N * H * W * 3; i++) rgb[i] = (uint8_t)(rng_u64(&r) & 255);
        int64_t idx[2] = {2, 0};
        float *out = xmalloc(sizeof(float) * 2 * 3 * S * S);
        float *scr = xmalloc(sizeof(float) * (size_t)pre_imagenet_scratch(2, H, W, 1, S));
        pre_imagenet(out, scr, g, idx, 2, H, W, 1, S);
        /* independent: resize of the gathered image (double reference), then
         * each channel normalised with its own statistics */
        float plane[H * W];
        double e = 0;
        int same_pre = 1;
        for (int i = 0; i < 2; i++) {
            for (int p = 0; p < H * W; p++) plane[p] = (float)g[idx[i] * H * W + p] / 255.0f;
            for (int y = 0; y < S; y++)
                for (int x = 0; x < S; x++) {
                    double v = ref_pixel(plane, H, W, S, S, y, x);
                    float pre[3];
                    for (int c = 0; c < 3; c++) {
                        float o = out[((i * 3 + c) * S + y) * S + x];
                        double want = (v - pre_imagenet_mean[c]) / pre_imagenet_std[c];
                        if (fabs(o - want) > e) e = fabs(o - want);
                        pre[c] = o * pre_imagenet_std[c] + pre_imagenet_mean[c];
                    }
                    same_pre &= fabsf(pre[0] - pre[1]) < 1e-6f && fabsf(pre[0] - pre[2]) < 1e-6f;
                }
        }
        ok(e < 1e-5, "grayscale pipeline (gather, /255, resize 28->56, replicate, normalise) vs reference: %.2e", e);
        ok(same_pre, "grayscale: the 3 channels hold the same image before normalisation");

        float *scr3 = xmalloc(sizeof(float) * (size_t)pre_imagenet_scratch(N, H, W, 3, S));
        float *out3 = xmalloc(sizeof(float) * N * 3 * S * S), *chk = xmalloc(sizeof(float) * N * 3 * S * S);
        float *stage = xmalloc(sizeof(float) * N * 3 * H * W);
        pre_imagenet(out3, scr3, rgb, NULL, N, H, W, 3, S);
        pre_u8hwc_to_nchw(stage, rgb, NULL, N, H, W, 3);
        pre_resize_bilinear(chk, stage, N * 3, H, W, S, S);
        pre_normalize(chk, chk, N, 3, S * S, pre_imagenet_mean, pre_imagenet_std);
        ok(!memcmp(out3, chk, sizeof(float) * N * 3 * S * S), "RGB pipeline = to_nchw, resize, normalise composed");
        /* no resize when already S x S */
        float *o28 = xmalloc(sizeof(float) * N * 3 * H * W);
        pre_imagenet(o28, scr3, rgb, NULL, N, H, W, 3, H);
        pre_normalize(stage, stage, N, 3, H * W, pre_imagenet_mean, pre_imagenet_std);
        ok(!memcmp(o28, stage, sizeof(float) * N * 3 * H * W), "S equal to the image size skips the resize");

        /* thread count does not change a bit */
        int nt = omp_get_max_threads();
        omp_set_num_threads(1);
        pre_imagenet(chk, scr3, rgb, NULL, N, H, W, 3, S);
        omp_set_num_threads(nt > 1 ? nt : 2);
        ok(!memcmp(out3, chk, sizeof(float) * N * 3 * S * S), "1 thread and %d threads give identical output", nt > 1 ? nt : 2);
        free(g), free(rgb), free(out), free(scr), free(scr3), free(out3), free(chk), free(stage), free(o28);
    }
    return done_testing();
}
