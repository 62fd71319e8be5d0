/* cli/montage.c: the contract of dsah-montage (cli/stages.h). */
#include "cli/stages.h"

#define A montage_args
static const opt montage_opts[] = {
    {"images", OPT_IN, OPT_FIELD(A, images), .required = 1, .help = "u1 [N, H, W, C] images (data/images.npy)"},
    {"labels", OPT_IN, OPT_FIELD(A, labels), .required = 1, .help = "u1 [N, L] multi-hot labels"},
    {"queries", OPT_IN, OPT_FIELD(A, queries), .required = 1,
     .help = "i8 [nq] image of each query of the search (data/query.npy)"},
    {"ids", OPT_IN, OPT_FIELD(A, ids), .required = 1, .help = "dsah-search's ids.npy: result images (index built with --ids data/db.npy)"},
    {"lims", OPT_IN, OPT_FIELD(A, lims), .required = 1, .help = "dsah-search's lims.npy: query q owns rows lims[q]..lims[q+1]"},
    {"examples", OPT_INT, OPT_FIELD(A, examples), .range = "[1, 100]", .def = "8", .key = "report.examples",
     .help = "queries shown, drawn at random (seeded), in query order"},
    {"seed", OPT_INT, OPT_FIELD(A, seed), .range = "[0, 9223372036854775807]", .def = "0", .key = "train.seed",
     .help = "seed of the draw (the same seed shows the same queries for every method)"},
    {"scale", OPT_INT, OPT_FIELD(A, scale), .range = "[1, 16]", .def = "2", .help = "pixel size of the tiles"},
    OPT_THREADS(A, threads),
    {"out", OPT_OUTDIR, OPT_FIELD(A, out), .required = 1, .files = "montage.png montage.tsv montage.json",
     .help = "output directory"},
    {0}};

const opt_cmd montage_cmd = {
    "montage",
    "The report's Figure 11: queries and their top-k search results as one PNG,\n"
    "each result framed green (shares a label with the query) or red.\n",
    montage_opts,
    "montage.tsv: row, query image, rank, result image, relevant (1/0);\n"
    "montage.json: examples, k, relevant (count), shown (count).\n"};
