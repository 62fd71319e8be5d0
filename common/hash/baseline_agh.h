/* baseline_agh.h: Anchor Graph Hashing (Liu, Wang, Kumar & Chang, ICML 2011),
 * one-layer (1-AGH) and two-layer (2-AGH); equations in docs/baselines.md.
 *
 *   1. m anchors u_j: k-means on the training rows (Lloyd, `kmeans_iters`
 *      iterations from m distinct training rows drawn with rng.h seeded by
 *      seed ^ rng_hash64(AGH_PURPOSE_KMEANS); an empty cluster keeps its
 *      centre);
 *   2. Z [n, m]: row i has s non-zeros at its s nearest anchors (squared
 *      Euclidean distance, ties to the lower anchor index), the Gaussian
 *      kernel exp(-D^2(x_i, u_j) / t) normalised to sum 1 (paper's Z_ij);
 *      t = sigma^2 with sigma the mean over training rows of the distance to
 *      their s-th nearest anchor (the authors' code; --sigma overrides);
 *   3. Lambda = diag(Z^T 1); M = Lambda^-1/2 Z^T Z Lambda^-1/2 [m, m]
 *      less the trivial eigenpair (v0 = Lambda^1/2 1 / sqrt(n), s = 1)
 *      (LAPACKE_dsyevd); the eigenpairs (v_k, s_k) with s_k > 1e-9, by
 *      descending s_k, the first r kept (a graph with several components
 *      keeps its other eigenvectors of eigenvalue 1: the authors' code drops
 *      every s_k >= 1 - 1e-3 instead, which loses exactly those);
 *   4. W = sqrt(n) Lambda^-1/2 V_r S_r^-1/2 [m, r]; y(x) = z(x) W, whose
 *      training values are the eigenvectors of the anchor graph
 *      A = Z Lambda^-1 Z^T with y^T y = n;
 *   5. 1-AGH: r = bits, bit k = [y_k >= 0].
 *      2-AGH: r = bits/2; bits 0..r-1 are [y_k >= 0], bits r..2r-1 the second
 *      layer: [y_k - b+_k >= 0] where y_k >= 0, [-y_k + b-_k >= 0] where not,
 *      with (b+, b-) minimising f^T (I - A) f subject to 1^T f = 0, for
 *      f = |y| - b+ 1+ + b- 1- on the training set (closed form in the .c). */
#ifndef DSAH_BASELINE_AGH_H
#define DSAH_BASELINE_AGH_H

#include <stdint.h>

#define AGH_PURPOSE_KMEANS 0x6167686bULL /* "aghk" */

typedef struct agh_model {
    int64_t dim;
    int bits, layers, anchors, nearest, r;
    float sigma;
    float *anchor;  /* [anchors, dim] */
    float *w;       /* [anchors, r] */
    float *thres;   /* [2, r]: b+ then b- (2-AGH) */
    double *eig;    /* [r] s_k kept, descending */
} agh_model;

/* layers 1: r = bits; layers 2: r = bits / 2 (bits even). */
void agh_model_alloc(agh_model *m, int64_t dim, int bits, int layers, int anchors, int nearest);
void agh_model_free(agh_model *m);

/* Lloyd's k-means: centres [k, d] from x [n, d], `iters` iterations from k
 * distinct rows drawn by rng seeded with `seed`. inertia [iters + 1] (may be
 * NULL): sum of squared distances to the nearest centre before each update
 * and after the last (non-increasing). */
void agh_kmeans(float *centres, double *inertia, const float *x, int64_t n, int64_t d, int k, int iters,
                uint64_t seed);

/* Z rows: idx [n, s] anchor indices by ascending distance, val [n, s] kernel
 * weights summing to 1, for x [n, d]. dist_s [n] (may be NULL): distance
 * (not squared) to the s-th nearest anchor. sigma <= 0: val unused
 * (only idx and dist_s are filled). */
void agh_anchor_weights(int32_t *idx, float *val, float *dist_s, const float *x, int64_t n, const float *anchor,
                        int64_t d, int m, int s, float sigma);

/* Fits on x [n, dim]; sigma <= 0 estimates it. Returns 0, or -1 with a
 * message in err (fewer than r usable eigenvectors, LAPACK failure). */
int agh_fit(agh_model *m, const float *x, int64_t n, int kmeans_iters, float sigma, uint64_t seed, char *err,
            int errlen);
/* Fit with given anchors [anchors, dim] (copied into m): steps 2-5. */
int agh_fit_anchors(agh_model *m, const float *x, int64_t n, const float *anchor, float sigma, char *err, int errlen);
/* y [n, r] = z(x) W (the spectral embedding of x). */
void agh_embed(float *y, const agh_model *m, const float *x, int64_t n);
/* codes [n, bits/8] of x [n, dim]. */
void agh_encode(uint8_t *codes, const agh_model *m, const float *x, int64_t n);

#endif
