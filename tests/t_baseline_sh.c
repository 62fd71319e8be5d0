/* t_baseline_sh: Spectral Hashing against plain loops written from the
 * paper's equations: the PCA directions are eigenvectors of the covariance
 * (by definition: residual, order, sign rule), the uniform box [a_j, b_j] is
 * the range of the projections, the chosen (direction, k) are the `bits`
 * smallest omega^2 = (k pi / (b_j - a_j))^2 over k = 1 .. bits + 1 in every
 * direction (ties: lower direction, then lower k), and each bit is the sign
 * of Phi_k(y) = sin(pi/2 + k pi (y - a) / (b - a)). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "hash/baseline_sh.h"
#include "util/bits.h"
#include "util/rng.h"
#include "tap.h"

enum { N = 500, D = 5 };

static void check(int bits, const float *x, const float *xq, int nq) {
    sh_model m;
    sh_model_alloc(&m, D, bits);
    char err[200];
    int rc = sh_fit(&m, x, N, err, sizeof err);
    ok(rc == 0, "sh %d bits: fit succeeds", bits);
    const int p = m.npca;
    ok(p == (bits < D ? bits : D), "sh %d bits: %d principal directions (min(bits, d))", bits, p);

    /* covariance by loops */
    double mean[D] = {0}, C[D][D] = {{0}};
    for (int i = 0; i < N; i++)
        for (int k = 0; k < D; k++) mean[k] += x[i * D + k] / (double)N;
    for (int i = 0; i < N; i++)
        for (int a = 0; a < D; a++)
            for (int b = 0; b < D; b++) C[a][b] += (x[i * D + a] - mean[a]) * (x[i * D + b] - mean[b]);
    double res = 0, orth = 0, prev = INFINITY;
    int ordered = 1, signs = 1;
    for (int j = 0; j < p; j++) {
        double v[D], cv[D], rq = 0, big = 0;
        for (int k = 0; k < D; k++) v[k] = m.pc[k * p + j];
        for (int a = 0; a < D; a++) {
            cv[a] = 0;
            for (int b = 0; b < D; b++) cv[a] += C[a][b] * v[b];
            rq += v[a] * cv[a];
            if (fabs(v[a]) > fabs(big)) big = v[a];
        }
        for (int a = 0; a < D; a++) res = fmax(res, fabs(cv[a] - rq * v[a]) / rq);
        for (int l = 0; l < p; l++) {
            double s = 0;
            for (int k = 0; k < D; k++) s += v[k] * m.pc[k * p + l];
            orth = fmax(orth, fabs(s - (l == j)));
        }
        ordered &= rq <= prev;
        prev = rq;
        signs &= big > 0;
    }
    ok(res < 1e-4 && orth < 1e-5 && ordered && signs,
       "sh %d bits: PCA columns are orthonormal eigenvectors of the covariance, descending, largest entry positive "
       "(residual %.2g)",
       bits, res);

    /* box: range of the projections */
    double lo[D], hi[D];
    for (int j = 0; j < p; j++) {
        lo[j] = INFINITY;
        hi[j] = -INFINITY;
        for (int i = 0; i < N; i++) {
            double y = 0;
            for (int k = 0; k < D; k++) y += (x[i * D + k] - mean[k]) * m.pc[k * p + j];
            lo[j] = fmin(lo[j], y);
            hi[j] = fmax(hi[j], y);
        }
    }
    double berr = 0;
    for (int j = 0; j < p; j++) berr = fmax(berr, fmax(fabs(lo[j] - m.lo[j]), fabs(hi[j] - m.hi[j])));
    ok(berr < 1e-4, "sh %d bits: [a_j, b_j] = range of the training projections (max err %.2g)", bits, berr);

    /* eigenvalue order: repeatedly take the smallest omega^2 (ties: j, then k) */
    int used[D][80];
    memset(used, 0, sizeof used);
    int same = 1;
    for (int i = 0; i < bits; i++) {
        int bj = -1, bk = -1;
        double best = INFINITY;
        for (int j = 0; j < p; j++)
            for (int k = 1; k <= bits + 1; k++) {
                if (used[j][k]) continue;
                double om = k * M_PI / ((double)m.hi[j] - m.lo[j]);
                if (om * om < best) { best = om * om; bj = j; bk = k; } /* strict: ties keep the earlier (j, k) */
            }
        used[bj][bk] = 1;
        same &= m.dir[i] == bj && m.mode[i] == bk;
        if (m.dir[i] != bj || m.mode[i] != bk)
            diag("bit %d: library (%d, %d), reference (%d, %d)", i, m.dir[i], m.mode[i], bj, bk);
    }
    ok(same, "sh %d bits: (direction, k) of every bit in the order of the smallest eigenvalues", bits);

    /* eigenfunction values and bits at new points */
    float *u = malloc(sizeof(float) * (size_t)(nq * bits));
    uint8_t *codes = malloc((size_t)(nq * bits / 8));
    sh_eigenfunctions(u, &m, xq, nq);
    sh_encode(codes, &m, xq, nq);
    double uerr = 0;
    int bits_ok = 1;
    for (int i = 0; i < nq; i++)
        for (int b = 0; b < bits; b++) {
            int j = m.dir[b];
            double y = 0;
            for (int k = 0; k < D; k++) y += (xq[i * D + k] - mean[k]) * m.pc[k * p + j];
            double ref = sin(M_PI / 2 + m.mode[b] * M_PI * (y - m.lo[j]) / ((double)m.hi[j] - m.lo[j]));
            uerr = fmax(uerr, fabs(ref - u[i * bits + b]));
            if (fabs(ref) > 1e-3) bits_ok &= bits_get(codes + i * (bits / 8), b) == (ref >= 0);
        }
    ok(uerr < 1e-4 && bits_ok, "sh %d bits: Phi_k(y) = sin(pi/2 + k pi (y - a)/(b - a)) and its sign (max err %.2g)",
       bits, uerr);
    free(u);
    free(codes);
    sh_model_free(&m);
}

int main(void) {
    static float x[N * D], xq[100 * D];
    rng g;
    rng_seed(&g, 3);
    const double scale[D] = {4.0, 2.5, 1.5, 1.0, 0.5}; /* distinct ranges so several k per direction compete */
    for (int i = 0; i < N; i++)
        for (int k = 0; k < D; k++) x[i * D + k] = (float)(scale[k] * (2 * rng_uniform(&g) - 1) + 0.1 * k);
    for (int i = 0; i < 100; i++)
        for (int k = 0; k < D; k++) xq[i * D + k] = (float)(scale[k] * (2.2 * rng_uniform(&g) - 1.1));
    check(8, x, xq, 100);
    check(16, x, xq, 100);
    check(32, x, xq, 100);

    /* a hand-worked order: ranges 4 and 1 (exactly, by two points per axis):
     * omega = k pi / 4 on direction 0 and k pi on direction 1; the 8 smallest
     * are k = 1..4 on 0 (pi/4 .. pi), then k = 1 on 1 ties k = 4 on 0 (pi,
     * direction 0 first), then k = 5..7 on 0 */
    sh_model m;
    float sq[4 * 2] = {-2, 0, 2, 0, 0, -0.5f, 0, 0.5f};
    sh_model_alloc(&m, 2, 8);
    char err[200];
    ok(sh_fit(&m, sq, 4, err, sizeof err) == 0, "hand-worked: fit on 4 points (ranges 4 and 1)");
    const int want_dir[8] = {0, 0, 0, 0, 1, 0, 0, 0}, want_k[8] = {1, 2, 3, 4, 1, 5, 6, 7};
    int same = fabsf(m.hi[0] - m.lo[0] - 4) < 1e-5f && fabsf(m.hi[1] - m.lo[1] - 1) < 1e-5f;
    for (int i = 0; i < 8; i++) same &= m.dir[i] == want_dir[i] && m.mode[i] == want_k[i];
    ok(same, "hand-worked: order (0,1) (0,2) (0,3) (0,4) (1,1) (0,5) (0,6) (0,7)");
    sh_model_free(&m);
    return done_testing();
}
