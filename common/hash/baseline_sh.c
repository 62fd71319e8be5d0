/* baseline_sh.c: see baseline_sh.h. */
#include "hash/baseline_sh.h"

#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hash/baseline.h"
#include "util/bits.h"
#include "util/util.h"

#define SH_CHUNK 4096

void sh_model_alloc(sh_model *m, int64_t dim, int bits) {
    memset(m, 0, sizeof *m);
    m->dim = dim;
    m->bits = bits;
    m->npca = (int)(bits < dim ? bits : dim);
    m->mean = xcalloc((size_t)dim, sizeof(float));
    m->pc = xcalloc((size_t)(dim * m->npca), sizeof(float));
    m->lo = xcalloc((size_t)m->npca, sizeof(float));
    m->hi = xcalloc((size_t)m->npca, sizeof(float));
    m->dir = xcalloc((size_t)bits, sizeof(int));
    m->mode = xcalloc((size_t)bits, sizeof(int));
}

void sh_model_free(sh_model *m) {
    free(m->mean);
    free(m->pc);
    free(m->lo);
    free(m->hi);
    free(m->dir);
    free(m->mode);
    memset(m, 0, sizeof *m);
}

typedef struct sh_cand {
    double omega2;
    int dir, mode;
} sh_cand;

static int cand_cmp(const void *a, const void *b) {
    const sh_cand *x = a, *y = b;
    if (x->omega2 != y->omega2) return x->omega2 < y->omega2 ? -1 : 1;
    if (x->dir != y->dir) return x->dir < y->dir ? -1 : 1;
    return (x->mode > y->mode) - (x->mode < y->mode);
}

int sh_fit(sh_model *m, const float *x, int64_t n, char *err, int errlen) {
    const int64_t d = m->dim;
    const int p = m->npca, b = m->bits;
    CHECK(n >= 2);
    float *xc = xaligned(sizeof(float) * (size_t)(n * d)), *cov = xaligned(sizeof(float) * (size_t)(d * d));
    float *evals = xaligned(sizeof(float) * (size_t)d), *z = xaligned(sizeof(float) * (size_t)(d * p));
    float *y = xaligned(sizeof(float) * (size_t)(n * p));
    int *isuppz = xaligned(sizeof(int) * (size_t)(2 * p));
    int rc = -1;
    double *acc = xmalloc(sizeof(double) * (size_t)d);
    baseline_column_mean(m->mean, acc, x, n, d);
    free(acc);
    baseline_centre(xc, x, m->mean, n, d);
    if (baseline_pca(m->pc, NULL, NULL, cov, evals, z, isuppz, xc, n, d, p, err, errlen) != 0) goto out;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n, p, (int)d, 1.0f, xc, (int)d, m->pc, p, 0.0f, y, p);
    double rmax = 0;
    for (int j = 0; j < p; j++) {
        float lo = y[j], hi = y[j];
        for (int64_t i = 1; i < n; i++) {
            float v = y[i * p + j];
            if (v < lo) lo = v;
            if (v > hi) hi = v;
        }
        m->lo[j] = lo;
        m->hi[j] = hi;
        if (!(hi > lo)) {
            snprintf(err, (size_t)errlen, "spectral hashing: principal direction %d has zero range (constant data)", j);
            goto out;
        }
        if (hi - lo > rmax) rmax = hi - lo;
    }
    /* candidates: k = 1 .. ceil((b + 1) R_j / max R) per direction */
    int64_t nc = 0;
    for (int j = 0; j < p; j++) nc += (int64_t)ceil((b + 1) * ((double)m->hi[j] - m->lo[j]) / rmax);
    sh_cand *c = xmalloc(sizeof(sh_cand) * (size_t)nc);
    int64_t t = 0;
    for (int j = 0; j < p; j++) {
        double r = (double)m->hi[j] - m->lo[j];
        int kmax = (int)ceil((b + 1) * r / rmax);
        for (int k = 1; k <= kmax; k++) {
            double om = k * M_PI / r;
            c[t++] = (sh_cand){om * om, j, k};
        }
    }
    CHECK(t == nc && nc >= b); /* the widest direction alone offers b + 1 */
    qsort(c, (size_t)nc, sizeof *c, cand_cmp);
    for (int i = 0; i < b; i++) {
        m->dir[i] = c[i].dir;
        m->mode[i] = c[i].mode;
    }
    free(c);
    rc = 0;
out:
    free(xc);
    free(cov);
    free(evals);
    free(z);
    free(y);
    free(isuppz);
    return rc;
}

/* u [cn, bits] from the PCA projections y [cn, npca] */
static void eigenfunctions_from_pca(float *u, const sh_model *m, const float *y, int64_t cn) {
    const int p = m->npca, b = m->bits;
    for (int64_t i = 0; i < cn; i++)
        for (int k = 0; k < b; k++) {
            int j = m->dir[k];
            double om = m->mode[k] * M_PI / ((double)m->hi[j] - m->lo[j]);
            u[i * b + k] = (float)sin(M_PI / 2 + om * ((double)y[i * p + j] - m->lo[j]));
        }
}

/* codes (packed) or u (real) for x [n, dim], one of them NULL */
static void sh_apply(uint8_t *codes, float *u, const sh_model *m, const float *x, int64_t n) {
    const int64_t d = m->dim, rb = bits_row_bytes(m->bits);
    const int p = m->npca, b = m->bits;
    int64_t chunk = n < SH_CHUNK ? (n > 0 ? n : 1) : SH_CHUNK;
    float *xc = xaligned(sizeof(float) * (size_t)(chunk * d)), *y = xaligned(sizeof(float) * (size_t)(chunk * p));
    float *uc = codes ? xaligned(sizeof(float) * (size_t)(chunk * b)) : NULL;
    for (int64_t i0 = 0; i0 < n; i0 += chunk) {
        int64_t cn = n - i0 < chunk ? n - i0 : chunk;
        baseline_centre(xc, x + i0 * d, m->mean, cn, d);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)cn, p, (int)d, 1.0f, xc, (int)d, m->pc, p, 0.0f,
                    y, p);
        if (codes) {
            eigenfunctions_from_pca(uc, m, y, cn);
            bits_pack_signs(codes + i0 * rb, uc, cn, b);
        } else {
            eigenfunctions_from_pca(u + i0 * b, m, y, cn);
        }
    }
    free(xc);
    free(y);
    free(uc);
}

void sh_eigenfunctions(float *u, const sh_model *m, const float *x, int64_t n) { sh_apply(NULL, u, m, x, n); }

void sh_encode(uint8_t *codes, const sh_model *m, const float *x, int64_t n) { sh_apply(codes, NULL, m, x, n); }
