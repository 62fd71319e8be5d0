/* cli/graph.c: the contract of dsah-graph (cli/stages.h). */
#include "cli/stages.h"

#define A graph_args
static const opt graph_opts[] = {
    {"features", OPT_IN, OPT_FIELD(A, features), .required = 1,
     .help = "f4 [n, d] training features (finite, no all-zero row)"},
    {"k1", OPT_INT, OPT_FIELD(A, k1), .arg = "K1", .range = "[1, 2147483647]", .required = 1, .key = "graph.k1",
     .help = "neighbours per row of W_L, K1 < n"},
    {"k2", OPT_INT, OPT_FIELD(A, k2), .arg = "K2", .range = "[1, 2147483647]", .required = 1, .key = "graph.k2",
     .help = "neighbours per row of W_H, K2 < n"},
    {"labels", OPT_IN, OPT_FIELD(A, labels), .arg = "L",
     .help = "u1 [N, C] multi-hot labels (with --indices): adds precision alpha,\n"
             "recall beta and F_w of W_L, W_H, W0 against the same-label matrix\n"
             "(share >= 1 label) over all n^2 pairs"},
    {"indices", OPT_IN, OPT_FIELD(A, indices), .arg = "I", .help = "i8 [n] rows of L that the feature rows are"},
    {"threads", OPT_INT, OPT_FIELD(A, threads), .arg = "N", .range = "[1, 4096]", .nostamp = 1,
     .help = "OpenMP threads (default: all cores); outputs are byte-identical for every N on one machine"},
    OPT_DEVICE(A, device),
    {"out", OPT_OUTDIR, OPT_FIELD(A, out), .required = 1, .files = "wl.npy w0.npy stats.json",
     .help = "wl.npy i4 [n, K1] (descending cosine), w0.npy u1 [n, ceil(n/8)]\n"
             "(bit j of row i = byte j/8, bit j%8; 1 = similar), stats.json"},
    {0}};

const opt_cmd graph_cmd = {
    "graph",
    "Builds W_L (k1 nearest neighbours by cosine, self excluded, ties by ascending\n"
    "index), W_H (top-k2 rows by neighbour overlap |N_i ∩ N_j|, i.e. by\n"
    "1/(1+|(W_L)_i - (W_L)_j|), self excluded, ties by ascending index) and\n"
    "W0 = W_L AND W_H, made symmetric (+1 if either direction is) with diagonal +1.\n",
    graph_opts,
    "Cosines come from cblas_sgemm over fixed row blocks, never a dense n x n\n"
    "matrix; memory is O(n*(d + k1) + n^2/8).\n"};
