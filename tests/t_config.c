/* t_config: the YAML loader and its errors (file, line, key named; nearest
 * key suggested), canonical values, --set overrides and unsafe values. */
#define _GNU_SOURCE
#include "cli/config.h"
#include "tap.h"
#include "util/util.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[] = "/tmp/t_config.XXXXXX";

static const char *write_yaml(const char *name, const char *text) {
    static char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *fp = fopen(path, "w");
    CHECK(fp);
    fputs(text, fp);
    fclose(fp);
    return path;
}

#define BASE "dataset: {source: mnist, path: d, query_per_class: 5, train_per_class: 20}\n"

/* load text; return 0/-1 and the message in err */
static int load(const char *text, char *err, size_t n, const char *const *sets, int nsets) {
    cfg c;
    int r = cfg_load(&c, write_yaml("x.yaml", text), sets, nsets, err, n);
    cfg_free(&c);
    return r;
}

static int has(const char *s, const char *sub) { return strstr(s, sub) != NULL; }

int main(void) {
    CHECK(mkdtemp(dir));
    char err[1024], path[600];
    snprintf(path, sizeof path, "%s/x.yaml", dir);

    /* a valid file, defaults and canonical values */
    cfg c;
    int r = cfg_load(&c, write_yaml("x.yaml", BASE "train:\n  lr: 1.0e-4\n  bits: [16, 32]\n  and: no\n"), NULL, 0, err, sizeof err);
    ok(r == 0, "valid file loads (%s)", r ? err : "");
    if (r == 0) {
        ok(!strcmp(cfg_str(&c, "name"), "x"), "name defaults to the file's stem");
        ok(!strcmp(cfg_str(&c, "train.lr"), "0.0001"), "1.0e-4 is canonical 0.0001 (got %s)", cfg_str(&c, "train.lr"));
        ok(cfg_get(&c, "train.bits")->n == 2 && cfg_int(&c, "train.bits") == 16, "bits as a list");
        ok(cfg_bool(&c, "train.and") == 0, "and: no is false");
        ok(cfg_get(&c, "train.tau")->set == 3 && !strcmp(cfg_str(&c, "train.tau"), "1"), "tau defaults to 1, marked as default");
        ok(cfg_get(&c, "dataset.path")->line == 1, "line of a value is recorded");
    }
    cfg_free(&c);
    r = cfg_load(&c, write_yaml("x.yaml", BASE "train: {bits: 64}\n"), NULL, 0, err, sizeof err);
    ok(r == 0 && cfg_get(&c, "train.bits")->n == 1 && cfg_int(&c, "train.bits") == 64, "bits as a scalar");
    cfg_free(&c);

    /* unknown key: file, line, key, suggestion */
    r = load(BASE "train:\n  epochs: 3\n  gama: 0.5\n", err, sizeof err, NULL, 0);
    char want[700];
    snprintf(want, sizeof want, "%s:4: train.gama: unknown key; did you mean 'train.gamma'?", path);
    ok(r < 0 && !strcmp(err, want), "unknown key: '%s'", err);
    r = load(BASE "grpah: {k1: 3}\n", err, sizeof err, NULL, 0);
    ok(r < 0 && has(err, ":2: grpah: unknown key; did you mean 'graph'?"), "unknown section suggests the section: '%s'", err);
    r = load(BASE "completely_other: 1\n", err, sizeof err, NULL, 0);
    ok(r < 0 && has(err, ":2: completely_other: unknown key") && !has(err, "did you mean"), "no far-fetched suggestion: '%s'", err);

    /* wrong types */
    r = load(BASE "train:\n  epochs: ten\n", err, sizeof err, NULL, 0);
    ok(r < 0 && has(err, ":3: train.epochs: expected an integer, got 'ten'"), "wrong type: '%s'", err);
    r = load(BASE "train: {tau: [1, 2]}\n", err, sizeof err, NULL, 0);
    ok(r < 0 && has(err, ":2: train.tau: expected a single number, got a list"), "list for a scalar: '%s'", err);
    r = load(BASE "train: 5\n", err, sizeof err, NULL, 0);
    ok(r < 0 && has(err, ":2: train: expected a mapping"), "scalar for a section: '%s'", err);
    r = load(BASE "train: {pic: pic0}\n", err, sizeof err, NULL, 0);
    ok(r < 0 && has(err, ":2: train.pic: pic0: must be one of pic|pic-minus|none (dsah-train --pic)"),
       "bad choice, with the stage table's words: '%s'", err);
    r = load(BASE "graph: {k1: 0}\n", err, sizeof err, NULL, 0);
    ok(r < 0 && has(err, ":2: graph.k1: 0: must be in [1, 2147483647] (dsah-graph --k1)"), "out of range: '%s'", err);
    /* the two drift cases of issue 12: a value one stage fed by the key
     * rejects is rejected here, with that stage's range */
    r = load(BASE "train:\n  bits: [16, 12]\n", err, sizeof err, NULL, 0);
    ok(r < 0 && has(err, "x.yaml:3: train.bits: 12: must be a multiple of 8 (dsah-baseline --bits)"),
       "bits 12: rejected for the baseline: '%s'", err);
    {
        const char *sets[] = {"train.batch=200000"};
        r = load(BASE, err, sizeof err, sets, 1);
        ok(r < 0 && has(err, "--set: train.batch: 200000: must be in [2, 100000] (dsah-train --batch)"),
           "--set train.batch=200000: dsah-train's limit: '%s'", err);
        const char *sets2[] = {"train.batch=100000", "train.bits=[8,4096]", "sweep.bits=[1]"};
        r = load(BASE, err, sizeof err, sets2, 2);
        ok(r == 0, "the limits themselves pass: '%s'", r ? err : "");
        r = load(BASE, err, sizeof err, sets2 + 2, 1);
        ok(r == 0, "sweep.bits 1: train allows it (sweeps run no baseline): '%s'", r ? err : "");
        const char *sets3[] = {"sweep.gamma=[0,nan]"};
        r = load(BASE, err, sizeof err, sets3, 1);
        ok(r < 0 && has(err, "sweep.gamma"), "sweep.gamma checked: '%s'", err);
    }
    r = load(BASE "network: {arch: [conv3-4, pool, fcc-16]}\n", err, sizeof err, NULL, 0);
    ok(r < 0 && has(err, "network.arch: 'fcc-16' is not a layer"), "bad layer: '%s'", err);
    r = load(BASE "train:\n  epochs: 3\n  epochs: 4\n", err, sizeof err, NULL, 0);
    ok(r < 0 && has(err, ":4: train.epochs: duplicate key (first on line 3)"), "duplicate key: '%s'", err);
    r = load(BASE "train: {lr: \n", err, sizeof err, NULL, 0);
    ok(r < 0 && has(err, "YAML syntax error"), "syntax error: '%s'", err);

    /* missing required values */
    r = load("name: a\ndataset:\n  source: mnist\n  query_per_class: 5\n  train_per_class: 20\n", err, sizeof err, NULL, 0);
    ok(r < 0 && has(err, ":2: dataset.path: required value missing"), "missing required: '%s'", err);
    r = load("dataset: {source: mnist, path: d, query_per_class: 5}\n", err, sizeof err, NULL, 0);
    ok(r < 0 && has(err, "give query_per_class and train_per_class, or query and train"), "split needs a pair: '%s'", err);
    r = load(BASE "features: {extractor: vgg19}\n", err, sizeof err, NULL, 0);
    ok(r < 0 && has(err, ":2: features.weights: required value missing"), "vgg19 needs weights: '%s'", err);

    /* unsafe values: shell and Make metacharacters */
    r = load("name: x; rm -rf ~\n" BASE, err, sizeof err, NULL, 0);
    ok(r < 0 && has(err, ":1: name: 'x; rm -rf ~' is not a safe name (character ';'"), "name with ';' rejected: '%s'", err);
    r = load(BASE "network: {weights: \"$(touch /tmp/pwned)\"}\n", err, sizeof err, NULL, 0);
    ok(r < 0 && has(err, ":2: network.weights: '$(touch /tmp/pwned)' has an unsafe character '$'"), "path with $(...) rejected: '%s'", err);
    const char *bad[] = {"`id`", "a b", "a'b", "a\"b", "a#b", "a\\b", "-rf", "a*b", "a%b", "a|b", "a&b", "a\nb"};
    int all_bad = 1;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) all_bad &= cfg_bad_char_path(bad[i]) != 0 && cfg_bad_char_name(bad[i]) != 0;
    ok(all_bad, "every shell/Make metacharacter is unsafe in paths and names");
    ok(cfg_bad_char_path("/usr/share/datasets/fashion-mnist") == 0 && cfg_bad_char_name("fashion-mnist_2.b") == 0, "ordinary paths and names are safe");

    /* --set */
    const char *sets[] = {"train.gamma=-0.5", "sweep.tau=0.5 2", "train.bits=[16,64]"};
    r = cfg_load(&c, write_yaml("x.yaml", BASE), sets, 3, err, sizeof err);
    ok(r == 0 && !strcmp(cfg_str(&c, "train.gamma"), "-0.5") && cfg_get(&c, "train.gamma")->set == 2, "--set a scalar");
    ok(r == 0 && cfg_get(&c, "sweep.tau")->n == 2 && !strcmp(cfg_get(&c, "sweep.tau")->v[1], "2"), "--set a space list");
    ok(r == 0 && cfg_get(&c, "train.bits")->n == 2 && !strcmp(cfg_get(&c, "train.bits")->v[1], "64"), "--set a flow list");
    cfg_free(&c);
    const char *bad_set[] = {"train.gama=1"};
    r = load(BASE, err, sizeof err, bad_set, 1);
    ok(r < 0 && has(err, "train.gama: unknown key; did you mean 'train.gamma'?"), "--set unknown key: '%s'", err);
    const char *bad_set2[] = {"dataset.path=$(reboot)"};
    r = load(BASE, err, sizeof err, bad_set2, 1);
    ok(r < 0 && has(err, "unsafe character '$'"), "--set unsafe value: '%s'", err);

    /* helpers */
    ok(cfg_edit_distance("kitten", "sitting") == 3 && cfg_edit_distance("", "abc") == 3 && cfg_edit_distance("a", "a") == 0,
       "edit distance on hand-worked cases");
    char buf[64];
    cfg_fmt_double(buf, sizeof buf, 0.1);
    ok(!strcmp(buf, "0.1"), "0.1 prints as 0.1");
    cfg_fmt_double(buf, sizeof buf, 1.0 / 3.0);
    ok(strtod(buf, NULL) == 1.0 / 3.0, "1/3 round-trips (%s)", buf);

    char cmd[700];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) diag("could not remove %s", dir);
    return done_testing();
}
