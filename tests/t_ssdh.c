/* t_ssdh: SSDH's semantic structure and loss.
 *  - thresholds on a hand-worked distribution of distances;
 *  - the blocked similarity against a brute-force loop over all pairs
 *    (statistics, and S entry by entry);
 *  - the loss against a plain-loop evaluation and its gradient against
 *    central finite differences (the double copy of loss.c, nn/nn_double.h). */
#include <math.h>
#include <stdlib.h>

#include "hash/ssdh.h"
#include "nn/nn_double.h"
#include "util/bits.h"
#include "util/rng.h"
#include "tap.h"

static void hand_worked(void) {
    /* Bins of width 1/1024 over [0, 2]; every value below is a multiple of
     * 1/2048, exact in float. 20 distances at m = 1024.5/1024 (the centre of
     * bin 1024, the mode), left: m - 0.25, m - 0.5, right: m + 0.125,
     * m + 0.25, m + 0.375.
     * sigma_l = sqrt((0.0625 + 0.25) / 2) = sqrt(0.15625) = 0.395285
     * sigma_r = sqrt((0.015625 + 0.0625 + 0.140625) / 3) = sqrt(0.0729167) = 0.270031
     * alpha = beta = 1: d_l = m - 0.395285, below it only m - 0.5 (1 similar
     * pair); d_r = m + 0.270031, above it only m + 0.375 (1 dissimilar). */
    const double m = 1024.5 / 1024;
    float d[25];
    int k = 0;
    for (int i = 0; i < 20; i++) d[k++] = (float)m;
    d[k++] = (float)(m - 0.25); d[k++] = (float)(m - 0.5);
    d[k++] = (float)(m + 0.125); d[k++] = (float)(m + 0.25); d[k++] = (float)(m + 0.375);
    ssdh_stats st;
    ssdh_stats_of(&st, d, k, 1.0, 1.0);
    ok(st.mode == m, "mode = centre of the fullest bin, 1.00048828 (got %.8f)", st.mode);
    ok(st.n_left == 2 && st.n_right == 3, "2 distances left of the mode, 3 right (got %lld, %lld)",
       (long long)st.n_left, (long long)st.n_right);
    ok(fabs(st.sigma_l - sqrt(0.15625)) < 1e-12 && fabs(st.sigma_r - sqrt(0.21875 / 3)) < 1e-12,
       "sigma_l = sqrt(0.15625) = 0.395285 (got %.6f), sigma_r = sqrt(0.21875/3) = 0.270031 (got %.6f)", st.sigma_l,
       st.sigma_r);
    ok(fabs(st.d_l - (m - sqrt(0.15625))) < 1e-12 && fabs(st.d_r - (m + sqrt(0.21875 / 3))) < 1e-12,
       "d_l = m - sigma_l = %.6f, d_r = m + sigma_r = %.6f (alpha = beta = 1)", st.d_l, st.d_r);
    ok(st.n_pos == 1 && st.n_neg == 1, "one pair similar (m - 0.5), one dissimilar (m + 0.375)");
    ssdh_stats_of(&st, d, k, 2.0, 2.0);
    ok(st.n_pos == 0 && st.n_neg == 0 && fabs(st.d_l - (m - 2 * sqrt(0.15625))) < 1e-12,
       "alpha = beta = 2: thresholds twice as far, no pair passes");
}

static void against_brute_force(void) {
    enum { N = 150, D = 12 };
    static float f[N * D];
    rng g;
    rng_seed(&g, 4);
    for (int i = 0; i < N; i++)
        for (int k = 0; k < D; k++) f[i * D + k] = (float)(((i % 3) == k % 3 ? 1.5 : 0.0) + rng_normal(&g));
    const int64_t rb = bits_row_bytes(N);
    uint8_t *sign = malloc((size_t)(N * rb)), *mask = malloc((size_t)(N * rb));
    ssdh_stats st;
    ssdh_similarity(&st, sign, mask, f, N, D, 2.0, 2.0);
    /* brute force: every pair's distance in double, then the list statistics */
    float *d = malloc(sizeof(float) * N * (N - 1) / 2);
    int64_t k = 0;
    for (int i = 0; i < N; i++)
        for (int j = i + 1; j < N; j++) {
            double ab = 0, aa = 0, bb = 0;
            for (int q = 0; q < D; q++) {
                ab += (double)f[i * D + q] * f[j * D + q];
                aa += (double)f[i * D + q] * f[i * D + q];
                bb += (double)f[j * D + q] * f[j * D + q];
            }
            d[k++] = (float)(1 - ab / sqrt(aa * bb));
        }
    ssdh_stats ref;
    ssdh_stats_of(&ref, d, k, 2.0, 2.0);
    ok(st.pairs == k && fabs(st.mode - ref.mode) < 1e-12, "mode %.4f over %lld pairs = brute force %.4f", st.mode,
       (long long)st.pairs, ref.mode);
    ok(fabs(st.sigma_l - ref.sigma_l) < 1e-4 && fabs(st.sigma_r - ref.sigma_r) < 1e-4,
       "sigma_l %.5f, sigma_r %.5f = brute force %.5f, %.5f", st.sigma_l, st.sigma_r, ref.sigma_l, ref.sigma_r);
    /* S entry by entry, except distances within 1e-5 of a threshold (float GEMM vs double loop) */
    int same = 1, sym = 1;
    k = 0;
    for (int i = 0; i < N; i++) {
        same &= bits_get(sign + i * rb, i) && bits_get(mask + i * rb, i);
        for (int j = i + 1; j < N; j++, k++) {
            sym &= bits_get(sign + i * rb, j) == bits_get(sign + j * rb, i) &&
                   bits_get(mask + i * rb, j) == bits_get(mask + j * rb, i);
            if (fabs(d[k] - st.d_l) < 1e-5 || fabs(d[k] - st.d_r) < 1e-5) continue;
            int want = d[k] <= st.d_l ? 1 : d[k] >= st.d_r ? -1 : 0;
            int got = bits_get(mask + i * rb, j) ? (bits_get(sign + i * rb, j) ? 1 : -1) : 0;
            same &= want == got;
        }
    }
    ok(same && sym, "S: +1 / -1 / 0 by the thresholds for all pairs, S_ii = +1, symmetric (%lld +, %lld -)",
       (long long)st.n_pos, (long long)st.n_neg);
    ok(st.n_pos > 0 && st.n_neg > 0, "both kinds of pairs occur on three clusters");
    free(sign);
    free(mask);
    free(d);
}

static void loss_gradient(void) {
    enum { B = 6, L = 5 };
    rng g;
    rng_seed(&g, 8);
    double z[B * L], s[B * B], m[B * B], dz[B * L], ws[B * B];
    for (int i = 0; i < B * L; i++) z[i] = tanh(rng_normal(&g));
    for (int i = 0; i < B; i++)
        for (int j = 0; j <= i; j++) {
            double v = rng_uniform(&g);
            s[i * B + j] = s[j * B + i] = v < 0.5 ? 1 : -1;
            m[i * B + j] = m[j * B + i] = i == j || v < 0.3 || v > 0.7;
        }
    double l = ssdh_loss_forward_d(ws, z, s, m, B, L);
    ssdh_loss_backward_d(dz, ws, z, m, B, L);
    double tot = 0, cnt = 0;
    for (int i = 0; i < B; i++)
        for (int j = 0; j < B; j++) {
            double dot = 0;
            for (int k = 0; k < L; k++) dot += z[i * L + k] * z[j * L + k];
            tot += m[i * B + j] * (s[i * B + j] - dot / L) * (s[i * B + j] - dot / L);
            cnt += m[i * B + j];
        }
    ok(fabs(l - tot / cnt) < 1e-12, "loss %.10f = plain loops over the %g masked pairs %.10f", l, cnt, tot / cnt);
    double maxe = 0, maxg = 0;
    for (int i = 0; i < B * L; i++) {
        double keep = z[i], h = 1e-6;
        z[i] = keep + h;
        double up = ssdh_loss_forward_d(ws, z, s, m, B, L);
        z[i] = keep - h;
        double dn = ssdh_loss_forward_d(ws, z, s, m, B, L);
        z[i] = keep;
        maxe = fmax(maxe, fabs((up - dn) / (2 * h) - dz[i]));
        maxg = fmax(maxg, fabs(dz[i]));
    }
    ok(maxe <= 1e-6 * maxg, "dL/dz = central differences (max err %.2g, max |g| %.2g)", maxe, maxg);
}

int main(void) {
    hand_worked();
    against_brute_force();
    loss_gradient();
    return done_testing();
}
