/* ingest_idx.c: MNIST-style IDX files (Fashion-MNIST, MNIST).
 *
 * Four files in one directory, each gzipped (NAME.gz) or not (NAME); the .gz
 * one is taken when both exist:
 *   train-images-idx3-ubyte  magic 0x00000803, n, rows, cols, then n*rows*cols u8
 *   train-labels-idx1-ubyte  magic 0x00000801, n, then n u8 labels
 *   t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte: the same.
 * All header integers are big endian. Every file goes through libarchive's
 * raw format with the gzip filter (an uncompressed file passes through the
 * filter chain unchanged), so gzip is never decoded by hand.
 *
 * Order of work: both label files first (small, validated in memory), then
 * both image headers (counts and dims checked against the labels), then the
 * image payloads streamed in blocks into images_path, train then t10k. Any
 * problem dies naming the file, before images_path is committed. */
#define _GNU_SOURCE
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "data/ingest.h"
#include "format/npy.h"
#include "util/check.h"
#include "util/util.h"

#define IDX_NCLASS 10
#define IDX_MAX_COUNT 100000000LL   /* sanity bound on n; MNIST has 60,000 */
#define IDX_MAX_SIDE 4096

static const char *fashion_names[IDX_NCLASS] = {
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"};
static const char *digit_names[IDX_NCLASS] = {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"};

/* libarchive's message, which can be NULL after a short gzip trailer. */
static const char *aerr(struct archive *a) {
    const char *s = archive_error_string(a);
    return s ? s : "truncated or corrupt data";
}

typedef struct idx_file {
    struct archive *a;
    int fd;
    char *path;
} idx_file;

static const char *ds_name(int fashion) { return fashion ? "fashion-mnist" : "mnist"; }

static const char *missing_hint(int fashion) {
    return fashion ? "install it with: apt-get install dataset-fashion-mnist (files go to "
                     "/usr/share/datasets/fashion-mnist), or pass --path DIR holding "
                     "train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, "
                     "t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz"
                   : "pass --path DIR holding the four MNIST IDX files "
                     "train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, "
                     "t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz (gzipped or not)";
}

/* Open dir/base.gz, else dir/base. Dies with the hint when neither exists. */
static void idx_open(idx_file *f, const char *dir, const char *base, int fashion) {
    char name[256];
    snprintf(name, sizeof name, "%s.gz", base);
    char *gz = path_join(dir, name), *plain = path_join(dir, base);
    if (file_exists(gz)) { f->path = gz; free(plain); }
    else if (file_exists(plain)) { f->path = plain; free(gz); }
    else {
        char msg[512];
        snprintf(msg, sizeof msg, "%s", missing_hint(fashion));
        die_hint(msg, "%s: %s: neither %s.gz nor %s found in %s", ds_name(fashion), dir, base, base, dir);
    }
    f->a = archive_read_new();
    CHECK(f->a);
    CHECK(archive_read_support_filter_gzip(f->a) == ARCHIVE_OK);
    CHECK(archive_read_support_format_raw(f->a) == ARCHIVE_OK);
    f->fd = xopen_input(f->path);
    if (archive_read_open_fd(f->a, f->fd, 1 << 16) != ARCHIVE_OK)
        die("%s: cannot open: %s", f->path, aerr(f->a));
    struct archive_entry *e;
    int r = archive_read_next_header(f->a, &e);
    if (r == ARCHIVE_EOF) die("%s: empty file", f->path);
    if (r != ARCHIVE_OK) die("%s: cannot read: %s", f->path, aerr(f->a));
}

static void idx_close(idx_file *f) {
    archive_read_free(f->a);
    close(f->fd);
    free(f->path);
    f->a = NULL;
    f->path = NULL;
}

/* Read exactly n bytes; dies naming the file and `what` when the stream is
 * corrupt or ends early. */
static void idx_read(idx_file *f, void *buf, size_t n, const char *what) {
    size_t got = 0;
    while (got < n) {
        la_ssize_t r = archive_read_data(f->a, (char *)buf + got, n - got);
        if (r < 0) die("%s: corrupt or truncated while reading %s: %s", f->path, what, aerr(f->a));
        if (r == 0) die("%s: truncated: %s needs %zu bytes, the file ends after %zu", f->path, what, n, got);
        got += (size_t)r;
    }
}

/* The payload must end exactly here: trailing bytes mean the header's count
 * does not describe the file. */
static void idx_expect_end(idx_file *f, const char *what) {
    char c[4096];
    size_t extra = 0;
    for (;;) {
        la_ssize_t r = archive_read_data(f->a, c, sizeof c);
        if (r < 0) die("%s: corrupt after %s: %s", f->path, what, aerr(f->a));
        if (r == 0) break;
        extra += (size_t)r;
    }
    if (extra) die("%s: %zu bytes of trailing data after %s (header count does not match the file)", f->path, extra, what);
}

static uint32_t be32(const unsigned char *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

/* Label file: header then n bytes, each < IDX_NCLASS. Returns n; labels in
 * *out (xmalloc'ed). */
static int64_t read_labels(uint8_t **out, const char *dir, const char *base, int fashion) {
    idx_file f;
    idx_open(&f, dir, base, fashion);
    unsigned char h[8];
    idx_read(&f, h, 8, "the label header");
    uint32_t magic = be32(h);
    if (magic != 0x00000801u)
        die("%s: bad IDX magic 0x%08x (a label file has 0x00000801)", f.path, magic);
    int64_t n = be32(h + 4);
    if (n > IDX_MAX_COUNT) die("%s: label count %lld is implausible", f.path, (long long)n);
    /* n is untrusted: the buffer grows with the labels actually read. */
    size_t cap = 0, got = 0;
    uint8_t *y = NULL;
    while (got < (size_t)n) {
        if (got == cap) {
            cap = cap ? 2 * cap : 1 << 16;
            if (cap > (size_t)n) cap = (size_t)n;
            y = xrealloc(y, cap);
        }
        la_ssize_t r = archive_read_data(f.a, y + got, cap - got);
        if (r < 0) die("%s: corrupt or truncated while reading the labels: %s", f.path, aerr(f.a));
        if (r == 0)
            die("%s: truncated: the labels need %lld bytes, the file ends after %zu", f.path, (long long)n, got);
        got += (size_t)r;
    }
    if (!y) y = xmalloc(1);
    idx_expect_end(&f, "the labels");
    for (int64_t i = 0; i < n; i++) label_range_or_die(f.path, i, y[i], IDX_NCLASS);
    idx_close(&f);
    *out = y;
    return n;
}

/* Image file header: returns n, rows, cols; leaves f positioned at the
 * payload. */
static int64_t open_images(idx_file *f, int *rows, int *cols, const char *dir, const char *base, int fashion) {
    idx_open(f, dir, base, fashion);
    unsigned char h[16];
    idx_read(f, h, 16, "the image header");
    uint32_t magic = be32(h);
    if (magic != 0x00000803u)
        die("%s: bad IDX magic 0x%08x (an image file has 0x00000803)", f->path, magic);
    int64_t n = be32(h + 4);
    uint32_t r = be32(h + 8), c = be32(h + 12);
    if (n > IDX_MAX_COUNT) die("%s: image count %lld is implausible", f->path, (long long)n);
    if (r == 0 || c == 0 || r > IDX_MAX_SIDE || c > IDX_MAX_SIDE)
        die("%s: bad image dims %ux%u", f->path, r, c);
    *rows = (int)r;
    *cols = (int)c;
    return n;
}

static void stream_images(npy_writer *w, idx_file *f, int64_t bytes, uint8_t *buf, size_t bufsz, progress *p,
                          int64_t *done, int64_t image_bytes) {
    int64_t left = bytes;
    while (left > 0) {
        size_t k = left < (int64_t)bufsz ? (size_t)left : bufsz;
        idx_read(f, buf, k, "the image data");
        npy_writer_write(w, buf, k);
        left -= (int64_t)k;
        *done += (int64_t)k;
        progress_update(p, *done / image_bytes);
    }
    idx_expect_end(f, "the image data");
}

void ingest_idx(ingest_result *r, const ingest_opts *o, const char *images_path, int fashion) {
    const char *dir = o->path;
    struct stat st;
    if (stat(dir, &st) != 0)
        die_hint(missing_hint(fashion), "%s: --path %s: %s", ds_name(fashion), dir, strerror(errno));
    if (!S_ISDIR(st.st_mode))
        die_hint(missing_hint(fashion), "%s: --path %s is not a directory (IDX sources are a directory of four files)",
                 ds_name(fashion), dir);

    uint8_t *ytr, *yte;
    int64_t ntr_l = read_labels(&ytr, dir, "train-labels-idx1-ubyte", fashion);
    int64_t nte_l = read_labels(&yte, dir, "t10k-labels-idx1-ubyte", fashion);

    idx_file ftr, fte;
    int hr, wr, he, we;
    int64_t ntr = open_images(&ftr, &hr, &wr, dir, "train-images-idx3-ubyte", fashion);
    if (ntr != ntr_l)
        die("%s: %lld images but train-labels-idx1-ubyte has %lld labels", ftr.path, (long long)ntr, (long long)ntr_l);
    int64_t nte = open_images(&fte, &he, &we, dir, "t10k-images-idx3-ubyte", fashion);
    if (nte != nte_l)
        die("%s: %lld images but t10k-labels-idx1-ubyte has %lld labels", fte.path, (long long)nte, (long long)nte_l);
    if (he != hr || we != wr)
        die("%s: images are %dx%d but the train images are %dx%d", fte.path, he, we, hr, wr);
    if (o->size && (o->size != hr || o->size != wr))
        die("--size %d: %s images are %dx%d and are stored as they are (--size applies to image-file sources)",
            o->size, ds_name(fashion), hr, wr);
    int64_t n = ntr + nte;
    if (n == 0) die("%s: the IDX files hold no images", dir);

    int64_t shape[4] = {n, hr, wr, 1};
    int64_t image_bytes = (int64_t)hr * wr;
    npy_writer w;
    npy_writer_begin(&w, images_path, NPY_U1, 4, shape);
    size_t bufsz = 1 << 20;
    uint8_t *buf = xmalloc(bufsz);
    progress p;
    progress_begin(&p, "images", n);
    int64_t done = 0;
    stream_images(&w, &ftr, ntr * image_bytes, buf, bufsz, &p, &done, image_bytes);
    stream_images(&w, &fte, nte * image_bytes, buf, bufsz, &p, &done, image_bytes);
    progress_end(&p);
    idx_close(&ftr);
    idx_close(&fte);
    free(buf);
    npy_writer_commit(&w);

    r->n = n;
    r->h = hr;
    r->w = wr;
    r->c = 1;
    r->nclass = IDX_NCLASS;
    r->labels = xcalloc((size_t)n * IDX_NCLASS, 1);
    for (int64_t i = 0; i < ntr; i++) r->labels[i * IDX_NCLASS + ytr[i]] = 1;
    for (int64_t i = 0; i < nte; i++) r->labels[(ntr + i) * IDX_NCLASS + yte[i]] = 1;
    r->class_names = xmalloc(sizeof(char *) * IDX_NCLASS);
    for (int k = 0; k < IDX_NCLASS; k++) r->class_names[k] = xstrdup(fashion ? fashion_names[k] : digit_names[k]);
    r->skipped = 0;
    r->unlabeled = 0;
    free(ytr);
    free(yte);
}
