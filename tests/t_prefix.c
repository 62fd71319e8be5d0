/* t_prefix.c: the frozen prefix computed once (nn/prefix.h) gives the same
 * training, encoding and features as running it every time.
 *
 * A small VGG-shaped list net (conv3-8,conv3-8,pool,conv3-16,pool,fc-32,
 * dropout-0.5,fc-32,dropout-0.5 + hash.fc to 12 bits, 16x16x3 images) and
 * net.h's vgg19 at input 32 (VGG-19's convolution and fc7 shapes, fc6
 * [4096,512]) with random weights. Checked:
 *   - layer labels and net_prefix_layer (exact: integer logic; fc -> pool2 /
 *     pool5, head -> relu3 / relu6, stopping before the first dropout);
 *   - prefix_write rows equal net_forward_to on the same batch of images
 *     exactly (the same computation) and on single images within 1e-5 of the
 *     row's largest value (other GEMM batch composition);
 *   - net_forward_from(cache) = net_forward(images): exactly with the cache
 *     written by the same batches, within 1e-5 otherwise;
 *   - encode_write with the cache: the same f4 outputs exactly when the batches
 *     agree, within 1e-5 when they do not, and the same packed codes;
 *   - train_run, finetune fc, 2 epochs with and without the cache: the frozen
 *     parameters are byte-identical (never touched), the trained ones agree
 *     within 1e-4 absolute (Adam steps of lr 1e-3 on gradients that differ
 *     by float rounding), the per-epoch losses within 1e-4 relative;
 *   - a cache past the trainable prefix, or of the wrong width, is refused
 *     (non-zero exit, nothing trained);
 *   - vgg19 relu7 from a pool5 cache (features_write --layer pool5, then
 *     --prefix-cache) within 1e-5 of relu7 from the images, relative to the
 *     row's largest value;
 *   - the stages (bin/, DSAH_BIN): dsah-features --layer pool5 writes the cache
 *     of 16 images, dsah-encode --prefix-cache gives outputs within 1e-5 of
 *     the run from the images, dsah-train --finetune fc --prefix-cache (one
 *     epoch) keeps the convolutions byte-identical and the trained layers
 *     within 1e-4 of the run from the images;
 *   - the training split read from another split's cache (--prefix-indices,
 *     as the plan reads db's): the reference is a cache file of exactly the
 *     training rows, gathered in training order from the larger cache by a
 *     linear search. The same floats go into the same batches, so
 *     prefix_cache_gather, encode_write (f4 and codes), train_run (2 epochs:
 *     every parameter, every epoch's loss), the vgg19 relu7 of
 *     features_write, and the stages dsah-encode and dsah-train are
 *     identical (bytes) through the map; the cache lists are shuffled; an
 *     image missing from the cache's list, an image listed twice, a list of
 *     the wrong length and --prefix-indices without --prefix-cache are each
 *     refused in one line (the exact messages, naming the files and the
 *     image) with nothing written;
 *   - GreedyHash's head (dsah-train --frozen-eval, eval.greedyhash_finetune):
 *     net_frozen_eval's layer and dropouts (exact: small net head -> relu4,
 *     vgg19 head -> relu7, fc -> pool5); greedyhash training of the hash
 *     layer only, 2 epochs, from the images and from a cache of relu4 (past
 *     two dropouts): every frozen parameter byte-identical to the initial
 *     network, the trained ones within 1e-4 of each other, the losses within
 *     1e-4 relative, and the frozen dropouts really off (the same run with
 *     them on ends > 1e-3 away); that cache without --frozen-eval refused;
 *     encode from the relu4 cache (batch 5) within 1e-5 of the images
 *     (batch 8), the same code bits wherever |z| > 1e-4;
 *   - the plan's GreedyHash head on the vgg19 stages: relu7 features from the
 *     pool5 cache, dsah-train --loss greedyhash --finetune head --frozen-eval
 *     reading them as --prefix-cache relu7 and --features: the saved model's
 *     convolutions, fc6 and fc7 byte-identical to the weights file, only
 *     hash.fc8 and hash.fc moved; dsah-encode from the relu7 features
 *     within 1e-5 of the encode from the images;
 *   - f2 caches (prefix.h; format/half.h): the small net's pool2 and (the
 *     stage) vgg19's pool5 written as f2 in the same batches as the f4
 *     cache: the same shape and header size, half the payload, every value
 *     the nearest half of the f4 value and within |h - x| <= 2^-11 |x|
 *     (2^-25 below 2^-14), checked exactly; numpy reads the stage's file as
 *     float16 with the bits of its own astype(float16). Gather, encode,
 *     training, dsah-encode, dsah-train and relu7 from the f2 cache equal
 *     those from an f4 file of its values (its "twin": identical bytes).
 *     Against the f4 cache: encode within the change the input rounding
 *     can make through the fc layers (|W_hash||W_fc4||W_fc3| |dh|, plus
 *     1e-5), the code bits equal wherever |z| exceeds that; training within
 *     the tolerance derived at its test. A value beyond 65504 (conv2_1 or
 *     conv5_4 scaled by a power of two) stops prefix_write and dsah-features
 *     in one line naming the file, row, column and value, and no file or
 *     temporary is left; --dtype f2 without --layer is refused. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "format/half.h"
#include "format/npy.h"
#include "format/safetensors.h"
#include "nn/encode.h"
#include "nn/features.h"
#include "nn/input.h"
#include "nn/net.h"
#include "nn/prefix.h"
#include "nn/trainer.h"
#include "child.h"
#include "tap.h"
#include "util/bits.h"
#include "util/rng.h"
#include "util/util.h"

#define ARCH "conv3-8,conv3-8,pool,conv3-16,pool,fc-32,dropout-0.5,fc-32,dropout-0.5"
#define N 48
#define S 16
#define BITS 12

static char dir[256];

static char *owned[256];
static int nowned;

/* dir/name, freed at the end */
static char *tmp(const char *name) {
    CHECK(nowned < 256);
    return owned[nowned++] = path_join(dir, name);
}

static double max_abs(const float *a, int64_t n) {
    double m = 0;
    for (int64_t i = 0; i < n; i++) m = fmax(m, fabs(a[i]));
    return m;
}

static double max_diff(const float *a, const float *b, int64_t n) {
    double m = 0;
    for (int64_t i = 0; i < n; i++) m = fmax(m, fabs((double)a[i] - b[i]));
    return m;
}

static void build_small(net *n, const char *finetune) {
    char err[256];
    CHECK(net_build(n, ARCH, 3, S, BITS, err, sizeof err) == 0);
    net_init_params(n, 5);   /* the seed train_run draws its initial network from (base_cfg) */
    CHECK(net_set_finetune(n, finetune) == 0);
}

/* Runs f in a child; returns its exit status (die exits non-zero). */
static int exit_status(void (*f)(void)) {
    fflush(stdout);
    pid_t p = fork();
    if (p == 0) {
        dsah_quiet = 1;
        FILE *devnull = freopen("/dev/null", "w", stderr);
        (void)devnull;
        f();
        _exit(0);
    }
    int st;
    waitpid(p, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

/* Runs f in a child (child.h); returns the exit status, the stderr text in
 * msg (cap bytes) and its line count in *lines. */
static void call_fn(const void *f) { (*(void (*const *)(void))f)(); }
static int exit_message(void (*f)(void), char *msg, size_t cap, int *lines) {
    const int st = child_stderr(call_fn, &f, msg, cap);
    *lines = 0;
    for (const char *c = msg; *c; c++) *lines += *c == '\n';
    return st;
}

/* The reference of the --prefix-indices map: dst f4 [cnt, d] holds, for
 * each idx[k], the row j of src f4 [m, d] with list[j] == idx[k], found by a
 * linear search (every idx[k] must be listed). */
static void gather_file(const char *dst, const char *src, const int64_t *list, int64_t m, const int64_t *idx,
                        int64_t cnt) {
    npy_array a;
    npy_open(&a, src, NPY_F4, 2);
    CHECK(a.shape[0] == m);
    const int64_t d = a.shape[1];
    const float *rows = a.data;
    float *g = xmalloc(sizeof(float) * (size_t)(cnt * d));
    for (int64_t k = 0; k < cnt; k++) {
        int64_t j = 0;
        while (j < m && list[j] != idx[k]) j++;
        CHECK(j < m);
        memcpy(g + k * d, rows + j * d, sizeof(float) * (size_t)d);
    }
    int64_t sh[2] = {cnt, d};
    npy_save(dst, NPY_F4, 2, sh, g);
    free(g);
    npy_close(&a);
}

/* Whether two 2-d arrays of dtype t (elem bytes each) are the same bytes. */
static int same_npy(const char *a, const char *b, npy_dtype t, size_t elem) {
    npy_array x, y;
    npy_open(&x, a, t, 2);
    npy_open(&y, b, t, 2);
    int same = x.shape[0] == y.shape[0] && x.shape[1] == y.shape[1] && !memcmp(x.data, y.data, elem * (size_t)x.count);
    npy_close(&x);
    npy_close(&y);
    return same;
}

/* The "loss", "pair" and "quant" fields of each train.jsonl line, as printed,
 * into out (cap bytes): equal strings mean equal losses to the digits
 * written. Returns the number of lines. */
static int jsonl_losses(const char *path, char *out, size_t cap) {
    FILE *f = fopen(path, "r");
    CHECK(f);
    char line[512];
    int n = 0;
    out[0] = 0;
    while (fgets(line, sizeof line, f)) {
        const char *a = strstr(line, "\"loss\""), *b = strstr(line, ", \"lambda\"");
        CHECK(a && b && b > a);
        CHECK(strlen(out) + (size_t)(b - a) + 2 < cap);
        strncat(out, a, (size_t)(b - a));
        strcat(out, "\n");
        n++;
    }
    fclose(f);
    return n;
}

/* The largest relative difference of the "loss" of two train.jsonl files,
 * line by line; the lines compared in *epochs. */
static double loss_rel_diff(const char *a, const char *b, int *epochs) {
    FILE *f0 = fopen(a, "r"), *f1 = fopen(b, "r");
    CHECK(f0 && f1);
    char l0[512], l1[512];
    double rel = 0;
    *epochs = 0;
    while (fgets(l0, sizeof l0, f0) && fgets(l1, sizeof l1, f1)) {
        double a0 = strtod(strstr(l0, "\"loss\": ") + 8, NULL), a1 = strtod(strstr(l1, "\"loss\": ") + 8, NULL);
        rel = fmax(rel, fabs(a0 - a1) / fabs(a0));
        ++*epochs;
    }
    fclose(f0);
    fclose(f1);
    return rel;
}

/* The failing encodes of the --prefix-indices checks: e_idx [e_cnt] (from
 * e_idx_path) through the cache e_cache listed by e_list. */
static const char *e_model, *e_cache, *e_list, *e_idx_path;
static const int64_t *e_idx;
static int64_t e_cnt;
static void encode_mapped(void) {
    net m;
    net_load(&m, e_model);
    npy_array im;
    npy_open(&im, tmp("images.npy"), NPY_U1, 4);
    encode_opts eo = {.batch = 8, .real = 1, .prefix_cache = e_cache, .prefix_layer = "pool2", .prefix_indices = e_list};
    encode_write(tmp("bad_z.npy"), &m, &im, e_idx, e_cnt, e_idx_path, &eo);
}

/* The output directory and the three output paths train_run writes (the
 * stage takes them from its table, cli/train.c). */
static void set_out(train_cfg *c, char *dir) {
    c->out = dir;
    c->out_model = path_join(dir, "model.safetensors");
    c->out_jsonl = path_join(dir, "train.jsonl");
    c->out_optim = path_join(dir, "optim.safetensors");
}

static train_cfg base_cfg(void) {
    train_cfg c = {0};
    c.images = tmp("images.npy");
    c.indices = tmp("train.npy");
    c.w = tmp("w.npy");
    c.arch = ARCH;
    c.finetune = "fc";
    c.input = S;
    c.bits = BITS;
    c.epochs = 2;
    c.batch = 8;
    c.threads = 1;
    c.lr = 1e-3;
    c.adam_eps = 1e-8;
    c.lr_factor = 1;
    c.lr_every = 1000;
    c.tau = 1;
    c.lambda = 0.1;
    c.pic = PIC_PIC;
    c.quant = QUANT_Z;
    c.seed = 5;
    return c;
}

static void train_past_prefix(void) {
    train_cfg c = base_cfg();
    set_out(&c, tmp("bad"));
    c.prefix_cache = tmp("relu3.npy");   /* relu3 follows fc3, which finetune fc trains */
    c.prefix_layer = "relu3";
    train_run(&c);
}

static void train_wrong_width(void) {
    train_cfg c = base_cfg();
    set_out(&c, tmp("bad"));
    c.prefix_cache = tmp("pool1.npy");
    c.prefix_layer = "pool2";
    train_run(&c);
}

static void read_model_params(net *n, const char *path) { net_load(n, path); }


static float max_diff_files(const char *a, const char *b, int64_t *count) {
    npy_array x, y;
    npy_open(&x, a, NPY_F4, 2);
    npy_open(&y, b, NPY_F4, 2);
    CHECK(x.count == y.count);
    *count = x.count;
    float m = (float)max_diff(x.data, y.data, x.count);
    npy_close(&x);
    npy_close(&y);
    return m;
}

static int run(const char *cmd) {
    fflush(stdout);
    int rc = system(cmd);
    if (rc) diag("exit %d: %s", rc, cmd);
    return rc;
}

/* The stage runs of stages_vgg19 (bin: the stage binaries; images and the
 * weights at input 32; extra: more flags, the cache's): dsah-features
 * --layer pool5 of indices into out, dsah-encode --real into out, one epoch
 * of dsah-train --finetune fc against w into the directory out. */
static int features_pool5(const char *bin, const char *images, const char *indices, const char *weights, const char *out,
                          const char *extra) {
    char cmd[4096];
    snprintf(cmd, sizeof cmd,
             "%s/dsah-features -q --images %s --indices %s --extractor vgg19 --weights %s --input 32 --layer pool5 "
             "--batch 5 --threads 2 --out %s%s",
             bin, images, indices, weights, out, extra);
    return run(cmd);
}
static int encode_stage(const char *bin, const char *images, const char *indices, const char *weights, const char *out,
                        const char *extra) {
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "%s/dsah-encode -q --model %s --images %s --indices %s --real --batch 8 --threads 2 --out %s%s",
             bin, weights, images, indices, out, extra);
    return run(cmd);
}
static int train_stage(const char *bin, const char *images, const char *indices, const char *w, const char *weights,
                       const char *out, const char *extra) {
    char cmd[4096];
    snprintf(cmd, sizeof cmd,
             "%s/dsah-train -q --images %s --indices %s --w %s --arch vgg19 --weights %s --input 32 --bits 8 "
             "--epochs 1 --batch 8 --finetune fc --lr 1e-4 --threads 2 --out %s%s",
             bin, images, indices, w, weights, out, extra);
    return run(cmd);
}

/* The stages with the cache flags: dsah-features --layer pool5 writes the
 * cache of 16 images, dsah-encode and dsah-train (finetune fc, one epoch)
 * read it; their results against the same runs from the images. */
static void stages_vgg19(const char *weights) {
    const char *b = getenv("DSAH_BIN");
    char bin[512], cmd[4096];
    snprintf(bin, sizeof bin, "%s", b ? b : "bin");
    int64_t idx16[16];
    for (int i = 0; i < 16; i++) idx16[i] = (5 * i + 2) % N;
    int64_t sh16[1] = {16}, wsh[2] = {16, 2};
    char *pi = tmp("idx16.npy"), *pw = tmp("w16.npy"), *p5 = tmp("s_pool5.npy"), *img = tmp("images.npy");
    npy_save(pi, NPY_I8, 1, sh16, idx16);
    uint8_t w[32];
    for (int i = 0; i < 16; i++)
        for (int j = 0; j < 2; j++) w[i * 2 + j] = (uint8_t)(i % 2 ? 0x55 : 0xAA);
    npy_save(pw, NPY_U1, 2, wsh, w);
    ok(features_pool5(bin, img, pi, weights, p5, "") == 0, "dsah-features --layer pool5");
    const char *pc = " --prefix-cache %s --prefix-layer pool5";
    char extra[600];
    snprintf(extra, sizeof extra, pc, p5);
    for (int v = 0; v < 2; v++) {
        ok(encode_stage(bin, img, pi, weights, tmp(v ? "s_z1.npy" : "s_z0.npy"), v ? extra : "") == 0, "dsah-encode %s",
           v ? "from the cache" : "from the images");
        ok(train_stage(bin, img, pi, pw, weights, tmp(v ? "s_run1/" : "s_run0/"), v ? extra : "") == 0,
           "dsah-train finetune fc %s", v ? "from the cache" : "from the images");
    }
    int64_t cnt;
    float dz = max_diff_files(tmp("s_z0.npy"), tmp("s_z1.npy"), &cnt);
    ok(cnt == 16 * 8 && dz < 1e-5, "dsah-encode outputs from the cache within 1e-5: %.2g", dz);
    net m0, m1;
    net_load(&m0, tmp("s_run0/model.safetensors"));
    net_load(&m1, tmp("s_run1/model.safetensors"));
    CHECK(net_set_finetune(&m0, "fc") == 0);
    const int64_t off = m0.train_off;
    ok(m0.np == m1.np && !memcmp(m0.params, m1.params, sizeof(float) * off), "dsah-train: frozen VGG-19 convolutions byte-identical");
    double dp = max_diff(m0.params + off, m1.params + off, m0.np - off);
    ok(dp < 1e-4, "dsah-train finetune fc with vs without the cache: max |d| %.2g < 1e-4 (Adam, lr 1e-4, 2 steps)", dp);
    net_free(&m0);
    net_free(&m1);

    /* the plan's training split: a cache of 20 images (the 16 and 4 others,
     * shuffled) read through --prefix-indices, against the gathered 16 rows */
    int64_t all[20], dl20[20], others = 0, sh20[1] = {20};
    memcpy(all, idx16, sizeof idx16);
    for (int64_t j = 0; j < N && others < 4; j++) {
        int in = 0;
        for (int i = 0; i < 16; i++) in |= idx16[i] == j;
        if (!in) all[16 + others++] = j;
    }
    for (int k = 0; k < 20; k++) dl20[k] = all[(3 * k + 1) % 20];   /* 3 and 20 coprime: a shuffle */
    char *pl = tmp("dl20.npy"), *pdb = tmp("s_pool5_db.npy"), *pg = tmp("s_pool5_gathered.npy");
    npy_save(pl, NPY_I8, 1, sh20, dl20);
    ok(features_pool5(bin, img, pl, weights, pdb, "") == 0, "dsah-features --layer pool5 of a shuffled 20-image list");
    gather_file(pg, pdb, dl20, 20, idx16, 16);
    char map[1200];
    snprintf(map, sizeof map, " --prefix-cache %s --prefix-indices %s --prefix-layer pool5", pdb, pl);
    snprintf(extra, sizeof extra, pc, pg);
    for (int v = 0; v < 2; v++) {
        ok(encode_stage(bin, img, pi, weights, tmp(v ? "m_z1.npy" : "m_z0.npy"), v ? map : extra) == 0, "dsah-encode %s",
           v ? "through --prefix-indices" : "from the gathered rows");
        ok(train_stage(bin, img, pi, pw, weights, tmp(v ? "m_run1/" : "m_run0/"), v ? map : extra) == 0,
           "dsah-train finetune fc %s", v ? "through --prefix-indices" : "from the gathered rows");
    }
    ok(same_npy(tmp("m_z0.npy"), tmp("m_z1.npy"), NPY_F4, 4), "dsah-encode through --prefix-indices = from the gathered rows, identical");
    net_load(&m0, tmp("m_run0/model.safetensors"));
    net_load(&m1, tmp("m_run1/model.safetensors"));
    ok(m0.np == m1.np && !memcmp(m0.params, m1.params, sizeof(float) * (size_t)m0.np),
       "dsah-train through --prefix-indices = from the gathered rows: all parameters identical");
    net_free(&m0);
    net_free(&m1);
    /* an image of --indices missing from --prefix-indices: one line, both files */
    int64_t bad[16];
    memcpy(bad, idx16, sizeof bad);
    for (int64_t j = 0; j < N; j++) {
        int in = 0;
        for (int k = 0; k < 20; k++) in |= dl20[k] == j;
        if (!in) {
            bad[3] = j;
            break;
        }
    }
    char *pbad = tmp("idx16_bad.npy"), *perr = tmp("m_err.txt");
    npy_save(pbad, NPY_I8, 1, sh16, bad);
    snprintf(cmd, sizeof cmd, "%s/dsah-encode --model %s --images %s --indices %s --real --threads 2 --out %s%s 2> %s",
             bin, weights, img, pbad, tmp("m_bad.npy"), map, perr);
    fflush(stdout);
    int rc = system(cmd);
    char msg[1024] = "", want[1024];
    FILE *f = fopen(perr, "r");
    CHECK(f);
    size_t got = fread(msg, 1, sizeof msg - 1, f);
    msg[got] = 0;
    fclose(f);
    snprintf(want, sizeof want, "dsah-encode: error: %s: image %lld (position 3) is not in %s, the index list of the prefix cache %s\n",
             pbad, (long long)bad[3], pl, pdb);
    ok(rc != 0 && !strcmp(msg, want) && !file_exists(tmp("m_bad.npy")),
       "dsah-encode: an --indices image not in --prefix-indices is one line naming both files and the image, nothing written");
    if (strcmp(msg, want)) diag("got: %s", msg);
}

/* GreedyHash's head on the small net: hash.fc alone, on the images or on a
 * cache of relu4 (after fc4, past drop3); features: that cache. */
static train_cfg greedy_cfg(const char *out, int frozen_eval, const char *cache) {
    train_cfg c = base_cfg();
    set_out(&c, tmp(out));
    c.w = NULL;
    c.loss = LOSS_GREEDYHASH;
    c.features = tmp("relu4.npy");
    c.gh_alpha = 0.1;
    c.finetune = "head";
    c.frozen_eval = frozen_eval;
    c.prefix_cache = cache;
    c.prefix_layer = cache ? "relu4" : NULL;
    return c;
}

static void train_relu4_dropout_on(void) {
    train_cfg c = greedy_cfg("bad_gh", 0, tmp("relu4.npy"));
    train_run(&c);
}

/* The small net's GreedyHash head: from the images and from a relu4 cache
 * (frozen eval), then encoded both ways. */
static void greedy_head_small(const npy_array *im, const int64_t *idx, const char *p_idx) {
    net a;
    char lb[32];
    build_small(&a, "head");
    const int drop3 = net_layer_by_label(&a, "drop3"), drop4 = net_layer_by_label(&a, "drop4");
    const int top = net_frozen_eval(&a);
    net_layer_label(&a, top, lb, sizeof lb);
    ok(!strcmp(lb, "relu4") && a.L[drop3].p == 0 && a.L[drop4].p == 0 && net_prefix_layer(&a) == drop4 &&
           drop4 == a.first_train - 1,
       "frozen eval, head: frozen dropouts p = 0, cache layer relu4 (%s), prefix through drop4", lb);
    prefix_write(tmp("relu4.npy"), &a, top, im, idx, N, 8, NPY_F4);
    net_free(&a);
    {
        net v;
        char err[256];
        CHECK(net_build(&v, "vgg19", 3, 32, 8, err, sizeof err) == 0);
        CHECK(net_set_finetune(&v, "head") == 0);
        const int r7 = net_frozen_eval(&v);
        net_layer_label(&v, r7, lb, sizeof lb);
        const int d6 = net_layer_by_label(&v, "drop6"), d7 = net_layer_by_label(&v, "drop7");
        ok(!strcmp(lb, "relu7") && v.L[d6].p == 0 && v.L[d7].p == 0 && d7 == v.first_train - 1,
           "vgg19 head, frozen eval: relu7 (%s), drop6 and drop7 off, hash.fc8 first trained", lb);
        net_free(&v);
        CHECK(net_build(&v, "vgg19", 3, 32, 8, err, sizeof err) == 0);
        CHECK(net_set_finetune(&v, "fc") == 0);
        net_layer_label(&v, net_frozen_eval(&v), lb, sizeof lb);
        ok(!strcmp(lb, "pool5") && v.L[net_layer_by_label(&v, "drop6")].p > 0,
           "vgg19 fc, frozen eval: pool5 (%s), the trained fcs' dropout kept", lb);
        net_free(&v);
    }
    train_cfg c[3] = {greedy_cfg("gh_img", 1, NULL), greedy_cfg("gh_cache", 1, tmp("relu4.npy")),
                      greedy_cfg("gh_drop", 0, NULL)};
    for (int k = 0; k < 3; k++) {
        CHECK(mkdir(c[k].out, 0755) == 0);
        train_run(&c[k]);
    }
    net init, m[3];
    build_small(&init, "head");
    const int64_t off = init.train_off;
    for (int k = 0; k < 3; k++) net_load(&m[k], c[k].out_model);
    int frozen = 1;
    for (int k = 0; k < 3; k++) frozen &= m[k].np == init.np && !memcmp(m[k].params, init.params, sizeof(float) * (size_t)off);
    ok(frozen, "greedyhash head: the %lld parameters before hash.fc byte-identical to the initial network (3 runs)",
       (long long)off);
    const int64_t nt = init.np - off;
    const double moved = max_diff(m[1].params + off, init.params + off, nt), dp = max_diff(m[0].params + off, m[1].params + off, nt),
                 ddrop = max_diff(m[0].params + off, m[2].params + off, nt);
    ok(moved > 1e-3, "greedyhash head: hash.fc moved (max %.3g)", moved);
    ok(dp < 1e-4, "greedyhash head from the relu4 cache vs the images: max |d| %.2g < 1e-4", dp);
    ok(ddrop > 1e-3, "without frozen eval the frozen dropouts are on: %.3g > 1e-3 from the frozen-eval run", ddrop);
    int epochs;
    const double lrel = loss_rel_diff(c[0].out_jsonl, c[1].out_jsonl, &epochs);
    ok(epochs == 2 && lrel < 1e-4, "greedyhash head: epoch losses from the cache and the images agree (%d epochs, %.2g)",
       epochs, lrel);
    ok(exit_status(train_relu4_dropout_on) != 0 && !file_exists(tmp("bad_gh/model.safetensors")),
       "a relu4 cache without frozen eval (drop3 on) is refused, nothing trained");
    /* encode the trained model: from the images (batch 8) and the cache (batch 5) */
    const char *eo_out[3] = {"gh_z_img.npy", "gh_z_cache.npy", "gh_b_cache.npy"};
    for (int v = 0; v < 3; v++) {
        net e;
        net_load(&e, c[1].out_model);
        encode_opts eo = {.batch = v ? 5 : 8, .real = v < 2, .prefix_cache = v ? tmp("relu4.npy") : NULL,
                          .prefix_layer = v ? "relu4" : NULL};
        encode_write(tmp(eo_out[v]), &e, im, idx, N, p_idx, &eo);
        net_free(&e);
    }
    npy_array z0, z1, b1;
    npy_open(&z0, tmp(eo_out[0]), NPY_F4, 2);
    npy_open(&z1, tmp(eo_out[1]), NPY_F4, 2);
    npy_open(&b1, tmp(eo_out[2]), NPY_U1, 2);
    const float *zi = z0.data;
    const uint8_t *bc = b1.data;
    const double dz = max_diff(zi, z1.data, N * BITS);
    ok(dz < 1e-5, "greedyhash head: encode from the relu4 cache (batch 5) vs the images (batch 8): max |dz| %.2g < 1e-5", dz);
    int same_bits = b1.shape[1] == 2, firm = 0;
    for (int i = 0; i < N; i++)
        for (int k = 0; k < BITS; k++)
            if (fabs(zi[i * BITS + k]) > 1e-4) {
                firm++;
                same_bits &= ((bc[i * 2 + k / 8] >> (k % 8)) & 1) == (zi[i * BITS + k] >= 0);
            }
    ok(same_bits && firm > N * BITS / 2, "greedyhash head: codes from the cache = sgn of the image outputs (%d bits with |z| > 1e-4)", firm);
    npy_close(&z0);
    npy_close(&z1);
    npy_close(&b1);
    for (int k = 0; k < 3; k++) {
        net_free(&m[k]);
        free((char *)c[k].out_model);
        free((char *)c[k].out_jsonl);
        free((char *)c[k].out_optim);
    }
    net_free(&init);
}

/* The plan's GreedyHash head on the vgg19 stages (after stages_vgg19, whose
 * pool5 cache of idx16 it reads): relu7 features from the pool5 cache, one
 * epoch of dsah-train --loss greedyhash --finetune head --frozen-eval on
 * them, dsah-encode from them and from the images. */
static void greedy_head_stages(const char *weights) {
    const char *b = getenv("DSAH_BIN");
    char bin[512], cmd[4096];
    snprintf(bin, sizeof bin, "%s", b ? b : "bin");
    char *img = tmp("images.npy"), *pi = tmp("idx16.npy"), *p5 = tmp("s_pool5.npy"), *r7 = tmp("gh_relu7.npy"),
         *out = tmp("gh_vgg/");
    snprintf(cmd, sizeof cmd,
             "%s/dsah-features -q --images %s --indices %s --extractor vgg19 --weights %s --input 32 --prefix-cache %s "
             "--prefix-layer pool5 --batch 5 --threads 2 --out %s",
             bin, img, pi, weights, p5, r7);
    ok(run(cmd) == 0, "dsah-features: relu7 of 16 images from their pool5 cache");
    snprintf(cmd, sizeof cmd,
             "%s/dsah-train -q --images %s --indices %s --arch vgg19 --weights %s --input 32 --bits 8 --epochs 1 "
             "--batch 8 --lr 1e-3 --loss greedyhash --features %s --finetune head --frozen-eval --prefix-cache %s "
             "--prefix-layer relu7 --threads 2 --out %s",
             bin, img, pi, weights, r7, r7, out);
    ok(run(cmd) == 0, "dsah-train --loss greedyhash --finetune head --frozen-eval from the relu7 features");
    net m, w, init;
    char err[256];
    net_load(&m, tmp("gh_vgg/model.safetensors"));
    net_load(&w, weights);
    CHECK(net_set_finetune(&m, "head") == 0);
    const int64_t off = m.train_off;
    CHECK(off == m.L[net_layer_index(&m, "hash.fc8.weight")].woff);
    ok(m.np == w.np && !memcmp(m.params, w.params, sizeof(float) * (size_t)off),
       "the saved model's convolutions, fc6 and fc7 (%lld values) are the weights file's, byte for byte", (long long)off);
    CHECK(net_build(&init, "vgg19", 3, 32, 8, err, sizeof err) == 0);
    net_init_params(&init, 0);   /* dsah-train's seed 0: hash.fc8 and hash.fc start there */
    const double moved = max_diff(m.params + off, init.params + off, m.np - off);
    ok(moved > 1e-4, "hash.fc8 and hash.fc moved from their initial values (max %.3g)", moved);
    net_free(&m);
    net_free(&w);
    net_free(&init);
    char extra[1024];
    snprintf(extra, sizeof extra, " --prefix-cache %s --prefix-layer relu7 --batch 5", r7);
    for (int v = 0; v < 2; v++) {
        snprintf(cmd, sizeof cmd, "%s/dsah-encode -q --model %s --images %s --indices %s --real --threads 2 --out %s%s",
                 bin, tmp("gh_vgg/model.safetensors"), img, pi, tmp(v ? "gh_vz1.npy" : "gh_vz0.npy"), v ? extra : " --batch 8");
        ok(run(cmd) == 0, "dsah-encode of the GreedyHash head model %s", v ? "from the relu7 features" : "from the images");
    }
    int64_t cnt;
    const float dz = max_diff_files(tmp("gh_vz0.npy"), tmp("gh_vz1.npy"), &cnt);
    ok(cnt == 16 * 8 && dz < 1e-5, "dsah-encode from the relu7 features within 1e-5 of the images: %.2g", dz);
}

/* ---- f2 caches (prefix.h, format/half.h) ------------------------------- */

/* Whether h, the half of x (|x| <= HALF_MAX), is within the stated bound:
 * |h - x| <= 2^-11 |x| for |x| >= 2^-14, <= 2^-25 below. Exact (a float and
 * its half differ by a double exactly; the scaling by 2^-11 is exact);
 * *ratio: the error over the bound. */
static int f2_within(float x, float h, double *ratio) {
    const double e = fabs((double)h - (double)x), ax = fabs((double)x);
    const double bound = ax >= 0x1p-14 ? ldexp(ax, -11) : 0x1p-25;
    *ratio = e / bound;
    return e <= bound;
}

/* An f2 cache (f2_path) against the f4 cache of the same images written in
 * the same batches (f4_path): the same shape, half the payload bytes, and
 * each value the nearest half of the f4 value (ties to even: the bit-level
 * conversion, half.c), within the bound. Writes dq_path, f4 with the f2
 * values (converted by half_bits_to_float): what a reader of the f2 cache
 * must see. what: the cache's name in the test lines. */
static void f2_against_f4(const char *f2_path, const char *f4_path, const char *dq_path, const char *what) {
    npy_array c4, c2;
    npy_open(&c4, f4_path, NPY_F4, 2);
    npy_open(&c2, f2_path, NPY_F2, 2);
    const int64_t n = c4.count;
    ok(c2.shape[0] == c4.shape[0] && c2.shape[1] == c4.shape[1] && 2 * c2.nbytes == c4.nbytes &&
           c4.maplen - c4.nbytes == c2.maplen - c2.nbytes,
       "%s f2: shape [%lld, %lld] as f4, %zu payload bytes = half of f4's %zu, the same %zu-byte header", what,
       (long long)c2.shape[0], (long long)c2.shape[1], c2.nbytes, c4.nbytes, c2.maplen - c2.nbytes);
    const float *x = c4.data;
    const uint16_t *h = c2.data;
    float *dq = xmalloc(sizeof(float) * (size_t)n);
    int64_t outside = 0, not_nearest = 0, rounded = 0, normal = 0;
    double worst = 0;
    for (int64_t i = 0; i < n; i++) {
        dq[i] = half_bits_to_float(h[i]);
        double r;
        outside += !f2_within(x[i], dq[i], &r);
        worst = fmax(worst, r);
        not_nearest += h[i] != half_bits_from_float(x[i]);
        rounded += dq[i] != x[i];
        normal += fabsf(x[i]) >= HALF_MIN_NORMAL;
    }
    ok(!outside && rounded > n / 2 && normal > n / 2,
       "%s f2: all %lld values within |h - x| <= 2^-11 |x| (2^-25 below 2^-14): %lld outside, max error/bound %.3f; "
       "%lld rounded, %lld normal", what, (long long)n, (long long)outside, worst, (long long)rounded, (long long)normal);
    ok(!not_nearest, "%s f2: each value the nearest half of the f4 value, ties to even (%lld not)", what,
       (long long)not_nearest);
    npy_save(dq_path, NPY_F4, 2, c4.shape, dq);
    free(dq);
    npy_close(&c4);
    npy_close(&c2);
}

/* The largest change the fc/relu/dropout/tanh layers first.. of m can make
 * to output j of a row whose input changed by dh [d] (absolute values):
 * out [L[nl-1].out_n] = |W_last| ... |W_first| dh, each fc's |W| the
 * absolute values of its weights (biases cancel; relu, tanh and eval-mode
 * dropout are 1-Lipschitz). In double. */
static void change_bound(double *out, const net *m, int first, const double *dh, int64_t d) {
    double *v = xmalloc(sizeof(double) * (size_t)d), *nv = NULL;
    memcpy(v, dh, sizeof(double) * (size_t)d);
    int64_t len = d;
    for (int l = first; l < m->nl; l++) {
        const nn_layer *L = &m->L[l];
        CHECK(L->in_n == len);
        if (L->type == NL_RELU || L->type == NL_DROPOUT || L->type == NL_TANH) continue;
        CHECK(L->type == NL_FC);
        nv = xcalloc((size_t)L->K, sizeof(double));
        const float *w = m->params + L->woff;
        for (int k = 0; k < L->K; k++)
            for (int c = 0; c < L->C; c++) nv[k] += fabs((double)w[(int64_t)k * L->C + c]) * v[c];
        free(v);
        v = nv;
        len = L->K;
    }
    memcpy(out, v, sizeof(double) * (size_t)len);
    free(v);
}

/* The small net's pool2 cache as f2 (same batches of 8 as the f4 cache
 * p_pool2) and what reads it: gather, encode and training from the f2 cache
 * equal those from the f4 cache of its values (identical bytes: the same
 * floats in the same batches), and against the f4 cache encode is within the
 * bound the input change implies through the layers (change_bound, plus
 * 1e-5 for the float rounding of two forwards: this file's tolerance), the
 * code bits equal wherever |z| exceeds that; training within the tolerance
 * stated at its test. */
static void f2_small(const npy_array *im, const int64_t *idx, const char *p_idx, const char *p_pool2, const char *p_model) {
    net a;
    build_small(&a, "fc");
    const int pool2 = net_layer_by_label(&a, "pool2");
    const int64_t d = a.L[pool2].out_n;
    char *p2 = tmp("pool2_f2.npy"), *pdq = tmp("pool2_dq.npy");
    prefix_write(p2, &a, pool2, im, idx, N, 8, NPY_F2);
    f2_against_f4(p2, p_pool2, pdq, "small net pool2");

    /* gather: the f2 rows as floats, exactly those of the f4 twin */
    prefix_cache pc;
    prefix_cache_open(&pc, p2, "pool2", &a, NULL, idx, N, p_idx);
    npy_array dqa;
    npy_open(&dqa, pdq, NPY_F4, 2);
    int64_t pos[N];
    for (int k = 0; k < N; k++) pos[k] = (7 * k + 5) % N;
    float *hg = xmalloc(sizeof(float) * N * (size_t)d);
    prefix_cache_gather(hg, &pc, pos, N);
    int eq = pc.a.dtype == NPY_F2;
    for (int k = 0; k < N; k++) eq &= !memcmp(hg + k * d, (const float *)dqa.data + pos[k] * d, sizeof(float) * (size_t)d);
    ok(eq, "prefix_cache_gather of the f2 cache (48 positions, shuffled) = the rows of its f4 twin, exactly");
    free(hg);
    npy_close(&dqa);
    prefix_cache_close(&pc);
    net_free(&a);

    /* encode from the f4 cache, the f2 cache and its f4 twin */
    const char *caches[3] = {p_pool2, p2, pdq};
    char *zr[3], *zb[3];
    for (int v = 0; v < 3; v++) {
        char name[32];
        snprintf(name, sizeof name, "f2_z%d.npy", v);
        zr[v] = tmp(name);
        snprintf(name, sizeof name, "f2_b%d.npy", v);
        zb[v] = tmp(name);
        for (int real = 0; real < 2; real++) {
            net m;
            net_load(&m, p_model);
            encode_opts eo = {.batch = 8, .real = real, .prefix_cache = caches[v], .prefix_layer = "pool2"};
            encode_write(real ? zr[v] : zb[v], &m, im, idx, N, p_idx, &eo);
            net_free(&m);
        }
    }
    ok(same_npy(zr[1], zr[2], NPY_F4, 4) && same_npy(zb[1], zb[2], NPY_U1, 1),
       "encode from the f2 cache = from its f4 twin: the same outputs and codes, identical bytes");
    {
        net m;
        net_load(&m, p_model);
        npy_array c4, tw, z4, z2, b2;
        npy_open(&c4, p_pool2, NPY_F4, 2);
        npy_open(&tw, pdq, NPY_F4, 2);
        npy_open(&z4, zr[0], NPY_F4, 2);
        npy_open(&z2, zr[1], NPY_F4, 2);
        npy_open(&b2, zb[1], NPY_U1, 2);
        const float *h4 = c4.data, *h2 = tw.data, *za = z4.data, *zc = z2.data;
        const uint8_t *bc = b2.data;
        double *dh = xmalloc(sizeof(double) * (size_t)d), bound[BITS];
        int inside = 1, same_bits = 1, firm = 0;
        double maxdz = 0, maxbound = 0, maxz = 0;
        for (int i = 0; i < N; i++) {
            for (int64_t c = 0; c < d; c++) dh[c] = fabs((double)h2[i * d + c] - (double)h4[i * d + c]);
            change_bound(bound, &m, pool2 + 1, dh, d);
            for (int k = 0; k < BITS; k++) {
                const double dz = fabs((double)zc[i * BITS + k] - (double)za[i * BITS + k]), lim = bound[k] + 1e-5;
                inside &= dz <= lim;
                maxdz = fmax(maxdz, dz);
                maxbound = fmax(maxbound, bound[k]);
                maxz = fmax(maxz, fabs(za[i * BITS + k]));
                if (fabs(za[i * BITS + k]) > lim) {
                    firm++;
                    same_bits &= ((bc[i * 2 + k / 8] >> (k % 8)) & 1) == (za[i * BITS + k] >= 0);
                }
            }
        }
        ok(inside, "encode from the f2 cache vs the f4 cache: every |dz| within |W_hash||W_fc4||W_fc3| |dh| + 1e-5 "
                   "(max |dz| %.2g, max bound %.2g, max |z| %.2g)", maxdz, maxbound, maxz);
        ok(same_bits && firm > N * BITS / 2,
           "codes from the f2 cache = sgn of the f4 cache's outputs wherever |z| exceeds that bound (%d of %d bits)", firm,
           N * BITS);
        free(dh);
        npy_close(&c4);
        npy_close(&tw);
        npy_close(&z4);
        npy_close(&z2);
        npy_close(&b2);
        net_free(&m);
    }

    /* training, finetune fc, 2 epochs: from the f2 cache and from its f4 twin */
    train_cfg c2 = base_cfg(), cq = base_cfg();
    set_out(&c2, tmp("run_f2"));
    set_out(&cq, tmp("run_dq"));
    CHECK(mkdir(c2.out, 0755) == 0 && mkdir(cq.out, 0755) == 0);
    c2.prefix_cache = p2;
    cq.prefix_cache = pdq;
    train_run(&c2);
    train_run(&cq);
    net m2, mq, m4;
    net_load(&m2, c2.out_model);
    net_load(&mq, cq.out_model);
    net_load(&m4, tmp("run1/model.safetensors"));   /* from the f4 cache (main) */
    ok(m2.np == mq.np && !memcmp(m2.params, mq.params, sizeof(float) * (size_t)m2.np),
       "training from the f2 cache = from its f4 twin: all %lld parameters identical", (long long)m2.np);
    char l2[1024], lq[1024];
    int n2 = jsonl_losses(c2.out_jsonl, l2, sizeof l2), nq = jsonl_losses(cq.out_jsonl, lq, sizeof lq);
    ok(n2 == 2 && nq == 2 && !strcmp(l2, lq), "and the same losses, epoch by epoch");
    CHECK(net_set_finetune(&m4, "fc") == 0);
    const int64_t off = m4.train_off;
    ok(m2.np == m4.np && !memcmp(m2.params, m4.params, sizeof(float) * (size_t)off),
       "training from the f2 cache: the frozen parameters byte-identical to the f4 cache's run");
    /* f2 against f4: every input differs by at most 2^-11 relative, and
     * the outputs by at most the encode bound above. The epoch losses, means
     * of smooth functions of those outputs, within the inputs' own relative
     * rounding, 2^-11 (4.9e-4); the trained parameters within one Adam step,
     * lr = 1e-3: a step is lr m/sqrt(v) per parameter, and a whole step's
     * difference would need a gradient reversed by the rounding, which a
     * 2^-11 relative change of the inputs does not do to gradients larger
     * than it (12 steps). */
    const double dp = max_diff(m2.params + off, m4.params + off, m2.np - off);
    int epochs;
    const double lrel = loss_rel_diff(tmp("run1/train.jsonl"), c2.out_jsonl, &epochs);
    ok(dp < 1e-3, "training from the f2 vs the f4 cache: trained parameters max |d| %.2g < 1e-3 (lr: one Adam step)", dp);
    ok(epochs == 2 && lrel < 0x1p-11, "and the epoch losses within %.2g < 2^-11 relative (%d epochs)", lrel, epochs);
    net_free(&m2);
    net_free(&mq);
    net_free(&m4);
    const char *outs[] = {c2.out_model, c2.out_jsonl, c2.out_optim, cq.out_model, cq.out_jsonl, cq.out_optim};
    for (int i = 0; i < 6; i++) free((char *)outs[i]);
}

/* Overflow: rows with values beyond 65504 stop the f2 writer. */
static const npy_array *big_im;
static const int64_t *big_idx;
static net big;
static int big_layer;
static const char *big_out;
static void write_big_f2(void) {
    /* in a forked child: libgomp's thread pool did not survive the fork, so
     * one thread (a team of one starts no pool thread) */
    nn_set_threads(1);
    prefix_write(big_out, &big, big_layer, big_im, big_idx, N, 8, NPY_F2);
}
static float rows_bad[6];
static void rows_to_f2(void) {
    uint16_t h[6];
    prefix_rows_to_f2(h, rows_bad, 2, 3, 10, "X.npy");
}

/* Whether dir holds an entry whose name starts with name (the output or its
 * temporary). */
static int left_behind(const char *name) {
    char cmd[700];
    snprintf(cmd, sizeof cmd, "ls -a %s | grep -q '^%s'", dir, name);
    fflush(stdout);
    return system(cmd) == 0;
}

/* The first value of an f4 cache beyond 65504 in magnitude, in row order:
 * the message of the f2 writer, into want. Returns 0 when there is none. */
static int overflow_message(char *want, size_t cap, const char *f4_path, const char *out, const char *prog) {
    npy_array c;
    npy_open(&c, f4_path, NPY_F4, 2);
    const float *x = c.data;
    int64_t i = 0;
    while (i < c.count && fabsf(x[i]) <= HALF_MAX) i++;
    const int found = i < c.count;
    if (found)
        snprintf(want, cap,
                 "%s: error: %s: row %lld, column %lld: %.9g is beyond f2's largest value, 65504: write this cache as f4 "
                 "(features.cache_dtype: f4)\n",
                 prog, out, (long long)(i / c.shape[1]), (long long)(i % c.shape[1]), (double)x[i]);
    npy_close(&c);
    return found;
}

static void f2_overflow(const npy_array *im, const int64_t *idx, const char *p_pool2) {
    char msg[1024], want[1024];
    int lines;
    /* prefix_rows_to_f2 itself: +-65504 pass, the next float up does not */
    const float okrow[6] = {1, -65504, 65504, 0.5f, -3, 0x1p-30f};
    uint16_t h[6];
    prefix_rows_to_f2(h, okrow, 2, 3, 0, "X.npy");
    const uint16_t hw[6] = {0x3c00, 0xfbff, 0x7bff, 0x3800, 0xc200, 0};
    ok(!memcmp(h, hw, sizeof h), "prefix_rows_to_f2: 1, -65504, 65504, 0.5, -3, 2^-30 -> their halves (2^-30 -> 0)");
    memcpy(rows_bad, okrow, sizeof okrow);
    rows_bad[4] = -nextafterf(65504, INFINITY);
    int rc = exit_message(rows_to_f2, msg, sizeof msg, &lines);
    snprintf(want, sizeof want,
             "t_prefix: error: X.npy: row 11, column 1: -65504.0039 is beyond f2's largest value, 65504: write this cache "
             "as f4 (features.cache_dtype: f4)\n");
    ok(rc == 1 && !strcmp(msg, want), "-65504.0039 (row 11 = 10 + 1, column 1): one line naming the file, the row, the value");
    if (strcmp(msg, want)) diag("got: %s", msg);
    rows_bad[4] = -3;
    rows_bad[2] = NAN;
    rc = exit_message(rows_to_f2, msg, sizeof msg, &lines);
    ok(rc == 1 && lines == 1 && strstr(msg, "X.npy: row 10, column 2: nan is not finite"), "a NaN: not finite, one line");

    /* the writer: the small net with conv2_1 (before its relu and pool2) scaled
     * by 2^k, so pool2 is scaled by 2^k exactly and its largest values pass
     * 65504 */
    npy_array c4;
    npy_open(&c4, p_pool2, NPY_F4, 2);
    const double top = max_abs(c4.data, c4.count);
    npy_close(&c4);
    const int k = (int)ceil(log2(HALF_MAX / top)) + 1;
    build_small(&big, "fc");
    big_layer = net_layer_by_label(&big, "pool2");
    const nn_layer *c3 = &big.L[net_layer_by_label(&big, "conv2_1")];
    for (int64_t i = 0; i < c3->wn; i++) big.params[c3->woff + i] = ldexpf(big.params[c3->woff + i], k);
    for (int64_t i = 0; i < c3->bn; i++) big.params[c3->boff + i] = ldexpf(big.params[c3->boff + i], k);
    big_im = im;
    big_idx = idx;
    char *p_big4 = tmp("big_f4.npy");
    prefix_write(p_big4, &big, big_layer, im, idx, N, 8, NPY_F4);
    big_out = tmp("big_f2.npy");
    const int found = overflow_message(want, sizeof want, p_big4, big_out, "t_prefix");
    rc = exit_message(write_big_f2, msg, sizeof msg, &lines);
    ok(found && rc == 1 && lines == 1 && !strcmp(msg, want),
       "pool2 scaled by 2^%d (largest %.6g): the f2 writer stops, one line naming the file, the row, the column and the "
       "value, suggesting f4", k, top * ldexp(1, k));
    if (strcmp(msg, want)) diag("got: %s", msg);
    ok(!left_behind("big_f2.npy"), "nothing left behind: no big_f2.npy, no temporary");
    net_free(&big);
}

/* The text of a small file into buf (cap bytes). */
static void read_text(const char *path, char *buf, size_t cap) {
    FILE *f = fopen(path, "r");
    CHECK(f);
    size_t got = fread(buf, 1, cap - 1, f);
    buf[got] = 0;
    fclose(f);
}

/* The stages with an f2 cache (after stages_vgg19, whose f4 pool5 cache
 * s_pool5.npy of idx16 it compares against): dsah-features --dtype f2 (the
 * same batches of 5), read by numpy as float16; dsah-encode, dsah-train and
 * the relu7 features from it equal those from its f4 twin; --dtype f2
 * without --layer, and a value beyond 65504, are refused in one line with
 * nothing written. */
static void f2_stages(const char *weights) {
    const char *b = getenv("DSAH_BIN");
    char bin[512], cmd[4096], msg[1024], want[1024];
    snprintf(bin, sizeof bin, "%s", b ? b : "bin");
    char *img = tmp("images.npy"), *pi = tmp("idx16.npy"), *pw = tmp("w16.npy"), *p5 = tmp("s_pool5.npy"),
         *p5h = tmp("s_pool5_f2.npy"), *p5q = tmp("s_pool5_dq.npy"), *perr = tmp("f2_err.txt");
    ok(features_pool5(bin, img, pi, weights, p5h, " --dtype f2") == 0, "dsah-features --layer pool5 --dtype f2");
    f2_against_f4(p5h, p5, p5q, "vgg19 pool5 (dsah-features)");
    snprintf(cmd, sizeof cmd,
             "/usr/bin/python3 -c \"import sys, numpy as np; a = np.load(sys.argv[1]); h = np.load(sys.argv[2], mmap_mode='r'); "
             "sys.exit(0 if h.dtype == np.float16 and h.shape == a.shape and "
             "(a.astype(np.float16).view(np.uint16) == h.view(np.uint16)).all() else 1)\" %s %s",
             p5, p5h);
    ok(run(cmd) == 0, "numpy loads the f2 cache as float16 [16, 512]: the bits of numpy's astype(float16) of the f4 cache");
    char e2[600], eq[600];
    snprintf(e2, sizeof e2, " --prefix-cache %s --prefix-layer pool5", p5h);
    snprintf(eq, sizeof eq, " --prefix-cache %s --prefix-layer pool5", p5q);
    ok(encode_stage(bin, img, pi, weights, tmp("h_z2.npy"), e2) == 0 &&
           encode_stage(bin, img, pi, weights, tmp("h_zq.npy"), eq) == 0,
       "dsah-encode from the f2 cache and from its f4 twin");
    ok(same_npy(tmp("h_z2.npy"), tmp("h_zq.npy"), NPY_F4, 4), "dsah-encode from the f2 cache = from its f4 twin, identical");
    ok(train_stage(bin, img, pi, pw, weights, tmp("h_run2/"), e2) == 0 &&
           train_stage(bin, img, pi, pw, weights, tmp("h_runq/"), eq) == 0,
       "dsah-train finetune fc from the f2 cache and from its f4 twin");
    net m2, mq;
    net_load(&m2, tmp("h_run2/model.safetensors"));
    net_load(&mq, tmp("h_runq/model.safetensors"));
    ok(m2.np == mq.np && !memcmp(m2.params, mq.params, sizeof(float) * (size_t)m2.np),
       "dsah-train from the f2 cache = from its f4 twin: all parameters identical");
    net_free(&m2);
    net_free(&mq);
    for (int v = 0; v < 2; v++) {
        snprintf(cmd, sizeof cmd,
                 "%s/dsah-features -q --images %s --indices %s --extractor vgg19 --weights %s --input 32%s --batch 5 "
                 "--threads 2 --out %s",
                 bin, img, pi, weights, v ? eq : e2, tmp(v ? "h_r7q.npy" : "h_r72.npy"));
        CHECK(run(cmd) == 0);
    }
    ok(same_npy(tmp("h_r72.npy"), tmp("h_r7q.npy"), NPY_F4, 4),
       "dsah-features relu7 (f4) from the f2 pool5 cache = from its f4 twin, identical");

    /* refusals */
    snprintf(cmd, sizeof cmd,
             "%s/dsah-features -q --images %s --indices %s --extractor vgg19 --weights %s --input 32 --dtype f2 "
             "--out %s 2> %s",
             bin, img, pi, weights, tmp("h_bad.npy"), perr);
    fflush(stdout);
    int rc = system(cmd);
    read_text(perr, msg, sizeof msg);
    ok(rc != 0 && !strcmp(msg, "dsah-features: error: --dtype f2: only for a frozen-prefix cache (--layer); the relu7 "
                               "features are f4\n") && !file_exists(tmp("h_bad.npy")),
       "dsah-features --dtype f2 without --layer: one line, nothing written");
    if (rc == 0 || !strstr(msg, "--dtype f2")) diag("got: %s", msg);
    /* conv5_4 (before relu5_4 and pool5) scaled by 2^k: pool5 by 2^k exactly */
    npy_array c4;
    npy_open(&c4, p5, NPY_F4, 2);
    const double top = max_abs(c4.data, c4.count);
    npy_close(&c4);
    const int k = (int)ceil(log2(HALF_MAX / top)) + 1;
    net w;
    net_load(&w, weights);
    const nn_layer *c54 = &w.L[net_layer_by_label(&w, "conv5_4")];
    for (int64_t i = 0; i < c54->wn; i++) w.params[c54->woff + i] = ldexpf(w.params[c54->woff + i], k);
    for (int64_t i = 0; i < c54->bn; i++) w.params[c54->boff + i] = ldexpf(w.params[c54->boff + i], k);
    char *pbw = tmp("vgg19_big.safetensors"), *pb4 = tmp("h_big4.npy"), *pb2 = tmp("h_big2.npy");
    net_save(&w, pbw);
    net_free(&w);
    CHECK(features_pool5(bin, img, pi, pbw, pb4, "") == 0);
    const int found = overflow_message(want, sizeof want, pb4, pb2, "dsah-features");
    snprintf(cmd, sizeof cmd,
             "%s/dsah-features -q --images %s --indices %s --extractor vgg19 --weights %s --input 32 --layer pool5 "
             "--dtype f2 --batch 5 --threads 2 --out %s 2> %s",
             bin, img, pi, pbw, pb2, perr);
    fflush(stdout);
    rc = system(cmd);
    read_text(perr, msg, sizeof msg);
    ok(found && rc != 0 && !strcmp(msg, want),
       "dsah-features --dtype f2 of pool5 scaled by 2^%d: one line naming the file, the row, the column and the value", k);
    if (strcmp(msg, want)) diag("got: %s", msg);
    ok(!left_behind("h_big2.npy"), "nothing left behind: no h_big2.npy, no temporary");
}

int main(void) {
    dsah_init("t_prefix");
    dsah_quiet = 1;
    nn_set_threads(2);
    snprintf(dir, sizeof dir, "/tmp/t_prefix.XXXXXX");
    CHECK(mkdtemp(dir));

    /* images and indices */
    rng r;
    rng_seed(&r, 16);
    uint8_t *img = xmalloc(N * S * S * 3);
    for (int i = 0; i < N * S * S * 3; i++) img[i] = (uint8_t)rng_below(&r, 256);
    int64_t ishape[4] = {N, S, S, 3}, nshape[1] = {N};
    char *p_img = tmp("images.npy"), *p_idx = tmp("train.npy");
    npy_save(p_img, NPY_U1, 4, ishape, img);
    int64_t idx[N];
    for (int i = 0; i < N; i++) idx[i] = (i * 17 + 3) % N;   /* a permutation: rows follow the index order */
    npy_save(p_idx, NPY_I8, 1, nshape, idx);
    npy_array im;
    npy_open(&im, p_img, NPY_U1, 4);

    /* labels and the cacheable prefix */
    net a;
    build_small(&a, "fc");
    char lb[32];
    int pool2 = net_layer_by_label(&a, "pool2");
    ok(pool2 == 7 && a.L[pool2].type == NL_POOL, "small net: pool2 is layer 7 (conv relu conv relu pool conv relu pool; %d)", pool2);
    ok(net_prefix_layer(&a) == pool2, "finetune fc: prefix through pool2");
    net_layer_label(&a, a.first_train, lb, sizeof lb);
    ok(!strcmp(lb, "fc3"), "first fc after two pools is fc3 (%s)", lb);
    net_free(&a);
    build_small(&a, "head");
    net_layer_label(&a, net_prefix_layer(&a), lb, sizeof lb);
    ok(!strcmp(lb, "relu3"), "finetune head: prefix stops before drop3, at relu3 (%s)", lb);
    net_free(&a);
    build_small(&a, "all");
    ok(net_prefix_layer(&a) == -1, "finetune all: no prefix");
    net_free(&a);
    {
        net v;
        char err[256];
        CHECK(net_build(&v, "vgg19", 3, 32, 8, err, sizeof err) == 0);
        CHECK(net_set_finetune(&v, "fc") == 0);
        int p5 = net_prefix_layer(&v);
        net_layer_label(&v, p5, lb, sizeof lb);
        ok(!strcmp(lb, "pool5") && p5 == 36, "vgg19 fc: prefix is pool5 = features.36 (%s, %d)", lb, p5);
        CHECK(net_set_finetune(&v, "head") == 0);
        net_layer_label(&v, net_prefix_layer(&v), lb, sizeof lb);
        ok(!strcmp(lb, "relu6"), "vgg19 head: prefix is relu6 (%s)", lb);
        ok(net_layer_by_label(&v, "fc7") == net_layer_index(&v, "classifier.3.weight"), "vgg19 fc7 = classifier.3");
        ok(net_layer_by_label(&v, "fc8") == net_layer_index(&v, "hash.fc8.weight"), "vgg19 fc8 = hash.fc8");
        ok(net_layer_by_label(&v, "relu5_4") == 35 && net_layer_by_label(&v, "conv1_1") == 0, "conv labels");
        net_free(&v);
    }

    /* prefix rows vs direct forwards */
    build_small(&a, "fc");
    const int64_t d = a.L[pool2].out_n;
    char *p_pool2 = tmp("pool2.npy");
    prefix_write(p_pool2, &a, pool2, &im, idx, N, 8, NPY_F4);
    npy_array pc;
    npy_open(&pc, p_pool2, NPY_F4, 2);
    ok(pc.shape[0] == N && pc.shape[1] == d && d == 16 * 4 * 4, "cache shape [%lld, %lld]", (long long)pc.shape[0],
       (long long)pc.shape[1]);
    const float *rows = pc.data;
    float *x = xaligned(sizeof(float) * 8 * 3 * S * S), *scr = xaligned(sizeof(float) * 8 * 3 * S * S);
    net_alloc(&a, 8, 0);
    int same = 1;
    double rel1 = 0;
    for (int k0 = 0; k0 < N; k0 += 8) {
        net_input(x, scr, im.data, idx + k0, 8, S, S, 3, S, 0);
        const float *f = net_forward_to(&a, x, 8, pool2);
        same &= !memcmp(f, rows + (int64_t)k0 * d, sizeof(float) * 8 * d);
    }
    for (int k = 0; k < N; k++) {
        net_input(x, scr, im.data, idx + k, 1, S, S, 3, S, 0);
        const float *f = net_forward_to(&a, x, 1, pool2);
        rel1 = fmax(rel1, max_diff(f, rows + (int64_t)k * d, d) / fmax(max_abs(f, d), 1e-30));
    }
    ok(same, "prefix_write rows = net_forward_to on the same batches, exactly");
    ok(rel1 < 1e-5, "prefix_write rows vs single-image forwards: %.2g < 1e-5 relative", rel1);

    /* forward from the cache */
    float *z_full = xmalloc(sizeof(float) * N * BITS), *z_cache = xmalloc(sizeof(float) * N * BITS);
    for (int k0 = 0; k0 < N; k0 += 8) {
        net_input(x, scr, im.data, idx + k0, 8, S, S, 3, S, 0);
        memcpy(z_full + k0 * BITS, net_forward(&a, x, 8, 0, 0, 0), sizeof(float) * 8 * BITS);
        memcpy(z_cache + k0 * BITS, net_forward_from(&a, rows + (int64_t)k0 * d, pool2 + 1, 8, 0, 0, 0),
               sizeof(float) * 8 * BITS);
    }
    ok(!memcmp(z_full, z_cache, sizeof(float) * N * BITS), "net_forward_from(cache) = net_forward, exactly (same batches)");
    net_free(&a);

    /* encode: model file, with and without the cache */
    build_small(&a, "fc");
    char *p_model = tmp("model.safetensors");
    net_save(&a, p_model);
    net_free(&a);
    const char *enc_out[4] = {"z_img.npy", "z_cache.npy", "z_cache5.npy", "b_cache.npy"};
    for (int v = 0; v < 4; v++) {
        net m;
        net_load(&m, p_model);
        encode_opts eo = {.batch = v == 2 ? 5 : 8, .real = v < 3, .prefix_cache = v ? p_pool2 : NULL,
                          .prefix_layer = v ? "pool2" : NULL};
        encode_write(tmp(enc_out[v]), &m, &im, idx, N, p_idx, &eo);
        net_free(&m);
    }
    npy_array e0, e1, e2, e3;
    npy_open(&e0, tmp("z_img.npy"), NPY_F4, 2);
    npy_open(&e1, tmp("z_cache.npy"), NPY_F4, 2);
    npy_open(&e2, tmp("z_cache5.npy"), NPY_F4, 2);
    npy_open(&e3, tmp("b_cache.npy"), NPY_U1, 2);
    ok(!memcmp(e0.data, z_full, sizeof(float) * N * BITS), "encode --real without cache = net_forward");
    ok(!memcmp(e0.data, e1.data, sizeof(float) * N * BITS), "encode from the cache, same batches: identical outputs");
    double de = max_diff(e0.data, e2.data, N * BITS);
    ok(de < 1e-5, "encode from the cache, batch 5: max |dz| %.2g < 1e-5", de);
    uint8_t packed[N * 2];
    bits_pack_signs(packed, e0.data, N, BITS);
    ok(e3.shape[1] == 2 && !memcmp(packed, e3.data, sizeof packed), "encode codes from the cache = sgn of the outputs");
    npy_close(&e0); npy_close(&e1); npy_close(&e2); npy_close(&e3);

    /* training with and without the cache */
    uint8_t *w = xcalloc(N * bits_row_bytes(N), 1);
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++)
            if ((idx[i] % 3) == (idx[j] % 3)) w[i * bits_row_bytes(N) + j / 8] |= (uint8_t)(1u << (j % 8));
    int64_t wshape[2] = {N, bits_row_bytes(N)};
    char *p_w = tmp("w.npy");
    npy_save(p_w, NPY_U1, 2, wshape, w);
    train_cfg c0 = base_cfg(), c1 = base_cfg();
    set_out(&c0, tmp("run0"));
    set_out(&c1, tmp("run1"));
    CHECK(mkdir(c0.out, 0755) == 0 && mkdir(c1.out, 0755) == 0);
    c1.prefix_cache = p_pool2;   /* prefix layer defaults to net_prefix_layer: pool2 */
    train_run(&c0);
    train_run(&c1);
    const char *outs[] = {c0.out_model, c0.out_jsonl, c0.out_optim, c1.out_model, c1.out_jsonl, c1.out_optim};
    for (int i = 0; i < 6; i++) free((char *)outs[i]);
    net m0, m1;
    char *pm0 = tmp("run0/model.safetensors"), *pm1 = tmp("run1/model.safetensors");
    read_model_params(&m0, pm0);
    read_model_params(&m1, pm1);
    CHECK(net_set_finetune(&m0, "fc") == 0);
    const int64_t off = m0.train_off;
    ok(m0.np == m1.np && !memcmp(m0.params, m1.params, sizeof(float) * off), "frozen parameters byte-identical (%lld)",
       (long long)off);
    double dp = max_diff(m0.params + off, m1.params + off, m0.np - off);
    net init;
    build_small(&init, "fc");
    double step = max_diff(m0.params + off, init.params + off, m0.np - off);
    ok(step > 1e-3, "training moved the trainable parameters (max %.3g)", step);
    ok(dp < 1e-4, "trained parameters with vs without the cache: max |d| %.2g < 1e-4", dp);
    net_free(&init);
    net_free(&m0);
    net_free(&m1);

    /* losses per epoch */
    int epochs;
    const double lrel = loss_rel_diff(tmp("run0/train.jsonl"), tmp("run1/train.jsonl"), &epochs);
    ok(epochs == 2 && lrel < 1e-4, "epoch losses agree: %d epochs, %.2g < 1e-4 relative", epochs, lrel);

    /* the same cache as f2 */
    f2_small(&im, idx, p_idx, p_pool2, p_model);
    f2_overflow(&im, idx, p_pool2);

    /* refused caches */
    build_small(&a, "fc");
    char *p_relu3 = tmp("relu3.npy"), *p_pool1 = tmp("pool1.npy");
    prefix_write(p_relu3, &a, net_layer_by_label(&a, "relu3"), &im, idx, N, 8, NPY_F4);
    prefix_write(p_pool1, &a, net_layer_by_label(&a, "pool1"), &im, idx, N, 8, NPY_F4);
    net_free(&a);
    ok(exit_status(train_past_prefix) != 0, "a cache past the trainable prefix is refused");
    ok(exit_status(train_wrong_width) != 0, "a cache of another layer's width is refused");
    char *bad = tmp("bad/model.safetensors");
    ok(!file_exists(bad), "nothing trained from a refused cache");

    /* the training split read from another split's cache (--prefix-indices):
     * a "db" list of 40 of the images in shuffled order and its pool2 cache;
     * 24 training images among them, in another order. The reference is the
     * cache that holds exactly the training rows, gathered in training order
     * by a linear search: the same floats in the same batches, so encode and
     * training through the map must give identical bytes. */
    {
        int64_t perm[N], dbl[40], tr[24], trbad[24], dup[40], s40[1] = {40}, s24[1] = {24}, s39[1] = {39};
        for (int i = 0; i < N; i++) perm[i] = i;
        rng_shuffle_i64(&r, perm, N);
        memcpy(dbl, perm, sizeof dbl);
        for (int k = 0; k < 24; k++) tr[k] = dbl[(7 * k + 3) % 40];   /* 7 and 40 coprime: distinct */
        int ascending = 1;
        for (int j = 1; j < 40; j++) ascending &= dbl[j - 1] < dbl[j];
        ok(!ascending, "the cache's index list is shuffled, not ascending");
        char *p_dbl = tmp("db_list.npy"), *p_tr = tmp("tr.npy"), *p_dbc = tmp("db_pool2.npy"), *p_gath = tmp("tr_pool2.npy");
        npy_save(p_dbl, NPY_I8, 1, s40, dbl);
        npy_save(p_tr, NPY_I8, 1, s24, tr);
        build_small(&a, "fc");
        prefix_write(p_dbc, &a, pool2, &im, dbl, 40, 8, NPY_F4);
        gather_file(p_gath, p_dbc, dbl, 40, tr, 24);
        /* the map itself: positions gathered in reverse order */
        prefix_cache mc;
        prefix_cache_open(&mc, p_dbc, "pool2", &a, p_dbl, tr, 24, p_tr);
        npy_array ga;
        npy_open(&ga, p_gath, NPY_F4, 2);
        int64_t pos[24];
        for (int k = 0; k < 24; k++) pos[k] = 23 - k;
        float *hm = xmalloc(sizeof(float) * 24 * (size_t)d);
        prefix_cache_gather(hm, &mc, pos, 24);
        int eq = 1;
        for (int k = 0; k < 24; k++) eq &= !memcmp(hm + k * d, (const float *)ga.data + pos[k] * d, sizeof(float) * (size_t)d);
        ok(eq && mc.a.shape[0] == 40, "prefix_cache_gather through the map = the linear-search gather, exactly (24 positions, reversed)");
        free(hm);
        npy_close(&ga);
        prefix_cache_close(&mc);
        net_free(&a);

        /* encode: f4 outputs and packed codes */
        const char *zo[4] = {"tr_z_gath.npy", "tr_z_map.npy", "tr_b_gath.npy", "tr_b_map.npy"};
        for (int v = 0; v < 4; v++) {
            net m;
            net_load(&m, p_model);
            encode_opts eo = {.batch = 8, .real = v < 2, .prefix_cache = v % 2 ? p_dbc : p_gath, .prefix_layer = "pool2",
                              .prefix_indices = v % 2 ? p_dbl : NULL};
            encode_write(tmp(zo[v]), &m, &im, tr, 24, p_tr, &eo);
            net_free(&m);
        }
        ok(same_npy(tmp(zo[0]), tmp(zo[1]), NPY_F4, 4), "encode --real of the training split through db's cache = from its gathered rows, identical");
        ok(same_npy(tmp(zo[2]), tmp(zo[3]), NPY_U1, 1), "encode codes through the map = from the gathered rows, identical");

        /* training: 2 epochs of 3 batches */
        const int64_t rb = bits_row_bytes(24);
        uint8_t wtr[24 * 3] = {0};
        CHECK(rb == 3);
        for (int i = 0; i < 24; i++)
            for (int j = 0; j < 24; j++)
                if (tr[i] % 3 == tr[j] % 3) wtr[i * rb + j / 8] |= (uint8_t)(1u << (j % 8));
        int64_t wsh[2] = {24, rb};
        char *p_wtr = tmp("w_tr.npy");
        npy_save(p_wtr, NPY_U1, 2, wsh, wtr);
        train_cfg g = base_cfg(), h = base_cfg();
        g.indices = h.indices = p_tr;
        g.w = h.w = p_wtr;
        set_out(&g, tmp("tr_gath"));
        set_out(&h, tmp("tr_map"));
        CHECK(mkdir(g.out, 0755) == 0 && mkdir(h.out, 0755) == 0);
        g.prefix_cache = p_gath;
        h.prefix_cache = p_dbc;
        h.prefix_indices = p_dbl;
        train_run(&g);
        train_run(&h);
        net mg, mh;
        net_load(&mg, g.out_model);
        net_load(&mh, h.out_model);
        ok(mg.np == mh.np && !memcmp(mg.params, mh.params, sizeof(float) * (size_t)mg.np),
           "training through db's cache = from the gathered rows: all %lld parameters identical", (long long)mg.np);
        net init;
        build_small(&init, "fc");
        ok(max_diff(mh.params, init.params, mh.np) > 1e-3, "that training moved the parameters");
        net_free(&init);
        net_free(&mg);
        net_free(&mh);
        char lg[1024], lh[1024];
        int ng = jsonl_losses(g.out_jsonl, lg, sizeof lg), nh = jsonl_losses(h.out_jsonl, lh, sizeof lh);
        ok(ng == 2 && nh == 2 && !strcmp(lg, lh), "the same losses, epoch by epoch (%d and %d epochs)", ng, nh);
        const char *touts[] = {g.out_model, g.out_jsonl, g.out_optim, h.out_model, h.out_jsonl, h.out_optim};
        for (int i = 0; i < 6; i++) free((char *)touts[i]);

        /* refusals, one line each */
        char msg[1024], want[1024];
        int lines;
        memcpy(trbad, tr, sizeof tr);
        trbad[5] = perm[45];   /* not among the 40 listed */
        char *p_trbad = tmp("tr_bad.npy");
        npy_save(p_trbad, NPY_I8, 1, s24, trbad);
        e_model = p_model;
        e_cache = p_dbc;
        e_list = p_dbl;
        e_idx = trbad;
        e_cnt = 24;
        e_idx_path = p_trbad;
        int rc = exit_message(encode_mapped, msg, sizeof msg, &lines);
        snprintf(want, sizeof want, "t_prefix: error: %s: image %lld (position 5) is not in %s, the index list of the prefix cache %s\n",
                 p_trbad, (long long)perm[45], p_dbl, p_dbc);
        ok(rc == 1 && lines == 1 && !strcmp(msg, want), "an image missing from the cache's list: one line naming both files and the image");
        if (strcmp(msg, want)) diag("got: %s", msg);
        ok(!file_exists(tmp("bad_z.npy")), "nothing written");
        memcpy(dup, dbl, sizeof dbl);
        dup[30] = dbl[5];
        char *p_dup = tmp("db_dup.npy");
        npy_save(p_dup, NPY_I8, 1, s40, dup);
        e_idx = tr;
        e_idx_path = p_tr;
        e_list = p_dup;
        rc = exit_message(encode_mapped, msg, sizeof msg, &lines);
        snprintf(want, sizeof want, "t_prefix: error: %s: image %lld is listed twice (rows 5 and 30): one cache row per image\n",
                 p_dup, (long long)dbl[5]);
        ok(rc == 1 && lines == 1 && !strcmp(msg, want), "an image listed twice in the cache's list: one line naming the file, the image and the rows");
        if (strcmp(msg, want)) diag("got: %s", msg);
        char *p_short = tmp("db_short.npy");
        npy_save(p_short, NPY_I8, 1, s39, dbl);
        e_list = p_short;
        rc = exit_message(encode_mapped, msg, sizeof msg, &lines);
        ok(rc == 1 && lines == 1 && strstr(msg, p_dbc) && strstr(msg, "(rows (one per --prefix-indices entry))"),
           "a list of 39 for a cache of 40 rows: one line naming the cache");
        e_cache = NULL;
        e_list = p_dbl;
        rc = exit_message(encode_mapped, msg, sizeof msg, &lines);
        ok(rc == 1 && lines == 1 && strstr(msg, "--prefix-indices goes with --prefix-cache"), "--prefix-indices without --prefix-cache is refused");
        ok(!file_exists(tmp("bad_z.npy")), "nothing written by the refused encodes");
    }

    greedy_head_small(&im, idx, p_idx);

    /* vgg19 shapes: relu7 from the pool5 cache */
    {
        net v;
        char err[256];
        CHECK(net_build(&v, "vgg19", 3, 32, 8, err, sizeof err) == 0);
        /* He-scaled weights keep the activations O(1) through 16 convs */
        net_init_params(&v, 11);
        for (int i = 0; i < v.nl; i++)
            if (v.L[i].woff >= 0) {
                const float sc = (float)sqrt(6.0);
                for (int64_t k = 0; k < v.L[i].wn; k++) v.params[v.L[i].woff + k] *= sc;
            }
        char *p_w19 = tmp("vgg19.safetensors");
        net_save(&v, p_w19);
        net_free(&v);
        const int n19 = 6;
        features_opts fo = {.extractor = FEAT_VGG19, .weights = p_w19, .input = 32, .batch = 4};
        char *p_r7 = tmp("relu7.npy"), *p_p5 = tmp("vgg19_pool5_train.npy"), *p_r7c = tmp("relu7_cache.npy");
        ok(features_write(p_r7, &im, idx, n19, &fo) == 4096, "vgg19 relu7 from the images: 4096 columns");
        fo.layer = "pool5";
        ok(features_write(p_p5, &im, idx, n19, &fo) == 512, "vgg19 pool5 cache at input 32: 512 columns");
        fo.layer = NULL;
        fo.prefix_cache = p_p5;
        fo.prefix_layer = "pool5";
        fo.batch = 3;
        features_write(p_r7c, &im, idx, n19, &fo);
        npy_array r0, r1;
        npy_open(&r0, p_r7, NPY_F4, 2);
        npy_open(&r1, p_r7c, NPY_F4, 2);
        double rel = 0, big = 0;
        for (int k = 0; k < n19; k++) {
            const float *a0 = (const float *)r0.data + (int64_t)k * 4096, *a1 = (const float *)r1.data + (int64_t)k * 4096;
            big = fmax(big, max_abs(a0, 4096));
            rel = fmax(rel, max_diff(a0, a1, 4096) / fmax(max_abs(a0, 4096), 1e-30));
        }
        ok(big > 1e-3, "vgg19 relu7 rows are not all zero (max %.3g)", big);
        ok(rel < 1e-5, "vgg19 relu7 from the pool5 cache (batch 3) vs images (batch 4): %.2g < 1e-5 relative", rel);
        npy_close(&r0);
        npy_close(&r1);
        /* relu7 of the training rows from a db-like pool5 cache: 9 images in
         * shuffled order holding the 6, through --prefix-indices, against the
         * gathered rows (same batches: identical) */
        int64_t dl19[9] = {idx[8], idx[3], idx[0], idx[5], idx[7], idx[1], idx[4], idx[2], idx[6]}, s9[1] = {9};
        char *p_dl19 = tmp("dl19.npy"), *p_p5db = tmp("vgg19_pool5_db.npy"), *p_p5g = tmp("p5_gathered.npy"),
             *p_r7g = tmp("relu7_gathered.npy"), *p_r7m = tmp("relu7_map.npy");
        npy_save(p_dl19, NPY_I8, 1, s9, dl19);
        features_opts fd = {.extractor = FEAT_VGG19, .weights = p_w19, .input = 32, .batch = 4, .layer = "pool5"};
        features_write(p_p5db, &im, dl19, 9, &fd);
        gather_file(p_p5g, p_p5db, dl19, 9, idx, n19);
        fd.layer = NULL;
        fd.batch = 3;
        fd.prefix_layer = "pool5";
        fd.prefix_cache = p_p5g;
        features_write(p_r7g, &im, idx, n19, &fd);
        fd.prefix_cache = p_p5db;
        fd.prefix_indices = p_dl19;
        fd.indices_path = p_idx;
        features_write(p_r7m, &im, idx, n19, &fd);
        ok(same_npy(p_r7g, p_r7m, NPY_F4, 4), "vgg19 relu7 of 6 rows through a 9-row shuffled pool5 cache = from the gathered rows, identical");
        stages_vgg19(p_w19);
        greedy_head_stages(p_w19);
        f2_stages(p_w19);
    }

    npy_close(&pc);
    npy_close(&im);
    char cmd[300];
    snprintf(cmd, sizeof cmd, getenv("KEEP") ? "true %s" : "rm -rf %s", dir);
    CHECK(system(cmd) == 0);
    for (int i = 0; i < nowned; i++) free(owned[i]);
    free(img);
    free(x);
    free(scr);
    free(z_full);
    free(z_cache);
    free(w);
    return done_testing();
}
