/* dsah-baseline: LSH and ITQ hash codes from feature vectors (common/hash/baseline.h). */
#include <cblas.h>
#include <getopt.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hash/baseline.h"
#include "format/json.h"
#include "format/npy.h"
#include "util/util.h"

static const char *usage =
    "usage: dsah-baseline --method lsh|itq --bits L --train X_train.npy --query X_query.npy\n"
    "                     --db X_db.npy --seed S [--iters 50] --out DIR\n"
    "\n"
    "Fits on the training features (f4 [n, d]) and encodes query and db:\n"
    "  lsh  sign of Gaussian random projections of the mean-centred features\n"
    "  itq  PCA to L dimensions + iterative quantisation (Gong & Lazebnik)\n"
    "\n"
    "  --method M     lsh or itq (required)\n"
    "  --bits L       code length, a multiple of 8 (8..4096); itq: L <= d (required)\n"
    "  --train F      training features f4 [n, d] (required)\n"
    "  --query F      query features f4 [n_q, d] (required)\n"
    "  --db F         database features f4 [n_db, d] (required)\n"
    "  --seed S       random seed (required)\n"
    "  --iters N      ITQ iterations (default 50)\n"
    "  --threads N    OpenMP/OpenBLAS threads (default: all cores)\n"
    "  -q, --quiet    no info lines\n"
    "  --out DIR      writes DIR/query.npy, DIR/db.npy (u1 [n, L/8] packed) and\n"
    "                 DIR/baseline.json (method, bits, iters, seed, n_train, dim,\n"
    "                 loss per iteration for itq, seconds_fit, seconds)\n"
    "  --help         this text\n";

enum { O_METHOD = 1000, O_BITS, O_TRAIN, O_QUERY, O_DB, O_SEED, O_ITERS, O_THREADS, O_OUT, O_HELP };

int main(int argc, char **argv) {
    dsah_init("dsah-baseline");
    double t_start = now_sec();
    const char *method = NULL, *tpath = NULL, *qpath = NULL, *dpath = NULL, *out = NULL;
    long long bits = 0, iters = 50, threads = 0;
    unsigned long long seed = 0;
    int have_seed = 0;
    static const struct option opts[] = {
        {"method", required_argument, 0, O_METHOD}, {"bits", required_argument, 0, O_BITS},
        {"train", required_argument, 0, O_TRAIN},   {"query", required_argument, 0, O_QUERY},
        {"db", required_argument, 0, O_DB},         {"seed", required_argument, 0, O_SEED},
        {"iters", required_argument, 0, O_ITERS},   {"threads", required_argument, 0, O_THREADS},
        {"quiet", no_argument, 0, 'q'},             {"out", required_argument, 0, O_OUT},
        {"help", no_argument, 0, O_HELP},           {0, 0, 0, 0}};
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "q", opts, NULL)) != -1) {
        switch (c) {
        case O_METHOD:
            if (strcmp(optarg, "lsh") && strcmp(optarg, "itq")) die("--method: '%s' is not lsh or itq", optarg);
            method = optarg;
            break;
        case O_BITS:
            bits = parse_ll("--bits", optarg, 8, 4096);
            if (bits % 8) die("--bits %lld: must be a multiple of 8 (codes are u1 [n, bits/8])", bits);
            break;
        case O_TRAIN: tpath = optarg; break;
        case O_QUERY: qpath = optarg; break;
        case O_DB: dpath = optarg; break;
        case O_SEED: seed = (unsigned long long)parse_ll("--seed", optarg, 0, INT64_MAX); have_seed = 1; break;
        case O_ITERS: iters = parse_ll("--iters", optarg, 0, 100000); break;
        case O_THREADS: threads = parse_ll("--threads", optarg, 1, 4096); break;
        case 'q': dsah_quiet = 1; break;
        case O_OUT: out = optarg; break;
        case O_HELP: fputs(usage, stdout); return 0;
        default:
            die_hint("dsah-baseline --help lists the flags", "unknown or incomplete option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc) die("unexpected argument '%s'", argv[optind]);
    if (!method) die("missing --method");
    if (!bits) die("missing --bits");
    if (!tpath) die("missing --train");
    if (!qpath) die("missing --query");
    if (!dpath) die("missing --db");
    if (!have_seed) die("missing --seed");
    if (!out) die("missing --out");
    if (threads) {
        omp_set_num_threads((int)threads);
        openblas_set_num_threads((int)threads);
    }
    int itq = strcmp(method, "itq") == 0;

    npy_array T, Q, D;
    npy_open(&T, tpath, NPY_F4, 2);
    npy_open(&Q, qpath, NPY_F4, 2);
    npy_open(&D, dpath, NPY_F4, 2);
    int64_t n = T.shape[0], dim = T.shape[1];
    if (n < 2) die("%s: %lld training rows; at least 2 are needed", tpath, (long long)n);
    if (dim < 1) die("%s: features of dimension 0", tpath);
    npy_expect_dim(&Q, 1, dim, "the feature dimension of --train");
    npy_expect_dim(&D, 1, dim, "the feature dimension of --train");
    if (itq && bits > dim)
        die("%s: itq needs --bits <= the feature dimension, but bits %lld > d %lld", tpath, bits, (long long)dim);
    npy_expect_finite(&T);
    npy_expect_finite(&Q);
    npy_expect_finite(&D);

    baseline_model m;
    baseline_ws ws;
    baseline_model_alloc(&m, dim, (int)bits, itq ? (int)iters : 0);
    baseline_ws_alloc(&ws, itq ? n : 0, dim, (int)bits);
    double t0 = now_sec();
    if (itq) {
        char err[256];
        if (baseline_fit_itq(&m, &ws, T.data, n, seed, err, sizeof err) != 0) die("%s: %s", tpath, err);
    } else {
        baseline_fit_lsh(&m, &ws, T.data, n, seed);
    }
    double t_fit = now_sec() - t0;
    if (itq) info("itq: %lld iterations, quantisation loss %.6g -> %.6g", iters, m.loss[0], m.loss[iters]);
    info("%s %lld bits fitted on %lld x %lld in %.3f s", method, bits, (long long)n, (long long)dim, t_fit);

    int64_t rb = bits / 8;
    uint8_t *qc = xmalloc((size_t)(Q.shape[0] * rb)), *dc = xmalloc((size_t)(D.shape[0] * rb));
    baseline_encode(qc, &m, &ws, Q.data, Q.shape[0]);
    baseline_encode(dc, &m, &ws, D.data, D.shape[0]);

    char *qo = path_join(out, "query.npy"), *dbo = path_join(out, "db.npy"), *jo = path_join(out, "baseline.json");
    mkdir_p(out);
    int64_t qs[2] = {Q.shape[0], rb}, ds[2] = {D.shape[0], rb};
    npy_save(qo, NPY_U1, 2, qs, qc);
    npy_save(dbo, NPY_U1, 2, ds, dc);
    atomic_file *af = af_open(jo);
    jw w;
    jw_begin(&w, af->fp);
    jw_str(&w, "method", method);
    jw_int(&w, "bits", bits);
    jw_int(&w, "iters", itq ? iters : 0);
    jw_int(&w, "seed", (int64_t)seed);
    jw_int(&w, "n_train", n);
    jw_int(&w, "dim", dim);
    jw_int(&w, "n_query", Q.shape[0]);
    jw_int(&w, "n_db", D.shape[0]);
    if (itq) {
        jw_arr(&w, "loss");
        for (int t = 0; t <= iters; t++) jw_num(&w, NULL, m.loss[t]);
        jw_end(&w);
    }
    jw_num(&w, "seconds_fit", t_fit);
    jw_num(&w, "seconds", now_sec() - t_start);
    jw_finish(&w);
    af_commit(af);
    free(qc);
    free(dc);
    free(qo);
    free(dbo);
    free(jo);
    baseline_ws_free(&ws);
    baseline_model_free(&m);
    return 0;
}
