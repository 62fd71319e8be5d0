/* loss.h: the DSAH loss on a batch (docs/DESIGN.md §Math, paper
 * Eq. 4, 13-17): value (forward) and gradient (backward).
 *
 *   z [B,l] = tanh(F(x)) (the network output), u_i = z_i / ||z_i||
 *   s_ij = u_i . u_j                                  (cosine, Eq. 4)
 *   p_ij = exp(s_ij/tau) / sum_{g,k} exp(s_gk/tau)    over all B^2 pairs (Eq. 16)
 *   a_ij = -log p_ij (pic) | -log(1 - p_ij) (pic-minus) | 1 (none)
 *   pair  = mean_{i,j} a_ij (s_ij - w_ij)^2
 *   quant = mean_{i,k} (z_ik - b_ik)^2,  b = sgn(z) (sgn(0) = +1) held constant
 *   L = pair + lambda * quant
 * The gradient flows through a_ij too (as the official code, which builds a_ij
 * inside the graph): with e = (s - w)^2 and G = dL/ds,
 *   pic:       G_gk = (2 a_gk (s_gk - w_gk) - e_gk/tau + p_gk/tau * sum e) / B^2
 *   pic-minus: G_gk = (2 a (s-w) + e p/(tau(1-p)) - p_gk/tau * sum e p/(1-p)) / B^2
 *   none:      G_gk = 2 (s_gk - w_gk) / B^2
 * then dU = (G + G^T) U and dz_i = (du_i - u_i (u_i . du_i)) / ||z_i||.
 * Quantisation variant (quant_mode): QUANT_Z is the formula above (docs/DESIGN.md §Math);
 * QUANT_U applies it to the normalised codes u = z/||z|| instead,
 *   quant = mean_{i,k} (u_ik - b_ik)^2,
 * as the paper's official code does (quantitative_loss on the l2-normalised
 * hash code); its gradient then flows through the normalisation, and it does
 * not drive tanh into saturation the way QUANT_Z with lambda = 10 does.
 * ||z|| is max(||z||, 1e-6) (tf.nn.l2_normalize's epsilon 1e-12 on the
 * squared norm), so an all-zero row has a defined gradient. */
#ifndef DSAH_LOSS_H
#define DSAH_LOSS_H

#include "nn/activations.h"
#include "nn/nn.h"

typedef enum { PIC_PIC = 0, PIC_MINUS, PIC_NONE } pic_mode;
typedef enum { QUANT_Z = 0, QUANT_U } quant_mode;

/* Parse "pic" | "pic-minus" | "none"; dies naming flag otherwise. */
pic_mode pic_parse(const char *flag, const char *s);
const char *pic_name(pic_mode m);
/* "z" | "u"; dies naming flag otherwise. */
quant_mode quant_parse(const char *flag, const char *s);
const char *quant_name(quant_mode q);
/* a_ij of Eq. 16 from lp = log p_ij: -lp (pic), -log(1 - p_ij) (pic-minus),
 * 1 (none). */
double pic_weight(pic_mode mode, double lp);

typedef struct loss_parts {
    double total, pair, quant;   /* quant is unweighted; total = pair + lambda*quant */
    /* saved by dsah_loss_forward for dsah_loss_backward (kept in double: the
     * workspace is `real`): lse = log sum_{g,k} exp(s_gk/tau), esum = sum e,
     * ersum = sum e p/(1-p) (pic-minus only, else 0) */
    double lse, esum, ersum;
} loss_parts;

/* Every loss below is a forward/backward pair over the same workspace:
 * forward computes the value and saves what backward reads in ws; backward
 * must follow the forward of the same inputs with ws untouched in between.
 * The gradient buffer is OVERWRITTEN, for an upstream gradient dL = 1. No
 * allocation inside. */

/* The batch cosine (Eq. 4) of codes z [B,l]: nrm [B] = max(||z_i||, 1e-6),
 * u [B,l] = z / nrm, s [B,B] = u u^T, all overwritten. Returns the largest
 * s_ij as computed in double before rounding to `real` (the loss's
 * log-sum-exp shift). Forward only: its gradient is part of
 * dsah_loss_backward. */
double batch_cosine(real *s, real *u, real *nrm, const real *z, int B, int l);

/* Reals of workspace the DSAH loss needs for a batch of B codes of l bits:
 * u [B,l], du [B,l], s [B,B], g [B,B], ||z|| [B]. */
int64_t dsah_loss_ws(int B, int l);
/* out: the loss, its parts and the saved sums; ws: dsah_loss_ws(B,l) reals,
 * u, s and ||z|| written; z [B,l]; w [B,B] with entries +-1 (the batch's
 * block of W). */
void dsah_loss_forward(loss_parts *out, real *ws, const real *z, const real *w,
                       int B, int l, double tau, double lambda, pic_mode mode, quant_mode qm);
/* dz [B,l] overwritten with dL/dz; ws and saved as the forward left them
 * (du and g are scratch); the other arguments as given to the forward. */
void dsah_loss_backward(real *dz, real *ws, const loss_parts *saved, const real *z, const real *w,
                        int B, int l, double tau, double lambda, pic_mode mode, quant_mode qm);

/* The SSDH loss (Yang et al., IJCAI 2018; docs/baselines.md) on the same
 * network output z [B,l] (tanh), against the batch's block of the ternary
 * similarity: s [B,B] = +-1, m [B,B] = 1 where S != 0 (hash/ssdh.h):
 *   L = sum_ij m_ij (s_ij - z_i . z_j / l)^2 / max(1, sum_ij m_ij)
 *   dL/dz_i = -(2 / (l C)) sum_j (m_ij r_ij + m_ji r_ji) z_j,  r = s - z z^T / l.
 * Forward returns L and saves m_ij r_ij in ws [B,B] (B*B reals). */
double ssdh_loss_forward(real *ws, const real *z, const real *s, const real *m, int B, int l);
/* dz [B,l] overwritten; ws as the forward left it; z, m as given to it. */
void ssdh_loss_backward(real *dz, const real *ws, const real *z, const real *m, int B, int l);

/* The unsupervised GreedyHash loss (Su et al., NeurIPS 2018; docs/baselines.md)
 * on the pre-tanh output u [B,l] (net linear_head) and the batch's input
 * features f [B,d]: b = sgn(u) (sgn(0) = +1) in the forward pass,
 *   L = (1/B^2) sum_ij (cos(f_i, f_j) - b_i . b_j / l)^2
 *       + alpha / (B l) sum_ik |u_ik - b_ik|^3,
 * and the straight-through gradient: dL/du = dL/db (the first term, b
 * treated as the identity of u) + alpha / (B l) 3 (u - b) |u - b|.
 * ws: greedyhash_loss_ws(B, d) reals: unit features [B,d], cos(F) [B,B],
 * C_b - C_f [B,B]. A zero feature row has cosine 0.
 * Forward returns L and saves those in ws. */
int64_t greedyhash_loss_ws(int B, int64_t d);
double greedyhash_loss_forward(real *ws, const real *u, const real *f, int B, int l, int64_t d, double alpha);
/* du [B,l] overwritten; ws as the forward left it; u as given to it. */
void greedyhash_loss_backward(real *du, const real *ws, const real *u, int B, int l, int64_t d, double alpha);

/* The batch's s_ij (cosine, Eq. 4) and pair weights a_ij (Eq. 16) of codes
 * z [B,l], by the loss's own code (the same s, log-sum-exp and pic_weight
 * as dsah_loss_forward): s, a [B,B] overwritten; ws: B*l + B reals (u and
 * ||z||). Forward only, for the report's Figure 5 (dsah-pairs). */
void dsah_pair_weights(real *s, real *a, real *ws, const real *z, int B, int l, double tau, pic_mode mode);

#endif
