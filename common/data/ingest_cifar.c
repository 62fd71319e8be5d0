/* ingest_cifar.c: CIFAR-10, read in place from the official
 * cifar-10-binary.tar.gz through libarchive (gzip filter + tar format), with
 * nothing extracted to disk.
 *
 * Members used (under cifar-10-batches-bin/, optionally "./"-prefixed):
 *   data_batch_1.bin .. data_batch_5.bin, test_batch.bin: records of
 *     1 label byte + 3072 bytes = R plane, G plane, B plane, each 32x32 row
 *     major (CHW); stored here as HWC: out[(y*32+x)*3 + c] = in[c*1024 + y*32 + x].
 *   batches.meta.txt: the 10 class names, one a line (blank lines ignored).
 * Other members (the directory, readme.html) are skipped.
 *
 * The official tar does not list the batches in order (data_batch_1,
 * batches.meta.txt, data_batch_3, 4, test_batch, readme.html, 2, 5), and a
 * .tar.gz can only be read front to back, so one pass converts every batch to
 * HWC in memory (60,000 x 3072 bytes = 184 MB for the real set) and the
 * images are written afterwards in the canonical order data_batch_1..5 then
 * test_batch. Reading the archive six times instead would decompress 170 MB
 * six times. */
#define _GNU_SOURCE
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "data/ingest.h"
#include "format/npy.h"
#include "util/check.h"
#include "util/util.h"

#define CIFAR_ARCHIVE "cifar-10-binary.tar.gz"
#define CIFAR_URL "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz"
#define CIFAR_DIR "cifar-10-batches-bin/"
#define CIFAR_SIDE 32
#define CIFAR_PIX (CIFAR_SIDE * CIFAR_SIDE)
#define CIFAR_IMG (3 * CIFAR_PIX)
#define CIFAR_REC (1 + CIFAR_IMG)
#define CIFAR_NCLASS 10
#define CIFAR_NBATCH 6
#define CIFAR_MAX_RECORDS 1000000   /* sanity bound before allocating from a tar header */

static const char *batch_names[CIFAR_NBATCH] = {"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin",
                                                "data_batch_4.bin", "data_batch_5.bin", "test_batch.bin"};

/* libarchive's message, which can be NULL after a short gzip trailer. */
static const char *aerr(struct archive *a) {
    const char *s = archive_error_string(a);
    return s ? s : "truncated or corrupt data";
}

typedef struct cifar_batch {
    int present;
    int64_t n;
    uint8_t *images;   /* [n, 32, 32, 3] HWC */
    uint8_t *labels;   /* [n] */
} cifar_batch;

/* Member name relative to the archive root, "./" stripped; NULL when the
 * member is not under cifar-10-batches-bin/. */
static const char *member_base(const char *name) {
    while (name[0] == '.' && name[1] == '/') name += 2;
    size_t k = strlen(CIFAR_DIR);
    if (strncmp(name, CIFAR_DIR, k) != 0) return NULL;
    return name + k;
}

/* One record's planes (CHW, 3072 bytes) into HWC. */
static void chw_to_hwc(uint8_t *out, const uint8_t *in) {
    for (int p = 0; p < CIFAR_PIX; p++) {
        out[3 * p + 0] = in[p];
        out[3 * p + 1] = in[CIFAR_PIX + p];
        out[3 * p + 2] = in[2 * CIFAR_PIX + p];
    }
}

static void read_batch(cifar_batch *b, struct archive *a, struct archive_entry *e, const char *arch,
                       const char *member) {
    if (!archive_entry_size_is_set(e)) die("%s: %s: member size is not recorded in the tar header", arch, member);
    int64_t size = archive_entry_size(e);
    if (size % CIFAR_REC != 0)
        die("%s: %s: size %lld is not a whole number of %d-byte records", arch, member, (long long)size, CIFAR_REC);
    int64_t n = size / CIFAR_REC;
    if (n > CIFAR_MAX_RECORDS)
        die("%s: %s: %lld records is implausible (the official batches hold 10,000)", arch, member, (long long)n);
    b->n = n;
    /* The header's size is untrusted: the buffers grow with the records
     * actually read (doubling), never to the declared size up front. */
    int64_t cap = 0;
    b->images = NULL;
    b->labels = NULL;
    enum { CHUNK = 256 };
    uint8_t *buf = xmalloc((size_t)CHUNK * CIFAR_REC);
    for (int64_t i0 = 0; i0 < n; i0 += CHUNK) {
        int64_t k = n - i0 < CHUNK ? n - i0 : CHUNK;
        if (i0 + k > cap) {
            cap = cap ? 2 * cap : 4 * CHUNK;
            if (cap > n) cap = n;
            b->images = xrealloc(b->images, (size_t)(cap * CIFAR_IMG));
            b->labels = xrealloc(b->labels, (size_t)cap);
        }
        size_t want = (size_t)k * CIFAR_REC, got = 0;
        while (got < want) {
            la_ssize_t r = archive_read_data(a, buf + got, want - got);
            if (r < 0)
                die("%s: truncated or corrupt archive in %s (%lld of %lld bytes read): %s", arch, member,
                    (long long)(i0 * CIFAR_REC + (int64_t)got), (long long)size, aerr(a));
            if (r == 0)
                die("%s: %s is truncated: ends after %lld of %lld bytes", arch, member,
                    (long long)(i0 * CIFAR_REC + (int64_t)got), (long long)size);
            got += (size_t)r;
        }
        for (int64_t j = 0; j < k; j++) {
            const uint8_t *rec = buf + j * CIFAR_REC;
            if (rec[0] >= CIFAR_NCLASS) {
                char where[PATH_MAX + 256];
                snprintf(where, sizeof where, "%s: %s", arch, member);
                label_range_or_die(where, i0 + j, rec[0], CIFAR_NCLASS);
            }
            b->labels[i0 + j] = rec[0];
            chw_to_hwc(b->images + (i0 + j) * CIFAR_IMG, rec + 1);
        }
    }
    free(buf);
    b->present = 1;
}

/* batches.meta.txt: exactly 10 non-blank lines (trailing blanks and \r
 * trimmed). */
static char **read_meta(struct archive *a, struct archive_entry *e, const char *arch) {
    int64_t size = archive_entry_size_is_set(e) ? archive_entry_size(e) : -1;
    if (size < 0 || size > 65536) die("%s: " CIFAR_DIR "batches.meta.txt: implausible size %lld", arch, (long long)size);
    char *txt = xmalloc((size_t)size + 1);
    size_t got = 0;
    while (got < (size_t)size) {
        la_ssize_t r = archive_read_data(a, txt + got, (size_t)size - got);
        if (r < 0) die("%s: truncated or corrupt archive in batches.meta.txt: %s", arch, aerr(a));
        if (r == 0) die("%s: batches.meta.txt is truncated", arch);
        got += (size_t)r;
    }
    txt[size] = '\0';
    char **names = xcalloc(CIFAR_NCLASS, sizeof(char *));
    int k = 0;
    char *save = NULL;
    for (char *line = strtok_r(txt, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        size_t len = strlen(line);
        while (len && (line[len - 1] == '\r' || line[len - 1] == ' ' || line[len - 1] == '\t')) line[--len] = '\0';
        if (!len) continue;
        if (k == CIFAR_NCLASS) die("%s: batches.meta.txt lists more than %d class names", arch, CIFAR_NCLASS);
        names[k++] = xstrdup(line);
    }
    if (k != CIFAR_NCLASS) die("%s: batches.meta.txt lists %d class names, CIFAR-10 has %d", arch, k, CIFAR_NCLASS);
    free(txt);
    return names;
}

/* --path: the archive itself, or a directory holding it. */
static char *find_archive(const char *path) {
    static const char *hint = "make fetch DATASET=cifar10 downloads it with curl (where there is internet) to "
                              "work/datasets/cifar10/; then pass --path work/datasets/cifar10 (the directory "
                              "holding " CIFAR_ARCHIVE ", or the archive itself)";
    struct stat st;
    if (stat(path, &st) != 0)
        die_hint(hint, "cifar10: %s: %s; looked for the official archive " CIFAR_ARCHIVE " from " CIFAR_URL, path,
                 strerror(errno));
    if (S_ISDIR(st.st_mode)) {
        char *p = path_join(path, CIFAR_ARCHIVE);
        if (!file_exists(p))
            die_hint(hint, "cifar10: %s not found; looked for the official archive " CIFAR_ARCHIVE " from " CIFAR_URL,
                     p);
        return p;
    }
    return xstrdup(path);
}

void ingest_cifar10(ingest_result *r, const ingest_opts *o, const char *images_path) {
    if (o->size && o->size != CIFAR_SIDE)
        die("--size %d: cifar10 images are 32x32 and are stored as they are (--size applies to image-file sources)",
            o->size);
    char *arch = find_archive(o->path);
    struct archive *a = archive_read_new();
    CHECK(a);
    CHECK(archive_read_support_filter_gzip(a) == ARCHIVE_OK);
    CHECK(archive_read_support_format_tar(a) == ARCHIVE_OK);
    int fd = xopen_input(arch);
    if (archive_read_open_fd(a, fd, 1 << 16) != ARCHIVE_OK)
        die("%s: cannot open as a .tar.gz: %s", arch, aerr(a));

    cifar_batch b[CIFAR_NBATCH];
    memset(b, 0, sizeof b);
    char **names = NULL;
    struct archive_entry *e;
    int nmembers = 0;
    for (;;) {
        int rc = archive_read_next_header(a, &e);
        if (rc == ARCHIVE_EOF) break;
        if (rc != ARCHIVE_OK && rc != ARCHIVE_WARN)
            die("%s: truncated or corrupt archive after %d members: %s", arch, nmembers, aerr(a));
        nmembers++;
        const char *name = archive_entry_pathname(e);
        const char *base = name ? member_base(name) : NULL;
        int slot = -1;
        for (int k = 0; base && k < CIFAR_NBATCH; k++)
            if (strcmp(base, batch_names[k]) == 0) slot = k;
        if (slot >= 0) {
            if (b[slot].present) die("%s: %s appears twice in the archive", arch, name);
            info("reading %s", name);
            read_batch(&b[slot], a, e, arch, name);
        } else if (base && strcmp(base, "batches.meta.txt") == 0) {
            if (names) die("%s: %s appears twice in the archive", arch, name);
            names = read_meta(a, e, arch);
        } else if (archive_read_data_skip(a) != ARCHIVE_OK) {
            die("%s: truncated or corrupt archive in %s: %s", arch, name ? name : "(unnamed member)",
                aerr(a));
        }
    }
    archive_read_free(a);
    close(fd);
    for (int k = 0; k < CIFAR_NBATCH; k++)
        if (!b[k].present) die("%s: " CIFAR_DIR "%s is missing from the archive", arch, batch_names[k]);
    if (!names) die("%s: " CIFAR_DIR "batches.meta.txt is missing from the archive", arch);

    int64_t n = 0;
    for (int k = 0; k < CIFAR_NBATCH; k++) n += b[k].n;
    if (n == 0) die("%s: the batches hold no records", arch);
    int64_t shape[4] = {n, CIFAR_SIDE, CIFAR_SIDE, 3};
    npy_writer w;
    npy_writer_begin(&w, images_path, NPY_U1, 4, shape);
    for (int k = 0; k < CIFAR_NBATCH; k++) npy_writer_write(&w, b[k].images, (size_t)(b[k].n * CIFAR_IMG));
    npy_writer_commit(&w);

    r->n = n;
    r->h = r->w = CIFAR_SIDE;
    r->c = 3;
    r->nclass = CIFAR_NCLASS;
    r->labels = xcalloc((size_t)n * CIFAR_NCLASS, 1);
    int64_t i = 0;
    for (int k = 0; k < CIFAR_NBATCH; k++) {
        for (int64_t j = 0; j < b[k].n; j++, i++) r->labels[i * CIFAR_NCLASS + b[k].labels[j]] = 1;
        free(b[k].images);
        free(b[k].labels);
    }
    r->class_names = names;
    r->skipped = 0;
    r->unlabeled = 0;
    free(arch);
}
