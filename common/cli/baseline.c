/* cli/baseline.c: the contract of dsah-baseline (cli/stages.h). */
#include "cli/stages.h"

#define A baseline_args
static const opt baseline_opts[] = {
    {"method", OPT_ENUM, OPT_FIELD(A, method), .choices = "lsh|itq", .required = 1,
     .help = "lsh: sign of Gaussian projections of the centred features; itq: PCA + ITQ"},
    {"bits", OPT_INT, OPT_FIELD(A, bits), .arg = "L", .range = "[8, 4096]", .multiple = 8, .required = 1,
     .key = "train.bits", .help = "code length (codes are u1 [n, L/8]); itq: L <= d"},
    {"train", OPT_IN, OPT_FIELD(A, train), .required = 1, .help = "training features f4 [n, d]"},
    {"query", OPT_IN, OPT_FIELD(A, query), .required = 1, .help = "query features f4 [n_q, d]"},
    {"db", OPT_IN, OPT_FIELD(A, db), .required = 1, .help = "database features f4 [n_db, d]"},
    {"seed", OPT_INT, OPT_FIELD(A, seed), .arg = "S", .range = "[0, 9223372036854775807]", .required = 1,
     .key = "train.seed", .help = "random seed"},
    {"iters", OPT_INT, OPT_FIELD(A, iters), .range = "[0, 100000]", .def = "50", .key = "eval.itq_iters",
     .help = "ITQ iterations"},
    OPT_THREADS(A, threads),
    {"out", OPT_OUTDIR, OPT_FIELD(A, out), .required = 1, .files = "query.npy db.npy baseline.json",
     .help = "codes u1 [n, L/8] packed; baseline.json: method, bits, iters, seed,\n"
             "n_train, dim, loss per iteration for itq, seconds_fit, seconds"},
    {0}};

const opt_cmd baseline_cmd = {
    "baseline",
    "Fits on the training features (f4 [n, d]) and encodes query and db:\n"
    "  lsh  sign of Gaussian random projections of the mean-centred features\n"
    "  itq  PCA to L dimensions + iterative quantisation (Gong & Lazebnik)\n",
    baseline_opts, NULL};
