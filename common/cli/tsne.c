/* cli/tsne.c: the contract of dsah-tsne (cli/stages.h). */
#include "cli/stages.h"

#define A tsne_args
static const opt tsne_opts_table[] = {
    {"input", OPT_IN, OPT_FIELD(A, input), .required = 1,
     .help = "points: packed codes u1 [n, bytes] (as +-1 vectors: squared distance = 4 x Hamming) or features f4 [n, d]"},
    {"bits", OPT_INT, OPT_FIELD(A, bits), .range = "[1, 4096]",
     .help = "code length of u1 input when it is not 8*bytes (bits beyond it must be 0)"},
    {"labels", OPT_IN, OPT_FIELD(A, labels), .help = "u1 [N, L] multi-hot labels: the class column of tsne.tsv"},
    {"indices", OPT_IN, OPT_FIELD(A, indices), .help = "i8 [n] row of --labels for each input row (with --labels)"},
    {"points", OPT_INT, OPT_FIELD(A, points), .range = "[0, 8000]", .def = "2000", .key = "report.tsne_points",
     .help = "points drawn at random (seeded) from the input; 0 or more than n: all (at most 8000)"},
    {"perplexity", OPT_FLOAT, OPT_FIELD(A, perplexity), .range = "(0, inf)", .def = "30",
     .help = "effective neighbours per point (less than the points)"},
    {"iters", OPT_INT, OPT_FIELD(A, iters), .range = "[0, 100000]", .def = "1000", .help = "gradient steps (250 of them exaggerated)"},
    {"seed", OPT_INT, OPT_FIELD(A, seed), .range = "[0, 9223372036854775807]", .def = "0", .key = "train.seed",
     .help = "seed of the sample and of the initial embedding"},
    OPT_THREADS(A, threads),
    {"out", OPT_OUTDIR, OPT_FIELD(A, out), .required = 1, .files = "tsne.npy items.npy tsne.tsv tsne.json",
     .help = "output directory"},
    {0}};

const opt_cmd tsne_cmd = {
    "tsne",
    "Exact t-SNE (common/report/tsne.h; sklearn's optimiser settings) of a seeded\n"
    "sample of codes or features, for the report's Figure 10.\n",
    tsne_opts_table,
    "tsne.npy f4 [n, 2] the embedding; items.npy i8 [n] the input rows drawn\n"
    "(ascending); tsne.tsv: x, y, class (first label of the row, -1 without\n"
    "--labels); tsne.json: n, perplexity, iters, kl (final KL divergence),\n"
    "trustworthiness_5, trustworthiness_10 (ties of the input distances by\n"
    "index), seconds.\n"};
