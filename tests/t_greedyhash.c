/* t_greedyhash: the unsupervised GreedyHash loss (loss.h) against plain loops
 * and its straight-through gradient against central finite differences of
 * the function it is the derivative of: the loss with b = sgn(u0) + (u - u0)
 * in the similarity term and b = sgn(u0) held in the penalty (the double copy
 * of loss.c, nn/nn_double.h). */
#include <math.h>
#include <stdlib.h>

#include "nn/nn_double.h"
#include "util/rng.h"
#include "tap.h"

enum { B = 6, L = 5, D = 7 };

static double surrogate(const double *u, const double *u0, const double *f, double alpha) {
    double b[B * L], b0[B * L], fit = 0, pen = 0;
    for (int i = 0; i < B * L; i++) {
        b0[i] = u0[i] >= 0 ? 1 : -1;
        b[i] = b0[i] + u[i] - u0[i];
        pen += pow(fabs(u[i] - b0[i]), 3);
    }
    for (int i = 0; i < B; i++)
        for (int j = 0; j < B; j++) {
            double fij = 0, fii = 0, fjj = 0, cb = 0;
            for (int k = 0; k < D; k++) {
                fij += f[i * D + k] * f[j * D + k];
                fii += f[i * D + k] * f[i * D + k];
                fjj += f[j * D + k] * f[j * D + k];
            }
            for (int k = 0; k < L; k++) cb += b[i * L + k] * b[j * L + k];
            double e = fij / sqrt(fii * fjj) - cb / L;
            fit += e * e;
        }
    return fit / (B * B) + alpha * pen / (B * L);
}

int main(void) {
    rng g;
    rng_seed(&g, 12);
    double u[B * L], f[B * D], du[B * L], ws[B * D + 2 * B * B];
    for (int i = 0; i < B * L; i++) u[i] = 1.5 * rng_normal(&g);
    for (int i = 0; i < B * D; i++) f[i] = rng_normal(&g);
    const double alpha = 0.7;
    double l = greedyhash_loss_forward_d(ws, u, f, B, L, D, alpha);
    greedyhash_loss_backward_d(du, ws, u, B, L, D, alpha);
    double ls = surrogate(u, u, f, alpha);
    ok(fabs(l - ls) < 1e-12 * ls, "loss %.10f = plain loops %.10f (b = sgn(u))", l, ls);
    double maxe = 0, maxg = 0;
    for (int i = 0; i < B * L; i++) {
        double up[B * L], dn[B * L], h = 1e-6;
        for (int k = 0; k < B * L; k++) up[k] = dn[k] = u[k];
        up[i] += h;
        dn[i] -= h;
        double fd = (surrogate(up, u, f, alpha) - surrogate(dn, u, f, alpha)) / (2 * h);
        maxe = fmax(maxe, fabs(fd - du[i]));
        maxg = fmax(maxg, fabs(du[i]));
    }
    ok(maxe <= 1e-6 * maxg, "straight-through dL/du = central differences (max err %.2g, max |g| %.2g)", maxe, maxg);
    /* the penalty alone: zero at u = +-1, and a true gradient away from 0 */
    double one[B * L];
    for (int i = 0; i < B * L; i++) one[i] = i % 3 ? 1.0 : -1.0;
    double l1 = greedyhash_loss_forward_d(ws, one, f, B, L, D, alpha), l0 = greedyhash_loss_forward_d(ws, one, f, B, L, D, 0);
    ok(fabs(l1 - l0) < 1e-15, "at u = +-1 the penalty is 0");
    return done_testing();
}
