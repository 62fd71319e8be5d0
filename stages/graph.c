/* dsah-graph: the initial similarity matrix W0 of DSAH (paper 4.2.1) from
 * training features. Logic: common/hash/graph.c. */
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "cli/stages.h"
#include "util/bits.h"
#include "hash/graph.h"
#include "format/json.h"
#include "format/npy.h"
#include "util/device.h"
#include "util/util.h"

int main(int argc, char **argv) {
    dsah_init("dsah-graph");
    graph_args a;
    opt_parse(&graph_cmd, &a, argc, argv);
    const char *features = a.features, *labels_path = a.labels, *indices_path = a.indices, *device = a.device;
    long long k1 = a.k1, k2 = a.k2;
    int threads = a.threads ? (int)a.threads : omp_get_num_procs();
    if (!labels_path != !indices_path) die("--labels and --indices go together");
    check_device(device);
    omp_set_num_threads(threads);
    double t0 = now_sec();

    npy_array fa;
    npy_open(&fa, features, NPY_F4, 2);
    int64_t n = fa.shape[0], d = fa.shape[1];
    if (n < 2) die("%s: %lld rows; a graph needs n >= 2", features, (long long)n);
    if (d < 1) die("%s: rows have 0 features", features);
    if (n > INT32_MAX) die("%s: %lld rows exceed the int32 indices of wl.npy", features, (long long)n);
    if (k1 >= n) die("--k1 %lld: must be < n = %lld (the rows of %s)", k1, (long long)n, features);
    if (k2 >= n) die("--k2 %lld: must be < n = %lld (the rows of %s)", k2, (long long)n, features);
    const float *x = fa.data;

    double *nrm = xmalloc((size_t)n * sizeof *nrm);
    sim_row_norms_check(nrm, x, n, d, features);

    label_sets ls = {0, 0, NULL};
    if (labels_path) label_sets_load(&ls, labels_path, indices_path, n, "one index per row of --features");

    int64_t bs = sim_default_block(n), rb = bits_row_bytes(n);
    info("n %lld, d %lld, k1 %lld, k2 %lld, %d threads, row blocks of %lld", (long long)n, (long long)d, k1, k2,
         threads, (long long)bs);
    int32_t *wl = xmalloc((size_t)(n * k1) * sizeof *wl);
    {
        knn_buf kb;
        knn_buf_alloc(&kb, n, k1);
        float *work = xaligned((size_t)sim_work_floats(bs, threads) * sizeof(float));
        graph_knn(wl, &kb, work, x, nrm, n, d, k1, bs, threads);
        knn_buf_free(&kb);
        free(work);
    }
    double t_knn = now_sec();

    uint8_t *w0 = xmalloc((size_t)(n * rb));
    graph_counts gc;
    {
        int32_t *a0 = xmalloc((size_t)(n * k1) * sizeof *a0), *a0n = xmalloc((size_t)n * sizeof *a0n);
        int32_t *order = xmalloc((size_t)n * sizeof *order);
        int32_t *inv = xmalloc((size_t)(n * k1) * sizeof *inv);
        int64_t *invoff = xmalloc((size_t)(n + 1) * sizeof *invoff);
        int cb = graph_cnt_bytes(k1);
        void *cnt = xmalloc((size_t)(n * threads) * (size_t)cb);
        int64_t *hist = xmalloc((size_t)((k1 + 1) * threads) * sizeof *hist);
        graph_w0(w0, &gc, a0, a0n, order, inv, invoff, cnt, cb, hist, wl, labels_path ? &ls : NULL, n, k1, k2,
                 threads);
        free(a0); free(a0n); free(order); free(inv); free(invoff); free(cnt); free(hist);
    }
    double t_w0 = now_sec();
    int64_t np_w0 = bitmat_count(w0, n), np_wl = n * k1, np_wh = n * k2;
    int64_t same = 0, tp_w0 = 0;
    if (labels_path) {
        same = label_same_pairs(&ls);
        tp_w0 = bitmat_same_count(w0, &ls, threads);
    }
    double t_lab = now_sec();

    char *wl_path = opt_output(&graph_cmd, &a, "out", "wl.npy"), *w0_path = opt_output(&graph_cmd, &a, "out", "w0.npy"),
         *st_path = opt_output(&graph_cmd, &a, "out", "stats.json");
    af_batch_begin();   /* all three outputs or none */
    npy_save(wl_path, NPY_I4, 2, (int64_t[]){n, k1}, wl);
    npy_save(w0_path, NPY_U1, 2, (int64_t[]){n, rb}, w0);
    double t_end = now_sec();

    atomic_file *af = af_open(st_path);
    jw j;
    jw_begin(&j, af->fp);
    jw_int(&j, "n", n);
    jw_int(&j, "d", d);
    jw_int(&j, "k1", k1);
    jw_int(&j, "k2", k2);
    jw_int(&j, "n_plus_wl", np_wl);
    jw_int(&j, "n_plus_wh", np_wh);
    jw_int(&j, "n_plus_w0", np_w0);
    jw_num(&j, "density_w0", (double)np_w0 / ((double)n * (double)n));
    if (labels_path) {
        double a, b, f;
        jw_int(&j, "same_label_pairs", same);
        fw_score(&a, &b, &f, gc.tp_wl, np_wl, same);
        jw_int(&j, "tp_wl", gc.tp_wl);
        jw_num(&j, "alpha_wl", a); jw_num(&j, "beta_wl", b); jw_num(&j, "f_w_wl", f);
        fw_score(&a, &b, &f, gc.tp_wh, np_wh, same);
        jw_int(&j, "tp_wh", gc.tp_wh);
        jw_num(&j, "alpha_wh", a); jw_num(&j, "beta_wh", b); jw_num(&j, "f_w_wh", f);
        fw_score(&a, &b, &f, tp_w0, np_w0, same);
        jw_int(&j, "tp_w0", tp_w0);
        jw_num(&j, "alpha_w0", a); jw_num(&j, "beta_w0", b); jw_num(&j, "f_w_w0", f);
    }
    jw_int(&j, "threads", threads);
    jw_num(&j, "seconds_knn", t_knn - t0);
    jw_num(&j, "seconds_w0", t_w0 - t_knn);
    jw_num(&j, "seconds_labels", t_lab - t_w0);
    jw_num(&j, "seconds", t_end - t0);
    jw_finish(&j);
    af_commit(af);
    af_batch_commit();
    info("n+ W_L %lld, W_H %lld, W0 %lld; %.2fs (knn %.2fs, overlap+W0 %.2fs)", (long long)np_wl, (long long)np_wh,
         (long long)np_w0, t_end - t0, t_knn - t0, t_w0 - t_knn);

    free(wl_path); free(w0_path); free(st_path);
    free(wl); free(w0); free(nrm);
    label_sets_free(&ls);
    npy_close(&fa);
    return 0;
}
