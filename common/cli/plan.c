/* cli/plan.c: the command line of dsah-plan (cli/stages.h). Not in
 * stage_cmds: dsah-plan is no stage of a pipeline, it writes their rules. */
#include "cli/stages.h"

#include "util/util.h"

const char **plan_sets, **plan_prints;
int plan_nsets, plan_nprints;

/* --set and --print repeat: each occurrence is appended (the lists live
 * until exit). */
static void append(const char ***list, int *n, const char *value) {
    *list = xrealloc(*list, sizeof(char *) * (size_t)(*n + 1));
    (*list)[(*n)++] = value;
}
static void add_set(const char *flag, const char *value) { append(&plan_sets, &plan_nsets, value); }
static void add_print(const char *flag, const char *value) { append(&plan_prints, &plan_nprints, value); }

#define A plan_args
static const opt plan_opts_table[] = {
    {"config", OPT_IN, OPT_FIELD(A, config), .arg = "FILE.yaml",
     .help = "the experiment (required, except with --keys, --keys-markdown, --flags-markdown)"},
    {"set", OPT_STR, .arg = "KEY=VALUE", .apply = add_set,
     .help = "override a key (repeatable; value in YAML flow syntax or a comma list)"},
    {"work", OPT_STR, OPT_FIELD(A, work), .arg = "DIR", .def = "work",
     .help = "work folder; the run directory is DIR/<name>"},
    {"bin", OPT_STR, OPT_FIELD(A, bin), .arg = "DIR", .def = "bin",
     .help = "where the stage binaries are; runs needing a stage that is not built\n"
             "are left out of the default goal"},
    {"out", OPT_STR, OPT_FIELD(A, out), .arg = "FILE", .help = "the Make fragment (default <run dir>/plan.mk)"},
    {"keys", OPT_FLAG, OPT_FIELD(A, keys), .help = "list the keys and exit"},
    {"keys-markdown", OPT_FLAG, OPT_FIELD(A, keys_markdown), .help = "the key table of pipelines/README.md, and exit"},
    {"flags-markdown", OPT_FLAG, OPT_FIELD(A, flags_markdown),
     .help = "every stage's flags from its table (the end of stages/README.md), and exit"},
    {"print", OPT_STR, .arg = "KEY", .apply = add_print,
     .help = "print the value of KEY (after --set and defaults) and exit (repeatable)"},
    {"threads", OPT_INT, OPT_FIELD(A, threads), .arg = "N", .range = "[1, 4096]", .nostamp = 1,
     .help = "accepted for uniformity with the stages; the planner is single-threaded"},
    {0}};

const opt_cmd plan_cmd = {"plan", "Turns a pipeline YAML into a Make fragment (see pipelines/README.md).\n",
                          plan_opts_table, "Prints the run directory on stdout.\n"};
