/* graph.h: the similarity side of DSAH (paper 4.2.1, docs/DESIGN.md
 * §Math): blocked cosine similarity, W_L (k1-NN by cosine), W_H (top-k2
 * by neighbour overlap), W0 = W_L AND W_H made symmetric with diagonal +1, the
 * packed n x n bit matrices, and the label-agreement statistics F_w, alpha,
 * beta (paper 5.4.2, Figure 7). The AND update lives in and.h and uses the
 * cosine machinery declared here.
 *
 * Cosine. s_ij = dot(x_i, x_j) / (|x_i| |x_j|): the dot product is a float
 * cblas_sgemm over a fixed blocking of the rows (independent of the thread
 * count), the norms are double sqrt(sum x^2) and the division is done in
 * double. This is the cosine of the L2-normalised rows, computed so that
 * (a) every pair gets one value, s_ij == s_ji bitwise (only blocks I <= J are
 * computed, and in diagonal blocks only j > i), (b) duplicate or
 * power-of-two-scaled rows tie exactly, and (c) integer-valued features small
 * enough for float to sum exactly give exactly the double-precision cosine,
 * so tests can compare against a plain double brute force bit for bit.
 * For real-valued features the float dot products depend on sgemm's
 * summation order, i.e. on the block shape and on the BLAS kernel picked at
 * run time: cosines closer than float rounding may then order either way
 * (different machines may give W_L sets that differ at such near-ties).
 *
 * Block pairs (I, J), I <= J, are visited in rounds of a round-robin
 * tournament (circle method): within a round no two pairs share a row block,
 * so a callback may update the per-row state of both I and J without locks.
 * OpenMP runs the pairs of one round in parallel; OpenBLAS is set to one
 * thread, so each sgemm runs in its caller's thread and the BLAS calls, with
 * their shapes, are the same for any --threads: the output is byte-identical
 * for any thread count on one machine.
 *
 * Bit matrices: u1 [n, ceil(n/8)], bit j of row i in byte j/8, bit j%8
 * (bits.h layout), 1 = similar (+1). Padding bits are 0. */
#ifndef DSAH_GRAPH_H
#define DSAH_GRAPH_H

#include <stdint.h>

/* ---- cosine blocks --------------------------------------------------------- */

/* Row norms nrm [n] = sqrt(sum_k x_ik^2) in double, x [n, d]. Returns the
 * index of the first row that is not finite or is all zero, -1 when all rows
 * are usable. */
int64_t sim_row_norms(double *nrm, const float *x, int64_t n, int64_t d);

/* sim_row_norms for rows read from `path`: dies naming the file, the row and,
 * for a value that is not finite, the column ("<path>: row 17, column 3 is
 * NaN", "<path>: row 5 is all zero (its cosine is undefined)"). */
void sim_row_norms_check(double *nrm, const float *x, int64_t n, int64_t d, const char *path);

/* Callback for one block pair: rows i0..i0+ni-1 against j0..j0+nj-1; dot
 * [ni, nj] row-major holds the float dot products. For a diagonal block
 * (i0 == j0) only entries with column > row are meaningful to use. tid is the
 * OpenMP thread number (for per-thread scratch); task is the block-pair id
 * I * nb + J. */
typedef void (*sim_block_fn)(void *ctx, int tid, int64_t task, int64_t i0, int64_t ni, int64_t j0, int64_t nj,
                             const float *dot);
/* Optional filter: return 0 to skip block pair (I, J) without computing it. */
typedef int (*sim_want_fn)(void *ctx, int64_t task);

/* Number of row blocks of size bs covering n rows. */
static inline int64_t sim_nblocks(int64_t n, int64_t bs) { return (n + bs - 1) / bs; }
/* Floats of scratch sim_blocks needs: one bs x bs block per thread. */
static inline int64_t sim_work_floats(int64_t bs, int threads) { return bs * bs * (int64_t)threads; }

/* Visit every block pair I <= J of x [n, d] (rows of bs) in tournament
 * rounds: first all diagonal blocks, then nb' - 1 rounds of disjoint pairs
 * (nb' = nb rounded up to even). work [threads, bs, bs] scratch; threads is
 * the OpenMP team size (>= 1). Progress on stderr under `label` (NULL:
 * none). Deterministic for any thread count. */
void sim_blocks(float *work, const float *x, int64_t n, int64_t d, int64_t bs, int threads, sim_block_fn fn,
                sim_want_fn want, void *ctx, const char *label);

/* Cosine of one pair from its float dot product and the double norms. The one
 * formula every user (and the tests' brute force) applies. */
static inline double sim_cos(float dot, double ni, double nj) { return (double)dot / (ni * nj); }

/* Default row-block size: 512 rows (sgemm efficiency vs scratch), fewer for
 * small n so that small inputs still exercise several blocks in tests. */
int64_t sim_default_block(int64_t n);

/* ---- W_L: k-NN by cosine --------------------------------------------------- */

/* Per-row candidate buffers for graph_knn: cap = 2k candidates per row
 * (v [n, cap] double, j [n, cap] int32, m [n] fill) and the row's current
 * threshold (tv, tj [n]: the k-th best kept so far). */
typedef struct knn_buf {
    double *v, *tv;
    int32_t *j, *m, *tj;
    int64_t cap;
} knn_buf;
void knn_buf_alloc(knn_buf *b, int64_t n, int64_t k);
void knn_buf_free(knn_buf *b);

/* wl [n, k] (int32, overwritten): for each row the k other rows of highest
 * cosine, in descending cosine, ties by ascending index; self excluded.
 * x [n, d], nrm from sim_row_norms. Requires 1 <= k < n. buf from
 * knn_buf_alloc(n, k); work as for sim_blocks. */
void graph_knn(int32_t *wl, knn_buf *buf, float *work, const float *x, const double *nrm, int64_t n, int64_t d,
               int64_t k, int64_t bs, int threads);

/* ---- W_H and W0 -------------------------------------------------------------- */

/* |{w = +1} ∩ {same label}| of W_L and W_H (W0's is bitmat_same_count of
 * the finished matrix). Zero when no labels are given. */
typedef struct graph_counts {
    int64_t tp_wl, tp_wh;
} graph_counts;

/* Label sets as bit masks: mask [n, words] u64, bit c = label c. */
typedef struct label_sets {
    int64_t n;
    int words;
    uint64_t *mask;
} label_sets;

/* W_H and W0 from wl [n, k1]. Overlap o_ij = |N_i ∩ N_j| is counted row by
 * row through inverted neighbour lists (never an n x n count matrix); W_H row
 * i = the k2 rows j != i of largest overlap, ties by ascending index (the
 * order of 1/(1+|(W_L)_i - (W_L)_j|)). W0 = +1 where W_L and W_H are both
 * +1, then symmetric (+1 if either direction is) and diagonal +1.
 * Outputs: w0 [n, ceil(n/8)] (overwritten), counts (label agreement of W_L
 * and W_H when labels != NULL, else zeros). Scratch: a0 [n, k1] int32,
 * a0n [n] int32, order [n] int32, inv [n*k1] int32, invoff [n+1] int64,
 * cnt [threads, n] counters of cnt_bytes each (graph_cnt_bytes(k1): 2 when
 * k1 <= 65535, which keeps a row's counters in L1 cache, else 4; 4 is always
 * valid), hist [threads, k1+1] int64. Requires 1 <= k2 < n. */
void graph_w0(uint8_t *w0, graph_counts *counts, int32_t *a0, int32_t *a0n, int32_t *order, int32_t *inv,
              int64_t *invoff, void *cnt, int cnt_bytes, int64_t *hist, const int32_t *wl, const label_sets *labels, int64_t n,
              int64_t k1, int64_t k2, int threads);
/* Bytes per overlap counter graph_w0 needs for k1 neighbours. */
int graph_cnt_bytes(int64_t k1);

/* ---- bit matrices ------------------------------------------------------------- */

/* Number of set bits of w [n, ceil(n/8)] (n+ of a W matrix). */
int64_t bitmat_count(const uint8_t *w, int64_t n);
/* First row i whose diagonal bit is 0, or whose padding bits are not 0; -1
 * when none. *what is set to "diagonal" or "padding". */
int64_t bitmat_check_shape(const uint8_t *w, int64_t n, const char **what);

/* ---- labels and F_w ----------------------------------------------------------- */

/* Masks of the rows idx [n] of a multi-hot u1 [N, L] label matrix. Returns
 * -1 on success, else the position in idx of the first out-of-range index.
 * out->mask is xmalloc'ed (free it with label_sets_free). */
int64_t label_sets_build(label_sets *out, const uint8_t *labels, int64_t N, int64_t L, const int64_t *idx, int64_t n);
/* label_sets_build from the files: labels u1 [N, L] and indices i8 [n] (n
 * must match: the rows of `rows_of`); dies naming the file on a shape or an
 * index out of range. */
void label_sets_load(label_sets *out, const char *labels_path, const char *indices_path, int64_t n,
                     const char *rows_of);
void label_sets_free(label_sets *ls);
/* Same label: rows i and j share at least one label. */
static inline int label_same(const label_sets *ls, int64_t i, int64_t j) {
    const uint64_t *a = ls->mask + i * ls->words, *b = ls->mask + j * ls->words;
    for (int w = 0; w < ls->words; w++)
        if (a[w] & b[w]) return 1;
    return 0;
}
/* |{(i, j) : same label}| over all n^2 ordered pairs, the diagonal included
 * (a row with no label is not "same" as itself). Counted over the distinct
 * masks, so it costs O(D^2) for D distinct label sets, not O(n^2). */
int64_t label_same_pairs(const label_sets *ls);
/* |{w = +1} ∩ {same label}| of a bit matrix. */
int64_t bitmat_same_count(const uint8_t *w, const label_sets *ls, int threads);

/* alpha = tp / npos, beta = tp / nsame, F_w = 2 / (1/alpha + 1/beta)
 * (= 2 alpha beta / (alpha + beta); 0 when tp = 0). A zero denominator gives
 * NaN for that ratio (written as null in JSON) and NaN F_w. */
void fw_score(double *alpha, double *beta, double *fw, int64_t tp, int64_t npos, int64_t nsame);

#endif
