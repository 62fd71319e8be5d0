/* cli/serve.c: the contract of dsah-serve (cli/stages.h). */
#include "cli/stages.h"

#define A serve_args
static const opt serve_opts[] = {
    {"index", OPT_STR, OPT_FIELD(A, index), .required = 1, .arg = "DIR[,DIR2]",
     .help = "index directories (two: side by side), comma-separated; NAME=DIR names a column"},
    {"images", OPT_IN, OPT_FIELD(A, images), .required = 1, .help = "the dataset's images.npy u1 [N,H,W,C] (ids index it)"},
    {"labels", OPT_IN, OPT_FIELD(A, labels), .help = "u1 [N, L] multi-hot labels: results marked relevant or not"},
    {"model", OPT_STR, OPT_FIELD(A, model), .arg = "M[,M2]",
     .help = "model.safetensors per index (comma-separated), to encode uploads and items not in the index"},
    {"queries", OPT_IN, OPT_FIELD(A, queries), .help = "i8 [nq] items offered as queries (e.g. data/query.npy); default: all"},
    {"query-codes", OPT_STR, OPT_FIELD(A, query_codes), .arg = "Q[,Q2]",
     .help = "codes u1 [nq, bytes] of the --queries items per index (e.g. a baseline's query.npy): how a column\n"
             "without a model answers those items"},
    {"listen", OPT_STR, OPT_FIELD(A, listen), .arg = "ADDR:PORT", .def = "127.0.0.1:8080", .nostamp = 1,
     .help = "address and port (port 0: any free port, printed)"},
    {"k", OPT_INT, OPT_FIELD(A, k), .range = "[1, 1000]", .def = "10", .help = "default results per query"},
    {"max-upload", OPT_INT, OPT_FIELD(A, max_upload), .range = "[1024, 1073741824]", .def = "8388608",
     .nostamp = 1, .help = "largest upload in bytes (larger: 413)"},
    OPT_THREADS(A, threads),
    {0}};

const opt_cmd serve_cmd = {
    "serve",
    "A search page over HTTP (libmicrohttpd): pick a query (a dataset item, at\n"
    "random, or an uploaded JPEG/PNG) and see its top k as image tiles with their\n"
    "distance and, with --labels, relevant or not; two indexes side by side.\n",
    serve_opts,
    "Routes: / (the page), /api/info, /api/search?item=N|random=1[&k=K], POST\n"
    "/api/search (the image as the body), /img/N.png (a dataset image as PNG).\n"
    "Stops on SIGINT/SIGTERM.\n"};
