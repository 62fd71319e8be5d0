/* cli/and.c: the contract of dsah-and (cli/stages.h). */
#include "cli/stages.h"

#define A and_args
static const opt and_opts[] = {
    {"codes", OPT_IN, OPT_FIELD(A, codes), .arg = "Z", .required = 1,
     .help = "f4 [n, l] real-valued codes of the training points (finite, no all-zero row)"},
    {"w", OPT_IN, OPT_FIELD(A, w), .arg = "W", .required = 1,
     .help = "u1 [n, ceil(n/8)] bit-packed W (symmetric, diagonal 1)"},
    {"gamma", OPT_FLOAT, OPT_FIELD(A, gamma), .arg = "G", .required = 1, .key = "train.gamma",
     .help = "threshold factor gamma: m = mu + gamma sigma (Eq. 12)"},
    {"labels", OPT_IN, OPT_FIELD(A, labels), .arg = "L",
     .help = "u1 [N, C] multi-hot labels (with --indices): adds alpha, beta and F_w\n"
             "of W before and after (paper Figure 7)"},
    {"indices", OPT_IN, OPT_FIELD(A, indices), .arg = "I", .help = "i8 [n] rows of L that the code rows are"},
    {"threads", OPT_INT, OPT_FIELD(A, threads), .arg = "N", .range = "[1, 4096]", .nostamp = 1,
     .help = "OpenMP threads (default: all cores); outputs are byte-identical for every N on one machine"},
    OPT_DEVICE(A, device),
    {"out", OPT_OUT, OPT_FIELD(A, out), .arg = "W_NEXT", .required = 1, .files = "and.json",
     .help = "the updated W (same format); and.json beside it: mu, sigma, m, n+ before\n"
             "and after, flipped pairs"},
    {0}};

const opt_cmd and_cmd = {
    "and",
    "Adaptive Neighbor Discovery (paper Eq. 10-12): s_ij = cos(z_i, z_j);\n"
    "mu and sigma = mean and sample standard deviation (divisor n+ - 1) of s_ij\n"
    "over all ordered pairs (i, j), diagonal included (s_ii = 1), with w_ij = +1,\n"
    "as Eq. 11 sums over i, j = 1..n and n+ counts those pairs; m = mu + G*sigma;\n"
    "every pair with w_ij = -1 and s_ij >= m becomes +1 (both directions: s is\n"
    "computed once per pair, so W stays symmetric).\n",
    and_opts, NULL};
