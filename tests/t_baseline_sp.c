/* t_baseline_sp: Sparse Projections: the objective of every iteration,
 * recomputed by plain loops from its definition
 *   J = (1/n) ||sgn(Xc W) - Xc W||_F^2 + lambda ||W^T W - I||_F^2,
 * never increases and ends below its start; the projection keeps at most t
 * non-zeros; the ℓ0 projection keeps the t largest magnitudes (ties: lower
 * index) on a hand-worked case; same input, same codes. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "hash/baseline_sp.h"
#include "util/rng.h"
#include "tap.h"

enum { N = 300, D = 24, B = 8, IT = 15 };

/* H_t by a full sort: indices by (|w| descending, index ascending), the first t kept */
static const float *sort_w;
static int by_mag_then_index(const void *a, const void *b) {
    int i = *(const int *)a, j = *(const int *)b;
    float x = fabsf(sort_w[i]), y = fabsf(sort_w[j]);
    if (x != y) return x > y ? -1 : 1;
    return (i > j) - (i < j);
}

static void keep_largest_by_sort(float *w, int count, int t) {
    int idx[256];
    for (int i = 0; i < count; i++) idx[i] = i;
    sort_w = w;
    qsort(idx, (size_t)count, sizeof *idx, by_mag_then_index);
    for (int i = t; i < count; i++) w[idx[i]] = 0.0f;
}

static double j_by_loops(const float *x, const float *mean, const float *w, double lambda) {
    double fit = 0, orth = 0;
    for (int i = 0; i < N; i++)
        for (int b = 0; b < B; b++) {
            double z = 0;
            for (int k = 0; k < D; k++) z += ((double)x[i * D + k] - mean[k]) * w[k * B + b];
            double s = z >= 0 ? 1 : -1;
            fit += (s - z) * (s - z);
        }
    for (int a = 0; a < B; a++)
        for (int b = 0; b < B; b++) {
            double g = 0;
            for (int k = 0; k < D; k++) g += (double)w[k * B + a] * w[k * B + b];
            g -= a == b;
            orth += g * g;
        }
    return fit / N + lambda * orth;
}

int main(void) {
    float h[8] = {0.5f, -3, 2, -2, 0, 1, 2, -0.25f};
    sp_keep_largest(h, 8, 3); /* |.|: 3 (i1), then 2 at i2, i3, i6: i2 and i3 kept */
    const float want[8] = {0, -3, 2, -2, 0, 0, 0, 0};
    ok(!memcmp(h, want, sizeof h), "keep_largest: t = 3 of {0.5,-3,2,-2,0,1,2,-0.25} keeps -3, 2 (i2), -2 (i3)");

    /* many ties (values from a small set, signed zeros) and distinct values,
     * every t from 0 to count: the selection equals the full sort */
    int same = 1;
    rng gt;
    rng_seed(&gt, 17);
    for (int trial = 0; trial < 300; trial++) {
        int count = 1 + (int)rng_below(&gt, 256), t = (int)rng_below(&gt, (uint64_t)count + 1);
        float a[256], r[256];
        for (int i = 0; i < count; i++) {
            float v = trial % 2 ? (float)((int)rng_below(&gt, 7) - 3) * 0.5f : (float)rng_normal(&gt) * 1e-3f;
            a[i] = r[i] = (v == 0.0f && rng_below(&gt, 2)) ? -0.0f : v;
        }
        sp_keep_largest(a, count, t);
        keep_largest_by_sort(r, count, t);
        same &= !memcmp(a, r, sizeof(float) * (size_t)count);
    }
    ok(same, "keep_largest: equals a full sort by (|w| desc, index asc) on 300 random cases with ties, every t");

    static float x[N * D];
    rng g;
    rng_seed(&g, 9);
    for (int i = 0; i < N; i++) {
        double f1 = rng_normal(&g), f2 = rng_normal(&g);
        for (int k = 0; k < D; k++) x[i * D + k] = (float)(f1 * (k % 3) + f2 * (k % 5 == 0) + 0.3 * rng_normal(&g) + 1);
    }
    const double density = 0.25, lambda = 1.0;
    baseline_model m;
    baseline_model_alloc(&m, D, B, IT);
    char err[200];
    ok(sp_fit(&m, x, N, density, lambda, err, sizeof err) == 0, "sp: fit succeeds");
    int nnz = 0;
    for (int i = 0; i < D * B; i++) nnz += m.proj[i] != 0.0f;
    ok(nnz <= (int)lround(density * D * B) && nnz > 0, "sp: %d non-zeros <= t = %ld", nnz, lround(density * D * B));
    /* recompute J(W_t) for every t: refit with iters = t (the run is deterministic) */
    double jt[IT + 1];
    int mono = 1, match = 1;
    for (int t = 0; t <= IT; t++) {
        baseline_model mt;
        baseline_model_alloc(&mt, D, B, t);
        sp_fit(&mt, x, N, density, lambda, err, sizeof err);
        jt[t] = j_by_loops(x, mt.mean, mt.proj, lambda);
        match &= fabs(jt[t] - m.loss[t]) <= 1e-4 * jt[t];
        if (t > 0) mono &= jt[t] <= jt[t - 1] * (1 + 1e-6);
        baseline_model_free(&mt);
    }
    ok(match, "sp: the recorded loss is J by loops at every iteration (J_0 %.6f, J_%d %.6f)", jt[0], IT, jt[IT]);
    ok(mono && jt[IT] < 0.99 * jt[0], "sp: J never increases over %d iterations and falls by > 1%% (%.5f -> %.5f)", IT,
       jt[0], jt[IT]);
    baseline_model m2;
    baseline_model_alloc(&m2, D, B, IT);
    sp_fit(&m2, x, N, density, lambda, err, sizeof err);
    ok(!memcmp(m.proj, m2.proj, sizeof(float) * D * B), "sp: same input, same projection");
    baseline_model_free(&m2);
    baseline_model_free(&m);
    return done_testing();
}
