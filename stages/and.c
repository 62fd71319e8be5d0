/* dsah-and: the Adaptive Neighbor Discovery update of W after a round (paper
 * 4.2.2, Eq. 10-12). Logic: common/hash/and.c. */
#include <getopt.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "hash/and.h"
#include "util/bits.h"
#include "hash/graph.h"
#include "format/json.h"
#include "format/npy.h"
#include "util/util.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: dsah-and --codes Z --w W --gamma G [--labels L --indices I] --out W_NEXT\n"
            "\n"
            "Adaptive Neighbor Discovery (paper Eq. 10-12): s_ij = cos(z_i, z_j);\n"
            "mu and sigma = mean and sample standard deviation (divisor n+ - 1) of s_ij\n"
            "over all ordered pairs (i, j), diagonal included (s_ii = 1), with w_ij = +1,\n"
            "as Eq. 11 sums over i, j = 1..n and n+ counts those pairs; m = mu + G*sigma;\n"
            "every pair with w_ij = -1 and s_ij >= m becomes +1 (both directions: s is\n"
            "computed once per pair, so W stays symmetric).\n"
            "\n"
            "  --codes Z        f4 [n, l] real-valued codes of the training points\n"
            "                   (finite, no all-zero row)\n"
            "  --w W            u1 [n, ceil(n/8)] bit-packed W (symmetric, diagonal 1)\n"
            "  --gamma G        threshold factor gamma (finite)\n"
            "  --labels L       u1 [N, C] multi-hot labels (with --indices): adds alpha,\n"
            "                   beta and F_w of W before and after (paper Figure 7)\n"
            "  --indices I      i8 [n] rows of L that the code rows are\n"
            "  --out W_NEXT     the updated W (same format); and.json is written beside\n"
            "                   it: mu, sigma, m, n+ before and after, flipped pairs\n"
            "  --threads N      OpenMP threads (default: all cores); outputs are\n"
            "                   byte-identical for every N on one machine\n"
            "  --device D       auto|cpu (default auto = cpu: this build has no CUDA)\n"
            "  -q, --quiet      no progress or info lines\n"
            "  --help           this text\n");
}

int main(int argc, char **argv) {
    dsah_init("dsah-and");
    const char *codes = NULL, *wpath = NULL, *labels_path = NULL, *indices_path = NULL, *out = NULL,
               *device = "auto";
    double gamma = NAN;
    int have_gamma = 0, threads = omp_get_num_procs();
    static const struct option opts[] = {
        {"codes", required_argument, 0, 'c'},   {"w", required_argument, 0, 'w'},
        {"gamma", required_argument, 0, 'g'},   {"labels", required_argument, 0, 'l'},
        {"indices", required_argument, 0, 'i'}, {"out", required_argument, 0, 'o'},
        {"threads", required_argument, 0, 't'}, {"device", required_argument, 0, 'd'},
        {"quiet", no_argument, 0, 'q'},         {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "q", opts, NULL)) != -1) {
        switch (c) {
        case 'c': codes = optarg; break;
        case 'w': wpath = optarg; break;
        case 'g':
            gamma = parse_double("--gamma", optarg);
            if (!isfinite(gamma)) die("--gamma: '%s' is not finite", optarg);
            have_gamma = 1;
            break;
        case 'l': labels_path = optarg; break;
        case 'i': indices_path = optarg; break;
        case 'o': out = optarg; break;
        case 't': threads = (int)parse_ll("--threads", optarg, 1, 4096); break;
        case 'd': device = optarg; break;
        case 'q': dsah_quiet = 1; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind < argc) die("unexpected argument '%s' (see --help)", argv[optind]);
    if (!codes) die("--codes is required (see --help)");
    if (!wpath) die("--w is required (see --help)");
    if (!have_gamma) die("--gamma is required (see --help)");
    if (!out) die("--out is required (see --help)");
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
    int64_t bad = sim_row_norms(nrm, z, n, l);
    if (bad >= 0) {
        const float *r = z + bad * l;
        for (int64_t k = 0; k < l; k++)
            if (!isfinite(r[k]))
                die("%s: row %lld, column %lld is %s", codes, (long long)bad, (long long)k,
                    isnan(r[k]) ? "NaN" : "infinite");
        die("%s: row %lld is all zero (its cosine is undefined)", codes, (long long)bad);
    }

    int64_t rb = bits_row_bytes(n);
    npy_open(&wa, wpath, NPY_U1, 2);
    if (wa.shape[0] != n || wa.shape[1] != rb)
        die("%s: shape [%lld, %lld] does not fit the %lld rows of %s (expected [%lld, %lld])", wpath,
            (long long)wa.shape[0], (long long)wa.shape[1], (long long)n, codes, (long long)n, (long long)rb);
    const uint8_t *w = wa.data;
    const char *what = NULL;
    int64_t badw = bitmat_check_shape(w, n, &what);
    if (badw >= 0) {
        if (strcmp(what, "diagonal") == 0) die("%s: diagonal bit of row %lld is 0 (W must have w_ii = +1)", wpath,
                                               (long long)badw);
        die("%s: row %lld has padding bits beyond column %lld set", wpath, (long long)badw, (long long)n);
    }

    label_sets ls = {0, 0, NULL};
    if (labels_path) {
        npy_array la, ia;
        npy_open(&la, labels_path, NPY_U1, 2);
        npy_open(&ia, indices_path, NPY_I8, 1);
        if (ia.shape[0] != n)
            die("%s: %lld indices, but %s has %lld rows", indices_path, (long long)ia.shape[0], codes, (long long)n);
        int64_t badi = label_sets_build(&ls, la.data, la.shape[0], la.shape[1], ia.data, n);
        if (badi >= 0)
            die("%s: index %lld at position %lld is outside the %lld rows of %s", indices_path,
                (long long)((const int64_t *)ia.data)[badi], (long long)badi, (long long)la.shape[0], labels_path);
        npy_close(&la);
        npy_close(&ia);
    }

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

    char dir[4096];
    path_dirname(out, dir, sizeof dir);
    char *jpath = path_join(dir, "and.json");
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
