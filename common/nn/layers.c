/* layers.c: CPU layers, see nn.h for the conventions (NCHW, outputs first,
 * gradients overwritten, no allocation). Written once over `real`: the
 * Makefile compiles a double copy (nn/nn_double.h) for tight gradient checks. */
#include <cblas.h>
#include <omp.h>
#include <string.h>

#include "nn/nn.h"
#include "util/util.h"

#ifdef DSAH_REAL_DOUBLE
#define GEMM cblas_dgemm
#else
#define GEMM cblas_sgemm
#endif

/* Row-major C [M,N] = op(A) op(B) + beta C.
 * Threading: OpenBLAS runs single-threaded (nn_set_threads) and the OpenMP
 * threads split the N columns of C into contiguous blocks (multiples of 16),
 * one sgemm call each. One thread pool for everything: OpenBLAS's own
 * threads spinning against OpenMP's cost 3x on a 2-core machine. Each element
 * of C is computed by one call, in the same order for a fixed thread count.
 * colblk > 0: each thread's columns go in sgemm calls of at most colblk
 * columns (see fc_forward); 0: one call per thread. */
static void gemm_cols(int ta, int tb, int M, int N, int K, const real *A, int lda, const real *Bm, int ldb,
                      real beta, real *C, int ldc, int colblk) {
    int nt = omp_in_parallel() ? 1 : omp_get_max_threads();
    const int64_t work = (int64_t)M * N * K;
    if (N < 32 || work < (1 << 18)) nt = 1;
#pragma omp parallel num_threads(nt) if (nt > 1)
    {
        const int t = omp_get_thread_num(), T = omp_get_num_threads();
        int blk = (N + T - 1) / T;
        if (T > 1) blk = (blk + 15) / 16 * 16;
        const int j0 = t * blk, j1 = j0 + blk < N ? j0 + blk : N;
        const int step = colblk > 0 ? colblk : (j1 > j0 ? j1 - j0 : 1);
        for (int a = j0; a < j1; a += step) {
            const int b = a + step < j1 ? a + step : j1;
            /* columns a..b of op(B): NoTrans B [K,N] -> B + a; Trans B [N,K] -> B + a*ldb */
            const real *Bj = tb ? Bm + (int64_t)a * ldb : Bm + a;
            GEMM(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, M, b - a, K,
                 (real)1, A, lda, Bj, ldb, beta, C + a, ldc);
        }
    }
}

static void gemm(int ta, int tb, int M, int N, int K, const real *A, int lda, const real *Bm, int ldb,
                 real beta, real *C, int ldc) {
    gemm_cols(ta, tb, M, N, K, A, lda, Bm, ldb, beta, C, ldc, 0);
}

/* ---- 3x3 convolution ------------------------------------------------------ */

int64_t conv3x3_ws_per_image(int C, int H, int W, int K) {
    /* col [C*9, HW] (reused as dcol in backward) + the GEMM output / dy in
     * [K, HW] order. */
    return ((int64_t)C * 9 + K) * H * W;
}

/* col [C*9, nb*HW] from x [nb,C,H,W] (zero padding 1). Row (c*9 + ky*3 + kx)
 * holds x shifted by (ky-1, kx-1), matching the weight layout [K,C,3,3]. */
static void im2col3(real *col, const real *x, int nb, int C, int H, int W) {
    const int64_t HW = (int64_t)H * W, ld = (int64_t)nb * HW;
#pragma omp parallel for collapse(2) schedule(static)
    for (int c = 0; c < C; c++)
        for (int kk = 0; kk < 9; kk++) {
            const int oy = kk / 3 - 1, ox = kk % 3 - 1;
            const int x0 = ox < 0 ? 1 : 0, x1 = ox > 0 ? W - 1 : W;
            real *row = col + ((int64_t)c * 9 + kk) * ld;
            for (int b = 0; b < nb; b++) {
                const real *xp = x + ((int64_t)b * C + c) * HW;
                real *r = row + (int64_t)b * HW;
                for (int yy = 0; yy < H; yy++) {
                    const int sy = yy + oy;
                    real *ro = r + (int64_t)yy * W;
                    if (sy < 0 || sy >= H) { memset(ro, 0, sizeof(real) * W); continue; }
                    const real *xs = xp + (int64_t)sy * W + ox;
                    if (x0) ro[0] = 0;
                    if (x1 < W) ro[W - 1] = 0;
                    memcpy(ro + x0, xs + x0, sizeof(real) * (size_t)(x1 - x0));
                }
            }
        }
}

/* dx [nb,C,H,W] = col2im(dcol [C*9, nb*HW]) (overwritten). Each (b, c) plane
 * is written by one thread: no races, deterministic. */
static void col2im3(real *dx, const real *dcol, int nb, int C, int H, int W) {
    const int64_t HW = (int64_t)H * W, ld = (int64_t)nb * HW;
#pragma omp parallel for collapse(2) schedule(static)
    for (int b = 0; b < nb; b++)
        for (int c = 0; c < C; c++) {
            real *d = dx + ((int64_t)b * C + c) * HW;
            memset(d, 0, sizeof(real) * HW);
            for (int kk = 0; kk < 9; kk++) {
                const int oy = kk / 3 - 1, ox = kk % 3 - 1;
                const int x0 = ox < 0 ? 1 : 0, x1 = ox > 0 ? W - 1 : W;
                const real *r = dcol + ((int64_t)c * 9 + kk) * ld + (int64_t)b * HW;
                for (int yy = 0; yy < H; yy++) {
                    const int sy = yy + oy;
                    if (sy < 0 || sy >= H) continue;
                    real *ds = d + (int64_t)sy * W + ox;
                    const real *ro = r + (int64_t)yy * W;
                    for (int xx = x0; xx < x1; xx++) ds[xx] += ro[xx];
                }
            }
        }
}

static int conv_chunk(int B, int C, int H, int W, int K, int64_t ws_len) {
    int64_t per = conv3x3_ws_per_image(C, H, W, K);
    int64_t nb = ws_len / per;
    CHECK(nb >= 1);
    return nb < B ? (int)nb : B;
}

/* ---- 3x3 convolution by Winograd F(4x4, 3x3) -------------------------------
 * Lavin & Gray, "Fast Algorithms for Convolutional Neural Networks", CVPR
 * 2016. A 4x4 tile of output is A^T [(G g G^T) .* (B^T d B)] A, with d the
 * 6x6 input tile around it and g a 3x3 filter: 36 multiplies per 16 outputs
 * instead of 144. Over channels the .* becomes 36 independent GEMMs
 *   M[xi] [K, P] = U[xi] [K, C] x V[xi] [C, P],  xi = 0..35,
 * with U the transformed filters and V the transformed input tiles of P
 * tiles. The transforms are applied along one axis at a time on rows of
 * tiles, so their loops run over the tiles (contiguous, vectorised). Points
 * 0, +-1, +-2 and infinity, so the transforms' entries are exact in binary
 * except G's 1/6, 1/12, 1/24. Float rounding: 2.5e-7 to 7e-7 of
 * sum |x| |w| on VGG-19's layer shapes (sampled outputs against a direct
 * loop in double, 2026-11-30), about 1e-7 for im2col; t_ops holds the float
 * path to 1e-5 relative RMS against the double one (3.9e-6 at C = 512), and
 * t_layers the double path to 1e-12 against a direct loop. */
static const double WG_G[6][3] = {{1.0 / 4, 0, 0},           {-1.0 / 6, -1.0 / 6, -1.0 / 6},
                                  {-1.0 / 6, 1.0 / 6, -1.0 / 6}, {1.0 / 24, 1.0 / 12, 1.0 / 6},
                                  {1.0 / 24, -1.0 / 12, 1.0 / 6}, {0, 0, 1}};

/* o_i = sum_j B^T[i][j] d_j over n lanes: B^T = [4 0 -5 0 1 0; 0 -4 -4 1 1 0;
 * 0 4 -4 -1 1 0; 0 -2 -1 2 1 0; 0 2 -1 -2 1 0; 0 4 0 -5 0 1]. d: 6 rows of
 * stride ds, o: 6 rows of stride os. */
static inline void wg_bt(real *restrict o, int64_t os, const real *restrict d, int64_t ds, int n) {
#pragma omp simd
    for (int p = 0; p < n; p++) {
        const real d0 = d[p], d1 = d[ds + p], d2 = d[2 * ds + p], d3 = d[3 * ds + p], d4 = d[4 * ds + p],
                   d5 = d[5 * ds + p];
        o[p] = 4 * d0 - 5 * d2 + d4;
        o[os + p] = d3 + d4 - 4 * (d1 + d2);
        o[2 * os + p] = d4 - d3 + 4 * (d1 - d2);
        o[3 * os + p] = d4 - d2 + 2 * (d3 - d1);
        o[4 * os + p] = d4 - d2 - 2 * (d3 - d1);
        o[5 * os + p] = 4 * d1 - 5 * d3 + d5;
    }
}

/* o_i = sum_j A^T[i][j] m_j over n lanes: A^T = [1 1 1 1 1 0; 0 1 -1 2 -2 0;
 * 0 1 1 4 4 0; 0 1 -1 8 -8 1]. m: 6 rows of stride ms, o: 4 rows of stride os. */
static inline void wg_at(real *restrict o, int64_t os, const real *restrict m, int64_t ms, int n) {
#pragma omp simd
    for (int p = 0; p < n; p++) {
        const real m0 = m[p], m1 = m[ms + p], m2 = m[2 * ms + p], m3 = m[3 * ms + p], m4 = m[4 * ms + p],
                   m5 = m[5 * ms + p];
        const real a = m1 + m2, b = m1 - m2, c = m3 + m4, d = m3 - m4;
        o[p] = m0 + a + c;
        o[os + p] = b + 2 * d;
        o[2 * os + p] = a + 4 * c;
        o[3 * os + p] = b + 8 * d + m5;
    }
}

/* How the P = B * ty * tx tiles are cut: blocks of whole tile rows, about
 * WG_TILES tiles each (GEMMs wide enough for OpenBLAS's kernels, V and M of
 * a block near the L2/L3 sizes), at least one block per thread, a multiple
 * of the thread count when there are several. */
#define WG_TILES 256
#define WG_MIN_C 16 /* below, im2col: the first layer (C = 3) gains nothing */
typedef struct {
    int ty, tx, rows, nblk, pb, nt;
    int64_t per_thread, per_thread_max;
} wg_plan;

/* Reals of one thread's V, M, D/T/O and padded row for blocks of pb tiles. */
static int64_t wg_thread_len(int C, int K, int tx, int64_t pb) { return 36 * (C + K) * pb + 72 * pb + 4LL * tx + 2; }

static wg_plan wg_make_plan(int B, int C, int H, int W, int K) {
    wg_plan g;
    g.nt = omp_in_parallel() ? 1 : omp_get_max_threads();
    g.ty = (H + 3) / 4;
    g.tx = (W + 3) / 4;
    g.rows = B * g.ty;
    const int64_t P = (int64_t)g.rows * g.tx;
    int64_t nblk = (P + WG_TILES - 1) / WG_TILES;
    if (nblk < g.nt) nblk = g.nt;
    if (g.nt > 1) nblk = (nblk + g.nt - 1) / g.nt * g.nt;
    if (nblk > g.rows) nblk = g.rows;
    const int rows_blk = (int)((g.rows + nblk - 1) / nblk);
    g.nblk = (g.rows + rows_blk - 1) / rows_blk;
    g.pb = rows_blk * g.tx;
    /* V [36, C, pb], M [36, K, pb], D and T [36, pb] each, O [16, pb] (over
     * D), one padded input row [4 tx + 2] */
    g.per_thread = wg_thread_len(C, K, g.tx, g.pb);
    /* pb never exceeds min(rows, ceil(WG_TILES / tx)) * tx (nblk >= P /
     * WG_TILES), a bound that grows with B while pb itself may not: a
     * workspace sized by it for B serves every batch up to B (the last,
     * partial one of a stage included) */
    const int64_t cap = (WG_TILES + g.tx - 1) / g.tx;
    g.per_thread_max = wg_thread_len(C, K, g.tx, (g.rows < cap ? g.rows : cap) * g.tx);
    return g;
}

int64_t conv3x3_ws_winograd(int B, int C, int H, int W, int K) {
    if (C < WG_MIN_C) return 0;
    const wg_plan g = wg_make_plan(B, C, H, W, K);
    return (int64_t)36 * K * C + g.nt * g.per_thread_max;
}

static void conv3x3_forward_winograd(real *y, real *ws, const real *x, const real *w, const real *b, int B,
                                     int C, int H, int W, int K, const wg_plan *g) {
    const int64_t HW = (int64_t)H * W, KC = (int64_t)K * C;
    real *U = ws; /* [36, K, C] */
    /* U = G g G^T for every (k, c), in blocks of 64 (k, c) pairs so that
     * each of U's 36 rows is written in runs of 64 (not 36 scattered stores
     * per pair) */
    const int64_t nkb = (KC + 63) / 64;
#pragma omp parallel for schedule(static) num_threads(g->nt) if (g->nt > 1)
    for (int64_t kb = 0; kb < nkb; kb++) {
        const int64_t k0 = kb * 64;
        const int n = KC - k0 < 64 ? (int)(KC - k0) : 64;
        double t[6][3][64];
        for (int i = 0; i < 6; i++)
            for (int j = 0; j < 3; j++)
                for (int e = 0; e < n; e++) {
                    const real *f = w + (k0 + e) * 9;
                    t[i][j][e] = WG_G[i][0] * f[j] + WG_G[i][1] * f[3 + j] + WG_G[i][2] * f[6 + j];
                }
        for (int i = 0; i < 6; i++)
            for (int l = 0; l < 6; l++) {
                real *u = U + (i * 6 + l) * KC + k0;
                for (int e = 0; e < n; e++)
                    u[e] = (real)(t[i][0][e] * WG_G[l][0] + t[i][1][e] * WG_G[l][1] + t[i][2][e] * WG_G[l][2]);
            }
    }
    const int pb = g->pb, tx = g->tx;
    const int rows_blk = pb / tx;
#pragma omp parallel for schedule(static) num_threads(g->nt) if (g->nt > 1)
    for (int blk = 0; blk < g->nblk; blk++) {
        real *V = ws + 36 * KC + omp_get_thread_num() * g->per_thread;
        real *M = V + (int64_t)36 * C * pb, *D = M + (int64_t)36 * K * pb, *T = D + 36LL * pb;
        real *prow = T + 36LL * pb;
        const int r0 = blk * rows_blk, r1 = r0 + rows_blk < g->rows ? r0 + rows_blk : g->rows;
        const int np = (r1 - r0) * tx;
        /* V[xi][c][p] = (B^T d B)[xi] of tile p of channel c */
        for (int c = 0; c < C; c++) {
            for (int r = r0; r < r1; r++) {
                const int img = r / g->ty, y0 = (r % g->ty) * 4 - 1;
                const real *xp = x + ((int64_t)img * C + c) * HW;
                real *Dr = D + (int64_t)(r - r0) * tx;
                for (int dy = 0; dy < 6; dy++) {
                    const int sy = y0 + dy;
                    /* prow[1 + j] = x[sy][j], zero outside */
                    if (sy >= 0 && sy < H) {
                        prow[0] = 0;
                        memcpy(prow + 1, xp + (int64_t)sy * W, sizeof(real) * (size_t)W);
                        for (int j = W + 1; j < 4 * tx + 2; j++) prow[j] = 0;
                    } else {
                        memset(prow, 0, sizeof(real) * (size_t)(4 * tx + 2));
                    }
                    for (int dx = 0; dx < 6; dx++) {
                        real *d = Dr + (int64_t)(dy * 6 + dx) * pb;
                        for (int t = 0; t < tx; t++) d[t] = prow[4 * t + dx];
                    }
                }
            }
            /* T[i][dx] = sum_dy B^T[i][dy] D[dy][dx]; V[i][j] = sum_dx B^T[j][dx] T[i][dx] */
            for (int dx = 0; dx < 6; dx++)
                wg_bt(T + (int64_t)dx * pb, 6LL * pb, D + (int64_t)dx * pb, 6LL * pb, np);
            for (int i = 0; i < 6; i++)
                wg_bt(V + ((int64_t)i * 6 * C + c) * pb, (int64_t)C * pb, T + (int64_t)i * 6 * pb, pb, np);
        }
        for (int xi = 0; xi < 36; xi++)
            GEMM(CblasRowMajor, CblasNoTrans, CblasNoTrans, K, np, C, (real)1, U + xi * KC, C, V + (int64_t)xi * C * pb,
                 pb, (real)0, M + (int64_t)xi * K * pb, pb);
        /* y tile = A^T M A + bias */
        for (int k = 0; k < K; k++) {
            const real bk = b[k];
            /* T[i][q] = sum_j A^T[q][j] M[i*6 + j][k], then O[r][q] = sum_i A^T[r][i] T[i][q] */
            for (int i = 0; i < 6; i++)
                wg_at(T + (int64_t)i * 4 * pb, pb, M + ((int64_t)i * 6 * K + k) * pb, (int64_t)K * pb, np);
            real *O = D; /* [16, pb] */
            for (int q = 0; q < 4; q++) wg_at(O + (int64_t)q * pb, 4LL * pb, T + (int64_t)q * pb, 4LL * pb, np);
            for (int r = r0; r < r1; r++) {
                const int img = r / g->ty, oy0 = (r % g->ty) * 4;
                real *yp = y + ((int64_t)img * K + k) * HW;
                const int p0 = (r - r0) * tx;
                const int tfull = W / 4; /* tiles whose 4 columns are all inside */
                for (int rr = 0; rr < 4 && oy0 + rr < H; rr++) {
                    real *yr = yp + (int64_t)(oy0 + rr) * W;
                    const real *o0 = O + (int64_t)(rr * 4) * pb + p0, *o1 = o0 + pb, *o2 = o1 + pb, *o3 = o2 + pb;
                    for (int t = 0; t < tfull; t++) {
                        yr[4 * t] = o0[t] + bk;
                        yr[4 * t + 1] = o1[t] + bk;
                        yr[4 * t + 2] = o2[t] + bk;
                        yr[4 * t + 3] = o3[t] + bk;
                    }
                    for (int q = 0; 4 * tfull + q < W; q++) yr[4 * tfull + q] = o0[(int64_t)q * pb + tfull] + bk;
                }
            }
        }
    }
}

void conv3x3_forward(real *y, real *ws, const real *x, const real *w, const real *b,
                     int B, int C, int H, int W, int K, int64_t ws_len) {
    if (C >= WG_MIN_C) {
        const wg_plan g = wg_make_plan(B, C, H, W, K);
        if ((int64_t)36 * K * C + g.nt * g.per_thread <= ws_len) {
            conv3x3_forward_winograd(y, ws, x, w, b, B, C, H, W, K, &g);
            return;
        }
    }
    const int64_t HW = (int64_t)H * W;
    const int C9 = C * 9;
    const int nbmax = conv_chunk(B, C, H, W, K, ws_len);
    for (int b0 = 0; b0 < B; b0 += nbmax) {
        const int nb = B - b0 < nbmax ? B - b0 : nbmax;
        const int64_t ld = (int64_t)nb * HW;
        real *col = ws, *t = ws + (int64_t)C9 * ld;
        im2col3(col, x + (int64_t)b0 * C * HW, nb, C, H, W);
        gemm(0, 0, K, (int)ld, C9, w, C9, col, (int)ld, 0, t, (int)ld);
        /* t [K, nb, HW] -> y [nb, K, HW] + bias */
#pragma omp parallel for collapse(2) schedule(static)
        for (int i = 0; i < nb; i++)
            for (int k = 0; k < K; k++) {
                const real *s = t + (int64_t)k * ld + (int64_t)i * HW;
                real *d = y + ((int64_t)(b0 + i) * K + k) * HW;
                const real bk = b[k];
                for (int64_t j = 0; j < HW; j++) d[j] = s[j] + bk;
            }
    }
}

void conv3x3_backward(real *dx, real *dw, real *db, real *ws, const real *dy, const real *x,
                      const real *w, int B, int C, int H, int W, int K, int64_t ws_len) {
    const int64_t HW = (int64_t)H * W;
    const int C9 = C * 9;
    const int nbmax = conv_chunk(B, C, H, W, K, ws_len);
    for (int b0 = 0; b0 < B; b0 += nbmax) {
        const int nb = B - b0 < nbmax ? B - b0 : nbmax;
        const int64_t ld = (int64_t)nb * HW;
        real *col = ws, *t = ws + (int64_t)C9 * ld;
        /* dy [nb, K, HW] -> t [K, nb, HW] */
#pragma omp parallel for collapse(2) schedule(static)
        for (int k = 0; k < K; k++)
            for (int i = 0; i < nb; i++)
                memcpy(t + (int64_t)k * ld + (int64_t)i * HW, dy + ((int64_t)(b0 + i) * K + k) * HW,
                       sizeof(real) * HW);
        /* db[k] = sum over the chunk (first chunk overwrites). Sequential per
         * k: a fixed summation order. */
#pragma omp parallel for schedule(static)
        for (int k = 0; k < K; k++) {
            const real *s = t + (int64_t)k * ld;
            real acc = 0;
            for (int64_t j = 0; j < ld; j++) acc += s[j];
            db[k] = b0 ? db[k] + acc : acc;
        }
        im2col3(col, x + (int64_t)b0 * C * HW, nb, C, H, W);
        /* dw [K, C9] (+)= t [K, ld] col^T */
        gemm(0, 1, K, C9, (int)ld, t, (int)ld, col, (int)ld, b0 ? (real)1 : (real)0, dw, C9);
        if (dx) {
            /* dcol [C9, ld] = w^T [C9, K] t [K, ld], written over col */
            gemm(1, 0, C9, (int)ld, K, w, C9, t, (int)ld, 0, col, (int)ld);
            col2im3(dx + (int64_t)b0 * C * HW, col, nb, C, H, W);
        }
    }
}

/* ---- ReLU ---------------------------------------------------------------- */

void relu_forward(real *y, const real *x, int64_t n) {
#pragma omp parallel for simd schedule(static) if (n > 65536)
    for (int64_t i = 0; i < n; i++) y[i] = act_relu(x[i]);
}

void relu_backward(real *dx, const real *y, const real *dy, int64_t n) {
#pragma omp parallel for simd schedule(static) if (n > 65536)
    for (int64_t i = 0; i < n; i++) dx[i] = dy[i] * act_relu_grad(y[i]);
}

/* ---- 2x2 max-pool ---------------------------------------------------------- */

void maxpool2_forward(real *y, uint8_t *arg, const real *x, int B, int C, int H, int W) {
    const int OH = H / 2, OW = W / 2;
#pragma omp parallel for schedule(static) if ((int64_t)B * C * H * W > 65536)
    for (int64_t p = 0; p < (int64_t)B * C; p++) {
        const real *xp = x + p * H * W;
        real *yp = y + p * OH * OW;
        uint8_t *ap = arg + p * OH * OW;
        for (int oy = 0; oy < OH; oy++)
            for (int ox = 0; ox < OW; ox++) {
                const real *s = xp + (int64_t)(2 * oy) * W + 2 * ox;
                real m = s[0];
                uint8_t a = 0;
                if (s[1] > m) { m = s[1]; a = 1; }
                if (s[W] > m) { m = s[W]; a = 2; }
                if (s[W + 1] > m) { m = s[W + 1]; a = 3; }
                yp[oy * OW + ox] = m;
                ap[oy * OW + ox] = a;
            }
    }
}

void maxpool2_backward(real *dx, const uint8_t *arg, const real *dy, int B, int C, int H, int W) {
    const int OH = H / 2, OW = W / 2;
#pragma omp parallel for schedule(static) if ((int64_t)B * C * H * W > 65536)
    for (int64_t p = 0; p < (int64_t)B * C; p++) {
        real *dp = dx + p * H * W;
        const real *gp = dy + p * OH * OW;
        const uint8_t *ap = arg + p * OH * OW;
        memset(dp, 0, sizeof(real) * H * W);
        for (int oy = 0; oy < OH; oy++)
            for (int ox = 0; ox < OW; ox++) {
                const int a = ap[oy * OW + ox];
                dp[(int64_t)(2 * oy + (a >> 1)) * W + 2 * ox + (a & 1)] = gp[oy * OW + ox];
            }
    }
}

/* ---- fully connected --------------------------------------------------------- */

/* The forward in calls of 512 output columns: at VGG-19's fc6 (B = 50, in =
 * 25088, out = 4096; OpenBLAS 0.3.21, Cooperlake kernel, one thread) one call
 * ran 54 GFLOP/s, calls of 256-1024 columns 67-69 (tests/bench/bench_head
 * times the step). Each output column is one call either way. */
#define FC_FORWARD_COLS 512

void fc_forward(real *y, const real *x, const real *w, const real *b, int B, int in, int out) {
    gemm_cols(0, 1, B, out, in, x, in, w, in, 0, y, out, FC_FORWARD_COLS);
    for (int i = 0; i < B; i++)
        for (int o = 0; o < out; o++) y[(int64_t)i * out + o] += b[o];
}

void fc_backward(real *dx, real *dw, real *db, const real *dy, const real *x, const real *w,
                 int B, int in, int out) {
    /* dw [out,in] = dy^T [out,B] x [B,in] */
    gemm(1, 0, out, in, B, dy, out, x, in, 0, dw, in);
    /* db [out] = sum of the rows of dy, row by row (each db[o] adds its
     * terms in the order i = 0..B-1, contiguous and vectorised) */
    for (int o = 0; o < out; o++) db[o] = 0;
    for (int i = 0; i < B; i++) {
        const real *r = dy + (int64_t)i * out;
        for (int o = 0; o < out; o++) db[o] += r[o];
    }
    /* dx [B,in] = dy [B,out] w [out,in] */
    if (dx) gemm(0, 0, B, in, out, dy, out, w, in, 0, dx, in);
}

/* ---- dropout ---------------------------------------------------------------- */

void dropout_forward(real *y, const real *x, int64_t n, float p, uint64_t seed, uint64_t step) {
    const real scale = (real)1 / ((real)1 - (real)p);
#pragma omp parallel for schedule(static) if (n > 65536)
    for (int64_t i = 0; i < n; i++) y[i] = act_dropout_keep(seed, step, (uint64_t)i, p) ? x[i] * scale : 0;
}

void dropout_backward(real *dx, const real *dy, int64_t n, float p, uint64_t seed, uint64_t step) {
    const real scale = (real)1 / ((real)1 - (real)p);
#pragma omp parallel for schedule(static) if (n > 65536)
    for (int64_t i = 0; i < n; i++) dx[i] = act_dropout_keep(seed, step, (uint64_t)i, p) ? dy[i] * scale : 0;
}

/* ---- tanh ---------------------------------------------------------------------- */

void tanh_forward(real *y, const real *x, int64_t n) {
    for (int64_t i = 0; i < n; i++) y[i] = act_tanh(x[i]);
}

void tanh_backward(real *dx, const real *y, const real *dy, int64_t n) {
    for (int64_t i = 0; i < n; i++) dx[i] = dy[i] * act_tanh_grad(y[i]);
}
