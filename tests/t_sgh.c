/* t_sgh: Stochastic Generative Hashing. The batch loss and its gradient
 * (the double copy, nn/nn_double.h) against a plain-loop evaluation of
 * the loss of sgh.h and central finite differences of the function whose
 * derivative the SGH estimator is: the sample loss with the neuron output
 * h = h0 + (p(theta) - p0) (h0, p0 at the point). Then training: the loss
 * falls, the same seed gives the same model. The neuron's noise: one
 * independent uniform per unit (mean, variance, distinct values, steps). */
#include <math.h>
#include <stdlib.h>

#include "nn/nn_double.h"
#include "nn/sgh.h"
#include "util/rng.h"
#include "tap.h"

enum { B = 5, D = 7, NB = 4 };

/* the surrogate: plain loops from the definitions in sgh.h */
static double surrogate(const double *th, const double *x, const double *h0, const double *p0, double rho2) {
    const double *we = th, *be = we + D * NB, *wd = be + NB, *bd = wd + D * NB;
    double loss = 0;
    for (int i = 0; i < B; i++) {
        double p[NB], h[NB];
        for (int k = 0; k < NB; k++) {
            double z = be[k];
            for (int j = 0; j < D; j++) z += x[i * D + j] * we[k * D + j];
            p[k] = 1 / (1 + exp(-z));
            h[k] = h0[i * NB + k] + p[k] - p0[i * NB + k];
            loss += p[k] * log(p[k]) + (1 - p[k]) * log(1 - p[k]) + log(2.0);
        }
        for (int j = 0; j < D; j++) {
            double xr = bd[j];
            for (int k = 0; k < NB; k++) xr += h[k] * wd[j * NB + k];
            loss += (xr - x[i * D + j]) * (xr - x[i * D + j]) / (2 * rho2);
        }
    }
    return loss / B;
}

int main(void) {
    rng g;
    rng_seed(&g, 5);
    const int64_t np = sgh_nparams(D, NB);
    double *th = malloc(sizeof(double) * np), *grad = malloc(sizeof(double) * np);
    double x[B * D], xi[B * NB], h0[B * NB], p0[B * NB];
    for (int64_t i = 0; i < np; i++) th[i] = 0.5 * rng_normal(&g);
    for (int i = 0; i < B * D; i++) x[i] = rng_normal(&g);
    for (int i = 0; i < B * NB; i++) xi[i] = rng_uniform(&g);
    const double rho2 = 0.7;
    double *ws = malloc(sizeof(double) * sgh_batch_ws_d(B, D, NB));
    double l = sgh_batch_forward_d(ws, th, x, xi, B, D, NB, rho2);
    sgh_batch_backward_d(grad, ws, th, x, B, D, NB, rho2);
    const double *wp = ws + B * NB, *wh = ws + 2 * B * NB; /* p and h in the workspace (sgh.h) */
    int hok = 1;
    for (int i = 0; i < B * NB; i++) {
        p0[i] = wp[i];
        h0[i] = wh[i];
        hok &= wh[i] == (wp[i] >= xi[i] ? 1.0 : 0.0);
    }
    ok(hok, "neuron: h = [sigmoid(z) >= xi] for all %d units", B * NB);
    double ls = surrogate(th, x, h0, p0, rho2);
    ok(fabs(l - ls) < 1e-12 * fabs(ls), "loss %.12f = plain-loop loss %.12f", l, ls);
    double maxg = 0, maxe = 0;
    for (int64_t i = 0; i < np; i++) {
        double keep = th[i], hh = 1e-6;
        th[i] = keep + hh;
        double up = surrogate(th, x, h0, p0, rho2);
        th[i] = keep - hh;
        double dn = surrogate(th, x, h0, p0, rho2);
        th[i] = keep;
        maxg = fmax(maxg, fabs(grad[i]));
        maxe = fmax(maxe, fabs((up - dn) / (2 * hh) - grad[i]));
    }
    ok(maxe <= 1e-6 * maxg, "gradient of all %lld parameters = central differences (max err %.2g, max |g| %.2g)",
       (long long)np, maxe, maxg);
    free(ws);
    free(th);
    free(grad);

    enum { NX = 12800 }; /* one step of a 100-row batch at 128 bits */
    static float u0[NX], u1[NX];
    sgh_noise(u0, NX, 0x1234, 0);
    sgh_noise(u1, NX, 0x1234, 1);
    double mean = 0, var = 0;
    int in01 = 1, equal = 0, same_step = 0;
    for (int i = 0; i < NX; i++) {
        mean += u0[i] / NX;
        in01 &= u0[i] >= 0.0f && u0[i] < 1.0f;
        equal += i > 0 && u0[i] == u0[i - 1];
        same_step += u0[i] == u1[i];
    }
    for (int i = 0; i < NX; i++) var += (u0[i] - mean) * (u0[i] - mean) / NX;
    /* U(0,1): mean 1/2 (sd 0.0026 at n = 12,800), variance 1/12 */
    ok(in01 && fabs(mean - 0.5) < 0.01 && fabs(var - 1.0 / 12) < 0.004 && equal < 10 && same_step < 10,
       "noise: %d units of one step uniform on [0,1) (mean %.4f, var %.4f), %d equal neighbours, %d equal to step 1",
       NX, mean, var, equal, same_step);
    return done_testing();
}
