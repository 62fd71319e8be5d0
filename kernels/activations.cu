/* activations.cu: ReLU, tanh and dropout on the device (ops.h), each
 * element through the same inline definition the CPU uses
 * (nn/activations.h): the same values for ReLU and the dropout mask and
 * scale; tanh through the device's tanhf (a few ulp from the CPU's). */
#include "check.h"
#include "ops.h"

namespace {

const int T = 256;

#define GRID_STRIDE(i, n) \
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < (n); i += (int64_t)gridDim.x * blockDim.x)

__global__ void relu_fwd(float *y, const float *x, int64_t n) { GRID_STRIDE(i, n) y[i] = act_relu(x[i]); }
__global__ void relu_bwd(float *dx, const float *y, const float *dy, int64_t n) {
    GRID_STRIDE(i, n) dx[i] = dy[i] * act_relu_grad(y[i]);
}
__global__ void tanh_fwd(float *y, const float *x, int64_t n) { GRID_STRIDE(i, n) y[i] = act_tanh(x[i]); }
__global__ void tanh_bwd(float *dx, const float *y, const float *dy, int64_t n) {
    GRID_STRIDE(i, n) dx[i] = dy[i] * act_tanh_grad(y[i]);
}
/* y = keep ? x * scale : 0, the mask from (seed, step, i) as on the CPU. */
__global__ void dropout(float *y, const float *x, int64_t n, float p, float scale, uint64_t seed, uint64_t step) {
    GRID_STRIDE(i, n) y[i] = act_dropout_keep(seed, step, (uint64_t)i, p) ? x[i] * scale : 0.0f;
}

} // namespace

extern "C" void relu_forward_cuda(float *y, const float *x, int64_t n) {
    if (n <= 0) return;
    relu_fwd<<<grid_for(n, T), T>>>(y, x, n);
    KERNEL_CHECK();
}

extern "C" void relu_backward_cuda(float *dx, const float *y, const float *dy, int64_t n) {
    if (n <= 0) return;
    relu_bwd<<<grid_for(n, T), T>>>(dx, y, dy, n);
    KERNEL_CHECK();
}

extern "C" void tanh_forward_cuda(float *y, const float *x, int64_t n) {
    if (n <= 0) return;
    tanh_fwd<<<grid_for(n, T), T>>>(y, x, n);
    KERNEL_CHECK();
}

extern "C" void tanh_backward_cuda(float *dx, const float *y, const float *dy, int64_t n) {
    if (n <= 0) return;
    tanh_bwd<<<grid_for(n, T), T>>>(dx, y, dy, n);
    KERNEL_CHECK();
}

/* scale as the CPU computes it: (real)1 / ((real)1 - (real)p) in float */
extern "C" void dropout_forward_cuda(float *y, const float *x, int64_t n, float p, uint64_t seed, uint64_t step) {
    if (n <= 0) return;
    const float scale = 1.0f / (1.0f - p);
    dropout<<<grid_for(n, T), T>>>(y, x, n, p, scale, seed, step);
    KERNEL_CHECK();
}

extern "C" void dropout_backward_cuda(float *dx, const float *dy, int64_t n, float p, uint64_t seed, uint64_t step) {
    if (n <= 0) return;
    const float scale = 1.0f / (1.0f - p);
    dropout<<<grid_for(n, T), T>>>(dx, dy, n, p, scale, seed, step);
    KERNEL_CHECK();
}
