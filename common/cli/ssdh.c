/* cli/ssdh.c: the contract of dsah-ssdh (cli/stages.h). */
#include "cli/stages.h"

#define A ssdh_args
static const opt ssdh_opts[] = {
    {"features", OPT_IN, OPT_FIELD(A, features), .required = 1, .help = "training features f4 [n, d]"},
    {"alpha", OPT_FLOAT, OPT_FIELD(A, alpha), .arg = "X", .range = "[0, inf)", .def = "2", .key = "eval.ssdh_alpha",
     .help = "similar below m - alpha sigma_l"},
    {"beta", OPT_FLOAT, OPT_FIELD(A, beta), .arg = "X", .range = "[0, inf)", .def = "0", .key = "eval.ssdh_beta",
     .help = "dissimilar above m + beta sigma_r"},
    OPT_THREADS(A, threads),
    {"out", OPT_OUTDIR, OPT_FIELD(A, out), .required = 1, .files = "w.npy mask.npy stats.json",
     .help = "w.npy u1 [n, ceil(n/8)]: bit 1 where S = +1; mask.npy: bit 1 where\n"
             "S != 0; stats.json: mode, sigma_l, sigma_r, d_l, d_r and pair counts"},
    {0}};

const opt_cmd ssdh_cmd = {
    "ssdh",
    "The semantic structure of SSDH (Yang et al., IJCAI 2018; docs/baselines.md):\n"
    "the cosine distances of all training pairs, modelled as two half Gaussians\n"
    "meeting at their mode m; S = +1 below m - alpha sigma_l, -1 above\n"
    "m + beta sigma_r, 0 (ignored) between. dsah-train --loss ssdh uses it.\n",
    ssdh_opts, NULL};
