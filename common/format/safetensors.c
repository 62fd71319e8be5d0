/* safetensors.c: see safetensors.h.
 *
 * Layout (https://github.com/huggingface/safetensors): u64 little-endian
 * header length N, N bytes of UTF-8 JSON, then the data region. The JSON is
 * one object: tensor name -> {"dtype": "F32", "shape": [d0, ...],
 * "data_offsets": [begin, end]} with offsets relative to the data region,
 * plus an optional "__metadata__" object of string -> string.
 *
 * The header is parsed by a small strict parser for exactly that subset of
 * JSON (objects, strings with all JSON escapes, arrays of non-negative
 * integers); anything else (numbers with signs/fractions, true/false/null,
 * unknown keys in a tensor entry, duplicate keys, trailing bytes other than
 * whitespace) is an error naming the file and the byte offset. Assumes a
 * little-endian host (x86-64, aarch64), as the data region is little endian. */
#define _GNU_SOURCE
#include "format/safetensors.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "format/half.h"
#include "util/util.h"

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "safetensors.c assumes a little-endian host"
#endif

static const char *dtype_names[ST_NTYPES] = {"F32", "F16", "BF16", "F64", "I64", "I32", "U8"};
static const size_t dtype_sizes[ST_NTYPES] = {4, 2, 2, 8, 8, 4, 1};

const char *st_dtype_name(st_dtype d) { return (unsigned)d < ST_NTYPES ? dtype_names[d] : "?"; }
size_t st_itemsize(st_dtype d) { return (unsigned)d < ST_NTYPES ? dtype_sizes[d] : 0; }

static int fail(char *err, size_t n, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, n, fmt, ap);
    va_end(ap);
    return -1;
}

static void shape_str(char *buf, size_t n, int ndim, const int64_t *shape) {
    size_t k = 0;
    k += (size_t)snprintf(buf + k, n - k, "[");
    for (int i = 0; i < ndim && k < n; i++) k += (size_t)snprintf(buf + k, n - k, i ? ",%lld" : "%lld", (long long)shape[i]);
    if (k < n) snprintf(buf + k, n - k, "]");
}

/* ---- strict JSON subset parser ------------------------------------------ */
typedef struct jp {
    const char *base, *p, *end;
    const char *path;
    char *err;
    size_t en;
} jp;

static int jfail(jp *j, const char *what) {
    return fail(j->err, j->en, "%s: bad JSON header at byte %ld: %s", j->path, (long)(j->p - j->base), what);
}

static void jws(jp *j) {
    while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r')) j->p++;
}

/* Expect character c after optional whitespace. */
static int jexpect(jp *j, char c, const char *what) {
    jws(j);
    if (j->p >= j->end || *j->p != c) return jfail(j, what);
    j->p++;
    return 0;
}

static int hex4(jp *j, unsigned *out) {
    if (j->end - j->p < 4) return jfail(j, "truncated \\u escape");
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        char c = j->p[i];
        v <<= 4;
        if (c >= '0' && c <= '9') v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f') v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F') v |= (unsigned)(c - 'A' + 10);
        else return jfail(j, "bad hex digit in \\u escape");
    }
    j->p += 4;
    *out = v;
    return 0;
}

/* Parse a JSON string into a fresh NUL-terminated buffer (*out, xmalloc'ed).
 * \u0000 is rejected: names and metadata are C strings. */
static int jstring(jp *j, char **out) {
    jws(j);
    if (j->p >= j->end || *j->p != '"') return jfail(j, "expected a string");
    j->p++;
    /* decoded length <= encoded length */
    const char *q = j->p;
    while (q < j->end && *q != '"') q += (*q == '\\' && q + 1 < j->end) ? 2 : 1;
    if (q >= j->end) return jfail(j, "unterminated string");
    char *s = xmalloc((size_t)(q - j->p) + 1);
    size_t k = 0;
    while (*j->p != '"') {
        unsigned char c = (unsigned char)*j->p;
        if (c < 0x20) { free(s); return jfail(j, "control character in string"); }
        if (c != '\\') { s[k++] = (char)c; j->p++; continue; }
        j->p++;
        char e = *j->p++;
        switch (e) {
        case '"': s[k++] = '"'; break;
        case '\\': s[k++] = '\\'; break;
        case '/': s[k++] = '/'; break;
        case 'b': s[k++] = '\b'; break;
        case 'f': s[k++] = '\f'; break;
        case 'n': s[k++] = '\n'; break;
        case 'r': s[k++] = '\r'; break;
        case 't': s[k++] = '\t'; break;
        case 'u': {
            unsigned u;
            if (hex4(j, &u)) { free(s); return -1; }
            if (u >= 0xD800 && u <= 0xDBFF) {
                unsigned lo;
                if (j->end - j->p < 6 || j->p[0] != '\\' || j->p[1] != 'u') { free(s); return jfail(j, "unpaired surrogate in \\u escape"); }
                j->p += 2;
                if (hex4(j, &lo)) { free(s); return -1; }
                if (lo < 0xDC00 || lo > 0xDFFF) { free(s); return jfail(j, "unpaired surrogate in \\u escape"); }
                u = 0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00);
            } else if (u >= 0xDC00 && u <= 0xDFFF) {
                free(s);
                return jfail(j, "unpaired surrogate in \\u escape");
            }
            if (u == 0) { free(s); return jfail(j, "\\u0000 in string"); }
            /* UTF-8 encoding is never longer than the 6 or 12 escape bytes */
            if (u < 0x80) s[k++] = (char)u;
            else if (u < 0x800) { s[k++] = (char)(0xC0 | (u >> 6)); s[k++] = (char)(0x80 | (u & 63)); }
            else if (u < 0x10000) {
                s[k++] = (char)(0xE0 | (u >> 12)); s[k++] = (char)(0x80 | ((u >> 6) & 63)); s[k++] = (char)(0x80 | (u & 63));
            } else {
                s[k++] = (char)(0xF0 | (u >> 18)); s[k++] = (char)(0x80 | ((u >> 12) & 63));
                s[k++] = (char)(0x80 | ((u >> 6) & 63)); s[k++] = (char)(0x80 | (u & 63));
            }
            break;
        }
        default: j->p--; free(s); return jfail(j, "bad escape in string");
        }
    }
    j->p++;
    s[k] = '\0';
    *out = s;
    return 0;
}

/* Non-negative JSON integer (no sign, no leading zeros, no fraction). */
static int juint(jp *j, int64_t *out) {
    jws(j);
    if (j->p >= j->end || *j->p < '0' || *j->p > '9') return jfail(j, "expected a non-negative integer");
    if (*j->p == '0' && j->p + 1 < j->end && j->p[1] >= '0' && j->p[1] <= '9') return jfail(j, "integer with a leading zero");
    int64_t v = 0;
    while (j->p < j->end && *j->p >= '0' && *j->p <= '9') {
        if (v > (INT64_MAX - 9) / 10) return jfail(j, "integer too large");
        v = v * 10 + (*j->p++ - '0');
    }
    if (j->p < j->end && (*j->p == '.' || *j->p == 'e' || *j->p == 'E')) return jfail(j, "expected an integer, found a fraction");
    *out = v;
    return 0;
}

/* [u, u, ...] into out (at most cap values); count in *n. */
static int juint_array(jp *j, int64_t *out, int cap, int *n, const char *what) {
    if (jexpect(j, '[', what)) return -1;
    *n = 0;
    jws(j);
    if (j->p < j->end && *j->p == ']') { j->p++; return 0; }
    for (;;) {
        int64_t v = 0;
        if (juint(j, &v)) return -1;
        if (*n == cap) return jfail(j, "array too long");
        out[(*n)++] = v;
        jws(j);
        if (j->p < j->end && *j->p == ',') { j->p++; continue; }
        if (j->p < j->end && *j->p == ']') { j->p++; return 0; }
        return jfail(j, "expected ',' or ']' in array");
    }
}

/* After a member: ',' (returns 1: more) or '}' (returns 0: done). */
static int jnext(jp *j) {
    jws(j);
    if (j->p < j->end && *j->p == ',') { j->p++; return 1; }
    if (j->p < j->end && *j->p == '}') { j->p++; return 0; }
    return jfail(j, "expected ',' or '}'");
}

/* {"dtype": ..., "shape": [...], "data_offsets": [b, e]} */
static int jtensor(jp *j, st_tensor *t, int64_t off[2]) {
    if (jexpect(j, '{', "expected '{' for a tensor entry")) return -1;
    int have_dtype = 0, have_shape = 0, have_off = 0;
    jws(j);
    if (j->p < j->end && *j->p == '}') return jfail(j, "empty tensor entry");
    for (;;) {
        char *key;
        const char *kpos = j->p;
        if (jstring(j, &key)) return -1;
        if (jexpect(j, ':', "expected ':'")) { free(key); return -1; }
        int r = 0;
        if (!strcmp(key, "dtype")) {
            if (have_dtype) { j->p = kpos; r = jfail(j, "duplicate key \"dtype\""); }
            else {
                char *d;
                r = jstring(j, &d);
                if (!r) {
                    int found = -1;
                    for (int k = 0; k < ST_NTYPES; k++)
                        if (!strcmp(d, dtype_names[k])) found = k;
                    if (found < 0) {
                        r = fail(j->err, j->en, "%s: tensor '%s': unknown dtype \"%s\" (supported: F32 F16 BF16 F64 I64 I32 U8)", j->path, t->name, d);
                    } else t->dtype = (st_dtype)found;
                    free(d);
                }
                have_dtype = 1;
            }
        } else if (!strcmp(key, "shape")) {
            if (have_shape) { j->p = kpos; r = jfail(j, "duplicate key \"shape\""); }
            else r = juint_array(j, t->shape, ST_MAXDIM, &t->ndim, "expected '[' for shape");
            have_shape = 1;
        } else if (!strcmp(key, "data_offsets")) {
            int n;
            if (have_off) { j->p = kpos; r = jfail(j, "duplicate key \"data_offsets\""); }
            else {
                r = juint_array(j, off, 2, &n, "expected '[' for data_offsets");
                if (!r && n != 2) r = jfail(j, "data_offsets must have 2 entries");
            }
            have_off = 1;
        } else {
            j->p = kpos;
            r = fail(j->err, j->en, "%s: bad JSON header at byte %ld: unknown key \"%s\" in tensor '%s'", j->path, (long)(kpos - j->base), key, t->name);
        }
        free(key);
        if (r) return -1;
        int m = jnext(j);
        if (m < 0) return -1;
        if (!m) break;
    }
    if (!have_dtype || !have_shape || !have_off)
        return fail(j->err, j->en, "%s: bad JSON header: tensor '%s' has no \"%s\"", j->path, t->name,
                    !have_dtype ? "dtype" : !have_shape ? "shape" : "data_offsets");
    return 0;
}

static int jmeta(jp *j, st_file *f) {
    if (jexpect(j, '{', "expected '{' for __metadata__")) return -1;
    jws(j);
    if (j->p < j->end && *j->p == '}') { j->p++; return 0; }
    for (;;) {
        char *k, *v;
        const char *kpos = j->p;
        if (jstring(j, &k)) return -1;
        for (int i = 0; i < f->nmeta; i++)
            if (!strcmp(f->meta_key[i], k)) { free(k); j->p = kpos; jws(j); return jfail(j, "duplicate key in __metadata__"); }
        if (jexpect(j, ':', "expected ':'")) { free(k); return -1; }
        if (jstring(j, &v)) { free(k); return -1; }
        f->meta_key = xrealloc(f->meta_key, sizeof(char *) * (size_t)(f->nmeta + 1));
        f->meta_val = xrealloc(f->meta_val, sizeof(char *) * (size_t)(f->nmeta + 1));
        f->meta_key[f->nmeta] = k;
        f->meta_val[f->nmeta] = v;
        f->nmeta++;
        int m = jnext(j);
        if (m < 0) return -1;
        if (!m) return 0;
    }
}

/* The whole header; tensor offsets go to (*offs)[2*i]. */
static int jheader(jp *j, st_file *f, int64_t **offs) {
    int have_meta = 0, cap = 0;
    if (jexpect(j, '{', "expected '{'")) return -1;
    jws(j);
    if (j->p < j->end && *j->p == '}') j->p++;
    else
        for (;;) {
            char *key;
            const char *kpos;
            jws(j);
            kpos = j->p;
            if (jstring(j, &key)) return -1;
            if (jexpect(j, ':', "expected ':'")) { free(key); return -1; }
            if (!strcmp(key, "__metadata__")) {
                free(key);
                if (have_meta) { j->p = kpos; return jfail(j, "duplicate key \"__metadata__\""); }
                have_meta = 1;
                if (jmeta(j, f)) return -1;
            } else {
                for (int i = 0; i < f->n; i++)
                    if (!strcmp(f->t[i].name, key)) {
                        j->p = kpos;
                        int r = fail(j->err, j->en, "%s: bad JSON header at byte %ld: duplicate tensor '%s'", j->path, (long)(kpos - j->base), key);
                        free(key);
                        return r;
                    }
                if (f->n == cap) {
                    cap = cap ? 2 * cap : 64;
                    f->t = xrealloc(f->t, sizeof(st_tensor) * (size_t)cap);
                    *offs = xrealloc(*offs, sizeof(int64_t) * 2 * (size_t)cap);
                }
                st_tensor *t = &f->t[f->n];
                memset(t, 0, sizeof *t);
                t->name = key;
                f->n++;   /* counted now so that st_close frees the name on failure */
                if (jtensor(j, t, *offs + 2 * (f->n - 1))) return -1;
            }
            int m = jnext(j);
            if (m < 0) return -1;
            if (!m) break;
        }
    jws(j);
    if (j->p != j->end) return jfail(j, "trailing bytes after the header object");
    return 0;
}

/* ---- reader ------------------------------------------------------------- */
static const int64_t *sort_offs;
static int cmp_begin(const void *a, const void *b) {
    int64_t x = sort_offs[2 * *(const int *)a], y = sort_offs[2 * *(const int *)b];
    return x < y ? -1 : x > y;
}

int st_try_open(st_file *f, const char *path, char *err, size_t en) {
    memset(f, 0, sizeof *f);
    f->path = xstrdup(path);
    int fd = open_input(path, err, en);
    if (fd < 0) { st_close(f); return -1; }
    struct stat sb;
    if (fstat(fd, &sb) != 0) { int r = fail(err, en, "%s: cannot stat: %s", path, strerror(errno)); close(fd); st_close(f); return r; }
    size_t len = (size_t)sb.st_size;
    if (len < 8) {
        close(fd);
        st_close(f);
        return fail(err, en, "%s: truncated safetensors file (%zu bytes, no header length)", path, len);
    }
    void *m = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
    close(fd);
    if (m == MAP_FAILED) { int r = fail(err, en, "%s: mmap failed: %s", path, strerror(errno)); st_close(f); return r; }
    f->map = m;
    f->maplen = len;
    const unsigned char *b = m;
    uint64_t hl = 0;
    for (int i = 7; i >= 0; i--) hl = (hl << 8) | b[i];
    if (hl > len - 8) {
        int r = fail(err, en, "%s: header length %llu is beyond the file size (%zu bytes): truncated or not a safetensors file",
                     path, (unsigned long long)hl, len);
        st_close(f);
        return r;
    }
    int64_t *offs = NULL;
    jp j = {(const char *)b + 8, (const char *)b + 8, (const char *)b + 8 + hl, path, err, en};
    if (jheader(&j, f, &offs)) { free(offs); st_close(f); return -1; }

    const unsigned char *data = b + 8 + hl;
    uint64_t dlen = len - 8 - hl, need = 0;
    for (int i = 0; i < f->n; i++) {
        st_tensor *t = &f->t[i];
        int64_t count = 1;
        for (int d = 0; d < t->ndim; d++) {
            if (t->shape[d] != 0 && count > INT64_MAX / 16 / t->shape[d]) {
                free(offs);
                int r = fail(err, en, "%s: tensor '%s': shape overflows", path, t->name);
                st_close(f);
                return r;
            }
            count *= t->shape[d];
        }
        t->count = count;
        t->nbytes = (size_t)count * dtype_sizes[t->dtype];
        int64_t lo = offs[2 * i], hi = offs[2 * i + 1];
        if (hi < lo) {
            free(offs);
            int r = fail(err, en, "%s: tensor '%s': data_offsets [%lld, %lld] out of range (end before begin)", path, t->name, (long long)lo, (long long)hi);
            st_close(f);
            return r;
        }
        if ((uint64_t)(hi - lo) != t->nbytes) {
            char sh[160];
            shape_str(sh, sizeof sh, t->ndim, t->shape);
            free(offs);
            int r = fail(err, en, "%s: tensor '%s': size mismatch: %s %s needs %zu bytes, data_offsets [%lld, %lld] span %lld",
                         path, t->name, dtype_names[t->dtype], sh, t->nbytes, (long long)lo, (long long)hi, (long long)(hi - lo));
            st_close(f);
            return r;
        }
        if (__builtin_add_overflow(need, (uint64_t)t->nbytes, &need)) {
            free(offs);
            int r = fail(err, en, "%s: the tensor sizes add up to more than 2^64 bytes", path);
            st_close(f);
            return r;
        }
    }
    /* Overlap: sort by begin; each must start at or after the previous end.
     * Empty tensors occupy no bytes and cannot overlap. */
    if (f->n > 1) {
        int *ord = xmalloc(sizeof(int) * (size_t)f->n), n = 0;
        for (int i = 0; i < f->n; i++)
            if (f->t[i].nbytes) ord[n++] = i;
        sort_offs = offs;
        qsort(ord, (size_t)n, sizeof(int), cmp_begin);
        for (int k = 1; k < n; k++) {
            int a = ord[k - 1], c = ord[k];
            if (offs[2 * c] < offs[2 * a + 1]) {
                int r = fail(err, en, "%s: tensors '%s' [%lld, %lld] and '%s' [%lld, %lld] overlap", path,
                             f->t[a].name, (long long)offs[2 * a], (long long)offs[2 * a + 1],
                             f->t[c].name, (long long)offs[2 * c], (long long)offs[2 * c + 1]);
                free(ord);
                free(offs);
                st_close(f);
                return r;
            }
        }
        free(ord);
    }
    /* Range. The tensors do not overlap, so if their sizes add up to more
     * than the data region the file was cut short; otherwise an offset past
     * the end is a bad offset. */
    for (int i = 0; i < f->n; i++) {
        if ((uint64_t)offs[2 * i + 1] <= dlen) { f->t[i].data = data + offs[2 * i]; continue; }
        int r;
        if (need > dlen)
            r = fail(err, en, "%s: truncated safetensors file: tensors need %llu data bytes, file has %llu", path,
                     (unsigned long long)need, (unsigned long long)dlen);
        else
            r = fail(err, en, "%s: tensor '%s': data_offsets [%lld, %lld] out of range (data region has %llu bytes)", path,
                     f->t[i].name, (long long)offs[2 * i], (long long)offs[2 * i + 1], (unsigned long long)dlen);
        free(offs);
        st_close(f);
        return r;
    }
    free(offs);
    return 0;
}

void st_open(st_file *f, const char *path) {
    char err[1024];
    if (st_try_open(f, path, err, sizeof err) != 0) die("%s", err);
}

void st_close(st_file *f) {
    if (f->map) munmap(f->map, f->maplen);
    for (int i = 0; i < f->n; i++) free(f->t[i].name);
    free(f->t);
    for (int i = 0; i < f->nmeta; i++) { free(f->meta_key[i]); free(f->meta_val[i]); }
    free(f->meta_key);
    free(f->meta_val);
    free(f->path);
    memset(f, 0, sizeof *f);
}

const st_tensor *st_find(const st_file *f, const char *name) {
    for (int i = 0; i < f->n; i++)
        if (!strcmp(f->t[i].name, name)) return &f->t[i];
    return NULL;
}

const char *st_meta(const st_file *f, const char *key) {
    for (int i = 0; i < f->nmeta; i++)
        if (!strcmp(f->meta_key[i], key)) return f->meta_val[i];
    return NULL;
}

void st_read_f32(float *out, const st_file *f, const st_tensor *t, int64_t count) {
    st_read_f32_as(out, f, t, 1, &count);
}

void st_read_f32_as(float *out, const st_file *f, const st_tensor *t, int ndim, const int64_t *shape) {
    int64_t count = 1;
    for (int i = 0; i < ndim; i++) count *= shape[i];
    if (t->count != count) {
        char e[160], s[160];
        shape_str(e, sizeof e, ndim, shape);
        shape_str(s, sizeof s, t->ndim, t->shape);
        die("%s: tensor '%s': expected shape %s (%lld elements), found %s (%lld elements)", f->path, t->name, e,
            (long long)count, s, (long long)t->count);
    }
    const unsigned char *p = t->data;
    switch (t->dtype) {
    case ST_F32: memcpy(out, p, (size_t)count * 4); break;
    case ST_F16:
        for (int64_t i = 0; i < count; i++) {
            uint16_t h;
            memcpy(&h, p + 2 * i, 2);
            out[i] = half_bits_to_float(h);
        }
        break;
    case ST_BF16:
        /* bfloat16 is the top half of a binary32 */
        for (int64_t i = 0; i < count; i++) {
            uint16_t h;
            memcpy(&h, p + 2 * i, 2);
            uint32_t u = (uint32_t)h << 16;
            memcpy(out + i, &u, 4);
        }
        break;
    case ST_F64:
        for (int64_t i = 0; i < count; i++) {
            double d;
            memcpy(&d, p + 8 * i, 8);
            out[i] = (float)d;
        }
        break;
    default:
        die("%s: tensor '%s': dtype %s is not a floating-point type (expected F32, F16, BF16 or F64)", f->path, t->name,
            dtype_names[t->dtype]);
    }
}

/* ---- writer ------------------------------------------------------------- */
typedef struct st_wentry {
    char *name;
    int ndim;
    int64_t shape[ST_MAXDIM];
    size_t count;
    const float *data;
} st_wentry;

struct st_writer {
    char *path;
    int n, cap;
    st_wentry *e;
    int nmeta;
    char **mk, **mv;
};

st_writer *st_writer_begin(const char *path) {
    st_writer *w = xcalloc(1, sizeof *w);
    w->path = xstrdup(path);
    return w;
}

void st_writer_add(st_writer *w, const char *name, int ndim, const int64_t *shape, const float *data) {
    if (!strcmp(name, "__metadata__")) die("%s: internal: tensor named __metadata__", w->path);
    CHECK(ndim >= 0 && ndim <= ST_MAXDIM);
    for (int i = 0; i < w->n; i++)
        if (!strcmp(w->e[i].name, name)) die("%s: internal: tensor '%s' added twice", w->path, name);
    if (w->n == w->cap) {
        w->cap = w->cap ? 2 * w->cap : 32;
        w->e = xrealloc(w->e, sizeof(st_wentry) * (size_t)w->cap);
    }
    st_wentry *e = &w->e[w->n++];
    e->name = xstrdup(name);
    e->ndim = ndim;
    e->count = 1;
    for (int i = 0; i < ndim; i++) {
        CHECK(shape[i] >= 0);
        e->shape[i] = shape[i];
        e->count *= (size_t)shape[i];
    }
    e->data = data;
}

void st_writer_meta(st_writer *w, const char *key, const char *value) {
    for (int i = 0; i < w->nmeta; i++)
        if (!strcmp(w->mk[i], key)) { free(w->mv[i]); w->mv[i] = xstrdup(value); return; }
    w->mk = xrealloc(w->mk, sizeof(char *) * (size_t)(w->nmeta + 1));
    w->mv = xrealloc(w->mv, sizeof(char *) * (size_t)(w->nmeta + 1));
    w->mk[w->nmeta] = xstrdup(key);
    w->mv[w->nmeta] = xstrdup(value);
    w->nmeta++;
}

/* Growable header buffer. */
typedef struct sbuf { char *s; size_t n, cap; } sbuf;
static void sb_put(sbuf *b, const char *s, size_t n) {
    if (b->n + n + 1 > b->cap) {
        b->cap = (b->n + n + 1) * 2;
        b->s = xrealloc(b->s, b->cap);
    }
    memcpy(b->s + b->n, s, n);
    b->n += n;
}
static void sb_printf(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(sbuf *b, const char *fmt, ...) {
    char tmp[256];
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    CHECK(k >= 0 && (size_t)k < sizeof tmp);
    sb_put(b, tmp, (size_t)k);
}
/* JSON string: '"' and '\\' escaped, control bytes as \u00XX, other bytes
 * (UTF-8) verbatim. */
static void sb_jstr(sbuf *b, const char *s) {
    sb_put(b, "\"", 1);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') { char e[2] = {'\\', (char)c}; sb_put(b, e, 2); }
        else if (c < 0x20) sb_printf(b, "\\u%04x", c);
        else sb_put(b, s, 1);
    }
    sb_put(b, "\"", 1);
}

void st_writer_commit(st_writer *w) {
    sbuf b = {0};
    sb_put(&b, "{", 1);
    /* __metadata__ first, as the reference implementation writes it */
    if (w->nmeta) {
        sb_jstr(&b, "__metadata__");
        sb_put(&b, ":{", 2);
        for (int i = 0; i < w->nmeta; i++) {
            if (i) sb_put(&b, ",", 1);
            sb_jstr(&b, w->mk[i]);
            sb_put(&b, ":", 1);
            sb_jstr(&b, w->mv[i]);
        }
        sb_put(&b, "}", 1);
    }
    size_t off = 0;
    for (int i = 0; i < w->n; i++) {
        st_wentry *e = &w->e[i];
        if (i || w->nmeta) sb_put(&b, ",", 1);
        sb_jstr(&b, e->name);
        sb_put(&b, ":{\"dtype\":\"F32\",\"shape\":[", 25);
        for (int d = 0; d < e->ndim; d++) sb_printf(&b, d ? ",%lld" : "%lld", (long long)e->shape[d]);
        sb_printf(&b, "],\"data_offsets\":[%zu,%zu]}", off, off + 4 * e->count);
        off += 4 * e->count;
    }
    sb_put(&b, "}", 1);
    /* pad with spaces so the data region starts 8-byte aligned */
    while (b.n % 8) sb_put(&b, " ", 1);
    unsigned char len[8];
    uint64_t hl = b.n;
    for (int i = 0; i < 8; i++) len[i] = (unsigned char)(hl >> (8 * i));
    atomic_file *af = af_open(w->path);
    af_write(af, len, 8);
    af_write(af, b.s, b.n);
    for (int i = 0; i < w->n; i++) af_write(af, w->e[i].data, 4 * w->e[i].count);
    af_commit(af);
    free(b.s);
    for (int i = 0; i < w->n; i++) free(w->e[i].name);
    free(w->e);
    for (int i = 0; i < w->nmeta; i++) { free(w->mk[i]); free(w->mv[i]); }
    free(w->mk);
    free(w->mv);
    free(w->path);
    free(w);
}

/* ---- VGG names ---------------------------------------------------------- */
/* timm's vgg19 (vgg19.tv_in1k) keeps torchvision's conv names (features.N.*)
 * but renames the classifier: pre_logits.fc1 (fc6), pre_logits.fc2 (fc7),
 * head.fc (fc8). timm stores fc6's weight conv-shaped [4096,512,7,7] and
 * fc7's [4096,4096,1,1]; flattened row-major these are element for element
 * torchvision's 2-D [4096,25088] and [4096,4096], because torchvision's
 * flatten before fc6 also orders the 25088 inputs as (C, H, W). So loading by
 * element count (st_read_f32) needs no reshuffling. */
static const char *vgg_map[][2] = {
    {"pre_logits.fc1.", "classifier.0."},
    {"pre_logits.fc2.", "classifier.3."},
    {"head.fc.", "classifier.6."},
};

const char *vgg_canonical_name(const char *name, char *buf, size_t n) {
    const char *pre = "", *rest = name;
    for (size_t i = 0; i < sizeof vgg_map / sizeof vgg_map[0]; i++) {
        size_t l = strlen(vgg_map[i][0]);
        if (!strncmp(name, vgg_map[i][0], l)) { pre = vgg_map[i][1]; rest = name + l; break; }
    }
    int k = snprintf(buf, n, "%s%s", pre, rest);
    CHECK(k >= 0 && (size_t)k < n);
    return buf;
}

const st_tensor *st_find_vgg(const st_file *f, const char *canonical) {
    const st_tensor *t = st_find(f, canonical);
    if (t) return t;
    /* map the canonical prefix back to timm's and look that up */
    for (size_t i = 0; i < sizeof vgg_map / sizeof vgg_map[0]; i++) {
        size_t l = strlen(vgg_map[i][1]);
        if (strncmp(canonical, vgg_map[i][1], l)) continue;
        const char *rest = canonical + l;
        size_t pl = strlen(vgg_map[i][0]);
        for (int k = 0; k < f->n; k++)
            if (!strncmp(f->t[k].name, vgg_map[i][0], pl) && !strcmp(f->t[k].name + pl, rest)) return &f->t[k];
    }
    return NULL;
}
