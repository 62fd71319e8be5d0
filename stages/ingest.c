/* dsah-ingest: a dataset source -> images.npy, labels.npy, the query/train/db
 * split and ingest.json (stages/README.md). The loaders live in
 * common/data/ingest_*.c, the splits in common/data/split.c. */
#include <errno.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/stages.h"
#include "data/ingest.h"
#include "data/split.h"
#include "data/ingest_images.h"
#include "format/json.h"
#include "format/npy.h"
#include "util/util.h"

#define FASHION_DEFAULT_PATH "/usr/share/datasets/fashion-mnist"

/* The stage's outputs. Those of an earlier run are removed first and those
 * committed by this run are removed again if it fails later, so a failed run
 * leaves no output behind, old or new (each file alone is already atomic). */
static char *committed[8];
static int ncommitted, finished;
static void remove_partial_outputs(void) {
    if (finished) return;
    for (int i = 0; i < ncommitted; i++) unlink(committed[i]);
}
static const ingest_args *args;
static char *out_file(const char *name) {
    char *p = opt_output(&ingest_cmd, args, "out", name);
    CHECK(ncommitted < 8);
    committed[ncommitted++] = p;
    return p;
}

static void save_split(const char *path, const int64_t *v, int64_t n) {
    int64_t shape[1] = {n};
    npy_save(path, NPY_I8, 1, shape, v);
}

/* Images per class among the listed indices (all when idx is NULL). */
static void class_counts(jw *w, const char *key, const ingest_result *r, const int64_t *idx, int64_t n) {
    int64_t *cnt = xcalloc((size_t)r->nclass, sizeof(int64_t));
    for (int64_t k = 0; k < n; k++) {
        int64_t i = idx ? idx[k] : k;
        for (int j = 0; j < r->nclass; j++) cnt[j] += r->labels[i * r->nclass + j];
    }
    jw_arr(w, key);
    for (int j = 0; j < r->nclass; j++) jw_int(w, NULL, cnt[j]);
    jw_end(w);
    free(cnt);
}

int main(int argc, char **argv) {
    dsah_init("dsah-ingest");
    ingest_args a;
    opt_parse(&ingest_cmd, &a, argc, argv);
    args = &a;
    const char *source = a.source, *out = a.out;
    /* -1: not given (0 is a count) */
    long long qpc = opt_given("query-per-class") ? a.query_per_class : -1,
              tpc = opt_given("train-per-class") ? a.train_per_class : -1,
              q = opt_given("query") ? a.query : -1, t = opt_given("train") ? a.train : -1,
              seed = a.seed, vpc = opt_given("validation-per-class") ? a.validation_per_class : -1,
              vn = opt_given("validation") ? a.validation : -1;
    ingest_opts o = {.path = a.path, .annotations = a.annotations, .label_list = a.label_list, .size = (int)a.size,
                     .strict = a.strict, .threads = (int)a.threads};
    if (a.threads) omp_set_num_threads(o.threads);
    int by_class = qpc >= 0 || tpc >= 0, random_split = q >= 0 || t >= 0;
    if (by_class && random_split)
        die("--query-per-class/--train-per-class and --query/--train are two different splits: give one pair");
    if (by_class && (qpc < 0 || tpc < 0)) die("--query-per-class and --train-per-class go together: give both");
    if (random_split && (q < 0 || t < 0)) die("--query and --train go together: give both");
    if (!by_class && !random_split)
        die("a split is required: --query-per-class Q --train-per-class T, or --query Q --train T");
    if (vpc >= 0 && !by_class) die("--validation-per-class goes with --query-per-class/--train-per-class (use --validation)");
    if (vn >= 0 && !random_split) die("--validation goes with --query/--train (use --validation-per-class)");

    enum { SRC_FASHION, SRC_MNIST, SRC_CIFAR10, SRC_FLICKR, SRC_NUSWIDE, SRC_FOLDER } src;
    if (strcmp(source, "fashion-mnist") == 0) src = SRC_FASHION;
    else if (strcmp(source, "mnist") == 0) src = SRC_MNIST;
    else if (strcmp(source, "cifar10") == 0) src = SRC_CIFAR10;
    else if (strcmp(source, "flickr25k") == 0) src = SRC_FLICKR;
    else if (strcmp(source, "nuswide") == 0) src = SRC_NUSWIDE;
    else if (strcmp(source, "folder") == 0) src = SRC_FOLDER;
    else die("--source %s: not a source", source); /* the table's choices are checked by opt_parse */
    if (!o.path) {
        if (src == SRC_FASHION) o.path = FASHION_DEFAULT_PATH;
        else die("--path is required for --source %s", source);
    }

    double t0 = now_sec();
    mkdir_p(out);
    const opt *out_opt = opt_find(&ingest_cmd, "out");
    char name[64];
    for (int i = 0; opt_file(out_opt, i, name, sizeof name); i++) {
        char *p = opt_output_path(out_opt, out, name);
        if (unlink(p) != 0 && errno != ENOENT) die("%s: cannot remove the previous output: %s", p, strerror(errno));
        free(p);
    }
    atexit(remove_partial_outputs);
    af_batch_begin();   /* all six outputs or none */
    char *images_path = out_file("images.npy");
    ingest_result r = {0};
    switch (src) {
    case SRC_FASHION: ingest_idx(&r, &o, images_path, 1); break;
    case SRC_MNIST: ingest_idx(&r, &o, images_path, 0); break;
    case SRC_CIFAR10: ingest_cifar10(&r, &o, images_path); break;
    case SRC_FLICKR: ingest_flickr25k(&r, &o, images_path); break;
    case SRC_NUSWIDE: ingest_nuswide(&r, &o, images_path, 21); break;
    case SRC_FOLDER: ingest_folder(&r, &o, images_path); break;
    }

    split s;
    if (by_class) split_by_class(&s, r.labels, r.n, r.nclass, qpc, tpc, (uint64_t)seed);
    else split_random(&s, r.n, q, t, (uint64_t)seed);
    const int validation = vpc >= 0 || vn >= 0;
    int64_t n_test_queries = s.nq;
    if (validation) {
        split v;
        split_validation(&v, &s, by_class ? r.labels : NULL, r.nclass, vpc, vn, (uint64_t)seed);
        split_free(&s);
        s = v;
    }

    int64_t lshape[2] = {r.n, r.nclass};
    npy_save(out_file("labels.npy"), NPY_U1, 2, lshape, r.labels);
    save_split(out_file("query.npy"), s.query, s.nq);
    save_split(out_file("train.npy"), s.train, s.nt);
    save_split(out_file("db.npy"), s.db, s.ndb);

    double secs = now_sec() - t0;
    atomic_file *af = af_open(out_file("ingest.json"));
    jw w;
    jw_begin(&w, af->fp);
    jw_str(&w, "source", source);
    jw_str(&w, "path", o.path);
    jw_int(&w, "n", r.n);
    jw_int(&w, "h", r.h);
    jw_int(&w, "w", r.w);
    jw_int(&w, "c", r.c);
    jw_arr(&w, "classes");
    for (int j = 0; j < r.nclass; j++) jw_str(&w, NULL, r.class_names[j]);
    jw_end(&w);
    jw_str(&w, "split", by_class ? "per-class" : "random");
    if (by_class) { jw_int(&w, "query_per_class", qpc); jw_int(&w, "train_per_class", tpc); }
    else { jw_int(&w, "query", q); jw_int(&w, "train", t); }
    jw_int(&w, "seed", seed);
    /* "validation": the queries are drawn from the database (tuning); the
     * n_test_queries real queries are in no list */
    jw_bool(&w, "validation", validation);
    if (vpc >= 0) jw_int(&w, "validation_per_class", vpc);
    if (vn >= 0) jw_int(&w, "validation_count", vn);
    if (validation) jw_int(&w, "left_out_test_queries", n_test_queries);
    jw_int(&w, "nq", s.nq);
    jw_int(&w, "nt", s.nt);
    jw_int(&w, "ndb", s.ndb);
    jw_obj(&w, "counts");
    class_counts(&w, "all", &r, NULL, r.n);
    class_counts(&w, "query", &r, s.query, s.nq);
    class_counts(&w, "train", &r, s.train, s.nt);
    class_counts(&w, "db", &r, s.db, s.ndb);
    jw_end(&w);
    jw_int(&w, "skipped", r.skipped);
    jw_int(&w, "unlabeled", r.unlabeled);
    jw_num(&w, "seconds", secs);
    jw_finish(&w);
    af_commit(af);
    af_batch_commit();
    finished = 1;

    info("%s: %lld images %dx%dx%d, %d classes; %squery %lld, train %lld, db %lld; %.2fs", out, (long long)r.n, r.h,
         r.w, r.c, r.nclass, validation ? "validation " : "", (long long)s.nq, (long long)s.nt, (long long)s.ndb, secs);
    split_free(&s);
    for (int j = 0; j < r.nclass; j++) free(r.class_names[j]);
    free(r.class_names);
    free(r.labels);
    for (int i = 0; i < ncommitted; i++) free(committed[i]);
    return 0;
}
