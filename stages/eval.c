/* dsah-eval: retrieval metrics of packed codes (mAP@K, P@N, P-curve, PR
 * curve by Hamming radius). The metrics are defined in common/hash/eval.h. */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/stages.h"
#include "hash/eval.h"
#include "format/json.h"
#include "format/npy.h"
#include "util/device.h"
#include "util/util.h"

static void list_key(char *buf, size_t n, const char *prefix, int64_t v) {
    if (v <= 0) snprintf(buf, n, "%sall", prefix);
    else snprintf(buf, n, "%s%lld", prefix, (long long)v);
}

int main(int argc, char **argv) {
    dsah_init("dsah-eval");
    double t_start = now_sec();
    eval_args a;
    opt_parse(&eval_cmd, &a, argc, argv);
    check_device(a.device);
    dsah_set_threads(a.threads);
    dsah_pin_threads();
    const char *qpath = a.query_codes, *dpath = a.db_codes, *lpath = a.labels, *qipath = a.query_indices,
               *dipath = a.db_indices;
    long long bits_flag = a.bits;
    int n_topk = a.topk.n, n_pat = a.precision_at.n, n_pn = a.pn_at.n;
    int64_t *topk = xmalloc(sizeof(int64_t) * (size_t)n_topk), *pat = xmalloc(sizeof(int64_t) * (size_t)n_pat),
            *pn = xmalloc(sizeof(int64_t) * (size_t)n_pn);
    for (int i = 0; i < n_topk; i++) topk[i] = a.topk.v[i];
    for (int i = 0; i < n_pat; i++) pat[i] = a.precision_at.v[i];
    for (int i = 0; i < n_pn; i++) pn[i] = a.pn_at.v[i];

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
    npy_expect_dim(&QI, 0, Q.shape[0], "one index per query code");
    npy_expect_dim(&DI, 0, D.shape[0], "one index per database code");
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
    char *mpath = opt_output(&eval_cmd, &a, "out", "metrics.json"), *prpath = opt_output(&eval_cmd, &a, "out", "pr.csv"),
         *pnpath = opt_output(&eval_cmd, &a, "out", "pn.csv");
    af_batch_begin();   /* all three outputs or none */
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
    /* tie-aware: expected over every order within tied distances (eval.h) */
    for (int i = 0; i < n_topk; i++) {
        list_key(key, sizeof key, "tie_mAP@", topk[i]);
        jw_num(&w, key, r.tie_map[i]);
    }
    for (int i = 0; i < n_pat; i++) {
        list_key(key, sizeof key, "tie_P@", pat[i]);
        jw_num(&w, key, r.tie_pat[i]);
    }
    jw_int(&w, "threads", nthreads);
    jw_num(&w, "seconds_compute", t_compute);
    jw_num(&w, "seconds", now_sec() - t_start);
    jw_finish(&w);
    af_commit(apr);
    af_commit(apn);
    af_commit(am);
    af_batch_commit();

    for (int i = 0; i < n_topk; i++) {
        list_key(key, sizeof key, "mAP@", topk[i]);
        info("%s = %.4f (tie-aware %.4f)", key, r.map[i], r.tie_map[i]);
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
    free(topk);
    free(pat);
    free(pn);
    npy_close(&Q);
    npy_close(&D);
    npy_close(&L);
    npy_close(&QI);
    npy_close(&DI);
    return 0;
}
