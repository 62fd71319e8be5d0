/* t_tsne: the exact t-SNE of common/report/tsne.h.
 *   - perplexity calibration: every row's conditional has entropy log(perp);
 *     P symmetric, zero diagonal, sum 1, equal to (P_j|i + P_i|j) / 2n
 *     recomputed here from the precisions;
 *   - KL(P||Q) against a direct double loop, and its gradient against
 *     central differences;
 *   - trustworthiness against its definition with brute-force ranks, and
 *     1 for an embedding equal to the (2-D) input;
 *   - the optimiser separates three clusters (trustworthiness > 0.95,
 *     KL lower than at the start) and gives identical bytes for 1 and 2
 *     threads and the same seed (plain C loops, fixed reduction order).
 * The comparison with sklearn.manifold.TSNE is tests/t_tsne.t. */
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "report/tsne.h"
#include "util/rng.h"
#include "tap.h"

static void gauss_clusters(float *X, int *cls, int n, int d, int k, double spread, uint64_t seed) {
    rng r;
    rng_seed(&r, seed);
    double *centre = malloc(sizeof(double) * (size_t)(k * d));
    for (int c = 0; c < k * d; c++) centre[c] = 10.0 * rng_normal(&r);
    for (int i = 0; i < n; i++) {
        cls[i] = i % k;
        for (int j = 0; j < d; j++) X[i * d + j] = (float)(centre[cls[i] * d + j] + spread * rng_normal(&r));
    }
    free(centre);
}

static void calibration(void) {
    enum { n = 60, d = 5 };
    float X[n * d], D2[n * n], P[n * n];
    int cls[n];
    double beta[n], perp = 7.5;
    gauss_clusters(X, cls, n, d, 3, 3.0, 11);
    tsne_sqdist(D2, X, n, d);
    tsne_joint_p(P, beta, D2, n, perp);
    double worst = 0, asym = 0, sum = 0, diag = 0, joint = 0;
    static double cond[n][n];
    for (int i = 0; i < n; i++) {
        double z = 0, h = 0;
        for (int j = 0; j < n; j++) z += j == i ? 0 : exp(-beta[i] * D2[i * n + j]);
        for (int j = 0; j < n; j++) {
            double p = j == i ? 0 : exp(-beta[i] * D2[i * n + j]) / z;
            cond[i][j] = p;
            if (p > 0) h -= p * log(p);
        }
        worst = fmax(worst, fabs(h - log(perp)));
    }
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) {
            asym = fmax(asym, fabs(P[i * n + j] - P[j * n + i]));
            sum += P[i * n + j];
            if (i == j) diag = fmax(diag, fabs(P[i * n + j]));
            joint = fmax(joint, fabs(P[i * n + j] - (cond[i][j] + cond[j][i]) / (2.0 * n)) / ((cond[i][j] + cond[j][i]) / (2.0 * n) + 1e-12));
        }
    ok(worst < 1e-4, "calibration: every row's entropy is log(perplexity) within 1e-4 (worst %.2e)", worst);
    ok(asym == 0 && diag == 0 && fabs(sum - 1) < 1e-5, "P symmetric, zero diagonal, sum 1 (sum - 1 = %.1e)", sum - 1);
    ok(joint < 1e-5, "P = (P_j|i + P_i|j) / 2n from the precisions (rel err %.1e)", joint);
}

static double kl_direct(const double *Y, const float *P, int n) {
    double Z = 0, kl = 0;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++)
            if (i != j) Z += 1.0 / (1.0 + pow(Y[2 * i] - Y[2 * j], 2) + pow(Y[2 * i + 1] - Y[2 * j + 1], 2));
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) {
            if (i == j || P[i * n + j] <= 0) continue;
            double q = 1.0 / (1.0 + pow(Y[2 * i] - Y[2 * j], 2) + pow(Y[2 * i + 1] - Y[2 * j + 1], 2)) / Z;
            kl += P[i * n + j] * log(P[i * n + j] / q);
        }
    return kl;
}

static void gradient(void) {
    enum { n = 14, d = 4 };
    float X[n * d], D2[n * n], P[n * n];
    int cls[n];
    gauss_clusters(X, cls, n, d, 2, 2.0, 12);
    tsne_sqdist(D2, X, n, d);
    tsne_joint_p(P, NULL, D2, n, 4.0);
    double Y[2 * n], g[2 * n], g2[2 * n];
    rng r;
    rng_seed(&r, 5);
    for (int i = 0; i < 2 * n; i++) Y[i] = rng_normal(&r);
    double kl = tsne_kl_grad(g, Y, P, n, 1.0);
    ok(fabs(kl - kl_direct(Y, P, n)) < 1e-9, "KL = direct double loop (%.10f vs %.10f)", kl, kl_direct(Y, P, n));
    double worst = 0;
    for (int i = 0; i < 2 * n; i++) {
        double h = 1e-5, s = Y[i];
        Y[i] = s + h;
        double up = tsne_kl_grad(g2, Y, P, n, 1.0);
        Y[i] = s - h;
        double dn = tsne_kl_grad(g2, Y, P, n, 1.0);
        Y[i] = s;
        double fd = (up - dn) / (2 * h);
        worst = fmax(worst, fabs(fd - g[i]) / (fabs(g[i]) + 1e-3));
    }
    ok(worst < 1e-5, "gradient = central differences of KL (worst rel err %.2e)", worst);
}

static double trust_brute(const float *D2, const double *Y, int n, int k) {
    double t = 0;
    for (int i = 0; i < n; i++) {
        for (int j = 0; j < n; j++) {
            if (j == i) continue;
            /* embedding rank of j by (distance, index) */
            double ej = pow(Y[2 * i] - Y[2 * j], 2) + pow(Y[2 * i + 1] - Y[2 * j + 1], 2);
            int er = 1, ir = 1;
            for (int l = 0; l < n; l++) {
                if (l == i || l == j) continue;
                double el = pow(Y[2 * i] - Y[2 * l], 2) + pow(Y[2 * i + 1] - Y[2 * l + 1], 2);
                if (el < ej || (el == ej && l < j)) er++;
                if (D2[i * n + l] < D2[i * n + j] || (D2[i * n + l] == D2[i * n + j] && l < j)) ir++;
            }
            if (er <= k && ir > k) t += ir - k;
        }
    }
    return 1.0 - 2.0 / ((double)n * k * (2.0 * n - 3.0 * k - 1.0)) * t;
}

static void trust(void) {
    enum { n = 40 };
    float X[n * 2], D2[n * n];
    double Y[n * 2];
    int cls[n];
    gauss_clusters(X, cls, n, 2, 2, 4.0, 13);
    tsne_sqdist(D2, X, n, 2);
    for (int i = 0; i < 2 * n; i++) Y[i] = X[i];
    ok(fabs(tsne_trustworthiness(D2, Y, n, 5) - 1.0) < 1e-12, "trustworthiness of the input itself = 1");
    rng r;
    rng_seed(&r, 9);
    for (int i = 0; i < 2 * n; i++) Y[i] = rng_normal(&r);
    /* ties in the input: round distances */
    for (int i = 0; i < n * n; i++) D2[i] = floorf(D2[i] / 20.0f);
    double a = tsne_trustworthiness(D2, Y, n, 5), b = trust_brute(D2, Y, n, 5);
    ok(fabs(a - b) < 1e-12, "trustworthiness with tied distances = brute-force ranks (%.6f vs %.6f)", a, b);
}

static void optimise(void) {
    enum { n = 150, d = 10 };
    static float X[n * d], D2[n * n], P[n * n];
    int cls[n];
    gauss_clusters(X, cls, n, d, 3, 1.0, 14);
    tsne_sqdist(D2, X, n, d);
    tsne_joint_p(P, NULL, D2, n, 20.0);
    tsne_opts o;
    tsne_default_opts(&o);
    o.perplexity = 20;
    o.iters = 500;
    o.seed = 3;
    static double Y1[2 * n], Y2[2 * n], S[6 * n], g[2 * n];
    omp_set_num_threads(1);
    double kl1 = tsne_run(Y1, S, P, n, &o);
    omp_set_num_threads(2);
    double kl2 = tsne_run(Y2, S, P, n, &o);
    ok(memcmp(Y1, Y2, sizeof Y1) == 0 && kl1 == kl2, "1 and 2 threads: identical embedding");
    tsne_opts o0 = o;
    o0.iters = 0;
    double kl0 = tsne_run(Y2, S, P, n, &o0);
    ok(kl1 < 0.5 * kl0, "KL falls from %.3f (start) to %.3f", kl0, kl1);
    (void)g;
    double t = tsne_trustworthiness(D2, Y1, n, 5);
    ok(t > 0.93, "three clusters: trustworthiness(5) %.4f > 0.93", t);
    /* clusters separate: every point's nearest embedded neighbour is of its cluster */
    int wrong = 0;
    for (int i = 0; i < n; i++) {
        int best = -1;
        double bd = 1e300;
        for (int j = 0; j < n; j++) {
            if (j == i) continue;
            double e = pow(Y1[2 * i] - Y1[2 * j], 2) + pow(Y1[2 * i + 1] - Y1[2 * j + 1], 2);
            if (e < bd) bd = e, best = j;
        }
        wrong += cls[best] != cls[i];
    }
    ok(wrong == 0, "every point's nearest embedded neighbour is in its cluster (%d wrong)", wrong);
}

int main(void) {
    calibration();
    gradient();
    trust();
    optimise();
    return done_testing();
}
