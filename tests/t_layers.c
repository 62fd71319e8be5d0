/* t_layers.c: every layer's forward against a brute-force loop and its
 * backward against central finite differences.
 *
 * The layers' double copy (nn/nn_double.h, functions suffixed _d) makes the
 * finite differences tight: h = 1e-6, and the check is
 * max|fd - analytic| / max|analytic| <= 1e-6 for every gradient (a wrong
 * sign or a missing term gives O(1)). The float build (the library's) is
 * checked against this double copy by t_ops.c, op by op and backend by
 * backend, on the same conv shapes and more. */
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "nn/nn_double.h"
#include "util/rng.h"
#include "util/util.h"
#include "tap.h"

#define TOL 1e-6
#define H_FD 1e-6

static rng R;
static double *rnd(int64_t n, double lo, double hi) {
    double *p = xmalloc(sizeof(double) * (n > 0 ? n : 1));
    for (int64_t i = 0; i < n; i++) p[i] = lo + (hi - lo) * rng_uniform(&R);
    return p;
}
static double dot(const double *a, const double *b, int64_t n) {
    double s = 0;
    for (int64_t i = 0; i < n; i++) s += a[i] * b[i];
    return s;
}
static double maxabs(const double *a, int64_t n) {
    double m = 0;
    for (int64_t i = 0; i < n; i++) m = fmax(m, fabs(a[i]));
    return m;
}

/* Objective f(v) = r . forward(v); `fwd` writes forward into y. Compares the
 * analytic gradient g [n] wrt the buffer v [n] with central differences. */
typedef void (*fwd_fn)(double *y, void *ctx);
static double fd_check(double *v, int64_t n, const double *g, fwd_fn f, void *ctx, double *y,
                       const double *r, int64_t ny) {
    double *fd = xmalloc(sizeof(double) * n);
    for (int64_t i = 0; i < n; i++) {
        double s = v[i];
        v[i] = s + H_FD;
        f(y, ctx);
        double fp = dot(r, y, ny);
        v[i] = s - H_FD;
        f(y, ctx);
        double fm = dot(r, y, ny);
        v[i] = s;
        fd[i] = (fp - fm) / (2 * H_FD);
    }
    double e = 0;
    for (int64_t i = 0; i < n; i++) e = fmax(e, fabs(fd[i] - g[i]));
    double sc = maxabs(g, n);
    free(fd);
    return e / (sc > 0 ? sc : 1);
}

/* ---- conv ---- */
typedef struct { int B, C, H, W, K; double *x, *w, *b, *ws; int64_t wsl; } conv_ctx;
static void conv_f(double *y, void *c_) {
    conv_ctx *c = c_;
    conv3x3_forward_d(y, c->ws, c->x, c->w, c->b, c->B, c->C, c->H, c->W, c->K, c->wsl);
}

/* nb images per im2col chunk; nb = 0: the workspace of the forward's
 * Winograd path (nn.h; C >= 16) */
static void test_conv(int B, int C, int H, int W, int K, int nb) {
    conv_ctx c = {B, C, H, W, K, 0, 0, 0, 0, 0};
    int64_t nx = (int64_t)B * C * H * W, ny = (int64_t)B * K * H * W, nw = (int64_t)K * C * 9;
    c.x = rnd(nx, -1, 1);
    c.w = rnd(nw, -1, 1);
    c.b = rnd(K, -1, 1);
    c.wsl = conv3x3_ws_per_image_d(C, H, W, K) * (nb ? nb : 1);
    if (!nb && conv3x3_ws_winograd_d(B, C, H, W, K) > c.wsl) c.wsl = conv3x3_ws_winograd_d(B, C, H, W, K);
    c.ws = xmalloc(sizeof(double) * c.wsl);
    double *y = xmalloc(sizeof(double) * ny), *r = rnd(ny, -1, 1);
    conv_f(y, &c);
    /* brute force forward */
    double e = 0;
    for (int b = 0; b < B; b++)
        for (int k = 0; k < K; k++)
            for (int i = 0; i < H; i++)
                for (int j = 0; j < W; j++) {
                    double s = c.b[k];
                    for (int ch = 0; ch < C; ch++)
                        for (int dy = -1; dy <= 1; dy++)
                            for (int dx = -1; dx <= 1; dx++) {
                                int ii = i + dy, jj = j + dx;
                                if (ii < 0 || ii >= H || jj < 0 || jj >= W) continue;
                                s += c.x[((b * C + ch) * H + ii) * W + jj] *
                                     c.w[((k * C + ch) * 3 + dy + 1) * 3 + dx + 1];
                            }
                    e = fmax(e, fabs(s - y[((b * K + k) * H + i) * W + j]));
                }
    ok(e < 1e-12, "conv3x3 forward B=%d C=%d %dx%d K=%d %s %d == direct loop (max err %.2g)", B, C, H, W, K,
       nb ? "chunk" : "Winograd, C >=", nb ? nb : 16, e);
    double *dx = xmalloc(sizeof(double) * nx), *dw = xmalloc(sizeof(double) * nw), *db = xmalloc(sizeof(double) * K);
    conv3x3_backward_d(dx, dw, db, c.ws, r, c.x, c.w, B, C, H, W, K, c.wsl);
    double ex = fd_check(c.x, nx, dx, conv_f, &c, y, r, ny);
    double ew = fd_check(c.w, nw, dw, conv_f, &c, y, r, ny);
    double eb = fd_check(c.b, K, db, conv_f, &c, y, r, ny);
    ok(ex < TOL && ew < TOL && eb < TOL, "conv3x3 backward vs finite differences: dx %.2g dw %.2g db %.2g (tol %g)",
       ex, ew, eb, TOL);
    /* backward without dx leaves dw, db identical */
    double *dw2 = xmalloc(sizeof(double) * nw), *db2 = xmalloc(sizeof(double) * K);
    conv3x3_backward_d(NULL, dw2, db2, c.ws, r, c.x, c.w, B, C, H, W, K, c.wsl);
    ok(!memcmp(dw, dw2, sizeof(double) * nw) && !memcmp(db, db2, sizeof(double) * K),
       "conv3x3 backward with dx = NULL gives the same dw, db");
    free(c.x); free(c.w); free(c.b); free(c.ws); free(y); free(r); free(dx); free(dw); free(db);
    free(dw2); free(db2);
}

/* ---- fc ---- */
typedef struct { int B, in, out; double *x, *w, *b; } fc_ctx;
static void fc_f(double *y, void *c_) {
    fc_ctx *c = c_;
    fc_forward_d(y, c->x, c->w, c->b, c->B, c->in, c->out);
}
static void test_fc(void) {
    fc_ctx c = {4, 7, 5, 0, 0, 0};
    int64_t nx = 28, nw = 35, ny = 20;
    c.x = rnd(nx, -1, 1); c.w = rnd(nw, -1, 1); c.b = rnd(5, -1, 1);
    double *y = xmalloc(8 * ny), *r = rnd(ny, -1, 1), *dx = xmalloc(8 * nx), *dw = xmalloc(8 * nw), *db = xmalloc(8 * 5);
    fc_f(y, &c);
    double e = 0;
    for (int i = 0; i < 4; i++)
        for (int o = 0; o < 5; o++) {
            double s = c.b[o];
            for (int k = 0; k < 7; k++) s += c.x[i * 7 + k] * c.w[o * 7 + k];
            e = fmax(e, fabs(s - y[i * 5 + o]));
        }
    ok(e < 1e-12, "fc forward == direct loop (max err %.2g)", e);
    fc_backward_d(dx, dw, db, r, c.x, c.w, 4, 7, 5);
    double ex = fd_check(c.x, nx, dx, fc_f, &c, y, r, ny), ew = fd_check(c.w, nw, dw, fc_f, &c, y, r, ny),
           eb = fd_check(c.b, 5, db, fc_f, &c, y, r, ny);
    ok(ex < TOL && ew < TOL && eb < TOL, "fc backward vs finite differences: dx %.2g dw %.2g db %.2g (tol %g)", ex,
       ew, eb, TOL);
    free(c.x); free(c.w); free(c.b); free(y); free(r); free(dx); free(dw); free(db);
}

/* ---- pool ---- */
typedef struct { int B, C, H, W; double *x; uint8_t *arg; } pool_ctx;
static void pool_f(double *y, void *c_) {
    pool_ctx *c = c_;
    maxpool2_forward_d(y, c->arg, c->x, c->B, c->C, c->H, c->W);
}
static void test_pool(void) {
    pool_ctx c = {2, 3, 5, 6, 0, 0};
    int64_t nx = 2 * 3 * 5 * 6, ny = 2 * 3 * 2 * 3;
    c.x = rnd(nx, -1, 1);
    c.arg = xmalloc(ny);
    double *y = xmalloc(8 * ny), *r = rnd(ny, -1, 1), *dx = xmalloc(8 * nx);
    pool_f(y, &c);
    double e = 0;
    for (int p = 0; p < 6; p++)
        for (int i = 0; i < 2; i++)
            for (int j = 0; j < 3; j++) {
                const double *s = c.x + p * 30;
                double m = fmax(fmax(s[(2 * i) * 6 + 2 * j], s[(2 * i) * 6 + 2 * j + 1]),
                                fmax(s[(2 * i + 1) * 6 + 2 * j], s[(2 * i + 1) * 6 + 2 * j + 1]));
                e = fmax(e, fabs(m - y[p * 6 + i * 3 + j]));
            }
    ok(e == 0, "maxpool2 forward on 5x6 (odd height floors to 2x3) == direct max");
    maxpool2_backward_d(dx, c.arg, r, 2, 3, 5, 6);
    double ex = fd_check(c.x, nx, dx, pool_f, &c, y, r, ny);
    ok(ex < TOL, "maxpool2 backward vs finite differences: dx %.2g (tol %g)", ex, TOL);
    int lastrow0 = 1;
    for (int p = 0; p < 6; p++)
        for (int j = 0; j < 6; j++) lastrow0 &= dx[p * 30 + 4 * 6 + j] == 0;
    ok(lastrow0, "maxpool2 backward: the dropped odd row gets gradient 0");
    free(c.x); free(c.arg); free(y); free(r); free(dx);
}

/* ---- element-wise ---- */
typedef struct { int kind; int64_t n; double *x; } ew_ctx;
static void ew_f(double *y, void *c_) {
    ew_ctx *c = c_;
    if (c->kind == 0) relu_forward_d(y, c->x, c->n);
    else if (c->kind == 1) tanh_forward_d(y, c->x, c->n);
    else dropout_forward_d(y, c->x, c->n, 0.3f, 1234, 7);
}
static void test_ew(void) {
    const char *names[3] = {"relu", "tanh", "dropout"};
    for (int kind = 0; kind < 3; kind++) {
        ew_ctx c = {kind, 64, rnd(64, -2, 2)};
        double *y = xmalloc(8 * 64), *r = rnd(64, -1, 1), *dx = xmalloc(8 * 64);
        ew_f(y, &c);
        if (kind == 0) relu_backward_d(dx, y, r, 64);
        else if (kind == 1) tanh_backward_d(dx, y, r, 64);
        else dropout_backward_d(dx, r, 64, 0.3f, 1234, 7);
        double ex = fd_check(c.x, 64, dx, ew_f, &c, y, r, 64);
        ok(ex < TOL, "%s backward vs finite differences: dx %.2g (tol %g)", names[kind], ex, TOL);
        free(c.x); free(y); free(r); free(dx);
    }
    /* in-place use (y aliases x, dx aliases dy) gives the same numbers */
    double *x = rnd(64, -2, 2), *y = xmalloc(8 * 64), *g = rnd(64, -1, 1), *g2 = xmalloc(8 * 64), *dx = xmalloc(8 * 64);
    tanh_forward_d(y, x, 64);
    tanh_backward_d(dx, y, g, 64);
    tanh_forward_d(x, x, 64);
    memcpy(g2, g, 8 * 64);
    tanh_backward_d(g2, x, g2, 64);
    ok(!memcmp(x, y, 8 * 64) && !memcmp(g2, dx, 8 * 64), "tanh in place == out of place");
    free(x); free(y); free(g); free(g2); free(dx);
    /* dropout statistics: drop rate ~p, kept values scaled by 1/(1-p), a
     * different step gives a different mask, the same step the same mask */
    const int64_t n = 200000;
    double *ones = xmalloc(8 * n), *a = xmalloc(8 * n), *b2 = xmalloc(8 * n);
    for (int64_t i = 0; i < n; i++) ones[i] = 1;
    dropout_forward_d(a, ones, n, 0.5f, 99, 3);
    dropout_forward_d(b2, ones, n, 0.5f, 99, 4);
    int64_t zeros = 0, diff = 0, badscale = 0;
    for (int64_t i = 0; i < n; i++) {
        zeros += a[i] == 0;
        diff += (a[i] == 0) != (b2[i] == 0);
        badscale += a[i] != 0 && a[i] != 2.0;
    }
    double rate = (double)zeros / n;
    ok(fabs(rate - 0.5) < 0.01 && badscale == 0, "dropout p=0.5: drop rate %.4f (|rate-0.5| < 0.01), kept = 2x", rate);
    ok(fabs((double)diff / n - 0.5) < 0.01, "dropout masks of two steps are independent (%.4f differ)", (double)diff / n);
    dropout_forward_d(b2, ones, n, 0.5f, 99, 3);
    ok(!memcmp(a, b2, 8 * n), "dropout mask is a function of (seed, step): recomputed identically");
    free(ones); free(a); free(b2);
}

/* The Winograd workspace for a batch of B serves every smaller batch with
 * the same algorithm (net.c sizes it once for B; a stage's last batch is
 * smaller): b images with conv3x3_ws_winograd(B) give the same bits as with
 * conv3x3_ws_winograd(b), which is Winograd for sure. Had the first fallen
 * back to im2col, the bits would differ (another rounding). Thread counts 1
 * to 3: the tile blocks depend on them. */
static void test_conv_ws_partial(int C, int H, int W, int K, int B) {
    const int64_t nx = (int64_t)B * C * H * W, ny = (int64_t)B * K * H * W;
    double *x = rnd(nx, -1, 1), *w = rnd((int64_t)K * C * 9, -1, 1), *b = rnd(K, -1, 1);
    double *y1 = xmalloc(sizeof(double) * ny), *y2 = xmalloc(sizeof(double) * ny);
    const int nt0 = omp_get_max_threads();
    int same = 1, tried = 0;
    for (int nt = 1; nt <= 3; nt++) {
        omp_set_num_threads(nt);
        const int64_t wl = conv3x3_ws_winograd_d(B, C, H, W, K);
        double *ws = xmalloc(sizeof(double) * wl);
        for (int bb = 1; bb <= B; bb++) {
            const int64_t wlb = conv3x3_ws_winograd_d(bb, C, H, W, K);
            double *wsb = xmalloc(sizeof(double) * wlb);
            conv3x3_forward_d(y1, ws, x, w, b, bb, C, H, W, K, wl);
            conv3x3_forward_d(y2, wsb, x, w, b, bb, C, H, W, K, wlb);
            same &= !memcmp(y1, y2, sizeof(double) * (size_t)bb * K * H * W);
            tried++;
            free(wsb);
        }
        free(ws);
    }
    omp_set_num_threads(nt0);
    ok(same, "conv3x3 Winograd: the workspace for %d images serves each of %d smaller batches, 1-3 threads "
       "(identical bits)", B, tried - 3);
    free(x); free(w); free(b); free(y1); free(y2);
}

int main(void) {
    rng_seed(&R, 42);
    test_conv(3, 2, 5, 4, 3, 2);   /* chunks of 2 then 1 image */
    test_conv(2, 1, 4, 4, 2, 8);   /* one chunk, C = 1 */
    test_conv(2, 3, 1, 1, 2, 1);   /* 1x1 images: all borders */
    test_conv(2, 16, 6, 7, 3, 0);  /* Winograd F(4x4, 3x3): edge tiles both ways */
    test_conv(3, 17, 4, 5, 2, 0);  /* Winograd: one tile row per image */
    test_conv(1, 16, 1, 1, 2, 0);  /* Winograd: a 1x1 image in one tile */
    test_conv_ws_partial(16, 7, 9, 5, 48);
    test_conv_ws_partial(16, 28, 28, 8, 20);
    test_fc();
    test_pool();
    test_ew();
    return done_testing();
}
