/* dsah-montage: queries and their search results as one framed PNG (the
 * report's Figure 11). Thin main: flags (cli/montage.c), read dsah-search's
 * output, common/report/montage. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/stages.h"
#include "format/json.h"
#include "format/npy.h"
#include "report/montage.h"
#include "util/check.h"
#include "util/util.h"

int main(int argc, char **argv) {
    dsah_init("dsah-montage");
    montage_args a;
    opt_parse(&montage_cmd, &a, argc, argv);
    npy_array IM, L, Q, ID, LM;
    npy_open(&IM, a.images, NPY_U1, 4);
    npy_open(&L, a.labels, NPY_U1, 2);
    npy_open(&Q, a.queries, NPY_I8, 1);
    npy_open(&ID, a.ids, NPY_I8, 1);
    npy_open(&LM, a.lims, NPY_I8, 1);
    const int64_t N = IM.shape[0], H = IM.shape[1], W = IM.shape[2], C = IM.shape[3], nq = Q.shape[0];
    if (C != 1 && C != 3) die("%s: images of %lld channels, expected 1 or 3", a.images, (long long)C);
    npy_expect_dim(&L, 0, N, "one label row per image of --images");
    if (LM.shape[0] != nq + 1) die("%s: %lld limits, expected %lld (one more than the queries of %s)", a.lims, (long long)LM.shape[0], (long long)(nq + 1), a.queries);
    const int64_t *q = Q.data, *ids = ID.data, *lims = LM.data;
    if (lims[0] != 0 || lims[nq] != ID.shape[0]) die("%s: limits run from %lld to %lld, expected 0 to %lld (the rows of %s)", a.lims, (long long)lims[0], (long long)lims[nq], (long long)ID.shape[0], a.ids);
    index_range_or_die(a.queries, q, nq, N, a.images);
    int k = 0;
    for (int64_t i = 0; i < nq; i++) {
        if (lims[i + 1] < lims[i]) die("%s: limits decrease at %lld", a.lims, (long long)i);
        if (lims[i + 1] - lims[i] > 100) die("%s: query %lld has %lld results; at most 100 are shown", a.lims, (long long)i, (long long)(lims[i + 1] - lims[i]));
        if (lims[i + 1] - lims[i] > k) k = (int)(lims[i + 1] - lims[i]);
    }
    for (int64_t i = 0; i < ID.shape[0]; i++)
        if (ids[i] < -1 || ids[i] >= N) die("%s: image %lld at row %lld is outside [0, %lld)", a.ids, (long long)ids[i], (long long)i, (long long)N);
    /* the queries shown: a seeded draw, in query order (report/montage.h) */
    const int rows = (int)(a.examples < nq ? a.examples : nq), kk = k > 0 ? k : 1;
    int64_t *qimg = xmalloc(sizeof(int64_t) * (size_t)rows), *res = xmalloc(sizeof(int64_t) * (size_t)rows * kk), shown;
    int *nres = xmalloc(sizeof(int) * (size_t)rows);
    uint8_t *rel = xcalloc((size_t)rows * kk, 1);
    const int64_t nrel = montage_rows(qimg, res, nres, rel, &shown, rows, kk, (uint64_t)a.seed, nq, q, ids, lims, L.data, L.shape[1]);
    int64_t cw, ch;
    montage_size(&cw, &ch, rows, kk, (int)H, (int)W, (int)a.scale);
    uint8_t *rgb = xmalloc(xmul(xmul((size_t)cw, (size_t)ch, "montage pixels"), 3, "montage bytes"));
    montage_draw(rgb, IM.data, (int)H, (int)W, (int)C, (int)a.scale, rows, kk, qimg, res, nres, rel);
    char *pp = opt_output(&montage_cmd, &a, "out", "montage.png"), *pt = opt_output(&montage_cmd, &a, "out", "montage.tsv"),
         *pj = opt_output(&montage_cmd, &a, "out", "montage.json");
    af_batch_begin();
    atomic_file *ap = af_open(pp), *at = af_open(pt), *aj = af_open(pj);
    if (png_write_rgb(ap->fp, rgb, cw, ch)) die("%s: PNG encoding failed", pp);
    fprintf(at->fp, "row\tquery_image\trank\timage\trelevant\n");
    for (int i = 0; i < rows; i++)
        for (int t = 0; t < nres[i]; t++)
            fprintf(at->fp, "%d\t%lld\t%d\t%lld\t%d\n", i, (long long)qimg[i], t + 1, (long long)res[(int64_t)i * kk + t], rel[(int64_t)i * kk + t]);
    jw j;
    jw_begin(&j, aj->fp);
    jw_int(&j, "examples", rows);
    jw_int(&j, "k", k);
    jw_int(&j, "relevant", nrel);
    jw_int(&j, "shown", shown);
    jw_finish(&j);
    af_commit(ap);
    af_commit(at);
    af_commit(aj);
    af_batch_commit();
    info("%d queries x top %d: %lld of %lld results relevant -> %s", rows, k, (long long)nrel, (long long)shown, a.out);
    free(pp), free(pt), free(pj);
    free(qimg), free(res), free(nres), free(rel), free(rgb);
    npy_close(&IM), npy_close(&L), npy_close(&Q), npy_close(&ID), npy_close(&LM);
    return 0;
}
