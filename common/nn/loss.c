/* loss.c: the DSAH, SSDH and GreedyHash losses, forward and backward; the
 * formulas are in loss.h. The B x B part is small (B = 50), so it runs in
 * plain loops with double accumulation; the result is deterministic. */
#include "nn/loss.h"

#include <math.h>
#include <string.h>

#include "util/util.h"

#ifndef DSAH_REAL_DOUBLE
pic_mode pic_parse(const char *flag, const char *s) {
    if (!strcmp(s, "pic")) return PIC_PIC;
    if (!strcmp(s, "pic-minus")) return PIC_MINUS;
    if (!strcmp(s, "none")) return PIC_NONE;
    die("%s: '%s' is not one of pic, pic-minus, none", flag, s);
}

const char *pic_name(pic_mode m) {
    return m == PIC_PIC ? "pic" : m == PIC_MINUS ? "pic-minus" : "none";
}

quant_mode quant_parse(const char *flag, const char *s) {
    if (!strcmp(s, "z")) return QUANT_Z;
    if (!strcmp(s, "u")) return QUANT_U;
    die("%s: '%s' is not one of z, u", flag, s);
}

const char *quant_name(quant_mode q) { return q == QUANT_U ? "u" : "z"; }

double pic_weight(pic_mode mode, double lp) {
    return mode == PIC_PIC ? -lp : mode == PIC_MINUS ? -log1p(-exp(lp)) : 1.0;
}
#endif

int64_t dsah_loss_ws(int B, int l) {
    /* u [B,l], du [B,l], s [B,B], g [B,B], norms [B] */
    return 2 * (int64_t)B * l + 2 * (int64_t)B * B + B;
}

double batch_cosine(real *s, real *u, real *nrm, const real *z, int B, int l) {
    for (int i = 0; i < B; i++) {
        double q = 0;
        for (int k = 0; k < l; k++) q += (double)z[i * l + k] * z[i * l + k];
        double nr = sqrt(q > 1e-12 ? q : 1e-12);
        nrm[i] = (real)nr;
        for (int k = 0; k < l; k++) u[i * l + k] = (real)(z[i * l + k] / nr);
    }
    double dmax = -INFINITY;
    for (int i = 0; i < B; i++)
        for (int j = 0; j < B; j++) {
            double d = 0;
            for (int k = 0; k < l; k++) d += (double)u[i * l + k] * u[j * l + k];
            s[i * B + j] = (real)d;
            if (d > dmax) dmax = d;
        }
    return dmax;
}

/* batch_cosine, then lse = log sum_{g,k} exp(s_gk / tau) (Eq. 16's
 * normaliser), shifted by max_ij s_ij / tau from the cosines before rounding
 * (division by tau > 0 keeps their order, so this is the largest s_ij / tau).
 * Shared by the loss and dsah_pair_weights, so both see the same s and p. */
static double cosine_lse(real *s, real *u, real *nrm, const real *z, int B, int l, double tau) {
    const double mx = batch_cosine(s, u, nrm, z, B, l) / tau;
    double se = 0;
    for (int64_t t = 0; t < (int64_t)B * B; t++) se += exp(s[t] / tau - mx);
    return mx + log(se);
}

void dsah_pair_weights(real *s, real *a, real *ws, const real *z, int B, int l, double tau, pic_mode mode) {
    const double lse = cosine_lse(s, ws, ws + (int64_t)B * l, z, B, l, tau);
    for (int64_t t = 0; t < (int64_t)B * B; t++) a[t] = (real)pic_weight(mode, s[t] / tau - lse);
}

void dsah_loss_forward(loss_parts *out, real *ws, const real *z, const real *w,
                       int B, int l, double tau, double lambda, pic_mode mode, quant_mode qm) {
    real *u = ws, *s = u + 2 * (int64_t)B * l, *nrm = s + 2 * (int64_t)B * B;
    const double n2 = (double)B * B;
    const double lse = cosine_lse(s, u, nrm, z, B, l, tau);
    /* pair term and the sums that couple all entries of G */
    double pair = 0, esum = 0, ersum = 0;
    for (int64_t t = 0; t < (int64_t)B * B; t++) {
        const double lp = s[t] / tau - lse, p = exp(lp), d = (double)s[t] - w[t], e = d * d;
        pair += pic_weight(mode, lp) * e;
        esum += e;
        if (mode == PIC_MINUS) ersum += e * p / (1 - p);
    }
    double quant = 0;
    /* b = sgn(z) = sgn(u); the quantised value is z (QUANT_Z) or u (QUANT_U) */
    const real *qv = qm == QUANT_U ? u : z;
    for (int64_t t = 0; t < (int64_t)B * l; t++) {
        const double b = z[t] >= 0 ? 1.0 : -1.0, d = qv[t] - b;
        quant += d * d;
    }
    out->pair = pair / n2;
    out->quant = quant / ((double)B * l);
    out->total = out->pair + lambda * out->quant;
    out->lse = lse;
    out->esum = esum;
    out->ersum = ersum;
}

void dsah_loss_backward(real *dz, real *ws, const loss_parts *saved, const real *z, const real *w,
                        int B, int l, double tau, double lambda, pic_mode mode, quant_mode qm) {
    real *u = ws, *du = u + (int64_t)B * l, *s = du + (int64_t)B * l, *g = s + (int64_t)B * B,
         *nrm = g + (int64_t)B * B;
    const double n2 = (double)B * B, lse = saved->lse, esum = saved->esum, ersum = saved->ersum;
    for (int64_t t = 0; t < (int64_t)B * B; t++) {
        const double lp = s[t] / tau - lse, p = exp(lp), d = (double)s[t] - w[t], e = d * d;
        double gv;
        if (mode == PIC_PIC)
            gv = 2 * (-lp) * d - e / tau + p / tau * esum;
        else if (mode == PIC_MINUS)
            gv = 2 * (-log1p(-p)) * d + e * p / (tau * (1 - p)) - p / tau * ersum;
        else
            gv = 2 * d;
        g[t] = (real)(gv / n2);
    }
    /* du_i = sum_j (G_ij + G_ji) u_j */
    for (int i = 0; i < B; i++) {
        for (int k = 0; k < l; k++) du[i * l + k] = 0;
        for (int j = 0; j < B; j++) {
            const real c = g[i * B + j] + g[j * B + i];
            for (int k = 0; k < l; k++) du[i * l + k] += c * u[j * l + k];
        }
    }
    const double qs = 2 * lambda / ((double)B * l);
    if (qm == QUANT_U)
        for (int64_t t = 0; t < (int64_t)B * l; t++) du[t] += (real)(qs * (u[t] - (z[t] >= 0 ? 1.0 : -1.0)));
    for (int i = 0; i < B; i++) {
        double dot = 0;
        for (int k = 0; k < l; k++) dot += (double)u[i * l + k] * du[i * l + k];
        /* below the epsilon the norm is a constant: no projection */
        const int clamped = nrm[i] <= (real)1e-6;
        for (int k = 0; k < l; k++) {
            const int64_t t = (int64_t)i * l + k;
            double gz = clamped ? du[t] / nrm[i] : (du[t] - u[t] * dot) / nrm[i];
            const double b = z[t] >= 0 ? 1.0 : -1.0;
            dz[t] = (real)(qm == QUANT_Z ? gz + qs * (z[t] - b) : gz);
        }
    }
}

double ssdh_loss_forward(real *ws, const real *z, const real *s, const real *m, int B, int l) {
    real *r = ws; /* [B,B] m_ij r_ij */
    double loss = 0, count = 0;
    for (int i = 0; i < B; i++)
        for (int j = 0; j < B; j++) {
            double dot = 0;
            for (int k = 0; k < l; k++) dot += (double)z[(int64_t)i * l + k] * z[(int64_t)j * l + k];
            double e = (double)s[(int64_t)i * B + j] - dot / l, w = m[(int64_t)i * B + j];
            loss += w * e * e;
            count += w;
            r[(int64_t)i * B + j] = (real)(w * e);
        }
    const double C = count > 1 ? count : 1;
    return loss / C;
}

void ssdh_loss_backward(real *dz, const real *ws, const real *z, const real *m, int B, int l) {
    const real *r = ws;
    double count = 0; /* a sum of 0/1 values: exact, the forward's C */
    for (int64_t t = 0; t < (int64_t)B * B; t++) count += m[t];
    const double C = count > 1 ? count : 1;
    for (int i = 0; i < B; i++)
        for (int k = 0; k < l; k++) {
            double a = 0;
            for (int j = 0; j < B; j++)
                a += ((double)r[(int64_t)i * B + j] + r[(int64_t)j * B + i]) * z[(int64_t)j * l + k];
            dz[(int64_t)i * l + k] = (real)(-2.0 * a / ((double)l * C));
        }
}

int64_t greedyhash_loss_ws(int B, int64_t d) { return (int64_t)B * d + 2 * (int64_t)B * B; }

double greedyhash_loss_forward(real *ws, const real *u, const real *f, int B, int l, int64_t d, double alpha) {
    real *fn = ws, *cf = fn + (int64_t)B * d, *g = cf + (int64_t)B * B; /* unit features, cos(F), C_b - C_f */
    for (int i = 0; i < B; i++) {
        double s2 = 0;
        for (int64_t k = 0; k < d; k++) s2 += (double)f[(int64_t)i * d + k] * f[(int64_t)i * d + k];
        double inv = s2 > 0 ? 1.0 / sqrt(s2) : 0.0;
        for (int64_t k = 0; k < d; k++) fn[(int64_t)i * d + k] = (real)(f[(int64_t)i * d + k] * inv);
    }
    double fit = 0, pen = 0;
    for (int i = 0; i < B; i++)
        for (int j = 0; j < B; j++) {
            double c = 0, cb = 0;
            for (int64_t k = 0; k < d; k++) c += (double)fn[(int64_t)i * d + k] * fn[(int64_t)j * d + k];
            for (int k = 0; k < l; k++)
                cb += (u[(int64_t)i * l + k] >= 0 ? 1.0 : -1.0) * (u[(int64_t)j * l + k] >= 0 ? 1.0 : -1.0);
            cb /= l;
            cf[(int64_t)i * B + j] = (real)c;
            g[(int64_t)i * B + j] = (real)(cb - c);
            fit += (cb - c) * (cb - c);
        }
    for (int64_t i = 0; i < (int64_t)B * l; i++) {
        double e = fabs((double)u[i] - (u[i] >= 0 ? 1.0 : -1.0));
        pen += e * e * e;
    }
    const double bb = (double)B * B, bl = (double)B * l;
    return fit / bb + alpha * pen / bl;
}

void greedyhash_loss_backward(real *du, const real *ws, const real *u, int B, int l, int64_t d, double alpha) {
    const real *g = ws + (int64_t)B * d + (int64_t)B * B; /* C_b - C_f, after fn and cf */
    const double bb = (double)B * B, bl = (double)B * l;
    for (int i = 0; i < B; i++)
        for (int k = 0; k < l; k++) {
            double a = 0;
            for (int j = 0; j < B; j++)
                a += ((double)g[(int64_t)i * B + j] + g[(int64_t)j * B + i]) * (u[(int64_t)j * l + k] >= 0 ? 1.0 : -1.0);
            double x = u[(int64_t)i * l + k], e = x - (x >= 0 ? 1.0 : -1.0);
            du[(int64_t)i * l + k] = (real)(2.0 * a / (bb * l) + alpha / bl * 3.0 * e * fabs(e));
        }
}
