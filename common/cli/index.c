/* cli/index.c: the contract of dsah-index (cli/stages.h). */
#include "cli/stages.h"

#define A index_args
static const opt index_opts[] = {
    {"codes", OPT_IN, OPT_FIELD(A, codes), .required = 1, .help = "database codes, u1 [n, bytes] packed (bits.h)"},
    {"ids", OPT_IN, OPT_FIELD(A, ids), .help = "i8 [n] id of each code (e.g. data/db.npy); default: the row number"},
    {"bits", OPT_INT, OPT_FIELD(A, bits), .range = "[1, 4096]",
     .help = "code length when it is not 8*bytes (default 8*bytes); bits beyond it must be 0"},
    {"mih-m", OPT_INT, OPT_FIELD(A, mih_m), .range = "[-1, 64]", .def = "0",
     .help = "MIH substrings: 0 = round(bits / log2 n) with substrings <= 24 bits, -1 = no tables"},
    OPT_THREADS(A, threads),
    {"out", OPT_OUTDIR, OPT_FIELD(A, out), .required = 1, .files = "index.faiss mih.bin index.json",
     .help = "output directory"},
    {0}};

const opt_cmd index_cmd = {
    "index",
    "Build an exact Hamming search index (common/hash/index.h): the codes and ids in\n"
    "FAISS's binary layout (index.faiss: IndexBinaryFlat, or IndexBinaryIDMap with\n"
    "--ids; faiss.read_index_binary opens it) and multi-index hashing tables\n"
    "(mih.bin), every file written atomically and checksummed.\n",
    index_opts, NULL};
