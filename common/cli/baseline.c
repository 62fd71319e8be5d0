/* cli/baseline.c: the contract of dsah-baseline (cli/stages.h). */
#include "cli/stages.h"

#define A baseline_args
static const opt baseline_opts[] = {
    {"method", OPT_ENUM, OPT_FIELD(A, method), .choices = "lsh|itq|sh|agh1|agh2|sp|sgh", .required = 1, .key = "eval.baselines",
     .help = "the method (above; docs/baselines.md)"},
    {"bits", OPT_INT, OPT_FIELD(A, bits), .arg = "L", .range = "[8, 4096]", .multiple = 8, .required = 1,
     .key = "train.bits",
     .help = "code length (codes are u1 [n, L/8]); itq, sp: L <= d; agh1: L < anchors; agh2: L/2 < anchors"},
    {"train", OPT_IN, OPT_FIELD(A, train), .required = 1, .help = "training features f4 [n, d]"},
    {"query", OPT_IN, OPT_FIELD(A, query), .required = 1, .help = "query features f4 [n_q, d]"},
    {"db", OPT_IN, OPT_FIELD(A, db), .required = 1, .help = "database features f4 [n_db, d]"},
    {"seed", OPT_INT, OPT_FIELD(A, seed), .arg = "S", .range = "[0, 9223372036854775807]", .required = 1,
     .key = "train.seed", .help = "random seed"},
    {"iters", OPT_INT, OPT_FIELD(A, iters), .range = "[0, 100000]", .def = "50", .key = "eval.itq_iters",
     .help = "ITQ iterations"},
    {"anchors", OPT_INT, OPT_FIELD(A, anchors), .arg = "M", .range = "[2, 1000000]", .def = "300",
     .key = "eval.agh_anchors", .help = "AGH: anchors (k-means centres), fewer than the training rows"},
    {"nearest", OPT_INT, OPT_FIELD(A, nearest), .arg = "S", .range = "[1, 1000]", .def = "2",
     .key = "eval.agh_nearest", .help = "AGH: nearest anchors per point, <= anchors"},
    {"kmeans-iters", OPT_INT, OPT_FIELD(A, kmeans_iters), .range = "[0, 100000]", .def = "5",
     .key = "eval.agh_kmeans_iters", .help = "AGH: Lloyd iterations for the anchors"},
    {"sigma", OPT_FLOAT, OPT_FIELD(A, sigma), .arg = "X", .range = "[0, inf)", .def = "0",
     .help = "AGH: kernel exp(-D^2/X^2); 0: the mean distance to the S-th nearest anchor"},
    {"sp-iters", OPT_INT, OPT_FIELD(A, sp_iters), .range = "[0, 100000]", .def = "20", .key = "eval.sp_iters",
     .help = "SP: alternating iterations"},
    {"density", OPT_FLOAT, OPT_FIELD(A, density), .arg = "X", .range = "(0, 1]", .def = "0.1",
     .key = "eval.sp_density", .help = "SP: fraction of non-zeros of the projection"},
    {"lambda", OPT_FLOAT, OPT_FIELD(A, lambda), .arg = "X", .range = "[0, inf)", .def = "1",
     .key = "eval.sp_lambda", .help = "SP: weight of the orthogonality penalty ||W^T W - I||^2"},
    {"sgh-epochs", OPT_INT, OPT_FIELD(A, sgh_epochs), .range = "[0, 100000]", .def = "16", .key = "eval.sgh_epochs",
     .help = "SGH: training epochs"},
    {"sgh-batch", OPT_INT, OPT_FIELD(A, sgh_batch), .range = "[1, 100000]", .def = "500", .key = "eval.sgh_batch",
     .help = "SGH: rows per batch"},
    {"sgh-lr", OPT_FLOAT, OPT_FIELD(A, sgh_lr), .arg = "X", .range = "(0, inf)", .def = "0.01", .key = "eval.sgh_lr",
     .help = "SGH: Adam learning rate"},
    OPT_THREADS(A, threads),
    {"out", OPT_OUTDIR, OPT_FIELD(A, out), .required = 1, .files = "query.npy db.npy baseline.json",
     .help = "codes u1 [n, L/8] packed; baseline.json: method, bits, iters, seed,\n"
             "n_train, dim, loss per iteration for itq and sp, sh modes, agh sigma and\n"
             "eigenvalues, sp non-zeros, seconds_fit (wall), cpu_seconds_fit (CPU time\n"
             "of the process over the fit, all threads), seconds"},
    {0}};

const opt_cmd baseline_cmd = {
    "baseline",
    "Fits on the training features (f4 [n, d]) and encodes query and db\n"
    "(algorithms and defaults: docs/baselines.md):\n"
    "  lsh   sign of Gaussian random projections of the mean-centred features\n"
    "  itq   PCA to L dimensions + iterative quantisation (Gong & Lazebnik)\n"
    "  sh    spectral hashing: PCA + uniform-distribution eigenfunctions (Weiss et al.)\n"
    "  agh1  one-layer anchor graph hashing (Liu et al.)\n"
    "  agh2  two-layer anchor graph hashing: L/2 eigenfunctions, 2 bits each\n"
    "  sp    sparse projections: l0-constrained projection, alternating (Xia et al.)\n"
    "  sgh   stochastic generative hashing: binary-unit encoder/decoder, Adam (Dai et al.)\n",
    baseline_opts, NULL};
