/* baseline.h: unsupervised hashing baselines on feature vectors.
 *
 * Both methods produce a linear projection: code bits = sgn((x - mean) P)
 * with P [dim, bits] and mean [dim] the training mean; sgn(0) = +1 is bit 1,
 * packed per bits.h. bits must be a multiple of 8 (codes are u1 [n, bits/8],
 * the format of dsah-encode, so there are no padding bits).
 *
 * LSH (sign random projections, Charikar 2002): P has i.i.d. N(0,1) entries
 * from rng.h seeded with seed ^ rng_hash64(BASELINE_PURPOSE_LSH), drawn in
 * row-major order P[0][0], P[0][1], ..., as (float)rng_normal.
 *
 * ITQ (Gong & Lazebnik, CVPR 2011 / TPAMI 2013):
 *   1. centre the training set by its mean;
 *   2. PCA: the `bits` leading eigenvectors W [dim, bits] of Xc^T Xc
 *      (cblas_ssyrk + LAPACKE_ssyevr), ordered by descending eigenvalue, each
 *      signed so that its largest-magnitude component is positive;
 *      V = Xc W [n, bits];
 *   3. R0: the Q factor (LAPACKE_dgeqrf/dorgqr) of a bits x bits Gaussian
 *      matrix from rng.h seeded with seed ^ rng_hash64(BASELINE_PURPOSE_ITQ);
 *   4. `iters` times: B = sgn(V R); R = U Wt where V^T B = U S Wt (SVD,
 *      LAPACKE_dgesvd): the orthogonal Procrustes solution for fixed B.
 *   P = W R. The quantisation loss Q_t = ||sgn(V R_t) - V R_t||_F^2 is
 *   recorded for t = 0..iters (R_t after t updates); alternating
 *   minimisation makes it non-increasing. */
#ifndef DSAH_BASELINE_H
#define DSAH_BASELINE_H

#include <stdint.h>

#define BASELINE_PURPOSE_LSH 0x6c7368ULL /* "lsh" */
#define BASELINE_PURPOSE_ITQ 0x697471ULL /* "itq" */

typedef struct baseline_model {
    int64_t dim;
    int bits, iters;
    float *mean;    /* [dim] */
    float *proj;    /* [dim, bits] */
    double *loss;   /* [iters + 1] ITQ quantisation loss; NULL for LSH */
} baseline_model;

/* Scratch for the fits and the encoder, sized for n training rows. */
typedef struct baseline_ws {
    int64_t n, dim, chunk;
    int bits;
    float *xc;      /* [max(n, chunk), dim] centred rows */
    float *cov;     /* [dim, dim] */
    float *w;       /* [dim, bits] PCA directions */
    float *v;       /* [n, bits] */
    float *z;       /* [max(n, chunk), bits] */
    float *rf;      /* [bits, bits] R as float */
    double *m, *u, *vt, *s, *superb, *r, *tau; /* bits x bits SVD / QR */
    float *eval;    /* [dim] eigenvalues */
    int *isuppz;    /* [2 * bits] */
} baseline_ws;

void baseline_model_alloc(baseline_model *m, int64_t dim, int bits, int iters);
void baseline_model_free(baseline_model *m);
/* n: training rows (0 when only encoding). */
void baseline_ws_alloc(baseline_ws *ws, int64_t n, int64_t dim, int bits);
void baseline_ws_free(baseline_ws *ws);

/* mean [d] of x [n, d], accumulated in double (acc [d] scratch) over rows in order. */
void baseline_column_mean(float *mean, double *acc, const float *x, int64_t n, int64_t d);
/* out [n, d] = x - mean (OpenMP over rows). */
void baseline_centre(float *out, const float *x, const float *mean, int64_t n, int64_t d);
/* PCA of centred rows xc [n, d]: w [d, k] = the k leading eigenvectors of
 * Xc^T Xc (cblas_ssyrk + LAPACKE_ssyevr), by descending eigenvalue, each
 * signed so that its largest-magnitude component is positive; top [k] (may be
 * NULL) their eigenvalues, descending; gram [d, d] (may be NULL) a copy of
 * the upper triangle of Xc^T Xc. Scratch: cov [d, d], evals [d], z [d, k],
 * isuppz [2k]. Returns 0, or -1 with a message in err. */
int baseline_pca(float *w, float *top, float *gram, float *cov, float *evals, float *z, int *isuppz, const float *xc,
                 int64_t n, int64_t d, int k, char *err, int errlen);
/* x [n, dim] row-major. Overwrites m->mean and m->proj. */
void baseline_fit_lsh(baseline_model *m, baseline_ws *ws, const float *x, int64_t n, uint64_t seed);
/* Also fills m->loss[0..iters]. Returns 0, or -1 with a message in err when
 * LAPACK fails (bits > dim is the caller's to reject). */
int baseline_fit_itq(baseline_model *m, baseline_ws *ws, const float *x, int64_t n, uint64_t seed, char *err,
                     int errlen);
/* codes [n, bits/8] packed from x [n, dim]; uses ws->xc and ws->z by chunks. */
void baseline_encode(uint8_t *codes, const baseline_model *m, baseline_ws *ws, const float *x, int64_t n);

#endif
