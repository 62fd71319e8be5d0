/* dsah-plan: turn a pipeline YAML into a Make fragment.
 *
 *   dsah-plan --config pipelines/NAME.yaml [--set key=value ...] [--work work]
 *             [--bin bin] [--out work/NAME/plan.mk]
 *   dsah-plan --keys-markdown | --keys | --flags-markdown
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
 * YAML reaches Make or the shell unquoted.
 *
 * Command lines come from the stage tables (cli/stages.h): a rule names its
 * stage, binds the flags that planning decides (paths, the run's bits, gamma,
 * tau, pic; NULL leaves a flag out), and emit() walks the table in order:
 * a bound flag takes its bound value, a flag with a YAML key takes the key's
 * value when set, others are left out. Inputs (OPT_IN) and outputs
 * (OPT_OUT/OPT_OUTDIR with their declared files) for Make, and whether a flag
 * goes into the params stamp, come from the same entries. What stays written
 * here is planning: the layout of the run directory, rounds, AND between
 * rounds, the ablations and the sweep grid. */
#define _GNU_SOURCE
#include "cli/config.h"
#include "cli/stages.h"
#include "nn/net.h"
#include "util/util.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { G_MAIN = 1, G_TABLE = 2, G_SWEEP = 4, G_REPORT = 8 };

/* The report's tables and figures (report.figures), as bits of rule.figs:
 * make report-<name> makes the rules whose bit is set. */
static const char *const fig_names[] = {"table1", "table3", "table4", "fig3", "fig4",  "fig5",
                                        "fig6",   "fig7",   "fig8",   "fig9", "fig10", "fig11"};
enum { N_FIGS = 12 };
static unsigned cur_figs; /* the figures the rules planned now serve (rule_new adds them) */
static unsigned fig_bit(const char *name) {
    for (int f = 0; f < N_FIGS; f++)
        if (!strcmp(fig_names[f], name)) return 1u << f;
    CHECK(!"unknown figure name");
    return 0;
}

typedef struct rule {
    char *id;            /* unique, e.g. "runs/dsah-b64/round1/train" */
    const opt_cmd *cmd;  /* the stage's table */
    const char *stage;   /* cmd->name, "train" */
    const char *bound[64]; /* per table entry: the planner's value */
    unsigned char isbound[64];
    char *outs[8];
    int nout;
    char *ins[8];
    int nin;
    char **argv;         /* flags and values after the binary */
    unsigned char *stamped;
    int argc, cap;
    char *stamp;         /* path of the params stamp */
    unsigned groups;     /* G_* */
    unsigned figs;       /* bit f: needed by fig_names[f] */
    int ok;              /* its stage and all upstream stages are built */
} rule;

static rule *rules;
static int nrules, caprules;
static const char *W;    /* <work>/<name> */
static const char *bindir = "bin";

/* The planner's strings live until exit: kept here, reachable (so that
 * make test-asan's leak check does not count them after main returns). */
static char **kept;
static size_t nkept, capkept;
static char *keep(char *s) {
    if (nkept == capkept) kept = xrealloc(kept, sizeof *kept * (capkept = capkept ? 2 * capkept : 256));
    return kept[nkept++] = s;
}

static char *fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));
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

static const char *dev;   /* --device value or NULL for auto */

/* The stages a plan may hold, in the order of the stage-<name> goals. */
static const char *const planned_stages[] = {"ingest", "features", "graph", "train", "encode", "and",
                                             "eval",   "baseline", "index", "ssdh",  NULL};

/* New rule, or the existing one with the same id (shared upstream stages of
 * several runs); returns NULL in that case after adding the groups. */
static rule *rule_new(const opt_cmd *cmd, const char *id, unsigned groups) {
    rule *old = find_rule(id);
    if (old) { old->groups |= groups; old->figs |= cur_figs; return NULL; }
    if (nrules == caprules) rules = xrealloc(rules, sizeof(rule) * (size_t)(caprules = caprules ? 2 * caprules : 64));
    rule *r = &rules[nrules++];
    memset(r, 0, sizeof *r);
    r->id = xstrdup(id);
    r->cmd = cmd;
    r->stage = cmd->name;
    r->groups = groups;
    r->figs = cur_figs;
    return r;
}

/* The planner's value for a flag of the rule's stage (NULL: leave it out;
 * for a switch, non-NULL: give it). */
static void bind(rule *r, const char *flag, const char *value) {
    const opt *o = opt_find(r->cmd, flag);
    CHECK(o);
    r->bound[o - r->cmd->opts] = value;
    r->isbound[o - r->cmd->opts] = 1;
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

static void output(rule *r, const char *path) {
    CHECK(r->nout < 8);
    r->outs[r->nout++] = (char *)path;
}

/* A file r reads that no flag names (dsah-search's --index names the
 * directory; the index file in it is what its producer declares). */
static void prerequisite(rule *r, const char *path) {
    CHECK(r->nin < 8);
    r->ins[r->nin++] = xstrdup(path);
}

/* The command line, inputs and outputs of r from its stage's table. */
static void emit(rule *r, const cfg *c) {
    for (const opt *o = r->cmd->opts; o->name; o++) {
        int i = (int)(o - r->cmd->opts);
        const char *v = NULL;
        char flag[128];
        snprintf(flag, sizeof flag, "--%s", o->name);
        if (!strcmp(o->name, "device") && !dev) v = NULL; /* auto: the stage's default */
        else if (r->isbound[i]) v = r->bound[i];
        else if (o->key && cfg_get(c, o->key)->set) {
            if (o->type == OPT_FLAG) v = cfg_bool(c, o->key) ? "" : NULL;
            else {
                /* a list reaches a scalar flag only through a planning loop */
                CHECK(cfg_get(c, o->key)->n == 1 || o->type == OPT_INTS || o->type == OPT_STR);
                v = keep(cfg_join(c, o->key, ","));
            }
        }
        if (!v) {
            CHECK(!o->required);
            continue;
        }
        arg(r, flag, o->type == OPT_FLAG ? NULL : v, !o->nostamp);
        if (o->type == OPT_IN) {
            CHECK(r->nin < 8);
            r->ins[r->nin++] = xstrdup(v);
        } else if (o->type == OPT_OUT || o->type == OPT_OUTDIR) {
            char name[256];
            if (o->type == OPT_OUT) output(r, opt_output_path(o, v, NULL));
            for (int k = 0; opt_file(o, k, name, sizeof name); k++) output(r, opt_output_path(o, v, name));
        }
    }
}

/* The path of output `file` of r (declared in its table), after emit. */
static const char *out_of(const rule *r, const char *file) {
    size_t n = strlen(file);
    for (int k = 0; k < r->nout; k++) {
        size_t m = strlen(r->outs[k]);
        if (m >= n && !strcmp(r->outs[k] + m - n, file) && (m == n || r->outs[k][m - n - 1] == '/')) return r->outs[k];
    }
    CHECK(!"output not declared");
    return NULL;
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
    const char *lambda;  /* NULL: train.lambda */
    int rounds;          /* 0: train.rounds */
    int eval_rounds;     /* every round's model encoded and evaluated (round<r>/codes, round<r>/eval) */
} runp;

static const cfg *C;

static const char *P(const char *rel) { return fmt("%s/%s", W, rel); }

static void plan_ingest(void) {
    rule *r = rule_new(&ingest_cmd, "data/ingest", G_MAIN | G_TABLE | G_SWEEP);
    if (!r) return;
    bind(r, "out", P("data"));
    emit(r, C);
    r->stamp = (char *)P("data/params.ingest");
}

/* The frozen prefix computed once per image (nn/prefix.h): with network.arch
 * vgg19 from network.weights and finetune fc or head, the deepest frozen
 * layer before any dropout (net_prefix_layer: pool5, relu6) is written by
 * dsah-features --layer for the query and the db split,
 * features/vgg19_<layer>_<split>.npy, a stage of its own whose stamp is
 * (images, indices, weights, layer, input): tau, gamma, bits, rounds never
 * recompute it. Training, the encodes and the relu7 features (when
 * features.* names the same weights and input) read it; the training split
 * has no cache of its own: it is a subset of db in every split dsah-ingest
 * makes (data/split.h), so its rules read db's cache with --prefix-indices
 * data/db.npy (prefix_split, plan_prefix) and no image runs through the
 * frozen layers twice. NULL when there is none (finetune all; random
 * initial weights, which only dsah-train draws). */
static const char *prefix_layer(void) {
    static char label[32];
    static int done;
    if (done) return *label ? label : NULL;
    done = 1;
    if (strcmp(cfg_str(C, "network.arch"), "vgg19") || !cfg_get(C, "network.weights")->set) return NULL;
    net n;
    char err[256];
    if (net_build(&n, "vgg19", 3, (int)cfg_int(C, "network.input"), 8, err, sizeof err)) return NULL;
    int top = -1;
    if (!net_set_finetune(&n, cfg_str(C, "train.finetune"))) top = net_prefix_layer(&n);
    if (top >= 0) net_layer_label(&n, top, label, sizeof label);
    net_free(&n);
    return *label ? label : NULL;
}

/* The split whose prefix cache a split's rules read: db's for train. */
static const char *prefix_split(const char *split) { return strcmp(split, "train") ? split : "db"; }

/* --prefix-indices of a split's rules: the index list of the split whose
 * cache they read when that is another split's (train: data/db.npy), else
 * NULL. */
static const char *prefix_indices(const char *split) {
    return strcmp(prefix_split(split), split) ? fmt("%s/data/%s.npy", W, prefix_split(split)) : NULL;
}

/* What a train, encode or features rule reads instead of running the frozen
 * layers: --prefix-cache, --prefix-layer and --prefix-indices (NULL: left
 * out; cache NULL: no cache). */
typedef struct frozen {
    const char *cache, *layer, *indices;
} frozen;

/* Binds r's --prefix-* flags to f (planned before r: rule_new may move the
 * rules). */
static void bind_frozen(rule *r, const frozen *f) {
    if (!f->cache) return;
    bind(r, "prefix-cache", f->cache);
    if (f->indices) bind(r, "prefix-indices", f->indices);
    bind(r, "prefix-layer", f->layer);
}

/* The cache of network.weights' VGG-19 layer `layer` that split's rules read
 * (that of prefix_split(split)): dsah-features --layer, with --dtype
 * features.cache_dtype (f2 halves it; nn/prefix.h), reading *from when it
 * has a cache (a shallower one: relu7 from pool5), planned when new; returns
 * its path. */
static const char *plan_cache(const char *layer, const char *split, const frozen *from, unsigned groups) {
    split = prefix_split(split);
    const char *out = fmt("%s/features/vgg19_%s_%s.npy", W, layer, split);
    rule *r = rule_new(&features_cmd, fmt("features/vgg19_%s_%s", layer, split), groups);
    if (!r) return out;
    if (from) bind_frozen(r, from);
    bind(r, "images", P("data/images.npy"));
    bind(r, "indices", fmt("%s/data/%s.npy", W, split));
    bind(r, "extractor", "vgg19");
    bind(r, "weights", cfg_str(C, "network.weights"));
    bind(r, "input", fmt("%lld", cfg_int(C, "network.input")));
    bind(r, "layer", layer);
    /* f2 halves the file; f4, dsah-features' default, leaves the flag out */
    if (strcmp(cfg_str(C, "features.cache_dtype"), "f4")) bind(r, "dtype", cfg_str(C, "features.cache_dtype"));
    bind(r, "out", out);
    emit(r, C);
    r->stamp = fmt("%s/features/params.vgg19_%s_%s", W, layer, split);
    return out;
}

/* The frozen prefix that split's rules read (prefix_layer's cache of
 * prefix_split(split), with --prefix-indices when that is another split's:
 * train reads db's), planned when new; no cache when the plan has no
 * prefix. */
static frozen plan_prefix(const char *split, unsigned groups) {
    frozen f = {NULL, NULL, NULL};
    if (!prefix_layer()) return f;
    f.cache = plan_cache(prefix_layer(), split, NULL, groups);
    f.layer = prefix_layer();
    f.indices = prefix_indices(split);
    return f;
}

/* Whether the vgg19 features (features.*) are network.weights' own VGG-19 at
 * network.input: then its relu7 is the network's, and a prefix cache of the
 * network serves the features too. */
static int features_are_network(void) {
    const char *fw = cfg_str(C, "features.weights"), *nw = cfg_str(C, "network.weights");
    return fw && nw && !strcmp(fw, nw) && cfg_int(C, "features.input") == cfg_int(C, "network.input");
}

/* Features of one split with one extractor; returns the output path. */
static const char *plan_features(const char *extractor, const char *split, unsigned groups) {
    const char *out = fmt("%s/features/%s_%s.npy", W, extractor, split);
    /* the prefix rule first: rule_new may move the rules */
    const int from_prefix = !strcmp(extractor, "vgg19") && features_are_network() && prefix_layer();
    const frozen f = from_prefix ? plan_prefix(split, groups) : (frozen){NULL, NULL, NULL};
    rule *r = rule_new(&features_cmd, fmt("features/%s_%s", extractor, split), groups);
    if (!r) return out;
    bind_frozen(r, &f);
    bind(r, "images", P("data/images.npy"));
    bind(r, "indices", fmt("%s/data/%s.npy", W, split));
    bind(r, "extractor", extractor);
    if (strcmp(extractor, "vgg19")) { /* unused by pixels */
        bind(r, "weights", NULL);
        bind(r, "input", NULL);
    }
    bind(r, "out", out);
    emit(r, C);
    r->stamp = fmt("%s/features/params.%s_%s", W, extractor, split);
    return out;
}

/* GreedyHash's head (eval.greedyhash_finetune head; docs/baselines.md), as
 * its authors' code: the pretrained VGG-19 frozen, only the hash head
 * (hash.fc8, hash.fc) learns. Where the network is vgg19 from
 * network.weights; a list network or random weights have no pretrained
 * features to freeze and train as `network`. */
static int greedy_head(void) {
    return !strcmp(cfg_str(C, "eval.greedyhash_finetune"), "head") && !strcmp(cfg_str(C, "network.arch"), "vgg19") &&
           cfg_get(C, "network.weights")->set;
}

/* The layer GreedyHash's head reads: the last frozen layer but dropouts of
 * vgg19 with finetune head, its frozen dropouts off (dsah-train
 * --frozen-eval; net_frozen_eval): relu7. */
static const char *head_layer(void) {
    static char label[32];
    if (*label) return label;
    net n;
    char err[256];
    if (net_build(&n, "vgg19", 3, (int)cfg_int(C, "network.input"), 8, err, sizeof err))
        die("network.input %lld: %s", cfg_int(C, "network.input"), err);
    CHECK(!net_set_finetune(&n, "head"));
    const int top = net_frozen_eval(&n);
    CHECK(top >= 0);
    net_layer_label(&n, top, label, sizeof label);
    net_free(&n);
    return label;
}

/* The frozen network's relu7 that GreedyHash's head rules of split read,
 * computed once per image and never from the images where the plan has a
 * prefix cache: the relu7 features (features/vgg19_<split>.npy, from the
 * prefix cache) when features.* are the network's weights and input; else
 * features/vgg19_relu7_<split>.npy of query and db from network.weights
 * (from their prefix caches when the plan has them), the training split
 * reading db's through --prefix-indices. */
static frozen plan_head_cache(const char *split, unsigned groups) {
    frozen f = {NULL, head_layer(), NULL};
    if (!strcmp(cfg_str(C, "features.extractor"), "vgg19") && features_are_network()) {
        f.cache = plan_features("vgg19", split, groups);
        return f;
    }
    const frozen from = plan_prefix(prefix_split(split), groups);
    f.cache = plan_cache(head_layer(), split, &from, groups);
    f.indices = prefix_indices(split);
    return f;
}

static void plan_graph(void) {
    const char *ex = cfg_str(C, "features.extractor");
    const char *f = plan_features(ex, "train", G_MAIN | G_TABLE | G_SWEEP);
    rule *r = rule_new(&graph_cmd, "graph/graph", G_MAIN | G_TABLE | G_SWEEP);
    if (!r) return;
    bind(r, "features", f);
    bind(r, "labels", P("data/labels.npy"));
    bind(r, "indices", P("data/train.npy"));
    bind(r, "out", fmt("%s/graph/", W));
    emit(r, C);
    r->stamp = (char *)P("graph/params.graph");
}

static void plan_eval(const char *id, const char *qcodes, const char *dbcodes, const char *dir, unsigned groups) {
    rule *r = rule_new(&eval_cmd, id, groups);
    if (!r) return;
    bind(r, "query-codes", qcodes);
    bind(r, "db-codes", dbcodes);
    bind(r, "labels", P("data/labels.npy"));
    bind(r, "query-indices", P("data/query.npy"));
    bind(r, "db-indices", P("data/db.npy"));
    bind(r, "out", fmt("%s/eval/", dir));
    emit(r, C);
    r->stamp = fmt("%s/eval/params.eval", dir);
}

/* dsah-encode of model on a split into out: packed codes, or with real the
 * tanh outputs; prefix: the frozen layers' cache (planned before), or none;
 * stamp params.<stamp_name> beside out. Returns out. */
static const char *plan_encode(const char *id, const char *model, const char *split, int real, const frozen *prefix,
                               const char *out, const char *stamp_name, unsigned groups) {
    rule *e = rule_new(&encode_cmd, id, groups);
    if (!e) return out;
    bind(e, "model", model);
    bind(e, "images", P("data/images.npy"));
    bind(e, "indices", fmt("%s/data/%s.npy", W, split));
    if (real) bind(e, "real", "");
    bind_frozen(e, prefix);
    bind(e, "out", out);
    emit(e, C);
    const char *sl = strrchr(out, '/');
    e->stamp = fmt("%.*s/params.%s", (int)(sl ? sl - out : 1), sl ? out : ".", stamp_name);
    return out;
}

/* The search index of a run's database codes (dsah-index; dsah-serve and
 * dsah-search read it): <work>/<name>/index/<label>-b<bits>/. */
static void plan_index(const char *label, long long bits, const char *dbcodes, unsigned groups) {
    const char *dir = fmt("%s/index/%s-b%lld", W, label, bits);
    rule *r = rule_new(&index_cmd, fmt("index/%s-b%lld", label, bits), groups);
    if (!r) return;
    bind(r, "codes", dbcodes);
    bind(r, "ids", P("data/db.npy"));
    bind(r, "out", fmt("%s/", dir));
    emit(r, C);
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
    for (int m = 0; m < bl->n; m++) {
        const char *meth = bl->v[m];
        int agh = !strncmp(meth, "agh", 3), layers = !strcmp(meth, "agh2") ? 2 : 1;
        if (agh && nearest > anchors)
            die("eval.agh_nearest %lld: must be <= eval.agh_anchors %lld", nearest, anchors);
        if (agh && n && anchors >= n)
            die("eval.agh_anchors %lld: %s needs fewer anchors than the %lld training rows", anchors, meth, n);
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
    rule *r = rule_new(&baseline_cmd, fmt("%s/baseline", id), groups);
    if (r) {
        bind(r, "method", method);
        bind(r, "bits", fmt("%lld", bits));
        bind(r, "train", ft);
        bind(r, "query", fq);
        bind(r, "db", fd);
        /* each method gets the settings of its own algorithm */
        if (strcmp(method, "itq")) bind(r, "iters", NULL);
        if (strcmp(method, "sp")) {
            bind(r, "sp-iters", NULL);
            bind(r, "density", NULL);
            bind(r, "lambda", NULL);
        }
        if (strcmp(method, "sgh")) {
            bind(r, "sgh-epochs", NULL);
            bind(r, "sgh-batch", NULL);
            bind(r, "sgh-lr", NULL);
        }
        if (strncmp(method, "agh", 3)) {
            bind(r, "anchors", NULL);
            bind(r, "nearest", NULL);
            bind(r, "kmeans-iters", NULL);
        }
        bind(r, "out", fmt("%s/", dir));
        emit(r, C);
        r->stamp = fmt("%s/params.baseline", dir);
    }
    plan_eval(fmt("%s/eval", id), fmt("%s/query.npy", dir), fmt("%s/db.npy", dir), dir, groups);
    if (groups & G_MAIN) plan_index(method, bits, fmt("%s/db.npy", dir), G_MAIN);
}

/* dsah-ssdh: SSDH's ternary S from the graph's training features, once for
 * every code length. Returns the rule (its outputs w.npy and mask.npy). */
static const rule *plan_ssdh_sim(unsigned groups) {
    const char *ft = plan_features(cfg_str(C, "features.extractor"), "train", groups);
    rule *r = rule_new(&ssdh_cmd, "ssdh/sim", groups);
    if (r) {
        bind(r, "features", ft);
        bind(r, "out", fmt("%s/ssdh/", W));
        emit(r, C);
        r->stamp = fmt("%s/ssdh/params.ssdh", W);
    }
    return find_rule("ssdh/sim");
}

static void plan_run(const runp *p) {
    int R = p->ssdh || p->greedy ? 1 : p->rounds ? p->rounds : (int)cfg_int(C, "train.rounds");
    const char *mask = NULL, *w0 = P("graph/w0.npy");
    if (p->ssdh) {
        const rule *s = plan_ssdh_sim(p->groups);
        w0 = out_of(s, "w.npy");
        mask = out_of(s, "mask.npy");
    }
    const char *wprev = w0, *model = NULL, *optim = NULL;
    const char *const split[2] = {"query", "db"};
    const char *rid = p->dir + strlen(W) + 1; /* id prefix relative to W */
    /* the frozen layers' caches the train, query and db rules read (train:
     * db's prefix); GreedyHash's head: the frozen network's relu7 */
    const int head = p->greedy && greedy_head();
    const char *const splits[3] = {"train", "query", "db"};
    frozen pc[3];
    for (int s = 0; s < 3; s++) pc[s] = head ? plan_head_cache(splits[s], p->groups) : plan_prefix(splits[s], p->groups);
    for (int rr = 1; rr <= R; rr++) {
        const char *rd = fmt("%s/round%d", p->dir, rr);
        rule *r = rule_new(&train_cmd, fmt("%s/round%d/train", rid, rr), p->groups);
        CHECK(r);
        bind(r, "images", P("data/images.npy"));
        bind(r, "indices", P("data/train.npy"));
        bind(r, "w", p->greedy ? NULL : p->and_on ? wprev : w0);
        /* Adam's moments, step and lr schedule carry across rounds, as in the
         * paper's code (one optimiser for the whole run); pretrained weights
         * only start round 1 */
        bind(r, "init", model);
        bind(r, "init-optim", optim);
        if (model) bind(r, "weights", NULL);
        bind(r, "bits", fmt("%lld", p->bits));
        if (p->ssdh) { /* SSDH's loss against its S: no pair weights, no quantisation term */
            bind(r, "epochs", cfg_str(C, "eval.ssdh_epochs"));
            bind(r, "tau", NULL);
            bind(r, "lambda", NULL);
            bind(r, "pic", NULL);
            bind(r, "loss", "ssdh");
            bind(r, "mask", mask);
        } else if (p->greedy) { /* GreedyHash's loss on the training features, no W */
            bind(r, "epochs", cfg_str(C, "eval.greedyhash_epochs"));
            bind(r, "tau", NULL);
            bind(r, "lambda", NULL);
            bind(r, "pic", NULL);
            bind(r, "loss", "greedyhash");
            ptrdiff_t ri = r - rules;
            const char *feat = plan_features(cfg_str(C, "features.extractor"), "train", p->groups);
            r = &rules[ri];   /* plan_features may add a rule: the rules can move */
            bind(r, "features", feat);
            bind(r, "gh-alpha", cfg_str(C, "eval.greedyhash_alpha"));
            if (head) { /* only the hash head learns; the frozen network in eval mode */
                bind(r, "finetune", "head");
                bind(r, "frozen-eval", "");
            }
        } else {
            bind(r, "tau", p->tau);
            bind(r, "pic", p->pic);
            if (p->lambda) bind(r, "lambda", p->lambda);
        }
        bind_frozen(r, &pc[0]);
        bind(r, "out", fmt("%s/", rd));
        emit(r, C);
        r->stamp = fmt("%s/params.train", rd);
        model = out_of(r, "model.safetensors");
        optim = out_of(r, "optim.safetensors");
        if (p->and_on && rr < R) {
            const char *real_codes = plan_encode(fmt("%s/round%d/encode", rid, rr), model, "train", 1, &pc[0],
                                                 fmt("%s/train_real.npy", rd), "encode", p->groups);
            rule *a = rule_new(&and_cmd, fmt("%s/round%d/and", rid, rr), p->groups);
            CHECK(a);
            bind(a, "codes", real_codes);
            bind(a, "w", wprev);
            bind(a, "gamma", p->gamma);
            bind(a, "labels", P("data/labels.npy"));
            bind(a, "indices", P("data/train.npy"));
            bind(a, "out", fmt("%s/w.npy", rd));
            emit(a, C);
            a->stamp = fmt("%s/params.and", rd);
            wprev = out_of(a, "w.npy");
        }
        if (p->eval_rounds && rr < R) { /* this round's model on query and db: mAP per round */
            const char *rc[2];
            for (int s = 0; s < 2; s++)
                rc[s] = plan_encode(fmt("%s/round%d/codes/%s", rid, rr, split[s]), model, split[s], 0, &pc[s + 1],
                                    fmt("%s/codes/%s.npy", rd, split[s]), fmt("encode-%s", split[s]), p->groups);
            plan_eval(fmt("%s/round%d/eval", rid, rr), rc[0], rc[1], rd, p->groups);
        }
    }
    const char *codes[2];
    for (int s = 0; s < 2; s++)
        codes[s] = plan_encode(fmt("%s/codes/%s", rid, split[s]), model, split[s], 0, &pc[s + 1],
                               fmt("%s/codes/%s.npy", p->dir, split[s]), fmt("encode-%s", split[s]), p->groups);
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

/* ---- the report's own runs (make report) -------------------------------- */

/* The studies at one code length, report.bits (the paper's 64): lambda and
 * tau (Figure 8; a value equal to train.* is the main run when report.bits
 * is one of train.bits), gamma x rounds with every round evaluated (Figures
 * 7 and 9), the t-SNE of the database codes (10), one batch's s and a (5),
 * top-10 searches as montages (11). want: report.figures as bits. Adds their
 * lines to index.tsv (kind "report"). */
static void plan_report_studies(sbuf *idx, unsigned want, long long RB, int rb_in_bits) {
    const char *g0 = cfg_str(C, "train.gamma"), *t0 = cfg_str(C, "train.tau"), *pic0 = cfg_str(C, "train.pic");
    const int and0 = cfg_bool(C, "train.and");
    if (want & fig_bit("fig8")) {
        cur_figs = fig_bit("fig8");
        const cfg_val *lv = cfg_get(C, "report.lambda"), *tv = cfg_get(C, "report.tau");
        for (int i = 0; i < lv->n + tv->n; i++) {
            const int is_l = i < lv->n;
            const char *v = is_l ? lv->v[i] : tv->v[i - lv->n], *what = is_l ? "lambda" : "tau";
            const char *dir;
            if (rb_in_bits && atof(v) == cfg_double(C, is_l ? "train.lambda" : "train.tau"))
                dir = fmt("%s/runs/dsah-b%lld", W, RB);
            else {
                runp q = {.label = fmt("%s%s", what, v), .dir = fmt("%s/report/%s%s-b%lld", W, what, v, RB), .bits = RB,
                          .gamma = g0, .tau = is_l ? t0 : v, .pic = pic0, .and_on = and0, .groups = G_REPORT,
                          .lambda = is_l ? v : NULL};
                plan_run(&q);
                dir = q.dir;
            }
            sb_add(idx, "report\t%s=%s\t%lld\t%s\t%s\t%s\n", what, v, RB, g0, is_l ? t0 : v, dir);
        }
    }
    if (want & (fig_bit("fig7") | fig_bit("fig9"))) {
        const cfg_val *gv = cfg_get(C, "report.gamma");
        const int Rr = (int)cfg_int(C, "report.rounds");
        int have0 = 0;
        for (int i = 0; i <= gv->n; i++) {
            /* the last pass: train.gamma for Figure 7 when report.gamma lacks it */
            const char *g = i < gv->n ? gv->v[i] : g0;
            const int is0 = atof(g) == atof(g0);
            if (i == gv->n && (have0 || !(want & fig_bit("fig7")))) break;
            have0 |= is0;
            cur_figs = (i < gv->n ? want & fig_bit("fig9") : 0) | (is0 ? want & fig_bit("fig7") : 0);
            if (!cur_figs) continue;
            runp q = {.label = fmt("gamma%s", g), .dir = fmt("%s/report/gamma%s-b%lld", W, g, RB), .bits = RB, .gamma = g,
                      .tau = t0, .pic = pic0, .and_on = 1, .groups = G_REPORT, .rounds = Rr, .eval_rounds = 1};
            plan_run(&q);
            sb_add(idx, "report\trounds%s\t%lld\t%s\t%s\t%s\n", is0 ? "*" : "", RB, g, t0, q.dir);
        }
    }
    /* Figures 5, 10 and 11 read the main runs at report.bits */
    if (!rb_in_bits) return;
    /* the baseline beside DSAH in Figures 10 and 11: ITQ when run, else the
     * first shallow one */
    const cfg_val *bl = cfg_get(C, "eval.baselines");
    const char *other = NULL;
    for (int m = 0; m < bl->n; m++)
        if (!strcmp(bl->v[m], "itq") || (!other && strcmp(bl->v[m], "ssdh") && strcmp(bl->v[m], "greedyhash")))
            other = bl->v[m];
    const int nmeth = other ? 2 : 1;
    for (int m = 0; m < nmeth && (want & fig_bit("fig10")); m++) { /* t-SNE of the database codes */
        cur_figs = fig_bit("fig10");
        const char *meth = m ? other : "dsah";
        rule *r = rule_new(&tsne_cmd, fmt("report/tsne-%s-b%lld", meth, RB), G_REPORT);
        if (!r) continue;
        bind(r, "input", m ? fmt("%s/baselines/%s-b%lld/db.npy", W, meth, RB) : fmt("%s/runs/dsah-b%lld/codes/db.npy", W, RB));
        bind(r, "labels", P("data/labels.npy"));
        bind(r, "indices", P("data/db.npy"));
        bind(r, "out", fmt("%s/report/tsne-%s-b%lld/", W, meth, RB));
        emit(r, C);
        r->stamp = fmt("%s/report/tsne-%s-b%lld/params.tsne", W, meth, RB);
    }
    if (want & fig_bit("fig5")) { /* one batch's s and a from the final DSAH model's real-valued codes */
        cur_figs = fig_bit("fig5");
        const char *dir = fmt("%s/report/pairs-b%lld", W, RB);
        const frozen pc = plan_prefix("train", G_REPORT);
        const char *z = plan_encode(fmt("report/pairs-b%lld/encode", RB),
                                    fmt("%s/runs/dsah-b%lld/round%lld/model.safetensors", W, RB, cfg_int(C, "train.rounds")),
                                    "train", 1, &pc, fmt("%s/train_real.npy", dir), "encode", G_REPORT);
        rule *r = rule_new(&pairs_cmd, fmt("report/pairs-b%lld/pairs", RB), G_REPORT);
        if (r) {
            bind(r, "codes", z);
            bind(r, "labels", P("data/labels.npy"));
            bind(r, "indices", P("data/train.npy"));
            bind(r, "out", fmt("%s/", dir));
            emit(r, C);
            r->stamp = fmt("%s/params.pairs", dir);
        }
    }
    for (int m = 0; m < nmeth && (want & fig_bit("fig11")); m++) { /* top 10 by dsah-search, as a montage */
        cur_figs = fig_bit("fig11");
        const char *meth = m ? other : "dsah";
        const char *ix = fmt("%s/index/%s-b%lld", W, meth, RB), *sd = fmt("%s/report/search-%s-b%lld", W, meth, RB),
                   *md = fmt("%s/report/montage-%s-b%lld", W, meth, RB);
        rule *r = rule_new(&search_cmd, fmt("report/search-%s-b%lld/search", meth, RB), G_REPORT);
        if (r) {
            bind(r, "index", fmt("%s/", ix));
            prerequisite(r, fmt("%s/index.faiss", ix));
            bind(r, "codes", m ? fmt("%s/baselines/%s-b%lld/query.npy", W, meth, RB)
                               : fmt("%s/runs/dsah-b%lld/codes/query.npy", W, RB));
            bind(r, "k", "10");
            bind(r, "out", fmt("%s/", sd));
            emit(r, C);
            r->stamp = fmt("%s/params.search", sd);
        }
        rule *g = rule_new(&montage_cmd, fmt("report/montage-%s-b%lld/montage", meth, RB), G_REPORT);
        if (g) {
            bind(g, "images", P("data/images.npy"));
            bind(g, "labels", P("data/labels.npy"));
            bind(g, "queries", P("data/query.npy"));
            bind(g, "ids", fmt("%s/ids.npy", sd));
            bind(g, "lims", fmt("%s/lims.npy", sd));
            bind(g, "out", fmt("%s/", md));
            emit(g, C);
            g->stamp = fmt("%s/params.montage", md);
        }
    }
}

/* make report: the shared upstream (W0, every feature file), the whole
 * report, one goal per table or figure (make report-fig7), and one goal per
 * run directory for GNU parallel (pipelines/report-run.sh): the report's
 * rules grouped by the id up to its second '/' (runs/dsah-b64,
 * baselines/itq-b64, report/gamma1-b64), only directories that need nothing
 * but the shared upstream (ingest, features, graph, SSDH's similarity) and
 * themselves, so that
 * two units never make one rule at once. The rest (search, montage, the
 * batch's pairs) make -j makes after them. */
static void done_list(sbuf *b, int (*pick)(const rule *, const void *), const void *arg) {
    for (int i = 0; i < nrules; i++)
        if (pick(&rules[i], arg)) {
            char *d = done_path(&rules[i]);
            sb_add(b, " %s", d);
            free(d);
        }
    sb_add(b, "\n");
}
/* the report's shared upstream: the features and SSDH's similarity (one
 * file that every SSDH run reads, made once before the units) */
static int pick_upstream(const rule *r, const void *arg) {
    (void)arg;
    return !strcmp(r->stage, "features") || !strcmp(r->stage, "ssdh");
}
static int pick_figs(const rule *r, const void *mask) { return (r->figs & *(const unsigned *)mask) != 0; }
static int pick_prefix(const rule *r, const void *pre) { return !strncmp(r->id, pre, strlen(pre)); }

static void report_goals(sbuf *b) {
    sb_add(b, ".PHONY: report report-upstream\nreport-upstream: %s/graph/done.graph", W);
    done_list(b, pick_upstream, NULL);
    const unsigned every = ~0u;
    sb_add(b, "report:");
    done_list(b, pick_figs, &every);
    for (int f = 0; f < N_FIGS; f++) {
        const unsigned bit = 1u << f;
        sb_add(b, ".PHONY: report-%s\nreport-%s:", fig_names[f], fig_names[f]);
        done_list(b, pick_figs, &bit);
    }
    sbuf units = {0}, seen = {0};
    for (int i = 0; i < nrules; i++) {
        if (!(rules[i].groups & G_REPORT)) continue;
        const char *id = rules[i].id, *s1 = strchr(id, '/'), *s2 = s1 ? strchr(s1 + 1, '/') : NULL;
        if (!s2) continue;
        const char *pre = fmt("%.*s/", (int)(s2 - id), id), *tag = fmt(" %s ", pre);
        if (seen.s && strstr(seen.s, tag)) continue;
        sb_add(&seen, "%s", tag);
        int alone = 1;
        for (int j = 0; j < nrules && alone; j++) {
            if (!pick_prefix(&rules[j], pre)) continue;
            for (int k = 0; k < rules[j].nin && alone; k++) {
                const rule *pr = producer(rules[j].ins[k]);
                alone = !pr || !strcmp(pr->stage, "ingest") || pick_upstream(pr, NULL) ||
                        !strcmp(pr->stage, "graph") || pick_prefix(pr, pre);
            }
        }
        if (!alone) continue;
        char *u = fmt("%.*s", (int)(s2 - id), id);
        for (char *t = u; *t; t++)
            if (*t == '/') *t = '+';
        sb_add(&units, " %s", u);
        sb_add(b, ".PHONY: unit-%s\nunit-%s:", u, u);
        done_list(b, pick_prefix, pre);
    }
    sb_add(b, "REPORT_UNITS :=%s\n", units.s ? units.s : "");
    free(units.s);
    free(seen.s);
}


int main(int argc, char **argv) {
    dsah_init("dsah-plan");
    plan_args a;
    opt_parse(&plan_cmd, &a, argc, argv);
    if (a.keys_markdown) {
        cfg_keys_markdown(stdout);
        return 0;
    }
    if (a.flags_markdown) {
        for (const opt_cmd *const *c = stage_cmds; *c; c++) {
            printf("%s### dsah-%s\n\n    ", c == stage_cmds ? "" : "\n", (*c)->name);
            opt_help_usage(*c, stdout);
            printf("\n");
            opt_markdown(*c, stdout);
        }
        return 0;
    }
    if (a.keys) {
        for (int i = 0; i < cfg_nkeys; i++) printf("%s\n", cfg_keys[i].key);
        return 0;
    }
    const char *config = a.config, *work = a.work, *out = a.out;
    bindir = a.bin;
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
    if (cfg_load(&c, config, plan_sets, plan_nsets, err, sizeof err)) die("%s", err);
    C = &c;
    if (plan_nprints) { /* --print KEY: values for scripts, nothing planned */
        for (int i = 0; i < plan_nprints; i++) {
            if (cfg_find(plan_prints[i]) < 0) die("--print %s: unknown key", plan_prints[i]);
            char *v = cfg_join(&c, plan_prints[i], ",");
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
    /* report.figures as bits; the rules planned while a bit is in cur_figs
     * serve that figure (make report-<name>) */
    unsigned want = 0;
    const cfg_val *rf = cfg_get(&c, "report.figures");
    for (int i = 0; i < rf->n; i++) want |= fig_bit(rf->v[i]);
#define FIG(name) (want & fig_bit(name))
    const long long RB = cfg_int(&c, "report.bits");
    int rb_in_bits = 0;
    for (int i = 0; i < bits->n; i++) rb_in_bits |= atoll(bits->v[i]) == RB;
    for (int i = 0; i < bits->n; i++) {
        long long L = atoll(bits->v[i]);
        /* the main runs serve Tables 1, 3, 4 and Figure 3; at report.bits
         * also Figures 5, 8 (the point at train.lambda / train.tau), 10, 11 */
        cur_figs = FIG("table1") | FIG("table3") | FIG("table4") | FIG("fig3") |
                   (L == RB ? FIG("fig5") | FIG("fig8") | FIG("fig10") | FIG("fig11") : 0);
        for (int m = 0; m < bl->n; m++) {
            int ssdh = !strcmp(bl->v[m], "ssdh"), greedy = !strcmp(bl->v[m], "greedyhash");
            if (ssdh || greedy) { /* the deep baselines: the training engine with their losses */
                runp dp = {.label = bl->v[m], .dir = fmt("%s/runs/%s-b%lld", W, bl->v[m], L), .bits = L, .gamma = g0,
                           .tau = t0, .pic = pic0, .groups = G_MAIN | G_TABLE | G_REPORT, .ssdh = ssdh, .greedy = greedy};
                plan_run(&dp);
                sb_add(&idx, "main\t%s\t%lld\t-\t-\t%s\n", bl->v[m], L, dp.dir);
                continue;
            }
            plan_baseline(bl->v[m], L, G_MAIN | G_TABLE | G_REPORT);
            sb_add(&idx, "main\t%s\t%lld\t-\t-\t%s/baselines/%s-b%lld\n", bl->v[m], L, W, bl->v[m], L);
        }
        cur_figs |= FIG("fig4") | FIG("fig6"); /* DSAH is the PIC and AND+PIC of Figures 4 and 6 */
        runp p = {.label = "dsah", .dir = fmt("%s/runs/dsah-b%lld", W, L), .bits = L, .gamma = g0, .tau = t0, .pic = pic0,
                  .and_on = and0, .groups = G_MAIN | G_TABLE | G_REPORT};
        plan_run(&p);
        sb_add(&idx, "main\tDSAH\t%lld\t%s\t%s\t%s\n", L, g0, t0, p.dir);
        /* ablations for make table: PIC0 (no pair weights; Figure 4's PIC0,
         * Figure 6's AND), AND off */
        cur_figs = FIG("fig4") | FIG("fig6");
        runp a = {.label = "pic0", .dir = fmt("%s/runs/pic0-b%lld", W, L), .bits = L, .gamma = g0, .tau = t0, .pic = "none",
                  .and_on = and0, .groups = G_TABLE | G_REPORT};
        plan_run(&a);
        sb_add(&idx, "table\tDSAH-PIC0\t%lld\t%s\t%s\t%s\n", L, g0, t0, a.dir);
        cur_figs = 0;
        runp n = {.label = "noand", .dir = fmt("%s/runs/noand-b%lld", W, L), .bits = L, .gamma = g0, .tau = t0, .pic = pic0,
                  .and_on = 0, .groups = G_TABLE};
        plan_run(&n);
        sb_add(&idx, "table\tDSAH-noAND\t%lld\t%s\t%s\t%s\n", L, g0, t0, n.dir);
        /* the report's ablations: PIC- (Figure 4) and AND0 = PIC0 without AND (Figure 6) */
        if (FIG("fig4")) {
            cur_figs = FIG("fig4");
            runp m = {.label = "picminus", .dir = fmt("%s/runs/picminus-b%lld", W, L), .bits = L, .gamma = g0, .tau = t0,
                      .pic = "pic-minus", .and_on = and0, .groups = G_REPORT};
            plan_run(&m);
            sb_add(&idx, "report\tPIC-\t%lld\t%s\t%s\t%s\n", L, g0, t0, m.dir);
        }
        if (FIG("fig6")) {
            cur_figs = FIG("fig6");
            runp z = {.label = "and0", .dir = fmt("%s/runs/and0-b%lld", W, L), .bits = L, .gamma = g0, .tau = t0,
                      .pic = "none", .and_on = 0, .groups = G_REPORT};
            plan_run(&z);
            sb_add(&idx, "report\tAND0\t%lld\t%s\t%s\t%s\n", L, g0, t0, z.dir);
        }
    }
    plan_report_studies(&idx, want, RB, rb_in_bits);
#undef FIG
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
                cur_figs = 0;
                runp p = {.label = pid, .dir = fmt("%s/sweep/%s", W, pid), .bits = atoll(B->v[ib]), .gamma = G->v[ig],
                          .tau = T->v[it], .pic = pic0, .and_on = and0, .groups = G_SWEEP};
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
        for (int i = 0; planned_stages[i]; i++)
            if (!stage_built(planned_stages[i]))
                info("note: %s/dsah-%s is not built: the stages that need it are left out of 'all'", bindir,
                     planned_stages[i]);
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
    report_goals(&b);
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
    const char *const *st_all = planned_stages;
    for (int s = 0; st_all[s]; s++) {
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
