/* ops_backend.h: the backend axis of the op tests (tests/t_ops.c), after
 * ggml's test-backend-ops.
 *
 * A backend is one table (ops_backend below) with, per op, a function of the
 * exact signature of the CPU op it stands for (common/nn/nn.h, loss.h,
 * adam.h, util/bits.h, hash/eval.h), over HOST buffers. A backend that
 * computes elsewhere (CUDA: kernels/, issue 13) registers host-buffer
 * wrappers: copy the inputs to the device, run its op, copy the outputs back,
 * synchronise, all inside the wrapper. t_ops.c owns every buffer, fills the
 * inputs, poisons the outputs, calls the backend's function, and compares
 * every output with an independent reference (the double copy of the
 * layers, nn/nn_double.h, or plain loops) by the normalised error
 * ||out - ref|| / ||ref||, against the op's tolerance for the backend's
 * precision. Integer outputs are compared exactly.
 *
 * What a backend's function must do, beyond the CPU op's own contract:
 *  - write every element of every output: outputs hold NaN (floats) or
 *    0xFF / 0x00 (bytes, two runs) before the call, so an element left
 *    unwritten fails;
 *  - treat a workspace argument (ws) as host scratch of the size the CPU op
 *    asks for; its contents are not compared, with one exception: a loss's
 *    backward is called on the workspace (and loss_parts) its own forward
 *    left, so what a backend keeps there between the two is its own affair,
 *    as long as it fits in the CPU's size;
 *  - be NULL where the backend does not provide the op (t_ops prints
 *    `ok N # skip <backend>: <op> not provided`).
 * available() is called once before any op: it returns 1 when the backend
 * can run here, else 0 with a short reason in why (t_ops then prints
 * `ok N # skip <reason>` for each of the backend's checks, e.g. "no GPU").
 *
 * To add a backend: define `const ops_backend ops_backend_<name>` in its own
 * file (tests/ops_cpu.c is the model), declare it below as a weak symbol and
 * list it in OPS_BACKENDS, and append its object to OPS_BACKEND_OBJS in the
 * Makefile (libraries to OPS_BACKEND_LIBS). A build without it links without
 * it: the weak symbol's address is then NULL and t_ops prints
 * `ok N # skip <name>: not built`. t_ops.c does not change.
 *
 * Plain C (no C99-only syntax in the declarations), so that a .cu file can
 * include it inside extern "C" to see the types. */
#ifndef DSAH_OPS_BACKEND_H
#define DSAH_OPS_BACKEND_H

#include <stdint.h>

#include "nn/adam.h"
#include "nn/loss.h"

/* The arithmetic a backend's ops use; the op tests hold each op to a
 * tolerance per precision. */
typedef enum { OPS_FP32 = 0, OPS_TF32, OPS_BF16, OPS_PRECISIONS } ops_precision;

typedef struct ops_backend {
    const char *name;
    ops_precision precision;
    int (*available)(char *why, int whylen);

    /* layers: common/nn/nn.h */
    void (*conv3x3_forward)(float *y, float *ws, const float *x, const float *w, const float *b, int B, int C,
                            int H, int W, int K, int64_t ws_len);
    void (*conv3x3_backward)(float *dx, float *dw, float *db, float *ws, const float *dy, const float *x,
                             const float *w, int B, int C, int H, int W, int K, int64_t ws_len);
    void (*relu_forward)(float *y, const float *x, int64_t n);
    void (*relu_backward)(float *dx, const float *y, const float *dy, int64_t n);
    void (*maxpool2_forward)(float *y, uint8_t *arg, const float *x, int B, int C, int H, int W);
    void (*maxpool2_backward)(float *dx, const uint8_t *arg, const float *dy, int B, int C, int H, int W);
    void (*fc_forward)(float *y, const float *x, const float *w, const float *b, int B, int in, int out);
    void (*fc_backward)(float *dx, float *dw, float *db, const float *dy, const float *x, const float *w, int B,
                        int in, int out);
    void (*dropout_forward)(float *y, const float *x, int64_t n, float p, uint64_t seed, uint64_t step);
    void (*dropout_backward)(float *dx, const float *dy, int64_t n, float p, uint64_t seed, uint64_t step);
    void (*tanh_forward)(float *y, const float *x, int64_t n);
    void (*tanh_backward)(float *dx, const float *y, const float *dy, int64_t n);

    /* the loss: common/nn/loss.h */
    double (*batch_cosine)(float *s, float *u, float *nrm, const float *z, int B, int l);
    void (*dsah_loss_forward)(loss_parts *out, float *ws, const float *z, const float *w, int B, int l,
                              double tau, double lambda, pic_mode mode, quant_mode qm);
    void (*dsah_loss_backward)(float *dz, float *ws, const loss_parts *saved, const float *z, const float *w,
                               int B, int l, double tau, double lambda, pic_mode mode, quant_mode qm);

    /* the optimiser: common/nn/adam.h (a->m, a->v are host buffers) */
    void (*adam_step)(adam *a, float *theta, const float *g, double lr);

    /* codes and distances: util/bits.h (the encoder's sign packing) and the
     * Hamming distances of one query against n codes with their histogram,
     * what eval's pass 1 computes (hash/eval.h, hamming_planes_query): cnt
     * [bits + 1] items per distance, dist [n] each item's distance. The CPU
     * entry builds hamming_planes for the call (tests/ops_cpu.c). */
    void (*bits_pack_signs)(uint8_t *out, const float *x, int64_t n, int64_t nbits);
    void (*hamming_query)(uint32_t *cnt, uint8_t *dist, const uint8_t *codes, int64_t n, int64_t row_bytes,
                          int bits, const uint8_t *q);
} ops_backend;

/* The registry. The CPU is always there; the others are weak, so a build
 * that lacks one links without it. */
extern const ops_backend ops_backend_cpu;
/* kernels/ (issue 13), when built with CUDA: tests/ops_cuda.c, one backend
 * per precision (fp32 with TF32 off, tf32, bf16) */
extern const ops_backend ops_backend_cuda __attribute__((weak));
extern const ops_backend ops_backend_cuda_tf32 __attribute__((weak));
extern const ops_backend ops_backend_cuda_bf16 __attribute__((weak));

typedef struct ops_backend_entry {
    const char *name;
    const ops_backend *backend; /* NULL: not built */
} ops_backend_entry;

#define OPS_BACKENDS                                                                                     \
    {{"cpu", &ops_backend_cpu},                                                                          \
     {"cuda", &ops_backend_cuda},                                                                        \
     {"cuda-tf32", &ops_backend_cuda_tf32},                                                              \
     {"cuda-bf16", &ops_backend_cuda_bf16}}

#endif
