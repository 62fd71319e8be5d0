/* t_split: split_by_class and split_random.
 *   - structure: per-class counts, query ∩ db = ∅, train ⊂ db,
 *     query ∪ db = all, strictly ascending, in range;
 *   - determinism: same seed => same split, other seed => other split;
 *   - the documented procedure (ingest.h / split.c) re-done here step by step
 *     from rng.h gives the identical split;
 *   - fairness: over 2000 seeds every image is a query about q/n of the time;
 *   - bad sizes and multi-label data die with exit 1;
 *   - split_validation: the real queries appear nowhere, validation queries
 *     come from db minus train with per-class counts, train is unchanged,
 *     db loses exactly the validation queries, the documented draw redone
 *     step by step gives the same split, too many dies. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "data/ingest.h"
#include "data/split.h"
#include "util/rng.h"
#include "tap.h"
#include "util/util.h"

#define NCLASS 5
static int64_t n_all;
static uint8_t *labels;
static int *cls;

static void make_labels(void) {
    /* class j has 20 + 3j images, interleaved by a fixed permutation */
    n_all = 0;
    for (int j = 0; j < NCLASS; j++) n_all += 20 + 3 * j;
    cls = malloc(sizeof(int) * (size_t)n_all);
    int64_t k = 0;
    for (int j = 0; j < NCLASS; j++)
        for (int i = 0; i < 20 + 3 * j; i++) cls[k++] = j;
    rng r;
    rng_seed(&r, 12345);
    for (int64_t i = n_all - 1; i > 0; i--) {
        int64_t t = (int64_t)rng_below(&r, (uint64_t)i + 1);
        int c = cls[i]; cls[i] = cls[t]; cls[t] = c;
    }
    labels = calloc((size_t)n_all * NCLASS, 1);
    for (int64_t i = 0; i < n_all; i++) labels[i * NCLASS + cls[i]] = 1;
}

static int ascending_in_range(const int64_t *v, int64_t n, int64_t lim) {
    for (int64_t i = 0; i < n; i++) {
        if (v[i] < 0 || v[i] >= lim) return 0;
        if (i && v[i] <= v[i - 1]) return 0;
    }
    return 1;
}

/* membership: 1 query, 2 db, 4 train (bits) */
static int structure_ok(const split *s, int64_t n, const char *what) {
    int good = ascending_in_range(s->query, s->nq, n) && ascending_in_range(s->db, s->ndb, n) &&
               ascending_in_range(s->train, s->nt, n);
    ok(good, "%s: query, train, db strictly ascending and in [0,n)", what);
    uint8_t *m = calloc((size_t)n, 1);
    for (int64_t i = 0; i < s->nq; i++) m[s->query[i]] |= 1;
    for (int64_t i = 0; i < s->ndb; i++) m[s->db[i]] |= 2;
    for (int64_t i = 0; i < s->nt; i++) m[s->train[i]] |= 4;
    int disjoint = 1, covered = 1, subset = 1;
    for (int64_t i = 0; i < n; i++) {
        disjoint &= (m[i] & 3) != 3;
        covered &= (m[i] & 3) != 0;
        subset &= !(m[i] & 4) || (m[i] & 2);
    }
    ok(disjoint, "%s: query ∩ db = ∅", what);
    ok(covered && s->nq + s->ndb == n, "%s: query ∪ db = all %lld images", what, (long long)n);
    ok(subset, "%s: train ⊂ db", what);
    free(m);
    return good && disjoint && covered && subset;
}

static int same_split(const split *a, const split *b) {
    return a->nq == b->nq && a->nt == b->nt && a->ndb == b->ndb &&
           !memcmp(a->query, b->query, sizeof(int64_t) * (size_t)a->nq) &&
           !memcmp(a->train, b->train, sizeof(int64_t) * (size_t)a->nt) &&
           !memcmp(a->db, b->db, sizeof(int64_t) * (size_t)a->ndb);
}

static int cmp64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* The documented by-class procedure, step by step, for comparison. */
static void reference_by_class(split *s, int64_t q, int64_t t, uint64_t seed) {
    rng r;
    rng_seed(&r, seed);
    s->query = malloc(sizeof(int64_t) * (size_t)n_all);
    s->train = malloc(sizeof(int64_t) * (size_t)n_all);
    s->db = malloc(sizeof(int64_t) * (size_t)n_all);
    s->nq = s->nt = s->ndb = 0;
    int64_t *m = malloc(sizeof(int64_t) * (size_t)n_all);
    for (int j = 0; j < NCLASS; j++) {
        int64_t k = 0;
        for (int64_t i = 0; i < n_all; i++)
            if (cls[i] == j) m[k++] = i;
        rng_shuffle_i64(&r, m, k);
        for (int64_t a = 0; a < q; a++) s->query[s->nq++] = m[a];
        for (int64_t a = q; a < k; a++) s->db[s->ndb++] = m[a];
        for (int64_t a = q; a < q + t; a++) s->train[s->nt++] = m[a];
    }
    qsort(s->query, (size_t)s->nq, 8, cmp64);
    qsort(s->train, (size_t)s->nt, 8, cmp64);
    qsort(s->db, (size_t)s->ndb, 8, cmp64);
    free(m);
}

static int child_exit(void (*fn)(void)) {
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        if (!freopen("/dev/null", "w", stderr)) _exit(3);
        fn();
        _exit(0);
    }
    int st;
    waitpid(pid, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void bad_too_many_queries(void) {
    split s;
    split_by_class(&s, labels, n_all, NCLASS, 21, 0, 0);   /* class 0 has 20 */
}
static void bad_too_many_train(void) {
    split s;
    split_by_class(&s, labels, n_all, NCLASS, 5, 16, 0);   /* class 0: 15 left */
}
static void bad_multilabel(void) {
    uint8_t *l = malloc((size_t)n_all * NCLASS);
    memcpy(l, labels, (size_t)n_all * NCLASS);
    l[7 * NCLASS + (cls[7] + 1) % NCLASS] = 1;
    split s;
    split_by_class(&s, l, n_all, NCLASS, 1, 1, 0);
}
static void bad_random_q(void) {
    split s;
    split_random(&s, 10, 11, 0, 0);
}
/* membership check of a validation split v made from s */
static void validation_ok(const split *v, const split *s, int64_t n, const char *what) {
    uint8_t *m = calloc((size_t)n, 1);
    for (int64_t i = 0; i < s->nq; i++) m[s->query[i]] |= 1;     /* real query */
    for (int64_t i = 0; i < s->ndb; i++) m[s->db[i]] |= 2;       /* real db */
    for (int64_t i = 0; i < s->nt; i++) m[s->train[i]] |= 4;     /* train */
    int hidden = 1, from_pool = 1, db_ok = 1;
    for (int64_t i = 0; i < v->nq; i++) from_pool &= m[v->query[i]] == 2;
    for (int64_t i = 0; i < v->ndb; i++) hidden &= !(m[v->db[i]] & 1);
    for (int64_t i = 0; i < v->nq; i++) hidden &= !(m[v->query[i]] & 1);
    ok(ascending_in_range(v->query, v->nq, n) && ascending_in_range(v->db, v->ndb, n),
       "%s: validation query and db strictly ascending", what);
    ok(hidden, "%s: no real query is in the validation query or db lists", what);
    ok(from_pool, "%s: every validation query is a db image outside train", what);
    ok(v->nt == s->nt && !memcmp(v->train, s->train, sizeof(int64_t) * (size_t)s->nt), "%s: train unchanged", what);
    /* db = s.db minus v.query, by a merge of the two sorted lists */
    uint8_t *isv = calloc((size_t)n, 1);
    for (int64_t i = 0; i < v->nq; i++) isv[v->query[i]] = 1;
    int64_t k = 0;
    for (int64_t i = 0; i < s->ndb && db_ok; i++)
        if (!isv[s->db[i]]) db_ok &= k < v->ndb && v->db[k++] == s->db[i];
    ok(db_ok && k == v->ndb && v->ndb == s->ndb - v->nq, "%s: db = real db minus the validation queries", what);
    free(isv);
    free(m);
}
static void bad_validation_per_class(void) {
    split s, v;
    split_by_class(&s, labels, n_all, NCLASS, 4, 6, 0);
    split_validation(&v, &s, labels, NCLASS, 11, -1, 0);   /* class 0: 20-4-6 = 10 */
}
static void bad_validation_random(void) {
    split s, v;
    split_random(&s, 100, 10, 50, 0);
    split_validation(&v, &s, NULL, 0, -1, 41, 0);           /* 40 outside train */
}
static void bad_random_t(void) {
    split s;
    split_random(&s, 10, 4, 7, 0);
}

int main(void) {
    dsah_init("t_split");
    make_labels();
    const int64_t Q = 4, T = 6;

    split a, b, c, ref;
    split_by_class(&a, labels, n_all, NCLASS, Q, T, 7);
    structure_ok(&a, n_all, "by_class");
    int counts = a.nq == Q * NCLASS && a.nt == T * NCLASS && a.ndb == n_all - Q * NCLASS;
    int per[3][NCLASS] = {{0}};
    for (int64_t i = 0; i < a.nq; i++) per[0][cls[a.query[i]]]++;
    for (int64_t i = 0; i < a.nt; i++) per[1][cls[a.train[i]]]++;
    for (int64_t i = 0; i < a.ndb; i++) per[2][cls[a.db[i]]]++;
    for (int j = 0; j < NCLASS; j++) counts &= per[0][j] == Q && per[1][j] == T && per[2][j] == 20 + 3 * j - Q;
    ok(counts, "by_class: per class %lld queries, %lld train, count-%lld db", (long long)Q, (long long)T, (long long)Q);
    split_by_class(&b, labels, n_all, NCLASS, Q, T, 7);
    ok(same_split(&a, &b), "by_class: same seed, same split");
    split_by_class(&c, labels, n_all, NCLASS, Q, T, 8);
    ok(!same_split(&a, &c) && memcmp(a.query, c.query, sizeof(int64_t) * (size_t)a.nq) != 0,
       "by_class: another seed, another query set");
    reference_by_class(&ref, Q, T, 7);
    ok(same_split(&a, &ref), "by_class: equals the documented procedure redone step by step");
    split_free(&b);
    split_free(&c);
    split_free(&ref);
    split_free(&a);

    /* edge: zero queries and zero train */
    split_by_class(&a, labels, n_all, NCLASS, 0, 0, 1);
    ok(a.nq == 0 && a.nt == 0 && a.ndb == n_all && ascending_in_range(a.db, a.ndb, n_all) && a.db[0] == 0 &&
           a.db[n_all - 1] == n_all - 1,
       "by_class: q=t=0 puts every image in db, in order");
    split_free(&a);

    /* random split */
    const int64_t n = 1000, q = 100, t = 250;
    split_random(&a, n, q, t, 3);
    structure_ok(&a, n, "random");
    ok(a.nq == q && a.nt == t && a.ndb == n - q, "random: %lld queries, %lld train, %lld db", (long long)a.nq,
       (long long)a.nt, (long long)a.ndb);
    split_random(&b, n, q, t, 3);
    ok(same_split(&a, &b), "random: same seed, same split");
    split_random(&c, n, q, t, 4);
    ok(memcmp(a.query, c.query, sizeof(int64_t) * (size_t)q) != 0, "random: another seed, another query set");
    {   /* reference: shuffle 0..n-1 with rng_seed(seed), first q query, next t train */
        int64_t *perm = malloc(sizeof(int64_t) * (size_t)n);
        for (int64_t i = 0; i < n; i++) perm[i] = i;
        rng r;
        rng_seed(&r, 3);
        rng_shuffle_i64(&r, perm, n);
        qsort(perm, (size_t)q, 8, cmp64);
        qsort(perm + q, (size_t)t, 8, cmp64);
        ok(!memcmp(perm, a.query, sizeof(int64_t) * (size_t)q) && !memcmp(perm + q, a.train, sizeof(int64_t) * (size_t)t),
           "random: equals the documented procedure redone step by step");
        free(perm);
    }
    split_free(&a);
    split_free(&b);
    split_free(&c);

    /* fairness over seeds: P(query) = q/n = 0.2 for every image; 2000 draws
     * give sd 0.009, tolerance 0.05 (5.5 sd) */
    {
        const int64_t nn = 50, qq = 10, S = 2000;
        int *hits = calloc((size_t)nn, sizeof(int));
        for (int64_t seed = 0; seed < S; seed++) {
            split_random(&a, nn, qq, 0, (uint64_t)seed);
            for (int64_t i = 0; i < qq; i++) hits[a.query[i]]++;
            split_free(&a);
        }
        double worst = 0;
        for (int64_t i = 0; i < nn; i++) worst = fmax(worst, fabs(hits[i] / (double)S - 0.2));
        ok(worst < 0.05, "random: every image is a query %.3f±%.3f of the time over %lld seeds (want 0.2±0.05)", 0.2,
           worst, (long long)S);
        free(hits);
    }

    /* validation splits */
    {
        split s, v, v2, v3;
        split_by_class(&s, labels, n_all, NCLASS, Q, T, 7);
        split_validation(&v, &s, labels, NCLASS, 3, -1, 7);
        validation_ok(&v, &s, n_all, "validation by_class");
        int per_v[NCLASS] = {0}, good = v.nq == 3 * NCLASS;
        for (int64_t i = 0; i < v.nq; i++) per_v[cls[v.query[i]]]++;
        for (int j = 0; j < NCLASS; j++) good &= per_v[j] == 3;
        ok(good, "validation by_class: 3 validation queries per class");
        split_validation(&v2, &s, labels, NCLASS, 3, -1, 7);
        ok(same_split(&v, &v2), "validation by_class: same seed, same split");
        split_validation(&v3, &s, labels, NCLASS, 3, -1, 8);
        ok(memcmp(v.query, v3.query, sizeof(int64_t) * (size_t)v.nq) != 0,
           "validation by_class: another seed, another validation set");
        {   /* reference: per class, db minus train ascending, shuffled with the "val" stream */
            rng r;
            rng_seed(&r, 7 ^ rng_hash64(0x76616c));
            int64_t *pool = malloc(sizeof(int64_t) * (size_t)n_all), *ref = malloc(sizeof(int64_t) * (size_t)n_all);
            int64_t nr = 0;
            for (int j = 0; j < NCLASS; j++) {
                int64_t k = 0;
                for (int64_t i = 0; i < n_all; i++) {
                    int in_db = 0, in_train = 0;
                    for (int64_t a = 0; a < s.ndb; a++) in_db |= s.db[a] == i;
                    for (int64_t a = 0; a < s.nt; a++) in_train |= s.train[a] == i;
                    if (cls[i] == j && in_db && !in_train) pool[k++] = i;
                }
                rng_shuffle_i64(&r, pool, k);
                for (int a = 0; a < 3; a++) ref[nr++] = pool[a];
            }
            qsort(ref, (size_t)nr, 8, cmp64);
            ok(nr == v.nq && !memcmp(ref, v.query, sizeof(int64_t) * (size_t)nr),
               "validation by_class: equals the documented draw redone step by step");
            free(pool);
            free(ref);
        }
        split_free(&v);
        split_free(&v2);
        split_free(&v3);
        split_free(&s);
        split_random(&s, 1000, 100, 250, 3);
        split_validation(&v, &s, NULL, 0, -1, 120, 3);
        validation_ok(&v, &s, 1000, "validation random");
        ok(v.nq == 120 && v.ndb == 900 - 120, "validation random: 120 queries, 780 db");
        split_free(&v);
        split_free(&s);
    }
    ok(child_exit(bad_validation_per_class) == 1, "validation by_class: more than a class's db minus train: exit 1");
    ok(child_exit(bad_validation_random) == 1, "validation random: more than db minus train: exit 1");

    ok(child_exit(bad_too_many_queries) == 1, "by_class: more queries than a class holds: exit 1");
    ok(child_exit(bad_too_many_train) == 1, "by_class: more train than a class's db holds: exit 1");
    ok(child_exit(bad_multilabel) == 1, "by_class: multi-label image: exit 1");
    ok(child_exit(bad_random_q) == 1, "random: q > n: exit 1");
    ok(child_exit(bad_random_t) == 1, "random: t > n - q: exit 1");
    free(labels);
    free(cls);
    return done_testing();
}
