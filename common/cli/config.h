/* config.h: pipeline experiment files (YAML, read with libyaml).
 *
 * cfg_keys[] below is the schema of the file: every key with its YAML type
 * (scalar or list, how values are canonicalised), its YAML default and a
 * one-line doc. The values a key may take come from the flag it feeds: every
 * entry of a stage table (cli/stages.h) that names the key checks each value
 * with opt_check, the same check the stage runs on its command line, so
 * `bits: 12` fails here, naming file, line and key, when dsah-baseline would
 * reject --bits 12. Only planner-only keys (name, train.rounds, train.and,
 * eval.baseline_features) carry their own range or choices here. dsah-plan
 * validates a YAML file against it (unknown keys, wrong types, missing
 * required values and unsafe characters are errors naming file, line and
 * key), prints it as Markdown (--keys-markdown, the table of
 * pipelines/README.md) and reads the values through the accessors.
 *
 * Values are kept as canonical strings (numbers in their shortest exact
 * form, booleans as true/false), one per list element, so that the same
 * value always yields the same command line and the same params stamp.
 *
 * Every string that reaches a command line is restricted to a safe character
 * set (cfg_safe_*): a YAML file can never inject shell or Make syntax. */
#ifndef DSAH_CONFIG_H
#define DSAH_CONFIG_H

#include <stddef.h>
#include <stdio.h>

typedef enum cfg_type {
    CT_INT,      /* integer in [lo, hi] */
    CT_FLOAT,    /* finite real */
    CT_BOOL,     /* true/false (also yes/no, on/off) */
    CT_ENUM,     /* one of the '|'-separated choices */
    CT_NAME,     /* identifier: [A-Za-z0-9._-], not starting with '.' or '-' */
    CT_PATH,     /* file or directory path: [A-Za-z0-9._/+@,=-], no leading '-' */
    CT_STR,      /* free token with the path character set (e.g. cuda:0) */
    CT_INTS,     /* int or list of ints (a scalar is a one-element list) */
    CT_FLOATS,   /* real or list of reals */
    CT_TOPK,     /* list of positive ints or "all" */
    CT_ENUMS,    /* list of choices */
    CT_ARCH      /* "vgg19" or a list of layer tokens (conv3-N, pool, fc-N, dropout-P) */
} cfg_type;

/* Key flags. */
#define CF_REQUIRED 1u  /* no default: must be given */
#define CF_OPTIONAL 2u  /* no default: absent means "not used" (the stage's own default) */

typedef struct cfg_key {
    const char *key;      /* dotted path, e.g. "train.lr_decay.every" */
    cfg_type type;
    const char *def;      /* default as YAML text (lists as "a,b"); NULL if none */
    unsigned flags;
    const char *choices;  /* CT_ENUM/CT_ENUMS: "a|b|c" for planner-only keys; for a key that feeds a
                             flag, the values besides the flag's own that the planner handles
                             (eval.baselines: ssdh and greedyhash are training runs, not dsah-baseline methods) */
    double lo, hi;        /* CT_INT range of planner-only keys (lo == hi: none here) */
    const char *feeds;    /* NULL: the flags whose table entry names this key;
                             "plan": read by dsah-plan only; "<stage> --<flag>":
                             fed to that flag through the planner (sweeps) */
    const char *doc;
} cfg_key;

extern const cfg_key cfg_keys[];
extern const int cfg_nkeys;

/* One value slot per key. */
typedef struct cfg_val {
    int set;        /* 0 absent, 1 from the file, 2 from --set, 3 default */
    int line;       /* line in the file (1-based), 0 when not from the file */
    int n;          /* number of elements (1 for scalars) */
    char **v;       /* canonical strings */
} cfg_val;

typedef struct cfg {
    char *path;          /* the YAML file */
    char *stem;          /* its basename without .yaml/.yml */
    cfg_val *vals;       /* [cfg_nkeys] */
    int nsec;            /* sections seen in the file, for error lines */
    char *sec_name[32];
    int sec_line[32];
} cfg;

/* Load and validate path; apply the overrides ("key=value", value in YAML
 * flow syntax or comma/space separated list) in order; fill defaults.
 * Returns 0, or -1 with a message "file:line: key: problem" in err. On
 * success defaults are marked set == 3 (see cfg_print_defaults). */
int cfg_load(cfg *c, const char *path, const char *const *sets, int nsets, char *err, size_t errn);
void cfg_free(cfg *c);

/* Index of key in cfg_keys, -1 when unknown. */
int cfg_find(const char *key);
/* The valid key nearest to an unknown one (edit distance), or NULL. */
const char *cfg_suggest(const char *key);
/* Levenshtein distance (exposed for the tests). */
int cfg_edit_distance(const char *a, const char *b);

/* Accessors (the key must exist in the table; absent optional keys give
 * NULL / 0 elements). */
const cfg_val *cfg_get(const cfg *c, const char *key);
const char *cfg_str(const cfg *c, const char *key);     /* first element or NULL */
long long cfg_int(const cfg *c, const char *key);
double cfg_double(const cfg *c, const char *key);
int cfg_bool(const cfg *c, const char *key);
/* The elements joined with sep into a fresh string ("" when absent). */
char *cfg_join(const cfg *c, const char *key, const char *sep);

/* Print "dsah-plan: default: key = value" once for every default in use. */
void cfg_print_defaults(const cfg *c);

/* Canonical shortest round-trip text of a double into buf. */
void cfg_fmt_double(char *buf, size_t n, double x);

/* Character-set checks used for values and for names given on the command
 * line. Return the first offending character, or 0 when the text is safe. */
int cfg_bad_char_name(const char *s);
int cfg_bad_char_path(const char *s);

/* The schema as a Markdown table (pipelines/README.md embeds it). */
void cfg_keys_markdown(FILE *fp);

#endif
