/* baseline_sp.h: Sparse Projections (Xia, He, Kohli & Wang, CVPR 2015):
 * binary codes sgn((x - mean) W) from a projection W [dim, bits] with at most
 * t = round(density * dim * bits) non-zeros (docs/baselines.md):
 *
 *   min_{B, W}  J(B, W) = (1/n) ||B - Xc W||_F^2 + lambda ||W^T W - I||_F^2
 *   s.t.        B in {-1, +1}^{n x bits},  ||W||_0 <= t,
 *
 * by alternation from W_0 = the ℓ0-projection of the PCA directions:
 *   B-step  B = sgn(Xc W)                 (exact minimiser for fixed W);
 *   W-step  W' = H_t(W - eta grad_W J)     (ℓ0-projected gradient, H_t keeps
 *           the t largest |w_ij|, ties to the lower row-major index), eta from
 *           1 / (2 s_1 + 12 lambda) (s_1 the top eigenvalue of C = Xc^T Xc / n)
 *           halved until J does not increase (at most 40 halvings; W kept
 *           otherwise).
 * With C and P = Xc^T B / n, J = tr(W^T C W) - 2 tr(W^T P) + bits
 * + lambda ||W^T W - I||^2 and grad_W J = 2 (C W - P) + 4 lambda W (W^T W - I).
 * loss[t] = J(sgn(Xc W_t), W_t), t = 0..iters: non-increasing. */
#ifndef DSAH_BASELINE_SP_H
#define DSAH_BASELINE_SP_H

#include <stdint.h>

#include "hash/baseline.h"

/* m: baseline_model_alloc(m, dim, bits, iters); bits <= dim. Fills m->mean,
 * m->proj (sparse) and m->loss. Encode with baseline_encode. Returns 0, or -1
 * with a message in err. */
int sp_fit(baseline_model *m, const float *x, int64_t n, double density, double lambda, char *err, int errlen);
/* J as above from C [d, d] (upper triangle), P [d, b] and W [d, b]. */
double sp_objective(const float *c, const float *p, const float *w, int64_t d, int b, double lambda);
/* w [d, b] := H_t(w): zero all but the t largest |w| (ties: lower index). */
void sp_keep_largest(float *w, int64_t count, int64_t t);

#endif
