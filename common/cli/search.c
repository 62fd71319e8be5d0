/* cli/search.c: the contract of dsah-search (cli/stages.h). */
#include "cli/stages.h"

#define A search_args
static const opt search_opts[] = {
    {"index", OPT_IN, OPT_FIELD(A, index), .required = 1, .help = "index directory written by dsah-index"},
    {"codes", OPT_IN, OPT_FIELD(A, codes), .help = "query codes, u1 [nq, bytes] of the index's length"},
    {"images", OPT_STR, OPT_FIELD(A, images), .arg = "LIST",
     .help = "query images: comma-separated JPEG/PNG files or folders (needs --model and --data)"},
    {"items", OPT_INTS, OPT_FIELD(A, items), .range = "[0, 1099511627776]",
     .help = "query by dataset item (ids of the index; others need --model and --data)"},
    {"model", OPT_IN, OPT_FIELD(A, model), .help = "model.safetensors of dsah-train, to encode --images and --items"},
    {"data", OPT_IN, OPT_FIELD(A, data), .help = "the dataset's images.npy u1 [N,H,W,C]: items, and the H,W,C uploads are resized to"},
    {"k", OPT_INT, OPT_FIELD(A, k), .range = "[1, 1099511627776]", .def = "10", .help = "results per query"},
    {"radius", OPT_INT, OPT_FIELD(A, radius), .range = "[0, 4096]",
     .help = "instead of --k: every item within this Hamming distance"},
    {"method", OPT_ENUM, OPT_FIELD(A, method), .choices = "auto|mih|scan", .def = "auto", .nostamp = 1,
     .help = "auto: MIH under the scan's expected cost, else the scan (identical results)"},
    OPT_THREADS(A, threads),
    {"out", OPT_OUTDIR, OPT_FIELD(A, out), .required = 1, .files = "ids.npy dist.npy lims.npy results.tsv results.json",
     .help = "output directory"},
    {0}};

const opt_cmd search_cmd = {
    "search",
    "Exact Hamming search of an index by query codes, images or dataset items:\n"
    "the top --k (or all within --radius) ranked by (distance, database position),\n"
    "exactly as dsah-eval ranks.\n",
    search_opts,
    "Outputs: ids.npy i8 and dist.npy i4 (all results, query after query), lims.npy\n"
    "i8 [nq+1] (query q owns rows lims[q]..lims[q+1]), results.tsv (query, rank, id,\n"
    "distance) and results.json. Images are decoded (JPEG/PNG), resized to the\n"
    "dataset's H x W (PIL bilinear), made grey (PIL's L) when C = 1, then encoded as\n"
    "dsah-encode does.\n"};
