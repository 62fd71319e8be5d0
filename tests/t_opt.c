/* t_opt: the option-table parser (util/opt.h): values of every type,
 * defaults, the one wording of every error (run in a child, stderr read
 * back), opt_check as dsah-plan uses it, opt_output, and a self-check of
 * every stage's table (field sizes, defaults valid, ranges well formed). */
#define _GNU_SOURCE
#include "cli/config.h"
#include "cli/stages.h"
#include "tap.h"
#include "util/opt.h"
#include "util/util.h"

#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

typedef struct demo_args {
    long long bits, seed;
    opt_list topk;
    double lr;
    const char *method, *codes, *w, *out, *name;
    int real;
} demo_args;

#define A demo_args
static const opt demo_opts[] = {
    {"bits", OPT_INT, OPT_FIELD(A, bits), .arg = "L", .range = "[8, 4096]", .multiple = 8, .required = 1,
     .key = "train.bits", .help = "code length"},
    {"seed", OPT_INT, OPT_FIELD(A, seed), .range = "[0, 9223372036854775807]", .def = "7", .help = "seed"},
    {"topk", OPT_INTS, OPT_FIELD(A, topk), .range = "[1, 100]", .all = 1, .def = "10,all", .help = "cutoffs"},
    {"lr", OPT_FLOAT, OPT_FIELD(A, lr), .range = "(0, inf)", .def = "0.0001", .help = "learning rate"},
    {"method", OPT_ENUM, OPT_FIELD(A, method), .choices = "lsh|itq", .def = "lsh", .help = "method"},
    {"codes", OPT_IN, OPT_FIELD(A, codes), .help = "input"},
    {"w", OPT_OUT, OPT_FIELD(A, w), .files = "and.json", .help = "output file and one beside it"},
    {"out", OPT_OUTDIR, OPT_FIELD(A, out), .files = "a.npy b.json", .help = "output dir"},
    {"name", OPT_STR, OPT_FIELD(A, name), .help = "a name"},
    {"real", OPT_FLAG, OPT_FIELD(A, real), .help = "a switch"},
    {0}};
static const opt_cmd demo_cmd = {"demo", "A demo.\n", demo_opts, NULL};

/* Parse argv in a child; return its exit status and its stderr in err. */
static int parse_child(char *err, size_t n, const char *const *argv) {
    int argc = 0;
    while (argv[argc]) argc++;
    char tmpl[] = "/tmp/t_opt.XXXXXX";
    int fd = mkstemp(tmpl);
    CHECK(fd >= 0);
    fflush(stdout);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        dup2(fd, 2);
        int devnull = open("/dev/null", 1);
        dup2(devnull, 1);
        demo_args a;
        opt_parse(&demo_cmd, &a, argc, (char **)argv);
        exit(0);
    }
    int st;
    waitpid(pid, &st, 0);
    ssize_t got = pread(fd, err, n - 1, 0);
    err[got > 0 ? got : 0] = '\0';
    close(fd);
    unlink(tmpl);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

static int expect_error(const char *want, const char *const *argv) {
    char err[1024];
    int rc = parse_child(err, sizeof err, argv);
    return ok(rc == 1 && strstr(err, want) && strncmp(err, "dsah-t_opt: error: ", 19) == 0,
              "error '%s' (exit %d): %.*s", want, rc, (int)strcspn(err, "\n"), err);
}

int main(void) {
    dsah_init("dsah-t_opt");
    demo_args a;
    {
        const char *argv[] = {"x", "--bits", "64", "--topk=5,all,100", "--lr", "1e-3", "--method", "itq", "--codes",
                              "c.npy", "--w", "r/w.npy", "--out", "o", "--real", "-q", NULL};
        opt_parse(&demo_cmd, &a, 16, (char **)argv);
        ok(a.bits == 64 && a.seed == 7 && a.lr == 1e-3 && !strcmp(a.method, "itq") && !strcmp(a.codes, "c.npy") &&
               a.real == 1 && a.name == NULL && dsah_quiet == 1,
           "values of every type, default seed 7, absent string NULL, -q sets quiet");
        ok(a.topk.n == 3 && a.topk.v[0] == 5 && a.topk.v[1] == 0 && a.topk.v[2] == 100, "list 5,all,100 -> 5,0,100");
        ok(opt_given("bits") && opt_given("real") && !opt_given("seed") && !opt_given("name"), "opt_given");
        char *p1 = opt_output(&demo_cmd, &a, "out", "b.json"), *p2 = opt_output(&demo_cmd, &a, "w", "and.json"),
             *p3 = opt_output(&demo_cmd, &a, "w", NULL);
        ok(!strcmp(p1, "o/b.json") && !strcmp(p2, "r/and.json") && !strcmp(p3, "r/w.npy"),
           "opt_output: in the directory, beside the file, the file: %s %s %s", p1, p2, p3);
        free(p1), free(p2), free(p3);
        dsah_quiet = 0;
    }
    {
        const char *argv[] = {"x", "--bits", "8", NULL};
        opt_parse(&demo_cmd, &a, 3, (char **)argv);
        ok(a.topk.n == 2 && a.topk.v[0] == 10 && a.topk.v[1] == 0 && a.lr == 1e-4 && !strcmp(a.method, "lsh") &&
               a.real == 0,
           "defaults of list, float, enum, flag");
    }
    /* the one wording */
    expect_error("--bits 12: must be a multiple of 8", (const char *[]){"x", "--bits", "12", NULL});
    expect_error("--bits 4104: must be in [8, 4096]", (const char *[]){"x", "--bits", "4104", NULL});
    expect_error("--bits 1x: not an integer", (const char *[]){"x", "--bits", "1x", NULL});
    expect_error("--lr 0: must be in (0, inf)", (const char *[]){"x", "--bits", "8", "--lr", "0", NULL});
    expect_error("--lr nan: not a finite number", (const char *[]){"x", "--bits", "8", "--lr", "nan", NULL});
    expect_error("--method pca: must be one of lsh|itq", (const char *[]){"x", "--bits", "8", "--method", "pca", NULL});
    expect_error("--topk 5,0: element 0: must be in [1, 100]", (const char *[]){"x", "--bits", "8", "--topk", "5,0", NULL});
    expect_error("--topk 5,: not a comma-separated list", (const char *[]){"x", "--bits", "8", "--topk", "5,", NULL});
    expect_error("missing --bits", (const char *[]){"x", "--seed", "1", NULL});
    expect_error("unknown option '--bogus'", (const char *[]){"x", "--bits", "8", "--bogus", NULL});
    expect_error("--bits: missing value", (const char *[]){"x", "--bits", NULL});
    expect_error("unexpected argument 'extra'", (const char *[]){"x", "--bits", "8", "extra", NULL});
    {
        char err[1024];
        int rc = parse_child(err, sizeof err, (const char *[]){"x", "--help", NULL});
        ok(rc == 0 && err[0] == '\0', "--help exits 0 with nothing on stderr");
    }
    /* opt_check: what dsah-plan runs on YAML values */
    const opt *bits = opt_find(&demo_cmd, "bits");
    ok(opt_check(bits, "64") == NULL && !strcmp(opt_check(bits, "12"), "must be a multiple of 8") &&
           !strcmp(opt_check(bits, "0"), "must be in [8, 4096]"),
       "opt_check: 64 ok, 12 and 0 rejected with the parser's words");
    ok(opt_find(&demo_cmd, "nope") == NULL, "opt_find of an unknown flag is NULL");

    /* every stage's table: field sizes match the types, defaults are valid
     * values, ranges are well formed (opt_parse aborts otherwise), and no
     * flag is declared twice */
    for (const opt_cmd *const *c = stage_cmds; *c; c++) {
        const opt_cmd *cmd = *c;
        int bad = 0;
        for (const opt *o = cmd->opts; o->name; o++) {
            if (o->def && opt_check(o, o->def)) bad = 1;
            for (const opt *p = cmd->opts; p < o; p++)
                if (!strcmp(p->name, o->name)) bad = 1;
            if (o->type == OPT_OUTDIR && !o->files) bad = 1;
            if (o->key && cfg_find(o->key) < 0) bad = 1; /* every YAML key a flag names exists */
        }
        fflush(stdout);
        pid_t pid = fork();
        if (pid == 0) {
            int devnull = open("/dev/null", 1);
            dup2(devnull, 1);
            dup2(devnull, 2);
            char buf[4096];
            const char *argv[] = {"x", "--help", NULL};
            opt_parse(cmd, buf, 2, (char **)argv);
            exit(3);
        }
        int st;
        waitpid(pid, &st, 0);
        ok(!bad && WIFEXITED(st) && WEXITSTATUS(st) == 0,
           "dsah-%s: table consistent (defaults valid, no duplicate, YAML keys exist, field sizes, --help)", cmd->name);
    }
    return done_testing();
}
