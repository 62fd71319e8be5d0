/* t_loss.c: the DSAH loss (loss.h) against an independent direct computation
 * of the formula, and its gradient against central finite differences, for
 * pic / pic-minus / none, with and without lambda. The double copy of
 * loss.c (nn/nn_double.h), h = 1e-6, tolerance max|fd - g| / max|g| <= 1e-6.
 * To show the check is sharp enough, the gradient of the loss with a_ij held
 * constant (the dropped da/ds term) must miss the tolerance by far. */
#include <math.h>
#include <stdlib.h>

#include "nn/nn_double.h"
#include "util/rng.h"
#include "util/util.h"
#include "tap.h"

#define TOL 1e-6
#define H_FD 1e-6
enum { B = 6, L = 5 };

/* Direct formula: p by plain exp sums (no log-sum-exp), a from p; when afix
 * is non-NULL a is taken from it instead (a held constant). */
static quant_mode QM = QUANT_Z;
static double naive(const double *z, const double *w, double tau, double lambda, pic_mode m, const double *afix,
                    double *a_out) {
    double u[B][L], s[B][B], tot = 0;
    for (int i = 0; i < B; i++) {
        double n = 0;
        for (int k = 0; k < L; k++) n += z[i * L + k] * z[i * L + k];
        for (int k = 0; k < L; k++) u[i][k] = z[i * L + k] / sqrt(n);
    }
    for (int i = 0; i < B; i++)
        for (int j = 0; j < B; j++) {
            s[i][j] = 0;
            for (int k = 0; k < L; k++) s[i][j] += u[i][k] * u[j][k];
            tot += exp(s[i][j] / tau);
        }
    double pair = 0, q = 0;
    for (int i = 0; i < B; i++)
        for (int j = 0; j < B; j++) {
            double p = exp(s[i][j] / tau) / tot;
            double a = m == PIC_PIC ? -log(p) : m == PIC_MINUS ? -log(1 - p) : 1;
            if (afix) a = afix[i * B + j];
            if (a_out) a_out[i * B + j] = a;
            pair += a * (s[i][j] - w[i * B + j]) * (s[i][j] - w[i * B + j]);
        }
    for (int t = 0; t < B * L; t++) {
        double b = z[t] >= 0 ? 1 : -1, v = QM == QUANT_U ? u[t / L][t % L] : z[t];
        q += (v - b) * (v - b);
    }
    return pair / (B * B) + lambda * q / (B * L);
}

int main(void) {
    rng R;
    rng_seed(&R, 7);
    double z[B * L], w[B * B], dz[B * L], afix[B * B], fd[B * L], fd_fix[B * L];
    double *ws = xmalloc(sizeof(double) * dsah_loss_ws_d(B, L));
    for (int t = 0; t < B * L; t++) z[t] = 1.8 * rng_uniform(&R) - 0.9;
    for (int i = 0; i < B; i++)
        for (int j = 0; j <= i; j++) w[i * B + j] = w[j * B + i] = (i == j || rng_uniform(&R) < 0.4) ? 1 : -1;
    const char *mn[3] = {"pic", "pic-minus", "none"};
    const double taus[3] = {0.5, 1.0, 2.0};
    for (int m = 0; m < 3; m++)
        for (int li = 0; li < 3; li++) {
            double lambda = li ? 0.7 : 0, tau = taus[m];
            QM = li == 2 ? QUANT_U : QUANT_Z;
            loss_parts lp;
            dsah_loss_forward_d(&lp, ws, z, w, B, L, tau, lambda, (pic_mode)m, QM);
            dsah_loss_backward_d(dz, ws, &lp, z, w, B, L, tau, lambda, (pic_mode)m, QM);
            double ref = naive(z, w, tau, lambda, (pic_mode)m, NULL, afix);
            ok(fabs(lp.total - ref) < 1e-12 * fmax(1, fabs(ref)) &&
                   fabs(lp.pair + lambda * lp.quant - lp.total) < 1e-15,
               "%s lambda=%g quant on %s, tau=%g: loss %.10f == direct formula %.10f", mn[m], lambda, quant_name(QM), tau, lp.total, ref);
            for (int t = 0; t < B * L; t++) {
                double s = z[t];
                z[t] = s + H_FD;
                double fp = naive(z, w, tau, lambda, (pic_mode)m, NULL, NULL);
                double fpf = naive(z, w, tau, lambda, (pic_mode)m, afix, NULL);
                z[t] = s - H_FD;
                double fm = naive(z, w, tau, lambda, (pic_mode)m, NULL, NULL);
                double fmf = naive(z, w, tau, lambda, (pic_mode)m, afix, NULL);
                z[t] = s;
                fd[t] = (fp - fm) / (2 * H_FD);
                fd_fix[t] = (fpf - fmf) / (2 * H_FD);
            }
            double e = 0, ef = 0, sc = 0;
            for (int t = 0; t < B * L; t++) {
                e = fmax(e, fabs(fd[t] - dz[t]));
                ef = fmax(ef, fabs(fd_fix[t] - dz[t]));
                sc = fmax(sc, fabs(dz[t]));
            }
            ok(e / sc < TOL, "%s lambda=%g quant on %s: dL/dz vs finite differences, rel err %.2g (tol %g)", mn[m], lambda, quant_name(QM),
               e / sc, TOL);
            if (m != PIC_NONE)
                ok(ef / sc > 1000 * TOL,
                   "%s lambda=%g quant on %s: the check is sharp: without da/ds the error would be %.2g (> 1000 tol)",
                   mn[m], lambda, quant_name(QM), ef / sc);
        }
    /* forward only, and a flipped W give a different, larger pair loss */
    QM = QUANT_Z;
    loss_parts a, b;
    dsah_loss_forward_d(&a, ws, z, w, B, L, 1.0, 0, PIC_NONE, QUANT_Z);
    double wn[B * B];
    for (int t = 0; t < B * B; t++) wn[t] = -w[t];
    dsah_loss_forward_d(&b, ws, z, wn, B, L, 1.0, 0, PIC_NONE, QUANT_Z);
    ok(a.pair != b.pair, "the pair term depends on W (%.4f vs %.4f with W negated)", a.pair, b.pair);
    /* perfect codes: z = +-1 agreeing with a W of two clusters, no quantisation error */
    double zc[B * L], wc[B * B];
    for (int i = 0; i < B; i++)
        for (int k = 0; k < L; k++) zc[i * L + k] = (i < 3) ? 1 : -1;
    for (int i = 0; i < B; i++)
        for (int j = 0; j < B; j++) wc[i * B + j] = ((i < 3) == (j < 3)) ? 1 : -1;
    dsah_loss_forward_d(&a, ws, zc, wc, B, L, 1.0, 1.0, PIC_PIC, QUANT_Z);
    ok(fabs(a.total) < 1e-15, "codes matching W exactly have loss 0 (%.2g)", a.total);
    /* quant on u: u = +-1/sqrt(L), so each entry contributes (1 - 1/sqrt(L))^2 */
    dsah_loss_forward_d(&a, ws, zc, wc, B, L, 1.0, 1.0, PIC_PIC, QUANT_U);
    double qu = (1 - 1 / sqrt(L)) * (1 - 1 / sqrt(L));
    ok(fabs(a.quant - qu) < 1e-15, "quant on u of +-1 codes: %.6f == (1 - 1/sqrt(5))^2 = %.6f", a.quant, qu);
    free(ws);
    return done_testing();
}
