/* tsne.h: exact t-SNE (van der Maaten & Hinton, JMLR 2008) for the report's
 * Figure 10, with the optimiser settings of sklearn.manifold.TSNE (exact
 * method): perplexity-calibrated Gaussian conditionals, P = (P + P^T) / 2n,
 * Student-t Q, early exaggeration 12 for 250 iterations with momentum 0.5,
 * then momentum 0.8; gains (+0.2 / x0.8, at least 0.01); learning rate
 * "auto" = max(n / 12 / 4, 50). Seeded: Y starts as N(0, 1e-4^2) draws of
 * util/rng from the seed. O(n^2) time and memory: meant for samples of a
 * few thousand points (TSNE_MAX_N).
 *
 * Deterministic for any thread count: every sum over j is serial per row,
 * rows are reduced in order. */
#ifndef DSAH_TSNE_H
#define DSAH_TSNE_H

#include <stdint.h>

#define TSNE_MAX_N 8000

typedef struct tsne_opts {
    double perplexity;    /* effective neighbours, (0, n - 1) */
    int iters;            /* total iterations (sklearn: 1000) */
    int exag_iters;       /* early exaggeration iterations (250) */
    double exaggeration;  /* 12 */
    double lr;            /* learning rate; <= 0: max(n / exaggeration / 4, 50) */
    uint64_t seed;
} tsne_opts;

void tsne_default_opts(tsne_opts *o);

/* Squared Euclidean distances D2 [n, n] (overwritten) of rows X [n, d]. */
void tsne_sqdist(float *D2, const float *X, int64_t n, int64_t d);

/* Joint probabilities P [n, n] (overwritten, symmetric, zero diagonal, sum 1)
 * from squared distances D2 [n, n]: per row the Gaussian precision found by
 * bisection (100 steps, tolerance 1e-5 on the entropy, as sklearn) so that
 * the conditional's entropy is log(perplexity) (nats). beta [n]: the
 * precisions found (overwritten; may be NULL). */
void tsne_joint_p(float *P, double *beta, const float *D2, int64_t n, double perplexity);

/* KL(P || Q) of the embedding Y [n, 2] and its gradient grad [n, 2]
 * (overwritten), with P scaled by exag (1: the plain objective). */
double tsne_kl_grad(double *grad, const double *Y, const float *P, int64_t n, double exag);

/* Optimise Y [n, 2] (overwritten) for P. scratch: 6 n doubles. Returns the
 * final KL divergence. */
double tsne_run(double *Y, double *scratch, const float *P, int64_t n, const tsne_opts *o);

/* Trustworthiness T(k) (Venna & Kaski 2001; sklearn.manifold.trustworthiness)
 * of embedding Y [n, 2] for input distances D2 [n, n]: ranks of the input
 * neighbours by (distance, index), so ties go by index; k < n / 2. */
double tsne_trustworthiness(const float *D2, const double *Y, int64_t n, int k);

#endif
