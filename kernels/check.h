/* check.h: status checks of the CUDA runtime, cuBLAS and cuDNN, each by its
 * own status type. A failure prints one line naming file, line, the failing
 * call and the library's own error text, then exits with status 2 (an
 * internal failure, as util.h's CHECK):
 *     dsah-train: error: kernels/conv.cu:120: check failed: cudnnConvolutionForward(...) (CUDNN_STATUS_BAD_PARAM)
 * KERNEL_CHECK() after every launch catches launch errors (bad
 * configuration, too many resources) at once; errors inside a kernel surface
 * at the next synchronising call's CUDA_CHECK. Device code only (.cu). */
#ifndef DSAH_KERNELS_CHECK_H
#define DSAH_KERNELS_CHECK_H

#include <cuda_runtime.h>
#include <cudnn.h>

#include "blas.h"

extern "C" {
#include "util/util.h"
}

#define CUDA_CHECK(call)                                                                                     \
    do {                                                                                                     \
        cudaError_t e_ = (call);                                                                             \
        if (e_ != cudaSuccess) dsah_check_failed(__FILE__, __LINE__, #call, cudaGetErrorString(e_));         \
    } while (0)

#define CUBLAS_CHECK(call)                                                                                   \
    do {                                                                                                     \
        cublasStatus_t s_ = (call);                                                                          \
        if (s_ != CUBLAS_STATUS_SUCCESS) dsah_check_failed(__FILE__, __LINE__, #call, cublas.status_string(s_)); \
    } while (0)

#define CUDNN_CHECK(call)                                                                                    \
    do {                                                                                                     \
        cudnnStatus_t s_ = (call);                                                                           \
        if (s_ != CUDNN_STATUS_SUCCESS) dsah_check_failed(__FILE__, __LINE__, #call, cudnnGetErrorString(s_));  \
    } while (0)

/* After a kernel launch: the launch itself succeeded. */
#define KERNEL_CHECK() CUDA_CHECK(cudaGetLastError())

/* Grid of a grid-stride loop over n elements: enough blocks of `threads` to
 * fill the GPU a few times over, at least one. */
static inline unsigned grid_for(long long n, int threads) {
    long long b = (n + threads - 1) / threads;
    if (b > 65535LL * 16) b = 65535LL * 16;
    return (unsigned)(b < 1 ? 1 : b);
}

#endif
