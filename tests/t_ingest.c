/* t_ingest: the IDX and CIFAR-10 loaders and the pixels extractor against
 * fixtures written here with libarchive in the real layouts, with known
 * pixels and labels:
 *   - IDX files gzipped and plain (train then t10k order, multi-hot labels,
 *     MNIST and Fashion-MNIST class names);
 *   - cifar-10-binary.tar.gz with all six batches (few records each) and
 *     batches.meta.txt in the official member order, read by directory and
 *     by archive path; pixels checked after the CHW -> HWC conversion;
 *   - bad inputs in a child process: exit 1, one message naming the file and
 *     the problem, no output left;
 *   - features_pixels / features_write against a direct x/255 loop.
 *
 * `t_ingest --gen DIR` writes the fixtures for tests/t_ingest.t instead. */
#define _GNU_SOURCE
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "nn/features.h"
#include "data/ingest.h"
#include "format/npy.h"
#include "util/rng.h"
#include "tap.h"

/* ---- fixture content ---------------------------------------------------- */
#define IH 5   /* IDX fixture rows: not square, so rows/cols mix-ups show */
#define IW 4
#define NTR 23
#define NTE 11
static uint8_t idx_pix(int64_t i, int y, int x) { return (uint8_t)((i * 13 + y * 5 + x * 11 + 7) & 255); }
static uint8_t idx_label(int64_t i) { return (uint8_t)(i < NTR ? (i * 3 + 1) % 10 : ((i - NTR) * 7 + 2) % 10); }

static const int cifar_count[6] = {9, 7, 8, 6, 7, 8};   /* data_batch_1..5, test_batch */
#define CIFAR_N 45
/* hashed, so the archive does not compress away and a cut lands inside a
 * batch member */
static uint8_t cifar_pix(int64_t i, int y, int x, int c) {
    return (uint8_t)(rng_hash64((uint64_t)(((i * 32 + y) * 32 + x) * 3 + c)) >> 56);
}
static uint8_t cifar_label(int64_t i) { return (uint8_t)((i * 7 + 3) % 10); }
static const char *cifar_classes[10] = {"airplane", "automobile", "bird", "cat", "deer",
                                        "dog", "frog", "horse", "ship", "truck"};

/* ---- writers ------------------------------------------------------------ */
static void write_plain(const char *path, const void *buf, size_t n) {
    FILE *f = fopen(path, "wb");
    CHECK(f);
    CHECK(fwrite(buf, 1, n, f) == n);
    CHECK(fclose(f) == 0);
}

/* A gzip file written through libarchive's raw format + gzip filter. */
static void write_gz(const char *path, const void *buf, size_t n) {
    struct archive *a = archive_write_new();
    CHECK(archive_write_add_filter_gzip(a) == ARCHIVE_OK);
    CHECK(archive_write_set_format_raw(a) == ARCHIVE_OK);
    CHECK(archive_write_open_filename(a, path) == ARCHIVE_OK);
    struct archive_entry *e = archive_entry_new();
    archive_entry_set_pathname(e, "data");
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_size(e, (la_int64_t)n);
    CHECK(archive_write_header(a, e) == ARCHIVE_OK);
    CHECK(archive_write_data(a, buf, n) == (la_ssize_t)n);
    archive_entry_free(e);
    CHECK(archive_write_close(a) == ARCHIVE_OK);
    archive_write_free(a);
}

static void put_be32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}

typedef struct idx_faults {
    uint32_t image_magic;   /* 0: the right one */
    int64_t train_labels;   /* label count written in the train label file (-1: NTR) */
    int bad_label_at;       /* t10k item whose label is written as 10 (-1: none) */
    int gz;
} idx_faults;

static void write_idx_dir(const char *dir, idx_faults f) {
    mkdir_p(dir);
    char p[512];
    for (int part = 0; part < 2; part++) {
        int64_t n = part ? NTE : NTR, off = part ? NTR : 0;
        const char *pre = part ? "t10k" : "train";
        size_t isz = 16 + (size_t)n * IH * IW;
        uint8_t *im = malloc(isz);
        put_be32(im, f.image_magic ? f.image_magic : 0x803);
        put_be32(im + 4, (uint32_t)n);
        put_be32(im + 8, IH);
        put_be32(im + 12, IW);
        for (int64_t i = 0; i < n; i++)
            for (int y = 0; y < IH; y++)
                for (int x = 0; x < IW; x++) im[16 + (i * IH + y) * IW + x] = idx_pix(off + i, y, x);
        int64_t nl = (!part && f.train_labels >= 0) ? f.train_labels : n;
        uint8_t *lb = malloc(8 + (size_t)nl);
        put_be32(lb, 0x801);
        put_be32(lb + 4, (uint32_t)nl);
        for (int64_t i = 0; i < nl; i++) lb[8 + i] = idx_label(off + i);
        if (part && f.bad_label_at >= 0) lb[8 + f.bad_label_at] = 10;
        snprintf(p, sizeof p, "%s/%s-images-idx3-ubyte%s", dir, pre, f.gz ? ".gz" : "");
        (f.gz ? write_gz : write_plain)(p, im, isz);
        snprintf(p, sizeof p, "%s/%s-labels-idx1-ubyte%s", dir, pre, f.gz ? ".gz" : "");
        (f.gz ? write_gz : write_plain)(p, lb, 8 + (size_t)nl);
        free(im);
        free(lb);
    }
}

static void tar_add(struct archive *a, const char *name, const void *buf, size_t n, int is_dir) {
    struct archive_entry *e = archive_entry_new();
    archive_entry_set_pathname(e, name);
    archive_entry_set_filetype(e, is_dir ? AE_IFDIR : AE_IFREG);
    archive_entry_set_perm(e, is_dir ? 0755 : 0644);
    archive_entry_set_size(e, is_dir ? 0 : (la_int64_t)n);
    CHECK(archive_write_header(a, e) == ARCHIVE_OK);
    if (!is_dir && n) CHECK(archive_write_data(a, buf, n) == (la_ssize_t)n);
    archive_entry_free(e);
}

/* cifar-10-binary.tar.gz in the official layout and member order;
 * omit_batch (0..5, -1 none) leaves one batch out, bad_label puts label 10
 * into the first record of data_batch_3. */
static void write_cifar(const char *path, int omit_batch, int bad_label) {
    static const char *names[6] = {"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin",
                                   "data_batch_4.bin", "data_batch_5.bin", "test_batch.bin"};
    /* the official tar lists: dir, 1, meta, 3, 4, test, readme, 2, 5 */
    static const int order[9] = {-2, 0, -1, 2, 3, 5, -3, 1, 4};
    char dir[512];
    path_dirname(path, dir, sizeof dir);
    mkdir_p(dir);
    struct archive *a = archive_write_new();
    CHECK(archive_write_add_filter_gzip(a) == ARCHIVE_OK);
    CHECK(archive_write_set_format_pax_restricted(a) == ARCHIVE_OK);
    CHECK(archive_write_open_filename(a, path) == ARCHIVE_OK);
    for (int o = 0; o < 9; o++) {
        int k = order[o];
        char name[128];
        if (k == -2) { tar_add(a, "cifar-10-batches-bin/", NULL, 0, 1); continue; }
        if (k == -1) {
            char meta[256] = "";
            for (int c = 0; c < 10; c++) { strcat(meta, cifar_classes[c]); strcat(meta, "\n"); }
            strcat(meta, "\n");   /* the official file ends with a blank line */
            tar_add(a, "cifar-10-batches-bin/batches.meta.txt", meta, strlen(meta), 0);
            continue;
        }
        if (k == -3) {
            const char *html = "<html>readme</html>\n";
            tar_add(a, "cifar-10-batches-bin/readme.html", html, strlen(html), 0);
            continue;
        }
        if (k == omit_batch) continue;
        int64_t first = 0;
        for (int j = 0; j < k; j++) first += cifar_count[j];
        size_t sz = (size_t)cifar_count[k] * 3073;
        uint8_t *buf = malloc(sz);
        for (int r = 0; r < cifar_count[k]; r++) {
            uint8_t *rec = buf + (size_t)r * 3073;
            rec[0] = cifar_label(first + r);
            for (int c = 0; c < 3; c++)
                for (int y = 0; y < 32; y++)
                    for (int x = 0; x < 32; x++) rec[1 + c * 1024 + y * 32 + x] = cifar_pix(first + r, y, x, c);
        }
        if (bad_label && k == 2) buf[0] = 10;
        snprintf(name, sizeof name, "cifar-10-batches-bin/%s", names[k]);
        tar_add(a, name, buf, sz, 0);
        free(buf);
    }
    CHECK(archive_write_close(a) == ARCHIVE_OK);
    archive_write_free(a);
}

static void gen_fixtures(const char *root) {
    char p[512];
    idx_faults good = {0, -1, -1, 1};
    snprintf(p, sizeof p, "%s/mnist_gz", root);
    write_idx_dir(p, good);
    idx_faults plain = good;
    plain.gz = 0;
    snprintf(p, sizeof p, "%s/mnist_plain", root);
    write_idx_dir(p, plain);
    idx_faults magic = good;
    magic.image_magic = 0x804;
    snprintf(p, sizeof p, "%s/bad_magic", root);
    write_idx_dir(p, magic);
    idx_faults label = good;
    label.bad_label_at = 4;
    snprintf(p, sizeof p, "%s/bad_label", root);
    write_idx_dir(p, label);
    idx_faults count = good;
    count.train_labels = NTR - 1;
    snprintf(p, sizeof p, "%s/count_mismatch", root);
    write_idx_dir(p, count);
    snprintf(p, sizeof p, "%s/cifar/cifar-10-binary.tar.gz", root);
    write_cifar(p, -1, 0);
    snprintf(p, sizeof p, "%s/cifar_no_batch4/cifar-10-binary.tar.gz", root);
    write_cifar(p, 3, 0);
    snprintf(p, sizeof p, "%s/cifar_bad_label/cifar-10-binary.tar.gz", root);
    write_cifar(p, -1, 1);
}

/* ---- checks ------------------------------------------------------------- */
static char root[256];

static int idx_images_match(const char *images_path) {
    npy_array a;
    npy_open(&a, images_path, NPY_U1, 4);
    int good = a.shape[0] == NTR + NTE && a.shape[1] == IH && a.shape[2] == IW && a.shape[3] == 1;
    const uint8_t *d = a.data;
    for (int64_t i = 0; good && i < NTR + NTE; i++)
        for (int y = 0; y < IH; y++)
            for (int x = 0; x < IW; x++) good &= d[(i * IH + y) * IW + x] == idx_pix(i, y, x);
    npy_close(&a);
    return good;
}

static int labels_match(const ingest_result *r, uint8_t (*label)(int64_t)) {
    int good = 1;
    for (int64_t i = 0; i < r->n; i++)
        for (int j = 0; j < r->nclass; j++) good &= r->labels[i * r->nclass + j] == (j == label(i));
    return good;
}

static void free_result(ingest_result *r) {
    for (int j = 0; j < r->nclass; j++) free(r->class_names[j]);
    free(r->class_names);
    free(r->labels);
}

/* Run fn(arg) in a child with stderr captured: returns the exit status
 * (-1 when it did not exit), the stderr text in msg. */
static int run_child(void (*fn)(const char *), const char *arg, char *msg, size_t n) {
    int fd[2];
    CHECK(pipe(fd) == 0);
    fflush(stdout);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        close(fd[0]);
        dup2(fd[1], 2);
        fn(arg);
        _exit(0);
    }
    close(fd[1]);
    size_t got = 0;
    ssize_t r;
    while (got + 1 < n && (r = read(fd[0], msg + got, n - 1 - got)) > 0) got += (size_t)r;
    msg[got] = '\0';
    close(fd[0]);
    int st;
    waitpid(pid, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static char out_images[600];
static void child_idx(const char *dir) {
    ingest_opts o = {.path = dir};
    ingest_result r;
    ingest_idx(&r, &o, out_images, 1);
}
static void child_cifar(const char *path) {
    ingest_opts o = {.path = path};
    ingest_result r;
    ingest_cifar10(&r, &o, out_images);
}

/* Entries in dir other than . and .. */
static int dir_entries(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return 0;
    int k = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) k++;
    closedir(d);
    return k;
}

static void expect_fail(void (*fn)(const char *), const char *arg, const char *what, const char *sub1,
                        const char *sub2) {
    char msg[2048], outdir[512];
    snprintf(outdir, sizeof outdir, "%s/fail_out", root);
    mkdir_p(outdir);
    snprintf(out_images, sizeof out_images, "%s/images.npy", outdir);
    int st = run_child(fn, arg, msg, sizeof msg);
    int good = st == 1 && strstr(msg, "error: ") && strstr(msg, sub1) && (!sub2 || strstr(msg, sub2)) &&
               dir_entries(outdir) == 0;
    ok(good, "%s: exit %d, no output, message names %s%s%s", what, st, sub1, sub2 ? " and " : "", sub2 ? sub2 : "");
    if (!good) diag("stderr: %s", msg);
}

static void test_idx(void) {
    char dir[512], images[512];
    const char *kinds[2] = {"mnist_gz", "mnist_plain"};
    for (int k = 0; k < 2; k++) {
        snprintf(dir, sizeof dir, "%s/%s", root, kinds[k]);
        snprintf(images, sizeof images, "%s/out_%s/images.npy", root, kinds[k]);
        ingest_opts o = {.path = dir};
        ingest_result r;
        ingest_idx(&r, &o, images, k == 0);
        ok(r.n == NTR + NTE && r.h == IH && r.w == IW && r.c == 1 && r.nclass == 10,
           "%s: n %lld, %dx%dx%d, %d classes", kinds[k], (long long)r.n, r.h, r.w, r.c, r.nclass);
        ok(idx_images_match(images), "%s: every pixel equals the IDX payload, train then t10k", kinds[k]);
        ok(labels_match(&r, idx_label), "%s: labels multi-hot, one 1 at the IDX label, train then t10k", kinds[k]);
        if (k == 0)
            ok(strcmp(r.class_names[0], "T-shirt/top") == 0 && strcmp(r.class_names[9], "Ankle boot") == 0 &&
                   strcmp(r.class_names[6], "Shirt") == 0,
               "fashion-mnist class names");
        else
            ok(strcmp(r.class_names[0], "0") == 0 && strcmp(r.class_names[9], "9") == 0, "mnist class names");
        free_result(&r);
    }
}

static void test_cifar(void) {
    char arch[512], dir[512], images[512];
    snprintf(dir, sizeof dir, "%s/cifar", root);
    snprintf(arch, sizeof arch, "%s/cifar/cifar-10-binary.tar.gz", root);
    const char *paths[2] = {dir, arch};
    for (int k = 0; k < 2; k++) {
        snprintf(images, sizeof images, "%s/out_cifar%d/images.npy", root, k);
        ingest_opts o = {.path = paths[k]};
        ingest_result r;
        ingest_cifar10(&r, &o, images);
        const char *how = k ? "archive path" : "directory path";
        ok(r.n == CIFAR_N && r.h == 32 && r.w == 32 && r.c == 3 && r.nclass == 10, "cifar10 by %s: n %lld, 32x32x3",
           how, (long long)r.n);
        npy_array a;
        npy_open(&a, images, NPY_U1, 4);
        int good = a.shape[0] == CIFAR_N && a.shape[1] == 32 && a.shape[2] == 32 && a.shape[3] == 3;
        const uint8_t *d = a.data;
        for (int64_t i = 0; good && i < CIFAR_N; i++)
            for (int y = 0; y < 32; y++)
                for (int x = 0; x < 32; x++)
                    for (int c = 0; c < 3; c++) good &= d[((i * 32 + y) * 32 + x) * 3 + c] == cifar_pix(i, y, x, c);
        npy_close(&a);
        ok(good, "cifar10 by %s: HWC pixel (y,x,c) = plane c at y*32+x, batches 1..5 then test", how);
        ok(labels_match(&r, cifar_label), "cifar10 by %s: labels multi-hot in batch order", how);
        int names = 1;
        for (int c = 0; c < 10; c++) names &= strcmp(r.class_names[c], cifar_classes[c]) == 0;
        ok(names, "cifar10 by %s: class names from batches.meta.txt", how);
        free_result(&r);
    }
}

/* A copy of src cut to keep bytes. */
static void truncate_copy(const char *src, const char *dst, double keep) {
    FILE *f = fopen(src, "rb");
    CHECK(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n);
    CHECK(fread(buf, 1, (size_t)n, f) == (size_t)n);
    fclose(f);
    char d[512];
    path_dirname(dst, d, sizeof d);
    mkdir_p(d);
    write_plain(dst, buf, (size_t)(n * keep));
    free(buf);
}

static void test_bad(void) {
    char p[512], q[512];
    snprintf(p, sizeof p, "%s/bad_magic", root);
    expect_fail(child_idx, p, "wrong IDX image magic", "train-images-idx3-ubyte.gz", "bad IDX magic 0x00000804");
    snprintf(p, sizeof p, "%s/bad_label", root);
    expect_fail(child_idx, p, "IDX label out of range", "t10k-labels-idx1-ubyte.gz", "item 4 has label 10, outside the classes 0..9");
    snprintf(p, sizeof p, "%s/count_mismatch", root);
    expect_fail(child_idx, p, "IDX image/label count mismatch", "train-images-idx3-ubyte.gz",
                "23 images but train-labels-idx1-ubyte has 22 labels");
    snprintf(p, sizeof p, "%s/nowhere", root);
    expect_fail(child_idx, p, "missing IDX directory", p, NULL);
    snprintf(p, sizeof p, "%s/mnist_gz/t10k-images-idx3-ubyte.gz", root);
    snprintf(q, sizeof q, "%s/idx_cut/t10k-images-idx3-ubyte.gz", root);
    truncate_copy(p, q, 0.6);
    const char *others[3] = {"train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-labels-idx1-ubyte.gz"};
    for (int k = 0; k < 3; k++) {
        char a[512], b[512];
        snprintf(a, sizeof a, "%s/mnist_gz/%s", root, others[k]);
        snprintf(b, sizeof b, "%s/idx_cut/%s", root, others[k]);
        truncate_copy(a, b, 1.0);
    }
    snprintf(p, sizeof p, "%s/idx_cut", root);
    expect_fail(child_idx, p, "truncated gzipped IDX file", "t10k-images-idx3-ubyte.gz", "truncated");

    snprintf(p, sizeof p, "%s/cifar_no_batch4", root);
    expect_fail(child_cifar, p, "CIFAR archive without data_batch_4.bin", "cifar-10-binary.tar.gz",
                "cifar-10-batches-bin/data_batch_4.bin is missing from the archive");
    snprintf(p, sizeof p, "%s/cifar_bad_label", root);
    expect_fail(child_cifar, p, "CIFAR label out of range", "data_batch_3.bin",
                "item 0 has label 10, outside the classes 0..9");
    snprintf(p, sizeof p, "%s/no_cifar_here", root);
    mkdir_p(p);
    expect_fail(child_cifar, p, "missing CIFAR archive", "cifar-10-binary.tar.gz",
                "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz");
    snprintf(p, sizeof p, "%s/cifar/cifar-10-binary.tar.gz", root);
    snprintf(q, sizeof q, "%s/cifar_cut/cifar-10-binary.tar.gz", root);
    truncate_copy(p, q, 0.5);
    expect_fail(child_cifar, q, "truncated CIFAR archive", q, "truncated");
}

static void test_features(void) {
    /* 4 images 3x2x2 with known bytes, picked in an order with a repeat */
    enum { N = 4, H = 3, W = 2, C = 2, D = H * W * C };
    uint8_t img[N * D];
    for (int i = 0; i < N * D; i++) img[i] = (uint8_t)(i * 37 + 5);
    img[7] = 255;
    img[8] = 0;
    int64_t idx[5] = {2, 0, 3, 2, 1};
    float out[5 * D];
    features_pixels(out, img, idx, 5, D);
    int good = 1;
    for (int k = 0; k < 5; k++)
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++)
                for (int c = 0; c < C; c++) {
                    double want = img[idx[k] * D + (y * W + x) * C + c] / 255.0;
                    good &= out[k * D + (y * W + x) * C + c] == (float)want;
                }
    ok(good, "features_pixels: row k = images[idx[k]] / 255 in H,W,C order (exact: the double quotient rounded to f4)");
    ok(out[1 * D + 7] == 1.0f && out[1 * D + 8] == 0.0f, "features_pixels: 255 -> 1 and 0 -> 0 exactly");

    /* features_write in blocks of 2 rows == the direct loop */
    char ip[512], fp[512];
    snprintf(ip, sizeof ip, "%s/feat/images.npy", root);
    snprintf(fp, sizeof fp, "%s/feat/pixels.npy", root);
    int64_t shape[4] = {N, H, W, C};
    npy_save(ip, NPY_U1, 4, shape, img);
    npy_array a, f;
    npy_open(&a, ip, NPY_U1, 4);
    features_opts o = {.extractor = FEAT_PIXELS, .batch = 2};
    features_write(fp, &a, idx, 5, &o);
    npy_open(&f, fp, NPY_F4, 2);
    ok(f.shape[0] == 5 && f.shape[1] == D && memcmp(f.data, out, sizeof out) == 0,
       "features_write streams [5, %d] in blocks of 2, identical to features_pixels", D);
    npy_close(&f);
    npy_close(&a);
}

int main(int argc, char **argv) {
    dsah_init("t_ingest");
    dsah_quiet = 1;
    if (argc == 3 && strcmp(argv[1], "--gen") == 0) {
        gen_fixtures(argv[2]);
        return 0;
    }
    snprintf(root, sizeof root, "%s/dsah_t_ingest.%d", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", (int)getpid());
    gen_fixtures(root);
    test_idx();
    test_cifar();
    test_bad();
    test_features();
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    if (system(cmd) != 0) diag("could not remove %s", root);
    return done_testing();
}
