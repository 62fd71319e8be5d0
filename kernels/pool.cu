/* pool.cu: the 2x2 max-pool (stride 2) on the device (ops.h). Own kernels
 * rather than cuDNN's pooling: the CPU saves the argmax (first maximum in
 * the order (0,0), (0,1), (1,0), (1,1)) and its backward routes dy by it;
 * cuDNN's backward takes x and y instead and does not document its tie
 * rule. The same comparisons in the same order give the CPU's y and arg
 * exactly. */
#include "check.h"
#include "ops.h"

namespace {

const int T = 256;

/* one thread per output element; n = B*C*OH*OW */
__global__ void pool_fwd(float *y, uint8_t *arg, const float *x, int H, int W, int OH, int OW, int64_t n) {
    for (int64_t o = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; o < n; o += (int64_t)gridDim.x * blockDim.x) {
        const int64_t plane = o / ((int64_t)OH * OW);
        const int r = (int)(o % ((int64_t)OH * OW)), oy = r / OW, ox = r % OW;
        const float *s = x + plane * H * W + (int64_t)(2 * oy) * W + 2 * ox;
        float m = s[0];
        uint8_t a = 0;
        if (s[1] > m) { m = s[1]; a = 1; }
        if (s[W] > m) { m = s[W]; a = 2; }
        if (s[W + 1] > m) { m = s[W + 1]; a = 3; }
        y[o] = m;
        arg[o] = a;
    }
}

/* one thread per output element writes its whole 2x2 window (dy at the
 * argmax, 0 elsewhere); the odd last row/column, outside every window, is
 * zeroed by a memset first */
__global__ void pool_bwd(float *dx, const uint8_t *arg, const float *dy, int H, int W, int OH, int OW, int64_t n) {
    for (int64_t o = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; o < n; o += (int64_t)gridDim.x * blockDim.x) {
        const int64_t plane = o / ((int64_t)OH * OW);
        const int r = (int)(o % ((int64_t)OH * OW)), oy = r / OW, ox = r % OW;
        float *d = dx + plane * H * W + (int64_t)(2 * oy) * W + 2 * ox;
        const int a = arg[o];
        const float g = dy[o];
        d[0] = a == 0 ? g : 0.0f;
        d[1] = a == 1 ? g : 0.0f;
        d[W] = a == 2 ? g : 0.0f;
        d[W + 1] = a == 3 ? g : 0.0f;
    }
}

} // namespace

extern "C" void maxpool2_forward_cuda(float *y, uint8_t *arg, const float *x, int B, int C, int H, int W) {
    const int OH = H / 2, OW = W / 2;
    const int64_t n = (int64_t)B * C * OH * OW;
    if (n <= 0) return;
    pool_fwd<<<grid_for(n, T), T>>>(y, arg, x, H, W, OH, OW, n);
    KERNEL_CHECK();
}

extern "C" void maxpool2_backward_cuda(float *dx, const uint8_t *arg, const float *dy, int B, int C, int H, int W) {
    const int OH = H / 2, OW = W / 2;
    const int64_t n = (int64_t)B * C * OH * OW;
    if ((H | W) & 1) CUDA_CHECK(cudaMemsetAsync(dx, 0, sizeof(float) * (size_t)B * C * H * W, 0));
    if (n <= 0) return;
    pool_bwd<<<grid_for(n, T), T>>>(dx, arg, dy, H, W, OH, OW, n);
    KERNEL_CHECK();
}
