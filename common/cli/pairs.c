/* cli/pairs.c: the contract of dsah-pairs (cli/stages.h). */
#include "cli/stages.h"

#define A pairs_args
static const opt pairs_opts[] = {
    {"codes", OPT_IN, OPT_FIELD(A, codes), .required = 1,
     .help = "real-valued codes z = tanh(F(x)) of the training split, f4 [n, bits] (dsah-encode --real)"},
    {"labels", OPT_IN, OPT_FIELD(A, labels), .required = 1, .help = "u1 [N, L] multi-hot labels"},
    {"indices", OPT_IN, OPT_FIELD(A, indices), .required = 1, .help = "i8 [n] row of --labels for each code (data/train.npy)"},
    {"batch", OPT_INT, OPT_FIELD(A, batch), .range = "[2, 100000]", .def = "50", .key = "train.batch",
     .help = "batch size B: codes drawn at random (seeded), shown ordered by class"},
    {"tau", OPT_FLOAT, OPT_FIELD(A, tau), .range = "(0, inf)", .def = "1", .key = "train.tau", .help = "tau of Eq. 16"},
    {"pic", OPT_ENUM, OPT_FIELD(A, pic), .choices = "pic|pic-minus|none", .def = "pic", .key = "train.pic",
     .help = "pair weights: PIC, PIC- or none"},
    {"seed", OPT_INT, OPT_FIELD(A, seed), .range = "[0, 9223372036854775807]", .def = "0", .key = "train.seed",
     .help = "seed of the batch draw"},
    OPT_THREADS(A, threads),
    {"out", OPT_OUTDIR, OPT_FIELD(A, out), .required = 1, .files = "batch.npy s.npy a.npy s.dat a.dat pairs.json",
     .help = "output directory"},
    {0}};

const opt_cmd pairs_cmd = {
    "pairs",
    "One batch's pairwise similarities s_ij (Eq. 4) and PIC weights a_ij (Eq. 16),\n"
    "computed by the loss's own code (nn/loss.h dsah_pair_weights) from a trained\n"
    "model's real-valued codes: the report's Figure 5.\n",
    pairs_opts,
    "batch.npy i8 [B]: rows of --codes, ordered by class then row; s.npy, a.npy\n"
    "f4 [B, B]; s.dat, a.dat the same as text matrices (gnuplot); pairs.json: B,\n"
    "tau, pic, and the mean s and a over the diagonal, same-class and\n"
    "different-class pairs.\n"};
