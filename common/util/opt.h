/* opt.h: one declarative table per stage for its command line (in the spirit
 * of git's parse_options).
 *
 * A stage's contract is one `opt_cmd`: its name, a paragraph for --help and
 * a table of `opt` entries. Each entry says, once: the flag, the value type,
 * the range, the default, the YAML key that feeds it (if any), whether it
 * changes results (is stamped), whether it names an input or an output
 * artifact (and which files an output directory receives), and the help
 * line. From the table, and nowhere else, come:
 *
 *   - the stage's argument parsing into its args struct (opt_parse),
 *   - its --help text (opt_help),
 *   - one wording for every command-line error:
 *         dsah-<stage>: error: --bits 12: must be a multiple of 8
 *   - the value check dsah-plan runs on a YAML value before anything runs
 *     (opt_check, the same ranges),
 *   - the output file names (opt_output), so the stage and the planner
 *     cannot disagree about them.
 *
 * Tables live in common/cli/ (one file per stage, the args struct in
 * cli/stages.h) so that dsah-plan can read every stage's table; the stage's
 * main includes cli/stages.h and calls opt_parse. Adding a flag is one
 * table entry plus its use.
 *
 * Example (a stage "demo" with a required int, an optional list, an input
 * and an output directory):
 *
 *     // cli/stages.h
 *     typedef struct demo_args {
 *         long long bits;           // OPT_INT   -> long long
 *         opt_list topk;            // OPT_INTS  -> opt_list
 *         const char *codes, *out;  // OPT_IN / OPT_OUTDIR -> const char *
 *         long long threads;
 *     } demo_args;
 *     extern const opt_cmd demo_cmd;
 *
 *     // cli/demo.c
 *     #define A demo_args
 *     static const opt demo_opts[] = {
 *         {"bits", OPT_INT, OPT_FIELD(A, bits), .arg = "L", .range = "[8, 4096]", .multiple = 8,
 *          .required = 1, .key = "train.bits", .help = "code length"},
 *         {"topk", OPT_INTS, OPT_FIELD(A, topk), .arg = "LIST", .range = "[1, 1099511627776]",
 *          .all = 1, .def = "1000,all", .key = "eval.topk", .help = "mAP cutoffs"},
 *         {"codes", OPT_IN, OPT_FIELD(A, codes), .required = 1, .help = "codes u1 [n, L/8]"},
 *         OPT_THREADS(A, threads),
 *         {"out", OPT_OUTDIR, OPT_FIELD(A, out), .required = 1, .files = "metrics.json pr.csv",
 *          .help = "output directory"},
 *         {0}};
 *     const opt_cmd demo_cmd = {"demo", "What the stage does.\n", demo_opts};
 *
 *     // stages/demo.c
 *     int main(int argc, char **argv) {
 *         demo_args a;
 *         opt_parse(&demo_cmd, &a, argc, argv);   // dies with one line on bad input
 *         dsah_set_threads(a.threads);
 *         char *metrics = opt_output(&demo_cmd, &a, "out", "metrics.json");
 *         ...
 *     }
 *
 * -q/--quiet (sets dsah_quiet) and --help are in every stage and need no
 * entry. */
#ifndef DSAH_OPT_H
#define DSAH_OPT_H

#include <stddef.h>
#include <stdio.h>

typedef enum opt_type {
    OPT_FLAG,    /* no value; int field set to 1 when given */
    OPT_INT,     /* long long in .range, a multiple of .multiple when set */
    OPT_INTS,    /* opt_list: comma list of ints in .range; "all" -> 0 when .all */
    OPT_FLOAT,   /* double: finite, in .range when given ("(0, inf)") */
    OPT_STR,     /* const char *: any text */
    OPT_ENUM,    /* const char *: one of .choices ("lsh|itq") */
    OPT_IN,      /* const char *: path of an input artifact */
    OPT_OUT,     /* const char *: path of an output file; .files: more files
                    written beside it (same directory) */
    OPT_OUTDIR   /* const char *: output directory; .files: the files written in it */
} opt_type;

/* OPT_INTS value. v is xmalloc'ed (never freed: lives until exit). */
typedef struct opt_list {
    int n;
    long long *v;
} opt_list;

typedef struct opt {
    const char *name;      /* long flag without "--", e.g. "bits" */
    opt_type type;
    size_t off, size;      /* field in the args struct: OPT_FIELD(T, f) */
    const char *arg;       /* metavariable in --help ("L", "F", "DIR"); a default per type */
    const char *range;     /* ints and floats: "[lo, hi]", "(0, inf)", "[0, inf)" (inclusive [ ], exclusive ( )) */
    long long multiple;    /* OPT_INT/OPT_INTS: value must be a multiple of it (0: any) */
    int all;               /* OPT_INTS: "all" is accepted and stored as 0 */
    const char *choices;   /* OPT_ENUM: "a|b|c" */
    const char *def;       /* default as command-line text (NULL: none; then 0 / NULL / empty list) */
    int required;          /* must be given */
    const char *key;       /* YAML key that feeds it (dsah-plan), or NULL */
    int nostamp;           /* not stamped: changes results at most within float rounding (threads: BLAS sums in a thread-dependent order; device; inference batch) */
    const char *files;     /* OPT_OUT/OPT_OUTDIR: space-separated file names (see opt_output) */
    const char *help;      /* one line (more lines with "\n") */
    /* Instead of a field (OPT_FIELD left 0, 0): called with "--flag" and the
     * value at each occurrence, so the flag may repeat (--limit KEY=N). */
    void (*apply)(const char *flag, const char *value);
} opt;

/* The field of an args struct an entry writes, with its size (checked by
 * opt_parse against the type, so a wrong field type fails at once). */
#define OPT_FIELD(T, f) offsetof(T, f), sizeof(((T *)0)->f)

/* The standard entries of the common flags (stages/README.md). */
#define OPT_THREADS(T, f)                                                                              \
    {"threads", OPT_INT, OPT_FIELD(T, f), .arg = "N", .range = "[1, 4096]", .nostamp = 1,                 \
     .help = "OpenMP/OpenBLAS threads (default: all cores)"}
#define OPT_DEVICE(T, f)                                                                               \
    {"device", OPT_STR, OPT_FIELD(T, f), .arg = "D", .def = "auto", .nostamp = 1, .key = "train.device", \
     .help = "auto | cpu | cuda[:N] (auto: the GPU when the build has CUDA, the run a CUDA\n"             \
             "path and a GPU is present; util/device.h)"}

typedef struct opt_cmd {
    const char *name;      /* "baseline": the binary is dsah-baseline */
    const char *about;     /* what the stage does, for --help (lines end in "\n") */
    const opt *opts;       /* terminated by an entry with name NULL */
    const char *more;      /* text after the flags in --help, or NULL */
} opt_cmd;

/* Fill *args (memset to 0 first, then the defaults) from argv. Prints --help
 * and exits 0 on --help; sets dsah_quiet on -q/--quiet. Every error dies with
 * one line "dsah-<stage>: error: --flag value: problem" (unknown flags with a
 * hint line naming --help). */
void opt_parse(const opt_cmd *cmd, void *args, int argc, char **argv);

/* 1 when the flag was given on the command line (after opt_parse). */
int opt_given(const char *name);

/* The --help text; opt_help_usage: its first line ("usage: dsah-x --a A ... [options]"). */
void opt_help(const opt_cmd *cmd, FILE *fp);
void opt_help_usage(const opt_cmd *cmd, FILE *fp);

/* Check one value text against an entry: NULL when valid, else the problem
 * ("must be a multiple of 8", "must be in [8, 4096]", ...) in a static
 * buffer. dsah-plan calls it on YAML values; opt_parse on argv. */
const char *opt_check(const opt *o, const char *text);

/* The entry of flag name in cmd, or NULL. */
const opt *opt_find(const opt_cmd *cmd, const char *name);

/* The path of output file `file` of output entry `name`: inside the
 * directory (OPT_OUTDIR) or beside the file (OPT_OUT). `file` must be one of
 * the entry's .files (or, for OPT_OUT, the file itself when file is NULL):
 * anything else is an internal error, so names are declared once, in the
 * table. Fresh string. */
char *opt_output(const opt_cmd *cmd, const void *args, const char *name, const char *file);

/* The i-th name in o->files into buf; NULL past the last. */
const char *opt_file(const opt *o, int i, char *buf, size_t n);
/* Path of `file` for output entry o whose value is `value` (the flag's
 * argument): value/file for OPT_OUTDIR (no doubled '/'), dirname(value)/file
 * for OPT_OUT; value itself when file is NULL (OPT_OUT). Fresh string. Used
 * by opt_output and by dsah-plan, which has the value but no args struct. */
char *opt_output_path(const opt *o, const char *value, const char *file);

/* Set OpenMP and OpenBLAS threads when n > 0 (the --threads flag). */
void dsah_set_threads(long long n);

/* Markdown reference of a stage's flags (stages/README.md). */
void opt_markdown(const opt_cmd *cmd, FILE *fp);

/* 1 when s is one of the alternatives of choices ("a|b|c"), exactly. */
int opt_in_choices(const char *choices, const char *s);

#endif
