/* ingest_images.c: FLICKR25K, NUS-WIDE and folder/archive image sources (see
 * ingest_images.h for the layouts and the pass structure). */
#define _GNU_SOURCE   /* sync_file_range */
#include "data/ingest_images.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <locale.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "data/image.h"
#include "format/npy.h"
#include "util/util.h"

/* At most this many skipped names are printed one per line; the rest are
 * counted in a final line. */
#define MAX_REPORTED 20

/* ---- sources: a directory or an archive -------------------------------- */
typedef struct src_entry {
    char *name;        /* relative path with '/' separators */
    uint8_t *data;     /* contents, for the members read in pass 1 */
    size_t len;
} src_entry;

typedef struct source {
    const char *path;
    int is_dir;
    int64_t n;         /* regular files: directory in sorted order, archive in archive order */
    src_entry *e;
    int64_t *by_name;  /* entry indices sorted by name */
} source;

typedef int (*want_fn)(const char *name, void *ctx);

static const char *base_name(const char *p) {
    const char *s = strrchr(p, '/');
    return s ? s + 1 : p;
}

static int ends_with(const char *s, const char *suf) {
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && strcmp(s + a - b, suf) == 0;
}

static int ends_with_ci(const char *s, const char *suf) {
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && strcasecmp(s + a - b, suf) == 0;
}

static void src_push(source *s, int64_t *cap, const char *name) {
    if (s->n >= dsah_limit.members)
        die_hint(limit_hint("members"), "%s: more than %lld files (the limit on members per archive or folder)",
                 s->path, (long long)dsah_limit.members);
    if (s->n == *cap) {
        *cap = *cap ? *cap * 2 : 1024;
        s->e = xrealloc(s->e, sizeof(src_entry) * (size_t)*cap);
    }
    while (name[0] == '.' && name[1] == '/') name += 2;
    s->e[s->n].name = xstrdup(name);
    s->e[s->n].data = NULL;
    s->e[s->n].len = 0;
    s->n++;
}

/* Whole regular file into memory, at most dsah_limit.member_bytes; -1 with
 * the message (naming path) in err. */
int read_file(const char *path, uint8_t **data, size_t *len, char *err, size_t errlen) {
    FILE *f = fopen_input(path, err, errlen);
    if (!f) return -1;
    size_t cap = 1 << 16, n = 0;
    uint8_t *b = malloc(cap);
    if (!b) { fclose(f); snprintf(err, errlen, "%s: out of memory", path); return -1; }
    for (;;) {
        if (n == cap) {
            if (cap >= (size_t)dsah_limit.member_bytes) {
                free(b);
                fclose(f);
                snprintf(err, errlen, "%s: larger than %lld bytes (the member_bytes limit)", path,
                         (long long)dsah_limit.member_bytes);
                return -1;
            }
            uint8_t *q = realloc(b, cap * 2);
            if (!q) { free(b); fclose(f); snprintf(err, errlen, "%s: out of memory", path); return -1; }
            b = q;
            cap *= 2;
        }
        size_t got = fread(b + n, 1, cap - n, f);
        n += got;
        if (got == 0) break;
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) { free(b); snprintf(err, errlen, "%s: read error: %s", path, strerror(EIO)); return -1; }
    *data = b;
    *len = n;
    return 0;
}

/* The directory walk of a folder source. Symbolic links are followed (a
 * class folder may be a link to where the images are), but each directory
 * (device, inode) is walked once: a link back to an ancestor (a cycle) or a
 * second link to a directory already walked is skipped and counted, so the
 * walk ends whatever the links. Names are visited in sorted order, so which
 * of two links to one directory is walked does not depend on the
 * filesystem's order. Entries that cannot be followed (a dangling link, a
 * link loop such as a -> b -> a) are skipped and counted as well. */
typedef struct dir_id { dev_t dev; ino_t ino; } dir_id;
typedef struct walk {
    source *s;
    int64_t *cap;
    const char *root;
    dir_id *seen;       /* open addressing, nseen <= capseen / 2; ino 0 marks a free slot */
    size_t nseen, capseen;
    int64_t repeated_dirs, unfollowable;
} walk;

static size_t dir_id_slot(const walk *w, dir_id id) {
    uint64_t h = ((uint64_t)id.ino * 0x9E3779B97F4A7C15ULL) ^ ((uint64_t)id.dev * 0xC2B2AE3D27D4EB4FULL);
    size_t i = (size_t)(h ^ (h >> 29)) & (w->capseen - 1);
    while (w->seen[i].ino && (w->seen[i].ino != id.ino || w->seen[i].dev != id.dev)) i = (i + 1) & (w->capseen - 1);
    return i;
}

/* Mark the directory as walked; 0 if it already was. */
static int walk_first_visit(walk *w, const struct stat *st) {
    dir_id id = {st->st_dev, st->st_ino ? st->st_ino : (ino_t)-1};
    if (2 * (w->nseen + 1) > w->capseen) {
        dir_id *old = w->seen;
        size_t oldcap = w->capseen;
        w->capseen = oldcap ? 2 * oldcap : 256;
        w->seen = xcalloc(w->capseen, sizeof(dir_id));
        for (size_t i = 0; i < oldcap; i++)
            if (old[i].ino) w->seen[dir_id_slot(w, old[i])] = old[i];
        free(old);
    }
    size_t i = dir_id_slot(w, id);
    if (w->seen[i].ino) return 0;
    w->seen[i] = id;
    w->nseen++;
    return 1;
}

static int cmp_str_ptr(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void walk_dir(walk *w, const char *rel) {
    char *dir = rel[0] ? path_join(w->root, rel) : xstrdup(w->root);
    DIR *d = opendir(dir);
    if (!d) die("%s: cannot read directory: %s", dir, strerror(errno));
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 64;
            names = xrealloc(names, sizeof(char *) * cap);
        }
        names[n++] = xstrdup(de->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof(char *), cmp_str_ptr);
    for (size_t k = 0; k < n; k++) {
        char *r = rel[0] ? path_join(rel, names[k]) : xstrdup(names[k]);
        char *full = path_join(w->root, r);
        struct stat st;
        if (stat(full, &st) != 0) {
            if (w->unfollowable++ < MAX_REPORTED) warnx_("%s: %s: %s; skipped", w->s->path, r, strerror(errno));
        } else if (S_ISDIR(st.st_mode)) {
            if (walk_first_visit(w, &st)) walk_dir(w, r);
            else if (w->repeated_dirs++ < MAX_REPORTED)
                warnx_("%s: %s: a link to a directory already walked (a cycle, or a second link to it); skipped",
                       w->s->path, r);
        } else if (S_ISREG(st.st_mode)) {
            src_push(w->s, w->cap, r);
        }
        free(full);
        free(r);
        free(names[k]);
    }
    free(names);
    free(dir);
}

/* List the regular files under s->path (a directory). */
static void walk_source_dir(source *s, int64_t *cap, const struct stat *root_st) {
    walk w = {.s = s, .cap = cap, .root = s->path};
    walk_first_visit(&w, root_st);
    walk_dir(&w, "");
    if (w.repeated_dirs)
        warnx_("%s: skipped %lld links to directories already walked (cycles or repeated links)", s->path,
               (long long)w.repeated_dirs);
    if (w.unfollowable)
        warnx_("%s: skipped %lld entries that cannot be followed (dangling links or link loops)", s->path,
               (long long)w.unfollowable);
    free(w.seen);
}

/* An archive read from a regular file (*fd, closed by arc_close). */
static struct archive *arc_open(const char *path, int *fd) {
    /* libarchive converts member names to the locale's charset, and in the
     * C locale (a stage's default) has no name to give for a non-ASCII one:
     * a UTF-8 character type, once, before any thread starts. */
    static int locale_set;
    if (!locale_set) {
        locale_set = 1;
        if (!setlocale(LC_CTYPE, "C.UTF-8") && !setlocale(LC_CTYPE, "C.utf8")) setlocale(LC_CTYPE, "en_US.UTF-8");
    }
    *fd = xopen_input(path);
    struct archive *a = archive_read_new();
    CHECK(a);
    archive_read_support_filter_all(a);
    archive_read_support_format_all(a);
    if (archive_read_open_fd(a, *fd, 1 << 16) != ARCHIVE_OK)
        die("%s: cannot read as an archive (zip, tar, tar.gz, ...): %s", path, archive_error_string(a));
    return a;
}

static void arc_close(struct archive *a, int fd) {
    archive_read_free(a);
    close(fd);
}

/* The member's name: UTF-8 where libarchive can convert it (the stages run
 * in the C locale, where archive_entry_pathname gives NULL for non-ASCII
 * names), else the raw name; NULL when there is none. */
static const char *arc_name(struct archive_entry *e) {
    const char *n = archive_entry_pathname_utf8(e);
    return n ? n : archive_entry_pathname(e);
}

/* Read the current member whole, at most dsah_limit.member_bytes; the
 * declared size (hint, untrusted) only sizes the first buffer, up to 1 MiB.
 * -1 with the archive's message on failure, -2 over the limit. */
static int arc_read_member(struct archive *a, uint8_t **data, size_t *len, int64_t hint) {
    if (hint > dsah_limit.member_bytes) return -2;
    size_t cap = hint > 0 && hint < (1 << 20) ? (size_t)hint + 1 : 1 << 16, n = 0;
    uint8_t *b = xmalloc(cap);
    for (;;) {
        if (n == cap) {
            if (cap > (size_t)dsah_limit.member_bytes) { free(b); return -2; }
            cap *= 2;
            b = xrealloc(b, cap);
        }
        la_ssize_t got = archive_read_data(a, b + n, cap - n);
        if (got < 0) { free(b); return -1; }
        if (got == 0) break;
        n += (size_t)got;
    }
    *data = b;
    *len = n;
    return 0;
}

static int is_regular(struct archive_entry *e) {
    return archive_entry_filetype(e) == AE_IFREG;
}

static const source *cmp_src;   /* qsort has no context argument */
static int cmp_idx_name(const void *a, const void *b) {
    return strcmp(cmp_src->e[*(const int64_t *)a].name, cmp_src->e[*(const int64_t *)b].name);
}
static int cmp_entry_name(const void *a, const void *b) {
    return strcmp(((const src_entry *)a)->name, ((const src_entry *)b)->name);
}

/* Pass 1: list the regular files of path (a directory or an archive) and
 * read the ones want() accepts into memory. */
static void source_open(source *s, const char *path, want_fn want, void *ctx) {
    memset(s, 0, sizeof *s);
    s->path = path;
    struct stat st;
    if (stat(path, &st) != 0) die("%s: cannot open: %s", path, strerror(errno));
    int64_t cap = 0;
    if (S_ISDIR(st.st_mode)) {
        s->is_dir = 1;
        walk_source_dir(s, &cap, &st);
        qsort(s->e, (size_t)s->n, sizeof(src_entry), cmp_entry_name);
        for (int64_t i = 0; i < s->n; i++) {
            if (!want || !want(s->e[i].name, ctx)) continue;
            char *full = path_join(path, s->e[i].name), err[4400];
            if (read_file(full, &s->e[i].data, &s->e[i].len, err, sizeof err) != 0) die("%s", err);
            free(full);
        }
    } else {
        int fd;
        struct archive *a = arc_open(path, &fd);
        struct archive_entry *e;
        int rc;
        while ((rc = archive_read_next_header(a, &e)) == ARCHIVE_OK || rc == ARCHIVE_WARN) {
            if (!is_regular(e)) continue;
            const char *name = arc_name(e);
            if (!name)
                die("%s: member %lld: its name cannot be converted to UTF-8: %s", path, (long long)s->n + 1,
                    archive_error_string(a));
            src_push(s, &cap, name);
            src_entry *se = &s->e[s->n - 1];
            if (want && want(se->name, ctx)) {
                int r = arc_read_member(a, &se->data, &se->len, archive_entry_size_is_set(e) ? archive_entry_size(e) : 0);
                if (r == -2)
                    die_hint(limit_hint("member_bytes"), "%s: member %s is larger than %lld bytes (the member_bytes limit)",
                             path, se->name, (long long)dsah_limit.member_bytes);
                if (r)
                    die("%s: cannot read member %s: %s (truncated or corrupt archive?)", path, se->name, archive_error_string(a));
            }
        }
        if (rc != ARCHIVE_EOF)
            die("%s: corrupt or truncated archive after %lld members: %s", path, (long long)s->n, archive_error_string(a));
        arc_close(a, fd);
    }
    s->by_name = xmalloc(sizeof(int64_t) * (size_t)(s->n ? s->n : 1));
    for (int64_t i = 0; i < s->n; i++) s->by_name[i] = i;
    cmp_src = s;
    qsort(s->by_name, (size_t)s->n, sizeof(int64_t), cmp_idx_name);
}

/* Index of the entry named name, or -1. */
static int64_t source_find(const source *s, const char *name) {
    int64_t lo = 0, hi = s->n;
    while (lo < hi) {
        int64_t mid = (lo + hi) / 2;
        int c = strcmp(s->e[s->by_name[mid]].name, name);
        if (c == 0) return s->by_name[mid];
        if (c < 0) lo = mid + 1; else hi = mid;
    }
    return -1;
}

static void source_close(source *s) {
    for (int64_t i = 0; i < s->n; i++) {
        free(s->e[i].name);
        free(s->e[i].data);
    }
    free(s->e);
    free(s->by_name);
    memset(s, 0, sizeof *s);
}

/* ---- pass 2: decode, resize, place ------------------------------------- */
typedef struct job {
    int64_t item;      /* output row in the item list */
    int64_t entry;     /* source entry */
    uint8_t *raw;      /* member bytes (archive) or NULL (directory: read in the worker) */
    size_t rawlen;
    uint8_t *pix;      /* decoded (and resized) RGB */
    size_t pixcap;
    int w, h;
    int fail;
    char err[256];
} job;

typedef struct img_out {
    const char *path;
    atomic_file *af;
    int fd;
    int64_t n;         /* rows reserved (items) */
    int h, w;          /* 0 until known */
    size_t row, hdr;
} img_out;

static void pwrite_all(img_out *io, const void *buf, size_t n, off_t off) {
    const uint8_t *p = buf;
    while (n) {
        ssize_t k = pwrite(io->fd, p, n, off);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) die("%s: write failed: %s", io->path, strerror(errno));
        p += k;
        n -= (size_t)k;
        off += k;
    }
}

static void pread_all(img_out *io, void *buf, size_t n, off_t off) {
    uint8_t *p = buf;
    while (n) {
        ssize_t k = pread(io->fd, p, n, off);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) die("%s: read back failed: %s", io->path, strerror(errno));
        p += k;
        n -= (size_t)k;
        off += k;
    }
}

static size_t out_header(img_out *io, int64_t n, char *buf, size_t cap) {
    int64_t shape[4] = {n, io->h, io->w, 3};
    return npy_header(buf, cap, NPY_U1, 4, shape);
}

typedef struct skip_log {
    int64_t count;
} skip_log;

static void report_skip(skip_log *sl, const ingest_opts *o, const char *src, const char *name, const char *why) {
    if (o->strict) die("%s: %s: %s (--strict)", src, name, why);
    if (sl->count < MAX_REPORTED) warnx_("%s: %s: %s; skipped", src, name, why);
    else if (sl->count == MAX_REPORTED) warnx_("%s: further skipped images are counted, not listed", src);
    sl->count++;
}

static void decode_job(job *j, const source *s, int size, uint8_t **dec, size_t *deccap, resize_ws *ws) {
    uint8_t *raw = j->raw;
    size_t rawlen = j->rawlen;
    j->fail = 0;
    if (!raw) {
        char *full = path_join(s->path, s->e[j->entry].name), err[4400];
        if (read_file(full, &raw, &rawlen, err, sizeof err) != 0) {
            const char *why = strncmp(err, full, strlen(full)) == 0 ? err + strlen(full) + 2 : err;
            snprintf(j->err, sizeof j->err, "cannot read: %.200s", why);
            j->fail = 1;
            free(full);
            return;
        }
        free(full);
    }
    int w, h;
    int rc = image_decode(dec, deccap, &w, &h, raw, rawlen, j->err, sizeof j->err);
    if (raw != j->raw) free(raw);
    if (rc) { j->fail = 1; return; }
    int ow = size ? size : w, oh = size ? size : h;
    size_t need = (size_t)ow * oh * 3;   /* <= 3 * dsah_limit.pixels: both sides checked */
    if (j->pixcap < need) {
        free(j->pix);
        j->pix = xmalloc(need);
        j->pixcap = need;
    }
    image_resize(j->pix, *dec, w, h, ow, oh, ws);
    j->w = ow;
    j->h = oh;
}

typedef struct stream {
    const source *s;
    const ingest_opts *o;
    img_out io;
    uint8_t *ok;       /* [n] 1 once the row is written */
    skip_log sl;
    progress pr;
    int64_t done;
    int nthreads;
    uint8_t **dec;     /* per thread decode buffers */
    size_t *deccap;
    resize_ws *ws;
} stream;

static void decode_one(stream *st, job *j) {
    int t = omp_get_thread_num();
    decode_job(j, st->s, st->o->size, &st->dec[t], &st->deccap[t], &st->ws[t]);
}

/* Sequential, in chunk order: deterministic regardless of the thread count. */
static void write_chunk(stream *st, job *jobs, int nj, char *const *names) {
    const source *s = st->s;
    for (int i = 0; i < nj; i++) {
        job *j = &jobs[i];
        free(j->raw);
        j->raw = NULL;
        if (j->fail) {
            report_skip(&st->sl, st->o, s->path, names[j->item], j->err);
            continue;
        }
        img_out *io = &st->io;
        if (!io->h) {
            char hb[256];
            io->h = j->h;
            io->w = j->w;
            io->row = (size_t)io->h * io->w * 3;
            io->hdr = out_header(io, io->n, hb, sizeof hb);
            pwrite_all(io, hb, io->hdr, 0);
        } else if (j->h != io->h || j->w != io->w) {
            die_hint("pass --size N (the pipelines' dataset.size) to resize every image at ingest",
                     "%s: %s is %dx%d but the images before it are %dx%d", s->path, names[j->item],
                     j->w, j->h, io->w, io->h);
        }
        pwrite_all(io, j->pix, io->row, (off_t)(io->hdr + (size_t)j->item * io->row));
        st->ok[j->item] = 1;
    }
    /* Start the write-back now so that the final fsync has little left. */
    sync_file_range(st->io.fd, 0, 0, SYNC_FILE_RANGE_WRITE);
    st->done += nj;
    progress_update(&st->pr, st->done);
}

/* The next chunk of work, in read order: for a directory the next items
 * (the workers read the files); for an archive the next wanted members,
 * read here. Returns the job count (0 at the end). */
typedef struct reader {
    const source *s;
    const int64_t *entries;
    char *const *names;
    int64_t n, next;              /* directory: next item */
    struct archive *a;            /* archive: open reader (on fd), entry ordinal k */
    int fd;
    int64_t *item_of, k, want;
} reader;

static int fill_chunk(reader *rd, job *jobs) {
    int nj = 0;
    if (rd->s->is_dir) {
        while (nj < INGEST_CHUNK && rd->next < rd->n) {
            jobs[nj].item = rd->next;
            jobs[nj].entry = rd->entries[rd->next++];
            jobs[nj].raw = NULL;
            nj++;
        }
        return nj;
    }
    size_t bytes = 0;
    struct archive_entry *e;
    int rc;
    while (rd->want > 0 && nj < INGEST_CHUNK && bytes < INGEST_CHUNK_BYTES) {
        rc = archive_read_next_header(rd->a, &e);
        if (rc != ARCHIVE_OK && rc != ARCHIVE_WARN)
            die("%s: corrupt or truncated archive (%lld images not reached): %s", rd->s->path, (long long)rd->want,
                archive_error_string(rd->a));
        if (!is_regular(e)) continue;
        if (rd->k >= rd->s->n) die("%s: the archive changed while being read", rd->s->path);
        int64_t it = rd->item_of[rd->k++];
        if (it < 0) continue;
        rd->item_of[rd->k - 1] = -1;   /* a repeated name is read once */
        rd->want--;
        job *j = &jobs[nj++];
        j->item = it;
        j->entry = rd->k - 1;
        int r = arc_read_member(rd->a, &j->raw, &j->rawlen, archive_entry_size_is_set(e) ? archive_entry_size(e) : 0);
        if (r == -2)
            die_hint(limit_hint("member_bytes"), "%s: member %s is larger than %lld bytes (the member_bytes limit)",
                     rd->s->path, rd->names[it], (long long)dsah_limit.member_bytes);
        if (r)
            die("%s: cannot read member %s: %s (truncated or corrupt archive?)", rd->s->path, rd->names[it],
                archive_error_string(rd->a));
        bytes += j->rawlen;
    }
    return nj;
}

/* Decode items (entry indices into s, in output order; names for messages)
 * into images_path. ok[i] = 1 for the rows kept. Returns the number kept;
 * *h, *w the image size.
 * Three chunks are in flight: while the threads decode chunk c, one of them
 * first writes chunk c-1 and reads chunk c+1, then joins the decoding (the
 * dynamic schedule hands it what is left), so the I/O overlaps the decoding. */
static int64_t stream_images(uint8_t *ok, int *h, int *w, const char *images_path, const source *s,
                             const int64_t *entries, char *const *names, int64_t n, const ingest_opts *o) {
    stream st;
    memset(&st, 0, sizeof st);
    st.s = s;
    st.o = o;
    st.ok = ok;
    memset(ok, 0, (size_t)n);
    if (n == 0) die("%s: no image to ingest", s->path);
    if (o->size && (int64_t)o->size * o->size > dsah_limit.pixels)
        die_hint(limit_hint("pixels"), "--size %d: %dx%d is more than %lld pixels (the pixels limit)", o->size, o->size,
                 o->size, (long long)dsah_limit.pixels);
    st.nthreads = o->threads > 0 ? o->threads : omp_get_max_threads();
    st.dec = xcalloc((size_t)st.nthreads, sizeof(uint8_t *));
    st.deccap = xcalloc((size_t)st.nthreads, sizeof(size_t));
    st.ws = xcalloc((size_t)st.nthreads, sizeof(resize_ws));
    st.io.path = images_path;
    st.io.af = af_open(images_path);
    /* The atomic temporary is opened write-only; a read-write descriptor on
     * it serves the positional writes and the read-back of the compaction. */
    st.io.fd = open(st.io.af->tmp, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
    if (st.io.fd < 0) die("%s: cannot reopen %s: %s", images_path, st.io.af->tmp, strerror(errno));
    st.io.n = n;
    if (o->size) {
        char hb[256];
        st.io.h = st.io.w = o->size;
        st.io.row = (size_t)o->size * o->size * 3;
        st.io.hdr = out_header(&st.io, n, hb, sizeof hb);
        pwrite_all(&st.io, hb, st.io.hdr, 0);
    }
    reader rd = {.s = s, .entries = entries, .names = names, .n = n};
    if (!s->is_dir) {
        rd.item_of = xmalloc(sizeof(int64_t) * (size_t)(s->n ? s->n : 1));
        for (int64_t i = 0; i < s->n; i++) rd.item_of[i] = -1;
        for (int64_t i = 0; i < n; i++) rd.item_of[entries[i]] = i;
        rd.want = n;
        rd.a = arc_open(s->path, &rd.fd);
    }
    job *buf[3];
    for (int b = 0; b < 3; b++) buf[b] = xcalloc(INGEST_CHUNK, sizeof(job));
    job *prev = buf[0], *cur = buf[1], *next = buf[2];
    int nprev = 0, ncur, nnext = 0;
    progress_begin(&st.pr, "decode", n);
    ncur = fill_chunk(&rd, cur);
    while (ncur > 0) {
#pragma omp parallel num_threads(st.nthreads)
        {
#pragma omp single nowait
            {
                if (nprev) write_chunk(&st, prev, nprev, names);
                nnext = fill_chunk(&rd, next);
            }
#pragma omp for schedule(dynamic, 1) nowait
            for (int i = 0; i < ncur; i++) decode_one(&st, &cur[i]);
        }
        job *t = prev;
        prev = cur;
        nprev = ncur;
        cur = next;
        ncur = nnext;
        next = t;
    }
    if (nprev) write_chunk(&st, prev, nprev, names);
    if (!s->is_dir) {
        arc_close(rd.a, rd.fd);
        free(rd.item_of);
    }
    progress_end(&st.pr);
    int64_t kept = 0;
    for (int64_t i = 0; i < n; i++) kept += ok[i];
    if (kept == 0) die("%s: none of the %lld images could be decoded", s->path, (long long)n);
    img_out *io = &st.io;
    if (kept < n) {
        /* Close the holes: header for the final N, rows moved down in order
         * (destinations never pass sources, so one ascending copy is safe). */
        char hb[256];
        size_t hdr2 = out_header(io, kept, hb, sizeof hb);
        uint8_t *buf = xmalloc(io->row);
        int64_t j = 0;
        for (int64_t i = 0; i < n; i++) {
            if (!ok[i]) continue;
            off_t from = (off_t)(io->hdr + (size_t)i * io->row), to = (off_t)(hdr2 + (size_t)j * io->row);
            if (from != to) {
                pread_all(io, buf, io->row, from);
                pwrite_all(io, buf, io->row, to);
            }
            j++;
        }
        free(buf);
        pwrite_all(io, hb, hdr2, 0);
        io->hdr = hdr2;
    }
    if (ftruncate(io->fd, (off_t)(io->hdr + (size_t)kept * io->row)) != 0)
        die("%s: cannot set the file size: %s", images_path, strerror(errno));
    if (fsync(io->fd) != 0 || close(io->fd) != 0) die("%s: cannot write: %s", images_path, strerror(errno));
    af_commit(io->af);
    for (int b = 0; b < 3; b++) {
        for (int i = 0; i < INGEST_CHUNK; i++) free(buf[b][i].pix);
        free(buf[b]);
    }
    for (int t = 0; t < st.nthreads; t++) {
        free(st.dec[t]);
        resize_ws_free(&st.ws[t]);
    }
    free(st.dec);
    free(st.deccap);
    free(st.ws);
    *h = io->h;
    *w = io->w;
    return kept;
}

/* ---- shared loader tail ------------------------------------------------- */
/* items: (entry, name, labels row) in output order. Streams them, keeps the
 * labels of the decoded rows, fills r. */
static void finish(ingest_result *r, const ingest_opts *o, const char *images_path, const source *s,
                   const int64_t *entries, char *const *names, uint8_t *labels, int64_t n, int nclass,
                   char **class_names, int64_t absent, int64_t unlabeled) {
    uint8_t *ok = xmalloc((size_t)(n ? n : 1));
    int h = 0, w = 0;
    int64_t kept = stream_images(ok, &h, &w, images_path, s, entries, names, n, o);
    int64_t j = 0;
    for (int64_t i = 0; i < n; i++)
        if (ok[i]) memmove(labels + (size_t)j++ * nclass, labels + (size_t)i * nclass, (size_t)nclass);
    memset(r, 0, sizeof *r);
    r->n = kept;
    r->h = h;
    r->w = w;
    r->c = 3;
    r->nclass = nclass;
    r->labels = labels;
    r->class_names = class_names;
    r->unlabeled = unlabeled;
    r->skipped = (n - kept) + absent + unlabeled;
    info("%lld images (%dx%d) with %d labels; dropped: %lld without a label, %lld absent, %lld undecodable",
         (long long)kept, w, h, nclass, (long long)unlabeled, (long long)absent, (long long)(n - kept));
    free(ok);
}

/* Text member split into lines: '\r' and trailing blanks removed, trailing
 * empty lines dropped. Returns the count; *lines point into the (modified)
 * buffer, which must stay alive. */
static int64_t split_lines(char ***lines, char *text) {
    int64_t n = 0, cap = 1024;
    char **L = xmalloc(sizeof(char *) * (size_t)cap);
    char *p = text;
    while (*p) {
        char *nl = strchr(p, '\n');
        if (nl) *nl = 0;
        size_t k = strlen(p);
        while (k && (p[k - 1] == '\r' || p[k - 1] == ' ' || p[k - 1] == '\t')) p[--k] = 0;
        if (n == cap) { cap *= 2; L = xrealloc(L, sizeof(char *) * (size_t)cap); }
        L[n++] = p;
        if (!nl) break;
        p = nl + 1;
    }
    while (n && !L[n - 1][0]) n--;
    *lines = L;
    return n;
}

/* Member contents as a NUL-terminated string (the buffer grows by one). */
static char *entry_text(src_entry *e) {
    e->data = xrealloc(e->data, e->len + 1);
    e->data[e->len] = 0;
    if (memchr(e->data, 0, e->len)) return NULL;
    return (char *)e->data;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* ---- FLICKR25K ---------------------------------------------------------- */
/* k > 0 when name is [.../]mirflickr/im<k>.jpg (or im<k>.jpg at the top of
 * an extracted mirflickr folder); numbers beyond a long are not image names. */
static long flickr_id(const char *name) {
    const char *b = base_name(name);
    if (strncmp(b, "im", 2) != 0 || !isdigit((unsigned char)b[2])) return 0;
    char *end;
    errno = 0;
    long k = strtol(b + 2, &end, 10);
    if (errno || strcmp(end, ".jpg") != 0 || k <= 0) return 0;
    if (b == name) return k;
    size_t dl = (size_t)(b - name) - 1;
    if (dl >= 9 && strncmp(b - 10, "mirflickr", 9) == 0 && (dl == 9 || b[-11] == '/')) return k;
    return 0;
}

typedef struct flickr_img {
    long id;         /* image number (also: concept index, for absent ids) */
    int64_t entry;   /* source entry */
} flickr_img;

static int cmp_flickr_img(const void *a, const void *b) {
    const flickr_img *x = a, *y = b;
    if (x->id != y->id) return x->id < y->id ? -1 : 1;
    return x->entry < y->entry ? -1 : x->entry > y->entry;
}

/* Position of image number k in img[0..n) (sorted), or -1. */
static int64_t flickr_find(const flickr_img *img, int64_t n, long k) {
    int64_t lo = 0, hi = n;
    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        if (img[mid].id == k) return mid;
        if (img[mid].id < k) lo = mid + 1; else hi = mid;
    }
    return -1;
}

/* Candidate text files of the annotations: *.txt at the top or one folder
 * down, not the _r1 subsets. The concept files are then the ones beside
 * README.txt. */
static int flickr_txt(const char *name, void *ctx) {
    (void)ctx;
    const char *b = base_name(name), *sl = strchr(name, '/');
    if (sl && sl + 1 != b) return 0;
    if (!ends_with(b, ".txt") || ends_with(b, "_r1.txt")) return 0;
    return b[0] != '.' && !strstr(name, "__MACOSX/");
}

void ingest_flickr25k(ingest_result *r, const ingest_opts *o, const char *images_path) {
    if (!o->annotations)
        die_hint("--annotations mirflickr25k_annotations_v080.zip", "flickr25k: the annotations (--annotations) are required");
    source si, sa;
    source_open(&si, o->path, NULL, NULL);
    /* The images by number: (number, entry) pairs sorted by number. The
     * numbers come from member names, so nothing is indexed by them. */
    int64_t nimg = 0;
    flickr_img *img = xmalloc(sizeof(flickr_img) * (size_t)(si.n ? si.n : 1));
    for (int64_t i = 0; i < si.n; i++) {
        long k = flickr_id(si.e[i].name);
        if (k) img[nimg++] = (flickr_img){k, i};
    }
    if (nimg == 0)
        die("%s: expected mirflickr/im1.jpg ... im25000.jpg (the layout of mirflickr25k.zip); no mirflickr/im<N>.jpg found",
            o->path);
    qsort(img, (size_t)nimg, sizeof *img, cmp_flickr_img);
    for (int64_t i = 1; i < nimg; i++)
        if (img[i].id == img[i - 1].id)
            die("%s: image %ld appears twice (%s and %s)", o->path, img[i].id, si.e[img[i - 1].entry].name,
                si.e[img[i].entry].name);
    source_open(&sa, o->annotations, flickr_txt, NULL);
    const char *readme = NULL;
    for (int64_t i = 0; i < sa.n; i++)
        if (sa.e[i].data && !strcmp(base_name(sa.e[i].name), "README.txt")) readme = sa.e[i].name;
    if (!readme)
        die("%s: expected README.txt beside the concept files animals.txt ... water.txt "
            "(the layout of mirflickr25k_annotations_v080.zip); not found", o->annotations);
    size_t dl = (size_t)(base_name(readme) - readme);
    int nc = 0;
    for (int64_t i = 0; i < sa.n; i++) {
        src_entry *e = &sa.e[i];
        if (!e->data) continue;
        if (!strcmp(base_name(e->name), "README.txt") ||
            strlen(e->name) <= dl || strncmp(e->name, readme, dl) || strchr(e->name + dl, '/')) {
            free(e->data);   /* not a concept file: drop it */
            e->data = NULL;
            continue;
        }
        nc++;
    }
    if (nc == 0)
        die("%s: expected the concept files animals.txt ... water.txt beside %s; none found", o->annotations, readme);
    /* Concepts in name order. */
    int64_t *cidx = xmalloc(sizeof(int64_t) * (size_t)nc);
    char **cname = xmalloc(sizeof(char *) * (size_t)nc);
    nc = 0;
    for (int64_t i = 0; i < sa.n; i++)
        if (sa.e[i].data) cidx[nc++] = i;
    for (int a = 1; a < nc; a++)   /* insertion sort by basename */
        for (int b = a; b > 0 && strcmp(base_name(sa.e[cidx[b - 1]].name), base_name(sa.e[cidx[b]].name)) > 0; b--) {
            int64_t t = cidx[b]; cidx[b] = cidx[b - 1]; cidx[b - 1] = t;
        }
    for (int c = 0; c < nc; c++) {
        const char *b = base_name(sa.e[cidx[c]].name);
        cname[c] = xstrdup(b);
        cname[c][strlen(b) - 4] = 0;
        if (c && !strcmp(cname[c], cname[c - 1]))
            die("%s: concept %s appears twice", o->annotations, cname[c]);
    }
    /* Labels by position in img; listed numbers without an image collected
     * as (number, concept) pairs, reported once each after the lists. */
    uint8_t *lab = xcalloc(xmul((size_t)nimg, (size_t)nc, "flickr25k labels"), 1);
    int64_t absent = 0, nabs = 0, capabs = 0;
    flickr_img *abs_ids = NULL;
    skip_log sl = {0};
    for (int c = 0; c < nc; c++) {
        src_entry *e = &sa.e[cidx[c]];
        char *text = entry_text(e);
        if (!text) die("%s: %s is not a text file", o->annotations, e->name);
        char **L;
        int64_t nl = split_lines(&L, text);
        for (int64_t l = 0; l < nl; l++) {
            char *end;
            const char *p = L[l];
            while (*p == ' ' || *p == '\t') p++;
            errno = 0;
            long k = strtol(p, &end, 10);
            if (end == p || *end || k <= 0 || errno)
                die("%s: %s line %lld: expected a 1-based image number, found \"%s\"", o->annotations, e->name,
                    (long long)l + 1, L[l]);
            int64_t at = flickr_find(img, nimg, k);
            if (at < 0) {
                if (nabs == capabs) abs_ids = xrealloc(abs_ids, sizeof *abs_ids * (size_t)(capabs = capabs ? 2 * capabs : 64));
                abs_ids[nabs++] = (flickr_img){k, c};
                continue;
            }
            lab[(size_t)at * nc + c] = 1;
        }
        free(L);
    }
    /* Each absent number once, with the first concept file listing it. */
    if (nabs) qsort(abs_ids, (size_t)nabs, sizeof *abs_ids, cmp_flickr_img);
    for (int64_t i = 0; i < nabs; i++) {
        if (i && abs_ids[i].id == abs_ids[i - 1].id) continue;
        char nm[64], why[200];
        snprintf(nm, sizeof nm, "mirflickr/im%ld.jpg", abs_ids[i].id);
        snprintf(why, sizeof why, "listed in %s but absent from the image archive", sa.e[cidx[abs_ids[i].entry]].name);
        report_skip(&sl, o, o->path, nm, why);
        absent++;
    }
    free(abs_ids);
    /* Items: images by number; unlabeled ones dropped before decoding. */
    int64_t n = nimg, unlabeled = 0;
    int64_t *entries = xmalloc(sizeof(int64_t) * (size_t)n);
    char **names = xmalloc(sizeof(char *) * (size_t)n);
    uint8_t *labels = xmalloc((size_t)n * nc);
    int64_t m = 0;
    for (int64_t i = 0; i < nimg; i++) {
        int any = 0;
        for (int c = 0; c < nc; c++) any |= lab[(size_t)i * nc + c];
        if (!any) { unlabeled++; continue; }
        entries[m] = img[i].entry;
        names[m] = si.e[img[i].entry].name;
        memcpy(labels + (size_t)m * nc, lab + (size_t)i * nc, (size_t)nc);
        m++;
    }
    info("flickr25k: %lld images, %d concepts; %lld without any concept dropped", (long long)n, nc, (long long)unlabeled);
    finish(r, o, images_path, &si, entries, names, labels, m, nc, cname, absent, unlabeled);
    free(entries);
    free(names);
    free(lab);
    free(cidx);
    free(img);
    source_close(&si);
    source_close(&sa);
}

/* ---- image root resolution (NUS-WIDE, label lists) --------------------- */
/* Find the prefix P such that P + rel names an entry of s, from the first of
 * rels that exists (up to 1000 tried). Dies naming the expected file when
 * none does. */
static char *find_root(const source *s, char *const *rels, int64_t n, const char *listed_in) {
    for (int64_t i = 0; i < n && i < 1000; i++) {
        if (source_find(s, rels[i]) >= 0) return xstrdup("");
        size_t rl = strlen(rels[i]);
        for (int64_t k = 0; k < s->n; k++) {
            const char *nm = s->e[k].name;
            size_t nl = strlen(nm);
            if (nl > rl && nm[nl - rl - 1] == '/' && strcmp(nm + nl - rl, rels[i]) == 0) {
                char *root = xstrdup(nm);
                root[nl - rl] = 0;
                return root;
            }
        }
    }
    die("%s: expected the image %s (listed in %s) in the folder/archive, directly or under an image root such as "
        "Flickr/; not found", s->path, n ? rels[0] : "?", listed_in);
}

/* Resolve rels under root; entries[i] = -1 for the absent ones (reported). */
static int64_t resolve(int64_t *entries, char **names, const source *s, const char *root, char *const *rels,
                       int64_t n, const ingest_opts *o, const char *listed_in) {
    skip_log sl = {0};
    int64_t absent = 0;
    size_t rl = strlen(root);
    for (int64_t i = 0; i < n; i++) {
        size_t l = strlen(rels[i]);
        char *full = xmalloc(rl + l + 1);
        memcpy(full, root, rl);
        memcpy(full + rl, rels[i], l + 1);
        entries[i] = source_find(s, full);
        if (entries[i] < 0) {
            char why[300];
            snprintf(why, sizeof why, "listed in %s but absent", listed_in);
            report_skip(&sl, o, s->path, full, why);
            absent++;
            free(full);
            names[i] = NULL;
        } else {
            free(full);
            names[i] = s->e[entries[i]].name;
        }
    }
    return absent;
}

/* ---- NUS-WIDE ------------------------------------------------------------ */
static int nus_want(const char *name, void *ctx) {
    (void)ctx;
    if (strstr(name, "__MACOSX/")) return 0;
    if (ends_with(name, "ImageList/Imagelist.txt") && (!strcmp(name, "ImageList/Imagelist.txt") ||
                                                       ends_with(name, "/ImageList/Imagelist.txt")))
        return 1;
    const char *b = base_name(name);
    return strncmp(b, "Labels_", 7) == 0 && ends_with(b, ".txt") && (size_t)(b - name) >= 10 &&
           strncmp(b - 10, "AllLabels/", 10) == 0;
}

/* Imagelist.txt path -> relative path with '/' (see ingest_images.h). */
static void nus_path(char *p) {
    for (char *q = p; *q; q++)
        if (*q == '\\') *q = '/';
    char *f = NULL;
    for (char *q = strstr(p, "Flickr/"); q; q = strstr(q + 1, "Flickr/"))
        if (q == p || q[-1] == '/') f = q;
    if (f) memmove(p, f + 7, strlen(f + 7) + 1);
    while (p[0] == '/') memmove(p, p + 1, strlen(p));
}

void ingest_nuswide(ingest_result *r, const ingest_opts *o, const char *images_path, int top) {
    const char *ann = o->annotations ? o->annotations : o->path;
    source sa, si;
    source_open(&sa, ann, nus_want, NULL);
    src_entry *list = NULL;
    int nc = 0;
    for (int64_t i = 0; i < sa.n; i++) {
        if (!sa.e[i].data) continue;
        if (ends_with(sa.e[i].name, "Imagelist.txt")) {
            if (list) die("%s: two image lists: %s and %s", ann, list->name, sa.e[i].name);
            list = &sa.e[i];
        } else {
            nc++;
        }
    }
    if (!list) die("%s: expected ImageList/Imagelist.txt (from NUS-WIDE's ImageList.zip); not found", ann);
    if (nc == 0)
        die("%s: expected Groundtruth/AllLabels/Labels_<concept>.txt (from NUS-WIDE's Groundtruth.zip); none found", ann);
    char *text = entry_text(list);
    if (!text) die("%s: %s is not a text file", ann, list->name);
    char **rels;
    int64_t n = split_lines(&rels, text);
    for (int64_t i = 0; i < n; i++) {
        if (!rels[i][0]) die("%s: %s line %lld is empty", ann, list->name, (long long)i + 1);
        nus_path(rels[i]);
    }
    /* Concepts in name order, with their frequencies. */
    char **cname = xmalloc(sizeof(char *) * (size_t)nc);
    uint8_t **col = xmalloc(sizeof(uint8_t *) * (size_t)nc);
    int64_t *freq = xcalloc((size_t)nc, sizeof(int64_t));
    int64_t *cidx = xmalloc(sizeof(int64_t) * (size_t)nc);
    int c = 0;
    for (int64_t i = 0; i < sa.n; i++)
        if (sa.e[i].data && &sa.e[i] != list) cidx[c++] = i;
    for (int a = 1; a < nc; a++)
        for (int b = a; b > 0 && strcmp(base_name(sa.e[cidx[b - 1]].name), base_name(sa.e[cidx[b]].name)) > 0; b--) {
            int64_t t = cidx[b]; cidx[b] = cidx[b - 1]; cidx[b - 1] = t;
        }
    for (c = 0; c < nc; c++) {
        src_entry *e = &sa.e[cidx[c]];
        const char *b = base_name(e->name) + 7;
        cname[c] = xstrdup(b);
        cname[c][strlen(b) - 4] = 0;
        if (c && !strcmp(cname[c], cname[c - 1])) die("%s: concept %s appears twice", ann, cname[c]);
        char *t = entry_text(e);
        if (!t) die("%s: %s is not a text file", ann, e->name);
        char **L;
        int64_t nl = split_lines(&L, t);
        if (nl != n)
            die("%s: %s has %lld lines but %s has %lld (one 0/1 per listed image expected)", ann, e->name,
                (long long)nl, list->name, (long long)n);
        col[c] = xmalloc((size_t)(n ? n : 1));
        for (int64_t l = 0; l < n; l++) {
            const char *p = L[l];
            while (*p == ' ' || *p == '\t') p++;
            if ((p[0] != '0' && p[0] != '1') || p[1])
                die("%s: %s line %lld: expected 0 or 1, found \"%s\"", ann, e->name, (long long)l + 1, L[l]);
            col[c][l] = (uint8_t)(p[0] - '0');
            freq[c] += col[c][l];
        }
        free(L);
    }
    if (top > nc) die("%s: %d concepts requested but only %d label files found", ann, top, nc);
    /* The top most frequent (ties: name order), kept in name order. */
    int *order = xmalloc(sizeof(int) * (size_t)nc);
    for (c = 0; c < nc; c++) order[c] = c;
    for (int a = 1; a < nc; a++)
        for (int b = a; b > 0 && freq[order[b - 1]] < freq[order[b]]; b--) {
            int t = order[b]; order[b] = order[b - 1]; order[b - 1] = t;
        }
    uint8_t *sel = xcalloc((size_t)nc, 1);
    for (int k = 0; k < top; k++) sel[order[k]] = 1;
    char **names_sel = xmalloc(sizeof(char *) * (size_t)top);
    int *csel = xmalloc(sizeof(int) * (size_t)top);
    int L = 0;
    for (c = 0; c < nc; c++)
        if (sel[c]) { csel[L] = c; names_sel[L++] = xstrdup(cname[c]); }
    info("nuswide: %lld listed images, %d concepts, the %d most frequent kept (least kept: %s, %lld images)",
         (long long)n, nc, top, cname[order[top - 1]], (long long)freq[order[top - 1]]);
    /* Items with at least one kept concept. */
    int64_t m = 0, unlabeled = 0;
    char **mrels = xmalloc(sizeof(char *) * (size_t)(n ? n : 1));
    uint8_t *labels = xmalloc((size_t)(n ? n : 1) * top);
    for (int64_t i = 0; i < n; i++) {
        int any = 0;
        for (int k = 0; k < top; k++) any |= col[csel[k]][i];
        if (!any) { unlabeled++; continue; }
        for (int k = 0; k < top; k++) labels[(size_t)m * top + k] = col[csel[k]][i];
        mrels[m++] = rels[i];
    }
    source_open(&si, o->path, NULL, NULL);
    char *root = find_root(&si, mrels, m, list->name);
    info("nuswide: image root in %s: \"%s\"", o->path, root);
    int64_t *entries = xmalloc(sizeof(int64_t) * (size_t)(m ? m : 1));
    char **names = xmalloc(sizeof(char *) * (size_t)(m ? m : 1));
    int64_t absent = resolve(entries, names, &si, root, mrels, m, o, list->name);
    int64_t j = 0;
    for (int64_t i = 0; i < m; i++) {
        if (entries[i] < 0) continue;
        entries[j] = entries[i];
        names[j] = names[i];
        memmove(labels + (size_t)j * top, labels + (size_t)i * top, (size_t)top);
        j++;
    }
    finish(r, o, images_path, &si, entries, names, labels, j, top, names_sel, absent, unlabeled);
    for (c = 0; c < nc; c++) { free(cname[c]); free(col[c]); }
    free(cname); free(col); free(freq); free(cidx); free(order); free(sel); free(csel);
    free(mrels); free(rels); free(root); free(entries); free(names);
    source_close(&sa);
    source_close(&si);
}

/* ---- folder / archive --------------------------------------------------- */
static int is_image_name(const char *name) {
    const char *b = base_name(name);
    if (b[0] == '.' || strstr(name, "__MACOSX/")) return 0;
    return ends_with_ci(b, ".jpg") || ends_with_ci(b, ".jpeg") || ends_with_ci(b, ".png");
}

static void folder_list(ingest_result *r, const ingest_opts *o, const char *images_path, source *s) {
    src_entry le = {0};
    char err[4400];
    if (read_file(o->label_list, &le.data, &le.len, err, sizeof err) != 0) die("the label list %s", err);
    char *text = entry_text(&le);
    if (!text) die("%s: not a text file", o->label_list);
    char **lines;
    int64_t nl = split_lines(&lines, text);
    /* Tokenise in place: path then labels. */
    char **paths = xmalloc(sizeof(char *) * (size_t)(nl ? nl : 1));
    char ***toks = xmalloc(sizeof(char **) * (size_t)(nl ? nl : 1));
    int *ntok = xcalloc((size_t)(nl ? nl : 1), sizeof(int));
    int64_t n = 0, ntot = 0;
    for (int64_t l = 0; l < nl; l++) {
        char *p = lines[l];
        while (*p == ' ' || *p == '\t') p++;
        if (!*p || *p == '#') continue;
        char *save, *t = strtok_r(p, " \t", &save);
        paths[n] = t;
        while (paths[n][0] == '.' && paths[n][1] == '/') paths[n] += 2;
        int cap = 4;
        toks[n] = xmalloc(sizeof(char *) * (size_t)cap);
        while ((t = strtok_r(NULL, " \t", &save))) {
            if (ntok[n] == cap) { cap *= 2; toks[n] = xrealloc(toks[n], sizeof(char *) * (size_t)cap); }
            toks[n][ntok[n]++] = t;
            ntot++;
        }
        n++;
    }
    if (n == 0) die("%s: no image listed", o->label_list);
    /* Classes: sorted distinct names. */
    char **all = xmalloc(sizeof(char *) * (size_t)(ntot ? ntot : 1));
    int64_t k = 0;
    for (int64_t i = 0; i < n; i++)
        for (int t = 0; t < ntok[i]; t++) all[k++] = toks[i][t];
    qsort(all, (size_t)ntot, sizeof(char *), cmp_str);
    int nc = 0;
    for (int64_t i = 0; i < ntot; i++)
        if (i == 0 || strcmp(all[i], all[i - 1])) all[nc++] = all[i];
    if (nc == 0) die("%s: no labels (expected lines \"relative/path label label ...\")", o->label_list);
    char **cname = xmalloc(sizeof(char *) * (size_t)nc);
    for (int c = 0; c < nc; c++) cname[c] = xstrdup(all[c]);
    /* Items with at least one label. */
    uint8_t *labels = xcalloc((size_t)n * nc, 1);
    char **rels = xmalloc(sizeof(char *) * (size_t)n);
    int64_t m = 0, unlabeled = 0;
    for (int64_t i = 0; i < n; i++) {
        if (!ntok[i]) { unlabeled++; continue; }
        for (int t = 0; t < ntok[i]; t++) {
            char **hit = bsearch(&toks[i][t], cname, (size_t)nc, sizeof(char *), cmp_str);
            CHECK(hit);
            labels[(size_t)m * nc + (hit - cname)] = 1;
        }
        rels[m++] = paths[i];
    }
    char *root = find_root(s, rels, m, o->label_list);
    int64_t *entries = xmalloc(sizeof(int64_t) * (size_t)(m ? m : 1));
    char **names = xmalloc(sizeof(char *) * (size_t)(m ? m : 1));
    int64_t absent = resolve(entries, names, s, root, rels, m, o, o->label_list);
    int64_t j = 0;
    for (int64_t i = 0; i < m; i++) {
        if (entries[i] < 0) continue;
        entries[j] = entries[i];
        names[j] = names[i];
        memmove(labels + (size_t)j * nc, labels + (size_t)i * nc, (size_t)nc);
        j++;
    }
    finish(r, o, images_path, s, entries, names, labels, j, nc, cname, absent, unlabeled);
    for (int64_t i = 0; i < n; i++) free(toks[i]);
    free(toks); free(ntok); free(paths); free(all); free(rels); free(root); free(entries); free(names);
    free(lines); free(le.data);
}

void ingest_folder(ingest_result *r, const ingest_opts *o, const char *images_path) {
    source s;
    source_open(&s, o->path, NULL, NULL);
    if (o->label_list) {
        folder_list(r, o, images_path, &s);
        source_close(&s);
        return;
    }
    /* Image entries in sorted path order. */
    int64_t n = 0;
    int64_t *idx = xmalloc(sizeof(int64_t) * (size_t)(s.n ? s.n : 1));
    for (int64_t i = 0; i < s.n; i++)
        if (is_image_name(s.e[s.by_name[i]].name)) idx[n++] = s.by_name[i];
    if (n == 0) die("%s: expected CLASS/IMAGE.jpg (or .png) class folders; no image found", o->path);
    /* A single top folder wrapping all class folders is the root. */
    size_t strip = 0;
    const char *first = s.e[idx[0]].name, *sl = strchr(first, '/');
    if (sl) {
        size_t tl = (size_t)(sl - first) + 1;
        int wrap = 1;
        for (int64_t i = 0; i < n && wrap; i++) {
            const char *nm = s.e[idx[i]].name;
            const char *rest = nm + tl;
            wrap = strncmp(nm, first, tl) == 0 && strchr(rest, '/') != NULL;
        }
        if (wrap) strip = tl;
    }
    char **cname = NULL;
    int nc = 0;
    int *cls = xmalloc(sizeof(int) * (size_t)n);
    for (int64_t i = 0; i < n; i++) {
        const char *nm = s.e[idx[i]].name + strip;
        const char *slash = strchr(nm, '/');
        if (!slash)
            die("%s: %s is not inside a class folder (expected CLASS/%s)", o->path, s.e[idx[i]].name, nm);
        size_t cl = (size_t)(slash - nm);
        /* Sorted path order: each class's images are contiguous, classes ascend. */
        if (!nc || strlen(cname[nc - 1]) != cl || strncmp(cname[nc - 1], nm, cl)) {
            cname = xrealloc(cname, sizeof(char *) * (size_t)(nc + 1));
            cname[nc] = xmalloc(cl + 1);
            memcpy(cname[nc], nm, cl);
            cname[nc][cl] = 0;
            nc++;
        }
        cls[i] = nc - 1;
    }
    /* Path order and class-name order can differ ("a-b/x" < "a/x" but
     * "a" < "a-b"): class indices follow the names. */
    char **sorted = xmalloc(sizeof(char *) * (size_t)nc);
    memcpy(sorted, cname, sizeof(char *) * (size_t)nc);
    qsort(sorted, (size_t)nc, sizeof(char *), cmp_str);
    uint8_t *labels = xcalloc((size_t)n * nc, 1);
    char **names = xmalloc(sizeof(char *) * (size_t)n);
    for (int64_t i = 0; i < n; i++) {
        char **hit = bsearch(&cname[cls[i]], sorted, (size_t)nc, sizeof(char *), cmp_str);
        labels[(size_t)i * nc + (hit - sorted)] = 1;
        names[i] = s.e[idx[i]].name;
    }
    free(cname);
    info("folder: %lld images in %d classes", (long long)n, nc);
    finish(r, o, images_path, &s, idx, names, labels, n, nc, sorted, 0, 0);
    free(cls);
    free(names);
    free(idx);
    source_close(&s);
}
