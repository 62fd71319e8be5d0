/* dsah-baseline: shallow hashing baselines (LSH, ITQ, SH, 1-/2-AGH, SP, SGH) from feature vectors
 * (common/hash/baseline*.h; docs/baselines.md). The command line is cli/baseline.c. */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/stages.h"
#include "hash/baseline.h"
#include "hash/baseline_agh.h"
#include "hash/baseline_sh.h"
#include "hash/baseline_sp.h"
#include "nn/sgh.h"
#include "format/json.h"
#include "format/npy.h"
#include "util/util.h"

static const char *const methods[] = {"lsh", "itq", "sh", "agh1", "agh2", "sp", "sgh"};
enum { M_LSH, M_ITQ, M_SH, M_AGH1, M_AGH2, M_SP, M_SGH, M_COUNT };

int main(int argc, char **argv) {
    dsah_init("dsah-baseline");
    double t_start = now_sec();
    baseline_args a;
    opt_parse(&baseline_cmd, &a, argc, argv);
    dsah_set_threads(a.threads);
    const char *tpath = a.train, *qpath = a.query, *dpath = a.db;
    long long bits = a.bits, anchors = a.anchors, nearest = a.nearest, kmeans_iters = a.kmeans_iters;
    double sigma = a.sigma, density = a.density, lambda = a.lambda;
    unsigned long long seed = (unsigned long long)a.seed;
    int method = -1;
    for (int i = 0; i < M_COUNT; i++)
        if (!strcmp(a.method, methods[i])) method = i;
    CHECK(method >= 0); /* the table's choices */
    long long iters = method == M_SP ? a.sp_iters : a.iters;
    int agh = method == M_AGH1 || method == M_AGH2, layers = method == M_AGH2 ? 2 : 1;
    if (agh && nearest > anchors) die("--nearest %lld: must be <= --anchors %lld", nearest, anchors);
    if (agh && bits / layers >= anchors)
        die("%s: --bits %lld needs %lld eigenvectors of the anchor graph, more than --anchors %lld - 1", methods[method],
            bits, bits / layers, anchors);
    const char *name = methods[method];

    npy_array T, Q, D;
    npy_open(&T, tpath, NPY_F4, 2);
    npy_open(&Q, qpath, NPY_F4, 2);
    npy_open(&D, dpath, NPY_F4, 2);
    int64_t n = T.shape[0], dim = T.shape[1];
    if (n < 2) die("%s: %lld training rows; at least 2 are needed", tpath, (long long)n);
    if (dim < 1) die("%s: features of dimension 0", tpath);
    npy_expect_dim(&Q, 1, dim, "the feature dimension of --train");
    npy_expect_dim(&D, 1, dim, "the feature dimension of --train");
    if ((method == M_ITQ || method == M_SP) && bits > dim)
        die("%s: %s needs --bits <= the feature dimension, but bits %lld > d %lld", tpath, name, bits, (long long)dim);
    if (agh && anchors >= n)
        die("%s: %s needs --anchors < the training rows, but anchors %lld >= n %lld", tpath, name, anchors,
            (long long)n);
    npy_expect_finite(&T);
    npy_expect_finite(&Q);
    npy_expect_finite(&D);

    baseline_model lin; /* lsh, itq, sp: sgn((x - mean) P) */
    baseline_ws ws;
    sh_model sh;
    agh_model ag;
    sgh_model sg;
    int linear = method == M_LSH || method == M_ITQ || method == M_SP, with_loss = method == M_ITQ || method == M_SP;
    char err[256];
    double t0 = now_sec(), c0 = cpu_sec();
    if (linear) {
        baseline_model_alloc(&lin, dim, (int)bits, with_loss ? (int)iters : 0);
        baseline_ws_alloc(&ws, method == M_ITQ ? n : 0, dim, (int)bits);
    }
    int rc = 0;
    switch (method) {
    case M_LSH: baseline_fit_lsh(&lin, &ws, T.data, n, seed); break;
    case M_ITQ: rc = baseline_fit_itq(&lin, &ws, T.data, n, seed, err, sizeof err); break;
    case M_SP: rc = sp_fit(&lin, T.data, n, density, lambda, err, sizeof err); break;
    case M_SH:
        sh_model_alloc(&sh, dim, (int)bits);
        rc = sh_fit(&sh, T.data, n, err, sizeof err);
        break;
    case M_SGH:
        sgh_model_alloc(&sg, dim, (int)bits, (int)a.sgh_epochs);
        sgh_fit(&sg, T.data, n, (int)a.sgh_batch, a.sgh_lr, seed);
        break;
    default:
        agh_model_alloc(&ag, dim, (int)bits, layers, (int)anchors, (int)nearest);
        rc = agh_fit(&ag, T.data, n, (int)kmeans_iters, (float)sigma, seed, err, sizeof err);
    }
    if (rc != 0) die("%s: %s", tpath, err);
    double t_fit = now_sec() - t0, c_fit = cpu_sec() - c0;
    if (with_loss) info("%s: %lld iterations, loss %.6g -> %.6g", name, iters, lin.loss[0], lin.loss[iters]);
    if (method == M_SGH)
        info("sgh: %lld epochs, loss %.6g -> %.6g (rho^2 %.4g)", a.sgh_epochs, sg.loss[0], sg.loss[a.sgh_epochs], sg.rho2);
    if (agh) info("%s: sigma %.6g, eigenvalues %.6g .. %.6g", name, ag.sigma, ag.eig[0], ag.eig[ag.r - 1]);
    info("%s %lld bits fitted on %lld x %lld in %.3f s (%.3f CPU s)", name, bits, (long long)n, (long long)dim, t_fit,
         c_fit);

    int64_t rb = bits / 8;
    uint8_t *qc = xmalloc((size_t)(Q.shape[0] * rb)), *dc = xmalloc((size_t)(D.shape[0] * rb));
    const npy_array *sets[2] = {&Q, &D};
    uint8_t *codes[2] = {qc, dc};
    for (int k = 0; k < 2; k++) {
        if (linear) baseline_encode(codes[k], &lin, &ws, sets[k]->data, sets[k]->shape[0]);
        else if (method == M_SH) sh_encode(codes[k], &sh, sets[k]->data, sets[k]->shape[0]);
        else if (method == M_SGH) sgh_encode(codes[k], &sg, sets[k]->data, sets[k]->shape[0]);
        else agh_encode(codes[k], &ag, sets[k]->data, sets[k]->shape[0]);
    }

    char *qo = opt_output(&baseline_cmd, &a, "out", "query.npy"), *dbo = opt_output(&baseline_cmd, &a, "out", "db.npy"),
         *jo = opt_output(&baseline_cmd, &a, "out", "baseline.json");
    mkdir_p(a.out);
    int64_t qs[2] = {Q.shape[0], rb}, ds[2] = {D.shape[0], rb};
    af_batch_begin();   /* all three outputs or none */
    npy_save(qo, NPY_U1, 2, qs, qc);
    npy_save(dbo, NPY_U1, 2, ds, dc);
    atomic_file *af = af_open(jo);
    jw w;
    jw_begin(&w, af->fp);
    jw_str(&w, "method", name);
    jw_int(&w, "bits", bits);
    jw_int(&w, "iters", with_loss ? iters : 0);
    jw_int(&w, "seed", (int64_t)seed);
    jw_int(&w, "n_train", n);
    jw_int(&w, "dim", dim);
    jw_int(&w, "n_query", Q.shape[0]);
    jw_int(&w, "n_db", D.shape[0]);
    if (with_loss) {
        jw_arr(&w, "loss");
        for (int t = 0; t <= iters; t++) jw_num(&w, NULL, lin.loss[t]);
        jw_end(&w);
    }
    if (method == M_SP) {
        int64_t nnz = 0;
        for (int64_t i = 0; i < dim * bits; i++) nnz += lin.proj[i] != 0.0f;
        jw_num(&w, "density", density);
        jw_num(&w, "lambda", lambda);
        jw_int(&w, "nonzeros", nnz);
    }
    if (method == M_SH) {
        jw_arr(&w, "modes"); /* [direction, k] per bit */
        for (int k = 0; k < bits; k++) {
            jw_arr(&w, NULL);
            jw_int(&w, NULL, sh.dir[k]);
            jw_int(&w, NULL, sh.mode[k]);
            jw_end(&w);
        }
        jw_end(&w);
    }
    if (agh) {
        jw_int(&w, "anchors", anchors);
        jw_int(&w, "nearest", nearest);
        jw_int(&w, "kmeans_iters", kmeans_iters);
        jw_num(&w, "sigma", ag.sigma);
        jw_arr(&w, "eigenvalues");
        for (int k = 0; k < ag.r; k++) jw_num(&w, NULL, ag.eig[k]);
        jw_end(&w);
    }
    if (method == M_SGH) {
        jw_int(&w, "epochs", a.sgh_epochs);
        jw_int(&w, "batch", a.sgh_batch);
        jw_num(&w, "lr", a.sgh_lr);
        jw_num(&w, "rho2", sg.rho2);
        jw_arr(&w, "epoch_loss");
        for (int t = 0; t <= a.sgh_epochs; t++) jw_num(&w, NULL, sg.loss[t]);
        jw_end(&w);
    }
    jw_num(&w, "seconds_fit", t_fit);
    jw_num(&w, "cpu_seconds_fit", c_fit);
    jw_num(&w, "seconds", now_sec() - t_start);
    jw_finish(&w);
    af_commit(af);
    af_batch_commit();
    npy_close(&T);
    npy_close(&Q);
    npy_close(&D);
    free(qc);
    free(dc);
    free(qo);
    free(dbo);
    free(jo);
    if (linear) {
        baseline_ws_free(&ws);
        baseline_model_free(&lin);
    } else if (method == M_SH) {
        sh_model_free(&sh);
    } else if (method == M_SGH) {
        sgh_model_free(&sg);
    } else {
        agh_model_free(&ag);
    }
    return 0;
}
