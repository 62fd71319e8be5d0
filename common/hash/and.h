/* and.h: Adaptive Neighbor Discovery update (paper 4.2.2, Eq. 10-12).
 *
 * Given the real-valued codes z [n, l] of all training points after a round
 * and the similarity matrix W (bit-packed n x n, symmetric, diagonal +1):
 *
 *   s_ij  = cos(z_i, z_j)                                   (Eq. 4)
 *   mu    = mean of s_ij over the pairs with w_ij = +1       (Eq. 11)
 *   sigma = sample standard deviation of the same values (divisor n+ - 1)
 *   m     = mu + gamma * sigma                               (Eq. 10)
 *   w'_ij = +1 if w_ij = -1 and s_ij >= m, else w_ij          (Eq. 12)
 *
 * Which pairs: Eq. 11 sums over i = 1..n and j = 1..n, i.e. all n^2 ordered
 * pairs, the diagonal included, and n+ = sum_ij 1(w_ij = +1) is the same
 * count the paper reports (Figure 7) and W0's n+ in graph/stats.json. So every
 * unordered off-diagonal pair with w = +1 counts twice and each diagonal pair
 * (w_ii = +1 always) counts once with s_ii = 1 exactly (the cosine of a
 * vector with itself; the float rounding of dot(z_i, z_i) is not used).
 * Divisor: the paper's Eq. 11 writes n+, docs/DESIGN.md §Math and the issue fix the
 * sample standard deviation (n+ - 1); since n+ >= n >= 2 it is always defined
 * (an all-+1 W has n+ = n^2, flips nothing, and gives a finite sigma).
 *
 * s_ij is computed once per unordered pair (graph.h: cosine blocks), so
 * s_ij == s_ji and the update keeps W symmetric. Statistics are accumulated
 * per block pair in double (count, mean and sum of squared deviations, from
 * sums shifted by the block's first value, in one pass) and
 * merged in a fixed block order (Chan et al.), so the result does not depend
 * on the thread count. */
#ifndef DSAH_AND_H
#define DSAH_AND_H

#include <stdint.h>

typedef struct and_result {
    double mu, sigma, m;
    int64_t n_plus_before, n_plus_after;
    int64_t flipped;  /* ordered pairs set from -1 to +1 (twice the unordered count) */
} and_result;

/* Per block-pair scratch for and_update: nb * nb of them,
 * nb = sim_nblocks(n, bs). */
typedef struct and_task {
    int64_t count, flips;
    double mean, m2, maxneg;
    int asym;
} and_task;

/* Apply Eq. 10-12. Outputs: wout [n, ceil(n/8)] (overwritten with W plus the
 * flipped pairs), res. Inputs: w [n, ceil(n/8)] (diagonal +1, padding 0:
 * check with bitmat_check_shape first), z [n, l], nrm [n] from
 * sim_row_norms (all rows finite and non-zero). Scratch: tasks [nb*nb],
 * work [threads, bs, bs]. Returns -1, or when W is not symmetric the row i
 * of the first pair (i, j), i < j, with w_ij != w_ji (*asym_j = j); wout and
 * res are then not meaningful. */
int64_t and_update(uint8_t *wout, and_result *res, and_task *tasks, float *work, const uint8_t *w, const float *z,
                   const double *nrm, int64_t n, int64_t l, double gamma, int64_t bs, int threads,
                   int64_t *asym_j);

#endif
