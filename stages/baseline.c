/* dsah-baseline: LSH and ITQ hash codes from feature vectors (common/hash/baseline.h). */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/stages.h"
#include "hash/baseline.h"
#include "format/json.h"
#include "format/npy.h"
#include "util/util.h"

int main(int argc, char **argv) {
    dsah_init("dsah-baseline");
    double t_start = now_sec();
    baseline_args a;
    opt_parse(&baseline_cmd, &a, argc, argv);
    dsah_set_threads(a.threads);
    const char *method = a.method, *tpath = a.train, *qpath = a.query, *dpath = a.db;
    long long bits = a.bits, iters = a.iters;
    unsigned long long seed = (unsigned long long)a.seed;
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

    char *qo = opt_output(&baseline_cmd, &a, "out", "query.npy"), *dbo = opt_output(&baseline_cmd, &a, "out", "db.npy"),
         *jo = opt_output(&baseline_cmd, &a, "out", "baseline.json");
    mkdir_p(a.out);
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
