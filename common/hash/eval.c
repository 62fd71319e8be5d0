/* eval.c: see eval.h. */
#include "hash/eval.h"

#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__AVX512BW__) || defined(__AVX512F__)
#include <immintrin.h>
#endif

#include "util/check.h"
#include "util/util.h"

/* The bit-sliced path needs vpopcntq (VPOPCNTDQ), vpermb/vpermt2b (VBMI),
 * vpcompressb (VBMI2) and gf2p8affineqb (GFNI). -DEVAL_NO_FAST builds the
 * portable path only (to compare the two). */
#if defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512VPOPCNTDQ__) && defined(__AVX512VBMI__) && \
    defined(__AVX512VBMI2__) && defined(__GFNI__) && !defined(EVAL_NO_FAST)
#define EVAL_FAST 1
#else
#define EVAL_FAST 0
#endif

/* Largest class bit vectors (n_classes * n_db / 8 bytes) the fast path builds. */
#define EVAL_FAST_MAX_CLASS_BYTES ((int64_t)256 << 20)

static int64_t resolve(int64_t v, int64_t n_db) { return (v <= 0 || v > n_db) ? n_db : v; }

static int cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Sorted distinct resolved cutoffs of the three lists into out; returns the
 * count. out must hold n_topk + n_pat + n_pn values. */
static int collect_cuts(int64_t *out, const eval_lists *l, int64_t n_db) {
    int n = 0;
    for (int i = 0; i < l->n_topk; i++) out[n++] = resolve(l->topk[i], n_db);
    for (int i = 0; i < l->n_pat; i++) out[n++] = resolve(l->pat[i], n_db);
    for (int i = 0; i < l->n_pn; i++) out[n++] = resolve(l->pn[i], n_db);
    if (n == 0) return 0;
    qsort(out, (size_t)n, sizeof *out, cmp_i64);
    int m = 1;
    for (int i = 1; i < n; i++)
        if (out[i] != out[m - 1]) out[m++] = out[i];
    return m;
}

static int find_cut(const int64_t *cut, int n_k, int64_t v) {
    for (int i = 0; i < n_k; i++)
        if (cut[i] == v) return i;
    CHECK(0);
    return -1;
}

void eval_result_alloc(eval_result *r, const eval_lists *l, int bits) {
    memset(r, 0, sizeof *r);
    r->bits = bits;
    r->map = xcalloc((size_t)l->n_topk + 1, sizeof(double));
    r->pat = xcalloc((size_t)l->n_pat + 1, sizeof(double));
    r->tie_map = xcalloc((size_t)l->n_topk + 1, sizeof(double));
    r->tie_pat = xcalloc((size_t)l->n_pat + 1, sizeof(double));
    r->pn = xcalloc((size_t)l->n_pn + 1, sizeof(double));
    r->pr_precision = xcalloc((size_t)bits + 1, sizeof(double));
    r->pr_recall = xcalloc((size_t)bits + 1, sizeof(double));
    r->pr_nq = xcalloc((size_t)bits + 1, sizeof(int64_t));
}

void eval_result_free(eval_result *r) {
    free(r->map);
    free(r->pat);
    free(r->tie_map);
    free(r->tie_pat);
    free(r->pn);
    free(r->pr_precision);
    free(r->pr_recall);
    free(r->pr_nq);
    memset(r, 0, sizeof *r);
}


/* 64-byte aligned, zeroed (padding of the bit planes and vectors must read as 0). */
static void *zaligned(size_t n) {
    void *p = xaligned(n);
    memset(p, 0, n);
    return p;
}

void eval_ws_alloc(eval_ws *ws, const eval_input *in, const eval_lists *l, int nthreads) {
    eval_ws_alloc_path(ws, in, l, nthreads, EVAL_PATH_AUTO);
}

void eval_ws_alloc_path(eval_ws *ws, const eval_input *in, const eval_lists *l, int nthreads, int path) {
    memset(ws, 0, sizeof *ws);
    CHECK(nthreads >= 1);
    CHECK(in->bits >= 1 && in->bits <= 8 * in->row_bytes && in->bits <= 4096);
    CHECK(path == EVAL_PATH_AUTO || path == EVAL_PATH_PORTABLE);
    int64_t nq = in->n_query, ndb = in->n_db, B = in->bits + 1;
    ws->n_query = nq;
    ws->n_db = ndb;
    ws->bits = in->bits;
    ws->nthreads = nthreads;
    ws->words = (in->row_bytes + 7) / 8;
    ws->lwords = in->n_classes > 0 ? (in->n_classes + 63) / 64 : 1;
    ws->n_slots = l->n_topk + l->n_pat + l->n_pn;
    ws->cut = xcalloc((size_t)ws->n_slots + 1, sizeof(int64_t));
    ws->n_k = collect_cuts(ws->cut, l, ndb);
    ws->nblk = (ndb + 511) / 512;
    ws->fast = EVAL_FAST && path == EVAL_PATH_AUTO && in->bits <= 255 && ndb > 0 &&
               in->n_classes * ws->nblk * 64 <= EVAL_FAST_MAX_CLASS_BYTES;
    int64_t maxk = ws->n_k ? ws->cut[ws->n_k - 1] : 0;
    ws->qw = zaligned(sizeof(uint64_t) * (size_t)(nq * ws->words + 1));
    ws->ql = zaligned(sizeof(uint64_t) * (size_t)(nq * ws->lwords + 1));
    if (ws->fast) {
        int64_t nb = ws->nblk;
        ws->depth = 0;
        while ((1 << ws->depth) <= in->bits) ws->depth++; /* distances 0..bits fit in depth bits */
        ws->dbw_stride = nb * 512;
        ws->dbw = zaligned(sizeof(uint64_t) * (size_t)(ws->words * nb * 512));
        ws->dbp = zaligned(sizeof(uint64_t) * (size_t)(nb * (in->bits + 1) * 8));
        ws->dba = zaligned(sizeof(uint64_t) * (size_t)(nb * ws->depth * 8));
        ws->cls = zaligned(sizeof(uint64_t) * (size_t)(in->n_classes * nb * 8 + 1));
        ws->lastmask = zaligned(sizeof(uint64_t) * 8);
        ws->off = zaligned(sizeof(uint32_t) * (size_t)(nthreads * (in->bits + 8)));
        ws->qrel = zaligned(sizeof(uint64_t) * (size_t)(nthreads * nb * 8));
        ws->acc = zaligned(sizeof(uint64_t) * (size_t)(nthreads * ((int64_t)1 << (ws->depth - 1)) * 8));
        ws->dist = zaligned((size_t)(nthreads * nb * 512));
        ws->cdist = zaligned((size_t)(nthreads * (ndb + 64)));
        ws->crel = zaligned((size_t)(nthreads * (ndb + 64)));
    } else {
        ws->dbw_stride = ndb;
        ws->dbw = zaligned(sizeof(uint64_t) * (size_t)(ndb * ws->words + 1));
        ws->dbl = zaligned(sizeof(uint64_t) * (size_t)(ndb * ws->lwords + 1));
        /* +32 keys of padding: the vector scan of pass 2 reads whole 32-key blocks */
        int64_t kstride = (ndb + 31) / 32 * 32 + 32;
        ws->keys = zaligned(sizeof(uint16_t) * (size_t)(nthreads * kstride));
        ws->cand = zaligned(sizeof(uint32_t) * (size_t)(nthreads * (ndb + 16)));
        ws->hist = zaligned(sizeof(uint32_t) * (size_t)(nthreads * 4 * 2 * B));
    }
    /* relseq rows are read in whole 64-byte vectors up to maxk */
    ws->relseq = zaligned((size_t)(nthreads * (ndb + 64)));
    ws->relbits = zaligned(sizeof(uint64_t) * (size_t)(nthreads * (ndb / 64 + 2)));
    ws->inv = zaligned(sizeof(double) * (size_t)(maxk + 4)); /* the walk loads 4 at a time */
    ws->harm = zaligned(sizeof(double) * (size_t)(ndb + 1));
    ws->start = zaligned(sizeof(int64_t) * (size_t)(nthreads * B));
    ws->q_ap = zaligned(sizeof(double) * (size_t)(nq * ws->n_k + 1));
    ws->q_rel = zaligned(sizeof(int64_t) * (size_t)(nq * ws->n_k + 1));
    ws->q_cnt = zaligned(sizeof(uint32_t) * (size_t)(nq * B));
    ws->q_rcnt = zaligned(sizeof(uint32_t) * (size_t)(nq * B));
}

void eval_ws_free(eval_ws *ws) {
    void *p[] = {ws->cut,   ws->qw,    ws->ql,     ws->dbw,    ws->dbl,     ws->keys,   ws->cand,
                 ws->hist,  ws->dbp,   ws->cls,    ws->lastmask, ws->off, ws->dba, ws->qrel,   ws->acc,
                 ws->dist,  ws->cdist, ws->crel,   ws->relseq, ws->relbits, ws->inv,    ws->harm, ws->start,
                 ws->q_ap,  ws->q_rel, ws->q_cnt,  ws->q_rcnt};
    for (size_t i = 0; i < sizeof p / sizeof *p; i++) free(p[i]);
    memset(ws, 0, sizeof *ws);
}

int eval_check_input(const eval_input *in, char *err, int errlen, int *which) {
    if (index_range_check(in->qidx, in->n_query, in->n_labels, "the labels", err, (size_t)errlen) >= 0) {
        *which = EVAL_BAD_QIDX;
        return -1;
    }
    if (index_range_check(in->dbidx, in->n_db, in->n_labels, "the labels", err, (size_t)errlen) >= 0) {
        *which = EVAL_BAD_DBIDX;
        return -1;
    }
    int64_t nl = in->n_labels * in->n_classes;
    for (int64_t i = 0; i < nl; i++)
        if (in->labels[i] > 1) {
            *which = EVAL_BAD_LABELS;
            snprintf(err, (size_t)errlen, "value %d at row %lld, column %lld is not 0 or 1 (labels are multi-hot)",
                     in->labels[i], (long long)(i / in->n_classes), (long long)(i % in->n_classes));
            return -1;
        }
    if (in->bits < 8 * in->row_bytes) {
        /* bits beyond `bits` must be 0 (bits.h), else distances would count them */
        for (int s = 0; s < 2; s++) {
            const uint8_t *c = s ? in->dbcodes : in->qcodes;
            int64_t n = s ? in->n_db : in->n_query;
            for (int64_t i = 0; i < n; i++)
                for (int64_t k = in->bits; k < 8 * in->row_bytes; k++)
                    if ((c[i * in->row_bytes + (k >> 3)] >> (k & 7)) & 1) {
                        *which = s ? EVAL_BAD_DBCODES : EVAL_BAD_QCODES;
                        snprintf(err, (size_t)errlen, "code %lld has bit %lld set beyond --bits %d",
                                 (long long)i, (long long)k, in->bits);
                        return -1;
                    }
        }
    }
    return 0;
}

/* Codes as u64 words (little endian: byte k -> bits 8k..). Row-major
 * [n, words] when stride = 0, else word-major [words, stride] (stride >= n;
 * the padding stays as it is: zero from eval_ws_alloc). Like the other
 * setup loops an omp for without a barrier: the caller places them. */
static void load_words(uint64_t *out, const uint8_t *codes, int64_t n, int64_t row_bytes, int64_t words,
                       int64_t stride) {
#pragma omp for schedule(static) nowait
    for (int64_t i = 0; i < n; i++) {
        for (int64_t w = 0; w < words; w++) {
            uint64_t x = 0;
            int64_t b0 = w * 8, nb = row_bytes - b0 < 8 ? row_bytes - b0 : 8;
            if (nb == 8) memcpy(&x, codes + i * row_bytes + b0, 8); /* one load */
            else memcpy(&x, codes + i * row_bytes + b0, (size_t)nb);
            if (stride) out[w * stride + i] = x;
            else out[i * words + w] = x;
        }
    }
}

static void load_labels(uint64_t *out, const eval_input *in, const int64_t *idx, int64_t n, int64_t lwords, int soa) {
#pragma omp for schedule(static) nowait
    for (int64_t i = 0; i < n; i++) {
        const uint8_t *row = in->labels + idx[i] * in->n_classes;
        for (int64_t w = 0; w < lwords; w++) {
            uint64_t x = 0;
            for (int64_t c = w * 64; c < in->n_classes && c < (w + 1) * 64; c++)
                if (row[c]) x |= 1ULL << (c - w * 64);
            if (soa) out[w * n + i] = x;
            else out[i * lwords + w] = x;
        }
    }
}

/* Pass 1: key[j] = 2*dist(q, j) + rel(q, j) for j < n. Specialised loops for
 * one/two code words and one label word vectorise (vpopcntq). */
static void compute_keys(uint16_t *restrict key, const uint64_t *restrict q, const uint64_t *restrict dbw,
                         const uint64_t *restrict ql, const uint64_t *restrict dbl, int64_t n, int64_t words,
                         int64_t lwords) {
    if (lwords == 1) {
        const uint64_t m = ql[0];
        if (words == 1) {
            const uint64_t q0 = q[0];
            for (int64_t j = 0; j < n; j++)
                key[j] = (uint16_t)(2 * __builtin_popcountll(dbw[j] ^ q0) + ((dbl[j] & m) != 0));
            return;
        }
        if (words == 2) {
            const uint64_t q0 = q[0], q1 = q[1];
            const uint64_t *d1 = dbw + n;
            for (int64_t j = 0; j < n; j++)
                key[j] = (uint16_t)(2 * (__builtin_popcountll(dbw[j] ^ q0) + __builtin_popcountll(d1[j] ^ q1)) +
                                    ((dbl[j] & m) != 0));
            return;
        }
    }
    for (int64_t j = 0; j < n; j++) {
        int d = 0;
        for (int64_t w = 0; w < words; w++) d += __builtin_popcountll(dbw[w * n + j] ^ q[w]);
        uint64_t r = 0;
        for (int64_t w = 0; w < lwords; w++) r |= dbl[w * n + j] & ql[w];
        key[j] = (uint16_t)(2 * d + (r != 0));
    }
}

/* Histogram of keys into h[0..H) using four sub-tables (hs: [4, H]) so that
 * consecutive equal keys do not serialise on one counter. */
static void key_histogram(uint32_t *restrict h, uint32_t *restrict hs, const uint16_t *restrict key, int64_t n,
                          int64_t H) {
    memset(hs, 0, sizeof(uint32_t) * (size_t)(4 * H));
    uint32_t *h0 = hs, *h1 = hs + H, *h2 = hs + 2 * H, *h3 = hs + 3 * H;
    int64_t j = 0;
    for (; j + 4 <= n; j += 4) {
        h0[key[j]]++;
        h1[key[j + 1]]++;
        h2[key[j + 2]]++;
        h3[key[j + 3]]++;
    }
    for (; j < n; j++) h0[key[j]]++;
    for (int64_t k = 0; k < H; k++) h[k] = h0[k] + h1[k] + h2[k] + h3[k];
}

/* Pass 2: relseq[r] = relevance of the item at rank r (0-based) for the
 * items with key < limit (dist <= cutoff), visited in ascending index order
 * so that ties keep ascending database index (a stable counting sort).
 * start[d] holds the first rank of distance d and is advanced. cand is
 * scratch of n + 16 keys: the candidates are first compressed (branch-free,
 * AVX-512) and then scattered (branch-free). relseq needs n slots. */
static void rank_scatter(uint8_t *restrict relseq, int64_t *restrict start, uint32_t *restrict cand,
                         const uint16_t *restrict key, int64_t n, uint16_t limit) {
    int64_t j = 0, nc = 0;
#if defined(__AVX512BW__)
    const __m512i lim = _mm512_set1_epi32(limit);
    for (; j + 16 <= n; j += 16) {
        __m512i k = _mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i *)(key + j)));
        __mmask16 m = _mm512_cmplt_epu32_mask(k, lim);
        /* register compress + full store: the memory form is slow on some cores */
        _mm512_storeu_si512((void *)(cand + nc), _mm512_maskz_compress_epi32(m, k));
        nc += __builtin_popcount((unsigned)m);
    }
#endif
    for (; j < n; j++) {
        cand[nc] = key[j];
        nc += key[j] < limit;
    }
    for (int64_t i = 0; i < nc; i++) {
        uint32_t kk = cand[i];
        relseq[start[kk >> 1]++] = (uint8_t)(kk & 1);
    }
}


/* ---- shared by both paths ------------------------------------------------ */

/* The cutoff distance c: the bucket holding rank maxk (bits when the items
 * up to distance bits - 1 are fewer). start[d] = first rank (0-based) of
 * distance d for d <= c, 0 beyond (not visited). cnt: [bits+1]. */
static int64_t cutoff_start(int64_t *start, const uint32_t *cnt, int bits, int64_t maxk) {
    int64_t cum = 0, c = bits;
    for (int64_t d = 0; d <= bits; d++) {
        start[d] = cum;
        cum += cnt[d];
        if (cum >= maxk && c == bits && d < bits) c = d;
    }
    for (int64_t d = c + 1; d <= bits; d++) start[d] = 0;
    return c;
}

/* bits[w] bit t = (relseq[64w + t] & tb) != 0, for the words covering n
 * bytes (tb: the byte's relevance bit). relseq is readable up to the next
 * multiple of 64. */
static void rel_to_bits(uint64_t *restrict bits, const uint8_t *restrict relseq, int64_t n, uint8_t tb) {
    int64_t nw = (n + 63) / 64;
#if defined(__AVX512BW__)
    const __m512i t = _mm512_set1_epi8((char)tb);
    for (int64_t w = 0; w < nw; w++) bits[w] = _mm512_test_epi8_mask(_mm512_loadu_si512((const void *)(relseq + 64 * w)), t);
#else
    for (int64_t w = 0; w < nw; w++) {
        uint64_t x = 0;
        for (int t = 0; t < 64; t++) x |= (uint64_t)((relseq[64 * w + t] & tb) != 0) << t;
        bits[w] = x;
    }
#endif
}

/* The arithmetic of AP's sum, term by term, is that of the first version of
 * this file (a walk over every rank 1..maxK in groups of four, four partial
 * sums, the last < 4 ranks before each cutoff added to the first sum), which
 * GCC compiled with a fused multiply-add in the groups and a separate
 * multiply and add in the tail. Both are kept exactly so that the results do
 * not change by a bit; an irrelevant rank added +0.0, so skipping it is
 * exact. */
#if defined(__FMA__)
#define EV_FMA(a, b, c) __builtin_fma((a), (b), (c))
#else
#define EV_FMA(a, b, c) ((a) * (b) + (c))
#endif

/* AP at each cutoff from the relevance bits of ranks 1..cut[n_k-1] (bit
 * r-1 of relbits = rank r; relbits readable one word past the last rank):
 * ap[ci] = (sum over relevant ranks k <= cut[ci] of P@k) / (relevant ranks
 * <= cut[ci]), 0 when none; nrel[ci] = that count. ap, nrel: [n_k]; inv:
 * [cut[n_k-1] + 4]. Between two cutoffs the ranks from k0 on form groups of
 * four (lane (k - k0) % 4) and the last < 4 ranks a tail added to lane 0. */
#if defined(__AVX512F__) && defined(__AVX512VL__) && defined(__FMA__) && !defined(EVAL_SCALAR_WALK)
/* One masked 4-lane FMA per group holding a relevant rank: lane by lane the
 * same fused multiply-adds, in the same order, as the scalar walk below
 * (-DEVAL_SCALAR_WALK builds that one instead, to compare the two). */
static __attribute__((noinline)) void ap_walk(double *ap, int64_t *nrel, const uint64_t *relbits, const int64_t *cut,
                                              int64_t n_k, const double *inv) {
    static const double pre[16][4] = { /* pre[n][l]: set bits of n among bits 0..l */
        {0, 0, 0, 0}, {1, 1, 1, 1}, {0, 1, 1, 1}, {1, 2, 2, 2}, {0, 0, 1, 1}, {1, 1, 2, 2}, {0, 1, 2, 2}, {1, 2, 3, 3},
        {0, 0, 0, 1}, {1, 1, 1, 2}, {0, 1, 1, 2}, {1, 2, 2, 3}, {0, 0, 1, 2}, {1, 1, 2, 3}, {0, 1, 2, 3}, {1, 2, 3, 4}};
    double sum = 0.0;
    int64_t rel = 0, k0 = 1;
    for (int64_t ci = 0; ci < n_k; ci++) {
        const int64_t end = cut[ci], ng4 = (end - k0 + 1) & ~(int64_t)3; /* ranks in groups */
        __m256d s = _mm256_setzero_pd();
        /* 64-rank windows starting at rank k0 + 64i, so nibbles are groups */
        for (int64_t i = 0; 64 * i < ng4; i++) {
            const int64_t p = k0 - 1 + 64 * i, w = p >> 6;
            const int sh = (int)(p & 63);
            uint64_t x = relbits[w] >> sh;
            if (sh) x |= relbits[w + 1] << (64 - sh);
            if (ng4 - 64 * i < 64) x &= (1ULL << (ng4 - 64 * i)) - 1;
            uint64_t t = x | x >> 1;
            t |= t >> 2;
            for (uint64_t occ = t & 0x1111111111111111ULL; occ; occ &= occ - 1) {
                const int j = __builtin_ctzll(occ);
                const int nib = (int)((x >> j) & 15);
                const __m256d r = _mm256_add_pd(_mm256_set1_pd((double)rel), _mm256_loadu_pd(pre[nib]));
                s = _mm256_mask3_fmadd_pd(r, _mm256_loadu_pd(inv + p + j + 1), s, (__mmask8)nib);
                rel += __builtin_popcount((unsigned)nib);
            }
        }
        double sl[4];
        _mm256_storeu_pd(sl, s);
        for (int64_t k = k0 + ng4; k <= end; k++) /* the tail */
            if ((relbits[(k - 1) >> 6] >> ((k - 1) & 63)) & 1) {
                rel++;
                double t = (double)rel * inv[k];
                __asm__("" : "+x"(t)); /* a separate multiply and add, not contracted */
                sl[0] = sl[0] + t;
            }
        sum += (sl[0] + sl[1]) + (sl[2] + sl[3]);
        ap[ci] = rel ? sum / (double)rel : 0.0;
        nrel[ci] = rel;
        k0 = end + 1;
    }
}
#else
/* Visits the set bits one by one. */
static void ap_walk(double *ap, int64_t *nrel, const uint64_t *relbits, const int64_t *cut, int64_t n_k,
                    const double *inv) {
    double sum = 0.0;
    int64_t rel = 0, k0 = 1;
    for (int64_t ci = 0; ci < n_k; ci++) {
        const int64_t end = cut[ci];
        const int64_t gend = k0 + ((end - k0 + 1) & ~(int64_t)3) - 1; /* last rank of the groups */
        double s[4] = {0.0, 0.0, 0.0, 0.0};
        const int64_t w0 = (k0 - 1) >> 6, w1 = (end - 1) >> 6;
        for (int64_t w = w0; w <= w1; w++) {
            uint64_t x = relbits[w];
            if (w == w0) x &= ~0ULL << ((k0 - 1) & 63);
            if (w == w1) x &= (2ULL << ((end - 1) & 63)) - 1; /* 2 << 63 wraps to 0: all ones */
            while (x) {
                const int64_t k = w * 64 + __builtin_ctzll(x) + 1;
                x &= x - 1;
                rel++;
                if (k <= gend) {
                    const int ln = (int)((k - k0) & 3);
                    s[ln] = EV_FMA((double)rel, inv[k], s[ln]);
                } else {
                    double t = (double)rel * inv[k];
                    __asm__("" : "+x"(t)); /* a separate multiply and add, not contracted */
                    s[0] = s[0] + t;
                }
            }
        }
        sum += (s[0] + s[1]) + (s[2] + s[3]);
        ap[ci] = rel ? sum / (double)rel : 0.0;
        nrel[ci] = rel;
        k0 = end + 1;
    }
}
#endif

#if EVAL_FAST
/* ---- bit-sliced path ------------------------------------------------------
 * Layout: block b holds db items 512b .. 512b+511; plane p of a block is
 * one zmm whose bit 64w + t (word w, bit t) is code bit p of item
 * 512b + 64w + t. */

#define EVI static inline __attribute__((always_inline))

/* Index vectors of tr8x64: two-source permutes interleaving the low or high
 * halves of two registers in units of 1, 2 and 4 bytes. */
typedef struct tr_idx {
    __m512i b_lo, b_hi, w_lo, w_hi, d_lo, d_hi;
} tr_idx;

static tr_idx tr_idx_make(void) {
    uint8_t b[2][64];
    uint16_t w[2][32];
    uint32_t d[2][16];
    for (int h = 0; h < 2; h++) {
        for (int i = 0; i < 64; i++) b[h][i] = (uint8_t)((32 * h + (i >> 1)) | ((i & 1) << 6));
        for (int i = 0; i < 32; i++) w[h][i] = (uint16_t)((16 * h + (i >> 1)) | ((i & 1) << 5));
        for (int i = 0; i < 16; i++) d[h][i] = (uint32_t)((8 * h + (i >> 1)) | ((i & 1) << 4));
    }
    tr_idx t;
    t.b_lo = _mm512_loadu_si512((const void *)b[0]);
    t.b_hi = _mm512_loadu_si512((const void *)b[1]);
    t.w_lo = _mm512_loadu_si512((const void *)w[0]);
    t.w_hi = _mm512_loadu_si512((const void *)w[1]);
    t.d_lo = _mm512_loadu_si512((const void *)d[0]);
    t.d_hi = _mm512_loadu_si512((const void *)d[1]);
    return t;
}

/* Byte transpose 8 x 64 -> 64 x 8: qword r of out[q] holds the bytes
 * in[0][8q+r], in[1][8q+r], ..., in[7][8q+r] (in that order). 24 permutes. */
EVI void tr8x64(__m512i out[8], const __m512i in[8], const tr_idx *t) {
    __m512i s[8], u[8];
    for (int k = 0; k < 4; k++) { /* s[2k], s[2k+1]: bytes of in[2k], in[2k+1] paired, positions 0-31, 32-63 */
        s[2 * k] = _mm512_permutex2var_epi8(in[2 * k], t->b_lo, in[2 * k + 1]);
        s[2 * k + 1] = _mm512_permutex2var_epi8(in[2 * k], t->b_hi, in[2 * k + 1]);
    }
    for (int h = 0; h < 2; h++) /* u[4h + j]: in[4h..4h+3] as dwords, positions 16j .. 16j+15 */
        for (int g = 0; g < 2; g++) {
            __m512i a = s[4 * h + g], b = s[4 * h + 2 + g];
            u[4 * h + 2 * g] = _mm512_permutex2var_epi16(a, t->w_lo, b);
            u[4 * h + 2 * g + 1] = _mm512_permutex2var_epi16(a, t->w_hi, b);
        }
    for (int j = 0; j < 4; j++) {
        out[2 * j] = _mm512_permutex2var_epi32(u[j], t->d_lo, u[4 + j]);
        out[2 * j + 1] = _mm512_permutex2var_epi32(u[j], t->d_hi, u[4 + j]);
    }
}

/* gf2p8affineqb with this operand as the data bytes transposes the 8x8 bit
 * matrix in each qword of the other: output byte j bit i = bit j of input
 * byte 7 - i. */
#define EV_AFFINE_ID 0x8040201008040201LL

/* Bit planes 0..bits-1 of block blk ([bits+1, 8] words; plane `bits` stays
 * zero) from the word-major codes (dbw: [words, stride], zero beyond n_db). */
static void build_planes(uint64_t *restrict dbp, const uint64_t *restrict dbw, int64_t stride, int64_t words,
                         int bits, int64_t blk, const tr_idx *t) {
    /* byte 8y + 7 - i of the permuted qword = byte y of item i of the 8 */
    uint8_t ridx[64];
    for (int o = 0; o < 64; o++) ridx[o] = (uint8_t)(8 * (7 - (o & 7)) + (o >> 3));
    const __m512i rev = _mm512_loadu_si512((const void *)ridx), id = _mm512_set1_epi64(EV_AFFINE_ID);
    uint64_t tmp[64] __attribute__((aligned(64)));
    for (int64_t x = 0; x < words && 64 * x < bits; x++) {
        for (int w = 0; w < 8; w++) {
            const uint64_t *src = dbw + x * stride + blk * 512 + 64 * w;
            __m512i T[8], O[8];
            /* T[g] byte p: code bit 64x + p of items 64w + 8g .. +7 (bit i = item 8g + i) */
            for (int g = 0; g < 8; g++) {
                __m512i z = _mm512_loadu_si512((const void *)(src + 8 * g));
                T[g] = _mm512_gf2p8affine_epi64_epi8(id, _mm512_permutexvar_epi8(rev, z), 0);
            }
            tr8x64(O, T, t); /* O[q] qword r: word w of plane 64x + 8q + r */
            for (int q = 0; q < 8; q++) _mm512_store_si512((void *)(tmp + 8 * q), O[q]);
            for (int p = 0; p < 64 && 64 * x + p < bits; p++) dbp[(blk * (bits + 1) + 64 * x + p) * 8 + w] = tmp[p];
        }
    }
}

/* Class bit vectors: cls[c, w] bit t = item 64w + t has label c. Per item
 * and 64 classes the label bytes become one mask (vptestmb), whose set
 * bits (usually one) are visited. */
static void build_classes(uint64_t *restrict cls, const eval_input *in, int64_t nw) {
    const int64_t nc = in->n_classes, ndb = in->n_db;
#pragma omp for schedule(static) nowait
    for (int64_t w = 0; w < nw; w++) {
        const int64_t j0 = w * 64, j1 = j0 + 64 < ndb ? j0 + 64 : ndb;
        for (int64_t c0 = 0; c0 < nc; c0 += 64) {
            const int64_t m = nc - c0 < 64 ? nc - c0 : 64;
            const __mmask64 lm = m == 64 ? ~(__mmask64)0 : ((__mmask64)1 << m) - 1;
            uint64_t acc[64] = {0};
            for (int64_t j = j0; j < j1; j++) {
                const __m512i row = _mm512_maskz_loadu_epi8(lm, in->labels + in->dbidx[j] * nc + c0);
                for (uint64_t x = _mm512_test_epi8_mask(row, row); x; x &= x - 1)
                    acc[__builtin_ctzll(x)] |= 1ULL << (j - j0);
            }
            for (int64_t c = 0; c < m; c++) cls[(c0 + c) * nw + w] = acc[c];
        }
    }
}

/* Histogram tree. A node at level k holds the mask m of the block's items
 * whose distance has the high bits given by the path, i.e. lies in
 * [v * 2^k, (v+1) * 2^k); it splits m on distance plane D[k-1] and descends
 * into the halves (the non-empty ones above level EV_UNCOND). Level 1 (a
 * pair of distances 2v, 2v+1; b = its items at 2v+1) adds the per-lane
 * popcounts of m, m & r, b, b & r (r: the relevance plane) to acc[v] as
 * four 16-bit fields, packed by two word permutes: one store per pair
 * instead of four (zmm stores were the bottleneck). The counts of 2v are
 * m - b, taken when acc is emptied (every EV_BLOCKS_PER_ACC blocks: a field
 * grows by <= 64 per block). Fully inlined, so each node has its own branch
 * and the predictor learns which subtrees are always populated. */
#define EV_BLOCKS_PER_ACC 1023
typedef struct ev_pack {
    __m512i lo, hi; /* word indices: (m, m&r) -> words 0, 1 and (b, b&r) -> words 2, 3 of each qword */
} ev_pack;

static ev_pack ev_pack_make(void) {
    uint16_t lo[32], hi[32];
    for (int q = 0; q < 8; q++) {
        /* popcounts are < 2^16, so words 4q+1.. of a popcount vector are 0 */
        lo[4 * q] = (uint16_t)(4 * q), lo[4 * q + 1] = (uint16_t)(32 + 4 * q);
        lo[4 * q + 2] = lo[4 * q + 3] = (uint16_t)(4 * q + 1);
        hi[4 * q] = hi[4 * q + 1] = (uint16_t)(4 * q + 1);
        hi[4 * q + 2] = (uint16_t)(4 * q), hi[4 * q + 3] = (uint16_t)(32 + 4 * q);
    }
    ev_pack p;
    p.lo = _mm512_loadu_si512((const void *)lo);
    p.hi = _mm512_loadu_si512((const void *)hi);
    return p;
}

EVI void ev_t1(__m512i *acc, __m512i m, const __m512i *D, __m512i r, const ev_pack *pk, int v) {
    const __m512i b = _mm512_and_si512(m, D[0]), mr = _mm512_and_si512(m, r), br = _mm512_and_si512(mr, D[0]);
    const __m512i lo = _mm512_permutex2var_epi16(_mm512_popcnt_epi64(m), pk->lo, _mm512_popcnt_epi64(mr));
    const __m512i hi = _mm512_permutex2var_epi16(_mm512_popcnt_epi64(b), pk->hi, _mm512_popcnt_epi64(br));
    acc[v] = _mm512_add_epi64(acc[v], _mm512_or_si512(lo, hi));
}
/* Levels <= EV_UNCOND descend into both halves without testing them: near
 * the leaves a test costs about what it saves, and its branch is the least
 * predictable (measured: 3 is best at 64 bits, 3-4 at 128). */
#ifndef EV_UNCOND
#define EV_UNCOND 3
#endif
#define EV_NODE(k, j)                                                                                                 \
    EVI void ev_t##k(__m512i *acc, __m512i m, const __m512i *D, __m512i r, const ev_pack *pk, int v) {                \
        __m512i b = _mm512_and_si512(m, D[k - 1]), a = _mm512_andnot_si512(D[k - 1], m);                              \
        if (k <= EV_UNCOND || _mm512_test_epi64_mask(a, a)) ev_t##j(acc, a, D, r, pk, 2 * v);                         \
        if (k <= EV_UNCOND || _mm512_test_epi64_mask(b, b)) ev_t##j(acc, b, D, r, pk, 2 * v + 1);                     \
    }
EV_NODE(2, 1)
EV_NODE(3, 2)
EV_NODE(4, 3)
EV_NODE(5, 4)
EV_NODE(6, 5)
EV_NODE(7, 6)
EV_NODE(8, 7)

/* Carry-save adder: (hi, lo) = a + b + c bitwise (majority, parity). */
#define EV_CSA(hi, lo, a, b, c)                                                                                       \
    do {                                                                                                              \
        __m512i a_ = (a), b_ = (b), c_ = (c);                                                                         \
        hi = _mm512_ternarylogic_epi64(a_, b_, c_, 0xE8);                                                             \
        lo = _mm512_ternarylogic_epi64(a_, b_, c_, 0x96);                                                             \
    } while (0)

/* Bit-sliced sum, for the 512 items of a block, of the constant whose bit
 * planes are c[0..8) and the planes P + off[0..nsel) (nsel a multiple of 8,
 * offsets in u64 words): out[k] = bit k of the sum mod 2^nout (nout <= 8).
 * Harley-Seal: the running digits of weight 1, 2, 4, 8 absorb 16 (or 8)
 * planes per step with 15 (or 7) carry-save adders and hand one plane of
 * weight 16 to a ripple counter h (digits 4..7). */
EVI void hs_sum(__m512i out[8], const uint64_t *P, const uint32_t *off, int nsel, const __m512i c[8], const int nout) {
    __m512i ones = c[0], twos = c[1], fours = c[2], eights = c[3], h[4] = {c[4], c[5], c[6], c[7]};
    __m512i twosA, twosB, foursA, foursB, eightsA, eightsB, sixteens;
#define EV_P(i) _mm512_load_si512((const void *)(P + off[g + (i)]))
    int g = 0;
    for (; g + 16 <= nsel; g += 16) {
        EV_CSA(twosA, ones, ones, EV_P(0), EV_P(1));
        EV_CSA(twosB, ones, ones, EV_P(2), EV_P(3));
        EV_CSA(foursA, twos, twos, twosA, twosB);
        EV_CSA(twosA, ones, ones, EV_P(4), EV_P(5));
        EV_CSA(twosB, ones, ones, EV_P(6), EV_P(7));
        EV_CSA(foursB, twos, twos, twosA, twosB);
        EV_CSA(eightsA, fours, fours, foursA, foursB);
        EV_CSA(twosA, ones, ones, EV_P(8), EV_P(9));
        EV_CSA(twosB, ones, ones, EV_P(10), EV_P(11));
        EV_CSA(foursA, twos, twos, twosA, twosB);
        EV_CSA(twosA, ones, ones, EV_P(12), EV_P(13));
        EV_CSA(twosB, ones, ones, EV_P(14), EV_P(15));
        EV_CSA(foursB, twos, twos, twosA, twosB);
        EV_CSA(eightsB, fours, fours, foursA, foursB);
        EV_CSA(sixteens, eights, eights, eightsA, eightsB);
        for (int l = 0; l < nout - 4; l++) { /* h += sixteens */
            __m512i t = _mm512_and_si512(h[l], sixteens);
            h[l] = _mm512_xor_si512(h[l], sixteens);
            sixteens = t;
        }
    }
    if (g < nsel) {
        EV_CSA(twosA, ones, ones, EV_P(0), EV_P(1));
        EV_CSA(twosB, ones, ones, EV_P(2), EV_P(3));
        EV_CSA(foursA, twos, twos, twosA, twosB);
        EV_CSA(twosA, ones, ones, EV_P(4), EV_P(5));
        EV_CSA(twosB, ones, ones, EV_P(6), EV_P(7));
        EV_CSA(foursB, twos, twos, twosA, twosB);
        EV_CSA(eightsA, fours, fours, foursA, foursB);
        sixteens = _mm512_and_si512(eights, eightsA);
        eights = _mm512_xor_si512(eights, eightsA);
        for (int l = 0; l < nout - 4; l++) {
            __m512i t = _mm512_and_si512(h[l], sixteens);
            h[l] = _mm512_xor_si512(h[l], sixteens);
            sixteens = t;
        }
    }
#undef EV_P
    out[0] = ones;
    out[1] = twos;
    out[2] = fours;
    out[3] = eights;
    for (int l = 0; l < 4; l++) out[4 + l] = h[l];
}

/* The per-query selection of planes. dist = popcount(x ^ q) with
 * A = popcount(x) (precomputed planes), n1 = popcount(q), T1 = the set bits
 * of x where q is 1 and T0 = those where q is 0: dist = A + n1 - 2 T1 =
 * 2 T0 + n1 - A. Counting the smaller of the two sets of planes halves the
 * adders and needs no XOR with the query. The constant is folded into the
 * counter's start value c0 so that one subtraction is left:
 *   mode 0 (planes where q = 0): c0 = n1 >> 1, dist = (2 T0' + e) - A
 *   mode 1 (planes where q = 1): c0 = -(n1 + e) / 2, dist = A - (2 T1' + e)
 * with e = n1 & 1 and T' = T + c0, all mod 2^depth. */
typedef struct ev_sel {
    int mode, e, nsel;
    uint32_t c0;
} ev_sel;

/* off: [bits + 8] word offsets of the selected planes within a block,
 * padded to a multiple of 8 with the block's zero plane (plane `bits`). */
static ev_sel ev_select(uint32_t *off, const uint64_t *qw, int bits, int depth) {
    int n1 = 0;
    for (int b = 0; b < bits; b++) n1 += (int)((qw[b / 64] >> (b % 64)) & 1);
    ev_sel s;
    s.mode = n1 <= bits - n1;
    s.e = n1 & 1;
    s.c0 = (s.mode ? 0u - (uint32_t)((n1 + s.e) / 2) : (uint32_t)(n1 >> 1)) & ((1u << depth) - 1);
    int n = 0;
    for (int b = 0; b < bits; b++)
        if ((int)((qw[b / 64] >> (b % 64)) & 1) == s.mode) off[n++] = (uint32_t)b * 8;
    while (n % 8) off[n++] = (uint32_t)bits * 8;
    s.nsel = n;
    return s;
}

/* Pass 1 of one query over blocks [b0, b1) (b1 - b0 <= EV_BLOCKS_PER_ACC):
 * for every block the distance planes (hs_sum over the selected planes, then
 * one bit-sliced subtraction), the histogram into acc ([2^(depth-1)] zmm of
 * packed counts, accumulated), and, when dist is not NULL, the
 * distances as bytes into dist ([nblk * 512], overwritten; items past n_db
 * hold garbage). dbp: [nblk, bits+1, 8]; dba: [nblk, depth, 8] popcount
 * planes; rel: [nblk * 8] relevance plane. depth is a constant in each
 * instance (fast_pass1_<depth>), so the tree and the loops unroll. */
EVI void fast_pass1_body(__m512i *restrict acc, uint8_t *restrict dist, const uint64_t *restrict dbp,
                         const uint64_t *restrict dba, const uint32_t *restrict off, ev_sel sel,
                         const uint64_t *restrict rel, const uint64_t *lastmask, int64_t b0, int64_t b1,
                         int64_t nblk, int bits, const tr_idx *t, const int depth) {
    const __m512i id = _mm512_set1_epi64(EV_AFFINE_ID), zero = _mm512_setzero_si512();
    const __m512i ev = _mm512_set1_epi64(-(long long)sel.e);
    const ev_pack pk = ev_pack_make();
    __m512i c[8];
    for (int k = 0; k < 8; k++) c[k] = _mm512_set1_epi64(-(long long)((sel.c0 >> k) & 1));
    const int64_t np = bits + 1;
    for (int64_t blk = b0; blk < b1; blk++) {
        __m512i T[8], A[8], V[8], Wt[8], D[8];
        hs_sum(T, dbp + blk * np * 8, off, sel.nsel, c, depth - 1);
        for (int k = 0; k < depth; k++) A[k] = _mm512_load_si512((const void *)(dba + (blk * depth + k) * 8));
        /* the shifted count 2T' + e and A, as minuend V and subtrahend Wt */
        for (int k = 0; k < depth; k++) {
            __m512i s = k ? T[k - 1] : ev;
            V[k] = sel.mode ? A[k] : s;
            Wt[k] = sel.mode ? s : A[k];
        }
        /* D = V - Wt mod 2^depth: difference 0x96 = v^w^b, borrow 0x8E = maj(~v, w, b) */
        __m512i br = zero;
        for (int k = 0; k < depth; k++) {
            D[k] = _mm512_ternarylogic_epi64(V[k], Wt[k], br, 0x96);
            if (k + 1 < depth) br = _mm512_ternarylogic_epi64(V[k], Wt[k], br, 0x8E);
        }
        for (int k = depth; k < 8; k++) D[k] = zero;
        const __m512i root = blk == nblk - 1 ? _mm512_load_si512((const void *)lastmask) : _mm512_set1_epi64(-1);
        const __m512i r = _mm512_load_si512((const void *)(rel + blk * 8));
        switch (depth) {
        case 1: ev_t1(acc, root, D, r, &pk, 0); break;
        case 2: ev_t2(acc, root, D, r, &pk, 0); break;
        case 3: ev_t3(acc, root, D, r, &pk, 0); break;
        case 4: ev_t4(acc, root, D, r, &pk, 0); break;
        case 5: ev_t5(acc, root, D, r, &pk, 0); break;
        case 6: ev_t6(acc, root, D, r, &pk, 0); break;
        case 7: ev_t7(acc, root, D, r, &pk, 0); break;
        default: ev_t8(acc, root, D, r, &pk, 0); break;
        }
        if (dist) {
            /* qword r of Q[q]: planes 7..0 of byte 8q + r of the planes, i.e.
             * of items 64q + 8r .. +7; the affine transpose makes each
             * byte one item's distance */
            const __m512i in[8] = {D[7], D[6], D[5], D[4], D[3], D[2], D[1], D[0]};
            __m512i Q[8];
            tr8x64(Q, in, t);
            for (int q = 0; q < 8; q++)
                _mm512_store_si512((void *)(dist + blk * 512 + 64 * q), _mm512_gf2p8affine_epi64_epi8(id, Q[q], 0));
        }
    }
}

#define EV_PASS1(k)                                                                                                   \
    static __attribute__((noinline)) void fast_pass1_##k(__m512i *acc, uint8_t *dist, const uint64_t *dbp,             \
                                                         const uint64_t *dba, const uint32_t *off, ev_sel sel,         \
                                                         const uint64_t *rel, const uint64_t *lastmask, int64_t b0,    \
                                                         int64_t b1, int64_t nblk, int bits, const tr_idx *t) {        \
        fast_pass1_body(acc, dist, dbp, dba, off, sel, rel, lastmask, b0, b1, nblk, bits, t, k);                      \
    }
EV_PASS1(1)
EV_PASS1(2)
EV_PASS1(3)
EV_PASS1(4)
EV_PASS1(5)
EV_PASS1(6)
EV_PASS1(7)
EV_PASS1(8)

/* Pass 1 over all blocks: cnt, rcnt ([bits+1], overwritten) = items and
 * relevant items at each distance; acc: [2^(depth-1)] zmm scratch. */
static void fast_pass1(uint32_t *cnt, uint32_t *rcnt, __m512i *acc, uint8_t *dist, const uint64_t *dbp,
                       const uint64_t *dba, const uint32_t *off, ev_sel sel, const uint64_t *rel,
                       const uint64_t *lastmask, int64_t nblk, int bits, int depth, const tr_idx *t) {
    const int npair = bits / 2 + 1;
    memset(cnt, 0, sizeof(uint32_t) * (size_t)(bits + 1));
    memset(rcnt, 0, sizeof(uint32_t) * (size_t)(bits + 1));
    for (int64_t b0 = 0; b0 < nblk; b0 += EV_BLOCKS_PER_ACC) {
        const int64_t b1 = b0 + EV_BLOCKS_PER_ACC < nblk ? b0 + EV_BLOCKS_PER_ACC : nblk;
        memset(acc, 0, sizeof(__m512i) * (size_t)npair);
        switch (depth) {
        case 1: fast_pass1_1(acc, dist, dbp, dba, off, sel, rel, lastmask, b0, b1, nblk, bits, t); break;
        case 2: fast_pass1_2(acc, dist, dbp, dba, off, sel, rel, lastmask, b0, b1, nblk, bits, t); break;
        case 3: fast_pass1_3(acc, dist, dbp, dba, off, sel, rel, lastmask, b0, b1, nblk, bits, t); break;
        case 4: fast_pass1_4(acc, dist, dbp, dba, off, sel, rel, lastmask, b0, b1, nblk, bits, t); break;
        case 5: fast_pass1_5(acc, dist, dbp, dba, off, sel, rel, lastmask, b0, b1, nblk, bits, t); break;
        case 6: fast_pass1_6(acc, dist, dbp, dba, off, sel, rel, lastmask, b0, b1, nblk, bits, t); break;
        case 7: fast_pass1_7(acc, dist, dbp, dba, off, sel, rel, lastmask, b0, b1, nblk, bits, t); break;
        default: fast_pass1_8(acc, dist, dbp, dba, off, sel, rel, lastmask, b0, b1, nblk, bits, t); break;
        }
        for (int v = 0; v < npair; v++) {
            uint64_t lane[8];
            _mm512_storeu_si512((void *)lane, acc[v]);
            /* fields (m, m&r, b, b&r); the two 32-bit halves of a lane sum
             * without overflow (8 * 1023 * 64 < 2^32) */
            uint64_t s0 = 0, s1 = 0;
            for (int i = 0; i < 8; i++) {
                s0 += lane[i] & 0x0000FFFF0000FFFFULL;
                s1 += (lane[i] >> 16) & 0x0000FFFF0000FFFFULL;
            }
            const uint32_t nm = (uint32_t)s0, nb = (uint32_t)(s0 >> 32), rm = (uint32_t)s1, rb = (uint32_t)(s1 >> 32);
            cnt[2 * v] += nm - nb;
            rcnt[2 * v] += rm - rb;
            if (2 * v + 1 <= bits) {
                cnt[2 * v + 1] += nb;
                rcnt[2 * v + 1] += rb;
            }
        }
    }
}

/* Popcount planes of block blk: dba[blk, k] = bit k of popcount(code) for
 * its 512 items (zero codes past n_db). off: [bits + 8] scratch. */
static void build_popcount(uint64_t *restrict dba, const uint64_t *restrict dbp, uint32_t *off, int bits, int depth,
                           int64_t blk) {
    int n = 0;
    for (int b = 0; b < bits; b++) off[n++] = (uint32_t)b * 8;
    while (n % 8) off[n++] = (uint32_t)bits * 8;
    __m512i c[8], T[8];
    for (int k = 0; k < 8; k++) c[k] = _mm512_setzero_si512();
    hs_sum(T, dbp + blk * (bits + 1) * 8, off, n, c, 8);
    for (int k = 0; k < depth; k++) _mm512_store_si512((void *)(dba + (blk * depth + k) * 8), T[k]);
}

/* Stable partition of the n candidate keys at src (distance in bits 0-6,
 * in [lo, hi]) into their buckets relseq[start[d] ..]: split at the
 * distance that halves the count, compress each side (vpcompressb, masked
 * stores so nothing is written past a side) into buf, recurse with the
 * roles of src and buf swapped; a side of one distance goes straight to
 * relseq. About 2 log2(hi - lo + 1) compresses per 64 candidates instead
 * of one per distance. src and buf: n bytes each (src is overwritten). */
static void ev_radix(uint8_t *restrict relseq, const int64_t *restrict start, const uint32_t *cnt, uint8_t *src,
                     uint8_t *buf, int64_t n, int lo, int hi) {
    const __m512i lo7 = _mm512_set1_epi8(0x7F);
    if (n == 0) return;
    if (lo == hi) {
        for (int64_t i = 0; i < n; i += 64) {
            const __mmask64 v = n - i >= 64 ? ~(__mmask64)0 : ((__mmask64)1 << (n - i)) - 1;
            _mm512_mask_storeu_epi8(relseq + start[lo] + i, v, _mm512_maskz_loadu_epi8(v, src + i));
        }
        return;
    }
    int64_t half = 0, nl = 0;
    for (int d = lo; d <= hi; d++) half += cnt[d];
    half /= 2;
    int mid = lo;
    for (nl = cnt[lo]; mid + 1 < hi && nl < half; nl += cnt[++mid]) {}
    uint8_t *dst[2] = {mid == lo ? relseq + start[lo] : buf, mid + 1 == hi ? relseq + start[hi] : buf + nl};
    const __m512i mv = _mm512_set1_epi8((char)mid);
    for (int side = 0; side < 2; side++) {
        int64_t pos = 0;
        for (int64_t i = 0; i < n; i += 64) {
            const __mmask64 v = n - i >= 64 ? ~(__mmask64)0 : ((__mmask64)1 << (n - i)) - 1;
            const __m512i kv = _mm512_maskz_loadu_epi8(v, src + i);
            const __mmask64 le = _mm512_cmple_epu8_mask(_mm512_and_si512(kv, lo7), mv);
            const __mmask64 m = (side ? ~le : le) & v;
            const int k = __builtin_popcountll(m);
            const __mmask64 out = k == 64 ? ~(__mmask64)0 : ((__mmask64)1 << k) - 1;
            _mm512_mask_storeu_epi8(dst[side] + pos, out, _mm512_maskz_compress_epi8(m, kv));
            pos += k;
        }
    }
    if (mid > lo) ev_radix(relseq, start, cnt, buf, src, nl, lo, mid);
    if (mid + 1 < hi) ev_radix(relseq, start, cnt, buf + nl, src + nl, n - nl, mid + 1, hi);
}

/* Pass 2 of one query: relseq[start[d] ..] = relevance (in bit 7) of the
 * items with distance d <= c, in ascending index order (ranks below maxk
 * at least; relseq may be written up to 63 bytes past them). dist: [nw * 64]
 * bytes from pass 1; rel: [nw] words; lastword: valid items of word nw - 1;
 * cnt: [c+1] items per distance. cd, cr: [n_db + 64] scratch.
 * vpcompressb costs ~4 cycles on Zen 4 (measured), the most of this pass:
 * when c <= 127 each candidate is one byte, its distance in bits 0-6 and
 * its relevance in bit 7, and one compress per 64 items suffices; else
 * distances and relevance (0 / 0xFF) are compressed separately. */
static __attribute__((noinline)) void fast_pass2(uint8_t *restrict relseq, const int64_t *restrict start,
                                                 uint8_t *restrict cd, uint8_t *restrict cr,
                                                 const uint8_t *restrict dist, const uint64_t *restrict rel,
                                                 const uint32_t *cnt, int64_t nw, uint64_t lastword, int c,
                                                 int64_t maxk) {
    const int keyed = c <= 127;
    const __m512i cv = _mm512_set1_epi8((char)c), lo7 = _mm512_set1_epi8(0x7F);
    /* the candidates (distance <= c), compressed in index order */
    int64_t nc = 0;
    for (int64_t w = 0; w < nw; w++) {
        __m512i dv = _mm512_load_si512((const void *)(dist + 64 * w));
        __mmask64 m = _mm512_cmple_epu8_mask(dv, cv);
        if (w == nw - 1) m &= lastword;
        __m512i rv = _mm512_movm_epi8(rel[w]);
        /* register compress + full store: the memory form is slower */
        if (keyed) { /* 0xCA: lo7 ? dv : rv, bitwise */
            __m512i key = _mm512_ternarylogic_epi64(lo7, dv, rv, 0xCA);
            _mm512_storeu_si512((void *)(cd + nc), _mm512_maskz_compress_epi8(m, key));
        } else {
            _mm512_storeu_si512((void *)(cd + nc), _mm512_maskz_compress_epi8(m, dv));
            _mm512_storeu_si512((void *)(cr + nc), _mm512_maskz_compress_epi8(m, rv));
        }
        nc += __builtin_popcountll(m);
    }
    if (keyed) {
        int lo = 0;
        while (!cnt[lo]) lo++;
        ev_radix(relseq, start, cnt, cd, cr, nc, lo, c);
        return;
    }
    int nval = 0;
    for (int d = 0; d <= c; d++) nval += cnt[d] != 0;
    if (nval > 64) {
        /* many distinct distances: a scatter (its counter reloads cost a few
         * cycles per candidate, but one pass) */
        int64_t pos[256];
        for (int d = 0; d <= c; d++) pos[d] = start[d];
        for (int64_t i = 0; i < nc; i++) relseq[pos[cd[i]]++] = cr[i];
        return;
    }
    /* (c > 127) one compress pass over the candidates per distance present,
     * until its bucket is full; ascending d, so the up to 63 bytes a store
     * writes past its bucket are overwritten by the next bucket */
    const int64_t nchunk = (nc + 63) / 64;
    const __mmask64 lastc = nc % 64 ? ((__mmask64)1 << (nc % 64)) - 1 : ~(__mmask64)0;
    for (int d = 0; d <= c; d++) {
        if (!cnt[d]) continue;
        const __m512i dv = _mm512_set1_epi8((char)d);
        const int64_t end = d < c ? start[d] + cnt[d] : maxk;
        int64_t pos = start[d];
        for (int64_t i = 0; i < nchunk && pos < end; i++) {
            __mmask64 m = _mm512_cmpeq_epu8_mask(_mm512_loadu_si512((const void *)(cd + 64 * i)), dv);
            if (i == nchunk - 1) m &= lastc;
            __m512i rv = _mm512_loadu_si512((const void *)(cr + 64 * i));
            _mm512_storeu_si512((void *)(relseq + pos), _mm512_maskz_compress_epi8(m, rv));
            pos += __builtin_popcountll(m);
        }
    }
}
#endif /* EVAL_FAST */

/* ---- tie-aware metrics (eval.h) ---------------------------------------------
 * From a query's per-distance counts only: cnt[d] items and rcnt[d] relevant
 * items at distance d, ranked in distance order, every order inside a
 * distance equally likely. */

/* E[sum of P@k over the relevant ranks among the first m slots of a tied
 * bucket], given that those m slots hold x relevant items (in a uniformly
 * random arrangement), that s items rank before the bucket and R of them
 * are relevant. Slot j (rank s + j) is relevant with probability x/m, and
 * then (j-1)(x-1)/(m-1) of the bucket's other relevant items rank before
 * it on average: sum_j (x/m)(R + 1 + b (j-1)) / (s + j), b = (x-1)/(m-1),
 * = (x/m)(b m + (R + 1 - b (1 + s)) (H_{s+m} - H_s)). */
static double tie_bucket(double R, double x, int64_t s, int64_t m, const double *H) {
    if (m <= 0 || x <= 0) return 0.0;
    const double b = m > 1 ? (x - 1) / (double)(m - 1) : 0.0;
    return x / (double)m * (b * (double)m + (R + 1 - b * (double)(1 + s)) * (H[s + m] - H[s]));
}

/* Expected AP@K (eval.h's definition: normalised by the relevant items in
 * the top K, 0 when there are none) over the orders within the buckets. */
static double tie_ap(const uint32_t *cnt, const uint32_t *rcnt, int bits, int64_t K, const double *H) {
    double A = 0.0, R = 0.0;
    int64_t s = 0;
    for (int d = 0; d <= bits && s < K; d++) {
        const int64_t n = cnt[d], r = rcnt[d];
        if (n == 0) continue;
        if (s + n <= K) { /* the whole bucket is inside the top K */
            A += tie_bucket(R, (double)r, s, n, H);
            R += (double)r;
            s += n;
            continue;
        }
        /* K cuts the bucket: m of its n slots are inside, holding x of its r
         * relevant items, x hypergeometric(n, r, m). Weights relative to the
         * mode (unimodal), by the ratio of successive terms, summed until
         * they vanish. */
        const int64_t m = K - s, lo = m - (n - r) > 0 ? m - (n - r) : 0, hi = r < m ? r : m;
        int64_t mode = (int64_t)(((double)(m + 1) * (double)(r + 1)) / (double)(n + 2));
        if (mode < lo) mode = lo;
        if (mode > hi) mode = hi;
        double wsum = 0.0, esum = 0.0;
        for (int dir = 0; dir < 2; dir++) {
            double w = 1.0;
            for (int64_t x = dir ? mode - 1 : mode; x >= lo && x <= hi; x += dir ? -1 : 1) {
                if (dir) /* w(x) from w(x+1) */
                    w *= (double)(x + 1) * (double)(n - r - m + x + 1) / ((double)(r - x) * (double)(m - x));
                else if (x > mode) /* w(x) from w(x-1) */
                    w *= (double)(r - x + 1) * (double)(m - x + 1) / ((double)x * (double)(n - r - m + x));
                if (w < 1e-300) break;
                wsum += w;
                if (R + (double)x > 0) esum += w * (A + tie_bucket(R, (double)x, s, m, H)) / (R + (double)x);
                if (w < 1e-18 * wsum) break; /* the terms only decrease from here */
            }
        }
        return esum / wsum;
    }
    return R > 0 ? A / R : 0.0;
}

/* Expected P@N: the relevant items of the buckets inside the top N, plus
 * m r / n for the bucket N cuts. */
static double tie_precision(const uint32_t *cnt, const uint32_t *rcnt, int bits, int64_t N) {
    double R = 0.0;
    int64_t s = 0;
    for (int d = 0; d <= bits && s < N; d++) {
        const int64_t n = cnt[d], r = rcnt[d];
        if (s + n <= N) { R += (double)r; s += n; continue; }
        R += (double)(N - s) * (double)r / (double)n;
        s = N;
    }
    return N > 0 ? R / (double)N : 0.0;
}

void eval_compute(eval_result *res, eval_ws *ws, const eval_input *in, const eval_lists *l) {
    const int64_t nq = in->n_query, ndb = in->n_db, W = ws->words, LW = ws->lwords;
    const int bits = in->bits;
    const int64_t B = bits + 1, H = 2 * B, n_k = ws->n_k;
    const int64_t maxk = n_k ? ws->cut[n_k - 1] : 0;
    const int64_t kstride = (ndb + 31) / 32 * 32 + 32;
    const int64_t nblk = ws->nblk;
    CHECK(ws->n_query == nq && ws->n_db == ndb && ws->bits == bits);
    if (ws->fast) {
        /* valid items of the last block (the tree's root mask there) */
        for (int w = 0; w < 8; w++) {
            int64_t j0 = (nblk - 1) * 512 + 64 * w, n = ndb - j0;
            ws->lastmask[w] = n >= 64 ? ~0ULL : n <= 0 ? 0 : (1ULL << n) - 1;
        }
    }

#pragma omp parallel num_threads(ws->nthreads)
    {
        /* setup: two barriers (waits are costly when the cores are shared) */
        load_words(ws->qw, in->qcodes, nq, in->row_bytes, W, 0);
        load_words(ws->dbw, in->dbcodes, ndb, in->row_bytes, W, ws->dbw_stride);
        load_labels(ws->ql, in, in->qidx, nq, LW, 0);
        if (!ws->fast) load_labels(ws->dbl, in, in->dbidx, ndb, LW, 1);
#pragma omp for schedule(static) nowait
        for (int64_t k = 1; k <= maxk; k++) ws->inv[k] = 1.0 / (double)k;
#if EVAL_FAST
        const tr_idx tix = tr_idx_make();
        if (ws->fast) build_classes(ws->cls, in, nblk * 8);
#pragma omp barrier
        if (ws->fast) { /* needs dbw */
#pragma omp for schedule(static)
            for (int64_t b = 0; b < nblk; b++) {
                build_planes(ws->dbp, ws->dbw, ws->dbw_stride, W, bits, b, &tix);
                build_popcount(ws->dba, ws->dbp, ws->off + omp_get_thread_num() * (bits + 8), bits, ws->depth, b);
            }
        }
#else
#pragma omp barrier
#endif
        int tid = omp_get_thread_num();
        uint8_t *relseq = ws->relseq + tid * (ndb + 64);
        uint64_t *relbits = ws->relbits + tid * (ndb / 64 + 2);
        int64_t *start = ws->start + tid * B;

#pragma omp for schedule(dynamic, 4)
        for (int64_t q = 0; q < nq; q++) {
            uint32_t *cnt = ws->q_cnt + q * B, *rcnt = ws->q_rcnt + q * B;
            int64_t c = 0;
            if (ws->fast) {
#if EVAL_FAST
                const int depth = ws->depth;
                uint32_t *off = ws->off + tid * (bits + 8);
                const ev_sel sel = ev_select(off, ws->qw + q * W, bits, depth);
                /* relevance plane: the class vector of a single-label query,
                 * else the OR of its classes' vectors */
                const uint64_t *qlw = ws->ql + q * LW, *relp = NULL;
                uint64_t *qrel = ws->qrel + tid * nblk * 8;
                int ncls = 0;
                for (int64_t w = 0; w < LW; w++) ncls += __builtin_popcountll(qlw[w]);
                if (ncls == 1) {
                    for (int64_t w = 0; w < LW; w++)
                        if (qlw[w]) relp = ws->cls + (w * 64 + __builtin_ctzll(qlw[w])) * nblk * 8;
                } else {
                    memset(qrel, 0, sizeof(uint64_t) * (size_t)(nblk * 8));
                    for (int64_t w = 0; w < LW; w++)
                        for (uint64_t x = qlw[w]; x; x &= x - 1) {
                            const uint64_t *cv = ws->cls + (w * 64 + __builtin_ctzll(x)) * nblk * 8;
                            for (int64_t i = 0; i < nblk * 8; i++) qrel[i] |= cv[i];
                        }
                    relp = qrel;
                }
                __m512i *acc = (__m512i *)(ws->acc + tid * ((int64_t)1 << (depth - 1)) * 8);
                uint8_t *dist = n_k ? ws->dist + tid * nblk * 512 : NULL;
                fast_pass1(cnt, rcnt, acc, dist, ws->dbp, ws->dba, off, sel, relp, ws->lastmask, nblk, bits, depth,
                           &tix);
                if (n_k == 0) continue;
                c = cutoff_start(start, cnt, bits, maxk);
                const int64_t nw = (ndb + 63) / 64; /* 64-item words */
                const uint64_t lastword = ndb % 64 ? (1ULL << (ndb % 64)) - 1 : ~0ULL;
                fast_pass2(relseq, start, ws->cdist + tid * (ndb + 64), ws->crel + tid * (ndb + 64),
                           ws->dist + tid * nblk * 512, relp, cnt, nw, lastword, (int)c, maxk);
#endif
            } else {
                uint16_t *key = ws->keys + tid * kstride;
                uint32_t *cand = ws->cand + tid * (ndb + 16);
                uint32_t *hs = ws->hist + tid * 4 * H;
                uint32_t h[2 * 4097];
                compute_keys(key, ws->qw + q * W, ws->dbw, ws->ql + q * LW, ws->dbl, ndb, W, LW);
                key_histogram(h, hs, key, ndb, H);
                for (int64_t d = 0; d < B; d++) {
                    cnt[d] = h[2 * d] + h[2 * d + 1];
                    rcnt[d] = h[2 * d + 1];
                }
                if (n_k == 0) continue;
                c = cutoff_start(start, cnt, bits, maxk);
                rank_scatter(relseq, start, cand, key, ndb, (uint16_t)(2 * (c + 1)));
            }
            rel_to_bits(relbits, relseq, maxk, ws->fast ? 0x80 : 0x01);
            ap_walk(ws->q_ap + q * n_k, ws->q_rel + q * n_k, relbits, ws->cut, n_k, ws->inv);
        }
    }

    /* serial reductions in query order: identical for any thread count */
    res->bits = bits;
    res->n_query = nq;
    res->n_db = ndb;
    for (int i = 0; i < l->n_topk; i++) {
        int c = find_cut(ws->cut, (int)n_k, resolve(l->topk[i], ndb));
        double s = 0.0;
        for (int64_t q = 0; q < nq; q++) s += ws->q_ap[q * n_k + c];
        res->map[i] = nq ? s / (double)nq : 0.0;
    }
    for (int t = 0; t < 2; t++) {
        int n = t ? l->n_pn : l->n_pat;
        const int64_t *v = t ? l->pn : l->pat;
        double *out = t ? res->pn : res->pat;
        for (int i = 0; i < n; i++) {
            int64_t N = resolve(v[i], ndb);
            int c = find_cut(ws->cut, (int)n_k, N);
            double s = 0.0;
            for (int64_t q = 0; q < nq; q++) s += (double)ws->q_rel[q * n_k + c] / (double)N;
            out[i] = nq ? s / (double)nq : 0.0;
        }
    }
    /* tie-aware mAP@K and P@N from the per-distance counts (serial, query order) */
    ws->harm[0] = 0.0;
    for (int64_t k = 1; k <= ndb; k++) ws->harm[k] = ws->harm[k - 1] + 1.0 / (double)k;
    for (int i = 0; i < l->n_topk; i++) {
        const int64_t K = resolve(l->topk[i], ndb);
        double s = 0.0;
        for (int64_t q = 0; q < nq; q++) s += tie_ap(ws->q_cnt + q * B, ws->q_rcnt + q * B, bits, K, ws->harm);
        res->tie_map[i] = nq ? s / (double)nq : 0.0;
    }
    for (int i = 0; i < l->n_pat; i++) {
        const int64_t N = resolve(l->pat[i], ndb);
        double s = 0.0;
        for (int64_t q = 0; q < nq; q++) s += tie_precision(ws->q_cnt + q * B, ws->q_rcnt + q * B, bits, N);
        res->tie_pat[i] = nq ? s / (double)nq : 0.0;
    }
    for (int64_t r = 0; r < B; r++) {
        res->pr_precision[r] = 0.0;
        res->pr_recall[r] = 0.0;
        res->pr_nq[r] = 0;
    }
    for (int64_t q = 0; q < nq; q++) {
        const uint32_t *cnt = ws->q_cnt + q * B, *rcnt = ws->q_rcnt + q * B;
        int64_t total = 0;
        for (int64_t d = 0; d < B; d++) total += rcnt[d];
        int64_t c = 0, rc = 0;
        for (int64_t r = 0; r < B; r++) {
            c += cnt[r];
            rc += rcnt[r];
            if (total) res->pr_recall[r] += (double)rc / (double)total;
            if (c) {
                res->pr_precision[r] += (double)rc / (double)c;
                res->pr_nq[r]++;
            }
        }
    }
    for (int64_t r = 0; r < B; r++) {
        res->pr_recall[r] = nq ? res->pr_recall[r] / (double)nq : 0.0;
        res->pr_precision[r] = res->pr_nq[r] ? res->pr_precision[r] / (double)res->pr_nq[r] : 0.0;
    }
}

/* ---- the bit-sliced distance kernel for hash/index.c ---------------------- */
int hamming_planes_supported(int bits) { return EVAL_FAST && bits >= 1 && bits <= 255; }

void hamming_planes_build(hamming_planes *hp, const uint8_t *codes, int64_t n, int64_t row_bytes, int bits,
                          int nthreads) {
    memset(hp, 0, sizeof *hp);
    CHECK(hamming_planes_supported(bits) && bits <= 8 * row_bytes && n >= 0 && nthreads >= 1);
#if EVAL_FAST
    const int64_t words = (row_bytes + 7) / 8, nb = (n + 511) / 512 > 0 ? (n + 511) / 512 : 1;
    hp->n = n;
    hp->nblk = nb;
    hp->bits = bits;
    while ((1 << hp->depth) <= bits) hp->depth++;
    hp->dbp = zaligned(sizeof(uint64_t) * (size_t)(nb * (bits + 1) * 8));
    hp->dba = zaligned(sizeof(uint64_t) * (size_t)(nb * hp->depth * 8));
    hp->lastmask = zaligned(sizeof(uint64_t) * 8);
    hp->zero = zaligned(sizeof(uint64_t) * (size_t)(nb * 8));
    for (int w = 0; w < 8; w++) {
        int64_t j0 = (nb - 1) * 512 + 64 * w, r = n - j0;
        hp->lastmask[w] = r >= 64 ? ~0ULL : r <= 0 ? 0 : (1ULL << r) - 1;
    }
    uint64_t *dbw = zaligned(sizeof(uint64_t) * (size_t)(words * nb * 512));
    uint32_t *off = zaligned(sizeof(uint32_t) * (size_t)(nthreads * (bits + 8)));
#pragma omp parallel num_threads(nthreads)
    {
        const tr_idx tix = tr_idx_make();
        load_words(dbw, codes, n, row_bytes, words, nb * 512);
#pragma omp barrier
#pragma omp for schedule(static)
        for (int64_t b = 0; b < nb; b++) {
            build_planes(hp->dbp, dbw, nb * 512, words, bits, b, &tix);
            build_popcount(hp->dba, hp->dbp, off + omp_get_thread_num() * (bits + 8), bits, hp->depth, b);
        }
    }
    free(dbw);
    free(off);
#else
    (void)codes;
#endif
}

void hamming_planes_free(hamming_planes *hp) {
    free(hp->dbp);
    free(hp->dba);
    free(hp->lastmask);
    free(hp->zero);
    memset(hp, 0, sizeof *hp);
}

void hamming_scratch_alloc(hamming_scratch *s, const hamming_planes *hp) {
    s->off = zaligned(sizeof(uint32_t) * (size_t)(hp->bits + 8));
    s->acc = zaligned(sizeof(uint64_t) * (size_t)(((int64_t)1 << (hp->depth > 0 ? hp->depth - 1 : 0)) * 8));
    s->rcnt = zaligned(sizeof(uint32_t) * (size_t)(hp->bits + 1));
}

void hamming_scratch_free(hamming_scratch *s) {
    free(s->off);
    free(s->acc);
    free(s->rcnt);
    memset(s, 0, sizeof *s);
}

void hamming_planes_query(const hamming_planes *hp, hamming_scratch *s, const uint8_t *q, int64_t row_bytes,
                          uint32_t *cnt, uint8_t *dist) {
#if EVAL_FAST
    uint64_t qw[4] = {0, 0, 0, 0}; /* bits <= 255: at most 4 words */
    CHECK(row_bytes <= 32);
    memcpy(qw, q, (size_t)row_bytes);
    const tr_idx tix = tr_idx_make();
    const ev_sel sel = ev_select(s->off, qw, hp->bits, hp->depth);
    fast_pass1(cnt, s->rcnt, (__m512i *)s->acc, dist, hp->dbp, hp->dba, s->off, sel, hp->zero, hp->lastmask,
               hp->nblk, hp->bits, hp->depth, &tix);
#else
    (void)hp, (void)s, (void)q, (void)row_bytes, (void)cnt, (void)dist;
    CHECK(!"hamming_planes_query without the bit-sliced build");
#endif
}
