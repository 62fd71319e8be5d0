/* device_select.c: see device.h. The CUDA calls (gpu_count, gpu_open) exist
 * only in a build with CUDA (DSAH_CUDA=1, kernels/gpu.h); without it every
 * request for a GPU is refused here, before anything runs. */
#include "util/device.h"

#include "util/util.h"

#if DSAH_CUDA
#include "gpu.h"
#endif

int device_select(const char *device, const char *prec, int cuda_path, const char *no_path_why) {
    device_kind kind;
    int index;
    precision p = PREC_FP32;
    device_parse_or_die(device, &kind, &index);
    if (prec && precision_parse(prec, &p)) die("--precision '%s': expected fp32, tf32 or bf16", prec);
#if DSAH_CUDA
    if (kind == DEV_AUTO && cuda_path && gpu_count() > 0) { kind = DEV_CUDA; index = 0; }
    if (kind == DEV_CUDA) {
        if (!cuda_path) die("--device %s: %s has no CUDA path (use --device cpu or auto)", device, no_path_why);
        int n = gpu_count();
        if (n == 0) die("--device %s: no CUDA GPU answers (%s)", device, gpu_count_error());
        if (index >= n) die("--device %s: there %s %d CUDA GPU%s (cuda:0%s)", device, n == 1 ? "is" : "are", n,
                            n == 1 ? "" : "s", n == 1 ? "" : " ...");
        gpu_open(index, p);
        return index;
    }
#else
    (void)no_path_why;
    if (kind == DEV_CUDA) die("--device %s: this build of %s has no CUDA support (use auto or cpu)", device, dsah_prog);
#endif
    if (p != PREC_FP32)
        die("--precision %s: only on a GPU (--device %s runs on the CPU, which computes in fp32)", prec, device);
    return -1;
}
