/* ssdh.c: see ssdh.h. */
#include "hash/ssdh.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util/bits.h"
#include "util/util.h"

#define SSDH_BLOCK 1024

static int bin_of(double d) {
    int b = (int)(d / 2.0 * SSDH_BINS);
    return b < 0 ? 0 : b >= SSDH_BINS ? SSDH_BINS - 1 : b;
}

static double mode_of(const int64_t *hist) {
    int best = 0;
    for (int b = 1; b < SSDH_BINS; b++)
        if (hist[b] > hist[best]) best = b;
    return (best + 0.5) * 2.0 / SSDH_BINS;
}

static void finish(ssdh_stats *st, double sl, double sr, double alpha, double beta) {
    st->sigma_l = st->n_left ? sqrt(sl / (double)st->n_left) : 0.0;
    st->sigma_r = st->n_right ? sqrt(sr / (double)st->n_right) : 0.0;
    st->d_l = st->mode - alpha * st->sigma_l;
    st->d_r = st->mode + beta * st->sigma_r;
}

void ssdh_stats_of(ssdh_stats *st, const float *d, int64_t count, double alpha, double beta) {
    memset(st, 0, sizeof *st);
    int64_t *hist = xcalloc(SSDH_BINS, sizeof(int64_t));
    for (int64_t i = 0; i < count; i++) hist[bin_of(d[i])]++;
    st->mode = mode_of(hist);
    free(hist);
    double sl = 0, sr = 0;
    for (int64_t i = 0; i < count; i++) {
        double e = d[i] - st->mode;
        if (e < 0) { sl += e * e; st->n_left++; }
        if (e > 0) { sr += e * e; st->n_right++; }
    }
    st->pairs = count;
    finish(st, sl, sr, alpha, beta);
    for (int64_t i = 0; i < count; i++) {
        st->n_pos += d[i] <= st->d_l;
        st->n_neg += d[i] >= st->d_r;
    }
}

/* visit(ctx, i, j, d) for every pair i < j, by blocks of rows */
typedef void (*pair_fn)(void *ctx, int64_t i, int64_t j, double d);

static void for_pairs(const float *u, int64_t n, int64_t dim, float *g, pair_fn fn, void *ctx) {
    for (int64_t i0 = 0; i0 < n; i0 += SSDH_BLOCK) {
        int64_t bi = n - i0 < SSDH_BLOCK ? n - i0 : SSDH_BLOCK;
        for (int64_t j0 = i0; j0 < n; j0 += SSDH_BLOCK) {
            int64_t bj = n - j0 < SSDH_BLOCK ? n - j0 : SSDH_BLOCK;
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)bi, (int)bj, (int)dim, 1.0f, u + i0 * dim,
                        (int)dim, u + j0 * dim, (int)dim, 0.0f, g, (int)bj);
            for (int64_t a = 0; a < bi; a++)
                for (int64_t b = 0; b < bj; b++)
                    if (i0 + a < j0 + b) fn(ctx, i0 + a, j0 + b, 1.0 - (double)g[a * bj + b]);
        }
    }
}

typedef struct pass_ctx {
    int64_t *hist;
    double mode, sl, sr, d_l, d_r;
    ssdh_stats *st;
    uint8_t *sign, *mask;
    int64_t rb;
} pass_ctx;

static void visit_hist(void *c, int64_t i, int64_t j, double d) { ((pass_ctx *)c)->hist[bin_of(d)]++; }

static void visit_sides(void *vc, int64_t i, int64_t j, double d) {
    pass_ctx *c = vc;
    double e = d - c->mode;
    if (e < 0) { c->sl += e * e; c->st->n_left++; }
    if (e > 0) { c->sr += e * e; c->st->n_right++; }
}

static void visit_set(void *vc, int64_t i, int64_t j, double d) {
    pass_ctx *c = vc;
    int pos = d <= c->d_l, neg = d >= c->d_r;
    c->st->n_pos += pos;
    c->st->n_neg += neg;
    if (!c->sign || !(pos || neg)) return;
    bits_set(c->mask + i * c->rb, j);
    bits_set(c->mask + j * c->rb, i);
    if (pos) {
        bits_set(c->sign + i * c->rb, j);
        bits_set(c->sign + j * c->rb, i);
    }
}

void ssdh_similarity(ssdh_stats *st, uint8_t *sign, uint8_t *mask, const float *f, int64_t n, int64_t dim,
                     double alpha, double beta) {
    memset(st, 0, sizeof *st);
    float *u = xaligned(sizeof(float) * (size_t)(n * dim)), *g = xaligned(sizeof(float) * SSDH_BLOCK * SSDH_BLOCK);
    for (int64_t i = 0; i < n; i++) { /* unit rows; a zero row stays zero (cos 0, distance 1) */
        double s = 0;
        for (int64_t k = 0; k < dim; k++) s += (double)f[i * dim + k] * f[i * dim + k];
        double inv = s > 0 ? 1.0 / sqrt(s) : 0.0;
        for (int64_t k = 0; k < dim; k++) u[i * dim + k] = (float)(f[i * dim + k] * inv);
    }
    pass_ctx c = {0};
    c.st = st;
    c.hist = xcalloc(SSDH_BINS, sizeof(int64_t));
    for_pairs(u, n, dim, g, visit_hist, &c);
    st->mode = c.mode = mode_of(c.hist);
    for_pairs(u, n, dim, g, visit_sides, &c);
    st->pairs = n * (n - 1) / 2;
    finish(st, c.sl, c.sr, alpha, beta);
    c.d_l = st->d_l;
    c.d_r = st->d_r;
    c.rb = bits_row_bytes(n);
    c.sign = sign;
    c.mask = mask;
    if (sign) {
        memset(sign, 0, (size_t)(n * c.rb));
        memset(mask, 0, (size_t)(n * c.rb));
        for (int64_t i = 0; i < n; i++) { /* S_ii = +1 */
            bits_set(sign + i * c.rb, i);
            bits_set(mask + i * c.rb, i);
        }
    }
    for_pairs(u, n, dim, g, visit_set, &c);
    free(c.hist);
    free(u);
    free(g);
}
