/* ops.h: the CUDA twins of the CPU layers (common/nn/nn.h), the DSAH loss
 * (nn/loss.h) and Adam (nn/adam.h). Each twin has the CPU op's name with the
 * suffix _cuda and the same arguments in the same order, over DEVICE buffers
 * (float), with the same conventions: outputs first, gradients overwritten,
 * no allocation inside, shapes as in nn.h. They run on the device opened by
 * gpu_open (gpu.h), in its precision, queued on the default stream.
 *
 * Where a twin's result equals the CPU's to the bit (same arithmetic on the
 * same values): ReLU, max-pool (the CPU's first-maximum tie rule), dropout
 * (the same counter-based mask, activations.h), tanh up to the device's
 * tanhf (a few ulp). The convolutions and fully connected layers go through
 * cuDNN and cuBLAS: equal within float rounding in fp32, within TF32 or
 * bfloat16 rounding otherwise (docs/GPU.md gives the tolerances). The loss
 * and Adam are own kernels with the CPU's formulas (double accumulation in
 * the loss, summed in another order). None of this has run on a GPU yet. */
#ifndef DSAH_KERNELS_OPS_H
#define DSAH_KERNELS_OPS_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#include "nn/adam.h"
#include "nn/loss.h"

/* ---- 3x3 convolution, stride 1, pad 1, with bias (conv.cu, cuDNN) --------
 * Workspace (floats) for batches of B: cuDNN's workspace for the algorithms
 * chosen for this shape in the open precision (forward, backward data,
 * backward filter: the largest), plus in bf16 the bfloat16 copies of the
 * operands. Chooses and caches the algorithms (once per shape and
 * precision); call for every layer before allocating, size ws once. */
int64_t conv3x3_ws_cuda(int B, int C, int H, int W, int K);
/* x [B,C,H,W] -> y [B,K,H,W]; w [K,C,3,3]; b [K]; ws of ws_len floats
 * (>= conv3x3_ws_cuda(B,C,H,W,K)). */
void conv3x3_forward_cuda(float *y, float *ws, const float *x, const float *w, const float *b, int B, int C, int H,
                          int W, int K, int64_t ws_len);
/* dy [B,K,H,W], x the forward input -> dx [B,C,H,W] (NULL: skip),
 * dw [K,C,3,3], db [K], all overwritten. */
void conv3x3_backward_cuda(float *dx, float *dw, float *db, float *ws, const float *dy, const float *x,
                           const float *w, int B, int C, int H, int W, int K, int64_t ws_len);

/* ---- element-wise (activations.cu): n values; y may alias x, dx dy ---- */
void relu_forward_cuda(float *y, const float *x, int64_t n);
void relu_backward_cuda(float *dx, const float *y, const float *dy, int64_t n);
void tanh_forward_cuda(float *y, const float *x, int64_t n);
void tanh_backward_cuda(float *dx, const float *y, const float *dy, int64_t n);
void dropout_forward_cuda(float *y, const float *x, int64_t n, float p, uint64_t seed, uint64_t step);
void dropout_backward_cuda(float *dx, const float *dy, int64_t n, float p, uint64_t seed, uint64_t step);

/* ---- 2x2 max-pool, stride 2 (pool.cu) -----------------------------------
 * x [B,C,H,W] -> y [B,C,H/2,W/2], arg [B,C,H/2,W/2] (0..3, first maximum). */
void maxpool2_forward_cuda(float *y, uint8_t *arg, const float *x, int B, int C, int H, int W);
void maxpool2_backward_cuda(float *dx, const uint8_t *arg, const float *dy, int B, int C, int H, int W);

/* ---- fully connected (fc.cu, cuBLAS) -------------------------------------
 * y [B,out] = x [B,in] w^T + b; w [out,in]; b [out]. */
void fc_forward_cuda(float *y, const float *x, const float *w, const float *b, int B, int in, int out);
/* dy [B,out] -> dx [B,in] (NULL: skip), dw [out,in], db [out], overwritten. */
void fc_backward_cuda(float *dx, float *dw, float *db, const float *dy, const float *x, const float *w, int B, int in,
                      int out);

/* ---- the batch cosine and the DSAH loss (loss.cu) ------------------------
 * As batch_cosine and dsah_loss_forward / dsah_loss_backward (loss.h), all
 * buffers on the device but `out` / `saved` (loss_parts) on the HOST: the
 * forward (and batch_cosine, for its return value) waits for the kernel.
 * ws: dsah_loss_ws(B,l) floats on the device; z [B,l], w [B,B] (+-1). */
double batch_cosine_cuda(float *s, float *u, float *nrm, const float *z, int B, int l);
void dsah_loss_forward_cuda(loss_parts *out, float *ws, const float *z, const float *w, int B, int l, double tau,
                            double lambda, pic_mode mode, quant_mode qm);
void dsah_loss_backward_cuda(float *dz, float *ws, const loss_parts *saved, const float *z, const float *w, int B,
                             int l, double tau, double lambda, pic_mode mode, quant_mode qm);

/* ---- the network input (input.cu) ----------------------------------------
 * x [B, OC, S, S] (OC = 3 for vgg, else C) from u8 [B,H,W,C] images on the
 * device, as net_input (nn/input.h) computes it from the same images. */
void net_input_batch_cuda(float *x, const uint8_t *u8, int B, int H, int W, int C, int S, int vgg);

/* ---- hash codes (codes.cu) ------------------------------------------------
 * As bits_pack_signs (util/bits.h): x [n, nbits] -> out [n, ceil(nbits/8)],
 * bit k of byte k/8 LSB first, 1 where x >= 0. */
void bits_pack_signs_cuda(uint8_t *out, const float *x, int64_t n, int64_t nbits);
/* One query q [row_bytes] against codes [n, row_bytes] (bits <= 255, the
 * unused high bits zero): dist [n] the Hamming distances, cnt [bits + 1]
 * the items at each distance (overwritten), as eval's first pass
 * (hash/eval.h hamming_planes_query). */
void hamming_query_cuda(uint32_t *cnt, uint8_t *dist, const uint8_t *codes, int64_t n, int64_t row_bytes, int bits,
                        const uint8_t *q);

/* ---- Adam (adam.cu) -------------------------------------------------------
 * The adam struct of adam.h with m and v on the device: adam_init_cuda
 * allocates them zeroed, adam_free_cuda frees them; adam_step_cuda is
 * adam_step (TensorFlow's form, lr_t computed on the host as the CPU does)
 * over device theta [n] and g [n]. */
void adam_init_cuda(adam *a, int64_t n, double eps);
void adam_free_cuda(adam *a);
void adam_step_cuda(adam *a, float *theta, const float *g, double lr);

#ifdef __cplusplus
}
#endif

#endif
