/* nn_double.h: the double-precision copy of the layers and losses, for the
 * checks that need more than float (finite differences, the op tests'
 * references: tests/t_layers.c, t_loss.c, t_ops.c, ...).
 *
 * How it is built (Makefile, "the double copy"): common/nn/layers.c, loss.c
 * and sgh_layer.c are compiled a second time with DSAH_REAL_DOUBLE defined,
 * which makes `real` double (activations.h), and with this header forced in
 * first (-include), whose #defines below rename each function to its _d twin.
 * The objects go into libdsah.a next to the float ones.
 *
 * Why this way: each function keeps one definition under its own name in the
 * source (grep, ctags and go-to-definition find conv3x3_forward in layers.c),
 * and every _d function is declared below, written out in double, so the
 * tools find those too. Nothing else is needed to keep the two in step: the
 * double compile sees these declarations and nn.h's renamed ones side by
 * side, so the compiler rejects any pair that disagrees, and the Makefile
 * fails the build when the copy defines a global name without the _d suffix
 * (a function added to nn.h, loss.h or sgh.h but not renamed here).
 *
 * Users include this header in ordinary (float) code and call the _d names. */
#ifndef DSAH_NN_DOUBLE_H
#define DSAH_NN_DOUBLE_H

#include <stdint.h>

#ifdef DSAH_REAL_DOUBLE /* the second compile of the sources: the renames */
#define conv3x3_ws_per_image conv3x3_ws_per_image_d
#define conv3x3_ws_winograd conv3x3_ws_winograd_d
#define conv3x3_forward conv3x3_forward_d
#define conv3x3_backward conv3x3_backward_d
#define relu_forward relu_forward_d
#define relu_backward relu_backward_d
#define maxpool2_forward maxpool2_forward_d
#define maxpool2_backward maxpool2_backward_d
#define fc_forward fc_forward_d
#define fc_backward fc_backward_d
#define dropout_forward dropout_forward_d
#define dropout_backward dropout_backward_d
#define tanh_forward tanh_forward_d
#define tanh_backward tanh_backward_d
#define batch_cosine batch_cosine_d
#define dsah_loss_ws dsah_loss_ws_d
#define dsah_loss_forward dsah_loss_forward_d
#define dsah_loss_backward dsah_loss_backward_d
#define dsah_pair_weights dsah_pair_weights_d
#define ssdh_loss_forward ssdh_loss_forward_d
#define ssdh_loss_backward ssdh_loss_backward_d
#define greedyhash_loss_ws greedyhash_loss_ws_d
#define greedyhash_loss_forward greedyhash_loss_forward_d
#define greedyhash_loss_backward greedyhash_loss_backward_d
#define sgh_neuron_forward sgh_neuron_forward_d
#define sgh_neuron_backward sgh_neuron_backward_d
#define sgh_batch_ws sgh_batch_ws_d
#define sgh_batch_forward sgh_batch_forward_d
#define sgh_batch_backward sgh_batch_backward_d
#endif

#include "nn/loss.h" /* loss_parts, pic_mode, quant_mode */

/* nn.h: the layers (shapes and conventions there) */
int64_t conv3x3_ws_per_image_d(int C, int H, int W, int K);
int64_t conv3x3_ws_winograd_d(int B, int C, int H, int W, int K);
void conv3x3_forward_d(double *y, double *ws, const double *x, const double *w, const double *b,
                       int B, int C, int H, int W, int K, int64_t ws_len);
void conv3x3_backward_d(double *dx, double *dw, double *db, double *ws, const double *dy, const double *x,
                        const double *w, int B, int C, int H, int W, int K, int64_t ws_len);
void relu_forward_d(double *y, const double *x, int64_t n);
void relu_backward_d(double *dx, const double *y, const double *dy, int64_t n);
void maxpool2_forward_d(double *y, uint8_t *arg, const double *x, int B, int C, int H, int W);
void maxpool2_backward_d(double *dx, const uint8_t *arg, const double *dy, int B, int C, int H, int W);
void fc_forward_d(double *y, const double *x, const double *w, const double *b, int B, int in, int out);
void fc_backward_d(double *dx, double *dw, double *db, const double *dy, const double *x, const double *w,
                   int B, int in, int out);
void dropout_forward_d(double *y, const double *x, int64_t n, float p, uint64_t seed, uint64_t step);
void dropout_backward_d(double *dx, const double *dy, int64_t n, float p, uint64_t seed, uint64_t step);
void tanh_forward_d(double *y, const double *x, int64_t n);
void tanh_backward_d(double *dx, const double *y, const double *dy, int64_t n);

/* loss.h: the losses */
double batch_cosine_d(double *s, double *u, double *nrm, const double *z, int B, int l);
int64_t dsah_loss_ws_d(int B, int l);
void dsah_loss_forward_d(loss_parts *out, double *ws, const double *z, const double *w,
                         int B, int l, double tau, double lambda, pic_mode mode, quant_mode qm);
void dsah_loss_backward_d(double *dz, double *ws, const loss_parts *saved, const double *z, const double *w,
                          int B, int l, double tau, double lambda, pic_mode mode, quant_mode qm);
void dsah_pair_weights_d(double *s, double *a, double *ws, const double *z, int B, int l, double tau, pic_mode mode);
double ssdh_loss_forward_d(double *ws, const double *z, const double *s, const double *m, int B, int l);
void ssdh_loss_backward_d(double *dz, const double *ws, const double *z, const double *m, int B, int l);
int64_t greedyhash_loss_ws_d(int B, int64_t d);
double greedyhash_loss_forward_d(double *ws, const double *u, const double *f, int B, int l, int64_t d,
                                 double alpha);
void greedyhash_loss_backward_d(double *du, const double *ws, const double *u, int B, int l, int64_t d,
                                double alpha);

/* sgh.h: the SGH neuron and batch loss */
void sgh_neuron_forward_d(double *h, double *p, const double *z, const double *xi, int64_t n);
void sgh_neuron_backward_d(double *dz, const double *p, const double *dh, const double *dp, int64_t n);
int64_t sgh_batch_ws_d(int B, int64_t d, int b);
double sgh_batch_forward_d(double *ws, const double *params, const double *x, const double *xi, int B,
                           int64_t d, int b, double rho2);
void sgh_batch_backward_d(double *grad, double *ws, const double *params, const double *x, int B, int64_t d,
                          int b, double rho2);

#endif
