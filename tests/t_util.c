/* t_util.c: checked sizes, limits, input opening and the atomic-file
 * protocol of util.h (issue 14): overflow edges worked by hand, a FIFO and a
 * directory refused without blocking, a symlink at the temporary name never
 * followed, a stream error caught at commit, a batch whose rename fails
 * leaving its old outputs as they were (none new), stale temporaries of
 * dead processes removed. Failures that die run in a child (fork) and are checked by exit
 * status and message. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "format/npy.h"
#include "tap.h"
#include "util/rng.h"
#include "util/util.h"

static char tmpdir[] = "/tmp/t_util.XXXXXX";

/* Run fn in a child with stderr captured; returns its exit status (or 128 +
 * signal) and the first line of its stderr in msg. */
static int in_child(void (*fn)(void *), void *arg, char *msg, size_t n) {
    int p[2];
    if (pipe(p) != 0) return -1;
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        close(p[0]);
        dup2(p[1], 2);
        fn(arg);
        exit(0);
    }
    close(p[1]);
    size_t k = 0;
    ssize_t r;
    char buf[4096];
    while ((r = read(p[0], buf, sizeof buf)) > 0)
        for (ssize_t i = 0; i < r; i++)
            if (k + 1 < n) msg[k++] = buf[i];
    msg[k] = 0;
    char *nl = strchr(msg, '\n');
    if (nl) *nl = 0;
    close(p[0]);
    int st;
    waitpid(pid, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static void do_xaligned(void *a) { (void)a; free(xaligned(SIZE_MAX - 10)); }
static void do_xmul(void *a) { (void)a; (void)xmul((size_t)1 << 40, (size_t)1 << 40, "test buffer"); }

static void do_ferror(void *path) {
    atomic_file *af = af_open(path);
    fputs("data", af->fp);
    (void)fgetc(af->fp);   /* reading a write-only stream sets its error flag */
    af_commit(af);
}

typedef struct two { const char *a, *b; } two;
/* Three outputs committed together, each holding "new". */
static void do_batch(void *arg) {
    const char *const *paths = arg;
    af_batch_begin();
    atomic_file *af[3];
    for (int i = 0; i < 3; i++) af[i] = af_open(paths[i]);
    for (int i = 0; i < 3; i++) af_write(af[i], "new", 3);
    for (int i = 0; i < 3; i++) af_commit(af[i]);
    af_batch_commit();
}
static void do_batch_die(void *arg) {
    two *t = arg;
    af_batch_begin();
    atomic_file *x = af_open(t->a), *y = af_open(t->b);
    af_write(x, "x", 1);
    af_commit(x);
    af_write(y, "y", 1);
    die("%s: failed before its commit", t->b);
}

static void do_open(void *arg) {
    const char *const *pv = arg;   /* path, victim */
    char tmp[600];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", pv[0], (long)getpid());
    CHECK(symlink(pv[1], tmp) == 0);
    (void)af_open(pv[0]);
}
static void do_limit(void *kv) { limit_set("--limit", kv); }

/* The file's first line, or "(none)" when it cannot be read (four buffers
 * in turn, so that one message can show several). */
static const char *text_of(const char *path) {
    static char bufs[4][64];
    static int turn;
    char *buf = bufs[turn++ % 4];
    FILE *f = fopen(path, "r");
    if (!f || !fgets(buf, sizeof bufs[0], f)) snprintf(buf, sizeof bufs[0], "(none)");
    if (f) fclose(f);
    return buf;
}
static void put_text(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    CHECK(f && fputs(text, f) >= 0 && fclose(f) == 0);
}

static int count_files(const char *dir) {
    char cmd[600];
    snprintf(cmd, sizeof cmd, "exit $(ls -A %s | wc -l)", dir);
    int st = system(cmd);
    return WEXITSTATUS(st);
}

int main(void) {
    dsah_init("t_util");
    dsah_quiet = 1;
    CHECK(mkdtemp(tmpdir));
    char msg[1024], path[512], path2[512];

    /* ---- checked sizes: edges by hand ---- */
    size_t r = 7;
    ok(size_mul(&r, (size_t)1 << 32, (size_t)1 << 31) == 0 && r == (size_t)1 << 63, "2^32 x 2^31 = 2^63");
    r = 7;
    ok(size_mul(&r, (size_t)1 << 32, (size_t)1 << 32) == -1 && r == 7, "2^32 x 2^32 overflows, result untouched");
    ok(size_add(&r, SIZE_MAX - 1, 1) == 0 && r == SIZE_MAX, "SIZE_MAX-1 + 1 fits");
    ok(size_add(&r, SIZE_MAX, 1) == -1, "SIZE_MAX + 1 overflows");
    int64_t d1[2] = {2147483648LL, 2147483648LL};
    ok(size_prod(&r, 4, d1, 2) == -1, "f4 (2^31, 2^31) overflows (wrapped to 0 before issue 14)");
    int64_t d2[3] = {1000, 1000, 3};
    ok(size_prod(&r, 8, d2, 3) == 0 && r == 24000000, "f8 (1000,1000,3) = 24000000 bytes");
    int64_t d3[2] = {-1, 4};
    ok(size_prod(&r, 1, d3, 2) == -1, "a negative dimension is refused");
    int64_t d4[2] = {0, INT64_MAX};
    ok(size_prod(&r, 4, d4, 2) == 0 && r == 0, "(0, INT64_MAX) holds 0 bytes (NumPy allows empty arrays of any width)");
    int64_t d5[2] = {((int64_t)1 << 61), 2};
    ok(size_prod(&r, 1, d5, 2) == 0 && r == (size_t)1 << 62, "2^61 x 2 = 2^62");
    int64_t d6[1] = {((int64_t)1 << 62)};
    ok(size_prod(&r, 2, d6, 1) == -1, "2 x 2^62 exceeds INT64_MAX");
    int64_t q;
    ok(i64_mul(&q, INT64_MAX / 2, 3) == -1 && i64_add(&q, INT64_MAX, 0) == 0 && q == INT64_MAX, "int64 mul/add");
    int rc = in_child(do_xaligned, NULL, msg, sizeof msg);
    ok(rc == 2 && strstr(msg, "size overflows"), "xaligned(SIZE_MAX-10) fails instead of rounding to 0 (rc %d: %s)", rc, msg);
    rc = in_child(do_xmul, NULL, msg, sizeof msg);
    ok(rc == 1 && !strcmp(msg, "t_util: error: test buffer: size overflows (1099511627776 x 1099511627776)"),
       "xmul dies naming the buffer (rc %d: %s)", rc, msg);

    /* ---- limits ---- */
    ok(dsah_limit.pixels == 178956970 && dsah_limit.members == 10000000 && dsah_limit.member_bytes == 268435456 &&
       dsah_limit.model_params == 1073741824, "default limits");
    limit_set("--limit", "pixels=1000");
    ok(dsah_limit.pixels == 1000, "--limit pixels=1000");
    limit_set("--limit", "pixels=178956970");
    rc = in_child(do_limit, "bogus=3", msg, sizeof msg);
    ok(rc == 1 && strstr(msg, "--limit bogus=3: expected KEY=N"), "unknown limit key refused (%s)", msg);
    rc = in_child(do_limit, "members=-2", msg, sizeof msg);
    ok(rc == 1 && strstr(msg, "out of range"), "negative limit refused (%s)", msg);

    /* ---- inputs: regular files only, never blocking ---- */
    snprintf(path, sizeof path, "%s/fifo", tmpdir);
    CHECK(mkfifo(path, 0600) == 0);
    int fd = open_input(path, msg, sizeof msg);
    char want[700];
    snprintf(want, sizeof want, "%s: not a regular file (a FIFO)", path);
    ok(fd == -1 && !strcmp(msg, want), "FIFO refused without blocking: %s", msg);
    fd = open_input(tmpdir, msg, sizeof msg);
    snprintf(want, sizeof want, "%s: not a regular file (a directory)", tmpdir);
    ok(fd == -1 && !strcmp(msg, want), "directory refused: %s", msg);
    fd = open_input("/dev/null", msg, sizeof msg);
    ok(fd == -1 && !strcmp(msg, "/dev/null: not a regular file (a character device)"), "device refused: %s", msg);
    npy_array a;
    ok(npy_try_open(&a, path, msg, sizeof msg) == -1 && strstr(msg, "(a FIFO)"), "npy_try_open refuses a FIFO");
    snprintf(path, sizeof path, "%s/plain", tmpdir);
    FILE *f = fopen(path, "wb");
    fputs("abc", f);
    fclose(f);
    fd = open_input(path, msg, sizeof msg);
    char b3[4] = {0};
    ok(fd >= 0 && read(fd, b3, 3) == 3 && !strcmp(b3, "abc") && !(fcntl(fd, F_GETFL) & O_NONBLOCK),
       "a regular file opens, blocking mode restored");
    if (fd >= 0) close(fd);
    unlink(path);

    /* ---- atomic files ---- */
    /* a symlink at our temporary name is not followed */
    snprintf(path, sizeof path, "%s/out.bin", tmpdir);
    char victim[512];
    snprintf(victim, sizeof victim, "%s/victim", tmpdir);
    f = fopen(victim, "wb");
    fputs("keep", f);
    fclose(f);
    const char *pv[2] = {path, victim};
    rc = in_child(do_open, pv, msg, sizeof msg);
    struct stat st;
    ok(rc == 1 && strstr(msg, "cannot create: File exists") && stat(victim, &st) == 0 && st.st_size == 4,
       "symlink at path.tmp.<pid> refused, its target untouched (%s)", msg);
    char rm[700];
    snprintf(rm, sizeof rm, "rm -f %s.tmp.*", path);   /* the child's symlink */
    CHECK(system(rm) == 0);
    unlink(victim);

    /* a stream error is caught at commit: no output, no temporary */
    rc = in_child(do_ferror, path, msg, sizeof msg);
    snprintf(want, sizeof want, "t_util: error: %s: write failed: Input/output error", path);
    ok(rc == 1 && !strcmp(msg, want), "af_commit checks ferror (rc %d: %s)", rc, msg);
    ok(count_files(tmpdir) == 1, "nothing left but the FIFO");

    /* a batch: all outputs, or the old ones as they were when a rename fails */
    char path3[512];
    snprintf(path, sizeof path, "%s/a.txt", tmpdir);
    snprintf(path2, sizeof path2, "%s/b.txt", tmpdir);
    snprintf(path3, sizeof path3, "%s/c.txt", tmpdir);
    const char *abc[3] = {path, path2, path3};
    two t = {path, path2};
    rc = in_child(do_batch, abc, msg, sizeof msg);
    ok(rc == 0 && !strcmp(text_of(path), "new") && !strcmp(text_of(path2), "new") && !strcmp(text_of(path3), "new") &&
       count_files(tmpdir) == 4, "batch commits all three outputs, nothing else left");
    unlink(path);
    unlink(path2);
    unlink(path3);
    CHECK(mkdir(path2, 0700) == 0);   /* b.txt cannot be replaced: a directory */
    rc = in_child(do_batch, abc, msg, sizeof msg);
    snprintf(want, sizeof want, "t_util: error: %s: rename failed: Is a directory (no output of this stage was replaced)", path2);
    ok(rc == 1 && !strcmp(msg, want) && !file_exists(path) && !file_exists(path3) && count_files(tmpdir) == 2,
       "no old outputs: a failed second rename removes the first new one, leaves no temporary (%s)", msg);
    /* old a.txt and c.txt from an earlier run: both kept as they were */
    put_text(path, "old a");
    put_text(path3, "old c");
    rc = in_child(do_batch, abc, msg, sizeof msg);
    ok(rc == 1 && !strcmp(msg, want) && !strcmp(text_of(path), "old a") && !strcmp(text_of(path3), "old c") &&
       count_files(tmpdir) == 4, "old outputs: a failed second rename puts the first old one back, the third untouched, "
       "no backup or temporary left (a: %s, c: %s)", text_of(path), text_of(path3));
    /* old a.txt only, the last rename fails: a.txt old, b.txt (no old one) removed */
    rmdir(path2);
    unlink(path3);
    CHECK(mkdir(path3, 0700) == 0);
    rc = in_child(do_batch, abc, msg, sizeof msg);
    snprintf(want, sizeof want, "t_util: error: %s: rename failed: Is a directory (no output of this stage was replaced)", path3);
    ok(rc == 1 && !strcmp(msg, want) && !strcmp(text_of(path), "old a") && !file_exists(path2) && count_files(tmpdir) == 3,
       "a failed last rename: the old first output back, the new second one removed (%s)", msg);
    rmdir(path3);
    unlink(path);
    rc = in_child(do_batch_die, &t, msg, sizeof msg);
    ok(rc == 1 && !file_exists(path) && !file_exists(path2) && count_files(tmpdir) == 1,
       "death before the batch commit leaves neither output nor temporary");

    /* stale temporaries of dead processes are removed by the next af_open */
    pid_t dead = fork();
    if (dead == 0) _exit(0);
    waitpid(dead, NULL, 0);
    snprintf(path, sizeof path, "%s/c.npy", tmpdir);
    char stale[600], live[600], other[600], backup[600];
    snprintf(stale, sizeof stale, "%s.tmp.%ld", path, (long)dead);
    snprintf(backup, sizeof backup, "%s.old.tmp.%ld", path, (long)dead);   /* an old output kept by a batch */
    snprintf(live, sizeof live, "%s.tmp.1", path);                   /* pid 1 runs */
    snprintf(other, sizeof other, "%s/cx.npy.tmp.%ld", tmpdir, (long)dead); /* another output's */
    FILE *fs = fopen(stale, "wb"), *fl = fopen(live, "wb"), *fo = fopen(other, "wb"), *fb = fopen(backup, "wb");
    fclose(fb);
    fclose(fs);
    fclose(fl);
    fclose(fo);
    int64_t shp[1] = {3};
    int64_t v[3] = {1, 2, 3};
    npy_save(path, NPY_I8, 1, shp, v);
    ok(!file_exists(stale) && !file_exists(backup) && file_exists(live) && file_exists(other) && file_exists(path),
       "stale path.tmp.<dead pid> and path.old.tmp.<dead pid> removed; a live pid's and another path's kept");
    unlink(live);
    unlink(other);
    unlink(path);

    snprintf(path, sizeof path, "%s/fifo", tmpdir);
    unlink(path);
    rmdir(tmpdir);

    /* rng_sample_i64: k distinct ascending values of 0..n-1, each equally likely */
    {
        rng r;
        rng_seed(&r, 7);
        int64_t v[50], w[50];
        rng_sample_i64(&r, v, 50, 10);
        int good = 1;
        for (int i = 0; i < 10; i++) good &= v[i] >= 0 && v[i] < 50 && (i == 0 || v[i] > v[i - 1]);
        ok(good, "rng_sample_i64: 10 of 50 distinct, ascending, in range");
        rng_seed(&r, 7);
        rng_sample_i64(&r, w, 50, 10);
        ok(!memcmp(v, w, sizeof(int64_t) * 10), "rng_sample_i64: the same seed draws the same sample");
        rng_sample_i64(&r, v, 50, 50);
        good = 1;
        for (int i = 0; i < 50; i++) good &= v[i] == i;
        ok(good, "rng_sample_i64: k = n gives 0..n-1");
        int count[6] = {0};
        const int draws = 20000;
        for (int t = 0; t < draws; t++) {
            rng_sample_i64(&r, v, 6, 3);
            for (int i = 0; i < 3; i++) count[v[i]]++;
        }
        double worst = 0;
        for (int i = 0; i < 6; i++) worst = fmax(worst, fabs(count[i] / (double)draws - 0.5));
        ok(worst < 0.02, "rng_sample_i64: 3 of 6 over %d draws: each item's frequency within %.4f of 1/2 (< 0.02; binomial sd 0.0035)",
           draws, worst);
    }
    return done_testing();
}
