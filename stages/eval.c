/* dsah-eval: retrieval metrics of packed codes (mAP@K, P@N, P-curve, PR
 * curve by Hamming radius). The metrics are defined in common/hash/eval.h. */
#include <getopt.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hash/eval.h"
#include "format/json.h"
#include "format/npy.h"
#include "util/util.h"

static const char *usage =
    "usage: dsah-eval --query-codes Q.npy --db-codes D.npy --labels labels.npy\n"
    "                 --query-indices query.npy --db-indices db.npy --out DIR [options]\n"
    "\n"
    "Hamming ranking of packed codes (u1 [n, bits/8]); ties by ascending db index;\n"
    "relevant = query and item share >= 1 label (labels u1 [N, L] multi-hot, rows\n"
    "selected by the i8 index files).\n"
    "\n"
    "  --query-codes F      query codes, u1 [n_query, bytes]\n"
    "  --db-codes F         database codes, u1 [n_db, bytes]\n"
    "  --labels F           u1 [N, L] multi-hot label rows\n"
    "  --query-indices F    i8 [n_query] rows of --labels for the queries\n"
    "  --db-indices F       i8 [n_db] rows of --labels for the database\n"
    "  --topk LIST          mAP cutoffs, 'all' = whole database (default 1000,5000,all)\n"
    "  --precision-at LIST  P@N values (default 100,1000)\n"
    "  --pn-at LIST         P-curve points written to pn.csv\n"
    "                       (default 100,200,300,400,500,600,700,800,900,1000)\n"
    "  --bits N             code length when it is not 8*bytes (default 8*bytes);\n"
    "                       bits beyond N must be 0\n"
    "  --threads N          OpenMP threads (default: all cores)\n"
    "  --device D           auto|cpu (default auto; this stage runs on the CPU)\n"
    "  -q, --quiet          no info lines\n"
    "  --out DIR            writes DIR/metrics.json, DIR/pr.csv, DIR/pn.csv\n"
    "  --help               this text\n"
    "\n"
    "K or N above n_db is clipped to n_db. metrics.json: bits, n_query, n_db,\n"
    "mAP@<K>, P@<N>, seconds (whole stage), seconds_compute (metrics from the\n"
    "mapped inputs), threads.\n";

enum { O_Q = 1000, O_D, O_L, O_QI, O_DI, O_TOPK, O_PAT, O_PN, O_BITS, O_THREADS, O_DEVICE, O_OUT, O_HELP };

static void list_key(char *buf, size_t n, const char *prefix, int64_t v) {
    if (v <= 0) snprintf(buf, n, "%sall", prefix);
    else snprintf(buf, n, "%s%lld", prefix, (long long)v);
}

int main(int argc, char **argv) {
    dsah_init("dsah-eval");
    double t_start = now_sec();
    const char *qpath = NULL, *dpath = NULL, *lpath = NULL, *qipath = NULL, *dipath = NULL, *out = NULL;
    const char *topk_s = "1000,5000,all", *pat_s = "100,1000", *pn_s = "100,200,300,400,500,600,700,800,900,1000";
    long long bits_flag = 0, threads = 0;
    static const struct option opts[] = {
        {"query-codes", required_argument, 0, O_Q},  {"db-codes", required_argument, 0, O_D},
        {"labels", required_argument, 0, O_L},       {"query-indices", required_argument, 0, O_QI},
        {"db-indices", required_argument, 0, O_DI},  {"topk", required_argument, 0, O_TOPK},
        {"precision-at", required_argument, 0, O_PAT}, {"pn-at", required_argument, 0, O_PN},
        {"bits", required_argument, 0, O_BITS},      {"threads", required_argument, 0, O_THREADS},
        {"device", required_argument, 0, O_DEVICE},  {"quiet", no_argument, 0, 'q'},
        {"out", required_argument, 0, O_OUT},        {"help", no_argument, 0, O_HELP},
        {0, 0, 0, 0}};
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "q", opts, NULL)) != -1) {
        switch (c) {
        case O_Q: qpath = optarg; break;
        case O_D: dpath = optarg; break;
        case O_L: lpath = optarg; break;
        case O_QI: qipath = optarg; break;
        case O_DI: dipath = optarg; break;
        case O_TOPK: topk_s = optarg; break;
        case O_PAT: pat_s = optarg; break;
        case O_PN: pn_s = optarg; break;
        case O_BITS: bits_flag = parse_ll("--bits", optarg, 1, 4096); break;
        case O_THREADS: threads = parse_ll("--threads", optarg, 1, 4096); break;
        case O_DEVICE: check_device(optarg); break;
        case 'q': dsah_quiet = 1; break;
        case O_OUT: out = optarg; break;
        case O_HELP: fputs(usage, stdout); return 0;
        default:
            die_hint("dsah-eval --help lists the flags", "unknown or incomplete option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc) die("unexpected argument '%s'", argv[optind]);
    if (!qpath) die("missing --query-codes");
    if (!dpath) die("missing --db-codes");
    if (!lpath) die("missing --labels");
    if (!qipath) die("missing --query-indices");
    if (!dipath) die("missing --db-indices");
    if (!out) die("missing --out");
    if (threads) omp_set_num_threads((int)threads);
    dsah_pin_threads();

    long long *topk_ll, *pat_ll, *pn_ll;
    int n_topk = parse_int_list("--topk", topk_s, 0, &topk_ll);
    int n_pat = parse_int_list("--precision-at", pat_s, 0, &pat_ll);
    int n_pn = parse_int_list("--pn-at", pn_s, 0, &pn_ll);
    int64_t *topk = xmalloc(sizeof(int64_t) * (size_t)n_topk), *pat = xmalloc(sizeof(int64_t) * (size_t)n_pat),
            *pn = xmalloc(sizeof(int64_t) * (size_t)n_pn);
    for (int i = 0; i < n_topk; i++) topk[i] = topk_ll[i];
    for (int i = 0; i < n_pat; i++) pat[i] = pat_ll[i];
    for (int i = 0; i < n_pn; i++) pn[i] = pn_ll[i];

    npy_array Q, D, L, QI, DI;
    npy_open(&Q, qpath, NPY_U1, 2);
    npy_open(&D, dpath, NPY_U1, 2);
    npy_open(&L, lpath, NPY_U1, 2);
    npy_open(&QI, qipath, NPY_I8, 1);
    npy_open(&DI, dipath, NPY_I8, 1);
    if (Q.shape[1] != D.shape[1])
        die("%s: codes of %lld bytes, but %s has codes of %lld bytes", qpath, (long long)Q.shape[1], dpath,
            (long long)D.shape[1]);
    if (Q.shape[1] < 1) die("%s: codes of 0 bytes", qpath);
    if (Q.shape[0] < 1) die("%s: no query codes", qpath);
    if (D.shape[0] < 1) die("%s: no database codes", dpath);
    if (D.shape[0] >= ((int64_t)1 << 32)) die("%s: more than 2^32 database codes", dpath);
    if (QI.shape[0] != Q.shape[0])
        die("%s: %lld indices, but %s has %lld query codes", qipath, (long long)QI.shape[0], qpath,
            (long long)Q.shape[0]);
    if (DI.shape[0] != D.shape[0])
        die("%s: %lld indices, but %s has %lld database codes", dipath, (long long)DI.shape[0], dpath,
            (long long)D.shape[0]);
    if (L.shape[1] < 1) die("%s: labels with 0 classes", lpath);
    int bits = (int)(8 * Q.shape[1]);
    if (bits_flag) {
        if ((bits_flag + 7) / 8 != Q.shape[1])
            die("--bits %lld does not fit codes of %lld bytes in %s", bits_flag, (long long)Q.shape[1], qpath);
        bits = (int)bits_flag;
    }
    if (bits > 4096) die("%s: codes of %d bits; at most 4096 are supported", qpath, bits);

    eval_input in = {.qcodes = Q.data, .dbcodes = D.data, .n_query = Q.shape[0], .n_db = D.shape[0],
                     .row_bytes = Q.shape[1], .bits = bits, .labels = L.data, .n_labels = L.shape[0],
                     .n_classes = L.shape[1], .qidx = QI.data, .dbidx = DI.data};
    eval_lists lists = {n_topk, topk, n_pat, pat, n_pn, pn};
    char err[256];
    int which = 0;
    if (eval_check_input(&in, err, sizeof err, &which) != 0) {
        switch (which) {
        case EVAL_BAD_QIDX: die("%s: %s (%s)", qipath, err, lpath);
        case EVAL_BAD_DBIDX: die("%s: %s (%s)", dipath, err, lpath);
        case EVAL_BAD_LABELS: die("%s: %s", lpath, err);
        case EVAL_BAD_QCODES: die("%s: %s", qpath, err);
        default: die("%s: %s", dpath, err);
        }
    }

    int nthreads = omp_get_max_threads();
    eval_ws ws;
    eval_result r;
    eval_ws_alloc(&ws, &in, &lists, nthreads);
    eval_result_alloc(&r, &lists, bits);
    double t0 = now_sec();
    eval_compute(&r, &ws, &in, &lists);
    double t_compute = now_sec() - t0;

    char key[64];
    char *mpath = path_join(out, "metrics.json"), *prpath = path_join(out, "pr.csv"),
         *pnpath = path_join(out, "pn.csv");
    atomic_file *am = af_open(mpath), *apr = af_open(prpath), *apn = af_open(pnpath);
    fprintf(apr->fp, "radius,precision,recall,n_queries_retrieving\n");
    for (int d = 0; d <= bits; d++)
        fprintf(apr->fp, "%d,%.9g,%.9g,%lld\n", d, r.pr_precision[d], r.pr_recall[d], (long long)r.pr_nq[d]);
    fprintf(apn->fp, "N,precision\n");
    for (int i = 0; i < n_pn; i++) {
        if (pn[i] <= 0) fprintf(apn->fp, "%lld,%.9g\n", (long long)in.n_db, r.pn[i]);
        else fprintf(apn->fp, "%lld,%.9g\n", (long long)pn[i], r.pn[i]);
    }
    jw w;
    jw_begin(&w, am->fp);
    jw_int(&w, "bits", bits);
    jw_int(&w, "n_query", in.n_query);
    jw_int(&w, "n_db", in.n_db);
    for (int i = 0; i < n_topk; i++) {
        list_key(key, sizeof key, "mAP@", topk[i]);
        jw_num(&w, key, r.map[i]);
    }
    for (int i = 0; i < n_pat; i++) {
        list_key(key, sizeof key, "P@", pat[i]);
        jw_num(&w, key, r.pat[i]);
    }
    jw_int(&w, "threads", nthreads);
    jw_num(&w, "seconds_compute", t_compute);
    jw_num(&w, "seconds", now_sec() - t_start);
    jw_finish(&w);
    af_commit(apr);
    af_commit(apn);
    af_commit(am);

    for (int i = 0; i < n_topk; i++) {
        list_key(key, sizeof key, "mAP@", topk[i]);
        info("%s = %.4f", key, r.map[i]);
    }
    for (int i = 0; i < n_pat; i++) {
        list_key(key, sizeof key, "P@", pat[i]);
        info("%s = %.4f", key, r.pat[i]);
    }
    info("%lld queries x %lld db codes, %d bits: %.1f ms compute, %d threads", (long long)in.n_query,
         (long long)in.n_db, bits, 1e3 * t_compute, nthreads);
    eval_result_free(&r);
    eval_ws_free(&ws);
    free(mpath);
    free(prpath);
    free(pnpath);
    return 0;
}
