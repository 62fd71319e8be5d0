/* pairs.h: the batch of the report's Figure 5 (dsah-pairs): which items,
 * in which order, and the mean s_ij and a_ij over its kinds of pairs. The
 * values s and a themselves come from the loss (nn/loss.h). */
#ifndef DSAH_REPORT_PAIRS_H
#define DSAH_REPORT_PAIRS_H

#include <stdint.h>

/* The class of row `row` of multi-hot labels u1 [N, ncols]: its first
 * label, -1 when it has none (dsah-tsne's and dsah-pairs' class column). */
int first_label(const uint8_t *labels, int64_t ncols, int64_t row);

/* rows [B] (overwritten): B distinct rows of 0..n-1 drawn with seed,
 * ordered by (cls[row], row), so that a heatmap shows classes as blocks.
 * cls [n]. */
void pairs_draw(int64_t *rows, int64_t n, int B, const int *cls, uint64_t seed);

/* Means of s and a [B,B] over the diagonal (index 0), the same-class (1)
 * and the different-class pairs (2) of a batch whose item i has class
 * cls_b[i]; cnt: the pairs of each kind (a mean of no pairs is 0). */
void pairs_class_means(double mean_s[3], double mean_a[3], int64_t cnt[3], const float *s, const float *a,
                       const int *cls_b, int B);

#endif
