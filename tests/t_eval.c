/* t_eval: eval_compute against a hand-worked case and against a plain
 * brute-force reference (qsort by (distance, index), AP by its definition)
 * on codes with many ties; the bit-sliced path against the portable one,
 * byte for byte, on edge sizes (code lengths around 64 and 128 and up to
 * 256, database sizes around the 64- and 512-item words and blocks, K
 * above n_db, more than 64 classes, queries with no relevant item). */
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "hash/eval.h"
#include "util/rng.h"
#include "tap.h"

/* ---- brute-force reference ----------------------------------------------- */
typedef struct { int d; int64_t j; } pair;
static int cmp_pair(const void *a, const void *b) {
    const pair *x = a, *y = b;
    if (x->d != y->d) return x->d < y->d ? -1 : 1;
    return (x->j > y->j) - (x->j < y->j);
}
static int ham(const uint8_t *a, const uint8_t *b, int64_t nb) {
    int d = 0;
    for (int64_t k = 0; k < nb; k++)
        for (int t = 0; t < 8; t++) d += ((a[k] ^ b[k]) >> t) & 1;
    return d;
}
static int relevant(const eval_input *in, int64_t q, int64_t j) {
    for (int64_t c = 0; c < in->n_classes; c++)
        if (in->labels[in->qidx[q] * in->n_classes + c] && in->labels[in->dbidx[j] * in->n_classes + c]) return 1;
    return 0;
}
static int64_t clip(int64_t v, int64_t n) { return (v <= 0 || v > n) ? n : v; }

static void reference(eval_result *r, const eval_input *in, const eval_lists *l) {
    int64_t n = in->n_db;
    pair *p = malloc(sizeof *p * (size_t)n);
    int *rel = malloc(sizeof(int) * (size_t)n);
    for (int i = 0; i < l->n_topk; i++) r->map[i] = 0;
    for (int i = 0; i < l->n_pat; i++) r->pat[i] = 0;
    for (int i = 0; i < l->n_pn; i++) r->pn[i] = 0;
    for (int d = 0; d <= in->bits; d++) r->pr_precision[d] = r->pr_recall[d] = 0, r->pr_nq[d] = 0;
    for (int64_t q = 0; q < in->n_query; q++) {
        for (int64_t j = 0; j < n; j++) {
            p[j].d = ham(in->qcodes + q * in->row_bytes, in->dbcodes + j * in->row_bytes, in->row_bytes);
            p[j].j = j;
        }
        qsort(p, (size_t)n, sizeof *p, cmp_pair);
        for (int64_t k = 0; k < n; k++) rel[k] = relevant(in, q, p[k].j);
        for (int i = 0; i < l->n_topk; i++) {
            int64_t K = clip(l->topk[i], n), R = 0, hits = 0;
            double s = 0;
            for (int64_t k = 0; k < K; k++) R += rel[k];
            for (int64_t k = 0; k < K; k++)
                if (rel[k]) { hits++; s += (double)hits / (double)(k + 1); }
            r->map[i] += R ? s / (double)R : 0.0;
        }
        for (int t = 0; t < 2; t++) {
            int nn = t ? l->n_pn : l->n_pat;
            const int64_t *v = t ? l->pn : l->pat;
            double *o = t ? r->pn : r->pat;
            for (int i = 0; i < nn; i++) {
                int64_t N = clip(v[i], n), h = 0;
                for (int64_t k = 0; k < N; k++) h += rel[k];
                o[i] += (double)h / (double)N;
            }
        }
        int64_t total = 0;
        for (int64_t k = 0; k < n; k++) total += rel[k];
        for (int rad = 0; rad <= in->bits; rad++) {
            int64_t got = 0, h = 0;
            for (int64_t k = 0; k < n; k++)
                if (p[k].d <= rad) { got++; h += rel[k]; }
            if (total) r->pr_recall[rad] += (double)h / (double)total;
            if (got) { r->pr_precision[rad] += (double)h / (double)got; r->pr_nq[rad]++; }
        }
    }
    for (int i = 0; i < l->n_topk; i++) r->map[i] /= (double)in->n_query;
    for (int i = 0; i < l->n_pat; i++) r->pat[i] /= (double)in->n_query;
    for (int i = 0; i < l->n_pn; i++) r->pn[i] /= (double)in->n_query;
    for (int d = 0; d <= in->bits; d++) {
        r->pr_recall[d] /= (double)in->n_query;
        if (r->pr_nq[d]) r->pr_precision[d] /= (double)r->pr_nq[d];
    }
    free(p);
    free(rel);
}

/* returns ws.fast: 1 when the bit-sliced path ran */
static int run_path(eval_result *r, const eval_input *in, const eval_lists *l, int threads, int path) {
    eval_ws ws;
    eval_ws_alloc_path(&ws, in, l, threads, path);
    eval_result_alloc(r, l, in->bits);
    eval_compute(r, &ws, in, l);
    int fast = ws.fast;
    eval_ws_free(&ws);
    return fast;
}
static int run(eval_result *r, const eval_input *in, const eval_lists *l, int threads) {
    return run_path(r, in, l, threads, EVAL_PATH_AUTO);
}

/* every output array equal byte for byte */
static int same_result(const eval_result *a, const eval_result *b, const eval_lists *l, int bits) {
    size_t B = (size_t)bits + 1;
    return memcmp(a->map, b->map, (size_t)l->n_topk * sizeof(double)) == 0 &&
           memcmp(a->pat, b->pat, (size_t)l->n_pat * sizeof(double)) == 0 &&
           memcmp(a->pn, b->pn, (size_t)l->n_pn * sizeof(double)) == 0 &&
           memcmp(a->pr_precision, b->pr_precision, B * sizeof(double)) == 0 &&
           memcmp(a->pr_recall, b->pr_recall, B * sizeof(double)) == 0 &&
           memcmp(a->pr_nq, b->pr_nq, B * sizeof(int64_t)) == 0;
}

static double maxdiff(const double *a, const double *b, int n) {
    double m = 0;
    for (int i = 0; i < n; i++) m = fmax(m, fabs(a[i] - b[i]));
    return m;
}

/* ---- the hand-worked case -------------------------------------------------- */
static void hand_case(void) {
    /* 8-bit codes. Query 0 = 0x00 (label A), query 1 = 0xFF (label C, which
     * no db item has). db: 0x01 (A, d=1), 0x00 (B, d=0), 0x03 (A, d=2),
     * 0x02 (A, d=1). Query 0 ranking: idx1 (d0, irrelevant), idx0 (d1),
     * idx3 (d1, tie after idx0), idx2 (d2): relevance 0,1,1,1. */
    uint8_t qc[2] = {0x00, 0xFF}, dc[4] = {0x01, 0x00, 0x03, 0x02};
    uint8_t labels[6 * 3] = {1, 0, 0, 0, 0, 1, /* rows 0,1: queries (A), (C) */
                             1, 0, 0, 0, 1, 0, 1, 0, 0, 1, 0, 0}; /* rows 2..5: db A, B, A, A */
    int64_t qi[2] = {0, 1}, di[4] = {2, 3, 4, 5};
    eval_input in = {qc, dc, 2, 4, 1, 8, labels, 6, 3, qi, di};
    int64_t topk[4] = {1, 2, 0, 100}, pat[3] = {1, 2, 3}, pn[1] = {4};
    eval_lists l = {4, topk, 3, pat, 1, pn};
    eval_result r;
    run(&r, &in, &l, 2);
    /* AP_0: @1: R=0 -> 0; @2: (1/2)/1; @all: (1/2 + 2/3 + 3/4)/3 = 23/36.
     * AP_1 = 0 always. */
    ok(fabs(r.map[0] - 0.0) < 1e-15, "hand: mAP@1 = 0 (query 0 has R=0 in top 1)");
    ok(fabs(r.map[1] - 0.25) < 1e-15, "hand: mAP@2 = (1/2 + 0)/2");
    ok(fabs(r.map[2] - 23.0 / 72.0) < 1e-15, "hand: mAP@all = (23/36 + 0)/2 = %.12f", r.map[2]);
    ok(fabs(r.map[3] - 23.0 / 72.0) < 1e-15, "hand: mAP@100 clipped to n_db equals mAP@all");
    ok(fabs(r.pat[0]) < 1e-15 && fabs(r.pat[1] - 0.25) < 1e-15 && fabs(r.pat[2] - 1.0 / 3.0) < 1e-15,
       "hand: P@1 = 0, P@2 = 1/4, P@3 = 1/3");
    ok(fabs(r.pn[0] - 3.0 / 8.0) < 1e-15, "hand: P@4 = 3/8");
    /* PR: q0 retrieves 1,3,4,4.. items (0,2,3,3.. relevant of 3); q1 (no
     * relevant, recall 0) retrieves nothing below radius 6, then 1, 3, 4. */
    double ep[9] = {0, 2.0 / 3, 0.75, 0.75, 0.75, 0.75, 0.375, 0.375, 0.375};
    double er[9] = {0, 1.0 / 3, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5};
    int64_t en[9] = {1, 1, 1, 1, 1, 1, 2, 2, 2};
    int nq_ok = 1;
    for (int d = 0; d < 9; d++) nq_ok &= r.pr_nq[d] == en[d];
    ok(maxdiff(r.pr_precision, ep, 9) < 1e-15, "hand: PR precision by radius");
    ok(maxdiff(r.pr_recall, er, 9) < 1e-15, "hand: PR recall by radius");
    ok(nq_ok, "hand: queries retrieving per radius 1,1,1,1,1,1,2,2,2");
    eval_result_free(&r);
}

/* ---- random cases with many ties ----------------------------------------- */
static void random_case(const char *name, int bits, int distinct, int n_classes, int multi, int64_t nq, int64_t ndb,
                        uint64_t seed) {
    rng g;
    rng_seed(&g, seed);
    int64_t rb = (bits + 7) / 8, nl = nq + ndb + 7;
    uint8_t *pool = calloc((size_t)(distinct * rb), 1);
    for (int i = 0; i < distinct; i++)
        for (int k = 0; k < bits; k++)
            if (rng_below(&g, 2)) pool[i * rb + k / 8] |= (uint8_t)(1u << (k % 8));
    uint8_t *qc = malloc((size_t)(nq * rb)), *dc = malloc((size_t)(ndb * rb));
    for (int64_t i = 0; i < nq; i++) memcpy(qc + i * rb, pool + rng_below(&g, (uint64_t)distinct) * rb, (size_t)rb);
    for (int64_t i = 0; i < ndb; i++) memcpy(dc + i * rb, pool + rng_below(&g, (uint64_t)distinct) * rb, (size_t)rb);
    uint8_t *lab = calloc((size_t)(nl * n_classes), 1);
    for (int64_t i = 0; i < nl; i++) {
        if (multi) {
            for (int c = 0; c < n_classes; c++) lab[i * n_classes + c] = rng_below(&g, 5) == 0;
        } else {
            lab[i * n_classes + rng_below(&g, (uint64_t)n_classes)] = 1;
        }
    }
    /* queries and db drawn from label rows in a shuffled order */
    int64_t *perm = malloc(sizeof(int64_t) * (size_t)nl);
    for (int64_t i = 0; i < nl; i++) perm[i] = i;
    rng_shuffle_i64(&g, perm, nl);
    int64_t *qi = perm, *di = perm + nq;
    eval_input in = {qc, dc, nq, ndb, rb, bits, lab, nl, n_classes, qi, di};
    int64_t topk[6] = {1, 7, ndb / 3, ndb - 1, 0, ndb + 50}, pat[4] = {1, 10, ndb, 5 * ndb},
            pn[3] = {5, ndb / 2, ndb / 2};
    eval_lists l = {6, topk, 4, pat, 3, pn};
    char err[200];
    int which;
    ok(eval_check_input(&in, err, sizeof err, &which) == 0, "%s: inputs pass the checks", name);
    eval_result a, b, p, ref;
    int fast = run(&a, &in, &l, 1);
    run(&b, &in, &l, 2);
    run_path(&p, &in, &l, 1, EVAL_PATH_PORTABLE);
    eval_result_alloc(&ref, &l, bits);
    reference(&ref, &in, &l);
    const char *path = fast ? "bit-sliced path" : "portable path";
    ok(maxdiff(a.map, ref.map, 6) < 1e-6, "%s (%s): mAP@{1,7,n/3,n-1,all,n+50} = reference (max diff %.2g)", name, path,
       maxdiff(a.map, ref.map, 6));
    ok(maxdiff(a.pat, ref.pat, 4) < 1e-6 && maxdiff(a.pn, ref.pn, 3) < 1e-6, "%s: P@N and P-curve = reference",
       name);
    int nq_same = 1;
    for (int d = 0; d <= bits; d++) nq_same &= a.pr_nq[d] == ref.pr_nq[d];
    ok(maxdiff(a.pr_precision, ref.pr_precision, bits + 1) < 1e-6 &&
           maxdiff(a.pr_recall, ref.pr_recall, bits + 1) < 1e-6 && nq_same,
       "%s: PR curve = reference", name);
    ok(same_result(&a, &b, &l, bits), "%s: 1 and 2 threads give identical bytes", name);
    if (fast) ok(same_result(&a, &p, &l, bits), "%s: bit-sliced and portable paths give identical bytes", name);
    else skip(1, "the bit-sliced path is not built or does not apply");
    /* sanity that the case exercises what it claims */
    int zero_rel = 0;
    for (int64_t q = 0; q < nq; q++) {
        int any = 0;
        for (int64_t j = 0; j < ndb && !any; j++) any = relevant(&in, q, j);
        zero_rel += !any;
    }
    if (multi && n_classes <= 8) ok(zero_rel > 0, "%s: %d queries have no relevant item", name, zero_rel);
    eval_result_free(&a);
    eval_result_free(&b);
    eval_result_free(&p);
    eval_result_free(&ref);
    free(pool);
    free(qc);
    free(dc);
    free(lab);
    free(perm);
}

static void check_errors(void) {
    uint8_t qc[1] = {0}, dc[2] = {0, 0x80}, lab[4] = {1, 0, 0, 1};
    int64_t qi[1] = {0}, di[2] = {1, 0}, bad[2] = {1, 2};
    char err[200];
    int which = 0;
    eval_input in = {qc, dc, 1, 2, 1, 8, lab, 2, 2, qi, di};
    ok(eval_check_input(&in, err, sizeof err, &which) == 0, "checks: a valid input passes");
    in.dbidx = bad;
    ok(eval_check_input(&in, err, sizeof err, &which) != 0 && which == EVAL_BAD_DBIDX,
       "checks: db index 2 of 2 label rows is rejected (%s)", err);
    in.dbidx = di;
    in.bits = 7;
    ok(eval_check_input(&in, err, sizeof err, &which) != 0 && which == EVAL_BAD_DBCODES,
       "checks: a set bit beyond --bits is rejected (%s)", err);
    in.bits = 8;
    lab[3] = 2;
    ok(eval_check_input(&in, err, sizeof err, &which) != 0 && which == EVAL_BAD_LABELS,
       "checks: label value 2 is rejected (%s)", err);
}


/* ---- tie-aware mAP and P@N --------------------------------------------------
 * Brute force: every permutation of the database that is sorted by distance
 * (each order within the tied distances once), AP@K and P@N by their
 * definitions on each, averaged. Then a Monte Carlo check (random orders
 * within the ties) where the buckets are too large to enumerate. */
static int next_perm(int *a, int n) {
    int i = n - 2;
    while (i >= 0 && a[i] >= a[i + 1]) i--;
    if (i < 0) return 0;
    int j = n - 1;
    while (a[j] <= a[i]) j--;
    int t = a[i]; a[i] = a[j]; a[j] = t;
    for (int x = i + 1, y = n - 1; x < y; x++, y--) t = a[x], a[x] = a[y], a[y] = t;
    return 1;
}

/* AP@K and P@N of one ranking given as relevance rel[0..n) */
static double ap_at(const int *rel, int64_t n, int64_t K) {
    K = clip(K, n);
    int64_t R = 0, hits = 0;
    double s = 0;
    for (int64_t k = 0; k < K; k++) R += rel[k];
    for (int64_t k = 0; k < K; k++)
        if (rel[k]) { hits++; s += (double)hits / (double)(k + 1); }
    return R ? s / (double)R : 0.0;
}
static double p_at(const int *rel, int64_t n, int64_t N) {
    N = clip(N, n);
    int64_t h = 0;
    for (int64_t k = 0; k < N; k++) h += rel[k];
    return (double)h / (double)N;
}

static void tie_brute_case(const char *name, int bits, int ncodes, int nclasses, int n_db, int nq, uint64_t seed) {
    int64_t rb = (bits + 7) / 8;
    uint8_t *pool = calloc((size_t)(ncodes * rb), 1);
    rng g;
    rng_seed(&g, seed);
    for (int c = 0; c < ncodes; c++)
        for (int k = 0; k < bits; k++)
            if (rng_u64(&g) & 1) pool[c * rb + k / 8] |= (uint8_t)(1u << (k % 8));
    uint8_t *qc = malloc((size_t)(nq * rb)), *dc = malloc((size_t)(n_db * rb));
    int64_t nl = nq + n_db;
    uint8_t *labels = calloc((size_t)(nl * nclasses), 1);
    int64_t *qi = malloc(sizeof(int64_t) * (size_t)nq), *di = malloc(sizeof(int64_t) * (size_t)n_db);
    for (int q = 0; q < nq; q++) memcpy(qc + q * rb, pool + (rng_u64(&g) % (uint64_t)ncodes) * rb, (size_t)rb), qi[q] = q;
    for (int j = 0; j < n_db; j++) memcpy(dc + j * rb, pool + (rng_u64(&g) % (uint64_t)ncodes) * rb, (size_t)rb), di[j] = nq + j;
    for (int64_t i = 0; i < nl; i++) labels[i * nclasses + (int64_t)(rng_u64(&g) % (uint64_t)nclasses)] = 1;
    eval_input in = {qc, dc, nq, n_db, rb, bits, labels, nl, nclasses, qi, di};
    int64_t topk[6] = {1, 2, 3, 5, 7, 0}, pat[5] = {1, 2, 4, 6, 0};
    eval_lists l = {6, topk, 5, pat, 0, NULL};
    eval_result r;
    run(&r, &in, &l, 2);
    double bm[6] = {0}, bp[5] = {0};
    int perm[16], rel[16], dist[16];
    for (int q = 0; q < nq; q++) {
        for (int j = 0; j < n_db; j++) dist[j] = ham(qc + q * rb, dc + j * rb, rb), perm[j] = j;
        double sm[6] = {0}, sp[5] = {0};
        int64_t count = 0;
        do {
            int sorted = 1;
            for (int k = 1; k < n_db && sorted; k++) sorted = dist[perm[k - 1]] <= dist[perm[k]];
            if (!sorted) continue;
            for (int k = 0; k < n_db; k++) rel[k] = relevant(&in, q, perm[k]);
            for (int i = 0; i < 6; i++) sm[i] += ap_at(rel, n_db, topk[i]);
            for (int i = 0; i < 5; i++) sp[i] += p_at(rel, n_db, pat[i]);
            count++;
        } while (next_perm(perm, n_db));
        for (int i = 0; i < 6; i++) bm[i] += sm[i] / (double)count / nq;
        for (int i = 0; i < 5; i++) bp[i] += sp[i] / (double)count / nq;
    }
    ok(maxdiff(r.tie_map, bm, 6) < 1e-12, "tie %s: tie-aware mAP@{1,2,3,5,7,all} = brute-force mean over all tied orders (max diff %.2e)",
       name, maxdiff(r.tie_map, bm, 6));
    ok(maxdiff(r.tie_pat, bp, 5) < 1e-12, "tie %s: tie-aware P@{1,2,4,6,all} = brute force (max diff %.2e)", name,
       maxdiff(r.tie_pat, bp, 5));
    eval_result_free(&r);
    free(pool), free(qc), free(dc), free(labels), free(qi), free(di);
}

/* Buckets of hundreds: the closed form against the mean over random orders
 * within the ties, within 5 standard errors; and with distinct distances
 * (no ties) equal to the usual metrics. */
static void tie_monte_carlo(void) {
    const int bits = 8, n_db = 400, nq = 3, nclasses = 3, draws = 4000;
    int64_t rb = 1;
    rng g;
    rng_seed(&g, 77);
    uint8_t qc[3] = {0x00, 0x0F, 0xFF}, dc[400];
    for (int j = 0; j < n_db; j++) dc[j] = (uint8_t)((1u << (rng_u64(&g) % 3)) - 1); /* 0x00, 0x01, 0x03: 3 buckets */
    uint8_t labels[403 * 3] = {0};
    int64_t qi[3] = {0, 1, 2}, di[400];
    for (int i = 0; i < 403; i++) labels[i * 3 + (int)(rng_u64(&g) % 3)] = 1;
    for (int j = 0; j < n_db; j++) di[j] = 3 + j;
    eval_input in = {qc, dc, nq, n_db, rb, bits, labels, 403, nclasses, qi, di};
    int64_t topk[3] = {50, 200, 0}, pat[2] = {100, 300};
    eval_lists l = {3, topk, 2, pat, 0, NULL};
    eval_result r;
    run(&r, &in, &l, 2);
    int rel[400], order[400], dist[400];
    int good = 1;
    double worst = 0;
    for (int i = 0; i < 3; i++) {
        double mean = 0, m2 = 0;
        for (int t = 0; t < draws; t++) {
            double ap = 0;
            for (int q = 0; q < nq; q++) {
                for (int j = 0; j < n_db; j++) order[j] = j, dist[j] = ham(&qc[q], &dc[j], 1);
                /* random order: shuffle, then a stable counting sort by distance */
                for (int j = n_db - 1; j > 0; j--) {
                    int k = (int)(rng_u64(&g) % (uint64_t)(j + 1)), x = order[j];
                    order[j] = order[k], order[k] = x;
                }
                int cntd[10] = {0}, sorted[400];
                for (int j = 0; j < n_db; j++) cntd[dist[order[j]] + 1]++;
                for (int d = 1; d < 10; d++) cntd[d] += cntd[d - 1];
                for (int j = 0; j < n_db; j++) sorted[cntd[dist[order[j]]]++] = order[j];
                memcpy(order, sorted, sizeof sorted);
                for (int k = 0; k < n_db; k++) rel[k] = relevant(&in, q, order[k]);
                ap += ap_at(rel, n_db, topk[i]) / nq;
            }
            double d = ap - mean;
            mean += d / (t + 1);
            m2 += d * (ap - mean);
        }
        double se = sqrt(m2 / (draws - 1) / draws), z = fabs(r.tie_map[i] - mean) / (se > 0 ? se : 1e-300);
        if (z > 5) good = 0;
        worst = fmax(worst, z);
    }
    ok(good, "tie Monte Carlo: buckets of ~130 items, mAP@{50,200,all} within 5 standard errors of %d random tied orders (worst %.2f)",
       draws, worst);
    eval_result_free(&r);
    /* distinct distances: the tie-aware metrics are the usual ones */
    uint8_t q1[1] = {0x00}, d1[9] = {0x00, 0x01, 0x03, 0x07, 0x0F, 0x1F, 0x3F, 0x7F, 0xFF};
    uint8_t lab[10 * 2] = {1, 0, 1, 0, 0, 1, 1, 0, 0, 1, 0, 1, 1, 0, 0, 1, 1, 0, 1, 0};
    int64_t qi1[1] = {0}, di1[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    eval_input in1 = {q1, d1, 1, 9, 1, 8, lab, 10, 2, qi1, di1};
    int64_t tk[3] = {3, 5, 0}, pa[2] = {2, 7};
    eval_lists l1 = {3, tk, 2, pa, 0, NULL};
    run(&r, &in1, &l1, 1);
    ok(maxdiff(r.tie_map, r.map, 3) < 1e-14 && maxdiff(r.tie_pat, r.pat, 2) < 1e-14,
       "tie: distinct distances give the usual mAP and P@N (diff %.1e)", maxdiff(r.tie_map, r.map, 3));
    eval_result_free(&r);
}

int main(void) {
    hand_case();
    check_errors();
    tie_brute_case("4 bits, 3 codes, 8 items, 2 classes", 4, 3, 2, 8, 4, 101);
    tie_brute_case("3 bits, 2 codes, 8 items, 3 classes", 3, 2, 3, 8, 3, 102);
    tie_brute_case("5 bits, 6 codes, 7 items, 2 classes", 5, 6, 2, 7, 5, 103);
    tie_brute_case("2 bits, 1 code, 8 items (one bucket)", 2, 1, 2, 8, 2, 104);
    tie_monte_carlo();
    random_case("16 bits, 6 codes, single-label", 16, 6, 5, 0, 40, 300, 1);
    random_case("16 bits, 3 codes, multi-label", 16, 3, 6, 1, 30, 257, 2);
    random_case("64 bits, 40 codes, multi-label", 64, 40, 4, 1, 25, 500, 3);
    random_case("128 bits, 9 codes, single-label", 128, 9, 10, 0, 20, 333, 4);
    random_case("24 bits, 200 codes, 70 classes", 24, 200, 70, 1, 20, 400, 5);
    random_case("12 bits (padded byte), 5 codes", 12, 5, 3, 0, 15, 100, 6);
    /* edge sizes of the bit-sliced layout */
    random_case("1 bit, 2 codes, n_db 1", 1, 2, 3, 0, 5, 1, 7);
    random_case("1 bit, 2 codes, n_db 70", 1, 2, 2, 1, 6, 70, 8);
    random_case("7 bits, 20 codes, n_db 64", 7, 20, 4, 0, 8, 64, 9);
    random_case("63 bits, 300 codes, n_db 65", 63, 300, 5, 0, 8, 65, 10);
    random_case("64 bits, 1000 codes, n_db 511", 64, 1000, 10, 0, 10, 511, 11);
    random_case("65 bits, 30 codes, n_db 512", 65, 30, 3, 1, 10, 512, 12);
    random_case("127 bits, 1000 codes, n_db 513", 127, 1000, 7, 0, 8, 513, 13);
    random_case("128 bits, 4 codes, n_db 1100, 2 classes", 128, 4, 2, 0, 8, 1100, 14);
    random_case("129 bits, 1000 codes, n_db 1025", 129, 1000, 9, 1, 6, 1025, 15);
    random_case("200 bits, 50 codes, n_db 700", 200, 50, 6, 0, 6, 700, 16);
    random_case("255 bits, 1000 codes, n_db 600", 255, 1000, 4, 0, 6, 600, 17);
    random_case("256 bits (portable), 30 codes, n_db 300", 256, 30, 4, 0, 6, 300, 18);
    random_case("32 bits, 2 codes, n_db 1500 (huge ties)", 32, 2, 5, 1, 10, 1500, 19);
    random_case("16 bits, 300 codes, 130 classes", 16, 300, 130, 1, 12, 900, 20);
    random_case("48 bits, 500 codes, 65 classes single-label", 48, 500, 65, 0, 12, 777, 21);
    /* > 1023 blocks, all at distance 0: the packed 16-bit counters must be
     * emptied before they wrap */
    random_case("8 bits, 1 code, n_db 527360 (counter refills)", 8, 1, 3, 0, 2, 527360, 22);
    return done_testing();
}
