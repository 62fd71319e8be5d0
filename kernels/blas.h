/* blas.h: the cuBLAS calls dsah makes, through pointers that gpu_open fills
 * from dlopen("libcublas.so.13") (gpu.cu). Why not link it: loading
 * libcublas pulls libcublasLt, whose initialisers take about 0.33 s and
 * 210 MB at every program start (measured on the build machine), and the
 * stages that can use a GPU (train, encode, features, search, serve) run
 * far more often on the CPU. cuDNN and the CUDA runtime load in about a
 * millisecond and are linked as usual. Device code only (.cu). */
#ifndef DSAH_KERNELS_BLAS_H
#define DSAH_KERNELS_BLAS_H

#include <cublas_v2.h>

struct cublas_fns {
    cublasStatus_t (*create)(cublasHandle_t *);
    cublasStatus_t (*set_math_mode)(cublasHandle_t, cublasMath_t);
    cublasStatus_t (*get_version)(cublasHandle_t, int *);
    const char *(*status_string)(cublasStatus_t);
    cublasStatus_t (*gemm_ex)(cublasHandle_t, cublasOperation_t, cublasOperation_t, int, int, int, const void *,
                              const void *, cudaDataType, int, const void *, cudaDataType, int, const void *, void *,
                              cudaDataType, int, cublasComputeType_t, cublasGemmAlgo_t);
};
/* Filled by gpu_open; calling one before that is a CHECK failure (the
 * pointers are NULL). */
extern cublas_fns cublas;

#endif
