/* preprocess.c: see preprocess.h. */
#include "data/preprocess.h"

#include <math.h>
#include <string.h>

#include "util/util.h"

const float pre_imagenet_mean[3] = {0.485f, 0.456f, 0.406f};
const float pre_imagenet_std[3] = {0.229f, 0.224f, 0.225f};

void pre_u8hwc_to_nchw(float *out, const uint8_t *images, const int64_t *idx, int64_t n, int h, int w, int c) {
    const int64_t hw = (int64_t)h * w, img = hw * c;
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; i++) {
        const uint8_t *src = images + (idx ? idx[i] : i) * img;   /* [h, w, c] */
        float *dst = out + i * img;                                /* [c, h, w] */
        for (int64_t p = 0; p < hw; p++)
            for (int ch = 0; ch < c; ch++) dst[ch * hw + p] = (float)src[p * c + ch] / 255.0f;
    }
}

void pre_resize_bilinear(float *out, const float *in, int64_t np, int ih, int iw, int oh, int ow) {
    CHECK(ih > 0 && iw > 0 && oh > 0 && ow > 0);
    const float sy = (float)ih / (float)oh, sx = (float)iw / (float)ow;
#pragma omp parallel for schedule(static)
    for (int64_t p = 0; p < np; p++) {
        const float *src = in + p * (int64_t)ih * iw;   /* [ih, iw] */
        float *dst = out + p * (int64_t)oh * ow;        /* [oh, ow] */
        for (int y = 0; y < oh; y++) {
            int y0, y1;
            float ly;
            pre_src_index(sy, y, ih, &y0, &y1, &ly);
            const float hy0 = 1.0f - ly, hy1 = ly;
            const float *r0 = src + (int64_t)y0 * iw, *r1 = src + (int64_t)y1 * iw;
            for (int x = 0; x < ow; x++) {
                int x0, x1;
                float lx;
                pre_src_index(sx, x, iw, &x0, &x1, &lx);
                const float wx0 = 1.0f - lx, wx1 = lx;
                /* torch's order: rows first, each row interpolated along x */
                float t0 = r0[x0] * wx0 + r0[x1] * wx1;
                float t1 = r1[x0] * wx0 + r1[x1] * wx1;
                dst[(int64_t)y * ow + x] = t0 * hy0 + t1 * hy1;
            }
        }
    }
}

void pre_gray_to_rgb(float *out, const float *in, int64_t n, int64_t hw) {
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; i++)
        for (int ch = 0; ch < 3; ch++) memcpy(out + (i * 3 + ch) * hw, in + i * hw, sizeof(float) * (size_t)hw);
}

void pre_normalize(float *out, const float *x, int64_t n, int c, int64_t hw, const float *mean, const float *std) {
#pragma omp parallel for schedule(static)
    for (int64_t q = 0; q < n * c; q++) {
        const float m = mean[q % c], s = std[q % c];
        const float *a = x + q * hw;
        float *b = out + q * hw;
        for (int64_t p = 0; p < hw; p++) b[p] = (a[p] - m) / s;
    }
}

int64_t pre_imagenet_scratch(int64_t n, int h, int w, int c, int S) {
    return n * c * (int64_t)h * w + (c == 1 ? n * (int64_t)S * S : 0);
}

void pre_imagenet(float *out, float *scratch, const uint8_t *images, const int64_t *idx, int64_t n, int h, int w, int c,
                  int S) {
    CHECK(c == 1 || c == 3);
    const int64_t ss = (int64_t)S * S;
    const int resize = !(h == S && w == S);
    float *stage = scratch;                            /* [n, c, h, w] */
    float *gray = scratch + n * c * (int64_t)h * w;    /* [n, 1, S, S] when c == 1 */
    if (c == 3) {
        if (!resize) pre_u8hwc_to_nchw(out, images, idx, n, h, w, 3);
        else {
            pre_u8hwc_to_nchw(stage, images, idx, n, h, w, 3);
            pre_resize_bilinear(out, stage, n * 3, h, w, S, S);
        }
    } else {
        pre_u8hwc_to_nchw(stage, images, idx, n, h, w, 1);
        if (resize) pre_resize_bilinear(gray, stage, n, h, w, S, S);
        pre_gray_to_rgb(out, resize ? gray : stage, n, ss);
    }
    pre_normalize(out, out, n, 3, ss, pre_imagenet_mean, pre_imagenet_std);
}
