/* gpu.h: the GPU runtime of a process (kernels/gpu.cu): probing, the one
 * open device with its cuBLAS and cuDNN handles and precision, memory and
 * copies. Plain C API (callable from common/ when DSAH_CUDA=1); every call
 * that can fail is checked (check.h) and dies with one line.
 *
 * One device per process, opened once (device.h device_select), one stream
 * (the default stream): each op is queued in order, and a copy to the host
 * waits for what came before it. Nothing here has run on a GPU yet: this
 * machine builds CUDA but has no driver (docs/GPU.md). */
#ifndef DSAH_KERNELS_GPU_H
#define DSAH_KERNELS_GPU_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#include "util/device.h"

/* GPUs the CUDA runtime sees; 0 on any error (no driver, no device). */
int gpu_count(void);
/* The runtime's text for why gpu_count() is 0 ("no CUDA-capable device",
 * "CUDA driver version is insufficient ..."), or "" when it is not. */
const char *gpu_count_error(void);
/* Make device index current, create the cuBLAS and cuDNN handles and set
 * the precision (device.h). Logs the device's name, memory and the cuDNN
 * version once. A second call with the same index changes the precision
 * only. */
void gpu_open(int index, precision p);
int gpu_is_open(void);
precision gpu_precision(void);
/* Device name, free and total memory in bytes, cuDNN and cuBLAS versions. */
const char *gpu_name(void);
void gpu_mem_info(size_t *free_bytes, size_t *total_bytes);
size_t gpu_cudnn_version(void);
int gpu_cublas_version(void);

/* Up-front memory check: dies with one line when `bytes` (what `what` is
 * about to allocate) exceeds the free device memory less a reserve of
 * 256 MiB for the libraries' own allocations. */
void gpu_require(size_t bytes, const char *what);
/* cudaMalloc (never managed memory); dies naming the size on failure. */
void *gpu_alloc(size_t bytes);
void gpu_free(void *p);
/* Page-locked host memory (cudaMallocHost): uploads from it run at the bus's
 * speed; dies naming the size on failure. */
void *gpu_alloc_host(size_t bytes);
void gpu_free_host(void *p);
void gpu_upload(void *dst, const void *src, size_t bytes);
void gpu_download(void *dst, const void *src, size_t bytes);
void gpu_copy(void *dst, const void *src, size_t bytes);          /* device to device */
void gpu_fill_f32(float *p, float v, int64_t n);                   /* every element = v */
void gpu_sync(void);

/* The handles of the open device, as void * for C callers (cublasHandle_t,
 * cudnnHandle_t in .cu files). */
void *gpu_cublas(void);
void *gpu_cudnn(void);

/* Device time of a region by CUDA events: gpu_timer_start then
 * gpu_timer_stop, which waits and returns milliseconds. */
void gpu_timer_start(void);
double gpu_timer_stop(void);

#ifdef __cplusplus
}
#endif

#endif
