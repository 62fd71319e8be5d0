/* dsah-pairs: one batch's s_ij and PIC weights a_ij from a trained model's
 * real-valued codes (the report's Figure 5). Thin main: flags (cli/pairs.c),
 * draw the batch (report/pairs.h), nn/loss.h dsah_pair_weights, write. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/stages.h"
#include "format/json.h"
#include "format/npy.h"
#include "nn/loss.h"
#include "report/pairs.h"
#include "util/check.h"
#include "util/util.h"

static void write_dat(atomic_file *af, const float *m, int B) {
    for (int i = 0; i < B; i++)
        for (int j = 0; j < B; j++) fprintf(af->fp, "%.6g%c", m[(int64_t)i * B + j], j + 1 < B ? ' ' : '\n');
}

int main(int argc, char **argv) {
    dsah_init("dsah-pairs");
    pairs_args a;
    opt_parse(&pairs_cmd, &a, argc, argv);
    dsah_set_threads(a.threads);
    npy_array Z, L, I;
    npy_open(&Z, a.codes, NPY_F4, 2);
    npy_open(&L, a.labels, NPY_U1, 2);
    npy_open(&I, a.indices, NPY_I8, 1);
    npy_expect_finite(&Z);
    const int64_t n = Z.shape[0], l = Z.shape[1];
    const int B = (int)a.batch;
    npy_expect_dim(&I, 0, n, "one index per row of --codes");
    if (n < B) die("%s: %lld codes, fewer than --batch %d", a.codes, (long long)n, B);
    if (l < 1) die("%s: codes of 0 bits", a.codes);
    const int64_t *idx = I.data;
    index_range_or_die(a.indices, idx, n, L.shape[0], a.labels);
    /* class of each code: its first label */
    int *cls = xmalloc(sizeof(int) * (size_t)n);
    for (int64_t i = 0; i < n; i++) cls[i] = first_label(L.data, L.shape[1], idx[i]);
    int64_t *perm = xmalloc(sizeof(int64_t) * (size_t)B);
    pairs_draw(perm, n, B, cls, (uint64_t)a.seed);
    const size_t bl = xmul((size_t)B, (size_t)l, "--batch x bits"), bb = xmul((size_t)B, (size_t)B, "--batch squared");
    float *z = xmalloc(xmul(sizeof(float), bl, "codes")), *s = xmalloc(xmul(sizeof(float), bb, "s")),
          *w = xmalloc(xmul(sizeof(float), bb, "a")), *ws = xmalloc(xmul(sizeof(float), bl + (size_t)B, "workspace"));
    int *cls_b = xmalloc(sizeof(int) * (size_t)B);
    for (int i = 0; i < B; i++) {
        memcpy(z + i * l, (const float *)Z.data + perm[i] * l, sizeof(float) * (size_t)l);
        cls_b[i] = cls[perm[i]];
    }
    const pic_mode mode = pic_parse("--pic", a.pic);
    dsah_pair_weights(s, w, ws, z, B, (int)l, a.tau, mode);
    double mean_s[3], mean_a[3];
    int64_t cnt[3];
    pairs_class_means(mean_s, mean_a, cnt, s, w, cls_b, B);
    char *pb = opt_output(&pairs_cmd, &a, "out", "batch.npy"), *ps = opt_output(&pairs_cmd, &a, "out", "s.npy"),
         *pa = opt_output(&pairs_cmd, &a, "out", "a.npy"), *pds = opt_output(&pairs_cmd, &a, "out", "s.dat"),
         *pda = opt_output(&pairs_cmd, &a, "out", "a.dat"), *pj = opt_output(&pairs_cmd, &a, "out", "pairs.json");
    af_batch_begin();
    int64_t sh1[1] = {B}, sh2[2] = {B, B};
    npy_save(pb, NPY_I8, 1, sh1, perm);
    npy_save(ps, NPY_F4, 2, sh2, s);
    npy_save(pa, NPY_F4, 2, sh2, w);
    atomic_file *as = af_open(pds), *aa = af_open(pda), *aj = af_open(pj);
    write_dat(as, s, B);
    write_dat(aa, w, B);
    jw j;
    jw_begin(&j, aj->fp);
    jw_int(&j, "batch", B);
    jw_int(&j, "bits", l);
    jw_num(&j, "tau", a.tau);
    jw_str(&j, "pic", a.pic);
    const char *names[3] = {"diagonal", "same_class", "different_class"};
    char key[64];
    for (int k = 0; k < 3; k++) {
        snprintf(key, sizeof key, "mean_s_%s", names[k]);
        jw_num(&j, key, mean_s[k]);
        snprintf(key, sizeof key, "mean_a_%s", names[k]);
        jw_num(&j, key, mean_a[k]);
        snprintf(key, sizeof key, "pairs_%s", names[k]);
        jw_int(&j, key, cnt[k]);
    }
    jw_finish(&j);
    af_commit(as);
    af_commit(aa);
    af_commit(aj);
    af_batch_commit();
    info("batch of %d: mean s diagonal %.3f, same class %.3f, different %.3f; mean a %.3f / %.3f / %.3f -> %s", B,
         mean_s[0], mean_s[1], mean_s[2], mean_a[0], mean_a[1], mean_a[2], a.out);
    free(pb), free(ps), free(pa), free(pds), free(pda), free(pj);
    free(cls), free(perm), free(z), free(s), free(w), free(ws), free(cls_b);
    npy_close(&Z), npy_close(&L), npy_close(&I);
    return 0;
}
