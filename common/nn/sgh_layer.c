/* sgh_layer.c: the SGH neuron and batch loss (sgh.h), in `real` so that a
 * double copy (nn/nn_double.h) serves the finite-difference tests. */
#include <math.h>
#include <stddef.h>

#include "nn/nn.h"
#include "nn/sgh.h"

void sgh_neuron_forward(real *h, real *p, const real *z, const real *xi, int64_t n) {
    for (int64_t i = 0; i < n; i++) {
        p[i] = (real)1 / ((real)1 + exp(-z[i]));
        h[i] = p[i] >= xi[i] ? (real)1 : (real)0;
    }
}

void sgh_neuron_backward(real *dz, const real *p, const real *dh, const real *dp, int64_t n) {
    for (int64_t i = 0; i < n; i++) dz[i] = p[i] * ((real)1 - p[i]) * (dh[i] + (dp ? dp[i] : (real)0));
}

int64_t sgh_batch_ws(int B, int64_t d, int b) { return 5 * (int64_t)B * b + 2 * (int64_t)B * d; }

double sgh_batch_forward(real *ws, const real *params, const real *x, const real *xi, int B, int64_t d, int b,
                         double rho2) {
    const real *we = params, *be = we + d * b, *wd = be + b, *bd = wd + d * b;
    const int64_t nb = (int64_t)B * b, nd = (int64_t)B * d;
    real *z = ws, *p = z + nb, *h = p + nb, *xr = h + 3 * nb;
    /* encoder fc, neuron, decoder fc */
    fc_forward(z, x, we, be, B, (int)d, b);
    sgh_neuron_forward(h, p, z, xi, nb);
    fc_forward(xr, h, wd, bd, B, b, (int)d);
    double rec = 0, kl = 0;
#pragma omp simd reduction(+ : rec)
    for (int64_t i = 0; i < nd; i++) {
        double e = (double)xr[i] - x[i];
        rec += e * e;
    }
    for (int64_t i = 0; i < nb; i++) {
        double pi = p[i];
        kl += (pi > 0 ? pi * log(pi) : 0) + (pi < 1 ? (1 - pi) * log(1 - pi) : 0) + log(2.0);
    }
    return (rec / (2 * rho2) + kl) / B;
}

void sgh_batch_backward(real *grad, real *ws, const real *params, const real *x, int B, int64_t d, int b,
                        double rho2) {
    const real *we = params, *wd = we + d * b + b;
    const int64_t nb = (int64_t)B * b, nd = (int64_t)B * d;
    real *z = ws, *p = z + nb, *h = p + nb, *dh = h + nb, *dz = dh + nb, *xr = dz + nb, *dxr = xr + nd;
    for (int64_t i = 0; i < nd; i++) dxr[i] = (real)(((double)xr[i] - x[i]) / (rho2 * B));
    /* d/dp of the KL term, (1/B) log(p / (1 - p)) = z / B */
    for (int64_t i = 0; i < nb; i++) dz[i] = z[i] / (real)B;
    real *gwe = grad, *gbe = gwe + d * b, *gwd = gbe + b, *gbd = gwd + d * b;
    fc_backward(dh, gwd, gbd, dxr, h, wd, B, b, (int)d);
    sgh_neuron_backward(dz, p, dh, dz, nb);
    fc_backward(NULL, gwe, gbe, dz, x, we, B, (int)d, b);
}
