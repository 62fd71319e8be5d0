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

void conv3x3_forward(real *y, real *ws, const real *x, const real *w, const real *b,
                     int B, int C, int H, int W, int K, int64_t ws_len) {
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
