/* npy.h: NumPy .npy arrays, read by mmap with full header validation and
 * written atomically.
 *
 * Format 1.0/2.0/3.0, C order, little endian. Every artifact of the pipeline
 * opens with numpy.load(path, mmap_mode="r"). The reader checks: magic,
 * version, header dict (descr, fortran_order False, shape), and that the file
 * size is exactly header + payload. Any mismatch is an error naming the file,
 * what was expected and what was found. */
#ifndef DSAH_NPY_H
#define DSAH_NPY_H

#include <stddef.h>
#include <stdint.h>

#include "util/util.h"

/* NPY_F2: IEEE half precision (format/half.h), numpy's float16 */
typedef enum { NPY_U1 = 0, NPY_I4, NPY_I8, NPY_F4, NPY_F8, NPY_F2, NPY_NTYPES } npy_dtype;

#define NPY_MAXDIM 8

typedef struct npy_array {
    char *path;
    npy_dtype dtype;
    int ndim;
    int64_t shape[NPY_MAXDIM];
    int64_t count;      /* product of shape */
    void *data;         /* start of the payload (read-only mapping) */
    size_t nbytes;      /* payload bytes */
    void *map;          /* whole-file mapping */
    size_t maplen;
} npy_array;

size_t npy_itemsize(npy_dtype t);
const char *npy_descr(npy_dtype t);   /* "|u1", "<i4", "<i8", "<f4", "<f8", "<f2" */

/* Open and validate; on failure returns -1 and a message (naming the file) in
 * err. */
int npy_try_open(npy_array *a, const char *path, char *err, size_t errlen);
/* Open, validate, and require dtype and ndim (ndim < 0: any). Dies on
 * failure with "PATH: ..." */
void npy_open(npy_array *a, const char *path, npy_dtype dtype, int ndim);
/* The same with a choice of dtypes: dtype t is allowed when types has bit
 * NPY_BIT(t) ("expected dtype <f4 or <f2, found ..." otherwise). */
#define NPY_BIT(t) (1u << (t))
void npy_open_any(npy_array *a, const char *path, unsigned types, int ndim);
void npy_close(npy_array *a);
/* Shape check helpers that die naming the file: dim k must equal v. */
void npy_expect_dim(const npy_array *a, int k, int64_t v, const char *what);
/* Die if any float element is NaN or infinite (F2/F4/F8). */
void npy_expect_finite(const npy_array *a);

/* Write a whole array atomically (path.tmp.<pid>, fsync, rename). */
void npy_save(const char *path, npy_dtype dtype, int ndim, const int64_t *shape, const void *data);

/* Streaming writer: header first, then payload in pieces, then commit. The
 * byte count is checked at commit. */
typedef struct npy_writer {
    atomic_file *af;
    size_t expect, written;
} npy_writer;
void npy_writer_begin(npy_writer *w, const char *path, npy_dtype dtype, int ndim, const int64_t *shape);
void npy_writer_write(npy_writer *w, const void *data, size_t nbytes);
void npy_writer_commit(npy_writer *w);
void npy_writer_abort(npy_writer *w);

/* Serialise the header (magic..newline, padded to 64) into buf; returns its
 * length. Exposed for tests that corrupt headers. */
size_t npy_header(char *buf, size_t cap, npy_dtype dtype, int ndim, const int64_t *shape);

#endif
