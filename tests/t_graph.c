/* t_graph: W_L, overlap ranking, W_H and W0 against a plain brute force
 * (full cosine matrix in double, full sorts, set intersections), for several
 * small n, k1, k2, block sizes and thread counts, with ties (integer-valued
 * features, duplicate rows, scaled rows) and gaussian features whose cosines
 * are apart by more than float rounding (see bf_margin); the tournament schedule; F_w,
 * alpha, beta on a hand-worked 4 x 4 case; input checks. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util/bits.h"
#include "hash/graph.h"
#include "util/rng.h"
#include "tap.h"
#include "util/util.h"

/* ---- brute force ---------------------------------------------------------- */

static double *bf_cos; /* [n, n] for the comparator */
static int64_t bf_n, bf_row;
static const int64_t *bf_ov;
/* The library sums each float dot product in sgemm's order, which depends
 * on the block shape and on the BLAS kernel picked at run time. In any order
 * (with or without FMA) |fl(x.y) - x.y| <= g_d sum_k |x_k y_k|, g_d =
 * d u / (1 - d u), u = 2^-24 (Higham, Accuracy and Stability, 3.1), so the
 * library's cosine of (i, j) lies within bnd_ij = g_d sum|x y| / (|x_i||x_j|)
 * (+ 1e-12 for the double division) of the exact one. bf_margin is the
 * smallest (gap - bnd - bnd') over consecutive cosines of each row's sorted
 * order up to rank k1: where it is positive, no summation order can reorder
 * a row, so W_L (order included), W_H and W0 are determined and an exact
 * comparison is valid for real-valued features too. Integer-valued features
 * sum exactly in float; their ties are exact and the tie rule (lower index
 * first) decides them. */
static double bf_margin;

static int cmp_cos(const void *a, const void *b) {
    int64_t ja = *(const int64_t *)a, jb = *(const int64_t *)b;
    double va = bf_cos[bf_row * bf_n + ja], vb = bf_cos[bf_row * bf_n + jb];
    if (va != vb) return va > vb ? -1 : 1;
    return ja < jb ? -1 : 1;
}

static int cmp_ov(const void *a, const void *b) {
    int64_t ja = *(const int64_t *)a, jb = *(const int64_t *)b;
    int64_t va = bf_ov[bf_row * bf_n + ja], vb = bf_ov[bf_row * bf_n + jb];
    if (va != vb) return va > vb ? -1 : 1;
    return ja < jb ? -1 : 1;
}

/* Reference W_L [n, k1] (sorted), W_H membership, W0 dense [n, n] bytes. */
static void brute(int64_t *wl, uint8_t *wh, uint8_t *w0, const float *x, int64_t n, int64_t d, int64_t k1,
                  int64_t k2) {
    double *cs = xmalloc((size_t)(n * n) * sizeof *cs), *nr = xmalloc((size_t)n * sizeof *nr);
    for (int64_t i = 0; i < n; i++) {
        double s = 0;
        for (int64_t k = 0; k < d; k++) s += (double)x[i * d + k] * x[i * d + k];
        nr[i] = sqrt(s);
    }
    double *bnd = xmalloc((size_t)(n * n) * sizeof *bnd), u = 0x1p-24, gd = d * u / (1 - d * u);
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < n; j++) {
            double s = 0, a = 0;
            for (int64_t k = 0; k < d; k++) {
                s += (double)x[i * d + k] * x[j * d + k];
                a += fabs((double)x[i * d + k] * x[j * d + k]);
            }
            cs[i * n + j] = s / (nr[i] * nr[j]);
            bnd[i * n + j] = gd * a / (nr[i] * nr[j]) + 1e-12;
        }
    uint8_t *L = xcalloc((size_t)(n * n), 1);
    int64_t *ord = xmalloc((size_t)n * sizeof *ord), *ov = xcalloc((size_t)(n * n), sizeof *ov);
    bf_cos = cs;
    bf_n = n;
    bf_margin = INFINITY;
    for (int64_t i = 0; i < n; i++) {
        int64_t m = 0;
        for (int64_t j = 0; j < n; j++)
            if (j != i) ord[m++] = j;
        bf_row = i;
        qsort(ord, (size_t)m, sizeof *ord, cmp_cos);
        for (int64_t a = 0; a < k1; a++) { wl[i * k1 + a] = ord[a]; L[i * n + ord[a]] = 1; }
        for (int64_t a = 0; a < k1 && a + 1 < m; a++)
            bf_margin = fmin(bf_margin, cs[i * n + ord[a]] - cs[i * n + ord[a + 1]] - bnd[i * n + ord[a]] -
                                            bnd[i * n + ord[a + 1]]);
    }
    /* Overlap as set intersections of the neighbour sets. */
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < n; j++) {
            int64_t c = 0;
            for (int64_t p = 0; p < n; p++) c += L[i * n + p] && L[j * n + p];
            ov[i * n + j] = c;
        }
    bf_ov = ov;
    memset(wh, 0, (size_t)(n * n));
    for (int64_t i = 0; i < n; i++) {
        int64_t m = 0;
        for (int64_t j = 0; j < n; j++)
            if (j != i) ord[m++] = j;
        bf_row = i;
        qsort(ord, (size_t)m, sizeof *ord, cmp_ov);
        for (int64_t a = 0; a < k2; a++) wh[i * n + ord[a]] = 1;
    }
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < n; j++) w0[i * n + j] = L[i * n + j] && wh[i * n + j];
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < n; j++)
            if (w0[i * n + j] || w0[j * n + i] || i == j) w0[i * n + j] = w0[j * n + i] = 1;
    free(cs); free(bnd); free(nr); free(L); free(ord); free(ov);
}

/* ---- the C path ------------------------------------------------------------- */

typedef struct out {
    int32_t *wl;
    uint8_t *w0;
    graph_counts gc;
} out;

static void run(out *o, const float *x, const label_sets *ls, int64_t n, int64_t d, int64_t k1, int64_t k2,
                int64_t bs, int threads, int cb) {
    double *nrm = xmalloc((size_t)n * sizeof *nrm);
    CHECK(sim_row_norms(nrm, x, n, d) < 0);
    knn_buf kb;
    knn_buf_alloc(&kb, n, k1);
    float *work = xaligned((size_t)sim_work_floats(bs, threads) * sizeof(float));
    o->wl = xmalloc((size_t)(n * k1) * sizeof *o->wl);
    graph_knn(o->wl, &kb, work, x, nrm, n, d, k1, bs, threads);
    o->w0 = xmalloc((size_t)(n * bits_row_bytes(n)));
    int32_t *a0 = xmalloc((size_t)(n * k1) * 4), *a0n = xmalloc((size_t)n * 4), *order = xmalloc((size_t)n * 4);
    int32_t *inv = xmalloc((size_t)(n * k1) * 4);
    int64_t *invoff = xmalloc((size_t)(n + 1) * 8), *hist = xmalloc((size_t)((k1 + 1) * threads) * 8);
    void *cnt = xmalloc((size_t)(n * threads) * (size_t)cb);
    graph_w0(o->w0, &o->gc, a0, a0n, order, inv, invoff, cnt, cb, hist, o->wl, ls, n, k1, k2, threads);
    free(a0); free(a0n); free(order); free(inv); free(invoff); free(hist); free(cnt); free(work); free(nrm);
    knn_buf_free(&kb);
}

static void out_free(out *o) { free(o->wl); free(o->w0); }

/* Features: kind 0 = small integers (0..3, many ties), duplicates and rows
 * scaled by 2 and 4 mixed in; kind 1 = gaussian. Every row non-zero. */
static float *make_x(int64_t n, int64_t d, int kind, uint64_t seed) {
    rng r;
    rng_seed(&r, seed);
    float *x = xmalloc((size_t)(n * d) * sizeof *x);
    for (int64_t i = 0; i < n; i++) {
        int64_t src = i > 3 ? (int64_t)rng_below(&r, (uint64_t)i) : -1;
        uint64_t pick = rng_below(&r, 4);
        for (int64_t k = 0; k < d; k++) {
            if (kind == 0) {
                if (pick == 0 && src >= 0) x[i * d + k] = x[src * d + k];            /* duplicate */
                else if (pick == 1 && src >= 0) x[i * d + k] = 2 * x[src * d + k];   /* scaled */
                else x[i * d + k] = (float)rng_below(&r, 4);
            } else {
                x[i * d + k] = (float)rng_normal(&r);
            }
        }
        int nz = 0;
        for (int64_t k = 0; k < d; k++) nz |= x[i * d + k] != 0;
        if (!nz) x[i * d] = 1;
    }
    return x;
}

static void check_case(int64_t n, int64_t d, int64_t k1, int64_t k2, int kind, uint64_t seed) {
    float *x = make_x(n, d, kind, seed);
    /* Random multi-hot labels over 3 classes (some rows without a label). */
    rng r;
    rng_seed(&r, seed + 99);
    uint8_t *lab = xmalloc((size_t)(n * 3));
    int64_t *idx = xmalloc((size_t)n * sizeof *idx);
    for (int64_t i = 0; i < n; i++) {
        for (int c = 0; c < 3; c++) lab[i * 3 + c] = rng_below(&r, 3) == 0;
        idx[i] = n - 1 - i; /* a permutation: labels of row i are lab[n-1-i] */
    }
    label_sets ls;
    CHECK(label_sets_build(&ls, lab, n, 3, idx, n) < 0);

    int64_t *rwl = xmalloc((size_t)(n * k1) * sizeof *rwl);
    uint8_t *rwh = xmalloc((size_t)(n * n)), *rw0 = xmalloc((size_t)(n * n));
    brute(rwl, rwh, rw0, x, n, d, k1, k2);

    int64_t bs_list[3] = {sim_default_block(n), 3, n > 7 ? 7 : 2};
    out ref;
    run(&ref, x, &ls, n, d, k1, k2, bs_list[0], 1, 2);
    int wl_ok = 1, w0_ok = 1, sym = 1;
    for (int64_t e = 0; e < n * k1; e++) wl_ok &= ref.wl[e] == rwl[e];
    int64_t rb = bits_row_bytes(n);
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < n; j++) {
            w0_ok &= bits_get(ref.w0 + i * rb, j) == rw0[i * n + j];
            sym &= bits_get(ref.w0 + i * rb, j) == bits_get(ref.w0 + j * rb, i);
        }
    const char *kn = kind == 0 ? "integer+ties" : "gaussian";
    int determined = kind == 0 || bf_margin > 0;
    if (kind == 0)
        ok(wl_ok, "W_L == brute force, n %lld d %lld k1 %lld (%s: float sums are exact)", (long long)n, (long long)d,
           (long long)k1, kn);
    else
        ok(wl_ok && determined, "W_L == brute force, n %lld d %lld k1 %lld (%s; min cosine gap beyond rounding %.2g > 0)",
           (long long)n, (long long)d, (long long)k1, kn, bf_margin);
    ok(w0_ok, "W0 == brute force (W_L and W_H by overlap ranking), n %lld k1 %lld k2 %lld (%s)", (long long)n,
       (long long)k1, (long long)k2, kn);
    int diag = 1, pad = 1;
    for (int64_t i = 0; i < n; i++) {
        diag &= bits_get(ref.w0 + i * rb, i);
        for (int64_t j = n; j < rb * 8; j++) pad &= !bits_get(ref.w0 + i * rb, j);
    }
    ok(sym && diag && pad, "W0 symmetric, diagonal +1, padding 0 (n %lld)", (long long)n);

    /* Label agreement of W_L, W_H, W0 against brute force counting. */
    int64_t tl = 0, th = 0, t0 = 0, np0 = 0, same = 0;
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < n; j++) {
            int s = 0;
            for (int c = 0; c < 3; c++) s |= lab[idx[i] * 3 + c] && lab[idx[j] * 3 + c];
            same += s;
            th += s && rwh[i * n + j];
            t0 += s && rw0[i * n + j];
            np0 += rw0[i * n + j];
        }
    for (int64_t e = 0; e < n * k1; e++) {
        int64_t i = e / k1, j = rwl[e];
        int s = 0;
        for (int c = 0; c < 3; c++) s |= lab[idx[i] * 3 + c] && lab[idx[j] * 3 + c];
        tl += s;
    }
    ok(ref.gc.tp_wl == tl && ref.gc.tp_wh == th && bitmat_same_count(ref.w0, &ls, 2) == t0 &&
           label_same_pairs(&ls) == same && bitmat_count(ref.w0, n) == np0,
       "label counts: tp W_L %lld/%lld, W_H %lld/%lld, W0 %lld/%lld, same %lld/%lld, n+ W0 %lld/%lld",
       (long long)ref.gc.tp_wl, (long long)tl, (long long)ref.gc.tp_wh, (long long)th,
       (long long)bitmat_same_count(ref.w0, &ls, 2), (long long)t0, (long long)label_same_pairs(&ls),
       (long long)same, (long long)bitmat_count(ref.w0, n), (long long)np0);

    /* Same bytes for other block sizes and 2 threads: exact because the
     * result is determined (integer features, or the margin above). The
     * thread count alone never changes a BLAS call (graph.h), so --threads
     * is compared byte for byte in t_graph.t on real-valued data too. */
    int same_bytes = 1;
    for (int b = 0; b < 3; b++)
        for (int th2 = 1; th2 <= 2; th2++) {
            if (b == 0 && th2 == 1) continue;
            out o;
            /* 32-bit counters (the k1 > 65535 path) on the last variant. */
            run(&o, x, &ls, n, d, k1, k2, bs_list[b], th2, b == 2 && th2 == 2 ? 4 : 2);
            same_bytes &= memcmp(o.wl, ref.wl, (size_t)(n * k1) * 4) == 0 &&
                          memcmp(o.w0, ref.w0, (size_t)(n * rb)) == 0 && o.gc.tp_wl == ref.gc.tp_wl &&
                          o.gc.tp_wh == ref.gc.tp_wh;
            out_free(&o);
        }
    ok(same_bytes, "identical outputs for block sizes %lld, 3, %lld, 1 or 2 threads, 16- or 32-bit counters", (long long)bs_list[0],
       (long long)bs_list[2]);
    out_free(&ref);
    free(x); free(lab); free(idx); free(rwl); free(rwh); free(rw0);
    label_sets_free(&ls);
}

/* ---- tournament coverage ------------------------------------------------------ */

static int *visits;
static void count_block(void *ctx, int tid, int64_t task, int64_t i0, int64_t ni, int64_t j0, int64_t nj,
                        const float *dot) {
    int64_t nb = *(int64_t *)ctx, bs = *((int64_t *)ctx + 1);
    /* The task id names the blocks the rows belong to. */
    CHECK(task == (i0 / bs) * nb + j0 / bs);
    visits[task]++;
}

static void check_tournament(int64_t n, int64_t bs) {
    int64_t nb = sim_nblocks(n, bs), d = 2;
    float *x = xcalloc((size_t)(n * d), sizeof *x);
    float *work = xaligned((size_t)sim_work_floats(bs, 2) * sizeof(float));
    visits = xcalloc((size_t)(nb * nb), sizeof *visits);
    int64_t ctx[2] = {nb, bs};
    sim_blocks(work, x, n, d, bs, 2, count_block, NULL, ctx, NULL);
    int good = 1;
    for (int64_t I = 0; I < nb; I++)
        for (int64_t J = 0; J < nb; J++) good &= visits[I * nb + J] == (J >= I ? 1 : 0);
    ok(good, "tournament visits every block pair I <= J exactly once (n %lld, bs %lld, %lld blocks)", (long long)n,
       (long long)bs, (long long)nb);
    free(x); free(work); free(visits);
}

int main(void) {
    dsah_quiet = 1;
    check_tournament(10, 3);  /* 4 blocks */
    check_tournament(10, 2);  /* 5 blocks: odd, a dummy */
    check_tournament(1, 4);   /* 1 block */
    check_tournament(100, 7); /* 15 blocks */

    check_case(2, 3, 1, 1, 0, 1);
    check_case(5, 3, 4, 4, 0, 2);   /* k = n - 1 */
    check_case(17, 4, 3, 5, 0, 3);
    check_case(40, 3, 6, 2, 0, 4);  /* d = 3, values 0..3: heavy ties */
    check_case(70, 5, 9, 12, 0, 5);
    check_case(33, 8, 32, 1, 0, 6);
    check_case(64, 8, 10, 10, 1, 7);
    check_case(90, 6, 15, 20, 1, 8);

    /* Hand-worked F_w: labels 0:{A} 1:{A} 2:{B} 3:{A,B}; same-label pairs:
     * rows 0,1: 3 each (0,1,3), row 2: 2 (2,3), row 3: 4 -> 12. W = diagonal
     * + (0,1) + (1,2), symmetric: n+ = 8, tp = 4 (diagonal) + 2 (0-1) = 6;
     * alpha = 0.75, beta = 0.5, F_w = 2 / (4/3 + 2) = 0.6. */
    {
        uint8_t lab[8] = {1, 0, 1, 0, 0, 1, 1, 1};
        int64_t idx[4] = {0, 1, 2, 3};
        label_sets ls;
        CHECK(label_sets_build(&ls, lab, 4, 2, idx, 4) < 0);
        uint8_t w[4] = {0x3, 0x7, 0x6, 0x8};
        double a, b, f;
        int64_t tp = bitmat_same_count(w, &ls, 1), np = bitmat_count(w, 4), ns = label_same_pairs(&ls);
        fw_score(&a, &b, &f, tp, np, ns);
        ok(tp == 6 && np == 8 && ns == 12, "4x4: tp %lld (6), n+ %lld (8), same %lld (12)", (long long)tp,
           (long long)np, (long long)ns);
        ok(fabs(a - 0.75) < 1e-15 && fabs(b - 0.5) < 1e-15 && fabs(f - 0.6) < 1e-15,
           "4x4: alpha %.17g (0.75), beta %.17g (0.5), F_w %.17g (0.6)", a, b, f);
        label_sets_free(&ls);
        fw_score(&a, &b, &f, 0, 8, 12);
        ok(a == 0 && b == 0 && f == 0, "tp = 0 gives alpha = beta = F_w = 0");
        fw_score(&a, &b, &f, 0, 8, 0);
        ok(isnan(b) && isnan(f), "no same-label pair: beta and F_w undefined (NaN, null in JSON)");
        int64_t bad_idx[4] = {0, 1, 4, 3};
        ok(label_sets_build(&ls, lab, 4, 2, bad_idx, 4) == 2, "index out of range reported at its position");
        label_sets_free(&ls);
    }

    /* Shape checks of a bit matrix and feature rows. */
    {
        uint8_t w[3 * 1] = {0x1, 0x2, 0x4};
        const char *what = NULL;
        ok(bitmat_check_shape(w, 3, &what) == -1, "3x3 identity passes the shape check");
        w[1] = 0x0;
        ok(bitmat_check_shape(w, 3, &what) == 1 && strcmp(what, "diagonal") == 0, "missing diagonal in row 1");
        w[1] = 0x2 | 0x10;
        ok(bitmat_check_shape(w, 3, &what) == 1 && strcmp(what, "padding") == 0, "padding bit set in row 1");
        float x[6] = {1, 2, 0, 0, 3, 4};
        double nr[3];
        ok(sim_row_norms(nr, x, 3, 2) == 1, "all-zero row 1 found");
        x[2] = NAN;
        x[3] = 1;
        ok(sim_row_norms(nr, x, 3, 2) == 1, "NaN in row 1 found");
        x[2] = 3;
        ok(sim_row_norms(nr, x, 3, 2) == -1 && nr[2] == 5.0, "norms of good rows (|(3,4)| = 5)");
    }
    return done_testing();
}
