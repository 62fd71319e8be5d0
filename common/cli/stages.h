/* cli/stages.h: every stage's contract: its args struct and its option table
 * (util/opt.h). The tables live here, in the library, so that dsah-plan
 * derives command lines, inputs, outputs and YAML checks from the same
 * entries the stages parse with. One file per stage: cli/<stage>.c. */
#ifndef DSAH_CLI_STAGES_H
#define DSAH_CLI_STAGES_H

#include "util/opt.h"

/* --prefix-cache F, --prefix-indices F and --prefix-layer L of train, encode
 * and features (the frozen prefix's rows, nn/prefix.h), into the fields
 * prefix_cache, prefix_indices and prefix_layer; more: the rest of
 * --prefix-layer's help. */
#define OPT_PREFIX_CACHE(T, more)                                                                       \
    {"prefix-cache", OPT_IN, OPT_FIELD(T, prefix_cache), .arg = "F",                                     \
     .help = "f4 or f2 [n, d]: the frozen prefix's output, one row per --indices row\n"                  \
             "(dsah-features --layer [--dtype f2]; common/nn/prefix.h); the layers up to\n"              \
             "--prefix-layer are not run"},                                                              \
    {"prefix-indices", OPT_IN, OPT_FIELD(T, prefix_indices), .arg = "F",                                 \
     .help = "i8 [n]: the image of each --prefix-cache row, when the cache is another\n"                 \
             "split's (the plan: db's for the training split); every --indices image\n"                  \
             "must be in it, once; default: the cache has one row per --indices row"},                   \
    {"prefix-layer", OPT_STR, OPT_FIELD(T, prefix_layer), .arg = "L",                                    \
     .help = "the layer --prefix-cache holds (pool5, relu6, ...: net.h's labels)" more}

/* --precision of the stages with a CUDA path (train, encode): the GPU's
 * arithmetic (util/device.h); stamped, since bf16 changes results beyond
 * float rounding; the YAML key has no default, so plans without it stay as
 * they were. */
#define OPT_PRECISION(T)                                                                                \
    {"precision", OPT_ENUM, OPT_FIELD(T, precision), .choices = "fp32|tf32|bf16", .def = "fp32",         \
     .key = "train.precision",                                                                           \
     .help = "GPU arithmetic: fp32 (TF32 off), tf32, or bf16 (bfloat16 operands, float\n"               \
             "accumulation, weights and Adam); the CPU computes in fp32 only"}

/* Every stage's table, NULL-terminated (dsah-plan, the reference docs and
 * tests/t_opt.c walk it). */
extern const opt_cmd *const stage_cmds[];

/* dsah-ingest (cli/ingest.c). The split counts are valid only when
 * opt_given says so (0 is a value). */
typedef struct ingest_args {
    const char *source, *path, *annotations, *label_list, *out;
    long long size, query_per_class, train_per_class, query, train, validation_per_class, validation, seed, threads;
    int strict;
} ingest_args;
extern const opt_cmd ingest_cmd;

/* dsah-features (cli/features.c) */
typedef struct features_args {
    const char *images, *indices, *extractor, *weights, *layer, *dtype, *prefix_cache, *prefix_indices, *prefix_layer,
        *device, *out;
    long long input, batch, threads;
} features_args;
extern const opt_cmd features_cmd;

/* dsah-graph (cli/graph.c) */
typedef struct graph_args {
    const char *features, *labels, *indices, *device, *out;
    long long k1, k2, threads;
} graph_args;
extern const opt_cmd graph_cmd;

/* dsah-train (cli/train.c) */
typedef struct train_args {
    const char *images, *indices, *w, *init, *init_optim, *weights, *arch, *quant, *pic, *loss, *mask, *features,
        *finetune, *prefix_cache, *prefix_indices, *prefix_layer, *device, *precision, *out;
    long long input, bits, epochs, batch, lr_every, seed, threads;
    double lr, adam_eps, lr_factor, tau, lambda, gh_alpha;
    int frozen_eval;
} train_args;
extern const opt_cmd train_cmd;

/* dsah-encode (cli/encode.c) */
typedef struct encode_args {
    const char *model, *images, *indices, *prefix_cache, *prefix_indices, *prefix_layer, *device, *precision,
        *out;
    long long batch, threads;
    int real;
} encode_args;
extern const opt_cmd encode_cmd;

/* dsah-and (cli/and.c) */
typedef struct and_args {
    const char *codes, *w, *labels, *indices, *device, *out;
    double gamma;
    long long threads;
} and_args;
extern const opt_cmd and_cmd;

/* dsah-baseline (cli/baseline.c) */
typedef struct baseline_args {
    const char *method, *train, *query, *db, *out;
    long long bits, seed, iters, threads, anchors, nearest, kmeans_iters, sp_iters, sgh_epochs, sgh_batch;
    double sigma, density, lambda, sgh_lr;
} baseline_args;
extern const opt_cmd baseline_cmd;

/* dsah-ssdh (cli/ssdh.c) */
typedef struct ssdh_args {
    const char *features, *out;
    double alpha, beta;
    long long threads;
} ssdh_args;
extern const opt_cmd ssdh_cmd;

/* dsah-eval (cli/eval.c) */
typedef struct eval_args {
    const char *query_codes, *db_codes, *labels, *query_indices, *db_indices, *device, *out;
    opt_list topk, precision_at, pn_at;
    long long bits, threads;
} eval_args;
extern const opt_cmd eval_cmd;

/* dsah-index (cli/index.c) */
typedef struct index_args {
    const char *codes, *ids, *out;
    long long bits, mih_m, threads;
} index_args;
extern const opt_cmd index_cmd;

/* dsah-search (cli/search.c) */
typedef struct search_args {
    const char *index, *codes, *images, *model, *data, *method, *out;
    opt_list items;
    long long k, radius, threads;
} search_args;
extern const opt_cmd search_cmd;

/* dsah-serve (cli/serve.c) */
typedef struct serve_args {
    const char *index, *images, *labels, *model, *queries, *query_codes, *listen;
    long long k, max_upload, threads;
} serve_args;
extern const opt_cmd serve_cmd;

/* dsah-tsne (cli/tsne.c) */
typedef struct tsne_args {
    const char *input, *labels, *indices, *out;
    long long bits, points, iters, seed, threads;
    double perplexity;
} tsne_args;
extern const opt_cmd tsne_cmd;

/* dsah-pairs (cli/pairs.c) */
typedef struct pairs_args {
    const char *codes, *labels, *indices, *pic, *out;
    long long batch, seed, threads;
    double tau;
} pairs_args;
extern const opt_cmd pairs_cmd;

/* dsah-montage (cli/montage.c) */
typedef struct montage_args {
    const char *images, *labels, *queries, *ids, *lims, *out;
    long long examples, seed, scale, threads;
} montage_args;
extern const opt_cmd montage_cmd;

/* dsah-plan (cli/plan.c): --set and --print repeat, so their values are
 * collected in plan_sets and plan_prints (in order) rather than in fields. */
typedef struct plan_args {
    const char *config, *work, *bin, *out;
    int keys, keys_markdown, flags_markdown;
    long long threads;
} plan_args;
extern const opt_cmd plan_cmd;
extern const char **plan_sets, **plan_prints;
extern int plan_nsets, plan_nprints;

#endif
