/* t_features_vgg.c: dsah-features --extractor vgg19 end to end (the binary,
 * run through system()).
 *
 * A full VGG-19 at 224 (548 MB of weights, ~20 GFLOP per image) is too slow
 * for make test. The vgg19 preset has no adaptive pool, so the input side may
 * be 32: the convolutions keep their real shapes, the map is 512x1x1 before
 * fc6, and fc6 is [4096,512] (fc7 keeps [4096,4096]), 37.6 M parameters.
 * Random (He-scaled) weights are written as safetensors twice, with
 * torchvision names and with timm names (conv-shaped fc weights). The
 * reference is this file's own forward: torchvision's preprocessing written
 * out (x/255 - mean)/std, direct 3x3 convolutions, ReLU, 2x2 max-pools and
 * the two fcs, all in double, with none of the library's code (no im2col, no
 * GEMM, no preprocess.c). Checked: relu7 rows (RGB and grey images, a partial
 * last batch, rows in index order) within 1e-4 relative to the row's largest
 * value; timm-named weights give byte-identical output (the same
 * computation); --threads 1 with batch 32 and --threads 2 with batch 2 agree
 * within float rounding (normalised error < 1e-5); every bad input fails with a one-line error naming
 * the problem and leaves no output. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "format/npy.h"
#include "util/rng.h"
#include "format/safetensors.h"
#include "tap.h"
#if DSAH_CUDA
#include "gpu.h"
#endif
#include "util/util.h"

#define S 32
static const int cfg[] = {64, 64, 0, 128, 128, 0, 256, 256, 256, 256, 0, 512, 512, 512, 512, 0, 512, 512, 512, 512, 0};
#define NCFG ((int)(sizeof cfg / sizeof cfg[0]))

static char dir[256], bin[512];

/* weights, torch layouts: conv [K,C,3,3], fc [out,in] */
static float *cw[16], *cb[16], *f6w, *f6b, *f7w, *f7b;
static int ck[16], cc[16];

static void fill(float *p, int64_t n, rng *r, double bound) {
    for (int64_t i = 0; i < n; i++) p[i] = (float)((2 * rng_uniform(r) - 1) * bound);
}

static void make_weights(void) {
    rng r;
    rng_seed(&r, 20211101);
    int C = 3, l = 0;
    for (int i = 0; i < NCFG; i++) {
        if (!cfg[i]) continue;
        int K = cfg[i];
        ck[l] = K;
        cc[l] = C;
        cw[l] = xmalloc(sizeof(float) * (size_t)K * C * 9);
        cb[l] = xmalloc(sizeof(float) * (size_t)K);
        /* uniform with variance 2/fan_in (He): activations stay O(1) */
        fill(cw[l], (int64_t)K * C * 9, &r, sqrt(6.0 / (C * 9)));
        fill(cb[l], K, &r, 0.1);
        C = K;
        l++;
    }
    f6w = xmalloc(sizeof(float) * 4096 * 512);
    f6b = xmalloc(sizeof(float) * 4096);
    f7w = xmalloc(sizeof(float) * 4096 * 4096);
    f7b = xmalloc(sizeof(float) * 4096);
    fill(f6w, 4096 * 512, &r, sqrt(6.0 / 512));
    fill(f6b, 4096, &r, 0.1);
    fill(f7w, 4096LL * 4096, &r, sqrt(6.0 / 4096));
    fill(f7b, 4096, &r, 0.1);
}

/* timm: 0 torchvision names; 1 timm names and conv-shaped fc weights. */
static void write_weights(const char *path, int timm) {
    st_writer *w = st_writer_begin(path);
    int fi = 0;
    char name[64];
    for (int l = 0, i = 0; i < NCFG; i++, fi++) {
        if (!cfg[i]) continue;
        int64_t ws[4] = {ck[l], cc[l], 3, 3}, bs = ck[l];
        snprintf(name, sizeof name, "features.%d.weight", fi);
        st_writer_add(w, name, 4, ws, cw[l]);
        snprintf(name, sizeof name, "features.%d.bias", fi);
        st_writer_add(w, name, 1, &bs, cb[l]);
        fi++; /* the ReLU module */
        l++;
    }
    int64_t s6[4] = {4096, 512, 1, 1}, s7[4] = {4096, 4096, 1, 1}, sb = 4096;
    st_writer_add(w, timm ? "pre_logits.fc1.weight" : "classifier.0.weight", timm ? 4 : 2, s6, f6w);
    st_writer_add(w, timm ? "pre_logits.fc1.bias" : "classifier.0.bias", 1, &sb, f6b);
    st_writer_add(w, timm ? "pre_logits.fc2.weight" : "classifier.3.weight", timm ? 4 : 2, s7, f7w);
    st_writer_add(w, timm ? "pre_logits.fc2.bias" : "classifier.3.bias", 1, &sb, f7b);
    /* the 1000-class head is not used: a stray tensor of it is ignored */
    int64_t s8 = 1000;
    st_writer_add(w, timm ? "head.fc.bias" : "classifier.6.bias", 1, &s8, f7b);
    st_writer_commit(w);
}

/* Reference relu7 of one image u8 [S,S,c] (c = 1: grey replicated) -> out [4096], in double. */
static void ref_forward(double *out, const uint8_t *img, int c) {
    static const double mean[3] = {0.485, 0.456, 0.406}, sd[3] = {0.229, 0.224, 0.225};
    double *a = xmalloc(sizeof(double) * 64 * S * S), *b = xmalloc(sizeof(double) * 64 * S * S);
    for (int ch = 0; ch < 3; ch++)
        for (int p = 0; p < S * S; p++) a[ch * S * S + p] = (img[p * c + (c == 3 ? ch : 0)] / 255.0 - mean[ch]) / sd[ch];
    int C = 3, H = S, l = 0;
    for (int i = 0; i < NCFG; i++) {
        if (!cfg[i]) {
            int h = H / 2;
            for (int ch = 0; ch < C; ch++)
                for (int y = 0; y < h; y++)
                    for (int x = 0; x < h; x++) {
                        const double *q = a + (int64_t)ch * H * H;
                        double m = fmax(fmax(q[2 * y * H + 2 * x], q[2 * y * H + 2 * x + 1]),
                                        fmax(q[(2 * y + 1) * H + 2 * x], q[(2 * y + 1) * H + 2 * x + 1]));
                        b[(int64_t)ch * h * h + y * h + x] = m;
                    }
            H = h;
        } else {
            int K = ck[l];
            for (int k = 0; k < K; k++)
                for (int y = 0; y < H; y++)
                    for (int x = 0; x < H; x++) {
                        double s = cb[l][k];
                        for (int ch = 0; ch < C; ch++) {
                            const float *wk = cw[l] + ((int64_t)k * C + ch) * 9;
                            const double *q = a + (int64_t)ch * H * H;
                            for (int dy = -1; dy <= 1; dy++)
                                for (int dx = -1; dx <= 1; dx++) {
                                    int yy = y + dy, xx = x + dx;
                                    if (yy < 0 || yy >= H || xx < 0 || xx >= H) continue;
                                    s += wk[(dy + 1) * 3 + dx + 1] * q[yy * H + xx];
                                }
                        }
                        b[(int64_t)k * H * H + y * H + x] = s > 0 ? s : 0;
                    }
            C = K;
            l++;
        }
        double *t = a; a = b; b = t;
    }
    /* a: [512] after the last pool (1x1 map) */
    double *h6 = xmalloc(sizeof(double) * 4096);
    for (int o = 0; o < 4096; o++) {
        double s = f6b[o];
        for (int i = 0; i < 512; i++) s += (double)f6w[(int64_t)o * 512 + i] * a[i];
        h6[o] = s > 0 ? s : 0;
    }
    for (int o = 0; o < 4096; o++) {
        double s = f7b[o];
        for (int i = 0; i < 4096; i++) s += (double)f7w[(int64_t)o * 4096 + i] * h6[i];
        out[o] = s > 0 ? s : 0;
    }
    free(h6);
    free(a);
    free(b);
}

static char *p(const char *name) {
    static char buf[8][600];
    static int k = 0;
    k = (k + 1) % 8;
    snprintf(buf[k], sizeof buf[k], "%s/%s", dir, name);
    return buf[k];
}

/* Run the binary with args; stderr to dir/err. Returns the exit status. */
static int run(const char *args) {
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "%s/dsah-features %s 2>%s/err", bin, args, dir);
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 255;
}

static char *slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = xmalloc((size_t)n + 1);
    size_t got = fread(b, 1, (size_t)n, f);
    fclose(f);
    b[got] = 0;
    if (len) *len = got;
    return b;
}

static int same_file(const char *a, const char *b) {
    size_t na, nb;
    char *x = slurp(a, &na), *y = slurp(b, &nb);
    int same = x && y && na == nb && !memcmp(x, y, na);
    free(x);
    free(y);
    return same;
}

/* A bad command: non-zero exit, stderr's first line is the error naming
 * `want`, at most a hint line after it, and no output file. */
static void bad(const char *args, const char *want, const char *what) {
    unlink(p("bad.npy"));
    int rc = run(args);
    char *e = slurp(p("err"), NULL);
    char *nl = strchr(e, '\n');
    int lines = 0;
    for (char *q = e; *q; q++) lines += *q == '\n';
    int hint_ok = lines == 1 || (lines == 2 && !strncmp(nl + 1, "dsah-features: hint: ", 21));
    ok(rc != 0 && !strncmp(e, "dsah-features: error: ", 22) && strstr(e, want) && nl && strstr(e, want) < nl &&
           hint_ok && access(p("bad.npy"), F_OK) != 0,
       "%s: exit %d, \"%.*s\"", what, rc, nl ? (int)(nl - e) : 0, e);
    free(e);
}

int main(void) {
    const char *b = getenv("DSAH_BIN");
    snprintf(bin, sizeof bin, "%s", b ? b : "bin");
    snprintf(dir, sizeof dir, "%s/t_features_vgg.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    CHECK(mkdtemp(dir));

    make_weights();
    write_weights(p("tv.safetensors"), 0);
    write_weights(p("timm.safetensors"), 1);

    /* 3 RGB images and 2 grey ones, 32x32 (no resize) */
    rng r;
    rng_seed(&r, 7);
    uint8_t *rgb = xmalloc(3 * S * S * 3), *grey = xmalloc(2 * S * S);
    for (int i = 0; i < 3 * S * S * 3; i++) rgb[i] = (uint8_t)(rng_u64(&r) >> 56);
    for (int i = 0; i < 2 * S * S; i++) grey[i] = (uint8_t)(rng_u64(&r) >> 56);
    int64_t srgb[4] = {3, S, S, 3}, sgrey[4] = {2, S, S, 1}, sidx[1] = {3}, sidx2[1] = {2}, sbadi[1] = {1};
    npy_save(p("rgb.npy"), NPY_U1, 4, srgb, rgb);
    npy_save(p("grey.npy"), NPY_U1, 4, sgrey, grey);
    int64_t idx[3] = {2, 0, 1}, idx2[2] = {1, 0}, badi[1] = {3};
    npy_save(p("idx.npy"), NPY_I8, 1, sidx, idx);
    npy_save(p("idx2.npy"), NPY_I8, 1, sidx2, idx2);
    npy_save(p("badidx.npy"), NPY_I8, 1, sbadi, badi);

    char a[2048];
    const char *common = "--extractor vgg19 --input 32 -q";
    snprintf(a, sizeof a, "--images %s --indices %s %s --weights %s --batch 2 --threads 2 --out %s", p("rgb.npy"),
             p("idx.npy"), common, p("tv.safetensors"), p("tv.npy"));
    double t0 = now_sec();
    int rc = run(a);
    ok(rc == 0, "vgg19 on 3 RGB images, torchvision names, batch 2 (%.2f s)", now_sec() - t0);
    snprintf(a, sizeof a, "--images %s --indices %s %s --weights %s --batch 2 --threads 2 --out %s", p("rgb.npy"),
             p("idx.npy"), common, p("timm.safetensors"), p("timm.npy"));
    ok(run(a) == 0, "vgg19, timm names");
    snprintf(a, sizeof a, "--images %s --indices %s %s --weights %s --threads 1 --out %s", p("rgb.npy"), p("idx.npy"),
             common, p("tv.safetensors"), p("t1.npy"));
    ok(run(a) == 0, "vgg19, default batch, 1 thread");
    snprintf(a, sizeof a, "--images %s --indices %s %s --weights %s --out %s", p("grey.npy"), p("idx2.npy"), common,
             p("tv.safetensors"), p("grey_out.npy"));
    ok(run(a) == 0, "vgg19 on 2 grey images");

    ok(same_file(p("tv.npy"), p("timm.npy")), "timm-named weights give byte-identical features");
    /* Another thread count and batch size change how sgemm blocks (and so
     * sums) each product, so the two agree within float rounding, not bit for
     * bit (no BLAS promises that; which kernel runs is picked at run time). */
    {
        npy_array fa, fb;
        npy_open(&fa, p("tv.npy"), NPY_F4, 2);
        npy_open(&fb, p("t1.npy"), NPY_F4, 2);
        int same_shape = fa.shape[0] == fb.shape[0] && fa.shape[1] == fb.shape[1];
        double e = same_shape ? rel_err_f(fb.data, fa.data, fa.shape[0] * fa.shape[1]) : 1.0 / 0.0;
        ok(same_shape && e < 1e-5, "1 thread, batch 32 == 2 threads, batch 2 within float rounding (rel err %.2g, tol 1e-5)",
           e);
        npy_close(&fa);
        npy_close(&fb);
    }

    /* against the reference forward */
    double *ref = xmalloc(sizeof(double) * 4096);
    struct { const char *out; const uint8_t *im; const int64_t *ix; int n, c; } cases[2] = {
        {"tv.npy", rgb, idx, 3, 3}, {"grey_out.npy", grey, idx2, 2, 1}};
    for (int cs = 0; cs < 2; cs++) {
        npy_array f;
        npy_open(&f, p(cases[cs].out), NPY_F4, 2);
        ok(f.shape[0] == cases[cs].n && f.shape[1] == 4096, "%s: f4 [%lld,%lld]", cases[cs].out,
           (long long)f.shape[0], (long long)f.shape[1]);
        const float *x = f.data;
        for (int k = 0; k < cases[cs].n; k++) {
            ref_forward(ref, cases[cs].im + cases[cs].ix[k] * S * S * cases[cs].c, cases[cs].c);
            double mx = 0, err = 0;
            int pos = 0;
            for (int j = 0; j < 4096; j++) {
                mx = fmax(mx, fabs(ref[j]));
                err = fmax(err, fabs(x[(int64_t)k * 4096 + j] - ref[j]));
                pos += ref[j] > 0;
            }
            /* a row that is mostly zeros would prove little */
            ok(pos > 1000 && err <= 1e-4 * mx,
               "%s row %d (image %lld): max |diff| %.3g <= 1e-4 * max %.4g, %d of 4096 positive", cases[cs].out, k,
               (long long)cases[cs].ix[k], err, mx, pos);
        }
        npy_close(&f);
    }
    free(ref);

    /* bad inputs: small weights files for the missing / wrong-shape cases */
    {
        st_writer *w = st_writer_begin(p("missing.safetensors"));
        int64_t bs = 64;
        st_writer_add(w, "features.0.bias", 1, &bs, cb[0]);
        st_writer_commit(w);
        w = st_writer_begin(p("shape.safetensors"));
        int64_t ws[4] = {64, 3, 3, 2};
        st_writer_add(w, "features.0.weight", 4, ws, cw[0]);
        st_writer_add(w, "features.0.bias", 1, &bs, cb[0]);
        st_writer_commit(w);
        FILE *fp = fopen(p("garbage.safetensors"), "wb");
        fputs("not a safetensors file at all", fp);
        fclose(fp);
    }
    char *im = xstrdup(p("rgb.npy")), *ix = xstrdup(p("idx.npy")), *out = xstrdup(p("bad.npy"));
    snprintf(a, sizeof a, "--images %s --indices %s %s --out %s", im, ix, common, out);
    bad(a, "needs --weights", "no --weights");
    snprintf(a, sizeof a, "--images %s --indices %s %s --weights %s --out %s", im, ix, common, p("nope.safetensors"),
             out);
    bad(a, "nope.safetensors", "weights file missing");
    snprintf(a, sizeof a, "--images %s --indices %s %s --weights %s --out %s", im, ix, common,
             p("garbage.safetensors"), out);
    bad(a, "garbage.safetensors", "weights file not safetensors");
    snprintf(a, sizeof a, "--images %s --indices %s %s --weights %s --out %s", im, ix, common,
             p("missing.safetensors"), out);
    bad(a, "tensor 'features.0.weight' (or its timm name) is missing", "tensor missing");
    snprintf(a, sizeof a, "--images %s --indices %s %s --weights %s --out %s", im, ix, common, p("shape.safetensors"),
             out);
    bad(a, "tensor 'features.0.weight': expected shape [64,3,3,3] (1728 elements), found [64,3,3,2]",
        "wrong conv shape names tensor, expected and found");
    snprintf(a, sizeof a, "--images %s --indices %s --extractor vgg19 -q --input 224 --weights %s --out %s", im, ix,
             p("tv.safetensors"), out);
    bad(a, "tensor 'classifier.0.weight' (fc6) has shape [4096,512], made for a 512x1x1 map (--input 32..63); "
           "--input 224 gives a 512x7x7 map and needs [4096,25088]",
        "fc6 of 32-input weights at --input 224");
    snprintf(a, sizeof a, "--images %s --indices %s --extractor vgg19 -q --input 16 --weights %s --out %s", im, ix,
             p("tv.safetensors"), out);
    bad(a, "--input 16: too small for VGG-19, which needs at least 32", "--input 16");
    snprintf(a, sizeof a, "--images %s --indices %s %s --weights %s --device cuda --out %s", im, ix, common,
             p("tv.safetensors"), out);
#if DSAH_CUDA
    if (gpu_count() > 0) skip(1, "a GPU is present: --device cuda runs");
    else bad(a, "--device cuda: no CUDA GPU answers", "--device cuda");
#else
    bad(a, "--device cuda: this build of dsah-features has no CUDA support", "--device cuda");
#endif
    snprintf(a, sizeof a, "--images %s --indices %s %s --weights %s --out %s", im, p("badidx.npy"), common,
             p("tv.safetensors"), out);
    bad(a, "index 3 at position 0 is outside the 3 rows of", "index out of range");

    free(im);
    free(ix);
    free(out);
    free(rgb);
    free(grey);
    snprintf(a, sizeof a, "rm -rf '%s'", dir);
    CHECK(system(a) == 0);
    return done_testing();
}
