/* dsah-plan: turn a pipeline YAML into a Make fragment.
 *
 *   dsah-plan --config pipelines/NAME.yaml [--set key=value ...] [--work work]
 *             [--bin bin] [--out work/NAME/plan.mk]
 *   dsah-plan --keys-markdown | --keys
 *
 * Writes <work>/<name>/plan.mk (one rule per stage instance), a params stamp
 * beside each rule's outputs (rewritten only when its text changes, so its
 * mtime moves only when the stage's parameters do) and <work>/<name>/index.tsv
 * (one line per evaluated run, read by the result scripts). Prints the run
 * directory on stdout and every default in use on stderr.
 *
 * Rules: <dir>/done.<stage>: the done files of the stages it reads, and its
 * params stamp. The recipe removes stale temporaries of an earlier killed
 * run, logs the rule id to <work>/<name>/stages.log, runs the stage (which
 * writes its outputs atomically) and touches the done file last: a stage
 * killed at any point leaves no done file, so Make never takes a half-done
 * stage as done. (A done file rather than grouped targets "a b &:", because
 * make -n of GNU Make 4.3 does not show what depends on grouped targets.)
 * Recipes hold only validated values in single quotes; nothing from the
 * YAML reaches Make or the shell unquoted. */
#define _GNU_SOURCE
#include "format/config.h"
#include "util/util.h"

#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { G_MAIN = 1, G_TABLE = 2, G_SWEEP = 4 };

typedef struct rule {
    char *id;            /* unique, e.g. "runs/dsah-b64/round1/train" */
    char *stage;         /* "train" */
    char *outs[8];
    int nout;
    char *ins[8];
    int nin;
    char **argv;         /* flags and values after the binary */
    unsigned char *stamped;
    int argc, cap;
    char *stamp;         /* path of the params stamp */
    unsigned groups;     /* G_* */
    int ok;              /* its stage and all upstream stages are built */
} rule;

static rule *rules;
static int nrules, caprules;
static const char *W;    /* <work>/<name> */
static const char *bindir = "bin";

static char *fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));
/* The planner's strings live until exit: kept here, reachable (so that
 * make test-asan's leak check does not count them after main returns). */
static char **kept;
static size_t nkept, capkept;
static char *keep(char *s) {
    if (nkept == capkept) kept = xrealloc(kept, sizeof *kept * (capkept = capkept ? 2 * capkept : 256));
    return kept[nkept++] = s;
}

static char *fmt(const char *f, ...) {
    va_list ap;
    char *s;
    va_start(ap, f);
    if (vasprintf(&s, f, ap) < 0) die("out of memory");
    va_end(ap);
    return keep(s);
}

static rule *find_rule(const char *id) {
    for (int i = 0; i < nrules; i++)
        if (strcmp(rules[i].id, id) == 0) return &rules[i];
    return NULL;
}

/* New rule, or the existing one with the same id (shared upstream stages of
 * several runs); returns NULL in that case after adding the groups. */
static rule *rule_new(const char *stage, const char *id, unsigned groups) {
    rule *old = find_rule(id);
    if (old) { old->groups |= groups; return NULL; }
    if (nrules == caprules) rules = xrealloc(rules, sizeof(rule) * (size_t)(caprules = caprules ? 2 * caprules : 64));
    rule *r = &rules[nrules++];
    memset(r, 0, sizeof *r);
    r->id = xstrdup(id);
    r->stage = xstrdup(stage);
    r->groups = groups;
    return r;
}

static void arg(rule *r, const char *flag, const char *val, int stamped) {
    for (int k = 0; k < (val ? 2 : 1); k++) {
        if (r->argc == r->cap) {
            r->cap = r->cap ? 2 * r->cap : 32;
            r->argv = xrealloc(r->argv, sizeof(char *) * (size_t)r->cap);
            r->stamped = xrealloc(r->stamped, (size_t)r->cap);
        }
        r->stamped[r->argc] = (unsigned char)stamped;
        r->argv[r->argc++] = xstrdup(k ? val : flag);
    }
}

static void input(rule *r, const char *flag, const char *path) {
    arg(r, flag, path, 1);
    CHECK(r->nin < 8);
    r->ins[r->nin++] = xstrdup(path);
}

static void output(rule *r, const char *path) {
    CHECK(r->nout < 8);
    r->outs[r->nout++] = xstrdup(path);
}

/* ---- writing files only when their content changes ---------------------- */

static int same_content(const char *path, const char *text) {
    FILE *fp = fopen(path, "rb");
    if (!fp) return 0;
    size_t n = strlen(text), got = 0;
    char *buf = xmalloc(n + 1);
    got = fread(buf, 1, n + 1, fp);
    fclose(fp);
    int same = got == n && memcmp(buf, text, n) == 0;
    free(buf);
    return same;
}

/* Returns 1 when the file was (re)written. */
static int write_if_changed(const char *path, const char *text) {
    if (same_content(path, text)) return 0;
    atomic_file *af = af_open(path);
    af_write(af, text, strlen(text));
    af_commit(af);
    return 1;
}

/* ---- the run flow -------------------------------------------------------- */

typedef struct runp {
    const char *label;   /* "dsah", "pic0", "noand", or the sweep point id */
    const char *dir;     /* run directory */
    long long bits;
    const char *gamma, *tau, *pic;
    int and_on;
    unsigned groups;
    int ssdh;            /* the SSDH baseline: one training of --loss ssdh against dsah-ssdh's S */
    int greedy;          /* the GreedyHash baseline: one training of --loss greedyhash on the graph's features */
} runp;

static const cfg *C;
static const char *dev;   /* --device value or NULL for auto */

static void add_device(rule *r) {
    if (dev) arg(r, "--device", dev, 0);
}

static const char *P(const char *rel) { return fmt("%s/%s", W, rel); }

static void plan_ingest(void) {
    rule *r = rule_new("ingest", "data/ingest", G_MAIN | G_TABLE | G_SWEEP);
    if (!r) return;
    arg(r, "--source", cfg_str(C, "dataset.source"), 1);
    arg(r, "--path", cfg_str(C, "dataset.path"), 1);
    if (cfg_get(C, "dataset.annotations")->set) arg(r, "--annotations", cfg_str(C, "dataset.annotations"), 1);
    if (cfg_get(C, "dataset.label_list")->set) arg(r, "--label-list", cfg_str(C, "dataset.label_list"), 1);
    if (cfg_get(C, "dataset.size")->set) arg(r, "--size", cfg_str(C, "dataset.size"), 1);
    if (cfg_get(C, "dataset.query_per_class")->set) {
        arg(r, "--query-per-class", cfg_str(C, "dataset.query_per_class"), 1);
        arg(r, "--train-per-class", cfg_str(C, "dataset.train_per_class"), 1);
    } else {
        arg(r, "--query", cfg_str(C, "dataset.query"), 1);
        arg(r, "--train", cfg_str(C, "dataset.train"), 1);
    }
    if (cfg_get(C, "dataset.validation_per_class")->set)
        arg(r, "--validation-per-class", cfg_str(C, "dataset.validation_per_class"), 1);
    if (cfg_get(C, "dataset.validation")->set) arg(r, "--validation", cfg_str(C, "dataset.validation"), 1);
    arg(r, "--seed", cfg_str(C, "dataset.seed"), 1);
    if (cfg_bool(C, "dataset.strict")) arg(r, "--strict", NULL, 1);
    arg(r, "--out", P("data"), 1);
    const char *names[] = {"images.npy", "labels.npy", "query.npy", "train.npy", "db.npy", "ingest.json"};
    for (int i = 0; i < 6; i++) output(r, fmt("%s/data/%s", W, names[i]));
    r->stamp = (char *)P("data/params.ingest");
}

/* Features of one split with one extractor; returns the output path. */
static const char *plan_features(const char *extractor, const char *split, unsigned groups) {
    const char *out = fmt("%s/features/%s_%s.npy", W, extractor, split);
    rule *r = rule_new("features", fmt("features/%s_%s", extractor, split), groups);
    if (!r) return out;
    input(r, "--images", P("data/images.npy"));
    input(r, "--indices", fmt("%s/data/%s.npy", W, split));
    arg(r, "--extractor", extractor, 1);
    if (!strcmp(extractor, "vgg19")) {
        arg(r, "--weights", cfg_str(C, "features.weights"), 1);
        arg(r, "--input", cfg_str(C, "features.input"), 1);
    }
    arg(r, "--batch", cfg_str(C, "features.batch"), 0);
    add_device(r);
    arg(r, "--out", out, 1);
    output(r, out);
    r->stamp = fmt("%s/features/params.%s_%s", W, extractor, split);
    return out;
}

static void plan_graph(void) {
    const char *ex = cfg_str(C, "features.extractor");
    const char *f = plan_features(ex, "train", G_MAIN | G_TABLE | G_SWEEP);
    rule *r = rule_new("graph", "graph/graph", G_MAIN | G_TABLE | G_SWEEP);
    if (!r) return;
    input(r, "--features", f);
    arg(r, "--k1", cfg_str(C, "graph.k1"), 1);
    arg(r, "--k2", cfg_str(C, "graph.k2"), 1);
    input(r, "--labels", P("data/labels.npy"));
    input(r, "--indices", P("data/train.npy"));
    add_device(r);
    arg(r, "--out", fmt("%s/graph/", W), 1);
    output(r, P("graph/wl.npy"));
    output(r, P("graph/w0.npy"));
    output(r, P("graph/stats.json"));
    r->stamp = (char *)P("graph/params.graph");
}

static void plan_eval(const char *id, const char *qcodes, const char *dbcodes, const char *dir, unsigned groups) {
    rule *r = rule_new("eval", id, groups);
    if (!r) return;
    input(r, "--query-codes", qcodes);
    input(r, "--db-codes", dbcodes);
    input(r, "--labels", P("data/labels.npy"));
    input(r, "--query-indices", P("data/query.npy"));
    input(r, "--db-indices", P("data/db.npy"));
    char *topk = keep(cfg_join(C, "eval.topk", ",")), *pat = keep(cfg_join(C, "eval.precision_at", ","));
    arg(r, "--topk", topk, 1);
    arg(r, "--precision-at", pat, 1);
    if (cfg_get(C, "eval.pn_at")->set) arg(r, "--pn-at", keep(cfg_join(C, "eval.pn_at", ",")), 1);
    add_device(r);
    arg(r, "--out", fmt("%s/eval/", dir), 1);
    output(r, fmt("%s/eval/metrics.json", dir));
    output(r, fmt("%s/eval/pr.csv", dir));
    output(r, fmt("%s/eval/pn.csv", dir));
    r->stamp = fmt("%s/eval/params.eval", dir);
}

/* The search index of a run's database codes (dsah-index; dsah-serve and
 * dsah-search read it): <work>/<name>/index/<label>-b<bits>/. */
static void plan_index(const char *label, long long bits, const char *dbcodes, unsigned groups) {
    const char *dir = fmt("%s/index/%s-b%lld", W, label, bits);
    rule *r = rule_new("index", fmt("index/%s-b%lld", label, bits), groups);
    if (!r) return;
    input(r, "--codes", dbcodes);
    input(r, "--ids", P("data/db.npy"));
    arg(r, "--out", fmt("%s/", dir), 1);
    output(r, fmt("%s/index.faiss", dir));
    output(r, fmt("%s/mih.bin", dir));
    output(r, fmt("%s/index.json", dir));
    r->stamp = fmt("%s/params.index", dir);
}

/* Feature dimension of the baselines where the YAML fixes it (vgg19 relu7:
 * 4096; pixels of a source with a known image shape), else 0. */
static long long baseline_feature_dim(const cfg *c) {
    const char *ex = strcmp(cfg_str(c, "eval.baseline_features"), "pixels") ? cfg_str(c, "features.extractor") : "pixels";
    if (!strcmp(ex, "vgg19")) return 4096;
    const char *src = cfg_str(c, "dataset.source");
    long long ch = !strcmp(src, "cifar10") ? 3 : (!strcmp(src, "fashion-mnist") || !strcmp(src, "mnist")) ? 1 : 0;
    long long side = cfg_get(c, "dataset.size")->set ? cfg_int(c, "dataset.size") : !strcmp(src, "cifar10") ? 32 : 28;
    return ch * side * side;
}

/* Training rows where the YAML fixes them (dataset.train, or
 * train_per_class of a 10-class source), else 0. */
static long long baseline_train_rows(const cfg *c) {
    if (cfg_get(c, "dataset.train")->set) return cfg_int(c, "dataset.train");
    const char *src = cfg_str(c, "dataset.source");
    int ten = !strcmp(src, "cifar10") || !strcmp(src, "fashion-mnist") || !strcmp(src, "mnist");
    return ten && cfg_get(c, "dataset.train_per_class")->set ? 10 * cfg_int(c, "dataset.train_per_class") : 0;
}

/* Settings of the baselines that cannot work, refused before anything runs. */
static void check_baselines(const cfg *c) {
    const cfg_val *bl = cfg_get(c, "eval.baselines"), *bits = cfg_get(c, "train.bits");
    long long dim = baseline_feature_dim(c), n = baseline_train_rows(c);
    long long anchors = cfg_int(c, "eval.agh_anchors"), nearest = cfg_int(c, "eval.agh_nearest");
    double density = cfg_double(c, "eval.sp_density"), lambda = cfg_double(c, "eval.sp_lambda");
    for (int m = 0; m < bl->n; m++) {
        const char *meth = bl->v[m];
        int agh = !strncmp(meth, "agh", 3), layers = !strcmp(meth, "agh2") ? 2 : 1;
        if (agh && nearest > anchors)
            die("eval.agh_nearest %lld: must be <= eval.agh_anchors %lld", nearest, anchors);
        if (agh && n && anchors >= n)
            die("eval.agh_anchors %lld: %s needs fewer anchors than the %lld training rows", anchors, meth, n);
        if (!strcmp(meth, "sp") && !(density > 0 && density <= 1))
            die("eval.sp_density %g: must be in (0, 1]", density);
        if (!strcmp(meth, "sp") && !(lambda >= 0)) die("eval.sp_lambda %g: must be >= 0", lambda);
        if (!strcmp(meth, "sgh") && !(cfg_double(c, "eval.sgh_lr") > 0))
            die("eval.sgh_lr %g: must be > 0", cfg_double(c, "eval.sgh_lr"));
        for (int i = 0; i < bits->n; i++) {
            long long L = atoll(bits->v[i]);
            if (agh && L / layers >= anchors)
                die("train.bits %lld: %s needs %lld eigenvectors of the anchor graph, more than eval.agh_anchors %lld - 1",
                    L, meth, L / layers, anchors);
            if ((!strcmp(meth, "itq") || !strcmp(meth, "sp")) && dim && L > dim)
                die("train.bits %lld: %s needs bits <= the feature dimension %lld", L, meth, dim);
        }
    }
}

static void plan_baseline(const char *method, long long bits, unsigned groups) {
    const char *ex = strcmp(cfg_str(C, "eval.baseline_features"), "pixels") ? cfg_str(C, "features.extractor") : "pixels";
    const char *ft = plan_features(ex, "train", groups), *fq = plan_features(ex, "query", groups),
               *fd = plan_features(ex, "db", groups);
    const char *dir = fmt("%s/baselines/%s-b%lld", W, method, bits);
    const char *id = fmt("baselines/%s-b%lld", method, bits);
    rule *r = rule_new("baseline", fmt("%s/baseline", id), groups);
    if (r) {
        arg(r, "--method", method, 1);
        arg(r, "--bits", fmt("%lld", bits), 1);
        input(r, "--train", ft);
        input(r, "--query", fq);
        input(r, "--db", fd);
        arg(r, "--seed", cfg_str(C, "train.seed"), 1);
        if (!strcmp(method, "itq")) arg(r, "--iters", cfg_str(C, "eval.itq_iters"), 1);
        if (!strcmp(method, "sp")) {
            arg(r, "--sp-iters", cfg_str(C, "eval.sp_iters"), 1);
            arg(r, "--density", cfg_str(C, "eval.sp_density"), 1);
            arg(r, "--lambda", cfg_str(C, "eval.sp_lambda"), 1);
        }
        if (!strcmp(method, "sgh")) {
            arg(r, "--sgh-epochs", cfg_str(C, "eval.sgh_epochs"), 1);
            arg(r, "--sgh-batch", cfg_str(C, "eval.sgh_batch"), 1);
            arg(r, "--sgh-lr", cfg_str(C, "eval.sgh_lr"), 1);
        }
        if (!strncmp(method, "agh", 3)) {
            arg(r, "--anchors", cfg_str(C, "eval.agh_anchors"), 1);
            arg(r, "--nearest", cfg_str(C, "eval.agh_nearest"), 1);
            arg(r, "--kmeans-iters", cfg_str(C, "eval.agh_kmeans_iters"), 1);
        }
        arg(r, "--out", fmt("%s/", dir), 1);
        output(r, fmt("%s/query.npy", dir));
        output(r, fmt("%s/db.npy", dir));
        output(r, fmt("%s/baseline.json", dir));
        r->stamp = fmt("%s/params.baseline", dir);
    }
    plan_eval(fmt("%s/eval", id), fmt("%s/query.npy", dir), fmt("%s/db.npy", dir), dir, groups);
    if (groups & G_MAIN) plan_index(method, bits, fmt("%s/db.npy", dir), G_MAIN);
}

/* dsah-ssdh: SSDH's ternary S from the graph's training features, once for
 * every code length. */
static const char *plan_ssdh_sim(unsigned groups) {
    const char *ft = plan_features(cfg_str(C, "features.extractor"), "train", groups);
    rule *r = rule_new("ssdh", "ssdh/sim", groups);
    if (r) {
        input(r, "--features", ft);
        arg(r, "--alpha", cfg_str(C, "eval.ssdh_alpha"), 1);
        arg(r, "--beta", cfg_str(C, "eval.ssdh_beta"), 1);
        arg(r, "--out", fmt("%s/ssdh/", W), 1);
        output(r, fmt("%s/ssdh/w.npy", W));
        output(r, fmt("%s/ssdh/mask.npy", W));
        output(r, fmt("%s/ssdh/stats.json", W));
        r->stamp = fmt("%s/ssdh/params.ssdh", W);
    }
    return fmt("%s/ssdh/w.npy", W);
}

static void plan_run(const runp *p) {
    int R = p->ssdh || p->greedy ? 1 : (int)cfg_int(C, "train.rounds");
    const char *w0 = p->ssdh ? plan_ssdh_sim(p->groups) : p->greedy ? NULL : P("graph/w0.npy");
    const char *wprev = w0, *model = NULL, *optim = NULL;
    const char *rid = p->dir + strlen(W) + 1; /* id prefix relative to W */
    for (int rr = 1; rr <= R; rr++) {
        const char *rd = fmt("%s/round%d", p->dir, rr);
        rule *r = rule_new("train", fmt("%s/round%d/train", rid, rr), p->groups);
        CHECK(r);
        input(r, "--images", P("data/images.npy"));
        input(r, "--indices", P("data/train.npy"));
        if (w0) input(r, "--w", p->and_on ? wprev : w0);
        /* Adam's moments, step and lr schedule carry across rounds, as in the
         * paper's code (one optimiser for the whole run) */
        if (model) {
            input(r, "--init", model);
            input(r, "--init-optim", optim);
        } else if (cfg_get(C, "network.weights")->set) arg(r, "--weights", cfg_str(C, "network.weights"), 1);
        arg(r, "--arch", keep(cfg_join(C, "network.arch", ",")), 1);
        arg(r, "--input", cfg_str(C, "network.input"), 1);
        arg(r, "--bits", fmt("%lld", p->bits), 1);
        arg(r, "--epochs", cfg_str(C, p->ssdh ? "eval.ssdh_epochs" : p->greedy ? "eval.greedyhash_epochs" : "train.epochs"), 1);
        arg(r, "--batch", cfg_str(C, "train.batch"), 1);
        arg(r, "--lr", cfg_str(C, "train.lr"), 1);
        arg(r, "--adam-eps", cfg_str(C, "train.adam_eps"), 1);
        arg(r, "--lr-every", cfg_str(C, "train.lr_decay.every"), 1);
        arg(r, "--lr-factor", cfg_str(C, "train.lr_decay.factor"), 1);
        if (p->ssdh) {
            arg(r, "--loss", "ssdh", 1);
            input(r, "--mask", fmt("%s/ssdh/mask.npy", W));
        } else if (p->greedy) {
            arg(r, "--loss", "greedyhash", 1);
            input(r, "--features", plan_features(cfg_str(C, "features.extractor"), "train", p->groups));
            arg(r, "--gh-alpha", cfg_str(C, "eval.greedyhash_alpha"), 1);
        } else {
            arg(r, "--tau", p->tau, 1);
            arg(r, "--lambda", cfg_str(C, "train.lambda"), 1);
            arg(r, "--pic", p->pic, 1);
        }
        arg(r, "--finetune", cfg_str(C, "train.finetune"), 1);
        arg(r, "--seed", cfg_str(C, "train.seed"), 1);
        add_device(r);
        arg(r, "--out", fmt("%s/", rd), 1);
        output(r, fmt("%s/model.safetensors", rd));
        output(r, fmt("%s/train.jsonl", rd));
        output(r, fmt("%s/optim.safetensors", rd));
        r->stamp = fmt("%s/params.train", rd);
        model = r->outs[0];
        optim = r->outs[2];
        if (p->and_on && rr < R) {
            rule *e = rule_new("encode", fmt("%s/round%d/encode", rid, rr), p->groups);
            CHECK(e);
            input(e, "--model", model);
            input(e, "--images", P("data/images.npy"));
            input(e, "--indices", P("data/train.npy"));
            arg(e, "--real", NULL, 1);
            add_device(e);
            arg(e, "--out", fmt("%s/train_real.npy", rd), 1);
            output(e, fmt("%s/train_real.npy", rd));
            e->stamp = fmt("%s/params.encode", rd);
            rule *a = rule_new("and", fmt("%s/round%d/and", rid, rr), p->groups);
            CHECK(a);
            input(a, "--codes", e->outs[0]);
            input(a, "--w", wprev);
            arg(a, "--gamma", p->gamma, 1);
            input(a, "--labels", P("data/labels.npy"));
            input(a, "--indices", P("data/train.npy"));
            add_device(a);
            arg(a, "--out", fmt("%s/w.npy", rd), 1);
            output(a, fmt("%s/w.npy", rd));
            output(a, fmt("%s/and.json", rd));
            a->stamp = fmt("%s/params.and", rd);
            wprev = a->outs[0];
        }
    }
    const char *split[2] = {"query", "db"};
    const char *codes[2];
    for (int s = 0; s < 2; s++) {
        rule *e = rule_new("encode", fmt("%s/codes/%s", rid, split[s]), p->groups);
        CHECK(e);
        input(e, "--model", model);
        input(e, "--images", P("data/images.npy"));
        input(e, "--indices", fmt("%s/data/%s.npy", W, split[s]));
        add_device(e);
        codes[s] = fmt("%s/codes/%s.npy", p->dir, split[s]);
        arg(e, "--out", codes[s], 1);
        output(e, codes[s]);
        e->stamp = fmt("%s/codes/params.encode-%s", p->dir, split[s]);
    }
    plan_eval(fmt("%s/eval", rid), codes[0], codes[1], p->dir, p->groups);
    if ((p->groups & G_MAIN) && (!strcmp(p->label, "dsah") || p->ssdh || p->greedy)) plan_index(p->label, p->bits, codes[1], G_MAIN);
}

/* ---- emitting ------------------------------------------------------------ */

typedef struct sbuf { char *s; size_t n, cap; } sbuf;
static void sb_add(sbuf *b, const char *f, ...) __attribute__((format(printf, 2, 3)));
static void sb_add(sbuf *b, const char *f, ...) {
    va_list ap;
    char *t;
    va_start(ap, f);
    int len = vasprintf(&t, f, ap);
    va_end(ap);
    if (len < 0) die("out of memory");
    if (b->n + (size_t)len + 1 > b->cap) {
        b->cap = (b->n + (size_t)len + 1) * 2;
        b->s = xrealloc(b->s, b->cap);
    }
    memcpy(b->s + b->n, t, (size_t)len + 1);
    b->n += (size_t)len;
    free(t);
}

static int stage_built(const char *stage) {
    char *p = fmt("%s/dsah-%s", bindir, stage);
    int ok = access(p, X_OK) == 0;
    free(p);
    return ok;
}

static rule *producer(const char *path) {
    for (int i = 0; i < nrules; i++)
        for (int k = 0; k < rules[i].nout; k++)
            if (!strcmp(rules[i].outs[k], path)) return &rules[i];
    return NULL;
}

/* The rule's Make target: "<dir>/done.<name>" beside "<dir>/params.<name>",
 * touched after the stage succeeded, so it is the last file the rule writes:
 * a stage killed at any point leaves no done file and is rerun. */
static char *done_path(const rule *r) {
    char *d = xstrdup(r->stamp);
    char *base = strrchr(d, '/');
    base = base ? base + 1 : d;
    CHECK(strncmp(base, "params.", 7) == 0);
    memcpy(base, "done.  ", 5);
    memmove(base + 5, base + 7, strlen(base + 7) + 1);
    return d;
}

static void recipe(sbuf *b, const rule *r) {
    sb_add(b, "\t@rm -f");
    for (int k = 0; k < r->nout; k++) sb_add(b, " %s.tmp.*", r->outs[k]);
    sb_add(b, "\n\t@echo '%s' >> $(LOG)\n\t$(STAGE_BIN)/dsah-%s", r->id, r->stage);
    for (int k = 0; k < r->argc; k++) {
        if (r->argv[k][0] == '-' && r->argv[k][1] == '-') sb_add(b, " %s", r->argv[k]);
        else sb_add(b, " '%s'", r->argv[k]);
    }
    char *d = done_path(r);
    sb_add(b, " $(DSAH_THREADS)\n\t@touch %s\n", d);
    free(d);
}

static void goal(sbuf *b, const char *name, unsigned group, int only_ok) {
    sb_add(b, "%s:", name);
    for (int i = 0; i < nrules; i++)
        if ((rules[i].groups & group) && (!only_ok || rules[i].ok)) {
            char *d = done_path(&rules[i]);
            sb_add(b, " %s", d);
            free(d);
        }
    sb_add(b, "\n");
}

static void usage(FILE *fp) {
    fprintf(fp,
            "usage: dsah-plan --config FILE.yaml [--set key=value ...] [--work DIR] [--bin DIR] [--out PLAN.mk]\n"
            "       dsah-plan --keys-markdown | --keys\n"
            "Turns a pipeline YAML into a Make fragment (see pipelines/README.md).\n"
            "  --config FILE     the experiment (required)\n"
            "  --set key=value   override a key (repeatable; value in YAML flow syntax or a comma list)\n"
            "  --work DIR        work folder (default work); the run directory is DIR/<name>\n"
            "  --bin DIR         where the stage binaries are (default bin); runs needing a stage\n"
            "                    that is not built are left out of the default goal\n"
            "  --out FILE        the Make fragment (default <run dir>/plan.mk)\n"
            "  --keys            list the keys; --keys-markdown: the README table\n"
            "  --print KEY       print the value of KEY (after --set and defaults) and exit\n"
            "  -q, --quiet       do not print the defaults in use\n"
            "  --help            this text\n"
            "Prints the run directory on stdout.\n");
}

int main(int argc, char **argv) {
    dsah_init("dsah-plan");
    const char *config = NULL, *work = "work", *out = NULL;
    /* static: reachable until exit on every return path (make test-asan) */
    static const char **sets, **prints;
    sets = xmalloc(sizeof(char *) * (size_t)(argc + 1));
    int nsets = 0, nprint = 0;
    prints = xmalloc(sizeof(char *) * (size_t)(argc + 1));
    static const struct option opts[] = {
        {"config", required_argument, 0, 'c'}, {"set", required_argument, 0, 's'},
        {"work", required_argument, 0, 'w'},   {"bin", required_argument, 0, 'b'},
        {"out", required_argument, 0, 'o'},    {"keys-markdown", no_argument, 0, 'K'},
        {"keys", no_argument, 0, 'k'},         {"quiet", no_argument, 0, 'q'},
        {"help", no_argument, 0, 'h'},         {"threads", required_argument, 0, 't'},
        {"print", required_argument, 0, 'p'},
        {0, 0, 0, 0}};
    int o;
    while ((o = getopt_long(argc, argv, "q", opts, NULL)) != -1) {
        switch (o) {
        case 'c': config = optarg; break;
        case 's': sets[nsets++] = optarg; break;
        case 'p': prints[nprint++] = optarg; break;
        case 'w': work = optarg; break;
        case 'b': bindir = optarg; break;
        case 'o': out = optarg; break;
        case 'K': cfg_keys_markdown(stdout); return 0;
        case 'k':
            for (int i = 0; i < cfg_nkeys; i++) printf("%s\n", cfg_keys[i].key);
            return 0;
        case 'q': dsah_quiet = 1; break;
        case 't': parse_ll("--threads", optarg, 1, 4096); break; /* single-threaded; accepted for uniformity */
        case 'h': usage(stdout); return 0;
        default: usage(stderr); exit(2);
        }
    }
    if (optind < argc) die("unexpected argument '%s'", argv[optind]);
    if (!config) die_hint("dsah-plan --config pipelines/fashion-mnist.yaml", "--config is required");
    /* The work folder and bin folder appear in Make targets and recipes:
     * plain path characters only (no ':' or '=' either, which Make parses). */
    for (const char *s = work; *s; s++)
        if (!(strchr("._/-", *s) || (*s >= '0' && *s <= '9') || ((*s | 32) >= 'a' && (*s | 32) <= 'z')))
            die("--work %s: unsafe character '%c' (use letters, digits, ._/-)", work, *s);
    for (const char *s = bindir; *s; s++)
        if (!(strchr("._/-", *s) || (*s >= '0' && *s <= '9') || ((*s | 32) >= 'a' && (*s | 32) <= 'z')))
            die("--bin %s: unsafe character '%c' (use letters, digits, ._/-)", bindir, *s);

    static cfg c; /* C points to it */
    char err[1024];
    if (cfg_load(&c, config, sets, nsets, err, sizeof err)) die("%s", err);
    C = &c;
    if (nprint) { /* --print KEY: values for scripts, nothing planned */
        for (int i = 0; i < nprint; i++) {
            if (cfg_find(prints[i]) < 0) die("--print %s: unknown key", prints[i]);
            char *v = cfg_join(&c, prints[i], ",");
            printf("%s\n", v);
            free(v);
        }
        return 0;
    }
    check_baselines(&c);
    cfg_print_defaults(&c);
    W = fmt("%s/%s", work, cfg_str(&c, "name"));
    dev = strcmp(cfg_str(&c, "train.device"), "auto") ? cfg_str(&c, "train.device") : NULL;

    /* shared upstream */
    plan_ingest();
    plan_graph();
    const cfg_val *bits = cfg_get(&c, "train.bits");
    const cfg_val *bl = cfg_get(&c, "eval.baselines");
    const char *g0 = cfg_str(&c, "train.gamma"), *t0 = cfg_str(&c, "train.tau"), *pic0 = cfg_str(&c, "train.pic");
    int and0 = cfg_bool(&c, "train.and");
    sbuf idx = {0};
    sb_add(&idx, "kind\tlabel\tbits\tgamma\ttau\tdir\n");
    for (int i = 0; i < bits->n; i++) {
        long long L = atoll(bits->v[i]);
        for (int m = 0; m < bl->n; m++) {
            int ssdh = !strcmp(bl->v[m], "ssdh"), greedy = !strcmp(bl->v[m], "greedyhash");
            if (ssdh || greedy) { /* the deep baselines: the training engine with their losses */
                runp dp = {bl->v[m], fmt("%s/runs/%s-b%lld", W, bl->v[m], L), L, g0, t0, pic0, 0, G_MAIN | G_TABLE,
                           ssdh, greedy};
                plan_run(&dp);
                sb_add(&idx, "main\t%s\t%lld\t-\t-\t%s\n", bl->v[m], L, dp.dir);
                continue;
            }
            plan_baseline(bl->v[m], L, G_MAIN | G_TABLE);
            sb_add(&idx, "main\t%s\t%lld\t-\t-\t%s/baselines/%s-b%lld\n", bl->v[m], L, W, bl->v[m], L);
        }
        runp p = {"dsah", fmt("%s/runs/dsah-b%lld", W, L), L, g0, t0, pic0, and0, G_MAIN | G_TABLE, 0, 0};
        plan_run(&p);
        sb_add(&idx, "main\tDSAH\t%lld\t%s\t%s\t%s\n", L, g0, t0, p.dir);
        /* ablations for make table: PIC0 (no pair weights), AND off */
        runp a = {"pic0", fmt("%s/runs/pic0-b%lld", W, L), L, g0, t0, "none", and0, G_TABLE, 0, 0};
        plan_run(&a);
        sb_add(&idx, "table\tDSAH-PIC0\t%lld\t%s\t%s\t%s\n", L, g0, t0, a.dir);
        runp n = {"noand", fmt("%s/runs/noand-b%lld", W, L), L, g0, t0, pic0, 0, G_TABLE, 0, 0};
        plan_run(&n);
        sb_add(&idx, "table\tDSAH-noAND\t%lld\t%s\t%s\t%s\n", L, g0, t0, n.dir);
    }
    /* sweep grid */
    const cfg_val *sg = cfg_get(&c, "sweep.gamma"), *st = cfg_get(&c, "sweep.tau"), *sb = cfg_get(&c, "sweep.bits");
    const cfg_val *G = sg->set ? sg : cfg_get(&c, "train.gamma"), *T = st->set ? st : cfg_get(&c, "train.tau"),
                  *B = sb->set ? sb : bits;
    sbuf points = {0};
    int npoints = 0;
    for (int ib = 0; ib < B->n; ib++)
        for (int ig = 0; ig < G->n; ig++)
            for (int it = 0; it < T->n; it++) {
                const char *pid = fmt("g%s-t%s-b%s", G->v[ig], T->v[it], B->v[ib]);
                if (strstr(points.s ? points.s : "", fmt(" %s ", pid))) continue; /* duplicate grid values */
                runp p = {pid, fmt("%s/sweep/%s", W, pid), atoll(B->v[ib]), G->v[ig], T->v[it], pic0, and0,
                          G_SWEEP, 0, 0};
                plan_run(&p);
                sb_add(&points, " %s ", pid);
                sb_add(&idx, "sweep\t%s\t%s\t%s\t%s\t%s\n", pid, B->v[ib], G->v[ig], T->v[it], p.dir);
                npoints++;
            }

    /* which rules can run with the binaries built now */
    int missing_any = 0;
    for (int i = 0; i < nrules; i++) { /* rules are in dependency order */
        rule *r = &rules[i];
        r->ok = stage_built(r->stage);
        for (int k = 0; k < r->nin && r->ok; k++) {
            rule *pr = producer(r->ins[k]);
            if (pr && !pr->ok) r->ok = 0;
        }
        if (!r->ok && (r->groups & G_MAIN)) missing_any = 1;
    }
    if (missing_any) {
        const char *st_all[] = {"ingest", "features", "graph", "train", "encode", "and", "eval", "baseline", "index", "ssdh"};
        for (int i = 0; i < (int)(sizeof st_all / sizeof st_all[0]); i++)
            if (!stage_built(st_all[i]))
                info("note: %s/dsah-%s is not built: the stages that need it are left out of 'all'", bindir, st_all[i]);
    }

    /* stamps */
    for (int i = 0; i < nrules; i++) {
        rule *r = &rules[i];
        sbuf s = {0};
        sb_add(&s, "dsah-%s\n", r->stage);
        /* one "--flag value" per line; flags that do not change results
         * (device, inference batch) are left out */
        for (int k = 0; k < r->argc; k++) {
            int is_flag = !strncmp(r->argv[k], "--", 2);
            int has_val = is_flag && k + 1 < r->argc && strncmp(r->argv[k + 1], "--", 2);
            if (r->stamped[k]) {
                if (has_val) sb_add(&s, "%s %s\n", r->argv[k], r->argv[k + 1]);
                else sb_add(&s, "%s\n", r->argv[k]);
            }
            if (has_val) k++;
        }
        write_if_changed(r->stamp, s.s);
        free(s.s);
    }

    /* the fragment */
    const char *plan = out ? out : fmt("%s/plan.mk", W);
    sbuf b = {0};
    sb_add(&b, "# Generated by dsah-plan from %s: do not edit (edit the YAML; make pipeline regenerates it).\n", config);
    sb_add(&b, "STAGE_BIN ?= %s\nTHREADS ?=\nDSAH_THREADS = $(if $(THREADS),--threads $(THREADS))\n", bindir);
    sb_add(&b, "W := %s\nLOG := $(W)/stages.log\nPLAN := %s\n", W, plan);
    sb_add(&b, ".SUFFIXES:\n.DEFAULT_GOAL := all\n.PHONY: all table sweep sweep-upstream\n\n");
    sb_add(&b, "# make -f %s [all|table|sweep|sweep-upstream|sweep-<point>|stage-<stage>|stage-<output path>]\n", plan);
    goal(&b, "all", G_MAIN, 1);
    goal(&b, "table", G_TABLE, 0);
    sb_add(&b, "sweep-upstream: %s/graph/done.graph\n", W);
    sb_add(&b, "SWEEP_POINTS :=%s\n", points.s ? points.s : "");
    sb_add(&b, "sweep: $(addprefix sweep-,$(SWEEP_POINTS))\n");
    for (int i = 0; i < nrules; i++) {
        rule *r = &rules[i];
        if (!(r->groups & G_SWEEP) || strcmp(r->stage, "eval") || strncmp(r->id, "sweep/", 6)) continue;
        char *pid = xstrdup(r->id + 6);
        *strchr(pid, '/') = '\0';
        char *d = done_path(r);
        sb_add(&b, ".PHONY: sweep-%s\nsweep-%s: %s\n", pid, pid, d);
        free(d);
        free(pid);
    }
    sb_add(&b, "\n");
    for (int i = 0; i < nrules; i++) {
        rule *r = &rules[i];
        char *d = done_path(r);
        sb_add(&b, "# %s:", r->id);
        for (int k = 0; k < r->nout; k++) sb_add(&b, " %s", r->outs[k]);
        sb_add(&b, "\n%s:", d);
        for (int k = 0; k < r->nin; k++) {
            rule *pr = producer(r->ins[k]);
            int seen = !pr;
            for (int j = 0; j < k && !seen; j++) seen = producer(r->ins[j]) == pr;
            if (seen) continue; /* several inputs from one stage: one prerequisite */
            char *pd = done_path(pr);
            sb_add(&b, " %s", pd);
            free(pd);
        }
        sb_add(&b, " %s\n", r->stamp);
        free(d);
        recipe(&b, r);
        /* one stage alone, from the artifacts on disk: by id and by output */
        sb_add(&b, ".PHONY: stage-%s", r->id);
        for (int k = 0; k < r->nout; k++) sb_add(&b, " stage-%s", r->outs[k]);
        sb_add(&b, "\nstage-%s:\n", r->id);
        recipe(&b, r);
        for (int k = 0; k < r->nout; k++) sb_add(&b, "stage-%s: stage-%s\n", r->outs[k], r->id);
        sb_add(&b, "\n");
    }
    /* stage-<name>: every instance of that stage in the default goal, in order */
    const char *st_all[] = {"ingest", "features", "graph", "train", "encode", "and", "eval", "baseline", "index", "ssdh"};
    for (int s = 0; s < (int)(sizeof st_all / sizeof st_all[0]); s++) {
        sb_add(&b, ".PHONY: stage-%s\nstage-%s:\n", st_all[s], st_all[s]);
        int any = 0;
        for (int i = 0; i < nrules; i++)
            if ((rules[i].groups & G_MAIN) && !strcmp(rules[i].stage, st_all[s])) { recipe(&b, &rules[i]); any = 1; }
        if (!any) sb_add(&b, "\t@echo 'dsah-plan: no %s stage in this pipeline' >&2; exit 1\n", st_all[s]);
    }
    write_if_changed(plan, b.s);
    write_if_changed(fmt("%s/index.tsv", W), idx.s);
    info("%s: %d rules, %d sweep points", plan, nrules, npoints);
    printf("%s\n", W);
    cfg_free(&c);
    free(b.s);
    free(idx.s);
    free(points.s);
    return 0;
}
