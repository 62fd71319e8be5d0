/* t_step.c: the pieces of a training step at shapes where their fast paths
 * run: the fc layer's forward (sgemm in column blocks, split over threads)
 * and backward against double loops; the Adam step (nn/adam.h, one
 * vectorised, threaded pass over p, g, m, v) against the formula evaluated
 * in double by a plain loop, a hand-worked first step, and the staircase
 * learning-rate schedule. */
#include <float.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "nn/adam.h"
#include "nn/nn.h"
#include "util/rng.h"
#include "tap.h"
#include "util/util.h"

/* TensorFlow's AdamOptimizer (adam.h), written out in double, one element at
 * a time: the reference the float pass is checked against. */
static void adam_ref(double *theta, double *m, double *v, double *mabs, const float *g, int64_t n, int64_t t,
                     double lr, double eps) {
    const double b1 = 0.9, b2 = 0.999, lrt = lr * sqrt(1 - pow(b2, (double)t)) / (1 - pow(b1, (double)t));
    for (int64_t i = 0; i < n; i++) {
        m[i] = b1 * m[i] + (1 - b1) * g[i];
        mabs[i] = b1 * mabs[i] + (1 - b1) * fabs(g[i]); /* m's scale without cancellation */
        v[i] = b2 * v[i] + (1 - b2) * (double)g[i] * g[i];
        theta[i] -= lrt * m[i] / (sqrt(v[i]) + eps);
    }
}

/* 5 steps over n parameters with gradients of mixed scale (1e-4 .. 1) and
 * exact zeros. Returns the largest error of theta in units of (1e-4 of the
 * reference's total movement + 3 float ulps of theta: five rounded
 * subtractions), and of m and v relative to their scale (m: the same average
 * of |g|, as m itself may cancel to near 0). */
static void run(int64_t n, double eps, int threads, double *e_theta, double *e_mv) {
    rng r;
    rng_seed(&r, 11);
    float *p = xmalloc(sizeof(float) * n), *g = xmalloc(sizeof(float) * n);
    double *pd = xmalloc(sizeof(double) * n), *md = xcalloc(n, sizeof(double)), *vd = xcalloc(n, sizeof(double)),
           *ma = xcalloc(n, sizeof(double)), *p0 = xmalloc(sizeof(double) * n);
    for (int64_t i = 0; i < n; i++) p[i] = (float)(2 * rng_uniform(&r) - 1), pd[i] = p0[i] = p[i];
    adam a;
    adam_init(&a, n, eps);
    const int keep = omp_get_max_threads();
    omp_set_num_threads(threads);
    for (int s = 1; s <= 5; s++) {
        for (int64_t i = 0; i < n; i++) {
            const double scale = pow(10.0, -4.0 * rng_uniform(&r));
            g[i] = i % 97 == 0 ? 0.0f : (float)((2 * rng_uniform(&r) - 1) * scale);
        }
        adam_step(&a, p, g, 1e-3);
        adam_ref(pd, md, vd, ma, g, n, s, 1e-3, eps);
    }
    omp_set_num_threads(keep);
    double et = 0, emv = 0;
    for (int64_t i = 0; i < n; i++) {
        const double move = fabs(pd[i] - p0[i]);
        et = fmax(et, fabs(p[i] - pd[i]) / (1e-4 * move + 3 * FLT_EPSILON * fmax(fabs(pd[i]), fabs(p0[i]))));
        if (ma[i] > 0) emv = fmax(emv, fabs(a.m[i] - md[i]) / ma[i]);
        else emv = fmax(emv, fabs(a.m[i]));
        if (vd[i] > 0) emv = fmax(emv, fabs(a.v[i] - vd[i]) / vd[i]);
        else emv = fmax(emv, fabs(a.v[i]));
    }
    ok(a.t == 5, "t counts the 5 steps");
    *e_theta = et;
    *e_mv = emv;
    adam_free(&a);
    free(p); free(g); free(pd); free(md); free(vd); free(ma); free(p0);
}


/* fc forward and backward with out = 1100 (two full column blocks of 512 and
 * a remainder, split over 1 and 2 threads) against double loops. */
static void test_fc(void) {
    const int B = 6, in = 300, out = 1100;
    rng r;
    rng_seed(&r, 5);
    float *x = xmalloc(sizeof(float) * B * in), *w = xmalloc(sizeof(float) * out * in), *b = xmalloc(sizeof(float) * out),
          *y = xmalloc(sizeof(float) * B * out), *dy = xmalloc(sizeof(float) * B * out),
          *dx = xmalloc(sizeof(float) * B * in), *dw = xmalloc(sizeof(float) * out * in), *db = xmalloc(sizeof(float) * out);
    for (int i = 0; i < B * in; i++) x[i] = (float)(2 * rng_uniform(&r) - 1);
    for (int i = 0; i < out * in; i++) w[i] = (float)(2 * rng_uniform(&r) - 1);
    for (int i = 0; i < out; i++) b[i] = (float)(2 * rng_uniform(&r) - 1);
    for (int i = 0; i < B * out; i++) dy[i] = (float)(2 * rng_uniform(&r) - 1);
    /* errors relative to sqrt(terms) (the size of a sum of that many +-1 products) */
    const int keep = omp_get_max_threads();
    for (int th = 1; th <= 2; th++) {
        omp_set_num_threads(th);
        fc_forward(y, x, w, b, B, in, out);
        fc_backward(dx, dw, db, dy, x, w, B, in, out);
        double ey = 0, ex = 0, ew = 0, eb = 0;
        for (int i = 0; i < B; i++)
            for (int o = 0; o < out; o++) {
                double acc = b[o];
                for (int k = 0; k < in; k++) acc += (double)x[i * in + k] * w[(int64_t)o * in + k];
                ey = fmax(ey, fabs(y[i * out + o] - acc) / sqrt(in));
            }
        for (int i = 0; i < B; i++)
            for (int k = 0; k < in; k++) {
                double acc = 0;
                for (int o = 0; o < out; o++) acc += (double)dy[i * out + o] * w[(int64_t)o * in + k];
                ex = fmax(ex, fabs(dx[i * in + k] - acc) / sqrt(out));
            }
        for (int o = 0; o < out; o++) {
            double accb = 0;
            for (int i = 0; i < B; i++) accb += dy[i * out + o];
            eb = fmax(eb, fabs(db[o] - accb) / sqrt(B));
            for (int k = 0; k < in; k++) {
                double acc = 0;
                for (int i = 0; i < B; i++) acc += (double)dy[i * out + o] * x[i * in + k];
                ew = fmax(ew, fabs(dw[(int64_t)o * in + k] - acc) / sqrt(B));
            }
        }
        ok(ey < 1e-5 && ex < 1e-5 && ew < 1e-5 && eb < 1e-5,
           "fc %d -> %d, batch %d, %d thread(s): y, dx, dw, db against double loops within %.2g, %.2g, %.2g, %.2g of "
           "sqrt(terms) (tol 1e-5)", in, out, B, th, ey, ex, ew, eb);
    }
    omp_set_num_threads(keep);
    free(x); free(w); free(b); free(y); free(dy); free(dx); free(dw); free(db);
}

int main(void) {
    test_fc();
    /* n above the threading threshold (65536) and not a multiple of the
     * vector width, so the threaded, vectorised and remainder paths all run */
    const int64_t n = 200003;
    const double eps_list[2] = {1e-8, 1.0}; /* the paper's Adam and the official code's eps = 1 */
    for (int k = 0; k < 2; k++)
        for (int th = 1; th <= 2; th++) {
            double et, emv;
            run(n, eps_list[k], th, &et, &emv);
            ok(et <= 1 && emv < 1e-5,
               "eps %g, %d thread(s): theta against the double-precision formula: %.2f of (1e-4 of its movement + 3 "
               "ulps) (tol 1), m and v within %.2g relative (tol 1e-5)", eps_list[k], th, et, emv);
        }

    /* the first step by hand: m = 0.1 g, v = 0.001 g^2, lr_t = lr sqrt(0.001) /
     * 0.1, so theta moves by lr g sqrt(0.001) / (sqrt(0.001) |g| + eps): lr
     * sign(g) for eps -> 0, lr g sqrt(0.001) / (sqrt(0.001) |g| + 1) for eps = 1 */
    float p[3] = {1, 1, 1};
    const float g[3] = {0.5f, -2.0f, 0.0f};
    adam a;
    adam_init(&a, 3, 1e-8);
    adam_step(&a, p, g, 0.01);
    ok(fabs(p[0] - 0.99) < 1e-6 && fabs(p[1] - 1.01) < 1e-6 && p[2] == 1 && fabsf(a.m[1] + 0.2f) < 1e-7f &&
           fabsf(a.v[1] - 0.004f) < 1e-9f,
       "first step, eps 1e-8: theta 1 -> %.7f, %.7f, %.7f (0.99, 1.01, 1 by hand), m = 0.1 g, v = 0.001 g^2", p[0], p[1],
       p[2]);
    adam_free(&a);
    p[0] = 1;
    adam_init(&a, 1, 1.0);
    adam_step(&a, p, g, 0.01);
    const double want = 1 - 0.01 * 0.5 * sqrt(0.001) / (sqrt(0.001) * 0.5 + 1);
    ok(fabs(p[0] - want) < 1e-7, "first step, eps 1: theta %.8f, by hand %.8f", p[0], want);
    adam_free(&a);

    ok(lr_at(1e-4, 0.99, 200, 0) == 1e-4 && fabs(lr_at(1e-4, 0.99, 200, 399) - 0.99e-4) < 1e-18 &&
           fabs(lr_at(1e-4, 0.99, 200, 400) - 0.99 * 0.99e-4) < 1e-18 && lr_at(1e-4, 0.5, 0, 1000) == 1e-4,
       "staircase schedule: lr0 * factor^floor(step / every), every 0 = constant");
    return done_testing();
}
