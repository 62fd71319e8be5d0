/* fuzz_ingest.h: the ingest loaders on fuzzed archives (see fuzz.h). The
 * result is checked for consistency: labels [n, nclass] multi-hot with at
 * least one label per image for the image sources, and images.npy of
 * exactly n images. */
#ifndef DSAH_FUZZ_INGEST_H
#define DSAH_FUZZ_INGEST_H
#include "fuzz.h"
#include "data/ingest.h"
#include "data/ingest_images.h"
#include "format/npy.h"

__attribute__((unused)) static void fuzz_check_result(const ingest_result *r, const char *images, int need_label) {
    npy_array a;
    char err[512];
    if (npy_try_open(&a, images, err, sizeof err) != 0 || a.ndim != 4 || a.shape[0] != r->n) abort();
    npy_close(&a);
    for (int64_t i = 0; i < r->n; i++) {
        int any = 0;
        for (int c = 0; c < r->nclass; c++) {
            if (r->labels[i * r->nclass + c] > 1) abort();
            any |= r->labels[i * r->nclass + c];
        }
        if (need_label && !any) abort();
    }
}

__attribute__((unused)) static void fuzz_free_result(ingest_result *r) {
    for (int c = 0; c < r->nclass; c++) free(r->class_names[c]);
    free(r->class_names);
    free(r->labels);
    memset(r, 0, sizeof *r);
}
#endif
