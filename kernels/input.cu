/* input.cu: the network input on the device (net_cuda.h
 * net_cuda_input): a batch of u8 [B,H,W,C] images, gathered on the host
 * into a pinned buffer and uploaded as bytes (a quarter of the floats'
 * traffic), becomes x [B, OC, S, S] here, with the CPU's arithmetic
 * (nn/input.h net_input, data/preprocess.c): pixel / 255, torch's
 * bilinear resize when H, W != S (area_pixel_compute_source_index, rows
 * interpolated along x first), grey replicated to 3 channels and the
 * ImageNet mean/std for vgg19. One thread per output value; equal to the
 * CPU's within an ulp or two (the compilers may contract the bilinear sums
 * into fused multiply-adds differently). */
#include <cmath>

#include "check.h"
#include "ops.h"

extern "C" {
#include "data/preprocess.h"
}

namespace {

const int T = 256;

__global__ void input_kernel(float *x, const uint8_t *u8, int B, int H, int W, int C, int S, int OC, int vgg) {
    const int64_t n = (int64_t)B * OC * S * S;
    const bool resize = !(H == S && W == S);
    const float sy = (float)H / (float)S, sx = (float)W / (float)S;
    for (int64_t o = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; o < n; o += (int64_t)gridDim.x * blockDim.x) {
        const int xo = (int)(o % S), yo = (int)((o / S) % S), ch = (int)((o / ((int64_t)S * S)) % OC);
        const int64_t i = o / ((int64_t)S * S * OC);
        const int sc = C == 1 ? 0 : ch;
        const uint8_t *img = u8 + i * (int64_t)H * W * C;
        float v;
        if (!resize) {
            v = (float)img[((int64_t)yo * W + xo) * C + sc] / 255.0f;
        } else {
            int y0, y1, x0, x1;
            float ly, lx;
            pre_src_index(sy, yo, H, &y0, &y1, &ly);
            pre_src_index(sx, xo, W, &x0, &x1, &lx);
            const float hy0 = 1.0f - ly, hy1 = ly, wx0 = 1.0f - lx, wx1 = lx;
            const float a00 = (float)img[((int64_t)y0 * W + x0) * C + sc] / 255.0f,
                        a01 = (float)img[((int64_t)y0 * W + x1) * C + sc] / 255.0f,
                        a10 = (float)img[((int64_t)y1 * W + x0) * C + sc] / 255.0f,
                        a11 = (float)img[((int64_t)y1 * W + x1) * C + sc] / 255.0f;
            const float t0 = a00 * wx0 + a01 * wx1, t1 = a10 * wx0 + a11 * wx1;
            v = t0 * hy0 + t1 * hy1;
        }
        /* preprocess.c's ImageNet mean and std, selected without an array
         * (a run-time index would put it in local memory) */
        const float m = ch == 0 ? 0.485f : ch == 1 ? 0.456f : 0.406f, sd = ch == 0 ? 0.229f : ch == 1 ? 0.224f : 0.225f;
        x[o] = vgg ? (v - m) / sd : v;
    }
}

} // namespace

extern "C" void net_input_batch_cuda(float *x, const uint8_t *u8, int B, int H, int W, int C, int S, int vgg) {
    CHECK(C == 1 || C == 3);
    const int OC = vgg ? 3 : C;
    const int64_t n = (int64_t)B * OC * S * S;
    if (n <= 0) return;
    input_kernel<<<grid_for(n, T), T>>>(x, u8, B, H, W, C, S, OC, vgg);
    KERNEL_CHECK();
}
