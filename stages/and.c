/* dsah-and: the Adaptive Neighbor Discovery update of W after a round (paper
 * 4.2.2, Eq. 10-12). Logic: common/hash/and.c. */
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "cli/stages.h"
#include "hash/and.h"
#include "util/bits.h"
#include "hash/graph.h"
#include "format/json.h"
#include "format/npy.h"
#include "util/device.h"
#include "util/util.h"

int main(int argc, char **argv) {
    dsah_init("dsah-and");
    and_args a;
    opt_parse(&and_cmd, &a, argc, argv);
    const char *codes = a.codes, *wpath = a.w, *labels_path = a.labels, *indices_path = a.indices, *out = a.out,
               *device = a.device;
    double gamma = a.gamma;
    int threads = a.threads ? (int)a.threads : omp_get_num_procs();
    if (!labels_path != !indices_path) die("--labels and --indices go together");
    check_device(device);
    omp_set_num_threads(threads);
    double t0 = now_sec();

    npy_array za, wa;
    npy_open(&za, codes, NPY_F4, 2);
    int64_t n = za.shape[0], l = za.shape[1];
    if (n < 2) die("%s: %lld rows; AND needs n >= 2", codes, (long long)n);
    if (l < 1) die("%s: codes have 0 bits", codes);
    const float *z = za.data;
    double *nrm = xmalloc((size_t)n * sizeof *nrm);
    sim_row_norms_check(nrm, z, n, l, codes);

    int64_t rb = bits_row_bytes(n);
    npy_open(&wa, wpath, NPY_U1, 2);
    npy_expect_dim(&wa, 0, n, "one row per row of --codes");
    npy_expect_dim(&wa, 1, rb, "ceil(n/8) bytes per row");
    const uint8_t *w = wa.data;
    const char *what = NULL;
    int64_t badw = bitmat_check_shape(w, n, &what);
    if (badw >= 0) {
        if (strcmp(what, "diagonal") == 0) die("%s: diagonal bit of row %lld is 0 (W must have w_ii = +1)", wpath,
                                               (long long)badw);
        die("%s: row %lld has padding bits beyond column %lld set", wpath, (long long)badw, (long long)n);
    }

    label_sets ls = {0, 0, NULL};
    if (labels_path) label_sets_load(&ls, labels_path, indices_path, n, "one index per row of --codes");

    int64_t bs = sim_default_block(n), nb = sim_nblocks(n, bs);
    uint8_t *wout = xmalloc((size_t)(n * rb));
    and_task *tasks = xmalloc((size_t)(nb * nb) * sizeof *tasks);
    float *work = xaligned((size_t)sim_work_floats(bs, threads) * sizeof(float));
    and_result res;
    int64_t aj = -1, ai = and_update(wout, &res, tasks, work, w, z, nrm, n, l, gamma, bs, threads, &aj);
    if (ai >= 0)
        die("%s: not symmetric: w[%lld][%lld] = %d but w[%lld][%lld] = %d", wpath, (long long)ai, (long long)aj,
            bits_get(w + ai * rb, aj), (long long)aj, (long long)ai, bits_get(w + aj * rb, ai));
    double t_and = now_sec();

    int64_t same = 0, tp_before = 0, tp_after = 0;
    if (labels_path) {
        same = label_same_pairs(&ls);
        tp_before = bitmat_same_count(w, &ls, threads);
        tp_after = bitmat_same_count(wout, &ls, threads);
    }

    char *jpath = opt_output(&and_cmd, &a, "out", "and.json");
    af_batch_begin();   /* both outputs or none */
    npy_save(out, NPY_U1, 2, (int64_t[]){n, rb}, wout);
    double t_end = now_sec();
    atomic_file *af = af_open(jpath);
    jw j;
    jw_begin(&j, af->fp);
    jw_int(&j, "n", n);
    jw_int(&j, "l", l);
    jw_num(&j, "gamma", gamma);
    jw_num(&j, "mu", res.mu);
    jw_num(&j, "sigma", res.sigma);
    jw_num(&j, "m", res.m);
    jw_int(&j, "n_plus_before", res.n_plus_before);
    jw_int(&j, "n_plus_after", res.n_plus_after);
    jw_int(&j, "flipped", res.flipped);
    if (labels_path) {
        double a, b, f;
        jw_int(&j, "same_label_pairs", same);
        fw_score(&a, &b, &f, tp_before, res.n_plus_before, same);
        jw_int(&j, "tp_before", tp_before);
        jw_num(&j, "alpha_before", a); jw_num(&j, "beta_before", b); jw_num(&j, "f_w_before", f);
        fw_score(&a, &b, &f, tp_after, res.n_plus_after, same);
        jw_int(&j, "tp", tp_after);
        jw_num(&j, "alpha", a); jw_num(&j, "beta", b); jw_num(&j, "f_w", f);
    }
    jw_int(&j, "threads", threads);
    jw_num(&j, "seconds_and", t_and - t0);
    jw_num(&j, "seconds", t_end - t0);
    jw_finish(&j);
    af_commit(af);
    af_batch_commit();
    info("mu %.6f, sigma %.6f, m %.6f; n+ %lld -> %lld; %.2fs", res.mu, res.sigma, res.m,
         (long long)res.n_plus_before, (long long)res.n_plus_after, t_end - t0);

    free(jpath); free(wout); free(tasks); free(work); free(nrm);
    label_sets_free(&ls);
    npy_close(&za);
    npy_close(&wa);
    return 0;
}
