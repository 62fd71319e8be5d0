/* ops_cuda.c: the CUDA backends of the op tests (tests/ops_backend.h): the
 * twins of kernels/ops.h behind host-buffer wrappers, one backend per
 * precision (cuda = fp32 with TF32 off, cuda-tf32, cuda-bf16). Each wrapper
 * sets its precision, copies the inputs to the device, copies the host
 * outputs as t_ops poisoned them (NaN, 0xFF or 0x00) to the device outputs
 * too, so an element the kernel leaves unwritten comes back as poison, runs
 * the twin, copies the outputs back and synchronises. Workspaces are the
 * device's own size (conv3x3_ws_cuda), except the loss's, which carries the
 * forward's saved values to the backward through the host ws of the CPU's
 * size, as ops_backend.h asks. Built only with CUDA (DSAH_CUDA=1); never
 * run on a GPU so far (docs/GPU.md). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gpu.h"
#include "ops.h"
#include "ops_backend.h"
#include "util/bits.h"
#include "util/util.h"

/* ---- device copies of host buffers ------------------------------------- */

static void *up(const void *h, size_t bytes) {
    void *d = gpu_alloc(bytes);
    gpu_upload(d, h, bytes);
    return d;
}

static void down_free(void *h, void *d, size_t bytes) {
    gpu_download(h, d, bytes);
    gpu_free(d);
}

#define F(n) (sizeof(float) * (size_t)(n))

static int cuda_available(char *why, int whylen, precision p) {
    if (gpu_count() == 0) {
        snprintf(why, (size_t)whylen, "no GPU");
        return 0;
    }
    gpu_open(0, p);
    return 1;
}

/* ---- the wrappers, over the precision p -------------------------------- */

static void w_conv3x3_forward(precision p, float *y, float *ws, const float *x, const float *w, const float *b, int B,
                              int C, int H, int W, int K, int64_t ws_len) {
    (void)ws;
    (void)ws_len;
    gpu_open(0, p);
    const int64_t nx = (int64_t)B * C * H * W, ny = (int64_t)B * K * H * W, nw = (int64_t)K * C * 9;
    const int64_t wl = conv3x3_ws_cuda(B, C, H, W, K);
    float *dx = up(x, F(nx)), *dw = up(w, F(nw)), *db = up(b, F(K)), *dy = up(y, F(ny)), *dws = gpu_alloc(F(wl));
    conv3x3_forward_cuda(dy, dws, dx, dw, db, B, C, H, W, K, wl);
    down_free(y, dy, F(ny));
    gpu_free(dx); gpu_free(dw); gpu_free(db); gpu_free(dws);
}

static void w_conv3x3_backward(precision p, float *dx, float *dw, float *db, float *ws, const float *dy,
                               const float *x, const float *w, int B, int C, int H, int W, int K, int64_t ws_len) {
    (void)ws;
    (void)ws_len;
    gpu_open(0, p);
    const int64_t nx = (int64_t)B * C * H * W, ny = (int64_t)B * K * H * W, nw = (int64_t)K * C * 9;
    const int64_t wl = conv3x3_ws_cuda(B, C, H, W, K);
    float *d_dy = up(dy, F(ny)), *d_x = up(x, F(nx)), *d_w = up(w, F(nw)), *d_dw = up(dw, F(nw)), *d_db = up(db, F(K)),
          *d_dx = dx ? up(dx, F(nx)) : NULL, *dws = gpu_alloc(F(wl));
    conv3x3_backward_cuda(d_dx, d_dw, d_db, dws, d_dy, d_x, d_w, B, C, H, W, K, wl);
    if (dx) down_free(dx, d_dx, F(nx));
    down_free(dw, d_dw, F(nw));
    down_free(db, d_db, F(K));
    gpu_free(d_dy); gpu_free(d_x); gpu_free(d_w); gpu_free(dws);
}

/* y = f(x) and dx = f'(y, dy) over n values (ReLU, tanh) */
static void w_unary(precision p, void (*op)(float *, const float *, int64_t), float *y, const float *x, int64_t n) {
    gpu_open(0, p);
    float *dx = up(x, F(n)), *dy = up(y, F(n));
    op(dy, dx, n);
    down_free(y, dy, F(n));
    gpu_free(dx);
}

static void w_binary(precision p, void (*op)(float *, const float *, const float *, int64_t), float *dx,
                     const float *y, const float *dy, int64_t n) {
    gpu_open(0, p);
    float *d_y = up(y, F(n)), *d_dy = up(dy, F(n)), *d_dx = up(dx, F(n));
    op(d_dx, d_y, d_dy, n);
    down_free(dx, d_dx, F(n));
    gpu_free(d_y); gpu_free(d_dy);
}

static void w_maxpool2_forward(precision p, float *y, uint8_t *arg, const float *x, int B, int C, int H, int W) {
    gpu_open(0, p);
    const int64_t nx = (int64_t)B * C * H * W, ny = (int64_t)B * C * (H / 2) * (W / 2);
    float *dx = up(x, F(nx)), *dy = up(y, F(ny));
    uint8_t *da = up(arg, (size_t)ny);
    maxpool2_forward_cuda(dy, da, dx, B, C, H, W);
    down_free(y, dy, F(ny));
    down_free(arg, da, (size_t)ny);
    gpu_free(dx);
}

static void w_maxpool2_backward(precision p, float *dx, const uint8_t *arg, const float *dy, int B, int C, int H,
                                int W) {
    gpu_open(0, p);
    const int64_t nx = (int64_t)B * C * H * W, ny = (int64_t)B * C * (H / 2) * (W / 2);
    float *d_dy = up(dy, F(ny)), *d_dx = up(dx, F(nx));
    uint8_t *da = up(arg, (size_t)ny);
    maxpool2_backward_cuda(d_dx, da, d_dy, B, C, H, W);
    down_free(dx, d_dx, F(nx));
    gpu_free(d_dy); gpu_free(da);
}

static void w_fc_forward(precision p, float *y, const float *x, const float *w, const float *b, int B, int in,
                         int out) {
    gpu_open(0, p);
    float *dx = up(x, F((int64_t)B * in)), *dw = up(w, F((int64_t)out * in)), *db = up(b, F(out)),
          *dy = up(y, F((int64_t)B * out));
    fc_forward_cuda(dy, dx, dw, db, B, in, out);
    down_free(y, dy, F((int64_t)B * out));
    gpu_free(dx); gpu_free(dw); gpu_free(db);
}

static void w_fc_backward(precision p, float *dx, float *dw, float *db, const float *dy, const float *x,
                          const float *w, int B, int in, int out) {
    gpu_open(0, p);
    float *d_dy = up(dy, F((int64_t)B * out)), *d_x = up(x, F((int64_t)B * in)), *d_w = up(w, F((int64_t)out * in)),
          *d_dw = up(dw, F((int64_t)out * in)), *d_db = up(db, F(out)), *d_dx = dx ? up(dx, F((int64_t)B * in)) : NULL;
    fc_backward_cuda(d_dx, d_dw, d_db, d_dy, d_x, d_w, B, in, out);
    if (dx) down_free(dx, d_dx, F((int64_t)B * in));
    down_free(dw, d_dw, F((int64_t)out * in));
    down_free(db, d_db, F(out));
    gpu_free(d_dy); gpu_free(d_x); gpu_free(d_w);
}

static void w_dropout(precision p, void (*op)(float *, const float *, int64_t, float, uint64_t, uint64_t), float *y,
                      const float *x, int64_t n, float pr, uint64_t seed, uint64_t step) {
    gpu_open(0, p);
    float *dx = up(x, F(n)), *dy = up(y, F(n));
    op(dy, dx, n, pr, seed, step);
    down_free(y, dy, F(n));
    gpu_free(dx);
}

static double w_batch_cosine(precision p, float *s, float *u, float *nrm, const float *z, int B, int l) {
    gpu_open(0, p);
    float *d_z = up(z, F((int64_t)B * l)), *d_s = up(s, F((int64_t)B * B)), *d_u = up(u, F((int64_t)B * l)),
          *d_n = up(nrm, F(B));
    const double r = batch_cosine_cuda(d_s, d_u, d_n, d_z, B, l);
    down_free(s, d_s, F((int64_t)B * B));
    down_free(u, d_u, F((int64_t)B * l));
    down_free(nrm, d_n, F(B));
    gpu_free(d_z);
    return r;
}

static void w_dsah_loss_forward(precision p, loss_parts *out, float *ws, const float *z, const float *w, int B, int l,
                                double tau, double lambda, pic_mode mode, quant_mode qm) {
    gpu_open(0, p);
    const int64_t nws = dsah_loss_ws(B, l);
    float *d_z = up(z, F((int64_t)B * l)), *d_w = up(w, F((int64_t)B * B)), *d_ws = up(ws, F(nws));
    dsah_loss_forward_cuda(out, d_ws, d_z, d_w, B, l, tau, lambda, mode, qm);
    down_free(ws, d_ws, F(nws)); /* the forward's saved u, s, ||z|| for the backward */
    gpu_free(d_z); gpu_free(d_w);
}

static void w_dsah_loss_backward(precision p, float *dz, float *ws, const loss_parts *saved, const float *z,
                                 const float *w, int B, int l, double tau, double lambda, pic_mode mode, quant_mode qm) {
    gpu_open(0, p);
    const int64_t nws = dsah_loss_ws(B, l);
    float *d_z = up(z, F((int64_t)B * l)), *d_w = up(w, F((int64_t)B * B)), *d_ws = up(ws, F(nws)),
          *d_dz = up(dz, F((int64_t)B * l));
    dsah_loss_backward_cuda(d_dz, d_ws, saved, d_z, d_w, B, l, tau, lambda, mode, qm);
    down_free(dz, d_dz, F((int64_t)B * l));
    down_free(ws, d_ws, F(nws));
    gpu_free(d_z); gpu_free(d_w);
}

static void w_adam_step(precision p, adam *a, float *theta, const float *g, double lr) {
    gpu_open(0, p);
    adam d = *a;
    d.m = up(a->m, F(a->n));
    d.v = up(a->v, F(a->n));
    float *d_t = up(theta, F(a->n)), *d_g = up(g, F(a->n));
    adam_step_cuda(&d, d_t, d_g, lr);
    a->t = d.t;
    down_free(a->m, d.m, F(a->n));
    down_free(a->v, d.v, F(a->n));
    down_free(theta, d_t, F(a->n));
    gpu_free(d_g);
}

static void w_bits_pack_signs(precision p, uint8_t *out, const float *x, int64_t n, int64_t nbits) {
    gpu_open(0, p);
    const size_t ob = (size_t)(n * bits_row_bytes(nbits));
    float *dx = up(x, F(n * nbits));
    uint8_t *d_o = up(out, ob);
    bits_pack_signs_cuda(d_o, dx, n, nbits);
    down_free(out, d_o, ob);
    gpu_free(dx);
}

static void w_hamming_query(precision p, uint32_t *cnt, uint8_t *dist, const uint8_t *codes, int64_t n,
                            int64_t row_bytes, int bits, const uint8_t *q) {
    gpu_open(0, p);
    uint8_t *d_c = up(codes, (size_t)(n * row_bytes)), *d_q = up(q, (size_t)row_bytes), *d_d = up(dist, (size_t)n);
    uint32_t *d_cnt = up(cnt, sizeof(uint32_t) * (size_t)(bits + 1));
    hamming_query_cuda(d_cnt, d_d, d_c, n, row_bytes, bits, d_q);
    down_free(cnt, d_cnt, sizeof(uint32_t) * (size_t)(bits + 1));
    down_free(dist, d_d, (size_t)n);
    gpu_free(d_c); gpu_free(d_q);
}

/* ---- one backend per precision: the entries bind p ----------------------- */

#define CUDA_BACKEND(SUFFIX, NAME, OPSP, P)                                                                           \
    static int available_##SUFFIX(char *why, int whylen) { return cuda_available(why, whylen, P); }                 \
    static void conv_f_##SUFFIX(float *y, float *ws, const float *x, const float *w, const float *b, int B, int C,   \
                                int H, int W, int K, int64_t ws_len) {                                             \
        w_conv3x3_forward(P, y, ws, x, w, b, B, C, H, W, K, ws_len);                                               \
    }                                                                                                              \
    static void conv_b_##SUFFIX(float *dx, float *dw, float *db, float *ws, const float *dy, const float *x,        \
                                const float *w, int B, int C, int H, int W, int K, int64_t ws_len) {               \
        w_conv3x3_backward(P, dx, dw, db, ws, dy, x, w, B, C, H, W, K, ws_len);                                    \
    }                                                                                                              \
    static void relu_f_##SUFFIX(float *y, const float *x, int64_t n) { w_unary(P, relu_forward_cuda, y, x, n); }    \
    static void relu_b_##SUFFIX(float *dx, const float *y, const float *dy, int64_t n) {                           \
        w_binary(P, relu_backward_cuda, dx, y, dy, n);                                                             \
    }                                                                                                              \
    static void tanh_f_##SUFFIX(float *y, const float *x, int64_t n) { w_unary(P, tanh_forward_cuda, y, x, n); }    \
    static void tanh_b_##SUFFIX(float *dx, const float *y, const float *dy, int64_t n) {                           \
        w_binary(P, tanh_backward_cuda, dx, y, dy, n);                                                             \
    }                                                                                                              \
    static void pool_f_##SUFFIX(float *y, uint8_t *arg, const float *x, int B, int C, int H, int W) {              \
        w_maxpool2_forward(P, y, arg, x, B, C, H, W);                                                              \
    }                                                                                                              \
    static void pool_b_##SUFFIX(float *dx, const uint8_t *arg, const float *dy, int B, int C, int H, int W) {      \
        w_maxpool2_backward(P, dx, arg, dy, B, C, H, W);                                                           \
    }                                                                                                              \
    static void fc_f_##SUFFIX(float *y, const float *x, const float *w, const float *b, int B, int in, int out) {  \
        w_fc_forward(P, y, x, w, b, B, in, out);                                                                   \
    }                                                                                                              \
    static void fc_b_##SUFFIX(float *dx, float *dw, float *db, const float *dy, const float *x, const float *w,     \
                              int B, int in, int out) {                                                            \
        w_fc_backward(P, dx, dw, db, dy, x, w, B, in, out);                                                        \
    }                                                                                                              \
    static void drop_f_##SUFFIX(float *y, const float *x, int64_t n, float p, uint64_t seed, uint64_t step) {      \
        w_dropout(P, dropout_forward_cuda, y, x, n, p, seed, step);                                                \
    }                                                                                                              \
    static void drop_b_##SUFFIX(float *dx, const float *dy, int64_t n, float p, uint64_t seed, uint64_t step) {    \
        w_dropout(P, dropout_backward_cuda, dx, dy, n, p, seed, step);                                             \
    }                                                                                                              \
    static double cos_##SUFFIX(float *s, float *u, float *nrm, const float *z, int B, int l) {                     \
        return w_batch_cosine(P, s, u, nrm, z, B, l);                                                              \
    }                                                                                                              \
    static void loss_f_##SUFFIX(loss_parts *out, float *ws, const float *z, const float *w, int B, int l,          \
                                double tau, double lambda, pic_mode mode, quant_mode qm) {                         \
        w_dsah_loss_forward(P, out, ws, z, w, B, l, tau, lambda, mode, qm);                                        \
    }                                                                                                              \
    static void loss_b_##SUFFIX(float *dz, float *ws, const loss_parts *saved, const float *z, const float *w,     \
                                int B, int l, double tau, double lambda, pic_mode mode, quant_mode qm) {           \
        w_dsah_loss_backward(P, dz, ws, saved, z, w, B, l, tau, lambda, mode, qm);                                 \
    }                                                                                                              \
    static void adam_##SUFFIX(adam *a, float *theta, const float *g, double lr) {                                  \
        w_adam_step(P, a, theta, g, lr);                                                                           \
    }                                                                                                              \
    static void pack_##SUFFIX(uint8_t *out, const float *x, int64_t n, int64_t nbits) {                            \
        w_bits_pack_signs(P, out, x, n, nbits);                                                                    \
    }                                                                                                              \
    static void ham_##SUFFIX(uint32_t *cnt, uint8_t *dist, const uint8_t *codes, int64_t n, int64_t row_bytes,     \
                             int bits, const uint8_t *q) {                                                         \
        w_hamming_query(P, cnt, dist, codes, n, row_bytes, bits, q);                                               \
    }                                                                                                              \
    const ops_backend ops_backend_##SUFFIX = {                                                                     \
        .name = NAME, .precision = OPSP, .available = available_##SUFFIX,                                          \
        .conv3x3_forward = conv_f_##SUFFIX, .conv3x3_backward = conv_b_##SUFFIX,                                   \
        .relu_forward = relu_f_##SUFFIX, .relu_backward = relu_b_##SUFFIX,                                         \
        .maxpool2_forward = pool_f_##SUFFIX, .maxpool2_backward = pool_b_##SUFFIX,                                 \
        .fc_forward = fc_f_##SUFFIX, .fc_backward = fc_b_##SUFFIX,                                                 \
        .dropout_forward = drop_f_##SUFFIX, .dropout_backward = drop_b_##SUFFIX,                                   \
        .tanh_forward = tanh_f_##SUFFIX, .tanh_backward = tanh_b_##SUFFIX,                                         \
        .batch_cosine = cos_##SUFFIX, .dsah_loss_forward = loss_f_##SUFFIX, .dsah_loss_backward = loss_b_##SUFFIX, \
        .adam_step = adam_##SUFFIX, .bits_pack_signs = pack_##SUFFIX, .hamming_query = ham_##SUFFIX}

CUDA_BACKEND(cuda, "cuda", OPS_FP32, PREC_FP32);
CUDA_BACKEND(cuda_tf32, "cuda-tf32", OPS_TF32, PREC_TF32);
CUDA_BACKEND(cuda_bf16, "cuda-bf16", OPS_BF16, PREC_BF16);
