/* t_index: exact search of hash/index.c against a brute-force reference.
 *
 * For code lengths 16..256 (bit-sliced scan up to 255 bits, the popcount
 * loop at 256, lengths that are not multiples of 8), databases with many
 * ties (codes drawn near a few centres, so most distances repeat), k = 1,
 * 10, n and above n, radius 0, a middle radius and radius = bits: MIH, the
 * scan and auto return the ids and distances of the reference (every
 * distance by a byte loop, sorted by (distance, position) with qsort),
 * in the same order. Then save/load round trips and corrupted files. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hash/index.h"
#include "tap.h"
#include "util/bits.h"
#include "util/rng.h"
#include "util/util.h"

static uint64_t st = 88172645463325252ULL;
static uint64_t rnd(void) {
    st ^= st << 13;
    st ^= st >> 7;
    st ^= st << 17;
    return st;
}

static int ref_dist(const uint8_t *a, const uint8_t *b, int64_t rb) {
    int d = 0;
    for (int64_t i = 0; i < rb; i++)
        for (int k = 0; k < 8; k++) d += ((a[i] ^ b[i]) >> k) & 1;
    return d;
}

static int cmp_u64(const void *x, const void *y) {
    uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
    return a < b ? -1 : a > b;
}

/* Reference answer of one query into pos/dist; returns its length. */
static int64_t reference(int64_t *pos, int32_t *dist, const uint8_t *db, int64_t n, int64_t rb, const uint8_t *q,
                         int64_t k, int radius) {
    uint64_t *key = malloc(sizeof(uint64_t) * (size_t)(n + 1));
    for (int64_t j = 0; j < n; j++) key[j] = (uint64_t)ref_dist(q, db + j * rb, rb) << 32 | (uint64_t)j;
    qsort(key, (size_t)n, sizeof(uint64_t), cmp_u64);
    int64_t cnt = 0;
    for (int64_t j = 0; j < n; j++) {
        int d = (int)(key[j] >> 32);
        if (radius >= 0 ? d > radius : cnt >= k) break;
        pos[cnt] = (int64_t)(key[j] & 0xFFFFFFFF);
        dist[cnt] = d;
        cnt++;
    }
    free(key);
    return cnt;
}

/* Random codes near nc centres (each bit flipped with probability 1/16),
 * padding bits zero. */
static void make_codes(uint8_t *out, int64_t n, int bits, int nc, const uint8_t *centres) {
    const int64_t rb = bits_row_bytes(bits);
    for (int64_t i = 0; i < n; i++) {
        const uint8_t *c = centres + (int64_t)(rnd() % (uint64_t)nc) * rb;
        for (int64_t b = 0; b < rb; b++) {
            uint8_t flip = 0;
            for (int t = 0; t < 8; t++)
                if (rnd() % 16 == 0) flip |= (uint8_t)(1u << t);
            out[i * rb + b] = c[b] ^ flip;
        }
        if (bits % 8) out[i * rb + rb - 1] &= (uint8_t)((1u << (bits % 8)) - 1);
    }
}

/* Compare every method to the reference for nq queries; one ok() per
 * (method, setting) pair. */
static void check_all(const hindex *ix, const uint8_t *db, const uint8_t *qs, int64_t nq, int64_t k, int radius,
                      const char *what) {
    const int64_t n = ix->n, rb = ix->row_bytes;
    int64_t *rpos = malloc(sizeof(int64_t) * (size_t)(nq * n + 1)), *rlen = malloc(sizeof(int64_t) * (size_t)nq);
    int32_t *rdist = malloc(sizeof(int32_t) * (size_t)(nq * n + 1));
    for (int64_t q = 0; q < nq; q++) rlen[q] = reference(rpos + q * n, rdist + q * n, db, n, rb, qs + q * rb, k, radius);
    for (int method = HSEARCH_AUTO; method <= HSEARCH_SCAN; method++) {
        if (method == HSEARCH_MIH && ix->m == 0 && n > 0) continue;
        hsearch_params p = {.k = k, .radius = radius, .method = method};
        hsearch_result r;
        hsearch(&r, ix, qs, nq, &p);
        int good = 1;
        int64_t bad_q = -1;
        for (int64_t q = 0; q < nq && good; q++) {
            const int64_t len = rlen[q], got = r.lims[q + 1] - r.lims[q];
            good = got == len && !memcmp(r.pos + r.lims[q], rpos + q * n, sizeof(int64_t) * (size_t)len) &&
                   !memcmp(r.dist + r.lims[q], rdist + q * n, sizeof(int32_t) * (size_t)len);
            if (method == HSEARCH_MIH && r.used[q] != HSEARCH_MIH) good = 0;
            if (method == HSEARCH_SCAN && r.used[q] != HSEARCH_SCAN) good = 0;
            if (!good) bad_q = q;
        }
        ok(good, "%s: %s, k %lld, radius %d: same ids and distances as brute force%s", what,
           hsearch_method_name(method), (long long)k, radius, good ? "" : " (first bad query below)");
        if (!good) diag("query %lld", (long long)bad_q);
        hsearch_result_free(&r);
    }
    free(rpos);
    free(rdist);
    free(rlen);
}

static void exactness(void) {
    const int bitsv[] = {16, 20, 32, 64, 100, 128, 255, 256};
    const int64_t nv[] = {1, 37, 1500};
    for (size_t bi = 0; bi < sizeof bitsv / sizeof *bitsv; bi++) {
        const int bits = bitsv[bi];
        const int64_t rb = bits_row_bytes(bits);
        for (size_t ni = 0; ni < sizeof nv / sizeof *nv; ni++) {
            const int64_t n = nv[ni], nq = 6;
            const int nc = 5;
            uint8_t *cent = malloc((size_t)(nc * rb)), *db = malloc((size_t)(n * rb)), *qs = malloc((size_t)(nq * rb));
            for (int64_t i = 0; i < nc * rb; i++) cent[i] = (uint8_t)rnd();
            if (bits % 8)
                for (int c = 0; c < nc; c++) cent[c * rb + rb - 1] &= (uint8_t)((1u << (bits % 8)) - 1);
            make_codes(db, n, bits, nc, cent);
            make_codes(qs, nq - 1, bits, nc, cent);
            memcpy(qs + (nq - 1) * rb, db + (n / 2) * rb, (size_t)rb); /* a query that is in the database */
            /* duplicates: ties at distance 0 */
            if (n > 10) memcpy(db + 3 * rb, db + 7 * rb, (size_t)rb);
            const int ms[] = {0, 1, 3};
            for (size_t mi = 0; mi < 3; mi++) {
                if (ms[mi] && (bits + ms[mi] - 1) / ms[mi] > HINDEX_MAX_SUB) continue;
                if ((ms[mi] == 1 && bits > 16) || (ms[mi] == 3 && bits > 32)) continue; /* substrings > 11 bits: millions of probes for k = n, nothing new */
                hindex ix;
                hindex_build(&ix, db, n, rb, bits, NULL, ms[mi], 2);
                char what[96];
                snprintf(what, sizeof what, "%d bits, n %lld, m %d", bits, (long long)n, ix.m);
                const int64_t ks[] = {1, 10, n, n + 5};
                for (int t = 0; t < 4; t++) check_all(&ix, db, qs, nq, ks[t], -1, what);
                check_all(&ix, db, qs, nq, 1, 0, what);
                check_all(&ix, db, qs, nq, 1, bits / 8, what);
                check_all(&ix, db, qs, nq, 1, bits, what);
                hindex_free(&ix);
            }
            free(cent);
            free(db);
            free(qs);
        }
    }
}

/* Uniform random codes at 64 bits, larger n: MIH probes several radii. */
static void uniform(void) {
    const int bits = 64;
    const int64_t n = 20000, nq = 8, rb = 8;
    uint8_t *db = malloc((size_t)(n * rb)), *qs = malloc((size_t)(nq * rb));
    for (int64_t i = 0; i < n * rb; i++) db[i] = (uint8_t)rnd();
    for (int64_t i = 0; i < nq * rb; i++) qs[i] = (uint8_t)rnd();
    hindex ix;
    hindex_build(&ix, db, n, rb, bits, NULL, 0, 2);
    ok(ix.m == 4, "64 bits, n 20000: m = round(64 / log2 n) = 4 (got %d)", ix.m);
    check_all(&ix, db, qs, nq, 10, -1, "uniform 64 bits n 20000");
    check_all(&ix, db, qs, nq, 100, -1, "uniform 64 bits n 20000");
    check_all(&ix, db, qs, nq, 1, 18, "uniform 64 bits n 20000");
    hindex_free(&ix);
    free(db);
    free(qs);
}

static char *tmpdir(void) {
    char t[] = "/tmp/t_index.XXXXXX";
    CHECK(mkdtemp(t));
    return xstrdup(t);
}

static void write_bytes(const char *path, const uint8_t *b, size_t n) {
    FILE *f = fopen(path, "wb");
    CHECK(f);
    CHECK(fwrite(b, 1, n, f) == n);
    CHECK(fclose(f) == 0);
}

static uint8_t *read_bytes(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    CHECK(f);
    fseek(f, 0, SEEK_END);
    *n = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *b = malloc(*n + 1);
    CHECK(fread(b, 1, *n, f) == *n);
    fclose(f);
    return b;
}

static void files(void) {
    const int bits = 64;
    const int64_t n = 3000, rb = 8, nq = 5;
    uint8_t *db = malloc((size_t)(n * rb)), *qs = malloc((size_t)(nq * rb));
    for (int64_t i = 0; i < n * rb; i++) db[i] = (uint8_t)rnd();
    for (int64_t i = 0; i < nq * rb; i++) qs[i] = (uint8_t)rnd();
    int64_t *ids = malloc(sizeof(int64_t) * (size_t)n);
    for (int64_t i = 0; i < n; i++) ids[i] = 1000 + 3 * i;
    hindex a, b;
    hindex_build(&a, db, n, rb, bits, ids, 0, 2);
    char *dir = tmpdir();
    hindex_save(&a, dir);
    char err[1024];
    int rc = hindex_try_load(&b, dir, 2, err, sizeof err);
    ok(rc == 0, "save then load: %s", rc ? err : "ok");
    if (rc) return;
    ok(b.n == n && b.bits == bits && b.m == a.m && b.ids && b.ids[17] == 1000 + 51, "loaded n, bits, m and ids");
    hsearch_params p = {.k = 10, .radius = -1, .method = HSEARCH_MIH};
    hsearch_result r1, r2;
    hsearch(&r1, &a, qs, nq, &p);
    hsearch(&r2, &b, qs, nq, &p);
    ok(r1.lims[nq] == r2.lims[nq] && !memcmp(r1.pos, r2.pos, sizeof(int64_t) * (size_t)r1.lims[nq]),
       "loaded index answers as the built one");
    hsearch_result_free(&r1);
    hsearch_result_free(&r2);
    hindex_free(&b);

    char *fp = path_join(dir, "index.faiss"), *mp = path_join(dir, "mih.bin");
    size_t fl, ml;
    uint8_t *fb = read_bytes(fp, &fl), *mb = read_bytes(mp, &ml);
    ok(fl == 25 + 25 + 8 + (size_t)(n * rb) + 8 + 8 * (size_t)n && !memcmp(fb, "IBMp", 4) && !memcmp(fb + 25, "IBxF", 4),
       "index.faiss: IBMp around IBxF, %zu bytes", fl);
    struct {
        const char *what, *expect;
        int file;      /* 0 faiss, 1 mih */
        size_t len;    /* truncated length, or 0 */
        long at;       /* byte to flip, or -1 */
    } cases[] = {
        {"truncated index.faiss", "expected", 0, 1000, -1},
        {"index.faiss code byte flipped", "checksum", 0, 0, 60},
        {"index.faiss fourcc changed", "fourcc", 0, 0, 0},
        {"index.faiss d changed", "bad header", 0, 0, 29},
        {"truncated mih.bin", "expected", 1, 5000, -1},
        {"mih.bin table byte flipped", "checksum", 1, 0, 5000},
        {"mih.bin magic", "not a dsah MIH", 1, 0, 2},
        {"empty mih.bin", "truncated", 1, 1, -1},
    };
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        uint8_t *buf = cases[c].file ? mb : fb;
        size_t len = cases[c].file ? ml : fl;
        const char *path = cases[c].file ? mp : fp;
        uint8_t *cp = malloc(len);
        memcpy(cp, buf, len);
        size_t wl = cases[c].len ? cases[c].len - (cases[c].len == 1) : len;
        if (cases[c].at >= 0) cp[cases[c].at] ^= 0x5A;
        write_bytes(path, cp, wl);
        hindex x;
        rc = hindex_try_load(&x, dir, 1, err, sizeof err);
        ok(rc != 0 && strstr(err, cases[c].expect) && strstr(err, cases[c].file ? "mih.bin" : "index.faiss"),
           "%s: refused (%s)", cases[c].what, rc ? err : "loaded!");
        if (!rc) hindex_free(&x);
        write_bytes(path, buf, len);
        free(cp);
    }
    hindex x;
    rc = hindex_try_load(&x, dir, 1, err, sizeof err);
    ok(rc == 0, "restored files load again");
    if (!rc) hindex_free(&x);
    /* codes of another length in a query */
    uint8_t c20[3] = {0xFF, 0xFF, 0x0F}, q20[3] = {0xFF, 0xFF, 0xFF};
    hindex y;
    hindex_build(&y, c20, 1, 3, 20, NULL, 0, 1);
    ok(hsearch_check_queries(&y, q20, 1, err, sizeof err) != 0 && strstr(err, "beyond bit 20"),
       "a 24-bit query against a 20-bit index is refused: %s", err);
    hindex_free(&y);
    hindex_free(&a);
    free(fb);
    free(mb);
    free(fp);
    free(mp);
    free(db);
    free(qs);
    free(ids);
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    CHECK(system(cmd) == 0);
    free(dir);
}

int main(void) {
    dsah_init("t_index");
    dsah_quiet = 1;
    exactness();
    uniform();
    files();
    return done_testing();
}
