/* baseline_sh.h: Spectral Hashing (Weiss, Torralba & Fergus, NeurIPS 2008),
 * the out-of-sample form of the paper's Sec. 3.1 / Algorithm (docs/baselines.md):
 *
 *   1. PCA: y = (x - mean) P with P [dim, npca] the npca = min(bits, dim)
 *      leading principal directions (baseline_pca: sign convention there);
 *   2. along each direction j fit a uniform distribution on [a_j, b_j], the
 *      training minimum and maximum of y_j;
 *   3. the 1-D eigenfunctions of the uniform distribution are
 *        Phi_k(y) = sin(pi/2 + k pi / (b - a) * (y - a)),  k = 1, 2, ...
 *      with eigenvalue lambda_k = 1 - exp(-eps^2/2 |k pi / (b - a)|^2),
 *      increasing in omega = k pi / (b - a) for every eps, so the `bits`
 *      smallest eigenvalues are the `bits` smallest omega^2 over all (j, k);
 *      ties go to the lower direction j, then the lower k (the order of the
 *      authors' enumeration, direction-major, with a stable sort). Per
 *      direction the candidates are k = 1 .. ceil((bits + 1) R_j / max R),
 *      R_j = b_j - a_j, which always holds the `bits` smallest;
 *   4. bit i = [Phi_{k_i}(y_{j_i}) >= 0] (sgn(0) = +1, as bits.h).
 * Only single-direction eigenfunctions are used (the paper's approximation:
 * products across directions have larger eigenvalues for the code lengths
 * used). */
#ifndef DSAH_BASELINE_SH_H
#define DSAH_BASELINE_SH_H

#include <stdint.h>

typedef struct sh_model {
    int64_t dim;
    int bits, npca;
    float *mean;  /* [dim] */
    float *pc;    /* [dim, npca] */
    float *lo;    /* [npca] a_j */
    float *hi;    /* [npca] b_j */
    int *dir;     /* [bits] j_i */
    int *mode;    /* [bits] k_i >= 1 */
} sh_model;

void sh_model_alloc(sh_model *m, int64_t dim, int bits);
void sh_model_free(sh_model *m);
/* x [n, dim]; n >= 2. Returns 0, or -1 with a message in err (LAPACK failure,
 * a direction with zero range). */
int sh_fit(sh_model *m, const float *x, int64_t n, char *err, int errlen);
/* u [n, bits] = Phi_{k_i}(y_{j_i}) of x [n, dim] (the real-valued codes). */
void sh_eigenfunctions(float *u, const sh_model *m, const float *x, int64_t n);
/* codes [n, bits/8] packed from x [n, dim], by chunks. */
void sh_encode(uint8_t *codes, const sh_model *m, const float *x, int64_t n);

#endif
