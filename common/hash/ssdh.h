/* ssdh.h: the semantic structure of SSDH (Yang, Deng, Liu, Liu, Tao & Gao,
 * IJCAI 2018): a ternary similarity from the distribution of the cosine
 * distances of the training features (docs/baselines.md).
 *
 *   d_ij = 1 - cos(f_i, f_j) over all pairs i < j (in [0, 2]);
 *   m    = the mode: the centre of the fullest of SSDH_BINS equal bins over
 *          [0, 2] (ties: the lower bin);
 *   the distribution is modelled as two half Gaussians meeting at m:
 *   sigma_l^2 = mean (d - m)^2 over the pairs with d < m,
 *   sigma_r^2 = mean (d - m)^2 over the pairs with d > m
 *          (the maximum-likelihood scale of a half normal with location m);
 *   thresholds d_l = m - alpha sigma_l, d_r = m + beta sigma_r;
 *   S_ij = +1 if d_ij <= d_l, -1 if d_ij >= d_r, 0 otherwise (S_ii = +1).
 * Stored as two bit matrices [n, ceil(n/8)] (bits.h layout): sign (bit 1 for
 * S = +1) and mask (bit 1 for S != 0). */
#ifndef DSAH_SSDH_H
#define DSAH_SSDH_H

#include <stdint.h>

#define SSDH_BINS 2048 /* bins of width 1/1024: their centres are exact in float */

typedef struct ssdh_stats {
    double mode, sigma_l, sigma_r, d_l, d_r;
    int64_t pairs, n_left, n_right, n_pos, n_neg; /* over i < j */
} ssdh_stats;

/* The statistics of a list of distances d [count] (the definition above, for
 * tests and for ssdh_similarity). */
void ssdh_stats_of(ssdh_stats *st, const float *d, int64_t count, double alpha, double beta);
/* From features f [n, dim] (rows are normalised inside; an all-zero row has
 * distance 1 to every row): the statistics and, when sign and mask are not
 * NULL, S (both [n, ceil(n/8)], overwritten). Two passes of blocked GEMMs
 * (cblas_sgemm), no n x n matrix in memory. */
void ssdh_similarity(ssdh_stats *st, uint8_t *sign, uint8_t *mask, const float *f, int64_t n, int64_t dim,
                     double alpha, double beta);

#endif
