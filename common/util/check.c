/* check.c: see check.h. */
#include "util/check.h"

#include <stdio.h>

#include "util/util.h"

void index_range_message(char *err, size_t errlen, int64_t v, int64_t pos, int64_t n, const char *of) {
    snprintf(err, errlen, "index %lld at position %lld is outside the %lld rows of %s", (long long)v, (long long)pos,
             (long long)n, of);
}

int64_t index_range_check(const int64_t *idx, int64_t count, int64_t n, const char *of, char *err, size_t errlen) {
    for (int64_t i = 0; i < count; i++)
        if (idx[i] < 0 || idx[i] >= n) {
            if (err) index_range_message(err, errlen, idx[i], i, n, of);
            return i;
        }
    return -1;
}

void label_range_or_die(const char *path, int64_t item, int label, int nclasses) {
    if (label < 0 || label >= nclasses)
        die("%s: item %lld has label %d, outside the classes 0..%d", path, (long long)item, label, nclasses - 1);
}

void index_range_or_die(const char *path, const int64_t *idx, int64_t count, int64_t n, const char *of) {
    char err[512];
    if (index_range_check(idx, count, n, of, err, sizeof err) >= 0) die("%s: %s", path, err);
}
