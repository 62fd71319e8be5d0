/* config.c: see config.h. */
#define _GNU_SOURCE
#include "cli/config.h"
#include "cli/stages.h"
#include "util/opt.h"
#include "util/util.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

/* The schema. Order is the order of --keys-markdown and of the defaults
 * printout. Ranges are inclusive. */
const cfg_key cfg_keys[] = {
    /* key, type, YAML default, flags, choices, lo, hi (planner-only keys: the
     * stage tables hold the rest), feeds (NULL: the stages whose tables name
     * the key), doc */
    {"name", CT_NAME, NULL, 0, NULL, 0, 0, NULL,
     "run directory name under the work folder (work/<name>/); default: the YAML file's name"},
    {"dataset.source", CT_ENUM, NULL, CF_REQUIRED, NULL, 0, 0, NULL,
     "dataset format"},
    {"dataset.path", CT_PATH, NULL, CF_REQUIRED, NULL, 0, 0, NULL,
     "folder or archive holding the dataset"},
    {"dataset.annotations", CT_PATH, NULL, CF_OPTIONAL, NULL, 0, 0, NULL,
     "annotation folder or file (multi-label sets)"},
    {"dataset.label_list", CT_PATH, NULL, CF_OPTIONAL, NULL, 0, 0, NULL,
     "file naming the labels to keep (multi-label sets)"},
    {"dataset.size", CT_INT, NULL, CF_OPTIONAL, NULL, 0, 0, NULL,
     "resize images to size x size at ingest (absent: keep the source size)"},
    {"dataset.query_per_class", CT_INT, NULL, CF_OPTIONAL, NULL, 0, 0, NULL,
     "query images drawn per class (single-label sets; with train_per_class)"},
    {"dataset.train_per_class", CT_INT, NULL, CF_OPTIONAL, NULL, 0, 0, NULL,
     "training images drawn per class (single-label sets; with query_per_class)"},
    {"dataset.query", CT_INT, NULL, CF_OPTIONAL, NULL, 0, 0, NULL,
     "query images drawn at random (multi-label sets; with train)"},
    {"dataset.train", CT_INT, NULL, CF_OPTIONAL, NULL, 0, 0, NULL,
     "training images drawn at random (multi-label sets; with query)"},
    {"dataset.validation_per_class", CT_INT, NULL, CF_OPTIONAL, NULL, 0, 0, NULL,
     "tuning: queries drawn per class from the database minus the training set; the real queries are left out"},
    {"dataset.validation", CT_INT, NULL, CF_OPTIONAL, NULL, 0, 0, NULL,
     "tuning: queries drawn at random from the database minus the training set (with query and train)"},
    {"dataset.seed", CT_INT, "0", 0, NULL, 0, 0, NULL,
     "seed of the query/train split"},
    {"dataset.strict", CT_BOOL, "false", 0, NULL, 0, 0, NULL,
     "fail on an unreadable image instead of skipping it"},
    {"features.extractor", CT_ENUM, "pixels", 0, NULL, 0, 0, NULL,
     "features the similarity graph is built on"},
    {"features.weights", CT_PATH, NULL, CF_OPTIONAL, NULL, 0, 0, NULL,
     "VGG-19 safetensors for extractor vgg19"},
    {"features.input", CT_INT, "224", 0, NULL, 0, 0, NULL,
     "input size of the vgg19 extractor"},
    {"features.batch", CT_INT, "100", 0, NULL, 0, 0, NULL,
     "images per batch (speed only)"},
    {"features.cache_dtype", CT_ENUM, "f4", 0, NULL, 0, 0, "features --dtype",
     "element type of the frozen-prefix caches (features/vgg19_<layer>_<split>.npy; train.finetune fc or head): "
     "f4, or f2 (IEEE half) to halve them (pool5 at 224: 50 KB an image instead of 100 KB), each value x stored "
     "as h with |h - x| <= 2^-11 |x| (<= 2^-25 for |x| < 2^-14); a value beyond 65504 stops the cache's stage. "
     "Switching recomputes the caches and what reads them; the relu7 features stay f4"},
    {"graph.k1", CT_INT, "500", 0, NULL, 0, 0, NULL,
     "k1: nearest neighbours per point in W_L"},
    {"graph.k2", CT_INT, "500", 0, NULL, 0, 0, NULL,
     "k2: neighbour-set neighbours per point in W_H"},
    {"network.arch", CT_ARCH, "conv3-32,conv3-32,pool,conv3-64,conv3-64,pool,fc-512,dropout-0.5", 0, NULL, 0, 0, NULL,
     "vgg19, or a list of layers: convK-N, pool, fc-N, dropout-P"},
    {"network.input", CT_INT, "28", 0, NULL, 0, 0, NULL,
     "network input size (images are resized to it)"},
    {"network.weights", CT_PATH, NULL, CF_OPTIONAL, NULL, 0, 0, NULL,
     "pretrained weights for round 1 (VGG-19 safetensors)"},
    {"train.bits", CT_INTS, "64", 0, NULL, 0, 0, NULL,
     "code length(s): one DSAH run and one baseline per length"},
    {"train.rounds", CT_INT, "3", 0, NULL, 1, 1000, "plan",
     "R: training rounds (AND between rounds)"},
    {"train.epochs", CT_INT, "10", 0, NULL, 0, 0, NULL,
     "T: epochs per round"},
    {"train.batch", CT_INT, "50", 0, NULL, 0, 0, NULL,
     "mini-batch size"},
    {"train.lr", CT_FLOAT, "0.0001", 0, NULL, 0, 0, NULL,
     "Adam learning rate"},
    {"train.adam_eps", CT_FLOAT, "1e-08", 0, NULL, 0, 0, NULL,
     "Adam epsilon (the paper's code uses 1.0)"},
    {"train.lr_decay.every", CT_INT, "200", 0, NULL, 0, 0, NULL,
     "multiply lr by factor every this many steps"},
    {"train.lr_decay.factor", CT_FLOAT, "0.99", 0, NULL, 0, 0, NULL,
     "lr decay factor"},
    {"train.tau", CT_FLOAT, "1", 0, NULL, 0, 0, NULL,
     "tau: temperature of the PIC weights (Eq. 16)"},
    {"train.gamma", CT_FLOAT, "1", 0, NULL, 0, 0, NULL,
     "gamma: AND threshold m = mu + gamma sigma (Eq. 12)"},
    {"train.lambda", CT_FLOAT, "0", 0, NULL, 0, 0, NULL,
     "lambda: weight of the quantization loss"},
    {"train.pic", CT_ENUM, "pic", 0, NULL, 0, 0, NULL,
     "pair weights: PIC, PIC- or none (PIC0)"},
    {"train.and", CT_BOOL, "true", 0, NULL, 0, 0, "plan",
     "update W by AND after each round but the last"},
    {"train.finetune", CT_ENUM, "all", 0, NULL, 0, 0, NULL,
     "layers trained: all, the fc layers, or the hash head"},
    {"train.seed", CT_INT, "0", 0, NULL, 0, 0, NULL,
     "seed of training and of the baselines"},
    {"train.device", CT_STR, "auto", 0, NULL, 0, 0, NULL,
     "auto, cpu, cuda or cuda:N (heavy stages)"},
    {"train.precision", CT_ENUM, NULL, CF_OPTIONAL, NULL, 0, 0, NULL,
     "GPU arithmetic of train and encode: fp32, tf32 or bf16 (absent: fp32; the CPU runs fp32 only)"},
    {"eval.topk", CT_TOPK, "1000,5000", 0, NULL, 0, 0, NULL,
     "K of mAP@K (\"all\" allowed)"},
    {"eval.precision_at", CT_INTS, "100,1000", 0, NULL, 0, 0, NULL,
     "N of P@N"},
    {"eval.pn_at", CT_INTS, NULL, CF_OPTIONAL, NULL, 0, 0, NULL,
     "N of the P@N curve (absent: eval's default)"},
    {"eval.baselines", CT_ENUMS, "lsh,itq", 0, "ssdh|greedyhash", 0, 0, NULL,
     "baseline methods run at each code length (docs/baselines.md)"},
    {"eval.baseline_features", CT_ENUM, "pixels", 0, "pixels|graph", 0, 0, "plan",
     "features of the baselines: pixels, or those the graph uses"},
    {"eval.itq_iters", CT_INT, "50", 0, NULL, 0, 0, NULL,
     "ITQ iterations"},
    {"eval.agh_anchors", CT_INT, "300", 0, NULL, 0, 0, NULL,
     "AGH anchors (k-means centres); fewer than the training rows, more than bits (agh1) or bits/2 (agh2)"},
    {"eval.agh_nearest", CT_INT, "2", 0, NULL, 0, 0, NULL,
     "AGH: nearest anchors per point (s), <= anchors"},
    {"eval.agh_kmeans_iters", CT_INT, "5", 0, NULL, 0, 0, NULL,
     "AGH: Lloyd iterations for the anchors"},
    {"eval.sp_density", CT_FLOAT, "0.1", 0, NULL, 0, 0, NULL,
     "SP: fraction of non-zeros of the projection"},
    {"eval.sp_lambda", CT_FLOAT, "1", 0, NULL, 0, 0, NULL,
     "SP: weight of the orthogonality penalty, the squared Frobenius norm of W^T W - I"},
    {"eval.sp_iters", CT_INT, "20", 0, NULL, 0, 0, NULL,
     "SP: alternating iterations"},
    {"eval.sgh_epochs", CT_INT, "16", 0, NULL, 0, 0, NULL,
     "SGH: training epochs"},
    {"eval.sgh_batch", CT_INT, "500", 0, NULL, 0, 0, NULL,
     "SGH: rows per batch"},
    {"eval.sgh_lr", CT_FLOAT, "0.01", 0, NULL, 0, 0, NULL,
     "SGH: Adam learning rate"},
    {"eval.ssdh_alpha", CT_FLOAT, "2", 0, NULL, 0, 0, NULL,
     "SSDH: similar below mode - alpha sigma_l"},
    {"eval.ssdh_beta", CT_FLOAT, "0", 0, NULL, 0, 0, NULL,
     "SSDH: dissimilar above mode + beta sigma_r"},
    {"eval.ssdh_epochs", CT_INT, "30", 0, NULL, 0, 0, "train --epochs",
     "SSDH: epochs of its one training (the network and the other settings are train.*)"},
    {"eval.greedyhash_alpha", CT_FLOAT, "0.1", 0, NULL, 0, 0, "train --gh-alpha",
     "GreedyHash: weight of the |u - sgn(u)|^3 penalty"},
    {"eval.greedyhash_epochs", CT_INT, "30", 0, NULL, 0, 0, "train --epochs",
     "GreedyHash: epochs of its one training (the network and the other settings are train.*)"},
    {"eval.greedyhash_finetune", CT_ENUM, "head", 0, "head|network", 0, 0, "plan",
     "GreedyHash: what trains. head (its authors' frozen network): with network.arch vgg19 from network.weights, "
     "only the hash head (hash.fc8, hash.fc: a linear map 4096 -> bits) on the frozen network's eval-mode relu7 "
     "(no dropout), read from the relu7 features, computed once per image (from the frozen-prefix cache when "
     "train.finetune is fc or head); "
     "any other network (a list, or random weights: nothing pretrained to freeze) trains as network. "
     "network: train.finetune of DSAH's network, its dropout on"},
    {"sweep.gamma", CT_FLOATS, NULL, CF_OPTIONAL, NULL, 0, 0, "and --gamma",
     "gamma values of make sweep (absent: train.gamma)"},
    {"sweep.tau", CT_FLOATS, NULL, CF_OPTIONAL, NULL, 0, 0, "train --tau",
     "tau values of make sweep (absent: train.tau)"},
    {"sweep.bits", CT_INTS, NULL, CF_OPTIONAL, NULL, 0, 0, "train --bits",
     "code lengths of make sweep (absent: train.bits)"},
    /* report (make report; pipelines/README.md "Report") */
    {"report.figures", CT_ENUMS, "table1,table3,table4,fig3,fig4,fig5,fig6,fig7,fig8,fig9,fig10,fig11", 0,
     "table1|table3|table4|fig3|fig4|fig5|fig6|fig7|fig8|fig9|fig10|fig11", 0, 0, "plan",
     "tables and figures of make report (the paper's numbering)"},
    {"report.bits", CT_INT, "64", 0, NULL, 0, 0, "train --bits",
     "code length of the one-length studies (Figures 5, 7-11; the paper's 64)"},
    {"report.lambda", CT_FLOATS, "0,0.1,1,10", 0, NULL, 0, 0, "train --lambda",
     "lambda values of Figure 8(a)"},
    {"report.tau", CT_FLOATS, "0.1,1,10", 0, NULL, 0, 0, "train --tau",
     "tau values of Figure 8(b)"},
    {"report.gamma", CT_FLOATS, "-1,0,1", 0, NULL, 0, 0, "and --gamma",
     "gamma values of Figure 9 (the paper: -1 to 1 in steps of 0.25)"},
    {"report.rounds", CT_INT, "6", 0, NULL, 1, 1000, "plan",
     "R of Figures 7 and 9: rounds of the per-round runs, each round evaluated (the paper: 10)"},
    {"report.tsne_points", CT_INT, "2000", 0, NULL, 0, 0, NULL,
     "database codes drawn for the t-SNE of Figure 10"},
    {"report.examples", CT_INT, "8", 0, NULL, 0, 0, NULL,
     "queries shown in Figure 11 (top 10 each)"},
};
const int cfg_nkeys = (int)(sizeof cfg_keys / sizeof cfg_keys[0]);

/* ---- small helpers ------------------------------------------------------ */

static int fail(char *err, size_t errn, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t errn, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errn, fmt, ap);
    va_end(ap);
    return -1;
}

int cfg_find(const char *key) {
    for (int i = 0; i < cfg_nkeys; i++)
        if (strcmp(cfg_keys[i].key, key) == 0) return i;
    return -1;
}

/* A section is a proper dotted prefix of some key ("train", "train.lr_decay"). */
static int is_section(const char *key) {
    size_t n = strlen(key);
    for (int i = 0; i < cfg_nkeys; i++)
        if (strncmp(cfg_keys[i].key, key, n) == 0 && cfg_keys[i].key[n] == '.') return 1;
    return 0;
}

int cfg_edit_distance(const char *a, const char *b) {
    size_t na = strlen(a), nb = strlen(b);
    int *row = xmalloc(sizeof(int) * (nb + 1));
    for (size_t j = 0; j <= nb; j++) row[j] = (int)j;
    for (size_t i = 1; i <= na; i++) {
        int diag = row[0];
        row[0] = (int)i;
        for (size_t j = 1; j <= nb; j++) {
            int up = row[j];
            int sub = diag + (a[i - 1] != b[j - 1]);
            int del = row[j] + 1, ins = row[j - 1] + 1;
            int m = sub < del ? sub : del;
            row[j] = m < ins ? m : ins;
            diag = up;
        }
    }
    int d = row[nb];
    free(row);
    return d;
}

/* Nearest key or section name; ties go to the first in table order. Only
 * suggested when the distance is at most half the key's length (a wholly
 * different word gets no suggestion). */
const char *cfg_suggest(const char *key) {
    static char best[128];
    int bestd = 1 << 30;
    best[0] = '\0';
    for (int i = 0; i < cfg_nkeys; i++) {
        /* the key itself and each of its sections */
        char buf[128];
        snprintf(buf, sizeof buf, "%s", cfg_keys[i].key);
        for (;;) {
            int d = cfg_edit_distance(key, buf);
            if (d < bestd) { bestd = d; snprintf(best, sizeof best, "%s", buf); }
            char *dot = strrchr(buf, '.');
            if (!dot) break;
            *dot = '\0';
        }
    }
    if (!best[0] || bestd * 2 > (int)strlen(key)) return NULL;
    return best;
}

void cfg_fmt_double(char *buf, size_t n, double x) {
    if (x == 0) { snprintf(buf, n, "0"); return; }
    for (int p = 1; p <= 17; p++) {
        snprintf(buf, n, "%.*g", p, x);
        if (strtod(buf, NULL) == x) return;
    }
}

int cfg_bad_char_name(const char *s) {
    if (!*s) return ' ';
    if (s[0] == '.' || s[0] == '-') return (unsigned char)s[0];
    for (const char *p = s; *p; p++)
        if (!(isalnum((unsigned char)*p) || *p == '.' || *p == '_' || *p == '-')) return (unsigned char)*p;
    return 0;
}

int cfg_bad_char_path(const char *s) {
    if (!*s) return ' ';
    if (s[0] == '-') return '-';
    for (const char *p = s; *p; p++)
        if (!(isalnum((unsigned char)*p) || strchr("._/+@,=-:", *p))) return (unsigned char)*p;
    return 0;
}

static const char *type_name(cfg_type t) {
    switch (t) {
    case CT_INT: return "integer";
    case CT_FLOAT: return "number";
    case CT_BOOL: return "boolean";
    case CT_ENUM: return "choice";
    case CT_NAME: return "name";
    case CT_PATH: return "path";
    case CT_STR: return "string";
    case CT_INTS: return "integer or list";
    case CT_FLOATS: return "number or list";
    case CT_TOPK: return "list of integers or all";
    case CT_ENUMS: return "list of choices";
    case CT_ARCH: return "vgg19 or list of layers";
    }
    return "?";
}

static int is_list_type(cfg_type t) {
    return t == CT_INTS || t == CT_FLOATS || t == CT_TOPK || t == CT_ENUMS || t == CT_ARCH;
}

static int parse_int_text(const char *s, long long *out) {
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end) return -1;
    *out = v;
    return 0;
}

static int parse_float_text(const char *s, double *out) {
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !isfinite(v)) return -1;
    *out = v;
    return 0;
}

/* An arch layer token: convK-N, pool, fc-N, dropout-P (0 <= P < 1). */
static int arch_token_ok(const char *s) {
    long long a, b;
    double p;
    char tail[64];
    if (strcmp(s, "pool") == 0) return 1;
    if (sscanf(s, "conv%lld-%lld%63s", &a, &b, tail) == 2 && a >= 1 && a <= 15 && b >= 1 && b <= 1 << 20) {
        char canon[64];
        snprintf(canon, sizeof canon, "conv%lld-%lld", a, b);
        return strcmp(canon, s) == 0;
    }
    if (sscanf(s, "fc-%lld%63s", &a, tail) == 1 && a >= 1 && a <= 1 << 24) {
        char canon[64];
        snprintf(canon, sizeof canon, "fc-%lld", a);
        return strcmp(canon, s) == 0;
    }
    if (strncmp(s, "dropout-", 8) == 0 && parse_float_text(s + 8, &p) == 0 && p >= 0 && p < 1) {
        return cfg_bad_char_name(s) == 0;
    }
    return 0;
}

/* Does table entry o of cmd take the values of key k? */
static int feeds(const cfg_key *k, const opt_cmd *cmd, const opt *o) {
    if (k->feeds) {
        char flag[128];
        snprintf(flag, sizeof flag, "%s --%s", cmd->name, o->name);
        return strcmp(k->feeds, flag) == 0;
    }
    return o->key && strcmp(o->key, k->key) == 0;
}

/* Does any stage flag take the values of key k? */
static int table_fed(const cfg_key *k) {
    for (const opt_cmd *const *c = stage_cmds; *c; c++)
        for (const opt *o = (*c)->opts; o->name; o++)
            if (feeds(k, *c, o)) return 1;
    return 0;
}

/* Validate one element (text s) of key k; write the canonical text to out.
 * Returns NULL or a problem description (static). */
static const char *check_elem(const cfg_key *k, const char *s, char *out, size_t n, int nelem) {
    static char why[256];
    long long iv;
    double dv;
    int bad;
    switch (k->type) {
    case CT_INT:
    case CT_INTS:
    case CT_TOPK:
        if (k->type == CT_TOPK && strcmp(s, "all") == 0) { snprintf(out, n, "all"); return NULL; }
        if (parse_int_text(s, &iv)) {
            snprintf(why, sizeof why, "expected %s, got '%.60s'", k->type == CT_TOPK ? "an integer or all" : "an integer", s);
            return why;
        }
        if (k->lo < k->hi && ((double)iv < k->lo || (double)iv > k->hi)) {
            snprintf(why, sizeof why, "%lld is out of range [%.0f, %.0f]", iv, k->lo, k->hi);
            return why;
        }
        snprintf(out, n, "%lld", iv);
        return NULL;
    case CT_FLOAT:
    case CT_FLOATS:
        if (parse_float_text(s, &dv)) { snprintf(why, sizeof why, "expected a number, got '%.60s'", s); return why; }
        cfg_fmt_double(out, n, dv);
        return NULL;
    case CT_BOOL:
        if (!strcmp(s, "true") || !strcmp(s, "yes") || !strcmp(s, "on") || !strcmp(s, "True")) { snprintf(out, n, "true"); return NULL; }
        if (!strcmp(s, "false") || !strcmp(s, "no") || !strcmp(s, "off") || !strcmp(s, "False")) { snprintf(out, n, "false"); return NULL; }
        snprintf(why, sizeof why, "expected true or false, got '%.60s'", s);
        return why;
    case CT_ENUM:
    case CT_ENUMS:
        if (!k->choices || table_fed(k)) { /* the stage table's choices are checked by table_check */
            if ((bad = cfg_bad_char_name(s))) {
                snprintf(why, sizeof why, "'%.60s' is not a safe name (character '%c')", s, bad);
                return why;
            }
            snprintf(out, n, "%s", s);
            return NULL;
        }
        if (!opt_in_choices(k->choices, s)) {
            snprintf(why, sizeof why, "'%.60s' is not one of %s", s, k->choices);
            return why;
        }
        snprintf(out, n, "%s", s);
        return NULL;
    case CT_NAME:
        if ((bad = cfg_bad_char_name(s))) {
            snprintf(why, sizeof why, "'%.60s' is not a safe name (character '%c'; use letters, digits, '.', '_', '-')", s, bad);
            return why;
        }
        snprintf(out, n, "%s", s);
        return NULL;
    case CT_PATH:
    case CT_STR:
        if ((bad = cfg_bad_char_path(s))) {
            snprintf(why, sizeof why, "'%.60s' has an unsafe character '%c' (allowed: letters, digits and ._/+@,=-:)", s, bad);
            return why;
        }
        if (strlen(s) >= n) { snprintf(why, sizeof why, "value too long"); return why; }
        snprintf(out, n, "%s", s);
        return NULL;
    case CT_ARCH:
        if (strcmp(s, "vgg19") == 0) {
            if (nelem != 1) { snprintf(why, sizeof why, "vgg19 must be the only element"); return why; }
            snprintf(out, n, "vgg19");
            return NULL;
        }
        if (!arch_token_ok(s)) {
            snprintf(why, sizeof why, "'%.60s' is not a layer (convK-N, pool, fc-N, dropout-P) nor vgg19", s);
            return why;
        }
        snprintf(out, n, "%s", s);
        return NULL;
    }
    return "unknown type";
}

/* The values el[0..n) of key k against every flag the key feeds, with the
 * stage's own check (opt_check): a list flag takes the list, a scalar flag
 * each element (one run per element). NULL or the problem in why. */
static const char *table_check(const cfg_key *k, char **el, int n, char *why, size_t whyn) {
    for (const opt_cmd *const *c = stage_cmds; *c; c++)
        for (const opt *o = (*c)->opts; o->name; o++) {
            if (!feeds(k, *c, o) || o->type == OPT_FLAG) continue;
            if (o->type == OPT_INTS) {
                char joined[1024] = "";
                for (int i = 0; i < n; i++)
                    snprintf(joined + strlen(joined), sizeof joined - strlen(joined), "%s%s", i ? "," : "", el[i]);
                const char *w = opt_check(o, joined);
                if (w) { snprintf(why, whyn, "%s: %s (dsah-%s --%s)", joined, w, (*c)->name, o->name); return why; }
                continue;
            }
            for (int i = 0; i < n; i++) {
                if (k->choices && opt_in_choices(k->choices, el[i])) continue; /* handled by the planner */
                const char *w = opt_check(o, el[i]);
                if (w) { snprintf(why, whyn, "%s: %s (dsah-%s --%s)", el[i], w, (*c)->name, o->name); return why; }
            }
        }
    return NULL;
}

static void val_clear(cfg_val *v) {
    for (int i = 0; i < v->n; i++) free(v->v[i]);
    free(v->v);
    memset(v, 0, sizeof *v);
}

/* Validate the elements elems[0..n) for key index ki and store them. */
static int store(cfg *c, int ki, char **elems, int n, int from, int line, const char *where, char *err, size_t errn) {
    const cfg_key *k = &cfg_keys[ki];
    if (n == 0) return fail(err, errn, "%s: %s: empty list", where, k->key);
    if (n > 1 && !is_list_type(k->type))
        return fail(err, errn, "%s: %s: expected a single %s, got a list", where, k->key, type_name(k->type));
    char **out = xcalloc((size_t)n, sizeof(char *));
    char buf[1024];
    for (int i = 0; i < n; i++) {
        const char *why = check_elem(k, elems[i], buf, sizeof buf, n);
        if (why) {
            for (int j = 0; j < i; j++) free(out[j]);
            free(out);
            return fail(err, errn, "%s: %s: %s", where, k->key, why);
        }
        out[i] = xstrdup(buf);
        /* A repeated value (canonical form: 16 and 0x10 alike) would plan
         * the same run twice; layer lists (arch) repeat by design. */
        for (int j = 0; j < i && k->type != CT_ARCH; j++)
            if (!strcmp(out[j], out[i])) {
                int r = fail(err, errn, "%s: %s: %s is listed twice", where, k->key, out[i]);
                for (int q = 0; q <= i; q++) free(out[q]);
                free(out);
                return r;
            }
    }
    char why[512];
    if (table_check(k, out, n, why, sizeof why)) {
        for (int j = 0; j < n; j++) free(out[j]);
        free(out);
        return fail(err, errn, "%s: %s: %s", where, k->key, why);
    }
    val_clear(&c->vals[ki]);
    c->vals[ki].set = from;
    c->vals[ki].line = line;
    c->vals[ki].n = n;
    c->vals[ki].v = out;
    return 0;
}

/* Elements of a node: a scalar is one element, a sequence of scalars is a
 * list. Mappings or nested sequences are wrong types. Returns count or -1. */
static int node_elems(yaml_document_t *doc, yaml_node_t *node, char ***out) {
    if (node->type == YAML_SCALAR_NODE) {
        *out = xmalloc(sizeof(char *));
        (*out)[0] = xstrdup((const char *)node->data.scalar.value);
        return 1;
    }
    if (node->type != YAML_SEQUENCE_NODE) return -1;
    int n = (int)(node->data.sequence.items.top - node->data.sequence.items.start);
    char **e = xcalloc((size_t)(n ? n : 1), sizeof(char *));
    for (int i = 0; i < n; i++) {
        yaml_node_t *it = yaml_document_get_node(doc, node->data.sequence.items.start[i]);
        if (!it || it->type != YAML_SCALAR_NODE) {
            for (int j = 0; j < i; j++) free(e[j]);
            free(e);
            return -1;
        }
        e[i] = xstrdup((const char *)it->data.scalar.value);
    }
    *out = e;
    return n;
}

static void free_elems(char **e, int n) {
    for (int i = 0; i < n; i++) free(e[i]);
    free(e);
}

/* Walk a mapping node whose dotted prefix is prefix ("" at the top). */
static int walk(cfg *c, yaml_document_t *doc, yaml_node_t *map, const char *prefix, char *err, size_t errn) {
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
        yaml_node_t *kn = yaml_document_get_node(doc, p->key);
        yaml_node_t *vn = yaml_document_get_node(doc, p->value);
        int line = (int)kn->start_mark.line + 1;
        if (kn->type != YAML_SCALAR_NODE)
            return fail(err, errn, "%s:%d: %s: keys must be plain words", c->path, line, *prefix ? prefix : "(top level)");
        char key[256];
        snprintf(key, sizeof key, "%s%s%s", prefix, *prefix ? "." : "", (const char *)kn->data.scalar.value);
        /* duplicate keys in the same mapping */
        for (yaml_node_pair_t *q = map->data.mapping.pairs.start; q < p; q++) {
            yaml_node_t *k2 = yaml_document_get_node(doc, q->key);
            if (k2->type == YAML_SCALAR_NODE && strcmp((const char *)k2->data.scalar.value, (const char *)kn->data.scalar.value) == 0)
                return fail(err, errn, "%s:%d: %s: duplicate key (first on line %d)", c->path, line, key, (int)k2->start_mark.line + 1);
        }
        int ki = cfg_find(key);
        if (ki < 0 && is_section(key)) {
            if (vn->type != YAML_MAPPING_NODE)
                return fail(err, errn, "%s:%d: %s: expected a mapping of keys (a section), got a %s", c->path, line, key,
                            vn->type == YAML_SCALAR_NODE ? "scalar" : "list");
            if (c->nsec < 32) {
                c->sec_name[c->nsec] = xstrdup(key);
                c->sec_line[c->nsec++] = line;
            }
            if (walk(c, doc, vn, key, err, errn)) return -1;
            continue;
        }
        if (ki < 0) {
            const char *s = cfg_suggest(key);
            if (s) return fail(err, errn, "%s:%d: %s: unknown key; did you mean '%s'?", c->path, line, key, s);
            return fail(err, errn, "%s:%d: %s: unknown key (see dsah-plan --keys)", c->path, line, key);
        }
        char **el;
        int n = node_elems(doc, vn, &el);
        if (n < 0)
            return fail(err, errn, "%s:%d: %s: expected %s, got a %s", c->path, line, key, type_name(cfg_keys[ki].type),
                        vn->type == YAML_MAPPING_NODE ? "mapping" : "nested list");
        if (n == 1 && vn->type == YAML_SCALAR_NODE && el[0][0] == '\0' && vn->data.scalar.style == YAML_PLAIN_SCALAR_STYLE) {
            free_elems(el, n);
            return fail(err, errn, "%s:%d: %s: missing value", c->path, line, key);
        }
        char where[512];
        snprintf(where, sizeof where, "%s:%d", c->path, line);
        int r = store(c, ki, el, n, 1, line, where, err, errn);
        free_elems(el, n);
        if (r) return -1;
    }
    return 0;
}

/* Split a --set value: YAML flow (e.g. "[16, 32]") or a comma/space list. */
static int parse_set_value(const char *text, char ***out) {
    yaml_parser_t ps;
    yaml_document_t doc;
    int n = -1;
    if (!yaml_parser_initialize(&ps)) return -1;
    yaml_parser_set_input_string(&ps, (const unsigned char *)text, strlen(text));
    if (yaml_parser_load(&ps, &doc)) {
        yaml_node_t *root = yaml_document_get_root_node(&doc);
        if (root) n = node_elems(&doc, root, out);
        yaml_document_delete(&doc);
    }
    yaml_parser_delete(&ps);
    if (n == 1 && (strchr((*out)[0], ',') || strchr((*out)[0], ' '))) {
        char *s = (*out)[0];
        free(*out);
        int cap = 8;
        char **e = xmalloc(sizeof(char *) * (size_t)cap);
        n = 0;
        for (char *tok = strtok(s, ", "); tok; tok = strtok(NULL, ", ")) {
            if (n == cap) e = xrealloc(e, sizeof(char *) * (size_t)(cap *= 2));
            e[n++] = xstrdup(tok);
        }
        free(s);
        *out = e;
    }
    return n;
}

int cfg_load(cfg *c, const char *path, const char *const *sets, int nsets, char *err, size_t errn) {
    memset(c, 0, sizeof *c);
    c->path = xstrdup(path);
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    c->stem = xstrdup(base);
    char *dot = strrchr(c->stem, '.');
    if (dot && (!strcmp(dot, ".yaml") || !strcmp(dot, ".yml"))) *dot = '\0';
    c->vals = xcalloc((size_t)cfg_nkeys, sizeof(cfg_val));

    FILE *fp = fopen_input(path, err, errn);
    if (!fp) return -1;
    yaml_parser_t ps;
    yaml_document_t doc;
    CHECK(yaml_parser_initialize(&ps));
    yaml_parser_set_input_file(&ps, fp);
    if (!yaml_parser_load(&ps, &doc)) {
        int r = fail(err, errn, "%s:%d: YAML syntax error: %s", path, (int)ps.problem_mark.line + 1,
                     ps.problem ? ps.problem : "unknown");
        yaml_parser_delete(&ps);
        fclose(fp);
        return r;
    }
    yaml_parser_delete(&ps);
    fclose(fp);
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    int r = 0;
    if (!root)
        r = fail(err, errn, "%s:1: the file is empty", path);
    else if (root->type != YAML_MAPPING_NODE)
        r = fail(err, errn, "%s:%d: the top level must be a mapping of keys", path, (int)root->start_mark.line + 1);
    else
        r = walk(c, &doc, root, "", err, errn);
    yaml_document_delete(&doc);
    if (r) return -1;

    /* --set key=value, in order */
    for (int i = 0; i < nsets; i++) {
        const char *eq = strchr(sets[i], '=');
        if (!eq) return fail(err, errn, "--set %s: expected key=value", sets[i]);
        char key[256];
        snprintf(key, sizeof key, "%.*s", (int)(eq - sets[i]), sets[i]);
        int ki = cfg_find(key);
        if (ki < 0) {
            const char *s = cfg_suggest(key);
            return fail(err, errn, "--set %s: %s: unknown key%s%s%s", sets[i], key, s ? "; did you mean '" : "", s ? s : "", s ? "'?" : "");
        }
        char **el = NULL;
        int n = parse_set_value(eq + 1, &el);
        if (n < 0) return fail(err, errn, "--set %s: %s: cannot parse the value", sets[i], key);
        char where[300];
        snprintf(where, sizeof where, "--set");
        int rr = store(c, ki, el, n, 2, 0, where, err, errn);
        free_elems(el, n);
        if (rr) return -1;
    }

    /* required values and defaults */
    for (int i = 0; i < cfg_nkeys; i++) {
        const cfg_key *k = &cfg_keys[i];
        if (c->vals[i].set) continue;
        if (k->flags & CF_REQUIRED) {
            /* name the line of its section when the file has the section */
            int line = 1;
            for (int j = 0; j < c->nsec; j++) {
                size_t n = strlen(c->sec_name[j]);
                if (strncmp(k->key, c->sec_name[j], n) == 0 && k->key[n] == '.') line = c->sec_line[j];
            }
            return fail(err, errn, "%s:%d: %s: required value missing (%s)", path, line, k->key, k->doc);
        }
        if (k->def) {
            char **el = NULL;
            int n = parse_set_value(k->def, &el);
            char where[300];
            snprintf(where, sizeof where, "default of %s", k->key);
            int rr = store(c, i, el, n, 3, 0, where, err, errn);
            free_elems(el, n);
            if (rr) return -1;
        }
    }
    if (!c->vals[cfg_find("name")].set) {
        int ni = cfg_find("name");
        char *one[1] = {c->stem};
        char where[300];
        snprintf(where, sizeof where, "%s: the file name", path);
        if (store(c, ni, one, 1, 3, 0, where, err, errn)) return -1;
    }

    /* cross-key rules */
    const cfg_val *qpc = cfg_get(c, "dataset.query_per_class"), *tpc = cfg_get(c, "dataset.train_per_class");
    const cfg_val *q = cfg_get(c, "dataset.query"), *t = cfg_get(c, "dataset.train");
    int per_class = qpc->set && tpc->set, random = q->set && t->set;
    if (per_class == random || (qpc->set != tpc->set) || (q->set != t->set)) {
        const cfg_val *any = qpc->set ? qpc : tpc->set ? tpc : q->set ? q : t;
        return fail(err, errn, "%s:%d: dataset: give query_per_class and train_per_class, or query and train (one pair)",
                    path, any->line ? any->line : 1);
    }
    const cfg_val *vpc = cfg_get(c, "dataset.validation_per_class"), *vn = cfg_get(c, "dataset.validation");
    if (vpc->set && !per_class)
        return fail(err, errn, "%s:%d: dataset.validation_per_class goes with query_per_class and train_per_class (use validation)",
                    path, vpc->line ? vpc->line : 1);
    if (vn->set && !random)
        return fail(err, errn, "%s:%d: dataset.validation goes with query and train (use validation_per_class)", path,
                    vn->line ? vn->line : 1);
    if (!strcmp(cfg_str(c, "features.extractor"), "vgg19") && !cfg_get(c, "features.weights")->set)
        return fail(err, errn, "%s:%d: features.weights: required value missing (extractor vgg19 needs a weights file)", path,
                    cfg_get(c, "features.extractor")->line ? cfg_get(c, "features.extractor")->line : 1);
    const char *dev = cfg_str(c, "train.device");
    if (strcmp(dev, "auto") && strcmp(dev, "cpu") && strcmp(dev, "cuda") &&
        !(strncmp(dev, "cuda:", 5) == 0 && dev[5] && strspn(dev + 5, "0123456789") == strlen(dev + 5)))
        return fail(err, errn, "%s:%d: train.device: '%s' is not auto, cpu, cuda or cuda:N", path, cfg_get(c, "train.device")->line, dev);
    return 0;
}

void cfg_free(cfg *c) {
    if (c->vals)
        for (int i = 0; i < cfg_nkeys; i++) val_clear(&c->vals[i]);
    free(c->vals);
    for (int i = 0; i < c->nsec; i++) free(c->sec_name[i]);
    free(c->path);
    free(c->stem);
    memset(c, 0, sizeof *c);
}

const cfg_val *cfg_get(const cfg *c, const char *key) {
    int i = cfg_find(key);
    if (i < 0) {
        fprintf(stderr, "config: internal error: unknown key %s\n", key);
        abort();
    }
    return &c->vals[i];
}

const char *cfg_str(const cfg *c, const char *key) {
    const cfg_val *v = cfg_get(c, key);
    return v->n ? v->v[0] : NULL;
}

long long cfg_int(const cfg *c, const char *key) {
    const char *s = cfg_str(c, key);
    return s ? strtoll(s, NULL, 10) : 0;
}

double cfg_double(const cfg *c, const char *key) {
    const char *s = cfg_str(c, key);
    return s ? strtod(s, NULL) : 0;
}

int cfg_bool(const cfg *c, const char *key) {
    const char *s = cfg_str(c, key);
    return s && strcmp(s, "true") == 0;
}

char *cfg_join(const cfg *c, const char *key, const char *sep) {
    const cfg_val *v = cfg_get(c, key);
    size_t len = 1;
    for (int i = 0; i < v->n; i++) len += strlen(v->v[i]) + strlen(sep);
    char *s = xmalloc(len);
    s[0] = '\0';
    for (int i = 0; i < v->n; i++) {
        if (i) strcat(s, sep);
        strcat(s, v->v[i]);
    }
    return s;
}

void cfg_print_defaults(const cfg *c) {
    for (int i = 0; i < cfg_nkeys; i++) {
        if (c->vals[i].set != 3) continue;
        char *s = cfg_join(c, cfg_keys[i].key, ",");
        info("default: %s = %s", cfg_keys[i].key, s);
        free(s);
    }
}

/* Markdown cell text: '|' escaped. */
static void md_put(FILE *fp, const char *s) {
    for (; *s; s++) {
        if (*s == '|') fputc('\\', fp);
        fputc(*s, fp);
    }
}

void cfg_keys_markdown(FILE *fp) {
    fprintf(fp, "| key | type | default | feeds (values allowed) | meaning |\n| --- | --- | --- | --- | --- |\n");
    for (int i = 0; i < cfg_nkeys; i++) {
        const cfg_key *k = &cfg_keys[i];
        char def[256];
        if (k->flags & CF_REQUIRED) snprintf(def, sizeof def, "required");
        else if (!k->def) snprintf(def, sizeof def, "none");
        else if (is_list_type(k->type) && strchr(k->def, ',')) snprintf(def, sizeof def, "`[%s]`", k->def);
        else snprintf(def, sizeof def, "`%s`", k->def);
        fprintf(fp, "| `%s` | ", k->key);
        md_put(fp, type_name(k->type));
        if (k->choices && !table_fed(k)) { fputs(": ", fp); md_put(fp, k->choices); }
        if (k->lo < k->hi) fprintf(fp, " in [%.0f, %.0f]", k->lo, k->hi);
        fprintf(fp, " | %s | ", def);
        /* the flags it feeds, with the values each allows (from the tables) */
        int nfeeds = 0, stamped = 0;
        for (const opt_cmd *const *c = stage_cmds; *c; c++)
            for (const opt *o = (*c)->opts; o->name; o++) {
                if (!feeds(k, *c, o)) continue;
                fprintf(fp, "%s`dsah-%s --%s`", nfeeds++ ? "; " : "", (*c)->name, o->name);
                if (o->choices) { fputs(" ", fp); md_put(fp, o->choices); }
                if (o->range) fprintf(fp, " %s", o->range);
                if (o->multiple) fprintf(fp, ", a multiple of %lld", o->multiple);
                if (!o->nostamp) stamped = 1;
            }
        if (!nfeeds) fputs("dsah-plan", fp);
        else if (k->choices) { fputs("; also ", fp); md_put(fp, k->choices); fputs(" (planned by dsah-plan)", fp); }
        fputs(" | ", fp);
        md_put(fp, k->doc);
        if (nfeeds && !stamped) fputs(" (does not trigger reruns)", fp);
        fputs(" |\n", fp);
    }
}
