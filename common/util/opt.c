/* opt.c: see opt.h. */
#define _GNU_SOURCE
#include "util/opt.h"
#include "util/util.h"

#include <cblas.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#define OPT_MAX 64

static const opt_cmd *given_cmd;
static unsigned char given[OPT_MAX];

static int count_opts(const opt_cmd *cmd) {
    int n = 0;
    while (cmd->opts[n].name) n++;
    CHECK(n <= OPT_MAX);
    return n;
}

const opt *opt_find(const opt_cmd *cmd, const char *name) {
    for (const opt *o = cmd->opts; o->name; o++)
        if (strcmp(o->name, name) == 0) return o;
    return NULL;
}

int opt_given(const char *name) {
    CHECK(given_cmd);
    const opt *o = opt_find(given_cmd, name);
    CHECK(o);
    return given[o - given_cmd->opts];
}

static size_t field_size(opt_type t) {
    switch (t) {
    case OPT_FLAG: return sizeof(int);
    case OPT_INT: return sizeof(long long);
    case OPT_INTS: return sizeof(opt_list);
    case OPT_FLOAT: return sizeof(double);
    default: return sizeof(const char *);
    }
}

static const char *default_arg(const opt *o) {
    if (o->arg) return o->arg;
    switch (o->type) {
    case OPT_INT: return "N";
    case OPT_INTS: return "LIST";
    case OPT_FLOAT: return "X";
    case OPT_ENUM: return o->choices;
    case OPT_OUTDIR: return "DIR";
    case OPT_IN:
    case OPT_OUT: return "F";
    default: return "S";
    }
}

/* ---- value checks ------------------------------------------------------- */

/* A range "[lo, hi]" / "(lo, hi)" / mixed; "inf" and "-inf" allowed. */
typedef struct range { double lo, hi; long long ilo, ihi; int lo_open, hi_open; } range;

static void parse_range(const opt *o, range *r) {
    const char *s = o->range;
    char *end;
    r->lo_open = s[0] == '(';
    CHECK(s[0] == '(' || s[0] == '[');
    r->lo = strtod(s + 1, &end);
    r->ilo = strtoll(s + 1, NULL, 10);
    CHECK(*end == ',');
    const char *h = end + 1;
    r->hi = strtod(h, &end);
    r->ihi = strtoll(h, NULL, 10);
    r->hi_open = *end == ')';
    CHECK(*end == ')' || *end == ']');
    if (isinf(r->lo)) r->ilo = INT64_MIN;
    if (isinf(r->hi)) r->ihi = INT64_MAX;
}

static const char *check_int(const opt *o, const char *s, long long *out) {
    static char why[256];
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end) return "not an integer";
    if (o->range) {
        range r;
        parse_range(o, &r);
        if ((r.lo_open ? v <= r.ilo : v < r.ilo) || (r.hi_open ? v >= r.ihi : v > r.ihi)) {
            snprintf(why, sizeof why, "must be in %s", o->range);
            return why;
        }
    }
    if (o->multiple && v % o->multiple) {
        snprintf(why, sizeof why, "must be a multiple of %lld", o->multiple);
        return why;
    }
    *out = v;
    return NULL;
}

int opt_in_choices(const char *choices, const char *s) {
    size_t n = strlen(s);
    for (const char *p = choices; *p;) {
        const char *bar = strchr(p, '|');
        size_t len = bar ? (size_t)(bar - p) : strlen(p);
        if (len == n && strncmp(p, s, n) == 0) return 1;
        p += len;
        if (*p == '|') p++;
    }
    return 0;
}

/* Check text s for o; when dst is not NULL store the value there. */
/* OPT_INTS arrays live until exit (opt.h); they are kept reachable here so
 * that LeakSanitizer (make test-asan) does not count them once main has
 * returned, and a default replaced by a given value is freed. */
static long long *kept_lists[64];

static void keep_list(opt_list *dst, long long *v) {
    for (int i = 0; dst->v && i < 64; i++)
        if (kept_lists[i] == dst->v) { free(kept_lists[i]); kept_lists[i] = NULL; break; }
    for (int i = 0; i < 64; i++)
        if (!kept_lists[i]) { kept_lists[i] = v; break; }
    dst->v = v;
}

static const char *check_store(const opt *o, const char *s, void *dst) {
    static char why[256];
    switch (o->type) {
    case OPT_FLAG:
        if (dst) *(int *)dst = 1;
        return NULL;
    case OPT_INT: {
        long long v;
        const char *w = check_int(o, s, &v);
        if (!w && dst) *(long long *)dst = v;
        return w;
    }
    case OPT_INTS: {
        int n = 0, cap = 8;
        long long *v = xmalloc(sizeof *v * (size_t)cap);
        const char *p = s;
        char tok[64];
        while (*p) {
            const char *c = strchr(p, ',');
            size_t len = c ? (size_t)(c - p) : strlen(p);
            if (len == 0 || len >= sizeof tok || (c && !c[1])) { free(v); return "not a comma-separated list"; }
            memcpy(tok, p, len);
            tok[len] = '\0';
            if (n == cap) v = xrealloc(v, sizeof *v * (size_t)(cap *= 2));
            if (o->all && strcmp(tok, "all") == 0) v[n++] = 0;
            else {
                const char *w = check_int(o, tok, &v[n]);
                if (w) {
                    snprintf(why, sizeof why, "element %s: %s", tok, w);
                    free(v);
                    return why;
                }
                n++;
            }
            p += len;
            if (*p == ',') p++;
        }
        if (n == 0) { free(v); return "empty list"; }
        if (dst) {
            keep_list(dst, v);
            ((opt_list *)dst)->n = n;
        } else {
            free(v);
        }
        return NULL;
    }
    case OPT_FLOAT: {
        char *end;
        errno = 0;
        double v = strtod(s, &end);
        if (errno || end == s || *end || !isfinite(v)) return "not a finite number";
        if (o->range) {
            range r;
            parse_range(o, &r);
            if ((r.lo_open ? v <= r.lo : v < r.lo) || (r.hi_open ? v >= r.hi : v > r.hi)) {
                snprintf(why, sizeof why, "must be in %s", o->range);
                return why;
            }
        }
        if (dst) *(double *)dst = v;
        return NULL;
    }
    case OPT_ENUM:
        if (!opt_in_choices(o->choices, s)) {
            snprintf(why, sizeof why, "must be one of %s", o->choices);
            return why;
        }
        break;
    default:
        if (!*s) return "empty value";
        break;
    }
    if (dst) *(const char **)dst = s;
    return NULL;
}

const char *opt_check(const opt *o, const char *text) { return check_store(o, text, NULL); }

/* ---- parsing ------------------------------------------------------------ */

static void set_value(const opt_cmd *cmd, const opt *o, const char *s, void *args, int from_default) {
    if (o->apply) {
        const char *why = check_store(o, s, NULL);
        if (why) die("--%s %s: %s", o->name, s, why);
        char flag[128];
        snprintf(flag, sizeof flag, "--%s", o->name);
        o->apply(flag, s);
        return;
    }
    const char *why = check_store(o, s, (char *)args + o->off);
    if (why && from_default) {
        fprintf(stderr, "dsah-%s: internal error: default '%s' of --%s: %s\n", cmd->name, s, o->name, why);
        abort();
    }
    if (why) die("--%s %s: %s", o->name, s, why);
}

void opt_parse(const opt_cmd *cmd, void *args, int argc, char **argv) {
    int n = count_opts(cmd);
    enum { O_HELP = 1000, O_BASE = 1001 };
    struct option *lo = xcalloc((size_t)n + 3, sizeof *lo);
    for (int i = 0; i < n; i++) {
        const opt *o = &cmd->opts[i];
        if (o->apply ? o->size != 0 : o->size != field_size(o->type)) {
            fprintf(stderr, "dsah-%s: internal error: field of --%s has %zu bytes, its type needs %zu\n", cmd->name,
                    o->name, o->size, field_size(o->type));
            abort();
        }
        lo[i] = (struct option){o->name, o->type == OPT_FLAG ? no_argument : required_argument, 0, O_BASE + i};
    }
    lo[n] = (struct option){"quiet", no_argument, 0, 'q'};
    lo[n + 1] = (struct option){"help", no_argument, 0, O_HELP};
    given_cmd = cmd;
    memset(given, 0, sizeof given);
    /* defaults first, then the command line */
    for (int i = 0; i < n; i++) {
        const opt *o = &cmd->opts[i];
        if (!o->apply) memset((char *)args + o->off, 0, o->size);
        if (o->def) set_value(cmd, o, o->def, args, 1);
    }
    char hint[128];
    snprintf(hint, sizeof hint, "dsah-%s --help lists the flags", cmd->name);
    opterr = 0;
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, ":q", lo, NULL)) != -1) {
        if (c == 'q') dsah_quiet = 1;
        else if (c == O_HELP) {
            opt_help(cmd, stdout);
            dsah_exit(0);
        } else if (c >= O_BASE && c < O_BASE + n) {
            const opt *o = &cmd->opts[c - O_BASE];
            set_value(cmd, o, optarg, args, 0);
            given[c - O_BASE] = 1;
        } else if (c == ':') die_hint(hint, "%s: missing value", argv[optind - 1]);
        else die_hint(hint, "unknown option '%s'", argv[optind - 1]);
    }
    if (optind < argc) die_hint(hint, "unexpected argument '%s'", argv[optind]);
    for (int i = 0; i < n; i++)
        if (cmd->opts[i].required && !given[i]) die_hint(hint, "missing --%s", cmd->opts[i].name);
    free(lo);
}

void dsah_set_threads(long long n) {
    if (n <= 0) return;
    omp_set_num_threads((int)n);
    openblas_set_num_threads((int)n);
}

const char *opt_file(const opt *o, int i, char *buf, size_t n) {
    const char *p = o->files ? o->files : "";
    for (int k = 0;; k++) {
        p += strspn(p, " ");
        if (!*p) return NULL;
        size_t len = strcspn(p, " ");
        if (k == i) {
            CHECK(len < n);
            memcpy(buf, p, len);
            buf[len] = '\0';
            return buf;
        }
        p += len;
    }
}

char *opt_output_path(const opt *o, const char *value, const char *file) {
    CHECK(o->type == OPT_OUT || o->type == OPT_OUTDIR);
    if (!file) {
        CHECK(o->type == OPT_OUT);
        return xstrdup(value);
    }
    char dir[4096];
    if (o->type == OPT_OUTDIR) snprintf(dir, sizeof dir, "%s", value);
    else path_dirname(value, dir, sizeof dir);
    return path_join(dir, file);
}

char *opt_output(const opt_cmd *cmd, const void *args, const char *name, const char *file) {
    const opt *o = opt_find(cmd, name);
    CHECK(o && (o->type == OPT_OUT || o->type == OPT_OUTDIR));
    const char *value = *(const char *const *)((const char *)args + o->off);
    CHECK(value);
    /* a file must be declared in .files: names are written once, in the table */
    int found = !file;
    char buf[256];
    for (int i = 0; file && opt_file(o, i, buf, sizeof buf); i++)
        if (!strcmp(buf, file)) found = 1;
    if (!found) {
        fprintf(stderr, "dsah-%s: internal error: %s is not declared in the .files of --%s\n", cmd->name, file, name);
        abort();
    }
    return opt_output_path(o, value, file);
}

/* ---- help and reference ------------------------------------------------- */

/* "(required)", "(default X)", plus the range: the tail of a help line. */
static void constraints(const opt *o, char *buf, size_t n) {
    size_t k = 0;
    buf[0] = '\0';
#define ADD(...) k += (size_t)snprintf(buf + k, k < n ? n - k : 0, __VA_ARGS__)
    if (o->required) ADD("required");
    else if (o->def) ADD("default %s", o->def);
    if (o->range) ADD("%s%s", k ? "; " : "", o->range);
    if (o->multiple) ADD("%sa multiple of %lld", k ? "; " : "", o->multiple);
    if (o->all) ADD("%s'all' = everything", k ? "; " : "");
#undef ADD
}

void opt_help_usage(const opt_cmd *cmd, FILE *fp) {
    fprintf(fp, "usage: dsah-%s", cmd->name);
    for (const opt *o = cmd->opts; o->name; o++)
        if (o->required) fprintf(fp, " --%s %s", o->name, default_arg(o));
    fprintf(fp, " [options]\n");
}

void opt_help(const opt_cmd *cmd, FILE *fp) {
    opt_help_usage(cmd, fp);
    fprintf(fp, "\n%s\n", cmd->about);
    for (const opt *o = cmd->opts; o->name; o++) {
        char head[128], tail[256];
        if (o->type == OPT_FLAG) snprintf(head, sizeof head, "  --%s", o->name);
        else snprintf(head, sizeof head, "  --%s %s", o->name, default_arg(o));
        fprintf(fp, "%-24s", head);
        if (strlen(head) >= 24) fprintf(fp, "\n%-24s", "");
        size_t col = 24;
        for (const char *p = o->help; *p; p++) {
            fputc(*p, fp);
            col++;
            if (*p == '\n' && p[1]) { fprintf(fp, "%-24s", ""); col = 24; }
        }
        constraints(o, tail, sizeof tail);
        /* the constraints on a line of their own when the line would pass 100 columns */
        if (tail[0] && col + strlen(tail) + 3 > 100) fprintf(fp, "\n%-24s(%s)", "", tail);
        else if (tail[0]) fprintf(fp, " (%s)", tail);
        fputc('\n', fp);
        if ((o->type == OPT_OUTDIR || o->type == OPT_OUT) && o->files) {
            fprintf(fp, "%-24swrites:", "");
            for (const char *p = o->files; *p;) {
                size_t len = strcspn(p, " ");
                fprintf(fp, " %s%.*s", o->type == OPT_OUTDIR ? "DIR/" : "", (int)len, p);
                p += len;
                p += strspn(p, " ");
            }
            fputc('\n', fp);
        }
    }
    fprintf(fp, "%-24sno info lines\n%-24sthis text\n", "  -q, --quiet", "  --help");
    if (cmd->more) fprintf(fp, "\n%s", cmd->more);
}

static void md_cell(FILE *fp, const char *s) {
    for (; *s; s++) {
        if (*s == '|') fputs("\\|", fp);
        else if (*s == '\n') fputc(' ', fp);
        else fputc(*s, fp);
    }
}

void opt_markdown(const opt_cmd *cmd, FILE *fp) {
    fprintf(fp, "| flag | value | default / range | YAML key | meaning |\n| --- | --- | --- | --- | --- |\n");
    for (const opt *o = cmd->opts; o->name; o++) {
        char tail[256];
        constraints(o, tail, sizeof tail);
        fprintf(fp, "| `--%s` | ", o->name);
        if (o->type != OPT_FLAG) {
            fputc('`', fp);
            md_cell(fp, default_arg(o));
            fputc('`', fp);
        }
        fputs(" | ", fp);
        md_cell(fp, tail);
        fprintf(fp, " | %s%s%s | ", o->key ? "`" : "", o->key ? o->key : "", o->key ? "`" : "");
        md_cell(fp, o->help);
        if (o->files) {
            fputs(" → ", fp);
            md_cell(fp, o->files);
        }
        if (o->nostamp) fputs(" (does not change results)", fp);
        fputs(" |\n", fp);
    }
}
