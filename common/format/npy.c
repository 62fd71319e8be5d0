/* npy.c: see npy.h. */
#define _GNU_SOURCE
#include "format/npy.h"
#include "format/half.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *descr_table[NPY_NTYPES] = {"|u1", "<i4", "<i8", "<f4", "<f8", "<f2"};
static const size_t size_table[NPY_NTYPES] = {1, 4, 8, 4, 8, 2};

size_t npy_itemsize(npy_dtype t) { return size_table[t]; }
const char *npy_descr(npy_dtype t) { return descr_table[t]; }

static int fail(char *err, size_t n, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, n, fmt, ap);
    va_end(ap);
    return -1;
}

static const char *skip_ws(const char *p, const char *end) {
    while (p < end && (*p == ' ' || *p == '\t')) p++;
    return p;
}

/* Parse the header dict {'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }
 * Keys may come in any order; exactly these three are required. */
static int parse_dict(npy_array *a, const char *h, size_t hl, char *err, size_t en) {
    const char *p = h, *end = h + hl;
    int have_descr = 0, have_fo = 0, have_shape = 0;
    p = skip_ws(p, end);
    if (p >= end || *p != '{') return fail(err, en, "%s: bad .npy header: no '{'", a->path);
    p++;
    for (;;) {
        p = skip_ws(p, end);
        if (p < end && *p == '}') break;
        if (p >= end || (*p != '\'' && *p != '"')) return fail(err, en, "%s: bad .npy header: expected a key", a->path);
        char q = *p++;
        const char *k = p;
        while (p < end && *p != q) p++;
        if (p >= end) return fail(err, en, "%s: bad .npy header: unterminated key", a->path);
        size_t kl = (size_t)(p - k);
        p++;
        p = skip_ws(p, end);
        if (p >= end || *p != ':') return fail(err, en, "%s: bad .npy header: expected ':'", a->path);
        p = skip_ws(p + 1, end);
        if (kl == 5 && !memcmp(k, "descr", 5)) {
            if (p >= end || (*p != '\'' && *p != '"')) return fail(err, en, "%s: bad .npy header: descr is not a string", a->path);
            char q2 = *p++;
            const char *v = p;
            while (p < end && *p != q2) p++;
            if (p >= end) return fail(err, en, "%s: bad .npy header: unterminated descr", a->path);
            size_t vl = (size_t)(p - v);
            p++;
            int found = -1;
            for (int t = 0; t < NPY_NTYPES; t++) {
                const char *d = descr_table[t];
                if (vl == 3 && !memcmp(v, d, 3)) found = t;
                /* numpy writes u1 as "|u1"; accept "<u1" too */
                if (t == NPY_U1 && vl == 3 && !memcmp(v, "<u1", 3)) found = t;
            }
            if (found < 0) return fail(err, en, "%s: unsupported dtype '%.*s' (supported: |u1 <i4 <i8 <f2 <f4 <f8)", a->path, (int)vl, v);
            a->dtype = (npy_dtype)found;
            have_descr = 1;
        } else if (kl == 13 && !memcmp(k, "fortran_order", 13)) {
            if (end - p >= 5 && !memcmp(p, "False", 5)) p += 5;
            else if (end - p >= 4 && !memcmp(p, "True", 4)) return fail(err, en, "%s: fortran_order is True; only C order is supported", a->path);
            else return fail(err, en, "%s: bad .npy header: fortran_order is not a boolean", a->path);
            have_fo = 1;
        } else if (kl == 5 && !memcmp(k, "shape", 5)) {
            if (p >= end || *p != '(') return fail(err, en, "%s: bad .npy header: shape is not a tuple", a->path);
            p++;
            a->ndim = 0;
            for (;;) {
                p = skip_ws(p, end);
                if (p < end && *p == ')') { p++; break; }
                if (p >= end || *p < '0' || *p > '9') return fail(err, en, "%s: bad .npy header: bad shape", a->path);
                int64_t v = 0;
                while (p < end && *p >= '0' && *p <= '9') {
                    if (v > ((int64_t)1 << 50)) return fail(err, en, "%s: bad .npy header: shape too large", a->path);
                    v = v * 10 + (*p++ - '0');
                }
                if (a->ndim == NPY_MAXDIM) return fail(err, en, "%s: more than %d dimensions", a->path, NPY_MAXDIM);
                a->shape[a->ndim++] = v;
                p = skip_ws(p, end);
                if (p < end && *p == ',') p++;
                else if (p < end && *p == ')') { p++; break; }
                else return fail(err, en, "%s: bad .npy header: bad shape", a->path);
            }
            have_shape = 1;
        } else {
            return fail(err, en, "%s: bad .npy header: unknown key '%.*s'", a->path, (int)kl, k);
        }
        p = skip_ws(p, end);
        if (p < end && *p == ',') { p++; continue; }
        p = skip_ws(p, end);
        if (p < end && *p == '}') break;
        return fail(err, en, "%s: bad .npy header: expected ',' or '}'", a->path);
    }
    if (!have_descr || !have_fo || !have_shape)
        return fail(err, en, "%s: bad .npy header: missing %s", a->path,
                    !have_descr ? "descr" : !have_fo ? "fortran_order" : "shape");
    return 0;
}

int npy_try_open(npy_array *a, const char *path, char *err, size_t en) {
    memset(a, 0, sizeof *a);
    a->path = xstrdup(path);
    int fd = open_input(path, err, en);
    if (fd < 0) { npy_close(a); return -1; }
    struct stat st;
    if (fstat(fd, &st) != 0) { close(fd); npy_close(a); return fail(err, en, "%s: cannot stat: %s", path, strerror(errno)); }
    size_t len = (size_t)st.st_size;
    if (len < 10) { close(fd); npy_close(a); return fail(err, en, "%s: truncated .npy file (%zu bytes, no header)", path, len); }
    void *m = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
    close(fd);
    if (m == MAP_FAILED) { npy_close(a); return fail(err, en, "%s: mmap failed: %s", path, strerror(errno)); }
    a->map = m;
    a->maplen = len;
    const unsigned char *b = m;
    if (memcmp(b, "\x93NUMPY", 6) != 0) { npy_close(a); return fail(err, en, "%s: not a .npy file (bad magic)", path); }
    int major = b[6];
    size_t hl, off;
    if (major == 1) { hl = (size_t)b[8] | ((size_t)b[9] << 8); off = 10; }
    else if (major == 2 || major == 3) {
        if (len < 12) { npy_close(a); return fail(err, en, "%s: truncated .npy header", path); }
        hl = (size_t)b[8] | ((size_t)b[9] << 8) | ((size_t)b[10] << 16) | ((size_t)b[11] << 24);
        off = 12;
    } else {
        int minor = b[7];
        npy_close(a);
        return fail(err, en, "%s: unsupported .npy version %d.%d", path, major, minor);
    }
    if (off + hl > len) { npy_close(a); return fail(err, en, "%s: truncated .npy header (header says %zu bytes, file has %zu)", path, off + hl, len); }
    if (parse_dict(a, (const char *)b + off, hl, err, en) != 0) { npy_close(a); return -1; }
    /* The payload size in bytes must fit (checked: a shape such as
     * (2^31, 2^31) of f4 wraps to 0 otherwise) before it is compared. */
    size_t count, nbytes;
    if (size_prod(&count, 1, a->shape, a->ndim) || size_prod(&nbytes, size_table[a->dtype], a->shape, a->ndim)) {
        npy_close(a);
        return fail(err, en, "%s: shape overflows (the payload size does not fit in 64 bits)", path);
    }
    a->count = (int64_t)count;
    a->nbytes = nbytes;
    size_t have = len - off - hl;
    if (a->nbytes != have) {
        int r = fail(err, en, "%s: %s .npy file: header promises %zu payload bytes, file has %zu",
                     path, have < a->nbytes ? "truncated" : "oversized", a->nbytes, have);
        npy_close(a);
        return r;
    }
    a->data = (unsigned char *)m + off + hl;
    return 0;
}

static void shape_str(char *buf, size_t n, int ndim, const int64_t *shape) {
    size_t k = 0;
    k += (size_t)snprintf(buf + k, n - k, "[");
    for (int i = 0; i < ndim && k < n; i++) k += (size_t)snprintf(buf + k, n - k, i ? ",%lld" : "%lld", (long long)shape[i]);
    if (k < n) snprintf(buf + k, n - k, "]");
}

void npy_open(npy_array *a, const char *path, npy_dtype dtype, int ndim) { npy_open_any(a, path, NPY_BIT(dtype), ndim); }

void npy_open_any(npy_array *a, const char *path, unsigned types, int ndim) {
    char err[512];
    if (npy_try_open(a, path, err, sizeof err) != 0) die("%s", err);
    if (!(types & NPY_BIT(a->dtype))) {
        char want[64] = "";
        for (int t = 0; t < NPY_NTYPES; t++)
            if (types & NPY_BIT(t))
                snprintf(want + strlen(want), sizeof want - strlen(want), "%s%s", *want ? " or " : "", descr_table[t]);
        die("%s: expected dtype %s, found %s", path, want, descr_table[a->dtype]);
    }
    if (ndim >= 0 && a->ndim != ndim) {
        char s[128];
        shape_str(s, sizeof s, a->ndim, a->shape);
        die("%s: expected %d dimensions, found shape %s", path, ndim, s);
    }
}

void npy_close(npy_array *a) {
    if (a->map) munmap(a->map, a->maplen);
    free(a->path);
    memset(a, 0, sizeof *a);
}

void npy_expect_dim(const npy_array *a, int k, int64_t v, const char *what) {
    if (k >= a->ndim || a->shape[k] != v) {
        char s[128];
        shape_str(s, sizeof s, a->ndim, a->shape);
        die("%s: expected dimension %d to be %lld (%s), found shape %s", a->path, k, (long long)v, what, s);
    }
}

void npy_expect_finite(const npy_array *a) {
    if (a->dtype == NPY_F4) {
        const float *x = a->data;
        for (int64_t i = 0; i < a->count; i++)
            if (!isfinite(x[i])) die("%s: element %lld is %s", a->path, (long long)i, isnan(x[i]) ? "NaN" : "infinite");
    } else if (a->dtype == NPY_F2) {
        const uint16_t *x = a->data;
        for (int64_t i = 0; i < a->count; i++)
            if (!half_bits_finite(x[i])) die("%s: element %lld is %s", a->path, (long long)i, x[i] & 0x3ffu ? "NaN" : "infinite");
    } else if (a->dtype == NPY_F8) {
        const double *x = a->data;
        for (int64_t i = 0; i < a->count; i++)
            if (!isfinite(x[i])) die("%s: element %lld is %s", a->path, (long long)i, isnan(x[i]) ? "NaN" : "infinite");
    }
}

size_t npy_header(char *buf, size_t cap, npy_dtype dtype, int ndim, const int64_t *shape) {
    char dims[256] = "";
    size_t d = 0;
    for (int i = 0; i < ndim; i++)
        d += (size_t)snprintf(dims + d, sizeof dims - d, i ? ", %lld" : "%lld", (long long)shape[i]);
    if (ndim == 1) snprintf(dims + d, sizeof dims - d, ",");
    char dict[512];
    int k = snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': (%s), }",
                     descr_table[dtype], dims);
    size_t pre = 10, total = pre + (size_t)k + 1;
    size_t padded = (total + 63) / 64 * 64;
    CHECK(padded <= cap);
    size_t hl = padded - pre;
    memcpy(buf, "\x93NUMPY\x01\x00", 8);
    buf[8] = (char)(hl & 0xff);
    buf[9] = (char)(hl >> 8);
    memcpy(buf + pre, dict, (size_t)k);
    memset(buf + pre + k, ' ', padded - pre - (size_t)k - 1);
    buf[padded - 1] = '\n';
    return padded;
}

void npy_writer_begin(npy_writer *w, const char *path, npy_dtype dtype, int ndim, const int64_t *shape) {
    char hdr[1024];
    size_t hl = npy_header(hdr, sizeof hdr, dtype, ndim, shape);
    size_t bytes;
    if (size_prod(&bytes, size_table[dtype], shape, ndim)) die("%s: array shape overflows", path);
    w->af = af_open(path);
    w->expect = bytes;
    w->written = 0;
    af_write(w->af, hdr, hl);
}

void npy_writer_write(npy_writer *w, const void *data, size_t nbytes) {
    af_write(w->af, data, nbytes);
    w->written += nbytes;
}

void npy_writer_commit(npy_writer *w) {
    if (w->written != w->expect) {
        char p[4096];
        snprintf(p, sizeof p, "%s", w->af->path);
        af_abort(w->af);
        die("%s: internal: wrote %zu payload bytes, expected %zu", p, w->written, w->expect);
    }
    af_commit(w->af);
    w->af = NULL;
}

void npy_writer_abort(npy_writer *w) {
    if (w->af) af_abort(w->af);
    w->af = NULL;
}

void npy_save(const char *path, npy_dtype dtype, int ndim, const int64_t *shape, const void *data) {
    npy_writer w;
    npy_writer_begin(&w, path, dtype, ndim, shape);
    npy_writer_write(&w, data, w.expect);
    npy_writer_commit(&w);
}
