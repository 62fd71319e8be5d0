/* sgh.c: SGH training and encoding (sgh.h). */
#include "nn/sgh.h"

#include <cblas.h>
#include <omp.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn/adam.h"
#include "nn/nn.h"
#include "util/bits.h"
#include "util/rng.h"
#include "util/util.h"

void sgh_model_alloc(sgh_model *m, int64_t dim, int bits, int epochs) {
    memset(m, 0, sizeof *m);
    m->dim = dim;
    m->bits = bits;
    m->epochs = epochs;
    m->mean = xcalloc((size_t)dim, sizeof(float));
    m->params = xcalloc((size_t)sgh_nparams(dim, bits), sizeof(float));
    m->loss = xcalloc((size_t)epochs + 1, sizeof(double));
}

void sgh_model_free(sgh_model *m) {
    free(m->mean);
    free(m->params);
    free(m->loss);
    memset(m, 0, sizeof *m);
}

void sgh_noise(float *xi, int64_t count, uint64_t noise, uint64_t step) {
    const uint64_t stream = noise ^ rng_hash64(step);
    for (int64_t j = 0; j < count; j++) xi[j] = rng_hash_uniform(rng_hash64(stream + (uint64_t)j));
}

/* rows idx[0..B) of x, centred, into xb [B, d] */
static void gather_centred(float *xb, const float *x, const float *mean, const int64_t *idx, int B, int64_t d) {
    for (int i = 0; i < B; i++)
        for (int64_t k = 0; k < d; k++) xb[(int64_t)i * d + k] = x[idx[i] * d + k] - mean[k];
}

void sgh_fit(sgh_model *m, const float *x, int64_t n, int batch, double lr, uint64_t seed) {
    const int64_t d = m->dim, np = sgh_nparams(d, m->bits);
    const int b = m->bits;
    CHECK(n >= 1 && batch >= 1);
    if (batch > n) batch = (int)n;
    /* mean and rho^2 = mean per-dimension variance, in double */
    double *acc = xcalloc((size_t)d, sizeof(double)), var = 0;
    for (int64_t i = 0; i < n; i++)
        for (int64_t k = 0; k < d; k++) acc[k] += x[i * d + k];
    for (int64_t k = 0; k < d; k++) m->mean[k] = (float)(acc[k] / (double)n);
    for (int64_t i = 0; i < n; i++)
        for (int64_t k = 0; k < d; k++) {
            double e = (double)x[i * d + k] - m->mean[k];
            var += e * e;
        }
    free(acc);
    m->rho2 = var / ((double)n * (double)d);
    if (!(m->rho2 > 0)) m->rho2 = 1.0;
    /* init */
    rng r;
    rng_seed(&r, seed ^ rng_hash64(SGH_PURPOSE_INIT));
    float *we = m->params, *wd = we + d * b + b;
    memset(m->params, 0, sizeof(float) * (size_t)np);
    for (int64_t i = 0; i < d * b; i++) we[i] = (float)(rng_normal(&r) / sqrt((double)d));
    for (int64_t i = 0; i < d * b; i++) wd[i] = (float)(rng_normal(&r) / sqrt((double)b));

    float *ws = xaligned(sizeof(float) * (size_t)sgh_batch_ws(batch, d, b));
    float *xb = xaligned(sizeof(float) * (size_t)batch * (size_t)d);
    float *xi = xaligned(sizeof(float) * (size_t)batch * (size_t)b), *grad = xaligned(sizeof(float) * (size_t)np);
    int64_t *order = xmalloc(sizeof(int64_t) * (size_t)n);
    for (int64_t i = 0; i < n; i++) order[i] = i;
    rng ro;
    rng_seed(&ro, seed ^ rng_hash64(SGH_PURPOSE_ORDER));
    adam opt;
    adam_init(&opt, np, 1e-8);
    /* OpenBLAS single-threaded, the layers' GEMMs split over the OpenMP
     * threads (layers.c, as nn_set_threads). Small problems run on one
     * thread: their GEMMs (batch x d x bits) are too small for a team to pay
     * off, and waking one per call cost 45x the work on the shared 2-core
     * machine (5 epochs on 2,000 x 784: 9.2 s with two threads, 0.2 s with
     * one). At batch x d x bits >= SGH_TEAM_WORK each GEMM is >= 1 ms of one
     * core's work and the threads pay. Restored below. */
    int blas_threads = openblas_get_num_threads(), omp_threads = omp_get_max_threads();
    openblas_set_num_threads(1);
    if ((int64_t)batch * d * b < SGH_TEAM_WORK) omp_set_num_threads(1);
    const uint64_t noise = seed ^ rng_hash64(SGH_PURPOSE_NOISE);
    uint64_t step = 0;
    for (int e = 0; e <= m->epochs; e++) {
        /* e = 0: loss of the initial parameters (no update); then one epoch each */
        if (e > 0) rng_shuffle_i64(&ro, order, n);
        double tot = 0;
        int64_t rows = 0;
        for (int64_t i0 = 0; i0 < n; i0 += batch) {
            int B = (int)(n - i0 < batch ? n - i0 : batch);
            gather_centred(xb, x, m->mean, order + i0, B, d);
            sgh_noise(xi, (int64_t)B * b, noise, step);
            double l = sgh_batch_forward(ws, m->params, xb, xi, B, d, b, m->rho2);
            tot += l * B;
            rows += B;
            if (e > 0) {
                sgh_batch_backward(grad, ws, m->params, xb, B, d, b, m->rho2);
                adam_step(&opt, m->params, grad, lr);
                step++;
            }
        }
        m->loss[e] = tot / (double)rows;
    }
    openblas_set_num_threads(blas_threads);
    omp_set_num_threads(omp_threads);
    adam_free(&opt);
    free(ws);
    free(xb);
    free(xi);
    free(grad);
    free(order);
}

void sgh_encode(uint8_t *codes, const sgh_model *m, const float *x, int64_t n) {
    const int64_t d = m->dim, rb = bits_row_bytes(m->bits), chunk = 4096;
    const int b = m->bits;
    const float *we = m->params, *be = we + d * b;
    float *xc = xaligned(sizeof(float) * (size_t)(chunk * d)), *z = xaligned(sizeof(float) * (size_t)(chunk * b));
    for (int64_t i0 = 0; i0 < n; i0 += chunk) {
        int64_t cn = n - i0 < chunk ? n - i0 : chunk;
        for (int64_t i = 0; i < cn; i++)
            for (int64_t k = 0; k < d; k++) xc[i * d + k] = x[(i0 + i) * d + k] - m->mean[k];
        fc_forward(z, xc, we, be, (int)cn, (int)d, b); /* the encoder */
        bits_pack_signs(codes + i0 * rb, z, cn, b);
    }
    free(xc);
    free(z);
}
