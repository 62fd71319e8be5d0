/* nn.h: neural-network layers on the CPU, forward and backward side by side.
 *
 * Conventions (every function):
 *  - Tensors are NCHW, batch first, contiguous `real` arrays (float; double
 *    in the gradient-check copy, whose functions carry a _d suffix and are
 *    declared in nn/nn_double.h).
 *  - Argument order: outputs, saved values / workspace, inputs, parameters,
 *    sizes. No allocation inside: the caller owns every buffer.
 *  - Every gradient buffer (dx and the parameter gradients dw, db) is
 *    OVERWRITTEN, never accumulated: each parameter belongs to one layer and
 *    one step computes its gradient once. dx may be NULL where the input's
 *    gradient is not needed (first layer, frozen layers below).
 *  - Parameter layouts are torch's: conv weight [K, C, 3, 3], fc weight
 *    [out, in], so torchvision weights load unchanged.
 * Threading: OpenMP inside (im2col, element-wise loops) and OpenBLAS for the
 * GEMMs. Results are byte-identical for the same inputs, thread count and
 * batch size on one machine; another thread count, batch size or BLAS
 * kernel (OpenBLAS picks one at run time; OPENBLAS_CORETYPE overrides it)
 * may sum the GEMMs in another order, so results then agree within float
 * rounding only (README "Reproducibility"). */
#ifndef DSAH_NN_H
#define DSAH_NN_H

#include <stdint.h>

#include "nn/activations.h"

/* ---- 3x3 convolution, stride 1, pad 1, with bias ------------------------
 * x [B,C,H,W] -> y [B,K,H,W]; w [K,C,3,3]; b [K].
 * Implementation: the batch is processed in chunks of nb images; per chunk
 * im2col builds col [C*9, nb*H*W] and one GEMM computes [K, nb*H*W] =
 * w [K, C*9] x col, which is copied into NCHW (the rows of H*W are
 * contiguous in both layouts, so that is a block copy, fused with the bias).
 * ws is a workspace of ws_len reals; nb = min(B, ws_len / conv3x3_ws_per_image),
 * which must be >= 1. The backward pass recomputes im2col (cheaper than
 * keeping col for a whole batch of large images).
 * The forward pass uses Winograd F(4x4, 3x3) instead (layers.c: 36 GEMMs
 * [K,C] x [C,tiles], 4x fewer multiplies) where C >= 16 and ws_len >=
 * conv3x3_ws_winograd(B, C, H, W, K), which depends on the OpenMP thread
 * count of the call (0 where C < 16) and also serves every batch < B. Both agree with a direct loop within
 * float rounding (t_layers, t_ops). */
int64_t conv3x3_ws_per_image(int C, int H, int W, int K);
int64_t conv3x3_ws_winograd(int B, int C, int H, int W, int K);
void conv3x3_forward(real *y, real *ws, const real *x, const real *w, const real *b,
                     int B, int C, int H, int W, int K, int64_t ws_len);
/* dy [B,K,H,W], x the forward input -> dx [B,C,H,W] (NULL: skip),
 * dw [K,C,3,3], db [K]. */
void conv3x3_backward(real *dx, real *dw, real *db, real *ws, const real *dy, const real *x,
                      const real *w, int B, int C, int H, int W, int K, int64_t ws_len);

/* ---- ReLU, element-wise over n values; y may alias x, dx may alias dy. -- */
void relu_forward(real *y, const real *x, int64_t n);
/* y is the forward output. */
void relu_backward(real *dx, const real *y, const real *dy, int64_t n);

/* ---- 2x2 max-pool, stride 2 ---------------------------------------------
 * x [B,C,H,W] -> y [B,C,H/2,W/2] (floor, as torch); arg [B,C,H/2,W/2] saves
 * the position 0..3 (dy*2+dx) of the maximum (first one on ties). */
void maxpool2_forward(real *y, uint8_t *arg, const real *x, int B, int C, int H, int W);
void maxpool2_backward(real *dx, const uint8_t *arg, const real *dy, int B, int C, int H, int W);

/* ---- fully connected: y [B,out] = x [B,in] w^T + b; w [out,in], b [out] - */
void fc_forward(real *y, const real *x, const real *w, const real *b, int B, int in, int out);
void fc_backward(real *dx, real *dw, real *db, const real *dy, const real *x, const real *w,
                 int B, int in, int out);

/* ---- inverted dropout (train only) ---------------------------------------
 * y = x * keep / (1 - p) with keep from act_dropout_keep(seed, step, i): the
 * mask is recomputed in backward, nothing is saved. In eval mode the caller
 * skips the layer (identity). y may alias x, dx may alias dy. */
void dropout_forward(real *y, const real *x, int64_t n, float p, uint64_t seed, uint64_t step);
void dropout_backward(real *dx, const real *dy, int64_t n, float p, uint64_t seed, uint64_t step);

/* ---- tanh; y may alias x, dx may alias dy; y is the forward output ------- */
void tanh_forward(real *y, const real *x, int64_t n);
void tanh_backward(real *dx, const real *y, const real *dy, int64_t n);

/* Flatten [B,C,H,W] -> [B, C*H*W] is a no-op in NCHW: the same buffer is read
 * as a matrix, in torch's flatten order (c, h, w). */

#endif
