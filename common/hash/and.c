/* and.c: see and.h. */
#include "hash/and.h"

#include <math.h>
#include <string.h>

#include "util/bits.h"
#include "hash/graph.h"
#include "util/util.h"

typedef struct and_ctx {
    const uint8_t *w;
    uint8_t *wout;
    and_task *tasks;
    const double *nrm;
    int64_t rb;
    double m;
} and_ctx;

/* Pass 1: per block pair, over the unordered pairs i < j it holds: count,
 * mean and sum of squared deviations of s over w = +1, the largest s over
 * w = -1 (so pass 2 can skip blocks with nothing to flip), and symmetry. */
static void stats_block(void *vctx, int tid, int64_t task, int64_t i0, int64_t ni, int64_t j0, int64_t nj,
                        const float *dot) {
    and_ctx *c = vctx;
    and_task *t = &c->tasks[task];
    /* One pass with sums shifted by the block's first w = +1 value K:
     * mean = K + S1/cnt, M2 = S2 - S1^2/cnt. Cosines lie in [-1, 1] and the
     * shift puts S1 near 0, so double loses nothing that matters here. */
    int64_t cnt = 0;
    double K = 0.0, s1 = 0.0, s2 = 0.0, maxneg = -INFINITY;
    int asym = 0;
    for (int64_t a = 0; a < ni; a++) {
        int64_t i = i0 + a;
        const uint8_t *wi = c->w + i * c->rb;
        for (int64_t b = i0 == j0 ? a + 1 : 0; b < nj; b++) {
            int64_t j = j0 + b;
            int wij = bits_get(wi, j);
            asym |= wij != bits_get(c->w + j * c->rb, i);
            double s = sim_cos(dot[a * nj + b], c->nrm[i], c->nrm[j]);
            if (wij) {
                if (cnt == 0) K = s;
                double dv = s - K;
                s1 += dv;
                s2 += dv * dv;
                cnt++;
            } else if (s > maxneg) maxneg = s;
        }
    }
    t->count = cnt;
    t->mean = cnt ? K + s1 / (double)cnt : 0.0;
    t->m2 = cnt ? fmax(0.0, s2 - s1 * s1 / (double)cnt) : 0.0;
    t->maxneg = maxneg;
    t->asym = asym;
}

static int flip_want(void *vctx, int64_t task) {
    and_ctx *c = vctx;
    return c->tasks[task].maxneg >= c->m;
}

/* Pass 2: set every w = -1 pair with s >= m, both directions. Rows of blocks I and J
 * belong to this block pair alone within a tournament round. */
static void flip_block(void *vctx, int tid, int64_t task, int64_t i0, int64_t ni, int64_t j0, int64_t nj,
                       const float *dot) {
    and_ctx *c = vctx;
    int64_t flips = 0;
    for (int64_t a = 0; a < ni; a++) {
        int64_t i = i0 + a;
        const uint8_t *wi = c->w + i * c->rb;
        for (int64_t b = i0 == j0 ? a + 1 : 0; b < nj; b++) {
            int64_t j = j0 + b;
            if (bits_get(wi, j)) continue;
            if (sim_cos(dot[a * nj + b], c->nrm[i], c->nrm[j]) >= c->m) {
                bits_set(c->wout + i * c->rb, j);
                bits_set(c->wout + j * c->rb, i);
                flips += 2;
            }
        }
    }
    c->tasks[task].flips = flips;
}

/* Chan et al.'s pairwise merge of (count, mean, M2). */
static void merge(int64_t *na, double *ma, double *m2a, int64_t nb, double mb, double m2b) {
    if (nb == 0) return;
    int64_t nn = *na + nb;
    double delta = mb - *ma;
    *ma += delta * (double)nb / (double)nn;
    *m2a += m2b + delta * delta * (double)*na * (double)nb / (double)nn;
    *na = nn;
}

int64_t and_update(uint8_t *wout, and_result *res, and_task *tasks, float *work, const uint8_t *w, const float *z,
                   const double *nrm, int64_t n, int64_t l, double gamma, int64_t bs, int threads,
                   int64_t *asym_j) {
    int64_t nb = sim_nblocks(n, bs), rb = bits_row_bytes(n);
    for (int64_t t = 0; t < nb * nb; t++) tasks[t] = (and_task){0, 0, 0.0, 0.0, -INFINITY, 0};
    and_ctx c = {w, wout, tasks, nrm, rb, 0.0};
    sim_blocks(work, z, n, l, bs, threads, stats_block, NULL, &c, "and: statistics");

    int asym = 0;
    for (int64_t t = 0; t < nb * nb; t++) asym |= tasks[t].asym;
    if (asym) {
        for (int64_t i = 0; i < n; i++)
            for (int64_t j = i + 1; j < n; j++)
                if (bits_get(w + i * rb, j) != bits_get(w + j * rb, i)) { *asym_j = j; return i; }
    }

    /* The diagonal: n pairs with s = 1; then each block pair in a fixed order,
     * its unordered pairs counted twice (ordered pairs (i,j) and (j,i)). */
    int64_t cnt = n;
    double mean = 1.0, m2 = 0.0;
    for (int64_t BI = 0; BI < nb; BI++)
        for (int64_t BJ = BI; BJ < nb; BJ++) {
            and_task *t = &tasks[BI * nb + BJ];
            merge(&cnt, &mean, &m2, 2 * t->count, t->mean, 2.0 * t->m2);
        }
    res->n_plus_before = cnt;
    res->mu = mean;
    res->sigma = sqrt(m2 / (double)(cnt - 1));
    res->m = res->mu + gamma * res->sigma;

    memcpy(wout, w, (size_t)(n * rb));
    c.m = res->m;
    sim_blocks(work, z, n, l, bs, threads, flip_block, flip_want, &c, "and: update");
    res->flipped = 0;
    for (int64_t t = 0; t < nb * nb; t++) res->flipped += tasks[t].flips;
    res->n_plus_after = res->n_plus_before + res->flipped;
    return -1;
}
