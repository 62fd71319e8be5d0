/* dsah-ssdh: SSDH's ternary similarity from training features (hash/ssdh.h).
 * The command line is cli/ssdh.c. */
#include <stdio.h>
#include <stdlib.h>

#include "cli/stages.h"
#include "format/json.h"
#include "format/npy.h"
#include "hash/ssdh.h"
#include "util/bits.h"
#include "util/util.h"

int main(int argc, char **argv) {
    dsah_init("dsah-ssdh");
    double t0 = now_sec();
    ssdh_args a;
    opt_parse(&ssdh_cmd, &a, argc, argv);
    dsah_set_threads(a.threads);
    npy_array F;
    npy_open(&F, a.features, NPY_F4, 2);
    const int64_t n = F.shape[0], d = F.shape[1];
    if (n < 2) die("%s: %lld rows; at least 2 are needed", a.features, (long long)n);
    if (d < 1) die("%s: features of dimension 0", a.features);
    npy_expect_finite(&F);
    const int64_t rb = bits_row_bytes(n);
    uint8_t *sign = xmalloc((size_t)(n * rb)), *mask = xmalloc((size_t)(n * rb));
    ssdh_stats st;
    ssdh_similarity(&st, sign, mask, F.data, n, d, a.alpha, a.beta);
    info("%lld pairs: mode %.4f, sigma_l %.4f, sigma_r %.4f; similar below %.4f (%lld pairs), dissimilar above %.4f "
         "(%lld pairs)",
         (long long)st.pairs, st.mode, st.sigma_l, st.sigma_r, st.d_l, (long long)st.n_pos, st.d_r,
         (long long)st.n_neg);
    mkdir_p(a.out);
    char *wp = opt_output(&ssdh_cmd, &a, "out", "w.npy"), *mp = opt_output(&ssdh_cmd, &a, "out", "mask.npy"),
         *jp = opt_output(&ssdh_cmd, &a, "out", "stats.json");
    int64_t shape[2] = {n, rb};
    af_batch_begin();   /* all three outputs or none */
    npy_save(wp, NPY_U1, 2, shape, sign);
    npy_save(mp, NPY_U1, 2, shape, mask);
    atomic_file *af = af_open(jp);
    jw w;
    jw_begin(&w, af->fp);
    jw_int(&w, "n", n);
    jw_int(&w, "dim", d);
    jw_num(&w, "alpha", a.alpha);
    jw_num(&w, "beta", a.beta);
    jw_num(&w, "mode", st.mode);
    jw_num(&w, "sigma_l", st.sigma_l);
    jw_num(&w, "sigma_r", st.sigma_r);
    jw_num(&w, "d_l", st.d_l);
    jw_num(&w, "d_r", st.d_r);
    jw_int(&w, "pairs", st.pairs);
    jw_int(&w, "similar_pairs", st.n_pos);
    jw_int(&w, "dissimilar_pairs", st.n_neg);
    jw_num(&w, "seconds", now_sec() - t0);
    jw_finish(&w);
    af_commit(af);
    af_batch_commit();
    free(sign);
    free(mask);
    free(wp);
    free(mp);
    free(jp);
    npy_close(&F);
    return 0;
}
