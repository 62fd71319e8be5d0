/* util.c: see util.h. */
#define _GNU_SOURCE
#include "util/util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <omp.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

const char *dsah_prog = "dsah";
int dsah_quiet = 0;

/* Pending temporaries, unlinked on exit or signal. Fixed table: a stage has
 * a handful of outputs at most. */
#define MAX_PENDING 64
static char *pending[MAX_PENDING];

static void cleanup_pending(void) {
    for (int i = 0; i < MAX_PENDING; i++)
        if (pending[i]) { unlink(pending[i]); pending[i] = NULL; }
}

static void on_signal(int sig) {
    for (int i = 0; i < MAX_PENDING; i++)
        if (pending[i]) unlink(pending[i]);
    signal(sig, SIG_DFL);
    raise(sig);
}

static void limits_from_env(void);

void dsah_init(const char *prog) {
    dsah_prog = prog;
    limits_from_env();
    atexit(cleanup_pending);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    signal(SIGHUP, on_signal);
}

int dsah_pin_threads(void) {
    if (getenv("OMP_PROC_BIND") || getenv("OMP_PLACES") || getenv("GOMP_CPU_AFFINITY")) return 0;
    cpu_set_t allowed;
    if (sched_getaffinity(0, sizeof allowed, &allowed) != 0) return 0;
    int ncpu = CPU_COUNT(&allowed), n = omp_get_max_threads();
    if (n < 2 || n != ncpu) return 0;
    int cpus[CPU_SETSIZE], k = 0;
    for (int c = 0; c < CPU_SETSIZE && k < ncpu; c++)
        if (CPU_ISSET(c, &allowed)) cpus[k++] = c;
    int pinned = 0;
#pragma omp parallel num_threads(n) reduction(+ : pinned)
    {
        cpu_set_t one;
        CPU_ZERO(&one);
        CPU_SET(cpus[omp_get_thread_num()], &one);
        pinned += sched_setaffinity(0, sizeof one, &one) == 0;   /* 0 = the calling thread */
    }
    return pinned == n;
}

/* A process that dies on bad input exits from wherever it was, holding what
 * it had allocated: LeakSanitizer (make test-asan) checks the processes that
 * end normally, and is told here to skip one that dies (it calls this hook
 * at exit). */
static volatile int dsah_dying;
#if defined(__has_feature)
#if __has_feature(address_sanitizer) && !defined(__SANITIZE_ADDRESS__)
#define __SANITIZE_ADDRESS__ 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
int __lsan_is_turned_off(void);
int __lsan_is_turned_off(void) { return dsah_dying; }
#endif

void (*dsah_die_hook)(int status);

void dsah_exit(int status) {
    dsah_dying = 1;
    exit(status);
}

/* The one error exit: "prog: error: <message>", then "prog: hint: <hint>"
 * when there is one, the die hook, exit 1. */
__attribute__((noreturn)) static void vdie(const char *hint, const char *fmt, va_list ap) {
    dsah_dying = 1;
    fflush(stdout);
    fprintf(stderr, "%s: error: ", dsah_prog);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    if (hint) fprintf(stderr, "%s: hint: %s\n", dsah_prog, hint);
    if (dsah_die_hook) dsah_die_hook(1);
    exit(1);
}

void die(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vdie(NULL, fmt, ap);
}

void die_hint(const char *hint, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vdie(hint, fmt, ap);
}

void warnx_(const char *fmt, ...) {
    va_list ap;
    fprintf(stderr, "%s: warning: ", dsah_prog);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

void info(const char *fmt, ...) {
    if (dsah_quiet) return;
    va_list ap;
    fprintf(stderr, "%s: ", dsah_prog);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

void dsah_check_failed(const char *file, int line, const char *expr, const char *why) {
    int e = errno;
    dsah_dying = 1;
    fflush(stdout);
    fprintf(stderr, "%s: error: %s:%d: check failed: %s", dsah_prog, file, line, expr);
    if (why) fprintf(stderr, " (%s)", why);
    else if (e) fprintf(stderr, " (%s)", strerror(e));
    fputc('\n', stderr);
    if (dsah_die_hook) dsah_die_hook(2);
    exit(2);
}

void *xmalloc_(size_t n, const char *file, int line, const char *expr) {
    void *p = malloc(n ? n : 1);
    if (!p) dsah_check_failed(file, line, expr, "out of memory");
    return p;
}
void *xcalloc_(size_t n, size_t sz, const char *file, int line, const char *expr) {
    void *p = calloc(n ? n : 1, sz ? sz : 1);
    if (!p) dsah_check_failed(file, line, expr, "out of memory");
    return p;
}
void *xrealloc_(void *q, size_t n, const char *file, int line, const char *expr) {
    void *p = realloc(q, n ? n : 1);
    if (!p) dsah_check_failed(file, line, expr, "out of memory");
    return p;
}
void *xaligned_(size_t n, const char *file, int line, const char *expr) {
    void *p = NULL;
    size_t m;
    if (size_add(&m, n, 63)) dsah_check_failed(file, line, expr, "size overflows");
    m &= ~(size_t)63;
    if (posix_memalign(&p, 64, m ? m : 64) != 0) dsah_check_failed(file, line, expr, "out of memory");
    return p;
}
char *xstrdup_(const char *s, const char *file, int line) {
    char *p = strdup(s);
    if (!p) dsah_check_failed(file, line, "strdup", "out of memory");
    return p;
}

/* ---- checked sizes and limits --------------------------------------------- */
int size_prod(size_t *r, size_t elem, const int64_t *dims, int n) {
    size_t p = elem;
    for (int i = 0; i < n; i++) {
        if (dims[i] < 0 || (uint64_t)dims[i] > SIZE_MAX || size_mul(&p, p, (size_t)dims[i])) return -1;
    }
    if (p > (size_t)INT64_MAX) return -1;
    *r = p;
    return 0;
}

size_t xmul(size_t a, size_t b, const char *what) {
    size_t r;
    if (size_mul(&r, a, b)) die("%s: size overflows (%zu x %zu)", what, a, b);
    return r;
}

dsah_limits dsah_limit = {
    .pixels = 178956970,                 /* Pillow: 2 * (1024 * 1024 * 1024 // 4 // 3) */
    .members = 10000000,
    .member_bytes = (int64_t)256 << 20,
    .model_params = (int64_t)1 << 30,
};

static const struct { const char *key; int64_t *v; } limit_keys[] = {
    {"pixels", &dsah_limit.pixels},
    {"members", &dsah_limit.members},
    {"member_bytes", &dsah_limit.member_bytes},
    {"model_params", &dsah_limit.model_params},
};

void limit_set(const char *flag, const char *kv) {
    const char *eq = strchr(kv, '=');
    size_t kl = eq ? (size_t)(eq - kv) : 0;
    for (size_t i = 0; eq && i < sizeof limit_keys / sizeof limit_keys[0]; i++)
        if (strlen(limit_keys[i].key) == kl && !strncmp(kv, limit_keys[i].key, kl)) {
            *limit_keys[i].v = parse_ll(flag, eq + 1, 1, INT64_MAX);
            return;
        }
    die("%s %s: expected KEY=N with KEY one of pixels, members, member_bytes, model_params", flag, kv);
}

const char *limit_hint(const char *key) {
    static char buf[160];
    snprintf(buf, sizeof buf, "raise the limit with --limit %s=N (dsah-ingest) or DSAH_LIMITS=%s=N", key, key);
    return buf;
}

static void limits_from_env(void) {
    const char *e = getenv("DSAH_LIMITS");
    if (!e || !*e) return;
    char buf[512];
    if (strlen(e) >= sizeof buf) die("DSAH_LIMITS: too long");
    strcpy(buf, e);
    char *save = NULL;
    for (char *t = strtok_r(buf, ", ", &save); t; t = strtok_r(NULL, ", ", &save)) limit_set("DSAH_LIMITS", t);
}

/* ---- opening inputs ------------------------------------------------------- */
static const char *file_kind(mode_t m) {
    return S_ISDIR(m) ? "a directory" : S_ISFIFO(m) ? "a FIFO" : S_ISSOCK(m) ? "a socket"
         : S_ISCHR(m) ? "a character device" : S_ISBLK(m) ? "a block device" : "not a plain file";
}

int open_input(const char *path, char *err, size_t errlen) {
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        snprintf(err, errlen, "%s: cannot stat: %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    if (!S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "%s: not a regular file (%s)", path, file_kind(st.st_mode));
        close(fd);
        return -1;
    }
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) != 0) {
        snprintf(err, errlen, "%s: fcntl: %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

FILE *fopen_input(const char *path, char *err, size_t errlen) {
    int fd = open_input(path, err, errlen);
    if (fd < 0) return NULL;
    FILE *f = fdopen(fd, "rb");
    if (!f) {
        snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        close(fd);
    }
    return f;
}

int xopen_input(const char *path) {
    char err[4200];
    int fd = open_input(path, err, sizeof err);
    if (fd < 0) die("%s", err);
    return fd;
}

/* ---- paths --------------------------------------------------------------- */
void mkdir_p(const char *dir) {
    char buf[4096];
    size_t n = strlen(dir);
    if (n == 0) return;
    if (n >= sizeof buf) die("%s: path too long", dir);
    memcpy(buf, dir, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (buf[i] == '/' || buf[i] == '\0') {
            char c = buf[i];
            buf[i] = '\0';
            if (mkdir(buf, 0777) != 0 && errno != EEXIST)
                die("%s: cannot create directory: %s", buf, strerror(errno));
            buf[i] = c;
        }
    }
}

void path_dirname(const char *path, char *buf, size_t n) {
    const char *slash = strrchr(path, '/');
    if (!slash) { snprintf(buf, n, "."); return; }
    size_t len = (size_t)(slash - path);
    if (len == 0) len = 1;
    if (len >= n) len = n - 1;
    memcpy(buf, path, len);
    buf[len] = '\0';
}

char *path_join(const char *dir, const char *name) {
    size_t a = strlen(dir), b = strlen(name);
    char *p = xmalloc(a + b + 2);
    memcpy(p, dir, a);
    size_t k = a;
    if (a && dir[a - 1] != '/') p[k++] = '/';
    memcpy(p + k, name, b + 1);
    return p;
}

int file_exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

/* ---- atomic files -------------------------------------------------------- */
int af_remove_stale(const char *path) {
    char dir[4096];
    path_dirname(path, dir, sizeof dir);
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    size_t bl = strlen(base);
    DIR *d = opendir(dir);
    if (!d) return 0;
    int removed = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        const char *nm = de->d_name;
        if (strncmp(nm, base, bl) != 0 || strncmp(nm + bl, ".tmp.", 5) != 0) continue;
        const char *num = nm + bl + 5;
        char *end;
        errno = 0;
        long pid = strtol(num, &end, 10);
        if (errno || end == num || *end || pid <= 0 || pid == (long)getpid()) continue;
        /* ESRCH: no such process. EPERM means it exists (another user's). */
        if (kill((pid_t)pid, 0) == 0 || errno != ESRCH) continue;
        char *full = path_join(dir, nm);
        if (unlinkat(dirfd(d), nm, 0) == 0) {
            removed++;
            info("removed %s, left by process %ld that no longer runs", full, pid);
        }
        free(full);
    }
    closedir(d);
    return removed;
}

atomic_file *af_open(const char *path) {
    atomic_file *af = xcalloc(1, sizeof *af);
    char dir[4096];
    path_dirname(path, dir, sizeof dir);
    mkdir_p(dir);
    af_remove_stale(path);
    char *bk = xmalloc(strlen(path) + 5);
    sprintf(bk, "%s.old", path);
    af_remove_stale(bk);   /* an old output kept by af_batch_commit of a killed run */
    free(bk);
    af->path = xstrdup(path);
    size_t n = strlen(path) + 32;
    af->tmp = xmalloc(n);
    snprintf(af->tmp, n, "%s.tmp.%ld", path, (long)getpid());
    af->slot = -1;
    /* Created (O_EXCL) before it is registered for cleanup, so that an
     * existing file of that name (not ours) is never unlinked. */
    int fd = open(af->tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
    if (fd < 0) die("%s: cannot create: %s", af->tmp, strerror(errno));
    for (int i = 0; i < MAX_PENDING; i++)
        if (!pending[i]) { pending[i] = af->tmp; af->slot = i; break; }
    if (af->slot < 0) { close(fd); unlink(af->tmp); }
    CHECK(af->slot >= 0);
    af->fp = fdopen(fd, "wb");
    if (!af->fp) die("%s: cannot create: %s", af->tmp, strerror(errno));
    return af;
}

static void af_release(atomic_file *af) {
    if (af->slot >= 0) pending[af->slot] = NULL;
    free(af->tmp);
    free(af->path);
    free(af);
}

void af_write(atomic_file *af, const void *buf, size_t n) {
    if (n && fwrite(buf, 1, n, af->fp) != n)
        die("%s: write failed: %s", af->path, strerror(errno));
}

/* fsync the directory holding path, so that a rename survives a crash.
 * EINVAL/ENOTSUP: the filesystem does not sync directories. */
static void fsync_dir_of(const char *path) {
    char dir[4096];
    path_dirname(path, dir, sizeof dir);
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) die("%s: cannot open directory to sync: %s", dir, strerror(errno));
    if (fsync(fd) != 0 && errno != EINVAL && errno != ENOTSUP) {
        int e = errno;
        close(fd);
        die("%s: fsync of the directory failed: %s", dir, strerror(e));
    }
    close(fd);
}

static int batch_on;
static atomic_file *batch[MAX_PENDING];
static int nbatch;

/* Everything but the rename. */
static void af_finish(atomic_file *af) {
    int bad = ferror(af->fp);
    if (bad || fflush(af->fp) != 0 || fsync(fileno(af->fp)) != 0) {
        int e = bad ? EIO : errno;
        fclose(af->fp);
        af->fp = NULL;
        unlink(af->tmp);
        die("%s: write failed: %s", af->path, strerror(e));
    }
    int rc = fclose(af->fp);
    af->fp = NULL;
    if (rc != 0) {
        int e = errno;
        unlink(af->tmp);
        die("%s: close failed: %s", af->path, strerror(e));
    }
}

void af_commit(atomic_file *af) {
    af_finish(af);
    if (batch_on) {
        CHECK(nbatch < MAX_PENDING);
        batch[nbatch++] = af;
        return;
    }
    if (rename(af->tmp, af->path) != 0) {
        int e = errno;
        unlink(af->tmp);
        die("%s: rename failed: %s", af->path, strerror(e));
    }
    fsync_dir_of(af->path);
    af_release(af);
}

void dsah_reset_after_die(void) {
    cleanup_pending();
    batch_on = 0;
    nbatch = 0;
    /* dsah_dying stays set: what the dying code held is lost by design, so
     * this process is not leak-checked at exit either. */
}

void af_batch_begin(void) {
    CHECK(!batch_on);
    batch_on = 1;
    nbatch = 0;
}

/* Where af_batch_commit keeps an old output until the batch is in place. */
static char *backup_name(const char *path) {
    size_t n = strlen(path) + 40;
    char *b = xmalloc(n);
    snprintf(b, n, "%s.old.tmp.%ld", path, (long)getpid());
    return b;
}

void af_batch_commit(void) {
    CHECK(batch_on);
    batch_on = 0;
    /* Each old output is kept under a second name (a hard link) until every
     * rename has succeeded, so that a failed rename can put the old ones
     * back: the stage leaves all of its new outputs or the old ones as they
     * were, never a mix. No old output (or a filesystem without hard
     * links): nothing to put back, the new output is removed instead. */
    char *old[MAX_PENDING] = {0};
    for (int i = 0; i < nbatch; i++) {
        char *bk = backup_name(batch[i]->path);
        unlink(bk);
        if (link(batch[i]->path, bk) == 0) old[i] = bk;
        else free(bk);
        if (rename(batch[i]->tmp, batch[i]->path) != 0) {
            int e = errno;
            char *failed = xstrdup(batch[i]->path);
            for (int k = 0; k <= i; k++) {
                if (old[k] && k < i) rename(old[k], batch[k]->path);
                else if (old[k]) unlink(old[k]);   /* same file as path: its rename failed */
                else if (k < i) unlink(batch[k]->path);
            }
            for (int k = i; k < nbatch; k++) unlink(batch[k]->tmp);
            for (int k = 0; k <= i; k++) free(old[k]);
            die("%s: rename failed: %s (no output of this stage was replaced)", failed, strerror(e));
        }
    }
    for (int i = 0; i < nbatch; i++) {
        int seen = 0;
        char di[4096], dk[4096];
        path_dirname(batch[i]->path, di, sizeof di);
        for (int k = 0; k < i && !seen; k++) {
            path_dirname(batch[k]->path, dk, sizeof dk);
            seen = !strcmp(di, dk);
        }
        if (!seen) fsync_dir_of(batch[i]->path);
    }
    for (int i = 0; i < nbatch; i++) {
        if (old[i]) unlink(old[i]);
        free(old[i]);
        af_release(batch[i]);
    }
    nbatch = 0;
}

void af_abort(atomic_file *af) {
    if (af->fp) fclose(af->fp);
    unlink(af->tmp);
    af_release(af);
}

/* ---- timing and progress ------------------------------------------------- */
static double clock_sec(clockid_t clock) {
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

double now_sec(void) { return clock_sec(CLOCK_MONOTONIC); }

double cpu_sec(void) { return clock_sec(CLOCK_PROCESS_CPUTIME_ID); }

void progress_begin(progress *p, const char *label, int64_t total) {
    p->label = label;
    p->total = total;
    p->t0 = p->last = now_sec();
    p->tty = isatty(2);
}

void progress_update(progress *p, int64_t done) {
    if (dsah_quiet) return;
    double t = now_sec();
    if (p->tty) {
        if (t - p->last < 0.1 && done < p->total) return;
        int width = 30, fill = p->total > 0 ? (int)(width * done / p->total) : 0;
        char bar[64];
        for (int i = 0; i < width; i++) bar[i] = i < fill ? '#' : '.';
        bar[width] = '\0';
        fprintf(stderr, "\r%s: %s [%s] %lld/%lld %.1fs", dsah_prog, p->label, bar,
                (long long)done, (long long)p->total, t - p->t0);
    } else {
        if (t - p->last < 5.0) return;
        fprintf(stderr, "%s: %s %lld/%lld (%.0f%%) %.1fs\n", dsah_prog, p->label, (long long)done,
                (long long)p->total, p->total ? 100.0 * done / p->total : 100.0, t - p->t0);
    }
    p->last = t;
}

void progress_end(progress *p) {
    if (dsah_quiet) return;
    if (p->tty) fputc('\n', stderr);
}

/* ---- parsing ------------------------------------------------------------- */
long long parse_ll(const char *flag, const char *s, long long lo, long long hi) {
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end) die("%s: '%s' is not an integer", flag, s);
    if (v < lo || v > hi) die("%s: %lld is out of range [%lld, %lld]", flag, v, lo, hi);
    return v;
}

double parse_double(const char *flag, const char *s) {
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end) die("%s: '%s' is not a number", flag, s);
    return v;
}

int parse_int_list(const char *flag, const char *s, long long all_value, long long **out) {
    int cap = 8, n = 0;
    long long *v = xmalloc(sizeof *v * (size_t)cap);
    const char *p = s;
    char tok[64];
    while (*p) {
        const char *c = strchr(p, ',');
        size_t len = c ? (size_t)(c - p) : strlen(p);
        if (len == 0 || len >= sizeof tok) die("%s: bad list '%s'", flag, s);
        memcpy(tok, p, len);
        tok[len] = '\0';
        if (n == cap) v = xrealloc(v, sizeof *v * (size_t)(cap *= 2));
        v[n++] = strcmp(tok, "all") == 0 ? all_value : parse_ll(flag, tok, 1, (long long)1 << 40);
        p += len;
        if (*p == ',') p++;
    }
    if (n == 0) die("%s: empty list", flag);
    *out = v;
    return n;
}
