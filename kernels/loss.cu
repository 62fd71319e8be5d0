/* loss.cu: the batch cosine and the DSAH loss forward and backward on the
 * device (ops.h), the CPU's formulas (nn/loss.h, loss.c) step by step in one
 * thread block per call: the batch
 * is small (B = 50, B^2 = 2,500 pairs), so one block of 256 threads does it
 * in a few tens of microseconds, and every sum is a fixed tree over the
 * threads (deterministic). Double accumulation where the CPU has it; u, s,
 * g, du are float buffers as on the CPU (the same ws layout), so only the
 * order of the sums differs. The loss parts and the sums the backward needs
 * come back through __device__ doubles read after the kernel (no
 * allocation); the backward takes them from the host's loss_parts. */
#include <cmath>

#include "check.h"
#include "ops.h"

namespace {

const int T = 256;
__device__ double loss_out[5]; /* pair, quant (unweighted), lse, esum, ersum; or batch_cosine's max */

/* Sum (max: is_max) of one value per thread over the block; every thread
 * gets the result. sh: T doubles of shared memory. */
__device__ double block_reduce(double v, double *sh, bool is_max) {
    sh[threadIdx.x] = v;
    __syncthreads();
    for (int s = T / 2; s > 0; s >>= 1) {
        if ((int)threadIdx.x < s) {
            const double o = sh[threadIdx.x + s];
            sh[threadIdx.x] = is_max ? fmax(sh[threadIdx.x], o) : sh[threadIdx.x] + o;
        }
        __syncthreads();
    }
    const double r = sh[0];
    __syncthreads();
    return r;
}

/* Eq. 4 by the whole block: nrm [B], u [B,l], s [B,B]; returns (to every
 * thread) the largest s_ij before rounding, as batch_cosine. */
__device__ double batch_cosine_block(float *s, float *u, float *nrm, const float *z, int B, int l, double *sh) {
    const int tid = threadIdx.x;
    for (int i = tid; i < B; i += T) {
        double q = 0;
        for (int k = 0; k < l; k++) q += (double)z[(int64_t)i * l + k] * z[(int64_t)i * l + k];
        const double nr = sqrt(q > 1e-12 ? q : 1e-12);
        nrm[i] = (float)nr;
        for (int k = 0; k < l; k++) u[(int64_t)i * l + k] = (float)(z[(int64_t)i * l + k] / nr);
    }
    __syncthreads();
    double dmax = -INFINITY;
    for (int64_t t = tid; t < (int64_t)B * B; t += T) {
        const int i = (int)(t / B), j = (int)(t % B);
        double d = 0;
        for (int k = 0; k < l; k++) d += (double)u[(int64_t)i * l + k] * u[(int64_t)j * l + k];
        s[t] = (float)d;
        if (d > dmax) dmax = d;
    }
    return block_reduce(dmax, sh, true); /* also orders the writes of s before any read */
}

__global__ void batch_cosine_kernel(float *s, float *u, float *nrm, const float *z, int B, int l) {
    __shared__ double sh[T];
    const double d = batch_cosine_block(s, u, nrm, z, B, l, sh);
    if (threadIdx.x == 0) loss_out[0] = d;
}

/* dsah_loss_forward: ws = u [B,l], du, s [B,B], g, nrm [B] (the CPU's
 * layout); loss_out = pair, quant, lse, esum, ersum. */
__global__ void dsah_forward_kernel(float *ws, const float *z, const float *w, int B, int l, double tau, int mode,
                                    int qm) {
    __shared__ double sh[T];
    const int tid = threadIdx.x;
    const int64_t BB = (int64_t)B * B, Bl = (int64_t)B * l;
    float *u = ws, *s = u + 2 * Bl, *nrm = s + 2 * BB;
    const double n2 = (double)B * B;
    const double mx = batch_cosine_block(s, u, nrm, z, B, l, sh) / tau;
    double se = 0;
    for (int64_t t = tid; t < BB; t += T) se += exp(s[t] / tau - mx);
    const double lse = mx + log(block_reduce(se, sh, false));
    double pair = 0, esum = 0, ersum = 0;
    for (int64_t t = tid; t < BB; t += T) {
        const double lp = s[t] / tau - lse, p = exp(lp), d = (double)s[t] - w[t], e = d * d;
        const double a = mode == PIC_PIC ? -lp : mode == PIC_MINUS ? -log1p(-p) : 1.0;
        pair += a * e;
        esum += e;
        if (mode == PIC_MINUS) ersum += e * p / (1 - p);
    }
    pair = block_reduce(pair, sh, false);
    esum = block_reduce(esum, sh, false);
    ersum = block_reduce(ersum, sh, false);
    const float *qv = qm == QUANT_U ? u : z;
    double quant = 0;
    for (int64_t t = tid; t < Bl; t += T) {
        const double b = z[t] >= 0 ? 1.0 : -1.0, d = qv[t] - b;
        quant += d * d;
    }
    quant = block_reduce(quant, sh, false);
    if (tid == 0) {
        loss_out[0] = pair / n2;
        loss_out[1] = quant / (double)Bl;
        loss_out[2] = lse;
        loss_out[3] = esum;
        loss_out[4] = ersum;
    }
}

/* dsah_loss_backward: g [B,B], then du [B,l], then dz [B,l]. */
__global__ void dsah_backward_kernel(float *dz, float *ws, double lse, double esum, double ersum, const float *z,
                                     const float *w, int B, int l, double tau, double lambda, int mode, int qm) {
    const int tid = threadIdx.x;
    const int64_t BB = (int64_t)B * B, Bl = (int64_t)B * l;
    float *u = ws, *du = u + Bl, *s = du + Bl, *g = s + BB, *nrm = g + BB;
    const double n2 = (double)B * B;
    for (int64_t t = tid; t < BB; t += T) {
        const double lp = s[t] / tau - lse, p = exp(lp), d = (double)s[t] - w[t], e = d * d;
        double gv;
        if (mode == PIC_PIC) gv = 2 * (-lp) * d - e / tau + p / tau * esum;
        else if (mode == PIC_MINUS) gv = 2 * (-log1p(-p)) * d + e * p / (tau * (1 - p)) - p / tau * ersum;
        else gv = 2 * d;
        g[t] = (float)(gv / n2);
    }
    __syncthreads();
    /* du_i = sum_j (G_ij + G_ji) u_j, j in order, in float as on the CPU */
    const double qs = 2 * lambda / (double)Bl;
    for (int64_t t = tid; t < Bl; t += T) {
        const int i = (int)(t / l), k = (int)(t % l);
        float acc = 0;
        for (int j = 0; j < B; j++) acc += (g[(int64_t)i * B + j] + g[(int64_t)j * B + i]) * u[(int64_t)j * l + k];
        if (qm == QUANT_U) acc += (float)(qs * (u[t] - (z[t] >= 0 ? 1.0 : -1.0)));
        du[t] = acc;
    }
    __syncthreads();
    for (int i = tid; i < B; i += T) {
        double dot = 0;
        for (int k = 0; k < l; k++) dot += (double)u[(int64_t)i * l + k] * du[(int64_t)i * l + k];
        const bool clamped = nrm[i] <= 1e-6f; /* below the epsilon the norm is a constant */
        for (int k = 0; k < l; k++) {
            const int64_t t = (int64_t)i * l + k;
            const double gz = clamped ? du[t] / nrm[i] : (du[t] - u[t] * dot) / nrm[i];
            const double b = z[t] >= 0 ? 1.0 : -1.0;
            dz[t] = (float)(qm == QUANT_Z ? gz + qs * (z[t] - b) : gz);
        }
    }
}

} // namespace

extern "C" double batch_cosine_cuda(float *s, float *u, float *nrm, const float *z, int B, int l) {
    batch_cosine_kernel<<<1, T>>>(s, u, nrm, z, B, l);
    KERNEL_CHECK();
    double d;
    CUDA_CHECK(cudaMemcpyFromSymbol(&d, loss_out, sizeof d));
    return d;
}

extern "C" void dsah_loss_forward_cuda(loss_parts *out, float *ws, const float *z, const float *w, int B, int l,
                                       double tau, double lambda, pic_mode mode, quant_mode qm) {
    dsah_forward_kernel<<<1, T>>>(ws, z, w, B, l, tau, (int)mode, (int)qm);
    KERNEL_CHECK();
    double r[5];
    CUDA_CHECK(cudaMemcpyFromSymbol(r, loss_out, sizeof r));
    out->pair = r[0];
    out->quant = r[1];
    out->total = out->pair + lambda * out->quant;
    out->lse = r[2];
    out->esum = r[3];
    out->ersum = r[4];
}

extern "C" void dsah_loss_backward_cuda(float *dz, float *ws, const loss_parts *saved, const float *z, const float *w,
                                        int B, int l, double tau, double lambda, pic_mode mode, quant_mode qm) {
    dsah_backward_kernel<<<1, T>>>(dz, ws, saved->lse, saved->esum, saved->ersum, z, w, B, l, tau, lambda, (int)mode,
                                   (int)qm);
    KERNEL_CHECK();
}
