/* baseline.c: see baseline.h. */
#include "hash/baseline.h"

#include <cblas.h>
#include <lapacke.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/bits.h"
#include "util/rng.h"
#include "util/util.h"

#define ENCODE_CHUNK 4096

void baseline_model_alloc(baseline_model *m, int64_t dim, int bits, int iters) {
    memset(m, 0, sizeof *m);
    m->dim = dim;
    m->bits = bits;
    m->iters = iters;
    m->mean = xcalloc((size_t)dim, sizeof(float));
    m->proj = xcalloc((size_t)(dim * bits), sizeof(float));
    m->loss = xcalloc((size_t)iters + 1, sizeof(double));
}

void baseline_model_free(baseline_model *m) {
    free(m->mean);
    free(m->proj);
    free(m->loss);
    memset(m, 0, sizeof *m);
}

void baseline_ws_alloc(baseline_ws *ws, int64_t n, int64_t dim, int bits) {
    memset(ws, 0, sizeof *ws);
    ws->n = n;
    ws->dim = dim;
    ws->bits = bits;
    ws->chunk = ENCODE_CHUNK;
    int64_t rows = n > ENCODE_CHUNK ? n : ENCODE_CHUNK, b = bits;
    ws->xc = xaligned(sizeof(float) * (size_t)(rows * dim));
    ws->z = xaligned(sizeof(float) * (size_t)(rows * b));
    if (n > 0) {
        ws->cov = xaligned(sizeof(float) * (size_t)(dim * dim));
        ws->w = xaligned(sizeof(float) * (size_t)(dim * b));
        ws->v = xaligned(sizeof(float) * (size_t)(n * b));
        ws->eval = xaligned(sizeof(float) * (size_t)dim);
    }
    ws->rf = xaligned(sizeof(float) * (size_t)(b * b));
    ws->m = xaligned(sizeof(double) * (size_t)(b * b));
    ws->u = xaligned(sizeof(double) * (size_t)(b * b));
    ws->vt = xaligned(sizeof(double) * (size_t)(b * b));
    ws->r = xaligned(sizeof(double) * (size_t)(b * b));
    ws->s = xaligned(sizeof(double) * (size_t)b);
    ws->superb = xaligned(sizeof(double) * (size_t)b);
    ws->tau = xaligned(sizeof(double) * (size_t)b);
    ws->isuppz = xaligned(sizeof(int) * (size_t)(2 * b));
}

void baseline_ws_free(baseline_ws *ws) {
    free(ws->xc);
    free(ws->z);
    free(ws->cov);
    free(ws->w);
    free(ws->v);
    free(ws->eval);
    free(ws->rf);
    free(ws->m);
    free(ws->u);
    free(ws->vt);
    free(ws->r);
    free(ws->s);
    free(ws->superb);
    free(ws->tau);
    free(ws->isuppz);
    memset(ws, 0, sizeof *ws);
}

/* mean [d] of x [n, d], accumulated in double over rows in order. */
void baseline_column_mean(float *mean, double *acc, const float *x, int64_t n, int64_t d) {
    memset(acc, 0, sizeof(double) * (size_t)d);
    for (int64_t i = 0; i < n; i++)
        for (int64_t k = 0; k < d; k++) acc[k] += x[i * d + k];
    for (int64_t k = 0; k < d; k++) mean[k] = (float)(acc[k] / (double)(n > 0 ? n : 1));
}

/* out [n, d] = x - mean */
void baseline_centre(float *out, const float *x, const float *mean, int64_t n, int64_t d) {
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; i++)
        for (int64_t k = 0; k < d; k++) out[i * d + k] = x[i * d + k] - mean[k];
}

void baseline_fit_lsh(baseline_model *m, baseline_ws *ws, const float *x, int64_t n, uint64_t seed) {
    const int64_t d = m->dim, b = m->bits;
    CHECK(ws->dim == d && ws->bits == b);
    baseline_column_mean(m->mean, (double *)ws->xc, x, n, d); /* xc: >= chunk*d floats, room for d doubles */
    rng r;
    rng_seed(&r, seed ^ rng_hash64(BASELINE_PURPOSE_LSH));
    for (int64_t i = 0; i < d * b; i++) m->proj[i] = (float)rng_normal(&r);
    m->iters = 0;
}

/* Q_t = ||sgn(Z) - Z||_F^2 = sum (|z| - 1)^2 (sgn(0) = +1 gives (0-1)^2 too). */
static double quant_loss(const float *z, int64_t count) {
    double s = 0.0;
    for (int64_t i = 0; i < count; i++) {
        double e = fabs((double)z[i]) - 1.0;
        s += e * e;
    }
    return s;
}

int baseline_pca(float *w, float *top, float *gram, float *cov, float *evals, float *z, int *isuppz, const float *xc,
                 int64_t n, int64_t d, int k, char *err, int errlen) {
    CHECK(k >= 1 && k <= d);
    /* upper triangle of Xc^T Xc [d, d], then the k largest eigenpairs */
    cblas_ssyrk(CblasRowMajor, CblasUpper, CblasTrans, (int)d, (int)n, 1.0f, xc, (int)d, 0.0f, cov, (int)d);
    if (gram) memcpy(gram, cov, sizeof(float) * (size_t)(d * d));
    lapack_int found = 0;
    lapack_int info = LAPACKE_ssyevr(LAPACK_ROW_MAJOR, 'V', 'I', 'U', (lapack_int)d, cov, (lapack_int)d, 0.0f, 0.0f,
                                     (lapack_int)(d - k + 1), (lapack_int)d, 0.0f, &found, evals, z, (lapack_int)k,
                                     isuppz);
    if (info != 0 || found != k) {
        snprintf(err, (size_t)errlen, "PCA eigen-decomposition failed (LAPACKE_ssyevr info %d, %d of %d vectors)",
                 (int)info, (int)found, k);
        return -1;
    }
    /* ssyevr returns ascending eigenvalues in columns of z [d, k]: reverse
     * into w (descending), sign so the largest-magnitude entry is positive */
    for (int64_t j = 0; j < k; j++) {
        int64_t src = k - 1 - j, arg = 0;
        float best = -1.0f;
        for (int64_t i = 0; i < d; i++)
            if (fabsf(z[i * k + src]) > best) { best = fabsf(z[i * k + src]); arg = i; }
        float sg = z[arg * k + src] < 0.0f ? -1.0f : 1.0f;
        for (int64_t i = 0; i < d; i++) w[i * k + j] = sg * z[i * k + src];
        if (top) top[j] = evals[src];
    }
    return 0;
}

int baseline_fit_itq(baseline_model *m, baseline_ws *ws, const float *x, int64_t n, uint64_t seed, char *err,
                     int errlen) {
    const int64_t d = m->dim, b = m->bits;
    CHECK(b <= d && ws->n >= n && ws->dim == d && ws->bits == b);
    double *acc = (double *)ws->cov; /* cov is free until ssyrk; holds d doubles (d*d floats >= 2d) */
    CHECK(d >= 2);
    baseline_column_mean(m->mean, acc, x, n, d);
    baseline_centre(ws->xc, x, m->mean, n, d);

    if (baseline_pca(ws->w, NULL, NULL, ws->cov, ws->eval, ws->z, ws->isuppz, ws->xc, n, d, (int)b, err, errlen) != 0)
        return -1;
    /* V [n, b] = Xc W */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n, (int)b, (int)d, 1.0f, ws->xc, (int)d, ws->w,
                (int)b, 0.0f, ws->v, (int)b);

    /* R0: Q of a Gaussian b x b matrix */
    rng r;
    rng_seed(&r, seed ^ rng_hash64(BASELINE_PURPOSE_ITQ));
    for (int64_t i = 0; i < b * b; i++) ws->r[i] = rng_normal(&r);
    lapack_int info = LAPACKE_dgeqrf(LAPACK_ROW_MAJOR, (lapack_int)b, (lapack_int)b, ws->r, (lapack_int)b, ws->tau);
    if (info == 0) info = LAPACKE_dorgqr(LAPACK_ROW_MAJOR, (lapack_int)b, (lapack_int)b, (lapack_int)b, ws->r,
                                         (lapack_int)b, ws->tau);
    if (info != 0) {
        snprintf(err, (size_t)errlen, "random rotation: QR failed (LAPACKE info %d)", (int)info);
        return -1;
    }

    for (int t = 0;; t++) {
        for (int64_t i = 0; i < b * b; i++) ws->rf[i] = (float)ws->r[i];
        /* Z = V R [n, b] */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n, (int)b, (int)b, 1.0f, ws->v, (int)b, ws->rf,
                    (int)b, 0.0f, ws->z, (int)b);
        m->loss[t] = quant_loss(ws->z, n * b);
        if (t == m->iters) break;
        /* B = sgn(Z) in place */
        for (int64_t i = 0; i < n * b; i++) ws->z[i] = ws->z[i] >= 0.0f ? 1.0f : -1.0f;
        /* M = V^T B [b, b] (float GEMM into rf, then to double) */
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)b, (int)b, (int)n, 1.0f, ws->v, (int)b, ws->z,
                    (int)b, 0.0f, ws->rf, (int)b);
        for (int64_t i = 0; i < b * b; i++) ws->m[i] = ws->rf[i];
        info = LAPACKE_dgesvd(LAPACK_ROW_MAJOR, 'A', 'A', (lapack_int)b, (lapack_int)b, ws->m, (lapack_int)b, ws->s,
                              ws->u, (lapack_int)b, ws->vt, (lapack_int)b, ws->superb);
        if (info != 0) {
            snprintf(err, (size_t)errlen, "ITQ iteration %d: SVD failed (LAPACKE_dgesvd info %d)", t + 1, (int)info);
            return -1;
        }
        /* R = U Wt */
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)b, (int)b, (int)b, 1.0, ws->u, (int)b, ws->vt,
                    (int)b, 0.0, ws->r, (int)b);
    }
    /* P = W R [d, b] */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)d, (int)b, (int)b, 1.0f, ws->w, (int)b, ws->rf,
                (int)b, 0.0f, m->proj, (int)b);
    return 0;
}

void baseline_encode(uint8_t *codes, const baseline_model *m, baseline_ws *ws, const float *x, int64_t n) {
    const int64_t d = m->dim, b = m->bits, rb = bits_row_bytes(b);
    CHECK(ws->dim == d && ws->bits == b);
    for (int64_t i0 = 0; i0 < n; i0 += ws->chunk) {
        int64_t cn = n - i0 < ws->chunk ? n - i0 : ws->chunk;
        baseline_centre(ws->xc, x + i0 * d, m->mean, cn, d);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)cn, (int)b, (int)d, 1.0f, ws->xc, (int)d,
                    m->proj, (int)b, 0.0f, ws->z, (int)b);
        bits_pack_signs(codes + i0 * rb, ws->z, cn, b);
    }
}
