/* dsah-tsne: t-SNE of a seeded sample of codes or features (the report's
 * Figure 10). Thin main: flags (cli/tsne.c), read, sample, common/report/tsne. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/stages.h"
#include "format/json.h"
#include "format/npy.h"
#include "report/pairs.h"
#include "report/tsne.h"
#include "util/check.h"
#include "util/rng.h"
#include "util/util.h"

int main(int argc, char **argv) {
    dsah_init("dsah-tsne");
    double t0 = now_sec();
    tsne_args a;
    opt_parse(&tsne_cmd, &a, argc, argv);
    dsah_set_threads(a.threads);
    if ((a.labels == NULL) != (a.indices == NULL)) die("--labels and --indices go together");
    npy_array X;
    char err[512];
    if (npy_try_open(&X, a.input, err, sizeof err)) die("%s", err);
    if (X.ndim != 2) die("%s: %d dimensions, expected 2 ([n, bytes] codes or [n, d] features)", a.input, X.ndim);
    if (X.dtype != NPY_U1 && X.dtype != NPY_F4) die("%s: dtype %s, expected |u1 (packed codes) or <f4 (features)", a.input, npy_descr(X.dtype));
    const int64_t N = X.shape[0];
    int64_t d = X.shape[1];
    if (N < 4 || d < 1) die("%s: %lld rows of %lld values; t-SNE needs at least 4 rows", a.input, (long long)N, (long long)d);
    if (X.dtype == NPY_U1) {
        int64_t bits = 8 * d;
        if (a.bits) {
            if ((a.bits + 7) / 8 != d) die("--bits %lld does not fit codes of %lld bytes in %s", a.bits, (long long)d, a.input);
            bits = a.bits;
        }
        d = bits;
    } else {
        if (a.bits) die("--bits is for packed codes; %s holds features", a.input);
        npy_expect_finite(&X);
    }
    /* the sample: a seeded partial shuffle, then ascending */
    const int64_t n = (a.points <= 0 || a.points >= N) ? N : a.points;
    if (n > TSNE_MAX_N) die("%s: %lld points; exact t-SNE takes at most %d (give --points)", a.input, (long long)n, TSNE_MAX_N);
    if (!(a.perplexity < (double)(n - 1))) die("--perplexity %g: must be below the number of points - 1 (%lld)", a.perplexity, (long long)(n - 1));
    int64_t *perm = xmalloc(sizeof(int64_t) * (size_t)n);
    rng r;
    rng_seed(&r, (uint64_t)a.seed ^ rng_hash64(0x73616d706c65ULL)); /* "sample" */
    rng_sample_i64(&r, perm, N, n);
    size_t nn, nd;
    if (size_mul(&nn, (size_t)n, (size_t)n) || size_mul(&nd, (size_t)n, (size_t)d)) die("%s: too many points", a.input);
    float *pts = xmalloc(sizeof(float) * nd);
    for (int64_t i = 0; i < n; i++) {
        const uint8_t *row = (const uint8_t *)X.data + perm[i] * X.shape[1] * (X.dtype == NPY_U1 ? 1 : 4);
        for (int64_t k = 0; k < d; k++)
            pts[i * d + k] = X.dtype == NPY_U1 ? (((row[k >> 3] >> (k & 7)) & 1) ? 1.0f : -1.0f) : ((const float *)row)[k];
    }
    int *cls = xmalloc(sizeof(int) * (size_t)n);
    for (int64_t i = 0; i < n; i++) cls[i] = -1;
    if (a.labels) {
        npy_array L, I;
        npy_open(&L, a.labels, NPY_U1, 2);
        npy_open(&I, a.indices, NPY_I8, 1);
        npy_expect_dim(&I, 0, N, "one index per row of --input");
        const int64_t *idx = I.data;
        index_range_or_die(a.indices, idx, N, L.shape[0], a.labels);
        for (int64_t i = 0; i < n; i++) {
            int64_t row = idx[perm[i]];
            cls[i] = first_label(L.data, L.shape[1], row);
        }
        npy_close(&L);
        npy_close(&I);
    }
    float *D2 = xmalloc(sizeof(float) * nn), *P = xmalloc(sizeof(float) * nn);
    tsne_sqdist(D2, pts, n, d);
    tsne_joint_p(P, NULL, D2, n, a.perplexity);
    tsne_opts o;
    tsne_default_opts(&o);
    o.perplexity = a.perplexity;
    o.iters = (int)a.iters;
    o.exag_iters = o.iters < 250 ? o.iters : 250;
    o.seed = (uint64_t)a.seed;
    double *Y = xmalloc(sizeof(double) * (size_t)(2 * n)), *scratch = xmalloc(sizeof(double) * (size_t)(6 * n));
    double kl = tsne_run(Y, scratch, P, n, &o);
    const int k5 = 2 * 5 < n ? 5 : 1, k10 = 2 * 10 < n ? 10 : 1;
    double t5 = tsne_trustworthiness(D2, Y, n, k5), t10 = tsne_trustworthiness(D2, Y, n, k10);
    float *Yf = xmalloc(sizeof(float) * (size_t)(2 * n));
    for (int64_t i = 0; i < 2 * n; i++) Yf[i] = (float)Y[i];

    char *py = opt_output(&tsne_cmd, &a, "out", "tsne.npy"), *pi = opt_output(&tsne_cmd, &a, "out", "items.npy"),
         *pt = opt_output(&tsne_cmd, &a, "out", "tsne.tsv"), *pj = opt_output(&tsne_cmd, &a, "out", "tsne.json");
    af_batch_begin();
    int64_t shY[2] = {n, 2}, shI[1] = {n};
    npy_save(py, NPY_F4, 2, shY, Yf);
    npy_save(pi, NPY_I8, 1, shI, perm);
    atomic_file *at = af_open(pt), *aj = af_open(pj);
    fprintf(at->fp, "x\ty\tclass\n");
    for (int64_t i = 0; i < n; i++) fprintf(at->fp, "%.6g\t%.6g\t%d\n", Yf[2 * i], Yf[2 * i + 1], cls[i]);
    jw w;
    jw_begin(&w, aj->fp);
    jw_int(&w, "n", n);
    jw_int(&w, "dim", d);
    jw_num(&w, "perplexity", a.perplexity);
    jw_int(&w, "iters", a.iters);
    jw_int(&w, "seed", a.seed);
    jw_num(&w, "kl", kl);
    jw_num(&w, "trustworthiness_5", t5);
    jw_num(&w, "trustworthiness_10", t10);
    jw_num(&w, "seconds", now_sec() - t0);
    jw_finish(&w);
    af_commit(at);
    af_commit(aj);
    af_batch_commit();
    info("%lld points of %lld dimensions: KL %.4f, trustworthiness(5) %.4f, (10) %.4f, %.1f s -> %s", (long long)n, (long long)d, kl, t5, t10, now_sec() - t0, a.out);
    npy_close(&X);
    free(py), free(pi), free(pt), free(pj);
    free(perm), free(pts), free(cls), free(D2), free(P), free(Y), free(scratch), free(Yf);
    return 0;
}
