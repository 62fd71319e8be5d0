/* cli/eval.c: the contract of dsah-eval (cli/stages.h). */
#include "cli/stages.h"

#define A eval_args
static const opt eval_opts[] = {
    {"query-codes", OPT_IN, OPT_FIELD(A, query_codes), .required = 1, .help = "query codes, u1 [n_query, bytes]"},
    {"db-codes", OPT_IN, OPT_FIELD(A, db_codes), .required = 1, .help = "database codes, u1 [n_db, bytes]"},
    {"labels", OPT_IN, OPT_FIELD(A, labels), .required = 1, .help = "u1 [N, L] multi-hot label rows"},
    {"query-indices", OPT_IN, OPT_FIELD(A, query_indices), .required = 1,
     .help = "i8 [n_query] rows of --labels for the queries"},
    {"db-indices", OPT_IN, OPT_FIELD(A, db_indices), .required = 1, .help = "i8 [n_db] rows of --labels for the database"},
    {"topk", OPT_INTS, OPT_FIELD(A, topk), .range = "[1, 1099511627776]", .all = 1, .def = "1000,5000,all",
     .key = "eval.topk", .help = "mAP cutoffs K"},
    {"precision-at", OPT_INTS, OPT_FIELD(A, precision_at), .range = "[1, 1099511627776]", .all = 1,
     .def = "100,1000", .key = "eval.precision_at", .help = "P@N values"},
    {"pn-at", OPT_INTS, OPT_FIELD(A, pn_at), .range = "[1, 1099511627776]", .all = 1,
     .def = "100,200,300,400,500,600,700,800,900,1000", .key = "eval.pn_at", .help = "P-curve points written to pn.csv"},
    {"bits", OPT_INT, OPT_FIELD(A, bits), .range = "[1, 4096]",
     .help = "code length when it is not 8*bytes (default 8*bytes); bits beyond N must be 0"},
    OPT_THREADS(A, threads),
    OPT_DEVICE(A, device),
    {"out", OPT_OUTDIR, OPT_FIELD(A, out), .required = 1, .files = "metrics.json pr.csv pn.csv",
     .help = "output directory"},
    {0}};

const opt_cmd eval_cmd = {
    "eval",
    "Hamming ranking of packed codes (u1 [n, bits/8]); ties by ascending db index;\n"
    "relevant = query and item share >= 1 label (labels u1 [N, L] multi-hot, rows\n"
    "selected by the i8 index files). Metrics: common/hash/eval.h.\n",
    eval_opts,
    "K or N above n_db is clipped to n_db. metrics.json: bits, n_query, n_db,\n"
    "mAP@<K>, P@<N>, seconds (whole stage), seconds_compute (metrics from the\n"
    "mapped inputs), threads.\n"};
