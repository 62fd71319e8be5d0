/* split.c: query/train/db splits (see ingest.h for the exact procedure).
 *
 * The rng is rng_seed(&r, seed) and is drawn in this order: by_class shuffles
 * class 0's indices (ascending before the shuffle), then class 1's, ...;
 * random shuffles 0..n-1 once. Shuffles are rng_shuffle_i64 (Fisher-Yates).
 * So a split is a pure function of (labels, n, sizes, seed). */
#include <stdlib.h>
#include <string.h>

#include "data/ingest.h"
#include "data/split.h"
#include "util/rng.h"
#include "util/util.h"

static int cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static void sort_split(split *s) {
    qsort(s->query, (size_t)s->nq, sizeof(int64_t), cmp_i64);
    qsort(s->train, (size_t)s->nt, sizeof(int64_t), cmp_i64);
    qsort(s->db, (size_t)s->ndb, sizeof(int64_t), cmp_i64);
}

void split_by_class(split *s, const uint8_t *labels, int64_t n, int nclass, int64_t q_per_class,
                    int64_t t_per_class, uint64_t seed) {
    if (q_per_class < 0 || t_per_class < 0) die("split: negative per-class sizes");
    /* class of each image; single-label data only */
    int *cls = xmalloc(sizeof(int) * (size_t)(n ? n : 1));
    int64_t *count = xcalloc((size_t)nclass, sizeof(int64_t));
    for (int64_t i = 0; i < n; i++) {
        int c = -1, k = 0;
        for (int j = 0; j < nclass; j++)
            if (labels[i * nclass + j]) { c = j; k++; }
        if (k != 1)
            die("split: image %lld has %d labels; --query-per-class/--train-per-class need single-label data "
                "(use --query/--train)", (long long)i, k);
        cls[i] = c;
        count[c]++;
    }
    for (int j = 0; j < nclass; j++) {
        if (count[j] < q_per_class)
            die("split: class %d has %lld images, fewer than --query-per-class %lld", j, (long long)count[j],
                (long long)q_per_class);
        if (count[j] - q_per_class < t_per_class)
            die("split: class %d has %lld images: after %lld queries, %lld remain for the database, fewer than "
                "--train-per-class %lld", j, (long long)count[j], (long long)q_per_class,
                (long long)(count[j] - q_per_class), (long long)t_per_class);
    }
    s->nq = q_per_class * nclass;
    s->nt = t_per_class * nclass;
    s->ndb = n - s->nq;
    s->query = xmalloc(sizeof(int64_t) * (size_t)(s->nq ? s->nq : 1));
    s->train = xmalloc(sizeof(int64_t) * (size_t)(s->nt ? s->nt : 1));
    s->db = xmalloc(sizeof(int64_t) * (size_t)(s->ndb ? s->ndb : 1));
    /* members[start[j] .. start[j+1]) = class j's images, ascending */
    int64_t *start = xcalloc((size_t)nclass + 1, sizeof(int64_t));
    for (int j = 0; j < nclass; j++) start[j + 1] = start[j] + count[j];
    int64_t *members = xmalloc(sizeof(int64_t) * (size_t)(n ? n : 1));
    int64_t *fill = xmalloc(sizeof(int64_t) * (size_t)nclass);
    memcpy(fill, start, sizeof(int64_t) * (size_t)nclass);
    for (int64_t i = 0; i < n; i++) members[fill[cls[i]]++] = i;

    rng r;
    rng_seed(&r, seed);
    int64_t iq = 0, it = 0, idb = 0;
    for (int j = 0; j < nclass; j++) {
        int64_t *m = members + start[j];
        rng_shuffle_i64(&r, m, count[j]);
        for (int64_t k = 0; k < count[j]; k++) {
            if (k < q_per_class) s->query[iq++] = m[k];
            else {
                s->db[idb++] = m[k];
                if (k - q_per_class < t_per_class) s->train[it++] = m[k];
            }
        }
    }
    CHECK(iq == s->nq && it == s->nt && idb == s->ndb);
    sort_split(s);
    free(cls);
    free(count);
    free(start);
    free(members);
    free(fill);
}

void split_random(split *s, int64_t n, int64_t q, int64_t t, uint64_t seed) {
    if (q < 0 || t < 0) die("split: negative sizes");
    if (q > n) die("split: --query %lld is more than the %lld images", (long long)q, (long long)n);
    if (t > n - q)
        die("split: --train %lld is more than the %lld database images left after %lld queries", (long long)t,
            (long long)(n - q), (long long)q);
    int64_t *perm = xmalloc(sizeof(int64_t) * (size_t)(n ? n : 1));
    for (int64_t i = 0; i < n; i++) perm[i] = i;
    rng r;
    rng_seed(&r, seed);
    rng_shuffle_i64(&r, perm, n);
    s->nq = q;
    s->nt = t;
    s->ndb = n - q;
    s->query = xmalloc(sizeof(int64_t) * (size_t)(q ? q : 1));
    s->train = xmalloc(sizeof(int64_t) * (size_t)(t ? t : 1));
    s->db = xmalloc(sizeof(int64_t) * (size_t)(s->ndb ? s->ndb : 1));
    memcpy(s->query, perm, sizeof(int64_t) * (size_t)q);
    memcpy(s->db, perm + q, sizeof(int64_t) * (size_t)s->ndb);
    memcpy(s->train, perm + q, sizeof(int64_t) * (size_t)t);
    sort_split(s);
    free(perm);
}

/* out = a minus b for ascending a [na] and b [nb]; returns the count. out
 * holds na values. */
static int64_t sorted_minus(int64_t *out, const int64_t *a, int64_t na, const int64_t *b, int64_t nb) {
    int64_t n = 0;
    for (int64_t i = 0, t = 0; i < na; i++) {
        while (t < nb && b[t] < a[i]) t++;
        if (t < nb && b[t] == a[i]) continue;
        out[n++] = a[i];
    }
    return n;
}

/* Stream of the validation draw: "val" hashed into the seed. */
#define VAL_STREAM 0x76616cULL

void split_validation(split *v, const split *s, const uint8_t *labels, int nclass, int64_t v_per_class,
                      int64_t v_count, uint64_t seed) {
    int64_t *pool = xmalloc(sizeof(int64_t) * (size_t)(s->ndb ? s->ndb : 1));
    int64_t npool = sorted_minus(pool, s->db, s->ndb, s->train, s->nt);
    rng r;
    rng_seed(&r, seed ^ rng_hash64(VAL_STREAM));
    int64_t nv = 0;
    int64_t *val = xmalloc(sizeof(int64_t) * (size_t)(npool ? npool : 1));
    if (labels) {
        if (v_per_class < 0) die("split: negative --validation-per-class");
        int64_t *members = xmalloc(sizeof(int64_t) * (size_t)(npool ? npool : 1));
        for (int j = 0; j < nclass; j++) {
            int64_t m = 0;
            for (int64_t i = 0; i < npool; i++)
                if (labels[pool[i] * nclass + j]) members[m++] = pool[i];
            if (m < v_per_class)
                die("split: class %d has %lld database images outside the training set, fewer than "
                    "--validation-per-class %lld", j, (long long)m, (long long)v_per_class);
            rng_shuffle_i64(&r, members, m);
            memcpy(val + nv, members, sizeof(int64_t) * (size_t)v_per_class);
            nv += v_per_class;
        }
        free(members);
    } else {
        if (v_count < 0) die("split: negative --validation");
        if (v_count > npool)
            die("split: --validation %lld is more than the %lld database images outside the training set",
                (long long)v_count, (long long)npool);
        rng_shuffle_i64(&r, pool, npool);
        memcpy(val, pool, sizeof(int64_t) * (size_t)v_count);
        nv = v_count;
    }
    qsort(val, (size_t)nv, sizeof(int64_t), cmp_i64);
    v->nq = nv;
    v->query = val;
    v->nt = s->nt;
    v->train = xmalloc(sizeof(int64_t) * (size_t)(s->nt ? s->nt : 1));
    memcpy(v->train, s->train, sizeof(int64_t) * (size_t)s->nt);
    v->db = xmalloc(sizeof(int64_t) * (size_t)(s->ndb ? s->ndb : 1));
    v->ndb = sorted_minus(v->db, s->db, s->ndb, val, nv);
    CHECK(v->ndb == s->ndb - nv);
    free(pool);
}

void split_free(split *s) {
    free(s->query);
    free(s->train);
    free(s->db);
    memset(s, 0, sizeof *s);
}
