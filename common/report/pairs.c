/* pairs.c: see pairs.h. */
#include "report/pairs.h"

#include <stdlib.h>

#include "util/rng.h"
#include "util/util.h"

int first_label(const uint8_t *labels, int64_t ncols, int64_t row) {
    for (int64_t c = 0; c < ncols; c++)
        if (labels[row * ncols + c]) return (int)c;
    return -1;
}

static const int *sort_cls; /* qsort has no context argument */
static int cmp_cls(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    if (sort_cls[x] != sort_cls[y]) return sort_cls[x] < sort_cls[y] ? -1 : 1;
    return (x > y) - (x < y);
}

void pairs_draw(int64_t *rows, int64_t n, int B, const int *cls, uint64_t seed) {
    rng r;
    rng_seed(&r, seed ^ rng_hash64(0x7061697273ULL)); /* "pairs" */
    rng_sample_i64(&r, rows, n, B);
    sort_cls = cls;
    qsort(rows, (size_t)B, sizeof *rows, cmp_cls);
}

void pairs_class_means(double mean_s[3], double mean_a[3], int64_t cnt[3], const float *s, const float *a,
                       const int *cls_b, int B) {
    for (int k = 0; k < 3; k++) mean_s[k] = mean_a[k] = 0, cnt[k] = 0;
    for (int i = 0; i < B; i++)
        for (int j = 0; j < B; j++) {
            const int k = i == j ? 0 : cls_b[i] == cls_b[j] ? 1 : 2;
            mean_s[k] += s[(int64_t)i * B + j], mean_a[k] += a[(int64_t)i * B + j], cnt[k]++;
        }
    for (int k = 0; k < 3; k++)
        if (cnt[k]) mean_s[k] /= (double)cnt[k], mean_a[k] /= (double)cnt[k];
}
