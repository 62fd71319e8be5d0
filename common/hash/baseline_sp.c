/* baseline_sp.c: see baseline_sp.h. */
#include "hash/baseline_sp.h"

#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/util.h"

typedef struct mag_idx {
    float mag;
    int64_t i;
} mag_idx;

static int mag_cmp(const void *a, const void *b) {
    const mag_idx *x = a, *y = b;
    if (x->mag != y->mag) return x->mag > y->mag ? -1 : 1;
    return (x->i > y->i) - (x->i < y->i);
}

void sp_keep_largest(float *w, int64_t count, int64_t t) {
    if (t >= count) return;
    mag_idx *v = xmalloc(sizeof(mag_idx) * (size_t)count);
    for (int64_t i = 0; i < count; i++) v[i] = (mag_idx){fabsf(w[i]), i};
    qsort(v, (size_t)count, sizeof *v, mag_cmp);
    for (int64_t i = t; i < count; i++) w[v[i].i] = 0.0f;
    free(v);
}

/* g [b, b] = W^T W - I */
static void gram_minus_eye(float *g, const float *w, int64_t d, int b) {
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, b, b, (int)d, 1.0f, w, b, w, b, 0.0f, g, b);
    for (int k = 0; k < b; k++) g[k * b + k] -= 1.0f;
}

/* J from C (upper), P, W; scratch cw [d, b], g [b, b] */
static double objective_ws(float *cw, float *g, const float *c, const float *p, const float *w, int64_t d, int b,
                           double lambda) {
    cblas_ssymm(CblasRowMajor, CblasLeft, CblasUpper, (int)d, b, 1.0f, c, (int)d, w, b, 0.0f, cw, b);
    double fit = b, orth = 0;
    for (int64_t i = 0; i < d * b; i++) fit += (double)w[i] * cw[i] - 2.0 * (double)w[i] * p[i];
    gram_minus_eye(g, w, d, b);
    for (int64_t i = 0; i < (int64_t)b * b; i++) orth += (double)g[i] * g[i];
    return fit + lambda * orth;
}

double sp_objective(const float *c, const float *p, const float *w, int64_t d, int b, double lambda) {
    float *cw = xmalloc(sizeof(float) * (size_t)(d * b)), *g = xmalloc(sizeof(float) * (size_t)b * (size_t)b);
    double j = objective_ws(cw, g, c, p, w, d, b, lambda);
    free(cw);
    free(g);
    return j;
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
    for (int it = 0;; it++) {
        /* B-step: B = sgn(Xc W), P = Xc^T B / n */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n, b, (int)d, 1.0f, xc, (int)d, w, b, 0.0f, bb, b);
        for (int64_t i = 0; i < n * b; i++) bb[i] = bb[i] >= 0.0f ? 1.0f : -1.0f;
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)d, b, (int)n, 1.0f / (float)n, xc, (int)d, bb, b,
                    0.0f, p, b);
        double j = objective_ws(cw, g, c, p, w, d, b, lambda);
        m->loss[it] = j;
        if (it == iters) break;
        /* W-step: grad = 2 (C W - P) + 4 lambda W (W^T W - I); cw, g from objective_ws */
        for (int64_t i = 0; i < count; i++) grad[i] = 2.0f * (cw[i] - p[i]);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)d, b, b, (float)(4.0 * lambda), w, b, g, b, 1.0f,
                    grad, b);
        double eta = eta0;
        for (int h = 0; h < 40; h++, eta *= 0.5) {
            for (int64_t i = 0; i < count; i++) wn[i] = w[i] - (float)eta * grad[i];
            sp_keep_largest(wn, count, t);
            if (objective_ws(cw, g, c, p, wn, d, b, lambda) <= j) {
                memcpy(w, wn, sizeof(float) * (size_t)count);
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
    free(acc);
    free(top);
    free(cov);
    return rc;
}
