/* t_baseline: LSH layout and sign by hand, ITQ's monotone quantisation loss
 * and orthonormal projection, and ITQ, SH, 1-/2-AGH, SP and SGH beating LSH on
 * clustered data (each deterministic for a seed). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "hash/baseline.h"
#include "hash/baseline_agh.h"
#include "hash/baseline_sh.h"
#include "hash/baseline_sp.h"
#include "nn/sgh.h"
#include "hash/eval.h"
#include "util/rng.h"
#include "tap.h"

static void lsh_by_hand(void) {
    /* dim 3, 16 bits: P is the documented stream, drawn row-major */
    const int64_t d = 3, b = 16;
    float x[4 * 3] = {1, 2, 3, 3, 2, 1, 0, 0, 0, 4, 4, 4}; /* mean = (2, 2, 2) */
    baseline_model m;
    baseline_ws ws;
    baseline_model_alloc(&m, d, (int)b, 0);
    baseline_ws_alloc(&ws, 0, d, (int)b);
    baseline_fit_lsh(&m, &ws, x, 4, 42);
    rng g;
    rng_seed(&g, 42 ^ rng_hash64(BASELINE_PURPOSE_LSH));
    int same = 1;
    for (int64_t i = 0; i < d * b; i++) same &= m.proj[i] == (float)rng_normal(&g);
    ok(same, "lsh: projection is the seeded N(0,1) stream in row-major order");
    ok(m.mean[0] == 2.0f && m.mean[1] == 2.0f && m.mean[2] == 2.0f, "lsh: training mean (2,2,2)");
    float y[2 * 3] = {5, -1, 2, 2, 2, 2}; /* row 1 equals the mean: all projections 0 */
    uint8_t codes[2 * 2];
    baseline_encode(codes, &m, &ws, y, 2);
    uint8_t want[2] = {0, 0};
    for (int k = 0; k < b; k++) {
        double v = 3.0 * m.proj[0 * b + k] + -3.0 * m.proj[1 * b + k] + 0.0 * m.proj[2 * b + k];
        if (v >= 0) want[k / 8] |= (uint8_t)(1u << (k % 8)); /* bit k: byte k/8, LSB first */
    }
    ok(codes[0] == want[0] && codes[1] == want[1], "lsh: bits of (x-mean)P by hand: %02x %02x (want %02x %02x)",
       codes[0], codes[1], want[0], want[1]);
    ok(codes[2] == 0xFF && codes[3] == 0xFF, "lsh: x = mean projects to 0 and sgn(0) = +1 gives bit 1");
    baseline_ws_free(&ws);
    baseline_model_free(&m);
}

/* n points in dim d around `clusters` Gaussian centres; labels = cluster. */
static void clustered(float *x, int *y, int64_t n, int64_t d, const float *centres, int clusters, double noise,
                      rng *g) {
    for (int64_t i = 0; i < n; i++) {
        int c = (int)rng_below(g, (uint64_t)clusters);
        y[i] = c;
        for (int64_t k = 0; k < d; k++) x[i * d + k] = centres[c * d + k] + (float)(noise * rng_normal(g));
    }
}

/* mAP over the whole database of packed codes qc [nq, bits/8], dc [nd, bits/8] */
static double map_codes(const uint8_t *qc, const uint8_t *dc, int64_t nq, int64_t nd, int bits, const uint8_t *labels,
                        int classes) {
    int64_t rb = bits / 8;
    int64_t *qi = malloc(sizeof(int64_t) * (size_t)nq), *di = malloc(sizeof(int64_t) * (size_t)nd);
    for (int64_t i = 0; i < nq; i++) qi[i] = i;
    for (int64_t i = 0; i < nd; i++) di[i] = nq + i;
    eval_input in = {qc, dc, nq, nd, rb, bits, labels, nq + nd, classes, qi, di};
    int64_t topk[1] = {0};
    eval_lists l = {1, topk, 0, NULL, 0, NULL};
    eval_ws ews;
    eval_result r;
    eval_ws_alloc(&ews, &in, &l, 1);
    eval_result_alloc(&r, &l, bits);
    eval_compute(&r, &ews, &in, &l);
    double v = r.map[0];
    eval_result_free(&r);
    eval_ws_free(&ews);
    free(qi);
    free(di);
    return v;
}

static double map_of(const baseline_model *m, baseline_ws *ws, const float *xq, const float *xd, int64_t nq,
                     int64_t nd, const uint8_t *labels, int classes) {
    int64_t rb = m->bits / 8;
    uint8_t *qc = malloc((size_t)(nq * rb)), *dc = malloc((size_t)(nd * rb));
    baseline_encode(qc, m, ws, xq, nq);
    baseline_encode(dc, m, ws, xd, nd);
    double v = map_codes(qc, dc, nq, nd, m->bits, labels, classes);
    free(qc);
    free(dc);
    return v;
}

/* codes of xq and xd by method (sh, agh1, agh2, sp, sgh) fitted on xt; twice, to
 * check that the same seed gives the same codes; returns the mAP */
static double learned_map(const char *method, int bits, const float *xt, int64_t nt, const float *xq, int64_t nq,
                          const float *xd, int64_t nd, int64_t d, const uint8_t *labels, int classes, int *same) {
    int64_t rb = bits / 8;
    uint8_t *qc[2], *dc[2];
    char err[200];
    for (int rep = 0; rep < 2; rep++) {
        qc[rep] = malloc((size_t)(nq * rb));
        dc[rep] = malloc((size_t)(nd * rb));
        int rc;
        if (!strcmp(method, "sh")) {
            sh_model m;
            sh_model_alloc(&m, d, bits);
            rc = sh_fit(&m, xt, nt, err, sizeof err);
            sh_encode(qc[rep], &m, xq, nq);
            sh_encode(dc[rep], &m, xd, nd);
            sh_model_free(&m);
        } else if (!strcmp(method, "sgh")) {
            sgh_model m;
            sgh_model_alloc(&m, d, bits, 30);
            sgh_fit(&m, xt, nt, 100, 1e-3, 3);
            rc = 0;
            if (rep == 0)
                ok(m.loss[30] < 0.9 * m.loss[0], "sgh %d bits: training loss falls by > 10%% in 30 epochs (%.4f -> %.4f)",
                   bits, m.loss[0], m.loss[30]);
            sgh_encode(qc[rep], &m, xq, nq);
            sgh_encode(dc[rep], &m, xd, nd);
            sgh_model_free(&m);
        } else if (!strcmp(method, "sp")) {
            baseline_model m;
            baseline_ws ws;
            baseline_model_alloc(&m, d, bits, 20);
            baseline_ws_alloc(&ws, 0, d, bits);
            rc = sp_fit(&m, xt, nt, 0.1, 1.0, err, sizeof err);
            baseline_encode(qc[rep], &m, &ws, xq, nq);
            baseline_encode(dc[rep], &m, &ws, xd, nd);
            baseline_ws_free(&ws);
            baseline_model_free(&m);
        } else {
            agh_model m;
            agh_model_alloc(&m, d, bits, method[3] == '2' ? 2 : 1, 100, 2);
            rc = agh_fit(&m, xt, nt, 5, 0.0f, 3, err, sizeof err);
            agh_encode(qc[rep], &m, xq, nq);
            agh_encode(dc[rep], &m, xd, nd);
            agh_model_free(&m);
        }
        if (rc) diag("%s: %s", method, err);
    }
    *same = !memcmp(qc[0], qc[1], (size_t)(nq * rb)) && !memcmp(dc[0], dc[1], (size_t)(nd * rb));
    double v = map_codes(qc[0], dc[0], nq, nd, bits, labels, classes);
    for (int rep = 0; rep < 2; rep++) {
        free(qc[rep]);
        free(dc[rep]);
    }
    return v;
}

/* 10 Gaussian clusters in 64-d (centres N(0, 1), the given noise): 1500
 * training, 200 query and 1500 database rows, one-hot labels of query then db */
enum { CD = 64, CT = 1500, CQ = 200, CB = 1500, CK = 10 };
typedef struct cluster_set {
    float *xt, *xq, *xd;
    uint8_t *labels;
} cluster_set;

static cluster_set cluster_set_make(double noise) {
    cluster_set c;
    rng g;
    rng_seed(&g, 7);
    float *centres = malloc(sizeof(float) * CK * CD);
    for (int64_t i = 0; i < CK * CD; i++) centres[i] = (float)rng_normal(&g);
    c.xt = malloc(sizeof(float) * CT * CD);
    c.xq = malloc(sizeof(float) * CQ * CD);
    c.xd = malloc(sizeof(float) * CB * CD);
    int *yt = malloc(sizeof(int) * CT), *yq = malloc(sizeof(int) * CQ), *yd = malloc(sizeof(int) * CB);
    clustered(c.xt, yt, CT, CD, centres, CK, noise, &g);
    clustered(c.xq, yq, CQ, CD, centres, CK, noise, &g);
    clustered(c.xd, yd, CB, CD, centres, CK, noise, &g);
    c.labels = calloc((CQ + CB) * CK, 1);
    for (int64_t i = 0; i < CQ; i++) c.labels[i * CK + yq[i]] = 1;
    for (int64_t i = 0; i < CB; i++) c.labels[(CQ + i) * CK + yd[i]] = 1;
    free(centres);
    free(yt);
    free(yq);
    free(yd);
    return c;
}

static void cluster_set_free(cluster_set *c) {
    free(c->xt);
    free(c->xq);
    free(c->xd);
    free(c->labels);
}

static void itq_vs_lsh(void) {
    const int64_t d = CD, nt = CT, nq = CQ, nd = CB;
    const int K = CK;
    cluster_set cs = cluster_set_make(1.0);
    const float *xt = cs.xt, *xq = cs.xq, *xd = cs.xd;
    const uint8_t *labels = cs.labels;

    for (int bits = 16; bits <= 32; bits += 16) {
        baseline_model ml, mi;
        baseline_ws ws;
        const int iters = 50;
        baseline_model_alloc(&ml, d, bits, 0);
        baseline_model_alloc(&mi, d, bits, iters);
        baseline_ws_alloc(&ws, nt, d, bits);
        baseline_fit_lsh(&ml, &ws, xt, nt, 3);
        char err[200];
        int rc = baseline_fit_itq(&mi, &ws, xt, nt, 3, err, sizeof err);
        ok(rc == 0, "itq %d bits: fit succeeds", bits);
        /* non-increasing loss: each alternating step can only lower
         * ||B - VR||^2; float GEMMs allow a relative 1e-6 wobble */
        int mono = 1, worst = -1;
        for (int t = 0; t < iters; t++)
            if (mi.loss[t + 1] > mi.loss[t] * (1.0 + 1e-6)) { mono = 0; worst = t; }
        ok(mono, "itq %d bits: quantisation loss never increases (%.6g -> %.6g)%s", bits, mi.loss[0],
           mi.loss[iters], worst >= 0 ? " VIOLATED" : "");
        ok(mi.loss[iters] < 0.99 * mi.loss[0], "itq %d bits: the rotation lowers the loss by > 1%%", bits);
        /* P = W R with orthonormal W columns and orthogonal R: P^T P = I */
        double err_orth = 0;
        for (int a = 0; a < bits; a++)
            for (int c = 0; c < bits; c++) {
                double s = 0;
                for (int64_t k = 0; k < d; k++) s += (double)mi.proj[k * bits + a] * mi.proj[k * bits + c];
                err_orth = fmax(err_orth, fabs(s - (a == c)));
            }
        ok(err_orth < 1e-4, "itq %d bits: projection has orthonormal columns (max |P^T P - I| = %.2g)", bits,
           err_orth);
        double map_l = map_of(&ml, &ws, xq, xd, nq, nd, labels, K);
        double map_i = map_of(&mi, &ws, xq, xd, nq, nd, labels, K);
        ok(map_i > map_l, "itq %d bits: mAP@all %.4f > lsh %.4f on 10 clusters in 64-d", bits, map_i, map_l);

        baseline_model_free(&ml);
        baseline_model_free(&mi);
        baseline_ws_free(&ws);
    }
    cluster_set_free(&cs);
}

/* SH, 1-/2-AGH, SP and SGH at 16 bits on tighter clusters (noise 0.6: SH's and
 * SP's margins over LSH shrink to nothing by 32 bits on the looser set) */
static void learned_vs_lsh(void) {
    const int64_t d = CD, nt = CT, nq = CQ, nd = CB;
    const int K = CK;
    cluster_set cs = cluster_set_make(0.6);
    const float *xt = cs.xt, *xq = cs.xq, *xd = cs.xd;
    const uint8_t *labels = cs.labels;

    const int bits = 16;
    baseline_model ml;
    baseline_ws ws;
    baseline_model_alloc(&ml, d, bits, 0);
    baseline_ws_alloc(&ws, 0, d, bits);
    baseline_fit_lsh(&ml, &ws, xt, nt, 3);
    double map_l = map_of(&ml, &ws, xq, xd, nq, nd, labels, K);
    baseline_model_free(&ml);
    baseline_ws_free(&ws);
    const char *learned[] = {"sh", "agh1", "agh2", "sp", "sgh"};
    for (int k = 0; k < 5; k++) {
        int same = 0;
        double v = learned_map(learned[k], bits, xt, nt, xq, nq, xd, nd, d, labels, K, &same);
        ok(v > map_l + 0.1, "%s %d bits: mAP@all %.4f > lsh %.4f + 0.1 on 10 clusters in 64-d (noise 0.6)", learned[k],
           bits, v, map_l);
        ok(same, "%s %d bits: same seed, same codes", learned[k], bits);
    }
    cluster_set_free(&cs);
}

int main(void) {
    lsh_by_hand();
    itq_vs_lsh();
    learned_vs_lsh();
    return done_testing();
}
