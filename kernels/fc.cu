/* fc.cu: the fully connected layer by cuBLAS (ops.h).
 *
 * Row-major buffers read as column-major matrices (cuBLAS's order): x [B,in]
 * is X [in,B] (ld in), w [out,in] is Wt [in,out] (ld in), y [B,out] is
 * Y [out,B] (ld out). Then
 *   forward    Y  = Wt^T X            (y = x w^T; the bias first, beta = 1)
 *   dw         dWt = X dY^T           (dw = dy^T x)
 *   dx         dX = Wt dY             (dx = dy w)
 * Compute type by precision: fp32 CUBLAS_COMPUTE_32F (no TF32), tf32
 * CUBLAS_COMPUTE_32F_FAST_TF32, bf16 CUBLAS_COMPUTE_32F_FAST_16BF (float
 * buffers, operands rounded to bfloat16 inside cuBLAS, float accumulation).
 * db is an own kernel: one thread per output unit sums its B rows in order. */
#include "check.h"
#include "gpu.h"
#include "ops.h"

namespace {

cublasComputeType_t gemm_compute() {
    switch (gpu_precision()) {
    case PREC_TF32: return CUBLAS_COMPUTE_32F_FAST_TF32;
    case PREC_BF16: return CUBLAS_COMPUTE_32F_FAST_16BF;
    default: return CUBLAS_COMPUTE_32F;
    }
}

/* column-major C [m,n] = op(A) op(B) + beta C, float buffers */
void gemm(cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k, const float *A, int lda, const float *Bm,
          int ldb, float beta, float *C, int ldc) {
    const float alpha = 1.0f;
    CUBLAS_CHECK(cublas.gemm_ex((cublasHandle_t)gpu_cublas(), ta, tb, m, n, k, &alpha, A, CUDA_R_32F, lda, Bm, CUDA_R_32F,
                              ldb, &beta, C, CUDA_R_32F, ldc, gemm_compute(), CUBLAS_GEMM_DEFAULT));
}

/* y [B,out] = b broadcast over the rows */
__global__ void bias_rows(float *y, const float *b, int out, int64_t n) {
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
        y[i] = b[i % out];
}

/* db[o] = sum_i dy[i,o], i in order */
__global__ void bias_grad_rows(float *db, const float *dy, int B, int out) {
    const int o = blockIdx.x * blockDim.x + threadIdx.x;
    if (o >= out) return;
    float acc = 0;
    for (int i = 0; i < B; i++) acc += dy[(int64_t)i * out + o];
    db[o] = acc;
}

} // namespace

extern "C" void fc_forward_cuda(float *y, const float *x, const float *w, const float *b, int B, int in, int out) {
    const int64_t n = (int64_t)B * out;
    bias_rows<<<grid_for(n, 256), 256>>>(y, b, out, n);
    KERNEL_CHECK();
    gemm(CUBLAS_OP_T, CUBLAS_OP_N, out, B, in, w, in, x, in, 1.0f, y, out);
}

extern "C" void fc_backward_cuda(float *dx, float *dw, float *db, const float *dy, const float *x, const float *w, int B,
                                 int in, int out) {
    gemm(CUBLAS_OP_N, CUBLAS_OP_T, in, out, B, x, in, dy, out, 0.0f, dw, in);
    bias_grad_rows<<<(out + 255) / 256, 256>>>(db, dy, B, out);
    KERNEL_CHECK();
    if (dx) gemm(CUBLAS_OP_N, CUBLAS_OP_N, in, B, out, w, in, dy, out, 0.0f, dx, in);
}
