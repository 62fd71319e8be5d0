/* tsne.c: see tsne.h. */
#define _GNU_SOURCE
#include "report/tsne.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util/rng.h"
#include "util/util.h"

void tsne_default_opts(tsne_opts *o) {
    o->perplexity = 30.0;
    o->iters = 1000;
    o->exag_iters = 250;
    o->exaggeration = 12.0;
    o->lr = 0.0;
    o->seed = 0;
}

void tsne_sqdist(float *D2, const float *X, int64_t n, int64_t d) {
#pragma omp parallel for schedule(dynamic, 16)
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < n; j++) {
            double s = 0.0;
            for (int64_t k = 0; k < d; k++) {
                double t = (double)X[i * d + k] - (double)X[j * d + k];
                s += t * t;
            }
            D2[i * n + j] = i == j ? 0.0f : (float)s;
        }
}

void tsne_joint_p(float *P, double *beta_out, const float *D2, int64_t n, double perplexity) {
    CHECK(n >= 2 && perplexity > 0);
    const double target = log(perplexity);
#pragma omp parallel for schedule(dynamic, 16)
    for (int64_t i = 0; i < n; i++) {
        const float *d = D2 + i * n;
        float *p = P + i * n;
        double beta = 1.0, lo = -INFINITY, hi = INFINITY, sum = 0.0;
        for (int step = 0; step < 100; step++) {
            double sdp = 0.0;
            sum = 0.0;
            for (int64_t j = 0; j < n; j++) {
                double v = j == i ? 0.0 : exp(-(double)d[j] * beta);
                p[j] = (float)v;
                sum += v;
            }
            if (sum == 0.0) sum = 1e-8; /* sklearn's EPSILON_DBL */
            for (int64_t j = 0; j < n; j++) sdp += (double)d[j] * (double)p[j];
            const double H = log(sum) + beta * sdp / sum;
            if (fabs(H - target) <= 1e-5) break;
            if (H > target) { /* too flat: raise the precision */
                lo = beta;
                beta = hi == INFINITY ? beta * 2.0 : (beta + hi) / 2.0;
            } else {
                hi = beta;
                beta = lo == -INFINITY ? beta / 2.0 : (beta + lo) / 2.0;
            }
        }
        for (int64_t j = 0; j < n; j++) p[j] = (float)((double)p[j] / sum);
        if (beta_out) beta_out[i] = beta;
    }
    /* symmetrise: (P + P^T) / sum, the sum being 2n up to rounding */
    double total = 0.0;
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = i + 1; j < n; j++) {
            float s = P[i * n + j] + P[j * n + i];
            P[i * n + j] = P[j * n + i] = s;
            total += 2.0 * (double)s;
        }
    const double inv = 1.0 / (total > 2.2e-16 ? total : 2.2e-16);
    for (int64_t i = 0; i < n * n; i++) P[i] = (float)((double)P[i] * inv);
}

double tsne_kl_grad(double *grad, const double *Y, const float *P, int64_t n, double exag) {
    /* Z = sum_{i != j} 1 / (1 + |y_i - y_j|^2): per-row sums, reduced in order */
    double *rowz = xmalloc(sizeof(double) * (size_t)n), *rowkl = xmalloc(sizeof(double) * (size_t)n);
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; i++) {
        double s = 0.0;
        for (int64_t j = 0; j < n; j++) {
            if (j == i) continue;
            const double dx = Y[2 * i] - Y[2 * j], dy = Y[2 * i + 1] - Y[2 * j + 1];
            s += 1.0 / (1.0 + dx * dx + dy * dy);
        }
        rowz[i] = s;
    }
    double Z = 0.0;
    for (int64_t i = 0; i < n; i++) Z += rowz[i];
    const double invZ = 1.0 / Z;
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; i++) {
        double gx = 0.0, gy = 0.0, kl = 0.0;
        for (int64_t j = 0; j < n; j++) {
            if (j == i) continue;
            const double dx = Y[2 * i] - Y[2 * j], dy = Y[2 * i + 1] - Y[2 * j + 1];
            const double w = 1.0 / (1.0 + dx * dx + dy * dy), q = w * invZ, p = (double)P[i * n + j];
            const double c = (exag * p - q) * w;
            gx += c * dx;
            gy += c * dy;
            if (p > 0) kl += p * log(p / (q > 1e-300 ? q : 1e-300));
        }
        grad[2 * i] = 4.0 * gx;
        grad[2 * i + 1] = 4.0 * gy;
        rowkl[i] = kl;
    }
    double kl = 0.0;
    for (int64_t i = 0; i < n; i++) kl += rowkl[i];
    free(rowz);
    free(rowkl);
    return kl;
}

double tsne_run(double *Y, double *scratch, const float *P, int64_t n, const tsne_opts *o) {
    CHECK(n >= 2 && o->iters >= 0 && o->exag_iters >= 0);
    rng r;
    rng_seed(&r, o->seed ^ rng_hash64(0x74736e65ULL)); /* "tsne" */
    for (int64_t i = 0; i < 2 * n; i++) Y[i] = 1e-4 * rng_normal(&r);
    double *grad = scratch, *update = scratch + 2 * n, *gains = scratch + 4 * n;
    for (int64_t i = 0; i < 2 * n; i++) update[i] = 0.0, gains[i] = 1.0;
    const double lr = o->lr > 0 ? o->lr : fmax((double)n / o->exaggeration / 4.0, 50.0);
    double kl = 0.0;
    for (int it = 0; it < o->iters; it++) {
        const int early = it < o->exag_iters;
        const double momentum = early ? 0.5 : 0.8;
        kl = tsne_kl_grad(grad, Y, P, n, early ? o->exaggeration : 1.0);
        for (int64_t i = 0; i < 2 * n; i++) {
            const int same = update[i] * grad[i] < 0.0;
            gains[i] = same ? gains[i] + 0.2 : gains[i] * 0.8;
            if (gains[i] < 0.01) gains[i] = 0.01;
            update[i] = momentum * update[i] - lr * gains[i] * grad[i];
            Y[i] += update[i];
        }
    }
    if (o->iters == 0 || o->iters <= o->exag_iters) kl = tsne_kl_grad(grad, Y, P, n, 1.0);
    return kl;
}

/* order of indices by (D2 row value, index) */
static int cmp_by_d(const void *a, const void *b, void *row) {
    const int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    const float *d = row;
    if (d[x] != d[y]) return d[x] < d[y] ? -1 : 1;
    return (x > y) - (x < y);
}

double tsne_trustworthiness(const float *D2, const double *Y, int64_t n, int k) {
    CHECK(k >= 1 && 2 * (int64_t)k < n);
    double total = 0.0;
    double *rowt = xcalloc((size_t)n, sizeof(double));
#pragma omp parallel
    {
        int64_t *rank = xmalloc(sizeof(int64_t) * (size_t)n), *ord = xmalloc(sizeof(int64_t) * (size_t)n);
        int64_t *nn = xmalloc(sizeof(int64_t) * (size_t)k);
        double *nd = xmalloc(sizeof(double) * (size_t)k);
#pragma omp for schedule(dynamic, 8)
        for (int64_t i = 0; i < n; i++) {
            const float *d = D2 + i * n;
            /* rank of j among the input neighbours of i: 1 + #{l != i: (d_l, l) < (d_j, j)} */
            int64_t m0 = 0;
            for (int64_t j = 0; j < n; j++)
                if (j != i) ord[m0++] = j;
            qsort_r(ord, (size_t)m0, sizeof *ord, cmp_by_d, (void *)d);
            rank[i] = 0;
            for (int64_t r = 0; r < m0; r++) rank[ord[r]] = r + 1;
            /* the k nearest in the embedding, by (distance, index) */
            int m = 0;
            for (int64_t j = 0; j < n; j++) {
                if (j == i) continue;
                const double dx = Y[2 * i] - Y[2 * j], dy = Y[2 * i + 1] - Y[2 * j + 1], e = dx * dx + dy * dy;
                if (m < k || e < nd[m - 1]) {
                    int p = m < k ? m++ : k - 1;
                    while (p > 0 && nd[p - 1] > e) { nd[p] = nd[p - 1]; nn[p] = nn[p - 1]; p--; }
                    nd[p] = e;
                    nn[p] = j;
                }
            }
            double t = 0.0;
            for (int a = 0; a < m; a++)
                if (rank[nn[a]] > k) t += (double)(rank[nn[a]] - k);
            rowt[i] = t;
        }
        free(rank);
        free(ord);
        free(nn);
        free(nd);
    }
    for (int64_t i = 0; i < n; i++) total += rowt[i];
    free(rowt);
    return 1.0 - 2.0 / ((double)n * k * (2.0 * n - 3.0 * k - 1.0)) * total;
}
