/* gpu.cu: see gpu.h. */
#include "check.h"
#include "gpu.h"

#include <cstring>
#include <dlfcn.h>

cublas_fns cublas;

/* blas.h: cuBLAS is opened here, at the first gpu_open, not at program start. */
static void load_cublas(void) {
    void *h = dlopen("libcublas.so.13", RTLD_NOW | RTLD_LOCAL);
    if (!h) die("--device cuda: cannot load cuBLAS (%s); is the CUDA 13 toolkit's lib64 on the library path?", dlerror());
    const struct {
        void **slot;
        const char *name;
    } syms[] = {{(void **)&cublas.create, "cublasCreate_v2"},
                {(void **)&cublas.set_math_mode, "cublasSetMathMode"},
                {(void **)&cublas.get_version, "cublasGetVersion_v2"},
                {(void **)&cublas.status_string, "cublasGetStatusString"},
                {(void **)&cublas.gemm_ex, "cublasGemmEx"}};
    for (const auto &s : syms)
        if (!(*s.slot = dlsym(h, s.name))) die("--device cuda: libcublas.so.13 has no %s (%s)", s.name, dlerror());
}

static struct {
    int open, index;
    precision prec;
    cublasHandle_t blas;
    cudnnHandle_t dnn;
    cudaDeviceProp prop;
    cudaEvent_t t0, t1;
    char count_error[160];
} G = {0, -1, PREC_FP32, nullptr, nullptr, {}, nullptr, nullptr, ""};

/* cuBLAS's math mode for a precision. fp32: the default mode, which never
 * uses fewer mantissa bits than the compute type asks (CUBLAS_COMPUTE_32F:
 * no TF32); tf32: TF32 tensor cores allowed; bf16: each GEMM asks for
 * CUBLAS_COMPUTE_32F_FAST_16BF itself (ops.cu gemm_compute). The
 * convolutions set cuDNN's math type per descriptor (conv.cu). */
static void set_precision(precision p) {
    G.prec = p;
    CUBLAS_CHECK(cublas.set_math_mode(G.blas, p == PREC_TF32 ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH));
}

extern "C" int gpu_count(void) {
    int n = 0;
    cudaError_t e = cudaGetDeviceCount(&n);
    if (e != cudaSuccess) {
        snprintf(G.count_error, sizeof G.count_error, "%s", cudaGetErrorString(e));
        (void)cudaGetLastError(); /* clear the sticky-free error so later calls start clean */
        return 0;
    }
    if (n == 0) snprintf(G.count_error, sizeof G.count_error, "the CUDA runtime sees no device");
    return n;
}

extern "C" const char *gpu_count_error(void) { return G.count_error; }

extern "C" void gpu_open(int index, precision p) {
    if (G.open && G.index == index) {
        set_precision(p);
        return;
    }
    CHECK(!G.open);
    CUDA_CHECK(cudaSetDevice(index));
    CUDA_CHECK(cudaGetDeviceProperties(&G.prop, index));
    load_cublas();
    CUBLAS_CHECK(cublas.create(&G.blas));
    CUDNN_CHECK(cudnnCreate(&G.dnn));
    CUDA_CHECK(cudaEventCreate(&G.t0));
    CUDA_CHECK(cudaEventCreate(&G.t1));
    G.open = 1;
    G.index = index;
    set_precision(p);
    size_t fr, tot;
    gpu_mem_info(&fr, &tot);
    info("device cuda:%d: %s (sm_%d%d, %d SMs), %.1f of %.1f GiB free, cuDNN %zu, precision %s", index, G.prop.name,
         G.prop.major, G.prop.minor, G.prop.multiProcessorCount, fr / 1073741824.0, tot / 1073741824.0,
         cudnnGetVersion(), precision_name(p));
}

extern "C" int gpu_is_open(void) { return G.open; }
extern "C" precision gpu_precision(void) { return G.prec; }
extern "C" const char *gpu_name(void) { return G.open ? G.prop.name : ""; }

extern "C" void gpu_mem_info(size_t *free_bytes, size_t *total_bytes) {
    CUDA_CHECK(cudaMemGetInfo(free_bytes, total_bytes));
}

extern "C" size_t gpu_cudnn_version(void) { return cudnnGetVersion(); }

extern "C" int gpu_cublas_version(void) {
    int v = 0;
    CUBLAS_CHECK(cublas.get_version(G.blas, &v));
    return v;
}

extern "C" void gpu_require(size_t bytes, const char *what) {
    const size_t reserve = (size_t)256 << 20;
    size_t fr, tot;
    gpu_mem_info(&fr, &tot);
    if (bytes + reserve > fr)
        die("--device cuda:%d: %s needs %.2f GiB of device memory, %.2f GiB are free (of %.2f; 0.25 kept for "
            "cuBLAS/cuDNN): lower --batch or use --device cpu",
            G.index, what, bytes / 1073741824.0, fr / 1073741824.0, tot / 1073741824.0);
}

extern "C" void *gpu_alloc(size_t bytes) {
    void *p = nullptr;
    cudaError_t e = cudaMalloc(&p, bytes ? bytes : 1);
    if (e != cudaSuccess)
        die("--device cuda:%d: cudaMalloc of %.2f GiB failed (%s)", G.index, bytes / 1073741824.0, cudaGetErrorString(e));
    return p;
}

extern "C" void gpu_free(void *p) {
    if (p) CUDA_CHECK(cudaFree(p));
}

extern "C" void *gpu_alloc_host(size_t bytes) {
    void *p = nullptr;
    cudaError_t e = cudaMallocHost(&p, bytes ? bytes : 1);
    if (e != cudaSuccess) die("cudaMallocHost of %.2f GiB failed (%s)", bytes / 1073741824.0, cudaGetErrorString(e));
    return p;
}

extern "C" void gpu_free_host(void *p) {
    if (p) CUDA_CHECK(cudaFreeHost(p));
}

extern "C" void gpu_upload(void *dst, const void *src, size_t bytes) {
    if (bytes) CUDA_CHECK(cudaMemcpy(dst, src, bytes, cudaMemcpyHostToDevice));
}

extern "C" void gpu_download(void *dst, const void *src, size_t bytes) {
    if (bytes) CUDA_CHECK(cudaMemcpy(dst, src, bytes, cudaMemcpyDeviceToHost));
}

extern "C" void gpu_copy(void *dst, const void *src, size_t bytes) {
    if (bytes) CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, 0));
}

__global__ void fill_kernel(float *p, float v, int64_t n) {
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x) p[i] = v;
}

extern "C" void gpu_fill_f32(float *p, float v, int64_t n) {
    if (n <= 0) return;
    fill_kernel<<<grid_for(n, 256), 256>>>(p, v, n);
    KERNEL_CHECK();
}

extern "C" void gpu_sync(void) { CUDA_CHECK(cudaDeviceSynchronize()); }

extern "C" void *gpu_cublas(void) {
    CHECK(G.open);
    return G.blas;
}

extern "C" void *gpu_cudnn(void) {
    CHECK(G.open);
    return G.dnn;
}

extern "C" void gpu_timer_start(void) { CUDA_CHECK(cudaEventRecord(G.t0, 0)); }

extern "C" double gpu_timer_stop(void) {
    CUDA_CHECK(cudaEventRecord(G.t1, 0));
    CUDA_CHECK(cudaEventSynchronize(G.t1));
    float ms = 0;
    CUDA_CHECK(cudaEventElapsedTime(&ms, G.t0, G.t1));
    return ms;
}
