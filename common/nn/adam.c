/* adam.c: see adam.h. */
#include "nn/adam.h"

#include <math.h>
#include <stdlib.h>

#include "util/util.h"

void adam_init(adam *a, int64_t n, double eps) {
    a->n = n;
    a->m = xcalloc(n > 0 ? (size_t)n : 1, sizeof(float));
    a->v = xcalloc(n > 0 ? (size_t)n : 1, sizeof(float));
    a->t = 0;
    a->b1 = 0.9;
    a->b2 = 0.999;
    a->eps = eps;
}

void adam_free(adam *a) {
    free(a->m);
    free(a->v);
    a->m = a->v = NULL;
}

void adam_step(adam *a, float *theta, const float *g, double lr) {
    a->t++;
    /* 1 - b in double, then rounded: (1 - 0.999f) in float is 1.3e-5 off 0.001 */
    const float b1 = (float)a->b1, b2 = (float)a->b2, c1 = (float)(1 - a->b1), c2 = (float)(1 - a->b2),
                eps = (float)a->eps;
    const float lrt = (float)(lr * sqrt(1 - pow(a->b2, (double)a->t)) / (1 - pow(a->b1, (double)a->t)));
    float *m = a->m, *v = a->v;
    const int64_t n = a->n;
#pragma omp parallel for simd schedule(static) if (n > 65536)
    for (int64_t i = 0; i < n; i++) {
        const float gi = g[i];
        m[i] = b1 * m[i] + c1 * gi;
        v[i] = b2 * v[i] + c2 * gi * gi;
        theta[i] -= lrt * m[i] / (sqrtf(v[i]) + eps);
    }
}

double lr_at(double lr0, double factor, int64_t every, int64_t step) {
    if (every <= 0) return lr0;
    return lr0 * pow(factor, (double)(step / every));
}
