/* eval.c: see eval.h. */
#include "eval.h"

#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__AVX512BW__)
#include <immintrin.h>
#endif

#include "util.h"

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
    r->pn = xcalloc((size_t)l->n_pn + 1, sizeof(double));
    r->pr_precision = xcalloc((size_t)bits + 1, sizeof(double));
    r->pr_recall = xcalloc((size_t)bits + 1, sizeof(double));
    r->pr_nq = xcalloc((size_t)bits + 1, sizeof(int64_t));
}

void eval_result_free(eval_result *r) {
    free(r->map);
    free(r->pat);
    free(r->pn);
    free(r->pr_precision);
    free(r->pr_recall);
    free(r->pr_nq);
    memset(r, 0, sizeof *r);
}

void eval_ws_alloc(eval_ws *ws, const eval_input *in, const eval_lists *l, int nthreads) {
    memset(ws, 0, sizeof *ws);
    CHECK(nthreads >= 1);
    CHECK(in->bits >= 1 && in->bits <= 8 * in->row_bytes && in->bits <= 4096);
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
    ws->qw = xaligned(sizeof(uint64_t) * (size_t)(nq * ws->words + 1));
    ws->dbw = xaligned(sizeof(uint64_t) * (size_t)(ndb * ws->words + 1));
    ws->ql = xaligned(sizeof(uint64_t) * (size_t)(nq * ws->lwords + 1));
    ws->dbl = xaligned(sizeof(uint64_t) * (size_t)(ndb * ws->lwords + 1));
    /* +32 keys of padding: the vector scan of pass 2 reads whole 32-key blocks */
    int64_t kstride = (ndb + 31) / 32 * 32 + 32;
    ws->keys = xaligned(sizeof(uint16_t) * (size_t)(nthreads * kstride));
    ws->relseq = xaligned((size_t)(nthreads * (ndb + 1)));
    ws->cand = xaligned(sizeof(uint32_t) * (size_t)(nthreads * (ndb + 16)));
    ws->inv = xaligned(sizeof(double) * (size_t)((ws->n_k ? ws->cut[ws->n_k - 1] : 0) + 1));
    ws->hist = xaligned(sizeof(uint32_t) * (size_t)(nthreads * 4 * 2 * B));
    ws->start = xaligned(sizeof(int64_t) * (size_t)(nthreads * B));
    ws->q_ap = xaligned(sizeof(double) * (size_t)(nq * ws->n_k + 1));
    ws->q_rel = xaligned(sizeof(int64_t) * (size_t)(nq * ws->n_k + 1));
    ws->q_cnt = xaligned(sizeof(uint32_t) * (size_t)(nq * B));
    ws->q_rcnt = xaligned(sizeof(uint32_t) * (size_t)(nq * B));
}

void eval_ws_free(eval_ws *ws) {
    free(ws->cut);
    free(ws->qw);
    free(ws->dbw);
    free(ws->ql);
    free(ws->dbl);
    free(ws->keys);
    free(ws->relseq);
    free(ws->cand);
    free(ws->inv);
    free(ws->hist);
    free(ws->start);
    free(ws->q_ap);
    free(ws->q_rel);
    free(ws->q_cnt);
    free(ws->q_rcnt);
    memset(ws, 0, sizeof *ws);
}

int eval_check_input(const eval_input *in, char *err, int errlen, int *which) {
    for (int64_t i = 0; i < in->n_query; i++)
        if (in->qidx[i] < 0 || in->qidx[i] >= in->n_labels) {
            *which = EVAL_BAD_QIDX;
            snprintf(err, (size_t)errlen, "index %lld at position %lld is outside the %lld label rows",
                     (long long)in->qidx[i], (long long)i, (long long)in->n_labels);
            return -1;
        }
    for (int64_t i = 0; i < in->n_db; i++)
        if (in->dbidx[i] < 0 || in->dbidx[i] >= in->n_labels) {
            *which = EVAL_BAD_DBIDX;
            snprintf(err, (size_t)errlen, "index %lld at position %lld is outside the %lld label rows",
                     (long long)in->dbidx[i], (long long)i, (long long)in->n_labels);
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

/* Transpose codes into u64 words. Row-major [n, words] when soa = 0, else
 * word-major [words, n]. */
static void load_words(uint64_t *out, const uint8_t *codes, int64_t n, int64_t row_bytes, int64_t words, int soa) {
#pragma omp for schedule(static)
    for (int64_t i = 0; i < n; i++) {
        for (int64_t w = 0; w < words; w++) {
            uint64_t x = 0;
            int64_t b0 = w * 8, nb = row_bytes - b0 < 8 ? row_bytes - b0 : 8;
            memcpy(&x, codes + i * row_bytes + b0, (size_t)nb); /* little endian: byte k -> bits 8k.. */
            if (soa) out[w * n + i] = x;
            else out[i * words + w] = x;
        }
    }
}

static void load_labels(uint64_t *out, const eval_input *in, const int64_t *idx, int64_t n, int64_t lwords, int soa) {
#pragma omp for schedule(static)
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

void eval_compute(eval_result *res, eval_ws *ws, const eval_input *in, const eval_lists *l) {
    const int64_t nq = in->n_query, ndb = in->n_db, W = ws->words, LW = ws->lwords;
    const int bits = in->bits;
    const int64_t B = bits + 1, H = 2 * B, n_k = ws->n_k;
    const int64_t maxk = n_k ? ws->cut[n_k - 1] : 0;
    const int64_t kstride = (ndb + 31) / 32 * 32 + 32;
    CHECK(ws->n_query == nq && ws->n_db == ndb && ws->bits == bits);

#pragma omp parallel num_threads(ws->nthreads)
    {
        load_words(ws->qw, in->qcodes, nq, in->row_bytes, W, 0);
        load_words(ws->dbw, in->dbcodes, ndb, in->row_bytes, W, 1);
        load_labels(ws->ql, in, in->qidx, nq, LW, 0);
        load_labels(ws->dbl, in, in->dbidx, ndb, LW, 1);
#pragma omp for schedule(static)
        for (int64_t k = 1; k <= maxk; k++) ws->inv[k] = 1.0 / (double)k;
        /* implicit barrier after each omp for */
        int tid = omp_get_thread_num();
        uint16_t *key = ws->keys + tid * kstride;
        uint8_t *relseq = ws->relseq + tid * (ndb + 1);
        uint32_t *cand = ws->cand + tid * (ndb + 16);
        uint32_t *hs = ws->hist + tid * 4 * H;
        int64_t *start = ws->start + tid * B;
        uint32_t h[2 * 4097];

#pragma omp for schedule(dynamic, 4)
        for (int64_t q = 0; q < nq; q++) {
            compute_keys(key, ws->qw + q * W, ws->dbw, ws->ql + q * LW, ws->dbl, ndb, W, LW);
            key_histogram(h, hs, key, ndb, H);
            uint32_t *cnt = ws->q_cnt + q * B, *rcnt = ws->q_rcnt + q * B;
            for (int64_t d = 0; d < B; d++) {
                cnt[d] = h[2 * d] + h[2 * d + 1];
                rcnt[d] = h[2 * d + 1];
            }
            if (n_k == 0) continue;
            /* cutoff distance c: the bucket holding rank maxk */
            int64_t cum = 0, c = bits;
            for (int64_t d = 0; d < B; d++) {
                start[d] = cum;
                cum += cnt[d];
                if (cum >= maxk && c == bits && d < bits) c = d;
            }
            for (int64_t d = c + 1; d < B; d++) start[d] = 0; /* not visited */
            rank_scatter(relseq, start, cand, key, ndb, (uint16_t)(2 * (c + 1)));
            /* walk ranks 1..maxk: running relevant count, sum of P@k over the
             * relevant ranks; four partial sums between consecutive cutoffs
             * (a fixed order, so deterministic) */
            double *ap = ws->q_ap + q * n_k;
            int64_t *nrel = ws->q_rel + q * n_k;
            const double *inv = ws->inv;
            double sum = 0.0;
            int64_t rel = 0, k = 1;
            for (int64_t ci = 0; ci < n_k; ci++) {
                const int64_t end = ws->cut[ci];
                double s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0;
                for (; k + 3 <= end; k += 4) {
                    int64_t b0 = relseq[k - 1], b1 = relseq[k], b2 = relseq[k + 1], b3 = relseq[k + 2];
                    rel += b0;
                    s0 += (double)(b0 * rel) * inv[k];
                    rel += b1;
                    s1 += (double)(b1 * rel) * inv[k + 1];
                    rel += b2;
                    s2 += (double)(b2 * rel) * inv[k + 2];
                    rel += b3;
                    s3 += (double)(b3 * rel) * inv[k + 3];
                }
                for (; k <= end; k++) {
                    int64_t b = relseq[k - 1];
                    rel += b;
                    s0 += (double)(b * rel) * inv[k];
                }
                sum += (s0 + s1) + (s2 + s3);
                ap[ci] = rel ? sum / (double)rel : 0.0;
                nrel[ci] = rel;
            }
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
