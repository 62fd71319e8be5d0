/* index.c: see index.h. */
#include "hash/index.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <omp.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#if defined(__AVX512BW__)
#include <immintrin.h>
#endif

#include "format/json.h"
#include "util/bits.h"
#include "util/util.h"

/* The auto method's work budget: a bucket probe or a verified candidate
 * (each about one cache miss, ~100 ns) costs one unit; the scan costs
 * HINDEX_SCAN_UNITS_PER_ITEM units per item and 64 code bits (bit-sliced
 * kernel, ~1 ns), HINDEX_LOOP_UNITS_PER_ITEM per item and code word
 * (popcount loop, ~2 ns). Measured with tests/bench/index.sh (1M uniform
 * 64-bit codes: scan 0.9 ms a query; a unit 100-200 ns on the shared VM). */
#define HINDEX_SCAN_UNITS_PER_ITEM 0.01
#define HINDEX_LOOP_UNITS_PER_ITEM 0.02

/* What auto learned per kind of query (k <= 1, <= 10, <= 100, more, a
 * radius): MIH tries and fall-backs, halved every 64 tries. MIH is skipped
 * while more than half of the last tries fell back, except every 16th query
 * (to notice a change). Shared by concurrent searches: the updates are
 * atomic, a lost halving only slows the forgetting. */
#define AUTO_BUCKETS 5
static int auto_bucket(int64_t k, int radius) {
    return radius >= 0 ? 4 : k <= 1 ? 0 : k <= 10 ? 1 : k <= 100 ? 2 : 3;
}
static int auto_try_mih(const hindex *ix, int b) {
    const int64_t tries = __atomic_load_n(&ix->auto_stat[3 * b], __ATOMIC_RELAXED),
                  fails = __atomic_load_n(&ix->auto_stat[3 * b + 1], __ATOMIC_RELAXED),
                  seq = __atomic_fetch_add(&ix->auto_stat[3 * b + 2], 1, __ATOMIC_RELAXED);
    return tries < 8 || 2 * fails <= tries || seq % 16 == 0;
}
static void auto_record(const hindex *ix, int b, int fell_back) {
    int64_t tries = __atomic_add_fetch(&ix->auto_stat[3 * b], 1, __ATOMIC_RELAXED);
    if (fell_back) __atomic_add_fetch(&ix->auto_stat[3 * b + 1], 1, __ATOMIC_RELAXED);
    if (tries >= 64) {
        __atomic_store_n(&ix->auto_stat[3 * b], tries / 2, __ATOMIC_RELAXED);
        __atomic_store_n(&ix->auto_stat[3 * b + 1], __atomic_load_n(&ix->auto_stat[3 * b + 1], __ATOMIC_RELAXED) / 2,
                         __ATOMIC_RELAXED);
    }
}

static const char MIH_MAGIC[8] = {'D', 'S', 'A', 'H', 'M', 'I', 'H', '1'};
#define MIH_VERSION 1u

/* ---- small helpers --------------------------------------------------------- */
static int64_t pad64(int64_t x) { return (x + 63) & ~(int64_t)63; }

/* A 64-bit checksum of a byte string: four multiply-xorshift lanes over
 * 8-byte words, folded with the length. Detects corruption, not attacks. */
static uint64_t checksum(const uint8_t *p, size_t n) {
    uint64_t h[4] = {0x9E3779B97F4A7C15ULL, 0xC2B2AE3D27D4EB4FULL, 0x165667B19E3779F9ULL, 0x27D4EB2F165667C5ULL};
    const uint64_t M = 0xFF51AFD7ED558CCDULL;
    size_t i = 0;
    for (; i + 32 <= n; i += 32)
        for (int l = 0; l < 4; l++) {
            uint64_t w;
            memcpy(&w, p + i + 8 * l, 8);
            h[l] = (h[l] ^ w) * M;
            h[l] ^= h[l] >> 29;
        }
    uint64_t t = 0;
    /* up to 31 tail bytes: the shift wraps at 64 (what x86's shl did with
     * the unmasked shift, which is undefined behaviour in C) */
    for (int s = 0; i < n; i++, s += 8) t |= (uint64_t)p[i] << (s & 63);
    uint64_t r = (h[0] ^ t) * M;
    for (int l = 1; l < 4; l++) r = (r ^ h[l] ^ (r >> 31)) * M;
    return r ^ (uint64_t)n ^ (r >> 33);
}

/* Substring value: code bits [off, off + len) (len <= 24), bit 0 = bit off. */
static inline uint32_t sub_value(const uint8_t *code, int64_t row_bytes, int off, int len) {
    int64_t b = off >> 3;
    uint32_t w = 0;
    for (int i = 0; i < 4 && b + i < row_bytes; i++) w |= (uint32_t)code[b + i] << (8 * i);
    return (w >> (off & 7)) & ((1u << len) - 1u);
}

static int row_padding_ok(const uint8_t *row, int64_t row_bytes, int bits) {
    if (bits % 8 == 0) return 1;
    return (row[row_bytes - 1] >> (bits % 8)) == 0 && 8 * row_bytes - bits < 8;
}

int hindex_default_m(int bits, int64_t n) {
    if (n <= 0 || n > (int64_t)UINT32_MAX) return 0;
    double lg = log2((double)(n > 2 ? n : 2));
    int m = (int)lround(bits / lg);
    if (m < 1) m = 1;
    while ((bits + m - 1) / m > HINDEX_MAX_SUB) m++;
    if (m > bits) m = bits;
    if (m > HINDEX_MAX_M) m = HINDEX_MAX_M;
    if ((bits + m - 1) / m > HINDEX_MAX_SUB) return 0;
    return m;
}

static void set_substrings(hindex *ix, int m) {
    ix->m = m;
    int off = 0;
    for (int j = 0; j < m; j++) {
        ix->sub_len[j] = ix->bits / m + (j < ix->bits % m);
        ix->sub_off[j] = off;
        off += ix->sub_len[j];
    }
}

static void build_planes_if(hindex *ix) {
    ix->have_planes = ix->n > 0 && hamming_planes_supported(ix->bits);
    if (ix->have_planes) hamming_planes_build(&ix->hp, ix->codes, ix->n, ix->row_bytes, ix->bits, ix->nthreads);
}

/* ---- build ------------------------------------------------------------------- */
void hindex_build(hindex *ix, const uint8_t *codes, int64_t n, int64_t row_bytes, int bits, const int64_t *ids,
                  int m, int nthreads) {
    memset(ix, 0, sizeof *ix);
    if (bits < 1 || bits > HINDEX_MAX_BITS || row_bytes != bits_row_bytes(bits))
        die("index: %d bits in rows of %lld bytes: need 1..%d bits in ceil(bits/8) bytes", bits, (long long)row_bytes,
            HINDEX_MAX_BITS);
    if (n < 0 || n > ((int64_t)1 << 40) / row_bytes) die("index: %lld codes is out of range", (long long)n);
    for (int64_t i = 0; i < n; i++)
        if (!row_padding_ok(codes + i * row_bytes, row_bytes, bits))
            die("index: code %lld has bits set beyond bit %d (codes of another length?)", (long long)i, bits);
    ix->bits = bits;
    ix->row_bytes = row_bytes;
    ix->n = n;
    ix->nthreads = nthreads > 0 ? nthreads : 1;
    ix->auto_stat = xcalloc(3 * AUTO_BUCKETS, sizeof(int64_t));
    uint8_t *c = xmalloc((size_t)(n * row_bytes) + 1);
    memcpy(c, codes, (size_t)(n * row_bytes));
    ix->codes = c;
    ix->own[0] = c;
    if (ids) {
        int64_t *d = xmalloc(sizeof(int64_t) * (size_t)n + 1);
        memcpy(d, ids, sizeof(int64_t) * (size_t)n);
        ix->ids = d;
        ix->own[1] = d;
    }
    if (m == 0) m = hindex_default_m(bits, n);
    if (m < 0 || n == 0 || n > (int64_t)UINT32_MAX) m = 0;
    if (m > bits || m > HINDEX_MAX_M || (m && (bits + m - 1) / m > HINDEX_MAX_SUB))
        die("index: %d substrings of %d bits: need at most %d substrings of at most %d bits", m, bits, HINDEX_MAX_M,
            HINDEX_MAX_SUB);
    set_substrings(ix, m);
    if (m) {
        /* one allocation for all tables: offsets then positions per table */
        int64_t total = 0;
        for (int j = 0; j < m; j++) total += pad64(4 * (((int64_t)1 << ix->sub_len[j]) + 1)) + pad64(4 * n);
        uint8_t *t = xaligned((size_t)total);
        ix->own[2] = t;
        int64_t at = 0;
        for (int j = 0; j < m; j++) {
            const int64_t nv = (int64_t)1 << ix->sub_len[j];
            uint32_t *off = (uint32_t *)(t + at);
            at += pad64(4 * (nv + 1));
            uint32_t *pos = (uint32_t *)(t + at);
            at += pad64(4 * n);
            ix->tab_off[j] = off;
            ix->tab_pos[j] = pos;
        }
#pragma omp parallel for schedule(dynamic, 1) num_threads(ix->nthreads)
        for (int j = 0; j < m; j++) {
            const int64_t nv = (int64_t)1 << ix->sub_len[j];
            uint32_t *off = (uint32_t *)ix->tab_off[j], *pos = (uint32_t *)ix->tab_pos[j];
            memset(off, 0, sizeof(uint32_t) * (size_t)(nv + 1));
            for (int64_t i = 0; i < n; i++) off[sub_value(c + i * row_bytes, row_bytes, ix->sub_off[j], ix->sub_len[j]) + 1]++;
            for (int64_t v = 0; v < nv; v++) off[v + 1] += off[v];
            /* counting sort: positions ascending inside a bucket; off[v]
             * runs to the end of bucket v, then is shifted back */
            for (int64_t i = 0; i < n; i++) pos[off[sub_value(c + i * row_bytes, row_bytes, ix->sub_off[j], ix->sub_len[j])]++] = (uint32_t)i;
            for (int64_t v = nv; v > 0; v--) off[v] = off[v - 1];
            off[0] = 0;
        }
    }
    build_planes_if(ix);
}

void hindex_free(hindex *ix) {
    if (ix->have_planes) hamming_planes_free(&ix->hp);
    if (ix->faiss_map) munmap(ix->faiss_map, ix->faiss_len);
    if (ix->mih_map) munmap(ix->mih_map, ix->mih_len);
    for (int i = 0; i < 3; i++) free(ix->own[i]);
    free(ix->auto_stat);
    memset(ix, 0, sizeof *ix);
}

/* ---- the FAISS file ----------------------------------------------------------- */
/* Byte offset of the codes in index.faiss and its total length. */
static int64_t faiss_header_len(int with_ids) {
    const int64_t hdr = 4 + 4 + 4 + 8 + 1 + 4; /* fourcc, d, code_size, ntotal, is_trained, metric */
    return (with_ids ? hdr : 0) + hdr + 8;
}
static int64_t faiss_file_len(int64_t n, int64_t row_bytes, int with_ids) {
    return faiss_header_len(with_ids) + n * row_bytes + (with_ids ? 8 + 8 * n : 0);
}

static size_t put_header(uint8_t *b, const char *fourcc, const hindex *ix) {
    size_t at = 0;
    int32_t d = (int32_t)(8 * ix->row_bytes), cs = (int32_t)ix->row_bytes, metric = 1;
    int64_t nt = ix->n;
    uint8_t trained = 1;
    memcpy(b + at, fourcc, 4), at += 4;
    memcpy(b + at, &d, 4), at += 4;
    memcpy(b + at, &cs, 4), at += 4;
    memcpy(b + at, &nt, 8), at += 8;
    memcpy(b + at, &trained, 1), at += 1;
    memcpy(b + at, &metric, 4), at += 4;
    return at;
}

static uint64_t tables_checksum(const hindex *ix) {
    uint64_t h = 0;
    for (int j = 0; j < ix->m; j++) {
        h = h * 31 + checksum((const uint8_t *)ix->tab_off[j], 4 * (((size_t)1 << ix->sub_len[j]) + 1));
        h = h * 31 + checksum((const uint8_t *)ix->tab_pos[j], 4 * (size_t)ix->n);
    }
    return h;
}

typedef struct mih_header {
    char magic[8];
    uint32_t version, bits, m, pad;
    uint64_t n, row_bytes, faiss_sum, tables_sum;
} mih_header;

void hindex_save(const hindex *ix, const char *dir) {
    mkdir_p(dir);
    const int with_ids = ix->ids != NULL;
    /* index.faiss, checksummed while written */
    char *fp = path_join(dir, "index.faiss");
    int64_t flen = faiss_file_len(ix->n, ix->row_bytes, with_ids);
    uint8_t *buf = xmalloc((size_t)flen);
    size_t at = 0;
    if (with_ids) at += put_header(buf + at, "IBMp", ix);
    at += put_header(buf + at, "IBxF", ix);
    uint64_t nbytes = (uint64_t)(ix->n * ix->row_bytes);
    memcpy(buf + at, &nbytes, 8), at += 8;
    memcpy(buf + at, ix->codes, (size_t)nbytes), at += (size_t)nbytes;
    if (with_ids) {
        uint64_t cnt = (uint64_t)ix->n;
        memcpy(buf + at, &cnt, 8), at += 8;
        memcpy(buf + at, ix->ids, 8 * (size_t)ix->n), at += 8 * (size_t)ix->n;
    }
    CHECK((int64_t)at == flen);
    const uint64_t fsum = checksum(buf, (size_t)flen);
    atomic_file *af = af_open(fp);
    af_write(af, buf, (size_t)flen);
    af_commit(af);
    free(buf);
    /* mih.bin */
    char *mp = path_join(dir, "mih.bin");
    mih_header h;
    memset(&h, 0, sizeof h);
    memcpy(h.magic, MIH_MAGIC, 8);
    h.version = MIH_VERSION;
    h.bits = (uint32_t)ix->bits;
    h.m = (uint32_t)ix->m;
    h.n = (uint64_t)ix->n;
    h.row_bytes = (uint64_t)ix->row_bytes;
    h.faiss_sum = fsum;
    h.tables_sum = tables_checksum(ix);
    static const uint8_t zeros[64];
    af = af_open(mp);
    af_write(af, &h, sizeof h);
    uint32_t lens[HINDEX_MAX_M];
    for (int j = 0; j < ix->m; j++) lens[j] = (uint32_t)ix->sub_len[j];
    af_write(af, lens, 4 * (size_t)ix->m);
    int64_t hl = (int64_t)sizeof h + 4 * ix->m;
    af_write(af, zeros, (size_t)(pad64(hl) - hl));
    for (int j = 0; j < ix->m; j++) {
        int64_t ob = 4 * (((int64_t)1 << ix->sub_len[j]) + 1), pb = 4 * ix->n;
        af_write(af, ix->tab_off[j], (size_t)ob);
        af_write(af, zeros, (size_t)(pad64(ob) - ob));
        af_write(af, ix->tab_pos[j], (size_t)pb);
        af_write(af, zeros, (size_t)(pad64(pb) - pb));
    }
    af_commit(af);
    /* index.json */
    char *jp = path_join(dir, "index.json");
    af = af_open(jp);
    jw w;
    jw_begin(&w, af->fp);
    jw_int(&w, "bits", ix->bits);
    jw_int(&w, "n", ix->n);
    jw_int(&w, "code_bytes", ix->row_bytes);
    jw_bool(&w, "ids", with_ids);
    jw_int(&w, "mih_m", ix->m);
    jw_arr(&w, "mih_substring_bits");
    for (int j = 0; j < ix->m; j++) jw_int(&w, NULL, ix->sub_len[j]);
    jw_end(&w);
    jw_str(&w, "faiss", with_ids ? "index.faiss (IndexBinaryIDMap of IndexBinaryFlat)" : "index.faiss (IndexBinaryFlat)");
    jw_finish(&w);
    af_commit(af);
    free(fp);
    free(mp);
    free(jp);
}

/* ---- load ---------------------------------------------------------------------- */
__attribute__((format(printf, 3, 4))) static int fail(char *err, size_t errlen, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return -1;
}

static int map_file(const char *path, void **map, size_t *len, char *err, size_t errlen) {
    int fd = open(path, O_RDONLY);
    if (fd < 0) return fail(err, errlen, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return fail(err, errlen, "%s: not a regular file", path);
    }
    *len = (size_t)st.st_size;
    *map = NULL;
    if (*len) {
        void *p = mmap(NULL, *len, PROT_READ, MAP_PRIVATE, fd, 0);
        if (p == MAP_FAILED) {
            close(fd);
            return fail(err, errlen, "%s: mmap failed: %s", path, strerror(errno));
        }
        *map = p;
    }
    close(fd);
    return 0;
}

/* Parse one binary header at p (len bytes left): fourcc must be want. */
static int get_header(const uint8_t *p, size_t len, const char *want, int32_t *d, int32_t *cs, int64_t *nt,
                      const char *path, char *err, size_t errlen) {
    if (len < 25) return fail(err, errlen, "%s: truncated (%zu bytes where a %s header needs 25)", path, len, want);
    if (memcmp(p, want, 4) != 0)
        return fail(err, errlen, "%s: expected a FAISS '%s' index, found fourcc '%.4s'", path, want, (const char *)p);
    int32_t metric;
    memcpy(d, p + 4, 4);
    memcpy(cs, p + 8, 4);
    memcpy(nt, p + 12, 8);
    memcpy(&metric, p + 21, 4);
    if (*d <= 0 || *d > HINDEX_MAX_BITS || *d % 8 || *cs != *d / 8)
        return fail(err, errlen, "%s: bad header: d = %d, code_size = %d (need d a multiple of 8 up to %d, code_size d/8)",
                    path, *d, *cs, HINDEX_MAX_BITS);
    if (*nt < 0 || *nt > ((int64_t)1 << 40)) return fail(err, errlen, "%s: bad header: ntotal = %lld", path, (long long)*nt);
    if (p[20] != 1) return fail(err, errlen, "%s: bad header: is_trained = %u", path, p[20]);
    if (metric != 1) return fail(err, errlen, "%s: bad header: metric_type = %d (binary indexes use 1)", path, metric);
    return 0;
}

int hindex_try_load(hindex *ix, const char *dir, int nthreads, char *err, size_t errlen) {
    memset(ix, 0, sizeof *ix);
    ix->nthreads = nthreads > 0 ? nthreads : 1;
    ix->auto_stat = xcalloc(3 * AUTO_BUCKETS, sizeof(int64_t));
    char *fp = path_join(dir, "index.faiss"), *mp = path_join(dir, "mih.bin");
    int rc = -1;
    if (map_file(fp, &ix->faiss_map, &ix->faiss_len, err, errlen)) goto out;
    const uint8_t *f = ix->faiss_map;
    size_t flen = ix->faiss_len;
    int with_ids = flen >= 4 && memcmp(f, "IBMp", 4) == 0;
    int32_t d, cs, d2, cs2;
    int64_t nt, nt2;
    size_t at = 0;
    if (with_ids) {
        if (get_header(f, flen, "IBMp", &d, &cs, &nt, fp, err, errlen)) goto out;
        at = 25;
    }
    if (get_header(f + at, flen - at, "IBxF", &d2, &cs2, &nt2, fp, err, errlen)) goto out;
    if (with_ids && (d != d2 || cs != cs2 || nt != nt2)) {
        fail(err, errlen, "%s: IndexBinaryIDMap header (d %d, ntotal %lld) differs from its IndexBinaryFlat (d %d, ntotal %lld)",
             fp, d, (long long)nt, d2, (long long)nt2);
        goto out;
    }
    at += 25;
    const int64_t expect = faiss_file_len(nt2, cs2, with_ids);
    if ((int64_t)flen != expect) {
        fail(err, errlen, "%s: %zu bytes, expected %lld for %lld codes of %d bytes%s (truncated or corrupt)", fp, flen,
             (long long)expect, (long long)nt2, cs2, with_ids ? " with ids" : "");
        goto out;
    }
    uint64_t vb;
    memcpy(&vb, f + at, 8);
    if (vb != (uint64_t)(nt2 * cs2)) {
        fail(err, errlen, "%s: code vector holds %llu bytes, expected %lld", fp, (unsigned long long)vb, (long long)(nt2 * cs2));
        goto out;
    }
    at += 8;
    ix->codes = f + at;
    ix->n = nt2;
    ix->row_bytes = cs2;
    at += (size_t)(nt2 * cs2);
    if (with_ids) {
        uint64_t ni;
        memcpy(&ni, f + at, 8);
        if (ni != (uint64_t)nt2) {
            fail(err, errlen, "%s: id vector holds %llu ids, expected %lld", fp, (unsigned long long)ni, (long long)nt2);
            goto out;
        }
        at += 8;
        if (at % 8) { /* ids are read as i64: copy when not aligned */
            int64_t *cp = xmalloc(8 * (size_t)nt2 + 1);
            memcpy(cp, f + at, 8 * (size_t)nt2);
            ix->own[1] = cp;
            ix->ids = cp;
        } else {
            ix->ids = (const int64_t *)(f + at);
        }
    }
    /* mih.bin */
    if (map_file(mp, &ix->mih_map, &ix->mih_len, err, errlen)) goto out;
    mih_header h;
    if (ix->mih_len < sizeof h) {
        fail(err, errlen, "%s: truncated (%zu bytes)", mp, ix->mih_len);
        goto out;
    }
    memcpy(&h, ix->mih_map, sizeof h);
    if (memcmp(h.magic, MIH_MAGIC, 8) != 0 || h.version != MIH_VERSION) {
        fail(err, errlen, "%s: not a dsah MIH file (magic or version)", mp);
        goto out;
    }
    if (h.bits < 1 || h.bits > (uint32_t)8 * (uint32_t)cs2 || h.bits + 8 <= (uint32_t)8 * (uint32_t)cs2 ||
        h.n != (uint64_t)nt2 || h.row_bytes != (uint64_t)cs2) {
        fail(err, errlen, "%s: describes %llu codes of %u bits, but index.faiss holds %lld codes of %d bytes", mp,
             (unsigned long long)h.n, h.bits, (long long)nt2, cs2);
        goto out;
    }
    if (h.faiss_sum != checksum(f, flen)) {
        fail(err, errlen, "%s: checksum mismatch (index.faiss changed or corrupt, or mih.bin from another index)", fp);
        goto out;
    }
    ix->bits = (int)h.bits;
    if (h.m > HINDEX_MAX_M || h.m > h.bits || (h.m && (nt2 == 0 || nt2 > (int64_t)UINT32_MAX))) {
        fail(err, errlen, "%s: bad substring count %u", mp, h.m);
        goto out;
    }
    const int64_t hl = pad64((int64_t)sizeof h + 4 * (int64_t)h.m);
    if ((int64_t)ix->mih_len < hl) {
        fail(err, errlen, "%s: truncated header", mp);
        goto out;
    }
    const uint8_t *mb = ix->mih_map;
    uint32_t lens[HINDEX_MAX_M];
    memcpy(lens, mb + sizeof h, 4 * (size_t)h.m);
    int sum = 0;
    for (uint32_t j = 0; j < h.m; j++) {
        if (lens[j] < 1 || lens[j] > HINDEX_MAX_SUB) {
            fail(err, errlen, "%s: substring %u has %u bits (1..%d)", mp, j, lens[j], HINDEX_MAX_SUB);
            goto out;
        }
        sum += (int)lens[j];
    }
    if (h.m && sum != (int)h.bits) {
        fail(err, errlen, "%s: substring lengths add up to %d, not %u bits", mp, sum, h.bits);
        goto out;
    }
    int64_t need = hl;
    for (uint32_t j = 0; j < h.m; j++) need += pad64(4 * (((int64_t)1 << lens[j]) + 1)) + pad64(4 * nt2);
    if ((int64_t)ix->mih_len != need) {
        fail(err, errlen, "%s: %zu bytes, expected %lld (truncated or corrupt)", mp, ix->mih_len, (long long)need);
        goto out;
    }
    ix->m = (int)h.m;
    int off = 0;
    int64_t p = hl;
    for (int j = 0; j < ix->m; j++) {
        ix->sub_len[j] = (int)lens[j];
        ix->sub_off[j] = off;
        off += ix->sub_len[j];
        const int64_t nv = (int64_t)1 << lens[j];
        ix->tab_off[j] = (const uint32_t *)(mb + p);
        p += pad64(4 * (nv + 1));
        ix->tab_pos[j] = (const uint32_t *)(mb + p);
        p += pad64(4 * nt2);
    }
    if (h.tables_sum != tables_checksum(ix)) {
        fail(err, errlen, "%s: checksum mismatch of the tables (corrupt)", mp);
        goto out;
    }
    /* bounds, so that no corrupt table can make a search read out of range */
    for (int j = 0; j < ix->m; j++) {
        const int64_t nv = (int64_t)1 << ix->sub_len[j];
        const uint32_t *o = ix->tab_off[j], *ps = ix->tab_pos[j];
        int bad = o[0] != 0 || o[nv] != (uint64_t)nt2;
        for (int64_t v = 0; v < nv && !bad; v++) bad = o[v + 1] < o[v];
        for (int64_t i = 0; i < nt2 && !bad; i++) bad = ps[i] >= (uint64_t)nt2;
        if (bad) {
            fail(err, errlen, "%s: table %d is inconsistent (offsets or positions out of range)", mp, j);
            goto out;
        }
    }
    for (int64_t i = 0; i < nt2; i++)
        if (!row_padding_ok(ix->codes + i * cs2, cs2, ix->bits)) {
            fail(err, errlen, "%s: code %lld has bits set beyond bit %d", fp, (long long)i, ix->bits);
            goto out;
        }
    build_planes_if(ix);
    rc = 0;
out:
    free(fp);
    free(mp);
    if (rc) {
        char keep[1024];
        snprintf(keep, sizeof keep, "%s", err);
        hindex_free(ix);
        snprintf(err, errlen, "%s", keep);
    }
    return rc;
}

void hindex_load(hindex *ix, const char *dir, int nthreads) {
    char err[1024];
    if (hindex_try_load(ix, dir, nthreads, err, sizeof err)) die("%s", err);
}

/* ---- lookup by id ---------------------------------------------------------------- */
static int cmp_pair(const void *a, const void *b) {
    const int64_t *x = a, *y = b;
    return x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : (x[1] > y[1]) - (x[1] < y[1]);
}

void hindex_pairs_sort(int64_t *pairs, int64_t n) { qsort(pairs, (size_t)n, 2 * sizeof(int64_t), cmp_pair); }

int64_t hindex_pairs_find(const int64_t *pairs, int64_t n, int64_t id) {
    int64_t lo = 0, hi = n;
    while (lo < hi) {
        const int64_t mid = lo + (hi - lo) / 2;
        if (pairs[2 * mid] < id) lo = mid + 1;
        else hi = mid;
    }
    return lo < n && pairs[2 * lo] == id ? pairs[2 * lo + 1] : -1;
}

int64_t *hindex_id_pairs(const hindex *ix) {
    int64_t *pairs = xmalloc(sizeof(int64_t) * 2 * (size_t)ix->n + 1);
    for (int64_t i = 0; i < ix->n; i++) pairs[2 * i] = hindex_id(ix, i), pairs[2 * i + 1] = i;
    hindex_pairs_sort(pairs, ix->n);
    return pairs;
}

/* ---- search -------------------------------------------------------------------- */
const char *hsearch_method_name(int method) {
    return method == HSEARCH_MIH ? "mih" : method == HSEARCH_SCAN ? "scan" : "auto";
}
int hsearch_method_parse(const char *s) {
    if (!strcmp(s, "auto")) return HSEARCH_AUTO;
    if (!strcmp(s, "mih")) return HSEARCH_MIH;
    if (!strcmp(s, "scan")) return HSEARCH_SCAN;
    return -1;
}

int hsearch_check_queries(const hindex *ix, const uint8_t *queries, int64_t nq, char *err, size_t errlen) {
    for (int64_t q = 0; q < nq; q++)
        if (!row_padding_ok(queries + q * ix->row_bytes, ix->row_bytes, ix->bits))
            return fail(err, errlen, "query %lld has bits set beyond bit %d (codes of another length?)", (long long)q,
                        ix->bits);
    return 0;
}

/* Per-thread scratch, kept between calls (thread-local) so that a single
 * query pays no allocation or zeroing of n-sized buffers: seen is all zero
 * between queries (each query clears the bits it set). Grown as needed. */
typedef struct hs_thread {
    hamming_scratch hs;
    int hs_bits, hs_depth;   /* what hs was sized for */
    uint8_t *dist8;          /* [nblk * 512] bit-sliced distances */
    uint16_t *dist16;        /* [n] popcount-loop distances */
    uint32_t *cnt;           /* [bits + 1] */
    int64_t *start;          /* [bits + 1] */
    uint64_t *seen;          /* [n / 64 + 1] MIH: found items */
    uint32_t *touched;       /* [ncap] MIH: found positions (to clear seen) */
    uint64_t *keys;          /* [ncap] MIH: distance << 32 | position */
    int64_t dist8_cap, dist16_cap, bits_cap, seen_cap, ncap;
} hs_thread;

/* One per thread, freed when the thread exits (a pthread key, not
 * __thread, so that the buffers are released: servers start and stop
 * threads). */
static pthread_key_t tls_key;
static pthread_once_t tls_once = PTHREAD_ONCE_INIT;
static void hs_thread_free(void *p) {
    hs_thread *t = p;
    if (t->hs_bits) hamming_scratch_free(&t->hs);
    free(t->dist8), free(t->dist16), free(t->cnt), free(t->start), free(t->seen), free(t->touched), free(t->keys);
    free(t);
}
static void tls_init(void) { CHECK_ZERO(pthread_key_create(&tls_key, hs_thread_free)); }

static hs_thread *hs_thread_get(const hindex *ix, int mih) {
    CHECK_ZERO(pthread_once(&tls_once, tls_init));
    hs_thread *t = pthread_getspecific(tls_key);
    if (!t) {
        t = xcalloc(1, sizeof *t);
        CHECK_ZERO(pthread_setspecific(tls_key, t));
    }
    if (t->bits_cap < ix->bits + 1) {
        free(t->cnt), free(t->start);
        t->bits_cap = ix->bits + 1;
        t->cnt = xcalloc((size_t)t->bits_cap, sizeof(uint32_t));
        t->start = xcalloc((size_t)t->bits_cap, sizeof(int64_t));
    }
    if (ix->have_planes) {
        if (t->hs_bits != ix->hp.bits || t->hs_depth != ix->hp.depth) {
            if (t->hs_bits) hamming_scratch_free(&t->hs);
            hamming_scratch_alloc(&t->hs, &ix->hp);
            t->hs_bits = ix->hp.bits, t->hs_depth = ix->hp.depth;
        }
        if (t->dist8_cap < ix->hp.nblk * 512) {
            free(t->dist8);
            t->dist8_cap = ix->hp.nblk * 512;
            t->dist8 = xaligned((size_t)t->dist8_cap);
        }
    } else if (t->dist16_cap < ix->n + 1) {
        free(t->dist16);
        t->dist16_cap = ix->n + 1;
        t->dist16 = xmalloc(sizeof(uint16_t) * (size_t)t->dist16_cap);
    }
    if (mih && t->seen_cap < ix->n / 64 + 1) {
        free(t->seen);
        t->seen_cap = ix->n / 64 + 1;
        t->seen = xcalloc((size_t)t->seen_cap, sizeof(uint64_t));
    }
    if (mih && t->ncap < 4096) {
        t->ncap = 4096;
        t->touched = xrealloc(t->touched, sizeof(uint32_t) * (size_t)t->ncap);
        t->keys = xrealloc(t->keys, sizeof(uint64_t) * (size_t)t->ncap);
    }
    return t;
}

/* One query's answer. */
typedef struct hs_answer {
    int64_t n;
    int64_t *pos;
    int32_t *dist;
} hs_answer;

static void answer_alloc(hs_answer *a, int64_t n) {
    a->n = n;
    a->pos = xmalloc(sizeof(int64_t) * (size_t)n + 1);
    a->dist = xmalloc(sizeof(int32_t) * (size_t)n + 1);
}

/* Cutoff: the smallest distance c <= limit where the items up to c number
 * at least k (limit when fewer); start[d] = first rank of distance d. */
static int cutoff(int64_t *start, const uint32_t *cnt, int limit, int64_t k) {
    int64_t cum = 0;
    int c = limit;
    for (int d = 0; d <= limit; d++) {
        start[d] = cum;
        cum += cnt[d];
        if (cum >= k && c == limit) c = d;
    }
    return c;
}

/* The scan: every distance, then the items with distance <= c in index
 * order, each at start[d]++ (ranks below total). */
static void scan_query(hs_answer *a, const hindex *ix, hs_thread *t, const uint8_t *q, int64_t k, int radius) {
    const int bits = ix->bits;
    const int64_t n = ix->n;
    if (n == 0) {
        answer_alloc(a, 0);
        return;
    }
    if (ix->have_planes) {
        hamming_planes_query(&ix->hp, &t->hs, q, ix->row_bytes, t->cnt, t->dist8);
    } else {
        memset(t->cnt, 0, sizeof(uint32_t) * (size_t)(bits + 1));
        for (int64_t j = 0; j < n; j++) {
            int d = bits_hamming(q, ix->codes + j * ix->row_bytes, ix->row_bytes);
            t->dist16[j] = (uint16_t)d;
            t->cnt[d]++;
        }
    }
    const int limit = radius >= 0 ? (radius < bits ? radius : bits) : bits;
    const int c = cutoff(t->start, t->cnt, limit, radius >= 0 ? INT64_MAX : k);
    int64_t total = t->start[c] + t->cnt[c];
    if (radius < 0 && total > k) total = k;
    answer_alloc(a, total);
    int64_t *st = t->start;
    if (ix->have_planes) {
        const uint8_t *dist = t->dist8;
        int64_t j0 = 0;
#if defined(__AVX512BW__)
        const __m512i cv = _mm512_set1_epi8((char)c);
        for (; j0 + 64 <= n; j0 += 64) {
            __mmask64 m = _mm512_cmple_epu8_mask(_mm512_load_si512((const void *)(dist + j0)), cv);
            for (; m; m &= m - 1) {
                const int64_t j = j0 + __builtin_ctzll(m);
                const int d = dist[j];
                const int64_t r = st[d]++;
                if (r < total) a->pos[r] = j, a->dist[r] = d;
            }
        }
#endif
        for (int64_t j = j0; j < n; j++) {
            const int d = dist[j];
            if (d > c) continue;
            const int64_t r = st[d]++;
            if (r < total) a->pos[r] = j, a->dist[r] = d;
        }
    } else {
        for (int64_t j = 0; j < n; j++) {
            const int d = t->dist16[j];
            if (d > c) continue;
            const int64_t r = st[d]++;
            if (r < total) a->pos[r] = j, a->dist[r] = d;
        }
    }
}

static int cmp_u64(const void *x, const void *y) {
    uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
    return a < b ? -1 : a > b;
}

/* MIH; returns 0, or -1 when the work budget ran out (nothing written). */
static int mih_query(hs_answer *a, const hindex *ix, hs_thread *t, const uint8_t *q, int64_t k, int radius,
                     int64_t budget) {
    const int bits = ix->bits, m = ix->m;
    const int64_t n = ix->n, rb = ix->row_bytes;
    uint32_t qs[HINDEX_MAX_M];
    int maxlen = 0;
    for (int j = 0; j < m; j++) {
        qs[j] = sub_value(q, rb, ix->sub_off[j], ix->sub_len[j]);
        if (ix->sub_len[j] > maxlen) maxlen = ix->sub_len[j];
    }
    uint32_t *cnt = t->cnt;
    memset(cnt, 0, sizeof(uint32_t) * (size_t)(bits + 1));
    int64_t nfound = 0;
    int64_t work = 0;
    int done = 0, G = -1, aborted = 0;
    const int64_t want = radius >= 0 ? INT64_MAX : k;
    for (int r = 0; r <= maxlen && !done && !aborted; r++) {
        for (int j = 0; j < m && !done && !aborted; j++) {
            const int len = ix->sub_len[j];
            if (r <= len) {
                const uint32_t *off = ix->tab_off[j], *pos = ix->tab_pos[j];
                const uint32_t lim = 1u << len; /* len <= HINDEX_MAX_SUB */
                uint32_t mask = r == 0 ? 0 : (1u << r) - 1;
                int more = 1;
                while (more && !aborted) {
                    /* up to 16 buckets at a time, their offsets prefetched
                     * (each is about one cache miss) */
                    uint32_t vs[16];
                    int nb = 0;
                    while (nb < 16 && more) {
                        vs[nb++] = qs[j] ^ mask;
                        if (r == 0) {
                            more = 0;
                            break;
                        }
                        /* the next mask of len bits with r bits set */
                        const uint32_t t1 = mask | (mask - 1);
                        const uint32_t nx = (t1 + 1) | (((~t1 & (t1 + 1)) - 1) >> (__builtin_ctz(mask) + 1));
                        if (nx >= lim) more = 0;
                        else mask = nx;
                    }
                    for (int b = 0; b < nb; b++) __builtin_prefetch(off + vs[b]);
                    /* the buckets' positions, their codes and seen words
                     * prefetched, then verified (the code fetch is the
                     * other cache miss) */
                    uint32_t cand[256];
                    int nc = 0;
                    for (int b = 0; b <= nb; b++) {
                        uint32_t b0 = 0, b1 = 0;
                        if (b < nb) {
                            b0 = off[vs[b]], b1 = off[vs[b] + 1];
                            work += 1 + (int64_t)(b1 - b0);
                        }
                        for (uint32_t i = b0;; i++) {
                            if (i < b1 && nc < 256) {
                                const uint32_t p = pos[i];
                                __builtin_prefetch(ix->codes + (int64_t)p * rb);
                                __builtin_prefetch(t->seen + (p >> 6));
                                cand[nc++] = p;
                                continue;
                            }
                            if (nc && (b == nb || nc == 256)) { /* verify */
                                for (int c = 0; c < nc; c++) {
                                    const uint32_t p = cand[c];
                                    uint64_t *w = t->seen + (p >> 6), bit = 1ULL << (p & 63);
                                    if (*w & bit) continue;
                                    *w |= bit;
                                    if (nfound == t->ncap) {
                                        t->ncap *= 2;
                                        t->touched = xrealloc(t->touched, sizeof(uint32_t) * (size_t)t->ncap);
                                        t->keys = xrealloc(t->keys, sizeof(uint64_t) * (size_t)t->ncap);
                                    }
                                    const int d = bits_hamming(q, ix->codes + (int64_t)p * rb, rb);
                                    t->touched[nfound] = p;
                                    t->keys[nfound] = (uint64_t)d << 32 | p;
                                    nfound++;
                                    cnt[d]++;
                                }
                                nc = 0;
                            }
                            if (i >= b1) break;
                            i--; /* the bucket has more: take them after the flush */
                        }
                    }
                    if (budget > 0 && work > budget) aborted = 1;
                }
                if (aborted) break;
            }
            G = m * r + j;
            if (G > bits || nfound == n) G = bits;
            if (radius >= 0) {
                done = G >= radius || nfound == n;
            } else {
                int64_t cum = 0;
                for (int d = 0; d <= G; d++) cum += cnt[d];
                done = cum >= k || nfound == n;
            }
        }
    }
    if (!done && !aborted) G = bits, done = 1; /* every table fully probed: all found */
    if (!aborted) {
        const int limit = radius >= 0 ? (radius < G ? radius : G) : G;
        const int c = cutoff(t->start, cnt, limit, want);
        int64_t total = t->start[c] + cnt[c];
        if (radius < 0 && total > k) total = k;
        int64_t nk = 0;
        for (int64_t i = 0; i < nfound; i++)
            if ((int)(t->keys[i] >> 32) <= c) t->keys[nk++] = t->keys[i];
        qsort(t->keys, (size_t)nk, sizeof(uint64_t), cmp_u64);
        answer_alloc(a, total);
        for (int64_t i = 0; i < total; i++) {
            a->pos[i] = (int64_t)(t->keys[i] & 0xFFFFFFFFu);
            a->dist[i] = (int32_t)(t->keys[i] >> 32);
        }
    }
    for (int64_t i = 0; i < nfound; i++) t->seen[t->touched[i] >> 6] = 0;
    return aborted ? -1 : 0;
}

void hsearch(hsearch_result *res, const hindex *ix, const uint8_t *queries, int64_t nq, const hsearch_params *p) {
    char err[256];
    if (hsearch_check_queries(ix, queries, nq, err, sizeof err)) die("queries: %s", err);
    CHECK(p->method == HSEARCH_AUTO || p->method == HSEARCH_MIH || p->method == HSEARCH_SCAN);
    CHECK(p->radius >= 0 || p->k >= 1);
    const int64_t n = ix->n;
    const int64_t k = p->k > n ? n : p->k;
    const int can_mih = ix->m > 0;
    const int method = p->method == HSEARCH_MIH && !can_mih ? (n > 0 ? -1 : HSEARCH_SCAN) : p->method;
    if (method < 0) die("index has no MIH tables (built with --mih-m -1, or too many codes); use --method scan or auto");
    const int64_t budget = 16 + (int64_t)(ix->have_planes ? (double)n * HINDEX_SCAN_UNITS_PER_ITEM * ((ix->bits + 63) / 64)
                                                           : (double)n * HINDEX_LOOP_UNITS_PER_ITEM * ((ix->row_bytes + 7) / 8));
    hs_answer *ans = xcalloc((size_t)nq + 1, sizeof(hs_answer));
    res->nq = nq;
    res->used = xcalloc((size_t)nq + 1, 1);
    const int bucket = auto_bucket(k, p->radius);
    const int nth = ix->nthreads < nq ? ix->nthreads : (nq > 0 ? (int)nq : 1);
#pragma omp parallel num_threads(nth)
    {
        hs_thread *t = hs_thread_get(ix, can_mih && method != HSEARCH_SCAN);
#pragma omp for schedule(dynamic, 1)
        for (int64_t qi = 0; qi < nq; qi++) {
            const uint8_t *q = queries + qi * ix->row_bytes;
            int use_mih = can_mih && method != HSEARCH_SCAN;
            if (use_mih && method == HSEARCH_AUTO) use_mih = auto_try_mih(ix, bucket);
            int done = 0;
            if (use_mih) {
                const int64_t b = method == HSEARCH_AUTO ? budget : 0;
                done = mih_query(&ans[qi], ix, t, q, k, p->radius, b) == 0;
                if (method == HSEARCH_AUTO) auto_record(ix, bucket, !done);
            }
            if (done) {
                res->used[qi] = HSEARCH_MIH;
            } else {
                scan_query(&ans[qi], ix, t, q, k, p->radius);
                res->used[qi] = HSEARCH_SCAN;
            }
        }
    }
    res->lims = xmalloc(sizeof(int64_t) * (size_t)(nq + 1));
    res->lims[0] = 0;
    for (int64_t q = 0; q < nq; q++) res->lims[q + 1] = res->lims[q] + ans[q].n;
    const int64_t tot = res->lims[nq];
    res->pos = xmalloc(sizeof(int64_t) * (size_t)tot + 1);
    res->dist = xmalloc(sizeof(int32_t) * (size_t)tot + 1);
    for (int64_t q = 0; q < nq; q++) {
        memcpy(res->pos + res->lims[q], ans[q].pos, sizeof(int64_t) * (size_t)ans[q].n);
        memcpy(res->dist + res->lims[q], ans[q].dist, sizeof(int32_t) * (size_t)ans[q].n);
        free(ans[q].pos);
        free(ans[q].dist);
    }
    free(ans);
}

void hsearch_result_free(hsearch_result *r) {
    free(r->lims);
    free(r->pos);
    free(r->dist);
    free(r->used);
    memset(r, 0, sizeof *r);
}
