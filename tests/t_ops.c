/* t_ops.c: every op, declared once with its shapes, run on every backend
 * (tests/ops_backend.h) and held to an independent reference, in the style
 * of ggml's test-backend-ops.
 *
 * Per op case: the inputs are drawn once (seeded), the reference outputs are
 * computed once in double, by the double copy of the layers and losses
 * (nn/nn_double.h; that copy is itself checked against brute-force loops and
 * finite differences in t_layers.c and t_loss.c) or by plain loops written
 * here (Adam, the sign packing, Hamming distances). Then for each backend:
 * the outputs are poisoned (NaN for reals; for bytes and counts two runs,
 * filled with all ones and with zeros first, so that no value an op may
 * legitimately write hides an unwritten element), the backend's function is
 * called on host buffers, and each output is compared with the reference:
 * reals by the normalised error ||out - ref|| / ||ref|| against the op's
 * tolerance for the backend's precision, integers exactly. One TAP line per
 * (op case, backend); a backend that is not built, not available here (no
 * GPU) or lacks the op gets `ok N # skip <why>`, so the count is the same on
 * every machine.
 *
 * Tolerances (fp32 / tf32 / bf16): fp32 is what a float evaluation of the
 * same formula reaches against double on these shapes, with a margin for
 * other summation orders (BLAS kernels, GPU reductions): 1e-5 for ops that
 * sum (conv, fc, the loss), 1e-6 for element-wise ops and Adam (the
 * forward conv's Winograd path, whose transforms amplify rounding, reaches
 * 4e-6 at C = 512 with inputs and weights uniform in [-1, 1]; im2col 1e-7); tf32 and bf16 are
 * issue 13's 1e-3 and 1e-2 levels for the ops that go through tensor cores,
 * the fp32 level for element-wise ops, which stay in fp32 there. */
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/nn_double.h"
#include "ops_backend.h"
#include "util/bits.h"
#include "util/rng.h"
#include "util/util.h"
#include "tap.h"

typedef enum { F32, F64, U8, U32 } ttype;
/* IN: filled, not compared; OUT: poisoned, compared; INOUT: filled,
 * compared; WS: poisoned, not compared. */
typedef enum { IN, OUT, INOUT, WS } tkind;
/* inputs: uniform in [lo, hi]; +-1; integers lo..hi; uniform with exact
 * +0.0 and -0.0 among them */
typedef enum { G_UNIFORM, G_SIGN, G_INT, G_ZEROS } tgen;

typedef struct tspec {
    const char *name;
    tkind kind;
    ttype type;
    int64_t n;
    tgen gen;
    double lo, hi;
} tspec;

enum { MAXT = 8 };
typedef struct op_case op_case;
struct op_case {
    const char *op;        /* the function's name: its field in ops_backend */
    size_t fn, fn2;        /* offsetof(ops_backend, op); fn2 another op the run needs (0: none) */
    char shape[112];       /* printed */
    int64_t d[8];          /* sizes, per op */
    double p[4];           /* parameters, per op */
    int nt;
    tspec t[MAXT];         /* in the op's argument order */
    double tol[OPS_PRECISIONS];
    /* run: the backend's op on host buffers t[i] (float, double, uint8_t,
     * uint32_t by type); ref: the reference on r[i] (double for F32/F64,
     * the tensor's own type otherwise), inputs already filled */
    void (*run)(const ops_backend *b, const op_case *c, void **t);
    void (*ref)(const op_case *c, void **r);
};

#define F(i) ((float *)t[i])
#define D(i) ((double *)r[i])
#define I(k) ((int)c->d[k])
static const double TOL_SUM[OPS_PRECISIONS] = {1e-5, 1e-3, 1e-2};
static const double TOL_EW[OPS_PRECISIONS] = {1e-6, 1e-6, 1e-2};
static const double TOL_EXACT[OPS_PRECISIONS] = {0, 0, 0};

static tspec T(const char *name, tkind kind, ttype type, int64_t n) {
    return (tspec){name, kind, type, n, G_UNIFORM, -1, 1};
}
static tspec TG(const char *name, tkind kind, ttype type, int64_t n, tgen gen, double lo, double hi) {
    return (tspec){name, kind, type, n, gen, lo, hi};
}

/* The backward case of forward case f: the same sizes, parameters, shape
 * text and tolerances; its own op, tensors (nt of t), run and ref. */
static op_case backward_of(const op_case *f, const char *op, size_t fn, int nt, const tspec *t,
                           void (*run)(const ops_backend *, const op_case *, void **),
                           void (*ref)(const op_case *, void **)) {
    op_case g = *f;
    g.op = op;
    g.fn = fn;
    g.nt = nt;
    memcpy(g.t, t, sizeof(tspec) * (size_t)nt);
    g.run = run;
    g.ref = ref;
    return g;
}

/* ---- layers (nn.h) -------------------------------------------------------- */

static void run_conv_fwd(const ops_backend *b, const op_case *c, void **t) {
    b->conv3x3_forward(F(0), F(1), F(2), F(3), F(4), I(0), I(1), I(2), I(3), I(4), c->d[5]);
}
static void ref_conv_fwd(const op_case *c, void **r) {
    conv3x3_forward_d(D(0), D(1), D(2), D(3), D(4), I(0), I(1), I(2), I(3), I(4), c->d[5]);
}
static void run_conv_bwd(const ops_backend *b, const op_case *c, void **t) {
    b->conv3x3_backward(F(0), F(1), F(2), F(3), F(4), F(5), F(6), I(0), I(1), I(2), I(3), I(4), c->d[5]);
}
static void ref_conv_bwd(const op_case *c, void **r) {
    conv3x3_backward_d(D(0), D(1), D(2), D(3), D(4), D(5), D(6), I(0), I(1), I(2), I(3), I(4), c->d[5]);
}
/* x [B,C,H,W], K filters, a workspace of nb images, or (nb = 0) the
 * workspace of the forward's Winograd path (nn.h) */
static void add_conv(op_case *cs, int *nc, int B, int C, int H, int W, int K, int nb) {
    int64_t wsl = conv3x3_ws_per_image(C, H, W, K) * (nb ? nb : 1);
    if (!nb && conv3x3_ws_winograd(B, C, H, W, K) > wsl) wsl = conv3x3_ws_winograd(B, C, H, W, K);
    const int64_t nx = (int64_t)B * C * H * W, ny = (int64_t)B * K * H * W, nw = (int64_t)K * C * 9;
    op_case f = {.op = "conv3x3_forward", .fn = offsetof(ops_backend, conv3x3_forward), .d = {B, C, H, W, K, wsl},
                 .nt = 5, .t = {T("y", OUT, F32, ny), T("ws", WS, F32, wsl), T("x", IN, F32, nx),
                                T("w", IN, F32, nw), T("b", IN, F32, K)},
                 .run = run_conv_fwd, .ref = ref_conv_fwd};
    memcpy(f.tol, TOL_SUM, sizeof f.tol);
    if (nb)
        snprintf(f.shape, sizeof f.shape, "x [%d,%d,%d,%d], K = %d, %d image(s) per chunk", B, C, H, W, K, nb);
    else
        snprintf(f.shape, sizeof f.shape, "x [%d,%d,%d,%d], K = %d, Winograd workspace", B, C, H, W, K);
    const tspec bt[] = {T("dx", OUT, F32, nx), T("dw", OUT, F32, nw), T("db", OUT, F32, K), T("ws", WS, F32, wsl),
                        T("dy", IN, F32, ny), T("x", IN, F32, nx), T("w", IN, F32, nw)};
    op_case g = backward_of(&f, "conv3x3_backward", offsetof(ops_backend, conv3x3_backward), 7, bt, run_conv_bwd,
                            ref_conv_bwd);
    cs[(*nc)++] = f;
    cs[(*nc)++] = g;
}

static void run_pool_fwd(const ops_backend *b, const op_case *c, void **t) {
    b->maxpool2_forward(F(0), t[1], F(2), I(0), I(1), I(2), I(3));
}
static void ref_pool_fwd(const op_case *c, void **r) { maxpool2_forward_d(D(0), r[1], D(2), I(0), I(1), I(2), I(3)); }
static void run_pool_bwd(const ops_backend *b, const op_case *c, void **t) {
    b->maxpool2_backward(F(0), t[1], F(2), I(0), I(1), I(2), I(3));
}
static void ref_pool_bwd(const op_case *c, void **r) { maxpool2_backward_d(D(0), r[1], D(2), I(0), I(1), I(2), I(3)); }
static void add_pool(op_case *cs, int *nc, int B, int C, int H, int W) {
    const int64_t nx = (int64_t)B * C * H * W, ny = (int64_t)B * C * (H / 2) * (W / 2);
    op_case f = {.op = "maxpool2_forward", .fn = offsetof(ops_backend, maxpool2_forward), .d = {B, C, H, W},
                 .nt = 3, .t = {T("y", OUT, F32, ny), T("arg", OUT, U8, ny), T("x", IN, F32, nx)},
                 .run = run_pool_fwd, .ref = ref_pool_fwd};
    memcpy(f.tol, TOL_EW, sizeof f.tol);
    snprintf(f.shape, sizeof f.shape, "x [%d,%d,%d,%d]", B, C, H, W);
    const tspec bt[] = {T("dx", OUT, F32, nx), TG("arg", IN, U8, ny, G_INT, 0, 3), T("dy", IN, F32, ny)};
    op_case g = backward_of(&f, "maxpool2_backward", offsetof(ops_backend, maxpool2_backward), 3, bt, run_pool_bwd,
                            ref_pool_bwd);
    cs[(*nc)++] = f;
    cs[(*nc)++] = g;
}

static void run_fc_fwd(const ops_backend *b, const op_case *c, void **t) {
    b->fc_forward(F(0), F(1), F(2), F(3), I(0), I(1), I(2));
}
static void ref_fc_fwd(const op_case *c, void **r) { fc_forward_d(D(0), D(1), D(2), D(3), I(0), I(1), I(2)); }
static void run_fc_bwd(const ops_backend *b, const op_case *c, void **t) {
    b->fc_backward(F(0), F(1), F(2), F(3), F(4), F(5), I(0), I(1), I(2));
}
static void ref_fc_bwd(const op_case *c, void **r) {
    fc_backward_d(D(0), D(1), D(2), D(3), D(4), D(5), I(0), I(1), I(2));
}
static void add_fc(op_case *cs, int *nc, int B, int in, int out) {
    const int64_t nx = (int64_t)B * in, ny = (int64_t)B * out, nw = (int64_t)out * in;
    op_case f = {.op = "fc_forward", .fn = offsetof(ops_backend, fc_forward), .d = {B, in, out}, .nt = 4,
                 .t = {T("y", OUT, F32, ny), T("x", IN, F32, nx), T("w", IN, F32, nw), T("b", IN, F32, out)},
                 .run = run_fc_fwd, .ref = ref_fc_fwd};
    memcpy(f.tol, TOL_SUM, sizeof f.tol);
    snprintf(f.shape, sizeof f.shape, "x [%d,%d] -> [%d,%d]", B, in, B, out);
    const tspec bt[] = {T("dx", OUT, F32, nx), T("dw", OUT, F32, nw), T("db", OUT, F32, out),
                        T("dy", IN, F32, ny),  T("x", IN, F32, nx),   T("w", IN, F32, nw)};
    op_case g = backward_of(&f, "fc_backward", offsetof(ops_backend, fc_backward), 6, bt, run_fc_bwd, ref_fc_bwd);
    cs[(*nc)++] = f;
    cs[(*nc)++] = g;
}

/* element-wise: d[0] = n; dropout: p[0] = p, d[1] = seed, d[2] = step */
static void run_relu_fwd(const ops_backend *b, const op_case *c, void **t) { b->relu_forward(F(0), F(1), c->d[0]); }
static void ref_relu_fwd(const op_case *c, void **r) { relu_forward_d(D(0), D(1), c->d[0]); }
static void run_relu_bwd(const ops_backend *b, const op_case *c, void **t) {
    b->relu_backward(F(0), F(1), F(2), c->d[0]);
}
static void ref_relu_bwd(const op_case *c, void **r) { relu_backward_d(D(0), D(1), D(2), c->d[0]); }
static void run_tanh_fwd(const ops_backend *b, const op_case *c, void **t) { b->tanh_forward(F(0), F(1), c->d[0]); }
static void ref_tanh_fwd(const op_case *c, void **r) { tanh_forward_d(D(0), D(1), c->d[0]); }
static void run_tanh_bwd(const ops_backend *b, const op_case *c, void **t) {
    b->tanh_backward(F(0), F(1), F(2), c->d[0]);
}
static void ref_tanh_bwd(const op_case *c, void **r) { tanh_backward_d(D(0), D(1), D(2), c->d[0]); }
static void run_drop_fwd(const ops_backend *b, const op_case *c, void **t) {
    b->dropout_forward(F(0), F(1), c->d[0], (float)c->p[0], (uint64_t)c->d[1], (uint64_t)c->d[2]);
}
static void ref_drop_fwd(const op_case *c, void **r) {
    dropout_forward_d(D(0), D(1), c->d[0], (float)c->p[0], (uint64_t)c->d[1], (uint64_t)c->d[2]);
}
static void run_drop_bwd(const ops_backend *b, const op_case *c, void **t) {
    b->dropout_backward(F(0), F(1), c->d[0], (float)c->p[0], (uint64_t)c->d[1], (uint64_t)c->d[2]);
}
static void ref_drop_bwd(const op_case *c, void **r) {
    dropout_backward_d(D(0), D(1), c->d[0], (float)c->p[0], (uint64_t)c->d[1], (uint64_t)c->d[2]);
}
static void add_elementwise(op_case *cs, int *nc, int64_t n) {
    /* backward inputs: y the forward output (relu: >= 0 with zeros among
     * them; tanh: in (-1, 1)), dy */
    const struct {
        const char *op;
        size_t fn;
        int bwd;
        void (*run)(const ops_backend *, const op_case *, void **);
        void (*ref)(const op_case *, void **);
        double ylo;
    } e[6] = {
        {"relu_forward", offsetof(ops_backend, relu_forward), 0, run_relu_fwd, ref_relu_fwd, 0},
        {"relu_backward", offsetof(ops_backend, relu_backward), 1, run_relu_bwd, ref_relu_bwd, 0},
        {"tanh_forward", offsetof(ops_backend, tanh_forward), 0, run_tanh_fwd, ref_tanh_fwd, 0},
        {"tanh_backward", offsetof(ops_backend, tanh_backward), 1, run_tanh_bwd, ref_tanh_bwd, -0.99},
        {"dropout_forward", offsetof(ops_backend, dropout_forward), 0, run_drop_fwd, ref_drop_fwd, 0},
        {"dropout_backward", offsetof(ops_backend, dropout_backward), 0, run_drop_bwd, ref_drop_bwd, 0},
    };
    for (int k = 0; k < 6; k++) {
        op_case c = {.op = e[k].op, .fn = e[k].fn, .d = {n, 1234, 7}, .p = {0.3}, .run = e[k].run, .ref = e[k].ref};
        memcpy(c.tol, TOL_EW, sizeof c.tol);
        if (e[k].bwd) {
            c.nt = 3;
            c.t[0] = T("dx", OUT, F32, n);
            c.t[1] = k == 1 ? TG("y", IN, F32, n, G_ZEROS, 0, 2) : TG("y", IN, F32, n, G_UNIFORM, e[k].ylo, 0.99);
            c.t[2] = T("dy", IN, F32, n);
        } else {
            c.nt = 2;
            c.t[0] = T(k == 5 ? "dx" : "y", OUT, F32, n);
            c.t[1] = TG(k == 5 ? "dy" : "x", IN, F32, n, k == 0 ? G_ZEROS : G_UNIFORM, -3, 3);
        }
        if (k >= 4)
            snprintf(c.shape, sizeof c.shape, "n = %lld, p = 0.3, seed 1234, step 7", (long long)n);
        else
            snprintf(c.shape, sizeof c.shape, "n = %lld", (long long)n);
        cs[(*nc)++] = c;
    }
}

/* ---- the loss (loss.h) ---------------------------------------------------- */

static void run_cosine(const ops_backend *b, const op_case *c, void **t) {
    ((double *)t[3])[0] = b->batch_cosine(F(0), F(1), F(2), F(4), I(0), I(1));
}
static void ref_cosine(const op_case *c, void **r) { D(3)[0] = batch_cosine_d(D(0), D(1), D(2), D(4), I(0), I(1)); }
static void add_cosine(op_case *cs, int *nc, int B, int l) {
    op_case c = {.op = "batch_cosine", .fn = offsetof(ops_backend, batch_cosine), .d = {B, l}, .nt = 5,
                 .t = {T("s", OUT, F32, (int64_t)B * B), T("u", OUT, F32, (int64_t)B * l), T("nrm", OUT, F32, B),
                       T("max s", OUT, F64, 1), TG("z", IN, F32, (int64_t)B * l, G_UNIFORM, -0.95, 0.95)},
                 .run = run_cosine, .ref = ref_cosine};
    memcpy(c.tol, TOL_SUM, sizeof c.tol);
    snprintf(c.shape, sizeof c.shape, "z [%d,%d]", B, l);
    cs[(*nc)++] = c;
}

/* d = {B, l}, p = {tau, lambda, mode, quant}; tensors: out, ws, z, w */
static void run_loss_fwd(const ops_backend *b, const op_case *c, void **t) {
    double *parts = t[0];
    loss_parts lp = {.total = parts[0], .pair = parts[1], .quant = parts[2]}; /* the poison */
    b->dsah_loss_forward(&lp, F(1), F(2), F(3), I(0), I(1), c->p[0], c->p[1], (pic_mode)c->p[2],
                         (quant_mode)c->p[3]);
    parts[0] = lp.total;
    parts[1] = lp.pair;
    parts[2] = lp.quant;
}
static void ref_loss_fwd(const op_case *c, void **r) {
    loss_parts lp;
    dsah_loss_forward_d(&lp, D(1), D(2), D(3), I(0), I(1), c->p[0], c->p[1], (pic_mode)c->p[2],
                        (quant_mode)c->p[3]);
    D(0)[0] = lp.total;
    D(0)[1] = lp.pair;
    D(0)[2] = lp.quant;
}
static void run_loss_bwd(const ops_backend *b, const op_case *c, void **t) {
    loss_parts lp;
    b->dsah_loss_forward(&lp, F(1), F(2), F(3), I(0), I(1), c->p[0], c->p[1], (pic_mode)c->p[2],
                         (quant_mode)c->p[3]);
    b->dsah_loss_backward(F(0), F(1), &lp, F(2), F(3), I(0), I(1), c->p[0], c->p[1], (pic_mode)c->p[2],
                          (quant_mode)c->p[3]);
}
static void ref_loss_bwd(const op_case *c, void **r) {
    loss_parts lp;
    dsah_loss_forward_d(&lp, D(1), D(2), D(3), I(0), I(1), c->p[0], c->p[1], (pic_mode)c->p[2],
                        (quant_mode)c->p[3]);
    dsah_loss_backward_d(D(0), D(1), &lp, D(2), D(3), I(0), I(1), c->p[0], c->p[1], (pic_mode)c->p[2],
                         (quant_mode)c->p[3]);
}
static void add_loss(op_case *cs, int *nc, int B, int l, double tau, double lambda, pic_mode m, quant_mode q) {
    const int64_t wsl = dsah_loss_ws(B, l);
    op_case f = {.op = "dsah_loss_forward", .fn = offsetof(ops_backend, dsah_loss_forward), .d = {B, l},
                 .p = {tau, lambda, m, q}, .nt = 4,
                 .t = {T("total,pair,quant", OUT, F64, 3), T("ws", WS, F32, wsl),
                       TG("z", IN, F32, (int64_t)B * l, G_UNIFORM, -0.95, 0.95),
                       TG("w", IN, F32, (int64_t)B * B, G_SIGN, -1, 1)},
                 .run = run_loss_fwd, .ref = ref_loss_fwd};
    memcpy(f.tol, TOL_SUM, sizeof f.tol);
    snprintf(f.shape, sizeof f.shape, "z [%d,%d], %s, quant on %s, tau %g, lambda %g", B, l, pic_name(m),
             quant_name(q), tau, lambda);
    tspec bt[4];
    memcpy(bt, f.t, sizeof bt);
    bt[0] = T("dz", OUT, F32, (int64_t)B * l);
    op_case g = backward_of(&f, "dsah_loss_backward", offsetof(ops_backend, dsah_loss_backward), 4, bt, run_loss_bwd,
                            ref_loss_bwd);
    g.fn2 = offsetof(ops_backend, dsah_loss_forward);
    cs[(*nc)++] = f;
    cs[(*nc)++] = g;
}

/* ---- Adam (adam.h), reference by plain loops of its formula ----------------
 * d = {n, t before the step}, p = {lr, eps}; tensors: theta, m, v (in/out),
 * g, t after the step. */
static void run_adam(const ops_backend *b, const op_case *c, void **t) {
    adam a = {.n = c->d[0], .m = F(1), .v = F(2), .t = c->d[1], .b1 = 0.9, .b2 = 0.999, .eps = c->p[1]};
    b->adam_step(&a, F(0), F(3), c->p[0]);
    ((uint32_t *)t[4])[0] = (uint32_t)a.t;
}
static void ref_adam(const op_case *c, void **r) {
    const double b1 = 0.9, b2 = 0.999, t1 = (double)c->d[1] + 1;
    const double lrt = c->p[0] * sqrt(1 - pow(b2, t1)) / (1 - pow(b1, t1));
    for (int64_t i = 0; i < c->d[0]; i++) {
        const double g = D(3)[i];
        D(1)[i] = b1 * D(1)[i] + (1 - b1) * g;
        D(2)[i] = b2 * D(2)[i] + (1 - b2) * g * g;
        D(0)[i] -= lrt * D(1)[i] / (sqrt(D(2)[i]) + c->p[1]);
    }
    ((uint32_t *)r[4])[0] = (uint32_t)t1;
}
static void add_adam(op_case *cs, int *nc, int64_t n, int64_t t, double lr, double eps) {
    op_case c = {.op = "adam_step", .fn = offsetof(ops_backend, adam_step), .d = {n, t}, .p = {lr, eps}, .nt = 5,
                 .t = {T("theta", INOUT, F32, n), TG("m", INOUT, F32, n, G_UNIFORM, -0.1, 0.1),
                       TG("v", INOUT, F32, n, G_UNIFORM, 0, 0.01), T("g", IN, F32, n), T("t", OUT, U32, 1)},
                 .run = run_adam, .ref = ref_adam};
    memcpy(c.tol, TOL_EW, sizeof c.tol);
    snprintf(c.shape, sizeof c.shape, "n = %lld, step %lld -> %lld, lr %g, eps %g", (long long)n, (long long)t,
             (long long)t + 1, lr, eps);
    cs[(*nc)++] = c;
}

/* ---- codes and distances, reference by plain loops bit by bit -------------- */

/* d = {n, nbits}; tensors: out [n, ceil(nbits/8)], x [n, nbits] */
static void run_pack(const ops_backend *b, const op_case *c, void **t) {
    b->bits_pack_signs(t[0], F(1), c->d[0], c->d[1]);
}
static void ref_pack(const op_case *c, void **r) {
    const int64_t rb = bits_row_bytes(c->d[1]);
    uint8_t *out = r[0];
    for (int64_t i = 0; i < c->d[0]; i++)
        for (int64_t byte = 0; byte < rb; byte++) {
            unsigned v = 0;
            for (int bit = 0; bit < 8; bit++) {
                const int64_t k = byte * 8 + bit;
                /* sgn(0) = +1, for -0.0 too; the padding bits are 0 */
                if (k < c->d[1] && !(D(1)[i * c->d[1] + k] < 0)) v |= 1u << bit;
            }
            out[i * rb + byte] = (uint8_t)v;
        }
}
static void add_pack(op_case *cs, int *nc, int64_t n, int64_t nbits) {
    op_case c = {.op = "bits_pack_signs", .fn = offsetof(ops_backend, bits_pack_signs), .d = {n, nbits}, .nt = 2,
                 .t = {T("codes", OUT, U8, n * bits_row_bytes(nbits)), TG("x", IN, F32, n * nbits, G_ZEROS, -1, 1)},
                 .run = run_pack, .ref = ref_pack};
    memcpy(c.tol, TOL_EXACT, sizeof c.tol);
    snprintf(c.shape, sizeof c.shape, "x [%lld,%lld] (+0 and -0 among them)", (long long)n, (long long)nbits);
    cs[(*nc)++] = c;
}

/* d = {n, row_bytes, bits}; tensors: cnt [bits+1], dist [n], codes, q */
static void run_hamming(const ops_backend *b, const op_case *c, void **t) {
    b->hamming_query(t[0], t[1], t[2], c->d[0], c->d[1], I(2), t[3]);
}
static void ref_hamming(const op_case *c, void **r) {
    uint32_t *cnt = r[0];
    uint8_t *dist = r[1];
    const uint8_t *codes = r[2], *q = r[3];
    memset(cnt, 0, sizeof(uint32_t) * (size_t)(c->d[2] + 1));
    for (int64_t j = 0; j < c->d[0]; j++) {
        int dd = 0;
        for (int k = 0; k < c->d[2]; k++) dd += bits_get(codes + j * c->d[1], k) != bits_get(q, k);
        dist[j] = (uint8_t)dd;
        cnt[dd]++;
    }
}
static void add_hamming(op_case *cs, int *nc, int64_t n, int bits) {
    const int64_t rb = bits / 8; /* whole bytes: no padding bits to keep zero in random codes */
    op_case c = {.op = "hamming_query", .fn = offsetof(ops_backend, hamming_query), .d = {n, rb, bits}, .nt = 4,
                 .t = {T("cnt", OUT, U32, bits + 1), T("dist", OUT, U8, n), TG("codes", IN, U8, n * rb, G_INT, 0, 255),
                       TG("q", IN, U8, rb, G_INT, 0, 255)},
                 .run = run_hamming, .ref = ref_hamming};
    memcpy(c.tol, TOL_EXACT, sizeof c.tol);
    snprintf(c.shape, sizeof c.shape, "%lld codes of %d bits", (long long)n, bits);
    cs[(*nc)++] = c;
}

/* ---- the harness ------------------------------------------------------------ */

static size_t tsize(ttype y) { return y == F32 ? 4 : y == F64 ? 8 : y == U8 ? 1 : 4; }
static size_t rsize(ttype y) { return y == F32 || y == F64 ? 8 : tsize(y); }

/* inputs in the backends' type, drawn once per case */
static void fill(void *p, const tspec *s, rng *g) {
    for (int64_t i = 0; i < s->n; i++) {
        double v = s->gen == G_SIGN   ? (rng_uniform(g) < 0.5 ? -1.0 : 1.0)
                   : s->gen == G_INT ? floor(s->lo + rng_uniform(g) * (s->hi - s->lo + 1))
                                      : s->lo + rng_uniform(g) * (s->hi - s->lo);
        if (s->gen == G_INT && v > s->hi) v = s->hi;
        if (s->gen == G_ZEROS && i % 5 == 0) v = i % 10 ? -0.0 : 0.0;
        switch (s->type) {
        case F32: ((float *)p)[i] = (float)v; break;
        case F64: ((double *)p)[i] = v; break;
        case U8: ((uint8_t *)p)[i] = (uint8_t)v; break;
        case U32: ((uint32_t *)p)[i] = (uint32_t)v; break;
        }
    }
}

/* the same values for the reference: reals widened to double */
static void widen(void *r, const void *p, const tspec *s) {
    if (s->type == F32)
        for (int64_t i = 0; i < s->n; i++) ((double *)r)[i] = ((const float *)p)[i];
    else
        memcpy(r, p, (size_t)s->n * tsize(s->type));
}

static void poison(void *p, const tspec *s, int pass) {
    if (s->type == F32)
        for (int64_t i = 0; i < s->n; i++) ((float *)p)[i] = NAN;
    else if (s->type == F64)
        for (int64_t i = 0; i < s->n; i++) ((double *)p)[i] = NAN;
    else
        memset(p, pass ? 0x00 : 0xFF, (size_t)s->n * tsize(s->type));
}

/* normalised error of a real output (infinite for a NaN); for integers the
 * number of elements that differ */
static double out_err(const void *p, const void *r, const tspec *s) {
    if (s->type == U8 || s->type == U32) {
        int64_t bad = 0;
        for (int64_t i = 0; i < s->n; i++)
            bad += s->type == U8 ? ((const uint8_t *)p)[i] != ((const uint8_t *)r)[i]
                                 : ((const uint32_t *)p)[i] != ((const uint32_t *)r)[i];
        return (double)bad;
    }
    double d2 = 0, r2 = 0;
    for (int64_t i = 0; i < s->n; i++) {
        const double v = s->type == F32 ? ((const float *)p)[i] : ((const double *)p)[i], w = ((const double *)r)[i];
        d2 += (v - w) * (v - w);
        r2 += w * w;
    }
    if (!(d2 == d2)) return INFINITY;
    return d2 == 0 ? 0 : r2 == 0 ? INFINITY : sqrt(d2 / r2);
}

static int has_op(const ops_backend *b, size_t fn) {
    void (*f)(void);
    memcpy(&f, (const char *)b + fn, sizeof f);
    return f != NULL;
}

/* One case on one backend: two runs when it has integer outputs (poisoned
 * with ones, then zeros), one otherwise; returns the check's result. */
static int check(const op_case *c, const ops_backend *b, void *const *in, void *const *ref) {
    int has_int = 0;
    for (int i = 0; i < c->nt; i++)
        has_int |= (c->t[i].kind == OUT || c->t[i].kind == INOUT) && (c->t[i].type == U8 || c->t[i].type == U32);
    const double tol = c->tol[b->precision];
    double worst[MAXT] = {0};
    for (int pass = 0; pass < 1 + has_int; pass++) {
        void *t[MAXT];
        for (int i = 0; i < c->nt; i++) {
            const tspec *s = &c->t[i];
            t[i] = xaligned((size_t)(s->n > 0 ? s->n : 1) * tsize(s->type));
            if (s->kind == IN || s->kind == INOUT) memcpy(t[i], in[i], (size_t)s->n * tsize(s->type));
            else poison(t[i], s, pass);
        }
        c->run(b, c, t);
        for (int i = 0; i < c->nt; i++) {
            if (c->t[i].kind == OUT || c->t[i].kind == INOUT) {
                double e = out_err(t[i], ref[i], &c->t[i]);
                if (!(e <= worst[i])) worst[i] = e;
            }
        }
        for (int i = 0; i < c->nt; i++) free(t[i]);
    }
    char msg[256];
    int pass_all = 1, len = 0;
    for (int i = 0; i < c->nt; i++) {
        const tspec *s = &c->t[i];
        if (s->kind != OUT && s->kind != INOUT) continue;
        const int isint = s->type == U8 || s->type == U32;
        pass_all &= isint ? worst[i] == 0 : worst[i] <= tol;
        if (isint)
            len += snprintf(msg + len, sizeof msg - (size_t)len, " %s %s", s->name,
                            worst[i] == 0 ? "exact" : "DIFFERS");
        else
            len += snprintf(msg + len, sizeof msg - (size_t)len, " %s %.2g", s->name, worst[i]);
        if (len >= (int)sizeof msg) len = (int)sizeof msg - 1;
    }
    return ok(pass_all, "%s %s (%s):%s (tol %g)", b->name, c->op, c->shape, msg, tol);
}

int main(void) {
    static op_case cs[64];
    int nc = 0;
    add_conv(cs, &nc, 3, 2, 5, 4, 3, 2); /* chunks of 2 then 1 image */
    add_conv(cs, &nc, 2, 1, 4, 4, 2, 8); /* one chunk, C = 1 */
    add_conv(cs, &nc, 2, 3, 1, 1, 2, 1); /* 1x1 images: all borders */
    add_conv(cs, &nc, 4, 16, 12, 12, 8, 4); /* large enough for the threaded GEMM */
    add_conv(cs, &nc, 3, 16, 7, 9, 5, 0);   /* Winograd: edge tiles in both directions */
    add_conv(cs, &nc, 2, 512, 14, 14, 16, 0); /* Winograd: VGG-19's conv5 depth and size */
    add_conv(cs, &nc, 2, 64, 2, 3, 64, 1);  /* C >= 16 but no room for Winograd's U: im2col */
    add_pool(cs, &nc, 2, 3, 5, 6);       /* odd height floors */
    add_pool(cs, &nc, 3, 4, 8, 8);
    add_fc(cs, &nc, 4, 7, 5);
    add_fc(cs, &nc, 50, 256, 64);
    add_fc(cs, &nc, 50, 300, 1100); /* the forward's 512-column sgemm blocks, the last one partial */
    add_elementwise(cs, &nc, 1000);
    add_elementwise(cs, &nc, 200000); /* past the OpenMP threshold */
    add_cosine(cs, &nc, 50, 16);
    add_cosine(cs, &nc, 6, 5);
    add_loss(cs, &nc, 50, 16, 1.0, 0.5, PIC_PIC, QUANT_Z);
    add_loss(cs, &nc, 50, 32, 0.5, 0.7, PIC_MINUS, QUANT_U);
    add_loss(cs, &nc, 6, 5, 2.0, 0.0, PIC_NONE, QUANT_Z);
    add_adam(cs, &nc, 1000, 3, 0.01, 1e-8);
    add_adam(cs, &nc, 100000, 0, 0.001, 1.0); /* the official eps = 1, past the OpenMP threshold */
    add_pack(cs, &nc, 7, 20);              /* padding bits in the last byte */
    add_pack(cs, &nc, 100, 64);
    add_hamming(cs, &nc, 1000, 64);         /* two 512-item blocks, the second partial */
    add_hamming(cs, &nc, 37, 16);
    CHECK(nc <= (int)(sizeof cs / sizeof cs[0]));

    const ops_backend_entry reg[] = OPS_BACKENDS;
    const int nb = (int)(sizeof reg / sizeof reg[0]);
    char why[8][128];
    int avail[8];
    CHECK(nb <= 8);
    for (int k = 0; k < nb; k++) {
        avail[k] = 0;
        if (!reg[k].backend) snprintf(why[k], sizeof why[k], "%s: not built", reg[k].name);
        else if (!(avail[k] = reg[k].backend->available(why[k], sizeof why[k])) && !why[k][0])
            snprintf(why[k], sizeof why[k], "%s: not available", reg[k].name);
        diag("backend %s: %s", reg[k].name, avail[k] ? "available" : why[k]);
    }
    for (int ci = 0; ci < nc; ci++) {
        const op_case *c = &cs[ci];
        rng g;
        rng_seed(&g, 0x6f7073ULL + (uint64_t)ci);
        void *in[MAXT], *ref[MAXT];
        for (int i = 0; i < c->nt; i++) {
            const tspec *s = &c->t[i];
            const size_t n = (size_t)(s->n > 0 ? s->n : 1);
            in[i] = xaligned(n * tsize(s->type));
            ref[i] = xaligned(n * rsize(s->type));
            if (s->kind == IN || s->kind == INOUT) fill(in[i], s, &g);
            else poison(in[i], s, 0);
            widen(ref[i], in[i], s);
        }
        c->ref(c, ref);
        for (int k = 0; k < nb; k++) {
            const ops_backend *b = reg[k].backend;
            if (!avail[k]) skip(1, why[k]);
            else if (!has_op(b, c->fn) || (c->fn2 && !has_op(b, c->fn2))) {
                char w[128];
                snprintf(w, sizeof w, "%s: %s not provided", b->name, c->op);
                skip(1, w);
            } else
                check(c, b, in, ref);
        }
        for (int i = 0; i < c->nt; i++) {
            free(in[i]);
            free(ref[i]);
        }
    }
    return done_testing();
}
