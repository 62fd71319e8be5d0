/* t_baseline_agh: Anchor Graph Hashing against a dense computation from the
 * paper's definitions: Z by sorting every distance, the eigenpairs of the
 * n x n anchor graph A = Z Lambda^-1 Z^T (LAPACKE_dsyev on A itself, not on
 * the m x m reduced matrix the library uses), the 2-AGH thresholds as the
 * solution of the KKT system of min f^T (I - A) f s.t. 1^T f = 0, and
 * k-means' inertia never increasing. */
#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "hash/baseline_agh.h"
#include "util/rng.h"
#include "tap.h"

enum { N = 240, D = 6, M = 24, S = 3, BITS = 8 };

static float X[N * D];

/* dense Z [N, M] by sorting all M distances of each row (double, stable) */
static void dense_z(double *z, const float *anchor, float sigma) {
    memset(z, 0, sizeof(double) * N * M);
    for (int i = 0; i < N; i++) {
        double d2[M];
        int ord[M];
        for (int j = 0; j < M; j++) {
            double s = 0;
            for (int k = 0; k < D; k++) s += ((double)X[i * D + k] - anchor[j * D + k]) * ((double)X[i * D + k] - anchor[j * D + k]);
            d2[j] = s;
            ord[j] = j;
        }
        for (int a = 1; a < M; a++) /* insertion sort: stable, ties keep the lower index first */
            for (int b = a; b > 0 && d2[ord[b]] < d2[ord[b - 1]]; b--) { int t = ord[b]; ord[b] = ord[b - 1]; ord[b - 1] = t; }
        double tot = 0;
        for (int q = 0; q < S; q++) tot += exp(-d2[ord[q]] / ((double)sigma * sigma));
        for (int q = 0; q < S; q++) z[i * M + ord[q]] = exp(-d2[ord[q]] / ((double)sigma * sigma)) / tot;
    }
}

int main(void) {
    rng g;
    rng_seed(&g, 11);
    /* 4 blobs in 6-d */
    for (int i = 0; i < N; i++) {
        int c = i % 4;
        for (int k = 0; k < D; k++) X[i * D + k] = (float)(3.0 * ((c >> (k % 2)) & 1) + (k == c) + 1.0 * rng_normal(&g));
    }

    /* k-means: inertia never increases (relative 1e-6 for float distances) */
    float cen[M * D];
    double inertia[11];
    agh_kmeans(cen, inertia, X, N, D, M, 10, 5);
    int mono = 1;
    for (int t = 0; t < 10; t++) mono &= inertia[t + 1] <= inertia[t] * (1 + 1e-6);
    ok(mono && inertia[10] < inertia[0], "kmeans: inertia non-increasing over 10 iterations (%.4g -> %.4g)", inertia[0],
       inertia[10]);
    float cen2[M * D];
    agh_kmeans(cen2, NULL, X, N, D, M, 10, 5);
    ok(!memcmp(cen, cen2, sizeof cen), "kmeans: same seed, same centres");

    for (int layers = 1; layers <= 2; layers++) {
        agh_model m;
        agh_model_alloc(&m, D, BITS, layers, M, S);
        char err[200];
        int rc = agh_fit_anchors(&m, X, N, cen, 0.0f, err, sizeof err);
        ok(rc == 0, "%d-AGH: fit succeeds%s%s", layers, rc ? ": " : "", rc ? err : "");
        if (rc) return done_testing();
        const int r = m.r;

        /* sigma: mean distance to the S-th nearest anchor, by brute force */
        double sig = 0;
        for (int i = 0; i < N; i++) {
            double d2[M];
            for (int j = 0; j < M; j++) {
                double s = 0;
                for (int k = 0; k < D; k++) s += ((double)X[i * D + k] - cen[j * D + k]) * ((double)X[i * D + k] - cen[j * D + k]);
                d2[j] = s;
            }
            for (int a = 0; a < S; a++) /* partial selection sort: S smallest */
                for (int b = a + 1; b < M; b++)
                    if (d2[b] < d2[a]) { double t = d2[a]; d2[a] = d2[b]; d2[b] = t; }
            sig += sqrt(d2[S - 1]);
        }
        sig /= N;
        ok(fabs(sig - m.sigma) < 1e-4 * sig, "%d-AGH: sigma %.6f = brute-force mean distance to the %d-th anchor %.6f",
           layers, m.sigma, S, sig);

        /* anchor weights: library rows against the dense Z */
        double *z = malloc(sizeof(double) * N * M);
        dense_z(z, cen, m.sigma);
        int32_t idx[N * S];
        float val[N * S];
        agh_anchor_weights(idx, val, NULL, X, N, cen, D, M, S, m.sigma);
        double werr = 0;
        int placed = 1;
        for (int i = 0; i < N; i++) {
            double rowsum = 0;
            for (int q = 0; q < S; q++) {
                placed &= z[i * M + idx[i * S + q]] > 0;
                werr = fmax(werr, fabs(val[i * S + q] - z[i * M + idx[i * S + q]]));
                rowsum += z[i * M + idx[i * S + q]];
            }
            placed &= fabs(rowsum - 1) < 1e-9; /* all S dense non-zeros are the library's */
        }
        ok(placed && werr < 1e-5, "%d-AGH: Z = dense kernel weights on the %d nearest anchors (max err %.2g)", layers, S,
           werr);

        /* dense A = Z Lambda^-1 Z^T [N, N] deflated by 1 1^T / n, its eigenpairs */
        double lam[M] = {0};
        for (int i = 0; i < N; i++)
            for (int j = 0; j < M; j++) lam[j] += z[i * M + j];
        double *A = malloc(sizeof(double) * N * N), ev[N];
        for (int i = 0; i < N; i++)
            for (int k = 0; k < N; k++) {
                double s = 0;
                for (int j = 0; j < M; j++) s += lam[j] > 0 ? z[i * M + j] * z[k * M + j] / lam[j] : 0;
                A[i * N + k] = s - 1.0 / N; /* less the trivial pair (1 / sqrt(n), 1): A 1 = 1 */
            }
        double *V = malloc(sizeof(double) * N * N);
        memcpy(V, A, sizeof(double) * N * N);
        ok(LAPACKE_dsyev(LAPACK_ROW_MAJOR, 'V', 'U', N, V, N, ev) == 0, "%d-AGH: dense eigen-decomposition of A", layers);
        /* descending: the r largest of the deflated A */
        int cols[BITS], kept = 0;
        for (int j = N - 1; j >= 0 && kept < r; j--)
            if (ev[j] > 1e-9) cols[kept++] = j;
        double eerr = 0;
        for (int k = 0; k < r; k++) eerr = fmax(eerr, fabs(ev[cols[k]] - m.eig[k]));
        ok(kept == r && eerr < 1e-6, "%d-AGH: the %d eigenvalues equal those of the dense A (max err %.2g; %.4f .. %.4f)",
           layers, r, eerr, m.eig[0], m.eig[r - 1]);
        float *y = malloc(sizeof(float) * N * r);
        agh_embed(y, &m, X, N);
        double verr = 0;
        for (int k = 0; k < r; k++) { /* y_k = +-sqrt(N) v_k */
            double dot = 0;
            for (int i = 0; i < N; i++) dot += y[i * r + k] * V[i * N + cols[k]];
            double sg = dot < 0 ? -1 : 1;
            for (int i = 0; i < N; i++) verr = fmax(verr, fabs(y[i * r + k] - sg * sqrt((double)N) * V[i * N + cols[k]]));
        }
        ok(verr < 2e-3, "%d-AGH: embedding of the training rows = sqrt(n) x dense eigenvectors (max err %.2g)", layers,
           verr);

        if (layers == 2) {
            /* L = I - A = I - (A_deflated + 1 1^T / n); on 1^T f = 0 the 1 1^T term
             * vanishes, so the deflated A gives the same minimiser.
             * KKT of min f^T L f s.t. 1^T f = 0, f = |y| + B c, B = [-1+, 1-]:
             * [B^T L B, B^T 1; 1^T B, 0] [c; mu] = [-B^T L |y|; -1^T |y|] */
            double terr = 0;
            for (int k = 0; k < r; k++) {
                double Bm[N][2], a[N], La[N], LB[N][2];
                for (int i = 0; i < N; i++) {
                    int pos = y[i * r + k] >= 0;
                    Bm[i][0] = pos ? -1 : 0;
                    Bm[i][1] = pos ? 0 : 1;
                    a[i] = fabs((double)y[i * r + k]);
                }
                for (int i = 0; i < N; i++) {
                    double s0 = a[i], s1 = Bm[i][0], s2 = Bm[i][1];
                    for (int q = 0; q < N; q++) {
                        s0 -= A[i * N + q] * a[q];
                        s1 -= A[i * N + q] * Bm[q][0];
                        s2 -= A[i * N + q] * Bm[q][1];
                    }
                    La[i] = s0;
                    LB[i][0] = s1;
                    LB[i][1] = s2;
                }
                double K[9] = {0}, rhs[3] = {0};
                for (int i = 0; i < N; i++) {
                    for (int u = 0; u < 2; u++) {
                        for (int v = 0; v < 2; v++) K[u * 3 + v] += Bm[i][u] * LB[i][v];
                        K[u * 3 + 2] += Bm[i][u];
                        K[6 + u] += Bm[i][u];
                        rhs[u] -= Bm[i][u] * La[i];
                    }
                    rhs[2] -= a[i];
                }
                lapack_int piv[3];
                LAPACKE_dgesv(LAPACK_ROW_MAJOR, 3, 1, K, 3, piv, rhs, 1);
                terr = fmax(terr, fmax(fabs(rhs[0] - m.thres[k]), fabs(rhs[1] - m.thres[r + k])));
                if (k == 0) diag("bit 0: b+ %.6f (dense %.6f), b- %.6f (dense %.6f)", m.thres[k], rhs[0], m.thres[r + k], rhs[1]);
            }
            ok(terr < 1e-3, "2-AGH: thresholds = dense KKT solution of min f'(I-A)f s.t. 1'f = 0 (max err %.2g)", terr);

            /* codes: layer 1 = [y >= 0]; layer 2 from the thresholds, by hand */
            uint8_t codes[N * BITS / 8];
            agh_encode(codes, &m, X, N);
            int same = 1;
            for (int i = 0; i < N; i++)
                for (int k = 0; k < r; k++) {
                    float v = y[i * r + k];
                    int b1 = v >= 0, b2 = v >= 0 ? v - m.thres[k] >= 0 : -v + m.thres[r + k] >= 0;
                    same &= ((codes[i] >> k) & 1) == b1 && ((codes[i] >> (r + k)) & 1) == b2;
                }
            ok(same, "2-AGH: bits 0..%d are sgn(y), bits %d..%d the second layer", r - 1, r, 2 * r - 1);
        }
        free(z);
        free(A);
        free(V);
        free(y);
        agh_model_free(&m);
    }
    return done_testing();
}
