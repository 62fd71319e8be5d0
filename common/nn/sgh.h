/* sgh.h: Stochastic Generative Hashing (Dai, Guo, Kumar, He & Song, ICML
 * 2017) on feature vectors, trained with the project's fc layers and Adam
 * (docs/baselines.md).
 *
 * Model, on centred features x (the training mean subtracted):
 *   encoder  q(h | x) = Bernoulli(p),  p = sigmoid(z),  z = x We^T + be
 *            (an fc layer, We [bits, d], be [bits]);
 *   neuron   h = [p >= xi], xi ~ U(0, 1) per unit (the stochastic binary
 *            neuron), h in {0, 1};
 *   decoder  p(x | h) = N(h Wd^T + bd, rho^2 I)  (an fc layer, Wd [d, bits]);
 *   prior    p(h) = Bernoulli(1/2).
 * Loss of a batch of B rows (the negative evidence lower bound per row, up to
 * constants):
 *   l = (1/B) sum_i [ ||x_i - xhat_i||^2 / (2 rho^2)
 *                     + sum_k (p_ik log p_ik + (1 - p_ik) log(1 - p_ik) + log 2) ]
 * (the second term is KL(q || p(h))).
 * Gradient: exact for the decoder and the KL term; through the neuron, the
 * estimator of SGH's distributional derivative as the authors' code applies
 * it, dl/dz = p (1 - p) (dl/dh + dl/dp): the derivative of the sample loss
 * with h replaced by h + (p(theta) - p(theta_0)) (tests/t_sgh.c checks it
 * against finite differences of that function).
 * Codes: bit k = [p_k >= 1/2] = [z_k >= 0] (the deterministic encoder). */
#ifndef DSAH_SGH_H
#define DSAH_SGH_H

#include <stdint.h>

#include "nn/activations.h"

#define SGH_PURPOSE_INIT 0x73676869ULL  /* "sghi" */
#define SGH_PURPOSE_ORDER 0x7367686fULL /* "sgho" */
#define SGH_PURPOSE_NOISE 0x7367686eULL /* "sghn" */
#define SGH_TEAM_WORK (1LL << 24)        /* batch x d x bits from which sgh_fit uses threads */

/* xi [count]: the uniforms of the stochastic neurons of one step, unit j
 * drawing rng_hash_uniform(rng_hash64((noise ^ rng_hash64(step)) + j)) (the
 * per-element pattern of rng.h, as dropout): independent across units,
 * rows and steps. */
void sgh_noise(float *xi, int64_t count, uint64_t noise, uint64_t step);

/* Parameter layout in one flat buffer: We [b, d], be [b], Wd [d, b], bd [d]. */
static inline int64_t sgh_nparams(int64_t d, int b) { return 2 * d * b + b + d; }

/* Stochastic binary neuron, forward: p [n] = sigmoid(z), h [n] = [p >= xi]. */
void sgh_neuron_forward(real *h, real *p, const real *z, const real *xi, int64_t n);
/* Backward: dz [n] = p (1 - p) (dh + dp) (overwritten; dp may be NULL). */
void sgh_neuron_backward(real *dz, const real *p, const real *dh, const real *dp, int64_t n);

/* The batch loss of the whole model (encoder fc, neuron, decoder fc, loss) as
 * a forward/backward pair over one workspace of sgh_batch_ws(B, d, b) reals,
 * laid out as z, p, h, dh, dz [B, b] then xr, dxr [B, d] (xr: the decoder's
 * reconstruction; dh, dz and dxr are the backward pass's scratch). */
int64_t sgh_batch_ws(int B, int64_t d, int b);
/* Returns the loss of batch x [B, d] (centred) with noise xi [B, b]; writes
 * z, p, h and xr into ws. */
double sgh_batch_forward(real *ws, const real *params, const real *x, const real *xi, int B, int64_t d, int b,
                         double rho2);
/* grad [nparams] overwritten with the SGH gradient of the loss; ws as the
 * forward of the same params, x left it; the other arguments as given to it. */
void sgh_batch_backward(real *grad, real *ws, const real *params, const real *x, int B, int64_t d, int b,
                        double rho2);

#ifndef DSAH_REAL_DOUBLE
typedef struct sgh_model {
    int64_t dim;
    int bits, epochs;
    double rho2;
    float *mean;    /* [dim] */
    float *params;  /* [sgh_nparams] */
    double *loss;   /* [epochs + 1]: mean batch loss before training, then after each epoch */
} sgh_model;

void sgh_model_alloc(sgh_model *m, int64_t dim, int bits, int epochs);
void sgh_model_free(sgh_model *m);
/* Fits on x [n, dim]: rho^2 = the mean per-dimension variance of the
 * training set; We ~ N(0, 1/d), Wd ~ N(0, 1/bits) from rng seeded with
 * seed ^ rng_hash64(SGH_PURPOSE_INIT), biases 0; `epochs` passes in an order
 * shuffled per epoch, batches of `batch`, Adam (eps 1e-8) at lr; xi by
 * sgh_noise(., seed ^ rng_hash64(SGH_PURPOSE_NOISE), step). Threads: the
 * caller's OpenMP threads when batch x dim x bits >= SGH_TEAM_WORK, else one. */
void sgh_fit(sgh_model *m, const float *x, int64_t n, int batch, double lr, uint64_t seed);
/* codes [n, bits/8] of x [n, dim]. */
void sgh_encode(uint8_t *codes, const sgh_model *m, const float *x, int64_t n);
#endif

#endif
