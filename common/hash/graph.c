/* graph.c: see graph.h. */
#define _GNU_SOURCE
#include "hash/graph.h"

#include <cblas.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "format/npy.h"
#include "util/bits.h"
#include "util/check.h"
#include "util/util.h"

/* ---- cosine blocks --------------------------------------------------------- */

int64_t sim_row_norms(double *nrm, const float *x, int64_t n, int64_t d) {
    int64_t bad = -1;
    for (int64_t i = 0; i < n; i++) {
        const float *r = x + i * d;
        double s = 0.0;
        int finite = 1;
        for (int64_t k = 0; k < d; k++) {
            if (!isfinite(r[k])) finite = 0;
            s += (double)r[k] * (double)r[k];
        }
        nrm[i] = sqrt(s);
        if (bad < 0 && (!finite || !(nrm[i] > 0.0) || !isfinite(nrm[i]))) bad = i;
    }
    return bad;
}

void sim_row_norms_check(double *nrm, const float *x, int64_t n, int64_t d, const char *path) {
    const int64_t bad = sim_row_norms(nrm, x, n, d);
    if (bad < 0) return;
    const float *r = x + bad * d;
    for (int64_t k = 0; k < d; k++)
        if (!isfinite(r[k]))
            die("%s: row %lld, column %lld is %s", path, (long long)bad, (long long)k, isnan(r[k]) ? "NaN" : "infinite");
    die("%s: row %lld is all zero (its cosine is undefined)", path, (long long)bad);
}

int64_t sim_default_block(int64_t n) {
    int64_t bs = 512;
    while (bs > 16 && n < 4 * bs) bs /= 2;
    return bs;
}

/* Block pair of slot t in round r (round 0: the diagonal blocks). Returns 0
 * when the slot pairs a block with the dummy of an odd block count. */
static int tournament_pair(int64_t *BI, int64_t *BJ, int64_t r, int64_t t, int64_t nb) {
    if (r == 0) { *BI = *BJ = t; return 1; }
    int64_t nbe = nb + (nb & 1), m = nbe - 1, rr = r - 1, a, b;
    if (t == 0) { a = rr; b = nbe - 1; }
    else { a = (rr + t) % m; b = (rr - t + m) % m; }
    if (a >= nb || b >= nb) return 0;
    *BI = a < b ? a : b;
    *BJ = a < b ? b : a;
    return 1;
}

void sim_blocks(float *work, const float *x, int64_t n, int64_t d, int64_t bs, int threads, sim_block_fn fn,
                sim_want_fn want, void *ctx, const char *label) {
    int64_t nb = sim_nblocks(n, bs), nbe = nb + (nb & 1);
    int64_t rounds = nbe; /* the diagonal round + nbe - 1 rounds of pairs */
    int blas_threads = openblas_get_num_threads();
    /* One BLAS thread per caller: the sgemm of a block then has the same
     * summation order whatever the OpenMP team size. */
    openblas_set_num_threads(1);
    progress pr;
    if (label) progress_begin(&pr, label, rounds);
    for (int64_t r = 0; r < rounds; r++) {
        int64_t ntask = r == 0 ? nb : nbe / 2;
#pragma omp parallel for num_threads(threads) schedule(dynamic, 1)
        for (int64_t t = 0; t < ntask; t++) {
            int64_t BI, BJ;
            if (!tournament_pair(&BI, &BJ, r, t, nb)) continue;
            int64_t task = BI * nb + BJ;
            if (want && !want(ctx, task)) continue;
            int tid = omp_get_thread_num();
            float *S = work + (int64_t)tid * bs * bs;
            int64_t i0 = BI * bs, j0 = BJ * bs;
            int64_t ni = n - i0 < bs ? n - i0 : bs, nj = n - j0 < bs ? n - j0 : bs;
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)ni, (int)nj, (int)d, 1.0f, x + i0 * d, (int)d,
                        x + j0 * d, (int)d, 0.0f, S, (int)nj);
            fn(ctx, tid, task, i0, ni, j0, nj, S);
        }
        if (label) progress_update(&pr, r + 1);
    }
    if (label) progress_end(&pr);
    openblas_set_num_threads(blas_threads);
}

/* ---- W_L ------------------------------------------------------------------------ */

/* Candidate a = (va, ja) is better than b: higher cosine, ties by lower index. */
static inline int better(double va, int32_t ja, double vb, int32_t jb) { return va > vb || (va == vb && ja < jb); }

/* Min-heap of size m whose root is the worst entry. */
static void heap_sift_down(double *v, int32_t *ix, int64_t m, int64_t p) {
    for (;;) {
        int64_t c = 2 * p + 1;
        if (c >= m) break;
        if (c + 1 < m && better(v[c], ix[c], v[c + 1], ix[c + 1])) c++; /* c = the worse child */
        if (!better(v[p], ix[p], v[c], ix[c])) break;
        double tv = v[p]; v[p] = v[c]; v[c] = tv;
        int32_t tj = ix[p]; ix[p] = ix[c]; ix[c] = tj;
        p = c;
    }
}

/* Per-row candidate buffers: a row keeps up to cap = 2k candidates, accepts
 * only candidates better than its threshold (the k-th best of the last
 * compaction), and when full keeps its k best by quickselect. The k best
 * under the strict order `better` form a unique set, so the result does not
 * depend on the order candidates arrive in. */
void knn_buf_alloc(knn_buf *b, int64_t n, int64_t k) {
    b->cap = 2 * k;
    b->v = xmalloc((size_t)(n * b->cap) * sizeof *b->v);
    b->j = xmalloc((size_t)(n * b->cap) * sizeof *b->j);
    b->m = xmalloc((size_t)n * sizeof *b->m);
    b->tv = xmalloc((size_t)n * sizeof *b->tv);
    b->tj = xmalloc((size_t)n * sizeof *b->tj);
}

void knn_buf_free(knn_buf *b) {
    free(b->v); free(b->j); free(b->m); free(b->tv); free(b->tj);
    memset(b, 0, sizeof *b);
}

static inline void swap_cand(double *v, int32_t *ix, int64_t a, int64_t b) {
    double tv = v[a]; v[a] = v[b]; v[b] = tv;
    int32_t tj = ix[a]; ix[a] = ix[b]; ix[b] = tj;
}

/* Reorder v, ix [m] so that position t holds the (t+1)-th best and every
 * earlier position a better candidate (Hoare quickselect, median of three). */
static void select_best(double *v, int32_t *ix, int64_t m, int64_t t) {
    int64_t lo = 0, hi = m - 1;
    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        if (better(v[mid], ix[mid], v[lo], ix[lo])) swap_cand(v, ix, mid, lo);
        if (better(v[hi], ix[hi], v[lo], ix[lo])) swap_cand(v, ix, hi, lo);
        if (better(v[hi], ix[hi], v[mid], ix[mid])) swap_cand(v, ix, hi, mid);
        double pv = v[mid];
        int32_t pj = ix[mid];
        int64_t a = lo, b = hi;
        while (a <= b) {
            while (better(v[a], ix[a], pv, pj)) a++;
            while (better(pv, pj, v[b], ix[b])) b--;
            if (a <= b) { swap_cand(v, ix, a, b); a++; b--; }
        }
        if (t <= b) hi = b;
        else if (t >= a) lo = a;
        else break;
    }
}

typedef struct knn_ctx {
    knn_buf *b;
    const double *nrm;
    int64_t k;
} knn_ctx;

static inline void offer(knn_buf *B, int64_t k, int64_t r, double s, int32_t j) {
    int64_t cap = B->cap, m = B->m[r];
    double *v = B->v + r * cap;
    int32_t *ix = B->j + r * cap;
    v[m] = s;
    ix[m] = j;
    if (++m == cap) {
        select_best(v, ix, m, k - 1);
        m = k;
        B->tv[r] = v[k - 1];
        B->tj[r] = ix[k - 1];
    }
    B->m[r] = (int32_t)m;
}

static void knn_block(void *vctx, int tid, int64_t task, int64_t i0, int64_t ni, int64_t j0, int64_t nj,
                      const float *dot) {
    knn_ctx *c = vctx;
    knn_buf *B = c->b;
    int64_t k = c->k;
    const double *nrm = c->nrm;
    for (int64_t a = 0; a < ni; a++) {
        int64_t i = i0 + a;
        double ni_ = nrm[i];
        const float *row = dot + a * nj;
        for (int64_t b = i0 == j0 ? a + 1 : 0; b < nj; b++) {
            int64_t j = j0 + b;
            double s = sim_cos(row[b], ni_, nrm[j]);
            if (better(s, (int32_t)j, B->tv[i], B->tj[i])) offer(B, k, i, s, (int32_t)j);
            if (better(s, (int32_t)i, B->tv[j], B->tj[j])) offer(B, k, j, s, (int32_t)i);
        }
    }
}

void graph_knn(int32_t *wl, knn_buf *buf, float *work, const float *x, const double *nrm, int64_t n, int64_t d,
               int64_t k, int64_t bs, int threads) {
    CHECK(k >= 1 && k < n && buf->cap == 2 * k);
    for (int64_t i = 0; i < n; i++) {
        buf->m[i] = 0;
        buf->tv[i] = -INFINITY; /* every finite cosine is better */
        buf->tj[i] = INT32_MAX;
    }
    knn_ctx c = {buf, nrm, k};
    sim_blocks(work, x, n, d, bs, threads, knn_block, NULL, &c, "knn");
    /* Final k best of each row, then a heap sort (min-heap with the worst at
     * the root; popping the worst to the back leaves descending cosine, ties
     * by ascending index). */
#pragma omp parallel for num_threads(threads) schedule(static)
    for (int64_t i = 0; i < n; i++) {
        double *v = buf->v + i * buf->cap;
        int32_t *ix = buf->j + i * buf->cap;
        int64_t m = buf->m[i];
        CHECK(m >= k); /* every row saw all n - 1 > k - 1 others */
        if (m > k) select_best(v, ix, m, k - 1);
        for (int64_t p = k / 2 - 1; p >= 0; p--) heap_sift_down(v, ix, k, p);
        for (int64_t h = k; h > 1; h--) {
            swap_cand(v, ix, 0, h - 1);
            heap_sift_down(v, ix, h - 1, 0);
        }
        memcpy(wl + i * k, ix, (size_t)k * sizeof *wl);
    }
}

/* ---- W_H and W0 ---------------------------------------------------------------- */

/* One row of W_H (and of W0 before symmetrisation) for counters of type T:
 * uint16_t when k1 <= 65535 (a row's counters stay in L1 cache), else
 * uint32_t. Writes a0[i*k1 ..], a0n[i]; adds label agreement to *tl, *th. */
#define DEFINE_OVERLAP_ROW(NAME, T)                                                                              \
    static void NAME(int32_t *a0, int32_t *a0n, int64_t *tl, int64_t *th, T *restrict c, int64_t *h,           \
                     const int32_t *inv, const int64_t *invoff, const int32_t *wl, const label_sets *labels,     \
                     int64_t i, int64_t n, int64_t k1, int64_t k2) {                                              \
        const int32_t *Ni = wl + i * k1;                                                                          \
        /* c[j] = |N_i ∩ N_j| = number of p in N_i with j in inv[p]. */                                          \
        memset(c, 0, (size_t)n * sizeof *c);                                                                      \
        for (int64_t a = 0; a < k1; a++) {                                                                        \
            int64_t p = Ni[a];                                                                                    \
            const int32_t *restrict lst = inv + invoff[p];                                                        \
            int64_t len = invoff[p + 1] - invoff[p];                                                              \
            for (int64_t e = 0; e < len; e++) c[lst[e]]++;                                                        \
        }                                                                                                         \
        /* Top-k2 by overlap over j != i, ties by ascending j: every j with                                      \
         * c[j] > cstar, then the first r rows (ascending) with c[j] == cstar,                                   \
         * the last of them being jcut. */                                                                        \
        memset(h, 0, (size_t)(k1 + 1) * sizeof *h);                                                               \
        for (int64_t j = 0; j < n; j++)                                                                           \
            if (j != i) h[c[j]]++;                                                                                \
        int64_t above = 0, cstar = k1;                                                                            \
        while (above + h[cstar] < k2) above += h[cstar--];                                                        \
        int64_t r = k2 - above, jcut = -1;                                                                        \
        for (int64_t j = 0; j < n && r > 0; j++)                                                                  \
            if (j != i && c[j] == (T)cstar && --r == 0) jcut = j;                                                 \
        int32_t m = 0;                                                                                            \
        for (int64_t a = 0; a < k1; a++) {                                                                        \
            int64_t j = Ni[a];                                                                                    \
            if (j != i && (c[j] > (T)cstar || (c[j] == (T)cstar && j <= jcut))) a0[i * k1 + m++] = (int32_t)j;    \
        }                                                                                                         \
        a0n[i] = m;                                                                                               \
        if (labels) {                                                                                             \
            for (int64_t a = 0; a < k1; a++) *tl += label_same(labels, i, Ni[a]);                                 \
            for (int64_t j = 0; j < n; j++)                                                                       \
                if (j != i && (c[j] > (T)cstar || (c[j] == (T)cstar && j <= jcut)))                               \
                    *th += label_same(labels, i, j);                                                              \
        }                                                                                                         \
    }
DEFINE_OVERLAP_ROW(overlap_row_u16, uint16_t)
DEFINE_OVERLAP_ROW(overlap_row_u32, uint32_t)

int graph_cnt_bytes(int64_t k1) { return k1 <= UINT16_MAX ? 2 : 4; }

void graph_w0(uint8_t *w0, graph_counts *counts, int32_t *a0, int32_t *a0n, int32_t *order, int32_t *inv,
              int64_t *invoff, void *cnt, int cnt_bytes, int64_t *hist, const int32_t *wl, const label_sets *labels, int64_t n,
              int64_t k1, int64_t k2, int threads) {
    CHECK(k1 >= 1 && k1 < n && k2 >= 1 && k2 < n);
    CHECK(cnt_bytes == 4 || (cnt_bytes == 2 && k1 <= UINT16_MAX));
    /* Inverted lists: inv[invoff[p] .. invoff[p+1]) = rows i with p in N_i,
     * ascending (filled in ascending i). */
    memset(invoff, 0, (size_t)(n + 1) * sizeof *invoff);
    for (int64_t e = 0; e < n * k1; e++) invoff[wl[e] + 1]++;
    for (int64_t p = 0; p < n; p++) invoff[p + 1] += invoff[p];
    for (int64_t i = 0; i < n; i++)
        for (int64_t a = 0; a < k1; a++) inv[invoff[wl[i * k1 + a]]++] = (int32_t)i;
    for (int64_t p = n; p > 0; p--) invoff[p] = invoff[p - 1];
    invoff[0] = 0;

    int64_t tp_wl = 0, tp_wh = 0;
    progress pr;
    progress_begin(&pr, "overlap", n);
    /* Visit rows grouped by their nearest neighbour: rows of a group share
     * most of their neighbour lists, so those inverted lists are still in
     * cache (3x faster than index order on clustered features). Results are
     * per row, so the order changes nothing else. Counting sort, with a0n as
     * the bucket counter before the rows overwrite it. */
    memset(a0n, 0, (size_t)n * sizeof *a0n);
    for (int64_t i = 0; i < n; i++) a0n[wl[i * k1]]++;
    for (int64_t p = 0, acc = 0; p < n; p++) { int32_t t = a0n[p]; a0n[p] = (int32_t)acc; acc += t; }
    for (int64_t i = 0; i < n; i++) order[a0n[wl[i * k1]]++] = (int32_t)i;
#pragma omp parallel for num_threads(threads) schedule(dynamic, 16) reduction(+ : tp_wl, tp_wh)
    for (int64_t ii = 0; ii < n; ii++) {
        int64_t i = order[ii];
        int tid = omp_get_thread_num();
        int64_t *h = hist + (int64_t)tid * (k1 + 1);
        if (cnt_bytes == 2)
            overlap_row_u16(a0, a0n, &tp_wl, &tp_wh, (uint16_t *)cnt + (int64_t)tid * n, h, inv, invoff, wl, labels,
                            i, n, k1, k2);
        else
            overlap_row_u32(a0, a0n, &tp_wl, &tp_wh, (uint32_t *)cnt + (int64_t)tid * n, h, inv, invoff, wl, labels,
                            i, n, k1, k2);
        /* Positions are handed out in ascending chunks: a fair progress mark. */
        if (tid == 0 && (ii & 255) == 0) progress_update(&pr, ii);
    }
    progress_end(&pr);
    counts->tp_wl = tp_wl;
    counts->tp_wh = tp_wh;

    /* W0: both +1, then symmetric, then diagonal. */
    int64_t rb = bits_row_bytes(n);
    memset(w0, 0, (size_t)(n * rb));
    for (int64_t i = 0; i < n; i++) {
        bits_set(w0 + i * rb, i);
        for (int32_t a = 0; a < a0n[i]; a++) {
            int64_t j = a0[i * k1 + a];
            bits_set(w0 + i * rb, j);
            bits_set(w0 + j * rb, i);
        }
    }
}

/* ---- bit matrices --------------------------------------------------------------- */

int64_t bitmat_count(const uint8_t *w, int64_t n) {
    int64_t total = n * bits_row_bytes(n), s = 0, k = 0;
    for (; k + 8 <= total; k += 8) {
        uint64_t v;
        memcpy(&v, w + k, 8);
        s += __builtin_popcountll(v);
    }
    for (; k < total; k++) s += __builtin_popcount(w[k]);
    return s;
}

int64_t bitmat_check_shape(const uint8_t *w, int64_t n, const char **what) {
    int64_t rb = bits_row_bytes(n);
    uint8_t padmask = (n & 7) ? (uint8_t)(0xFFu << (n & 7)) : 0;
    for (int64_t i = 0; i < n; i++) {
        if (!bits_get(w + i * rb, i)) { *what = "diagonal"; return i; }
        if (w[i * rb + rb - 1] & padmask) { *what = "padding"; return i; }
    }
    return -1;
}

/* ---- labels and F_w ------------------------------------------------------------- */

int64_t label_sets_build(label_sets *out, const uint8_t *labels, int64_t N, int64_t L, const int64_t *idx,
                         int64_t n) {
    out->n = n;
    out->words = (int)((L + 63) / 64);
    if (out->words == 0) out->words = 1;
    out->mask = xcalloc((size_t)(n * out->words), sizeof(uint64_t));
    for (int64_t i = 0; i < n; i++) {
        if (idx[i] < 0 || idx[i] >= N) { label_sets_free(out); return i; }
        const uint8_t *r = labels + idx[i] * L;
        for (int64_t c = 0; c < L; c++)
            if (r[c]) out->mask[i * out->words + c / 64] |= 1ull << (c % 64);
    }
    return -1;
}

void label_sets_load(label_sets *out, const char *labels_path, const char *indices_path, int64_t n,
                     const char *rows_of) {
    npy_array la, ia;
    npy_open(&la, labels_path, NPY_U1, 2);
    npy_open(&ia, indices_path, NPY_I8, 1);
    npy_expect_dim(&ia, 0, n, rows_of);
    index_range_or_die(indices_path, ia.data, n, la.shape[0], labels_path);
    CHECK(label_sets_build(out, la.data, la.shape[0], la.shape[1], ia.data, n) < 0);
    npy_close(&la);
    npy_close(&ia);
}

void label_sets_free(label_sets *ls) {
    free(ls->mask);
    ls->mask = NULL;
}

static int cmp_mask(const void *a, const void *b, void *words) {
    return memcmp(a, b, (size_t)*(int *)words * sizeof(uint64_t));
}

int64_t label_same_pairs(const label_sets *ls) {
    int64_t n = ls->n;
    int W = ls->words;
    uint64_t *m = xmalloc((size_t)(n * W) * sizeof *m);
    memcpy(m, ls->mask, (size_t)(n * W) * sizeof *m);
    qsort_r(m, (size_t)n, (size_t)W * sizeof *m, cmp_mask, &W);
    /* Distinct masks in place, with their multiplicities. */
    int64_t *mult = xmalloc((size_t)n * sizeof *mult), D = 0;
    for (int64_t i = 0; i < n; i++) {
        if (D > 0 && memcmp(m + (D - 1) * W, m + i * W, (size_t)W * sizeof *m) == 0) { mult[D - 1]++; continue; }
        memmove(m + D * W, m + i * W, (size_t)W * sizeof *m);
        mult[D++] = 1;
    }
    label_sets g = {D, W, m};
    int64_t total = 0;
    for (int64_t a = 0; a < D; a++)
        for (int64_t b = 0; b < D; b++)
            if (label_same(&g, a, b)) total += mult[a] * mult[b];
    free(m);
    free(mult);
    return total;
}

int64_t bitmat_same_count(const uint8_t *w, const label_sets *ls, int threads) {
    int64_t n = ls->n, rb = bits_row_bytes(n), tp = 0;
#pragma omp parallel for num_threads(threads) schedule(dynamic, 64) reduction(+ : tp)
    for (int64_t i = 0; i < n; i++) {
        const uint8_t *row = w + i * rb;
        for (int64_t k = 0; k < rb; k++) {
            unsigned v = row[k];
            while (v) {
                int b = __builtin_ctz(v);
                v &= v - 1;
                tp += label_same(ls, i, k * 8 + b);
            }
        }
    }
    return tp;
}

void fw_score(double *alpha, double *beta, double *fw, int64_t tp, int64_t npos, int64_t nsame) {
    *alpha = npos > 0 ? (double)tp / (double)npos : NAN;
    *beta = nsame > 0 ? (double)tp / (double)nsame : NAN;
    if (isnan(*alpha) || isnan(*beta)) *fw = NAN;
    else if (tp == 0) *fw = 0.0;
    else *fw = 2.0 / (1.0 / *alpha + 1.0 / *beta);
}
