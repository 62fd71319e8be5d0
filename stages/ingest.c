/* dsah-ingest: a dataset source -> images.npy, labels.npy, the query/train/db
 * split and ingest.json (stages/README.md). The loaders live in
 * common/data/ingest_*.c, the splits in common/data/split.c. */
#include <errno.h>
#include <getopt.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "data/ingest.h"
#include "data/split.h"
#include "data/ingest_images.h"
#include "format/json.h"
#include "format/npy.h"
#include "util/util.h"

#define FASHION_DEFAULT_PATH "/usr/share/datasets/fashion-mnist"

static void usage(FILE *fp) {
    fprintf(fp,
            "usage: dsah-ingest --source fashion-mnist|mnist|cifar10|flickr25k|nuswide|folder --path P\n"
            "                   (--query-per-class Q --train-per-class T | --query Q --train T) --seed S\n"
            "                   [--validation-per-class V | --validation V]\n"
            "                   [--size N] [--strict] [--threads N] [--limit KEY=N] [-q] --out DIR\n"
            "  --source S            fashion-mnist, mnist: IDX files (gzipped or not) in a directory;\n"
            "                        cifar10: the official cifar-10-binary.tar.gz, read in place\n"
            "                        flickr25k: mirflickr25k.zip (or its folder) with --annotations\n"
            "                        mirflickr25k_annotations_v080.zip; 24 concepts, unlabeled images dropped\n"
            "                        nuswide: the image folder/archive; --annotations (default: --path) holds\n"
            "                        ImageList/Imagelist.txt and Groundtruth/AllLabels/Labels_*.txt; the 21\n"
            "                        most frequent concepts\n"
            "                        folder: a directory, .zip or .tar(.gz) of JPEG/PNG images in class\n"
            "                        subfolders, or any layout with --label-list F (\"rel/path label ...\")\n"
            "                        (image sources: decoded by libjpeg-turbo/libpng as PIL's convert(\"RGB\"),\n"
            "                        resized by PIL's antialiased bilinear filter, on all cores)\n"
            "  --path P              the directory holding the source files, or the cifar10 archive itself\n"
            "                        (default for fashion-mnist: " FASHION_DEFAULT_PATH ")\n"
            "  --query-per-class Q   class-balanced split: Q queries per class, the rest is the database,\n"
            "  --train-per-class T   and the first T of each class's shuffled database images train\n"
            "  --query Q --train T   random split: Q queries, the rest database, T training images from it\n"
            "  --seed S              split seed (required)\n"
            "  --validation-per-class V, --validation V   a validation split for tuning: V images per\n"
            "                        class (or V at random) drawn from the database minus the training\n"
            "                        images become the queries, the database loses them, the training\n"
            "                        images stay the same, and the real queries are left out entirely\n"
            "  --size N              resize to NxN (image-file sources; IDX and cifar10 keep their size)\n"
            "  --annotations P, --label-list F   for image-file sources\n"
            "  --strict              fail on the first corrupt image (image-file sources)\n"
            "  --threads N           OpenMP threads (default: all cores)\n"
            "  --limit KEY=N         raise a limit on what the input may size (util.h): pixels (per\n"
            "                        image, 178956970), members (per archive, 10000000), member_bytes\n"
            "                        (268435456), model_params; also DSAH_LIMITS=KEY=N,... for any stage\n"
            "  -q, --quiet           no info or progress lines\n"
            "  --out DIR             writes DIR/images.npy u1 [N,H,W,C], DIR/labels.npy u1 [N,L],\n"
            "                        DIR/{query,train,db}.npy i8 sorted, DIR/ingest.json\n");
}

/* The stage's outputs. Those of an earlier run are removed first and those
 * committed by this run are removed again if it fails later, so a failed run
 * leaves no output behind, old or new (each file alone is already atomic). */
static char *committed[8];
static int ncommitted, finished;
static void remove_partial_outputs(void) {
    if (finished) return;
    for (int i = 0; i < ncommitted; i++) unlink(committed[i]);
}
static char *out_file(const char *dir, const char *name) {
    char *p = path_join(dir, name);
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
    const char *source = NULL, *out = NULL;
    long long qpc = -1, tpc = -1, q = -1, t = -1, seed = -1, vpc = -1, vn = -1;
    ingest_opts o = {0};
    static struct option lo[] = {{"source", 1, 0, 's'},          {"path", 1, 0, 'p'},
                                 {"annotations", 1, 0, 'a'},     {"label-list", 1, 0, 'l'},
                                 {"size", 1, 0, 'z'},            {"query-per-class", 1, 0, 'Q'},
                                 {"train-per-class", 1, 0, 'T'}, {"query", 1, 0, 'x'},
                                 {"train", 1, 0, 'y'},           {"seed", 1, 0, 'e'},
                                 {"strict", 0, 0, 'S'},          {"threads", 1, 0, 't'},
                                 {"quiet", 0, 0, 'q'},           {"out", 1, 0, 'o'},
                                 {"validation-per-class", 1, 0, 'V'}, {"validation", 1, 0, 'v'},
                                 {"limit", 1, 0, 'L'},
                                 {"help", 0, 0, 'h'},            {0, 0, 0, 0}};
    int c;
    const long long big = (long long)1 << 40;
    while ((c = getopt_long(argc, argv, "qh", lo, NULL)) != -1) {
        switch (c) {
        case 's': source = optarg; break;
        case 'p': o.path = optarg; break;
        case 'a': o.annotations = optarg; break;
        case 'l': o.label_list = optarg; break;
        case 'L': limit_set("--limit", optarg); break;
        case 'z': o.size = (int)parse_ll("--size", optarg, 1, 65536); break;
        case 'Q': qpc = parse_ll("--query-per-class", optarg, 0, big); break;
        case 'T': tpc = parse_ll("--train-per-class", optarg, 0, big); break;
        case 'x': q = parse_ll("--query", optarg, 0, big); break;
        case 'y': t = parse_ll("--train", optarg, 0, big); break;
        case 'V': vpc = parse_ll("--validation-per-class", optarg, 1, big); break;
        case 'v': vn = parse_ll("--validation", optarg, 1, big); break;
        case 'e': seed = parse_ll("--seed", optarg, 0, (long long)(~0ULL >> 1)); break;
        case 'S': o.strict = 1; break;
        case 't': o.threads = (int)parse_ll("--threads", optarg, 1, 4096); omp_set_num_threads(o.threads); break;
        case 'q': dsah_quiet = 1; break;
        case 'o': out = optarg; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); die("bad command line (see --help)");
        }
    }
    if (optind < argc) die("unexpected argument '%s'", argv[optind]);
    if (!source) die("--source is required (fashion-mnist, mnist, cifar10, flickr25k, nuswide or folder)");
    if (!out) die("--out is required");
    if (seed < 0) die("--seed is required");
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
    else die("--source '%s': expected fashion-mnist, mnist, cifar10, flickr25k, nuswide or folder", source);
    if (!o.path) {
        if (src == SRC_FASHION) o.path = FASHION_DEFAULT_PATH;
        else die("--path is required for --source %s", source);
    }

    double t0 = now_sec();
    mkdir_p(out);
    static const char *outputs[6] = {"images.npy", "labels.npy", "query.npy", "train.npy", "db.npy", "ingest.json"};
    for (int i = 0; i < 6; i++) {
        char *p = path_join(out, outputs[i]);
        if (unlink(p) != 0 && errno != ENOENT) die("%s: cannot remove the previous output: %s", p, strerror(errno));
        free(p);
    }
    atexit(remove_partial_outputs);
    af_batch_begin();   /* all six outputs or none */
    char *images_path = out_file(out, "images.npy");
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
    npy_save(out_file(out, "labels.npy"), NPY_U1, 2, lshape, r.labels);
    save_split(out_file(out, "query.npy"), s.query, s.nq);
    save_split(out_file(out, "train.npy"), s.train, s.nt);
    save_split(out_file(out, "db.npy"), s.db, s.ndb);

    double secs = now_sec() - t0;
    atomic_file *af = af_open(out_file(out, "ingest.json"));
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
