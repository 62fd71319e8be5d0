/* t_train.c: networks built from arch lists (names, shapes, errors), the
 * whole network's backward against finite differences, frozen parts, eval vs
 * train buffers, an overfitting run, and models through safetensors (round
 * trip, torchvision vs timm names, wrong shape and missing tensor errors). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "nn/adam.h"
#include "nn/loss.h"
#include "nn/net.h"
#include "util/rng.h"
#include "format/safetensors.h"
#include "tap.h"
#include "util/util.h"

static char tmpdir[256];

static void fill(float *p, int64_t n, rng *r, double lo, double hi) {
    for (int64_t i = 0; i < n; i++) p[i] = (float)(lo + (hi - lo) * rng_uniform(r));
}

static void test_build(void) {
    net n;
    char err[256];
    ok(net_build(&n, "conv3-8,conv3-8,pool,fc-16,dropout-0.5", 1, 12, 16, err, sizeof err) == 0, "list arch builds");
    const char *want[] = {"features.0.weight", "features.2.weight", "classifier.0.weight", "hash.fc.weight"};
    int k = 0, good = 1;
    for (int i = 0; i < n.nl; i++)
        if (n.L[i].woff >= 0) good &= k < 4 && !strcmp(n.L[i].wname, want[k++]);
    ok(good && k == 4, "torchvision-style names: features.0, features.2, classifier.0, hash.fc");
    int64_t np = (8 * 9 + 8) + (8 * 72 + 8) + (16 * 8 * 6 * 6 + 16) + (16 * 16 + 16);
    ok(n.np == np, "parameter count %lld == %lld by hand", (long long)n.np, (long long)np);
    net_free(&n);
    ok(net_build(&n, "vgg19", 3, 224, 64, err, sizeof err) == 0, "vgg19 preset builds");
    /* torchvision vgg19 has 143,667,240 parameters, 4,097,000 of them in
     * classifier.6 (4096->1000), which hash.fc8 replaces with the same shape */
    ok(n.np == 143667240LL + 1000 * 64 + 64, "vgg19 + hash head: %lld parameters (143667240 + 64064)", (long long)n.np);
    int convs = 0, last = -1;
    for (int i = 0; i < n.nl; i++)
        if (n.L[i].type == NL_CONV) { convs++; last = atoi(n.L[i].wname + 9); }
    const char *fc6 = NULL;
    for (int i = 0; i < n.nl; i++)
        if (n.L[i].type == NL_FC && !fc6) fc6 = n.L[i].wname;
    ok(convs == 16 && last == 34 && fc6 && !strcmp(fc6, "classifier.0.weight"),
       "vgg19: 16 convs, last features.34, fc6 = classifier.0 (%d, %d)", convs, last);
    net_set_finetune(&n, "head");
    ok(!strcmp(n.L[n.first_train].wname, "hash.fc8.weight") && n.np - n.train_off == 4097000 + 64064,
       "vgg19 --finetune head trains hash.fc8 + hash.fc only");
    net_set_finetune(&n, "fc");
    ok(!strcmp(n.L[n.first_train].wname, "classifier.0.weight"), "vgg19 --finetune fc starts at classifier.0");
    net_free(&n);
    const char *bad[] = {"conv5-8", "conv3-0", "fc-8,conv3-4", "pool,pool,pool,pool", "conv3-8,poool", "dropout-1.5"};
    for (int i = 0; i < 6; i++) {
        err[0] = 0;
        int r = net_build(&n, bad[i], 1, 12, 16, err, sizeof err);
        ok(r == -1 && strstr(err, "arch"), "bad arch '%s' rejected: %s", bad[i], err);
    }
}

/* Whole network + loss: directional derivative along a random direction v,
 * float network, central differences with h = 1e-4 (larger h crosses ReLU and
 * max-pool kinks); tolerance 1e-2 relative for the whole, 3e-2 per layer
 * (float rounding; the double-precision per-layer checks are in t_layers). */
static double net_loss(net *n, const float *x, const float *w, float *dz, float *lws, int B) {
    const float *z = net_forward(n, x, B, 1, 5, 9);
    loss_parts lp;
    dsah_loss_forward(&lp, lws, z, w, B, n->bits, 1.0, 0.5, PIC_PIC, QUANT_Z);
    dsah_loss_backward(dz, lws, &lp, z, w, B, n->bits, 1.0, 0.5, PIC_PIC, QUANT_Z);
    return lp.total;
}

static void test_net_grad(void) {
    net n;
    char err[256];
    rng r;
    rng_seed(&r, 11);
    CHECK(!net_build(&n, "conv3-4,conv3-4,pool,fc-12,dropout-0.3", 2, 6, 8, err, sizeof err));
    net_init_params(&n, 1);
    net_set_finetune(&n, "all");
    const int B = 5;
    net_alloc(&n, B, 1);
    float *x = xmalloc(4 * B * 2 * 36), w[25], *dz = xmalloc(4 * B * 8), *lws = xmalloc(4 * dsah_loss_ws(B, 8));
    fill(x, B * 72, &r, 0, 1);
    for (int i = 0; i < B; i++)
        for (int j = 0; j < B; j++) w[i * B + j] = (i % 2 == j % 2) ? 1 : -1;
    net_loss(&n, x, w, dz, lws, B);
    net_backward(&n, dz, B, 5, 9);
    double *v = xmalloc(8 * n.np), an = 0;
    for (int64_t i = 0; i < n.np; i++) {
        v[i] = 2 * rng_uniform(&r) - 1;
        an += v[i] * n.grads[i];
    }
    float *p0 = xmalloc(4 * n.np);
    memcpy(p0, n.params, 4 * n.np);
    const double h = 1e-4;
    for (int64_t i = 0; i < n.np; i++) n.params[i] = (float)(p0[i] + h * v[i]);
    double fp = net_loss(&n, x, w, dz, lws, B);
    for (int64_t i = 0; i < n.np; i++) n.params[i] = (float)(p0[i] - h * v[i]);
    double fm = net_loss(&n, x, w, dz, lws, B);
    memcpy(n.params, p0, 4 * n.np);
    double fd = (fp - fm) / (2 * h), rel = fabs(fd - an) / fabs(an);
    ok(rel < 1e-2, "whole network (conv,conv,pool,fc,dropout,hash,tanh + loss): directional derivative %.6g vs "
       "finite difference %.6g, rel err %.2g (tol 1e-2)", an, fd, rel);
    /* per-parameter-group check too, so that one layer's gradient cannot hide */
    int allgood = 1;
    double worst = 0;
    for (int li = 0; li < n.nl; li++) {
        nn_layer *l = &n.L[li];
        if (l->woff < 0) continue;
        double a2 = 0;
        for (int64_t i = l->woff; i < l->boff + l->bn; i++) a2 += v[i] * n.grads[i];
        for (int64_t i = l->woff; i < l->boff + l->bn; i++) n.params[i] = (float)(p0[i] + h * v[i]);
        double gp = net_loss(&n, x, w, dz, lws, B);
        for (int64_t i = l->woff; i < l->boff + l->bn; i++) n.params[i] = (float)(p0[i] - h * v[i]);
        double gm = net_loss(&n, x, w, dz, lws, B);
        memcpy(n.params, p0, 4 * n.np);
        double e = fabs((gp - gm) / (2 * h) - a2) / fabs(a2);
        diag("  %s: directional derivative %.6g, rel err %.2g", l->wname, a2, e);
        worst = fmax(worst, e);
        allgood &= e < 3e-2;
    }
    ok(allgood, "each layer's directional derivative matches finite differences (worst rel err %.2g, tol 3e-2)", worst);
    /* eval-mode buffers (ping-pong) give the same output as train-mode ones
     * when dropout is off */
    net m;
    CHECK(!net_build(&m, "conv3-4,conv3-4,pool,fc-12", 2, 6, 8, err, sizeof err));
    net_init_params(&m, 1);
    net_set_finetune(&m, "all");
    net_alloc(&m, B, 1);
    float zt[40];
    memcpy(zt, net_forward(&m, x, B, 1, 0, 0), sizeof zt);
    net_free(&m);
    CHECK(!net_build(&m, "conv3-4,conv3-4,pool,fc-12", 2, 6, 8, err, sizeof err));
    net_init_params(&m, 1);
    net_set_finetune(&m, "all");
    net_alloc(&m, B, 0);
    ok(!memcmp(zt, net_forward(&m, x, B, 0, 0, 0), sizeof zt), "inference buffers give the same z as training buffers");
    /* a batch smaller than allocated: the first rows agree. Not bit for bit:
     * sgemm with another row count may block (and so sum) differently, and a
     * kernel picked at run time (the environment may name another) decides how. */
    double pe = rel_err_f(net_forward(&m, x, 3, 0, 0, 0), zt, 3 * 8);
    ok(pe < 1e-5, "a partial batch gives the same rows within float rounding (rel err %.2g, tol 1e-5)", pe);
    net_free(&m);
    /* frozen parts: --finetune head, one Adam step changes only hash.fc */
    net_free(&n);
    CHECK(!net_build(&n, "conv3-4,conv3-4,pool,fc-12,dropout-0.3", 2, 6, 8, err, sizeof err));
    net_init_params(&n, 1);
    net_set_finetune(&n, "head");
    net_alloc(&n, B, 1);
    memcpy(p0, n.params, 4 * n.np);
    net_loss(&n, x, w, dz, lws, B);
    net_backward(&n, dz, B, 5, 9);
    adam a;
    adam_init(&a, n.np - n.train_off, 1e-8);
    adam_step(&a, n.params + n.train_off, n.grads, 1e-2);
    int frozen_same = !memcmp(p0, n.params, 4 * n.train_off), head_moved = 0;
    for (int64_t i = n.train_off; i < n.np; i++) head_moved += n.params[i] != p0[i];
    ok(frozen_same && head_moved > 0 && a.n == 12 * 8 + 8 && n.np - n.train_off == 12 * 8 + 8,
       "--finetune head: gradients and Adam state for the 104 hash.fc parameters only, %d of them move, the %lld "
       "frozen ones are unchanged", head_moved, (long long)n.train_off);
    adam_free(&a);
    net_free(&n);
    free(x); free(dz); free(lws); free(v); free(p0);
}

/* Overfitting: 40 images of 2 classes (a class-specific pattern + noise),
 * W from the classes; 300 Adam steps of batch 20. */
static void test_overfit(void) {
    net n;
    char err[256];
    rng r;
    rng_seed(&r, 3);
    const int N = 40, S = 8, B = 20, L = 16, steps = 300;
    CHECK(!net_build(&n, "conv3-8,pool,fc-32", 1, S, L, err, sizeof err));
    net_init_params(&n, 2);
    net_set_finetune(&n, "all");
    net_alloc(&n, B, 1);
    float *imgs = xmalloc(4 * N * S * S), *pat = xmalloc(4 * 4 * S * S);
    fill(pat, 4 * S * S, &r, 0, 1);
    int lab[40];
    for (int i = 0; i < N; i++) {
        lab[i] = i % 2;
        for (int p = 0; p < S * S; p++) imgs[i * S * S + p] = pat[lab[i] * S * S + p] + 0.3f * (float)rng_uniform(&r);
    }
    float *x = xmalloc(4 * B * S * S), w[400], *dz = xmalloc(4 * B * L), *lws = xmalloc(4 * dsah_loss_ws(B, L));
    adam a;
    adam_init(&a, n.np, 1e-8);
    int64_t perm[40];
    for (int i = 0; i < N; i++) perm[i] = i;
    double first = 0, last = 0;
    for (int s = 0; s < steps; s++) {
        if (s % 2 == 0) rng_shuffle_i64(&r, perm, N);
        const int64_t *pb = perm + (s % 2) * B;
        for (int i = 0; i < B; i++) {
            memcpy(x + i * S * S, imgs + pb[i] * S * S, 4 * S * S);
            for (int j = 0; j < B; j++) w[i * B + j] = lab[pb[i]] == lab[pb[j]] ? 1 : -1;
        }
        const float *z = net_forward(&n, x, B, 1, 1, (uint64_t)s);
        loss_parts lp;
        dsah_loss_forward(&lp, lws, z, w, B, L, 1.0, 0.0, PIC_PIC, QUANT_Z);
        dsah_loss_backward(dz, lws, &lp, z, w, B, L, 1.0, 0.0, PIC_PIC, QUANT_Z);
        if (s < 10) first += lp.total / 10;
        if (s >= steps - 10) last += lp.total / 10;
        net_backward(&n, dz, B, 1, (uint64_t)s);
        adam_step(&a, n.params, n.grads, 3e-3);
    }
    ok(last < first / 10, "overfit 40 images: mean loss of the first 10 steps %.4f, of the last 10 (after %d) %.4f: "
       "fell by %.0fx (>= 10x required)", first, steps, last, first / last);
    adam_free(&a);
    net_free(&n);
    free(imgs); free(pat); free(x); free(dz); free(lws);
}

/* Run f in a child; returns its exit status and its stderr in buf. */
static int run_child(void (*f)(const char *), const char *arg, char *buf, size_t n) {
    int p[2];
    CHECK_ZERO(pipe(p));
    fflush(stdout);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        dup2(p[1], 2);
        close(p[0]);
        f(arg);
        _exit(0);
    }
    close(p[1]);
    size_t k = 0;
    ssize_t r;
    while (k + 1 < n && (r = read(p[0], buf + k, n - 1 - k)) > 0) k += (size_t)r;
    buf[k] = 0;
    close(p[0]);
    int st;
    waitpid(pid, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

static void load_it(const char *path) {
    net n;
    net_load(&n, path);
}

static void test_io(void) {
    net n, m;
    char err[256], path[512], buf[2048];
    CHECK(!net_build(&n, "conv3-4,pool,fc-8,dropout-0.5,fc-8,dropout-0.5", 3, 4, 12, err, sizeof err));
    net_init_params(&n, 7);
    snprintf(path, sizeof path, "%s/m.safetensors", tmpdir);
    net_save(&n, path);
    net_load(&m, path);
    ok(!strcmp(m.arch, n.arch) && m.bits == 12 && m.input == 4 && m.channels == 3 && m.np == n.np &&
           !memcmp(m.params, n.params, 4 * n.np),
       "model round trip: arch, bits, input, channels and %lld parameters identical", (long long)n.np);
    net_free(&m);
    /* torchvision names vs timm names (pre_logits.fc1/fc2 with conv-shaped
     * weights) load into the same network */
    char p1[512], p2[512];
    snprintf(p1, sizeof p1, "%s/tv.safetensors", tmpdir);
    snprintf(p2, sizeof p2, "%s/timm.safetensors", tmpdir);
    st_writer *a = st_writer_begin(p1), *b = st_writer_begin(p2);
    for (int i = 0; i < n.nl; i++) {
        nn_layer *l = &n.L[i];
        if (l->woff < 0 || !strncmp(l->wname, "hash.", 5)) continue;
        int64_t ws[4], bs = l->bn;
        int nd;
        if (l->type == NL_CONV) { ws[0] = l->K; ws[1] = l->C; ws[2] = 3; ws[3] = 3; nd = 4; }
        else { ws[0] = l->K; ws[1] = l->C; nd = 2; }
        st_writer_add(a, l->wname, nd, ws, n.params + l->woff);
        st_writer_add(a, l->bname, 1, &bs, n.params + l->boff);
        if (l->type == NL_FC) {
            const char *tn = !strcmp(l->wname, "classifier.0.weight") ? "pre_logits.fc1" : "pre_logits.fc2";
            int64_t cs[4] = {l->K, l->C / (l->C == 16 ? 4 : 1), l->C == 16 ? 2 : 1, l->C == 16 ? 2 : 1};
            char wn[64], bn[64];
            snprintf(wn, sizeof wn, "%s.weight", tn);
            snprintf(bn, sizeof bn, "%s.bias", tn);
            st_writer_add(b, wn, 4, cs, n.params + l->woff);
            st_writer_add(b, bn, 1, &bs, n.params + l->boff);
        } else {
            st_writer_add(b, l->wname, nd, ws, n.params + l->woff);
            st_writer_add(b, l->bname, 1, &bs, n.params + l->boff);
        }
    }
    st_writer_commit(a);
    st_writer_commit(b);
    const char *pre[3] = {"features.", "classifier.0.", "classifier.3."};
    net t1, t2;
    CHECK(!net_build(&t1, n.arch, 3, 4, 12, err, sizeof err));
    CHECK(!net_build(&t2, n.arch, 3, 4, 12, err, sizeof err));
    st_file f;
    st_open(&f, p1);
    net_load_params(&t1, &f, pre, 3);
    st_close(&f);
    st_open(&f, p2);
    net_load_params(&t2, &f, pre, 3);
    st_close(&f);
    int64_t head = t1.L[t1.nl - 2].woff;
    ok(!memcmp(t1.params, t2.params, 4 * t1.np) && !memcmp(t1.params, n.params, 4 * head),
       "torchvision and timm names load the same network (%lld backbone parameters)", (long long)head);
    net_free(&t1);
    net_free(&t2);
    /* errors: a wrong shape, a missing tensor, no metadata */
    snprintf(p1, sizeof p1, "%s/bad1.safetensors", tmpdir);
    a = st_writer_begin(p1);
    for (int i = 0; i < n.nl; i++) {
        nn_layer *l = &n.L[i];
        if (l->woff < 0) continue;
        int64_t ws[2] = {l->K, l->wn / l->K}, bs = l->bn;
        if (i == 0) { ws[0] = 2; ws[1] = l->wn / 2; }   /* features.0.weight as [2, 54] */
        st_writer_add(a, l->wname, 2, ws, n.params + l->woff);
        st_writer_add(a, l->bname, 1, &bs, n.params + l->boff);
    }
    st_writer_meta(a, "arch", n.arch);
    st_writer_meta(a, "bits", "12");
    st_writer_meta(a, "input", "4");
    st_writer_meta(a, "channels", "3");
    st_writer_commit(a);
    int rc = run_child(load_it, p1, buf, sizeof buf);
    ok(rc != 0 && strstr(buf, "features.0.weight") && strstr(buf, "expected shape [4,3,3,3]"),
       "wrong shape is an error naming tensor and shapes: %.*s", (int)strcspn(buf, "\n"), buf);
    snprintf(p2, sizeof p2, "%s/bad2.safetensors", tmpdir);
    b = st_writer_begin(p2);
    int64_t bs = 4;
    st_writer_add(b, "features.0.bias", 1, &bs, n.params);
    st_writer_meta(b, "arch", n.arch);
    st_writer_meta(b, "bits", "12");
    st_writer_meta(b, "input", "4");
    st_writer_meta(b, "channels", "3");
    st_writer_commit(b);
    rc = run_child(load_it, p2, buf, sizeof buf);
    ok(rc != 0 && strstr(buf, "'features.0.weight' is missing"), "missing tensor is an error: %.*s",
       (int)strcspn(buf, "\n"), buf);
    snprintf(p2, sizeof p2, "%s/bad3.safetensors", tmpdir);
    b = st_writer_begin(p2);
    st_writer_add(b, "features.0.bias", 1, &bs, n.params);
    st_writer_commit(b);
    rc = run_child(load_it, p2, buf, sizeof buf);
    ok(rc != 0 && strstr(buf, "no 'arch'"), "a file without dsah metadata is an error: %.*s", (int)strcspn(buf, "\n"), buf);
    net_free(&n);
}

int main(void) {
    dsah_init("t_train");
    nn_set_threads(2);
    const char *td = getenv("TMPDIR");
    snprintf(tmpdir, sizeof tmpdir, "%s/t_train.XXXXXX", td ? td : "/tmp");
    CHECK(mkdtemp(tmpdir));
    test_build();
    test_net_grad();
    test_overfit();
    test_io();
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    CHECK(system(cmd) == 0);
    return done_testing();
}
