/* baseline_sp.c: see baseline_sp.h. */
#include "hash/baseline_sp.h"

#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>

#include "util/util.h"

/* Bits of |v|: for non-negative finite floats the unsigned order of the bit
 * patterns is the order of the values (-0 and +0 both map to 0). */
static uint32_t mag_key(float v) {
    uint32_t u;
    v = fabsf(v);
    memcpy(&u, &v, sizeof u);
    return u;
}

/* The t-th largest key (1 <= t <= count) of w by |w|: a radix select over
 * the four bytes of mag_key, most significant first, each pass counting the
 * keys that share the prefix found so far. O(count) per pass. */
static uint32_t kth_largest_key(const float *w, int64_t count, int64_t t) {
    uint32_t prefix = 0, mask = 0;
    for (int shift = 24; shift >= 0; shift -= 8) {
        int64_t hist[256] = {0};
        for (int64_t i = 0; i < count; i++) {
            uint32_t k = mag_key(w[i]);
            if ((k & mask) == prefix) hist[(k >> shift) & 255]++;
        }
        int byte = 255;
        for (; byte > 0 && hist[byte] < t; byte--) t -= hist[byte];
        prefix |= (uint32_t)byte << shift;
        mask |= 255u << shift;
    }
    return prefix;
}

/* Same result as sorting by (|w| descending, index ascending) and keeping
 * the first t: every |w| above the t-th largest, then the lowest indices
 * among those equal to it. */
void sp_keep_largest(float *w, int64_t count, int64_t t) {
    if (t >= count) return;
    if (t <= 0) {
        memset(w, 0, sizeof(float) * (size_t)count);
        return;
    }
    uint32_t cut = kth_largest_key(w, count, t);
    int64_t above = 0;
    for (int64_t i = 0; i < count; i++) above += mag_key(w[i]) > cut;
    int64_t ties = t - above; /* >= 1: the t-th largest itself */
    for (int64_t i = 0; i < count; i++) {
        uint32_t k = mag_key(w[i]);
        if (k > cut) continue;
        if (k == cut && ties > 0) {
            ties--;
            continue;
        }
        w[i] = 0.0f;
    }
}

/* g [b, b] = W^T W - I */
static void gram_minus_eye(float *g, const float *w, int64_t d, int b) {
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, b, b, (int)d, 1.0f, w, b, w, b, 0.0f, g, b);
    for (int k = 0; k < b; k++) g[k * b + k] -= 1.0f;
}

/* cw [d, b] = C W (C upper), g [b, b] = W^T W - I: the parts of J that depend on W alone */
static void w_terms(float *cw, float *g, const float *c, const float *w, int64_t d, int b) {
    cblas_ssymm(CblasRowMajor, CblasLeft, CblasUpper, (int)d, b, 1.0f, c, (int)d, w, b, 0.0f, cw, b);
    gram_minus_eye(g, w, d, b);
}

/* J from W, its w_terms (cw, g) and P */
static double objective_of(const float *cw, const float *g, const float *p, const float *w, int64_t d, int b,
                           double lambda) {
    double fit = b, orth = 0;
    for (int64_t i = 0; i < d * b; i++) fit += (double)w[i] * cw[i] - 2.0 * (double)w[i] * p[i];
    for (int64_t i = 0; i < (int64_t)b * b; i++) orth += (double)g[i] * g[i];
    return fit + lambda * orth;
}

/* J from C (upper), P, W; scratch cw [d, b], g [b, b] */
static double objective_ws(float *cw, float *g, const float *c, const float *p, const float *w, int64_t d, int b,
                           double lambda) {
    w_terms(cw, g, c, w, d, b);
    return objective_of(cw, g, p, w, d, b, lambda);
}

double sp_objective(const float *c, const float *p, const float *w, int64_t d, int b, double lambda) {
    float *cw = xmalloc(sizeof(float) * (size_t)(d * b)), *g = xmalloc(sizeof(float) * (size_t)b * (size_t)b);
    double j = objective_ws(cw, g, c, p, w, d, b, lambda);
    free(cw);
    free(g);
    return j;
}

/* P [d, b] = Xc^T B / n for xc [n, d] and signs bb [n, b], carried between
 * B-steps as pt [b, d] in double. full: by one GEMM (its float result
 * widened); otherwise from the previous P by the bits that flipped since
 * bprev [n, b]: P += Xc^T (B - B_prev) / n, where a flipped bit contributes
 * 2 B_ik x_i / n to column k. After the first iterations a few thousand of
 * the n b bits flip (0.5 % to 0.1 % on the 10,000 x 4,096, 128-bit bench
 * set), so this costs d per flip instead of n d b per step. bprev := bb. */
static void codes_product(float *p, double *pt, const float *xc, const float *bb, float *bprev, int64_t n, int64_t d,
                          int b, int full) {
    if (full) {
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)d, b, (int)n, 1.0f / (float)n, xc, (int)d, bb, b,
                    0.0f, p, b);
        for (int64_t j = 0; j < d; j++)
            for (int k = 0; k < b; k++) pt[(int64_t)k * d + j] = p[j * b + k];
    } else {
#pragma omp parallel for schedule(dynamic, 1)
        for (int k = 0; k < b; k++) {
            double *row = pt + (int64_t)k * d;
            for (int64_t i = 0; i < n; i++) {
                if (bb[i * b + k] == bprev[i * b + k]) continue;
                const double c = 2.0 * bb[i * b + k] / (double)n;
                const float *xi = xc + i * d;
                for (int64_t j = 0; j < d; j++) row[j] += c * xi[j];
            }
        }
        for (int64_t j = 0; j < d; j++)
            for (int k = 0; k < b; k++) p[j * b + k] = (float)pt[(int64_t)k * d + j];
    }
    memcpy(bprev, bb, sizeof(float) * (size_t)(n * b));
}

/* Rows per panel of sparse_signs: one 16-float vector per feature. */
#define SP_PANEL 16

/* xp [ceil(n / SP_PANEL), d, SP_PANEL] = xc [n, d] in panels of SP_PANEL
 * rows, each stored feature by feature (the SP_PANEL values of one feature
 * together); rows past n are zero. */
static void to_panels(float *xp, const float *xc, int64_t n, int64_t d) {
    const int64_t np = (n + SP_PANEL - 1) / SP_PANEL;
#pragma omp parallel for schedule(static)
    for (int64_t q = 0; q < np; q++) {
        float *dst = xp + q * d * SP_PANEL;
        for (int l = 0; l < SP_PANEL; l++) {
            const int64_t i = q * SP_PANEL + l;
            for (int64_t j = 0; j < d; j++) dst[j * SP_PANEL + l] = i < n ? xc[i * d + j] : 0.0f;
        }
    }
}

/* The non-zeros of w [d, b] by rows: row j holds col/val [rowptr[j], rowptr[j+1]). */
static void sparse_rows(int64_t *rowptr, int *col, float *val, const float *w, int64_t d, int b) {
    int64_t q = 0;
    for (int64_t j = 0; j < d; j++) {
        rowptr[j] = q;
        for (int k = 0; k < b; k++)
            if (w[j * b + k] != 0.0f) {
                col[q] = k;
                val[q++] = w[j * b + k];
            }
    }
    rowptr[d] = q;
}

/* bb [n, b] = sgn(Xc W) (sgn(0) = +1) from the panels xp of Xc and W's
 * non-zeros by rows: each product x_i . w_k sums its t_k non-zero terms in
 * the order of j, SP_PANEL rows at once (one vector FMA per non-zero), so
 * the B-step costs t (n / SP_PANEL) vector operations instead of the n d b
 * of a dense GEMM (t = density d b). The result does not depend on the
 * thread count. */
static void sparse_signs(float *bb, const float *xp, int64_t n, int64_t d, int b, const int64_t *rowptr, const int *col,
                         const float *val) {
    const int64_t np = (n + SP_PANEL - 1) / SP_PANEL;
#pragma omp parallel
    {
        float *acc = xaligned(sizeof(float) * (size_t)b * SP_PANEL);
#pragma omp for schedule(static)
        for (int64_t q = 0; q < np; q++) {
            memset(acc, 0, sizeof(float) * (size_t)b * SP_PANEL);
            const float *x = xp + q * d * SP_PANEL;
            for (int64_t j = 0; j < d; j++) {
                const float *restrict xj = x + j * SP_PANEL;
                for (int64_t e = rowptr[j]; e < rowptr[j + 1]; e++) {
                    float *restrict a = acc + (int64_t)col[e] * SP_PANEL;
                    const float v = val[e];
#pragma omp simd
                    for (int l = 0; l < SP_PANEL; l++) a[l] += v * xj[l];
                }
            }
            for (int l = 0; l < SP_PANEL && q * SP_PANEL + l < n; l++)
                for (int k = 0; k < b; k++)
                    bb[(q * SP_PANEL + l) * b + k] = acc[(int64_t)k * SP_PANEL + l] >= 0.0f ? 1.0f : -1.0f;
        }
        free(acc);
    }
}

int sp_fit(baseline_model *m, const float *x, int64_t n, double density, double lambda, char *err, int errlen) {
    const int64_t d = m->dim;
    const int b = m->bits, iters = m->iters;
    CHECK(b <= d && n >= 2 && density > 0 && density <= 1 && lambda >= 0);
    const int64_t count = d * b, t = (int64_t)llround(density * (double)count) > 0 ? llround(density * (double)count) : 1;
    float *xc = xaligned(sizeof(float) * (size_t)(n * d)), *c = xaligned(sizeof(float) * (size_t)(d * d));
    float *evals = xaligned(sizeof(float) * (size_t)d), *z = xaligned(sizeof(float) * (size_t)(d * b));
    int *isuppz = xaligned(sizeof(int) * (size_t)(2 * b));
    float *bb = xaligned(sizeof(float) * (size_t)(n * b)), *p = xaligned(sizeof(float) * (size_t)(d * b));
    float *grad = xaligned(sizeof(float) * (size_t)(d * b)), *wn = xaligned(sizeof(float) * (size_t)(d * b));
    float *cw = xaligned(sizeof(float) * (size_t)(d * b)), *g = xaligned(sizeof(float) * (size_t)b * (size_t)b);
    float *cwn = xaligned(sizeof(float) * (size_t)(d * b)), *gn = xaligned(sizeof(float) * (size_t)b * (size_t)b);
    float *bprev = xaligned(sizeof(float) * (size_t)(n * b));
    double *pt = xaligned(sizeof(double) * (size_t)(d * b));
    float *xp = NULL, *val = xmalloc(sizeof(float) * (size_t)count);
    int64_t *rowptr = xmalloc(sizeof(int64_t) * (size_t)(d + 1));
    int *col = xmalloc(sizeof(int) * (size_t)count);
    double *acc = xmalloc(sizeof(double) * (size_t)d);
    float *top = xmalloc(sizeof(float) * (size_t)b), *cov = xaligned(sizeof(float) * (size_t)(d * d));
    int rc = -1;
    baseline_column_mean(m->mean, acc, x, n, d);
    baseline_centre(xc, x, m->mean, n, d);
    float *w = m->proj;
    /* W_0: the PCA directions, ℓ0-projected; C = Xc^T Xc / n (upper) */
    if (baseline_pca(w, top, c, cov, evals, z, isuppz, xc, n, d, b, err, errlen) != 0) goto out;
    sp_keep_largest(w, count, t);
    for (int64_t i = 0; i < d * d; i++) c[i] /= (float)n;
    double eta0 = 1.0 / (2.0 * top[0] / (double)n + 12.0 * lambda + 1e-30);
    /* cw, g: the w_terms of the current W, carried from the accepted trial
     * of one W-step to the next B-step (they do not depend on B) */
    w_terms(cw, g, c, w, d, b);
    xp = xaligned(sizeof(float) * (size_t)((n + SP_PANEL - 1) / SP_PANEL * SP_PANEL * d));
    to_panels(xp, xc, n, d);
    for (int it = 0;; it++) {
        /* B-step: B = sgn(Xc W), P = Xc^T B / n */
        sparse_rows(rowptr, col, val, w, d, b);
        sparse_signs(bb, xp, n, d, b, rowptr, col, val);
        int64_t flips = 0;
        for (int64_t i = 0; i < n * b; i++) flips += bb[i] != bprev[i];
        codes_product(p, pt, xc, bb, bprev, n, d, b, it == 0 || flips > n * b / 16);
        double j = objective_of(cw, g, p, w, d, b, lambda);
        m->loss[it] = j;
        if (it == iters) break;
        /* W-step: grad = 2 (C W - P) + 4 lambda W (W^T W - I) */
        for (int64_t i = 0; i < count; i++) grad[i] = 2.0f * (cw[i] - p[i]);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)d, b, b, (float)(4.0 * lambda), w, b, g, b, 1.0f,
                    grad, b);
        double eta = eta0;
        for (int h = 0; h < 40; h++, eta *= 0.5) {
            for (int64_t i = 0; i < count; i++) wn[i] = w[i] - (float)eta * grad[i];
            sp_keep_largest(wn, count, t);
            if (objective_ws(cwn, gn, c, p, wn, d, b, lambda) <= j) {
                memcpy(w, wn, sizeof(float) * (size_t)count);
                float *sw = cw;
                cw = cwn, cwn = sw;
                sw = g, g = gn, gn = sw;
                break;
            }
        }
    }
    rc = 0;
out:
    free(xc);
    free(c);
    free(evals);
    free(z);
    free(isuppz);
    free(bb);
    free(p);
    free(grad);
    free(wn);
    free(cw);
    free(g);
    free(cwn);
    free(gn);
    free(bprev);
    free(pt);
    free(xp);
    free(val);
    free(rowptr);
    free(col);
    free(acc);
    free(top);
    free(cov);
    return rc;
}
