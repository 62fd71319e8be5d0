/* adam.cu: Adam over the one flat parameter buffer on the device (ops.h),
 * the CPU's update (nn/adam.c) element for element: lr_t and 1 - b1,
 * 1 - b2 on the host in double, then in float per element
 *   m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2;  theta -= lr_t m / (sqrt(v) + eps). */
#include <cmath>

#include "check.h"
#include "gpu.h"
#include "ops.h"

namespace {

__global__ void adam_kernel(float *theta, float *m, float *v, const float *g, int64_t n, float b1, float b2, float c1,
                            float c2, float eps, float lrt) {
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x) {
        const float gi = g[i];
        const float mi = b1 * m[i] + c1 * gi, vi = b2 * v[i] + c2 * gi * gi;
        m[i] = mi;
        v[i] = vi;
        theta[i] -= lrt * mi / (sqrtf(vi) + eps);
    }
}

} // namespace

extern "C" void adam_init_cuda(adam *a, int64_t n, double eps) {
    a->n = n;
    a->m = (float *)gpu_alloc(sizeof(float) * (size_t)(n > 0 ? n : 1));
    a->v = (float *)gpu_alloc(sizeof(float) * (size_t)(n > 0 ? n : 1));
    CUDA_CHECK(cudaMemset(a->m, 0, sizeof(float) * (size_t)(n > 0 ? n : 1)));
    CUDA_CHECK(cudaMemset(a->v, 0, sizeof(float) * (size_t)(n > 0 ? n : 1)));
    a->t = 0;
    a->b1 = 0.9;
    a->b2 = 0.999;
    a->eps = eps;
}

extern "C" void adam_free_cuda(adam *a) {
    gpu_free(a->m);
    gpu_free(a->v);
    a->m = a->v = nullptr;
}

extern "C" void adam_step_cuda(adam *a, float *theta, const float *g, double lr) {
    a->t++;
    const float lrt = (float)(lr * sqrt(1 - pow(a->b2, (double)a->t)) / (1 - pow(a->b1, (double)a->t)));
    if (a->n <= 0) return;
    /* 1 - b in double, then rounded, as adam.c */
    adam_kernel<<<grid_for(a->n, 256), 256>>>(theta, a->m, a->v, g, a->n, (float)a->b1, (float)a->b2, (float)(1 - a->b1),
                                              (float)(1 - a->b2), (float)a->eps, lrt);
    KERNEL_CHECK();
}
