/* sgh_layer.c: the SGH neuron and batch loss (sgh.h), in `real` so that the
 * tests compile it again in double for finite differences. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn/nn.h"
#include "nn/sgh.h"
#include "util/util.h"

void SGH(sgh_neuron_forward)(real *h, real *p, const real *z, const real *xi, int64_t n) {
    for (int64_t i = 0; i < n; i++) {
        p[i] = (real)1 / ((real)1 + exp(-z[i]));
        h[i] = p[i] >= xi[i] ? (real)1 : (real)0;
    }
}

void SGH(sgh_neuron_backward)(real *dz, const real *p, const real *dh, const real *dp, int64_t n) {
    for (int64_t i = 0; i < n; i++) dz[i] = p[i] * ((real)1 - p[i]) * (dh[i] + (dp ? dp[i] : (real)0));
}

void SGH(sgh_ws_alloc)(sgh_ws *ws, int B, int64_t d, int b) {
    ws->B = B;
    size_t nb = sizeof(real) * (size_t)B * (size_t)b, nd = sizeof(real) * (size_t)B * (size_t)d;
    ws->z = xaligned(nb);
    ws->p = xaligned(nb);
    ws->h = xaligned(nb);
    ws->dh = xaligned(nb);
    ws->dz = xaligned(nb);
    ws->xr = xaligned(nd);
    ws->dxr = xaligned(nd);
}

void SGH(sgh_ws_free)(sgh_ws *ws) {
    free(ws->z);
    free(ws->p);
    free(ws->h);
    free(ws->dh);
    free(ws->dz);
    free(ws->xr);
    free(ws->dxr);
    memset(ws, 0, sizeof *ws);
}

double SGH(sgh_batch)(real *grad, const sgh_ws *ws, const real *params, const real *x, const real *xi, int B,
                      int64_t d, int b, double rho2) {
    CHECK(B <= ws->B);
    const real *we = params, *be = we + d * b, *wd = be + b, *bd = wd + d * b;
    const int64_t nb = (int64_t)B * b, nd = (int64_t)B * d;
    /* encoder fc, neuron, decoder fc */
    NN(fc_forward)(ws->z, x, we, be, B, (int)d, b);
    SGH(sgh_neuron_forward)(ws->h, ws->p, ws->z, xi, nb);
    NN(fc_forward)(ws->xr, ws->h, wd, bd, B, b, (int)d);
    double rec = 0, kl = 0;
    for (int64_t i = 0; i < nd; i++) {
        double e = (double)ws->xr[i] - x[i];
        rec += e * e;
        ws->dxr[i] = (real)(e / (rho2 * B));
    }
    for (int64_t i = 0; i < nb; i++) {
        double p = ws->p[i];
        kl += (p > 0 ? p * log(p) : 0) + (p < 1 ? (1 - p) * log(1 - p) : 0) + log(2.0);
        /* d/dp of the KL term, (1/B) log(p / (1 - p)) = z / B, into dz for now */
        ws->dz[i] = ws->z[i] / (real)B;
    }
    double loss = (rec / (2 * rho2) + kl) / B;
    if (!grad) return loss;
    real *gwe = grad, *gbe = gwe + d * b, *gwd = gbe + b, *gbd = gwd + d * b;
    NN(fc_backward)(ws->dh, gwd, gbd, ws->dxr, ws->h, wd, B, b, (int)d);
    SGH(sgh_neuron_backward)(ws->dz, ws->p, ws->dh, ws->dz, nb);
    NN(fc_backward)(NULL, gwe, gbe, ws->dz, x, we, B, (int)d, b);
    return loss;
}
