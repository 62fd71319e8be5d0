/* device.h: the --device and --precision flags of the stages that compute.
 *
 *   --device auto | cpu | cuda | cuda:N
 *     auto    the GPU (cuda:0) when this build has CUDA (make found nvcc:
 *             DSAH_CUDA=1), the run has a CUDA path (the stage and its
 *             settings) and a GPU is present; the CPU otherwise.
 *     cpu     the CPU reference (common/).
 *     cuda:N  GPU N (cuda = cuda:0): one error line when the build has no
 *             CUDA, the run has no CUDA path, no such GPU answers, or (at
 *             allocation, kernels/gpu.h gpu_require) its memory is short.
 *   --precision fp32 | tf32 | bf16 (GPU only; the CPU computes in fp32)
 *     fp32    float32 everywhere, TF32 switched off in cuBLAS and cuDNN.
 *     tf32    the tensor cores' TF32 mode for the GEMMs and convolutions.
 *     bf16    mixed precision: GEMM and convolution operands rounded to
 *             bfloat16 with float32 accumulation; weights, activations
 *             between layers, gradients of the parameters, the Adam state
 *             and the loss stay float32.
 * Which GPU counts as present: gpu_count() > 0 (kernels/gpu.h); any CUDA
 * runtime error there (no driver, as on a build machine without a GPU) is
 * "none". */
#ifndef DSAH_DEVICE_H
#define DSAH_DEVICE_H

typedef enum { DEV_AUTO = 0, DEV_CPU, DEV_CUDA } device_kind;
typedef enum { PREC_FP32 = 0, PREC_TF32, PREC_BF16 } precision;

/* Parse a --device value: 0 with *kind and *index (0 for cuda, N for
 * cuda:N, -1 for auto and cpu), or -1 when it is none of the forms above
 * (N: decimal digits, at most 4095). */
int device_parse(const char *s, device_kind *kind, int *index);
/* device_parse, or die with one line naming --device and the forms. */
void device_parse_or_die(const char *device, device_kind *kind, int *index);
/* "fp32" | "tf32" | "bf16" -> 0 and *p, else -1. */
int precision_parse(const char *s, precision *p);
const char *precision_name(precision p);

/* The device of a run: -1 for the CPU, else the CUDA device index, opened
 * (kernels/gpu.h gpu_open) in precision prec. cuda_path: the run has a CUDA
 * path; no_path_why: why not, for the error line ("--loss ssdh", "dsah-graph").
 * Dies with one line naming the flag on a bad value, a build without CUDA, a
 * run without a CUDA path, a missing GPU, or a precision other than fp32 on
 * the CPU. */
int device_select(const char *device, const char *prec, int cuda_path, const char *no_path_why);

/* --device of a stage that has no CUDA path yet: accepts auto and cpu; dies
 * on cuda[:N] (naming the stage) and on anything else. */
void check_device(const char *device);

#endif
