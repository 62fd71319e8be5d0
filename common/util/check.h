/* check.h: checks on values read from files that several stages make, one
 * function and one wording each, so the same problem reads the same
 * everywhere. (Shape agreement between arrays is npy_expect_dim in
 * format/npy.h; a row set's norms are sim_row_norms_check in hash/graph.h.) */
#ifndef DSAH_CHECK_H
#define DSAH_CHECK_H

#include <stddef.h>
#include <stdint.h>

/* The one wording of an index out of range:
 *   "index <v> at position <pos> is outside the <n> rows of <of>". */
void index_range_message(char *err, size_t errlen, int64_t v, int64_t pos, int64_t n, const char *of);
/* The first position i < count whose idx[i] is outside [0, n), or -1. When
 * there is one and err is not NULL, err gets its message. */
int64_t index_range_check(const int64_t *idx, int64_t count, int64_t n, const char *of, char *err, size_t errlen);
/* The same check, dying "<path>: <that wording>" (path: the file idx came
 * from; of: what it indexes, usually a file too). */
void index_range_or_die(const char *path, const int64_t *idx, int64_t count, int64_t n, const char *of);

/* A class label read from `path` in 0..nclasses-1: else dies
 *   "<path>: item <item> has label <label>, outside the classes 0..<nclasses-1>". */
void label_range_or_die(const char *path, int64_t item, int label, int nclasses);

#endif
