/* util.c: see util.h. */
#define _GNU_SOURCE
#include "util/util.h"

#include <errno.h>
#include <omp.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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

void dsah_init(const char *prog) {
    dsah_prog = prog;
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

void die(const char *fmt, ...) {
    va_list ap;
    fflush(stdout);
    fprintf(stderr, "%s: error: ", dsah_prog);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(1);
}

void die_hint(const char *hint, const char *fmt, ...) {
    va_list ap;
    fflush(stdout);
    fprintf(stderr, "%s: error: ", dsah_prog);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n%s: hint: %s\n", dsah_prog, hint);
    exit(1);
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
    fflush(stdout);
    fprintf(stderr, "%s: error: %s:%d: check failed: %s", dsah_prog, file, line, expr);
    if (why) fprintf(stderr, " (%s)", why);
    else if (e) fprintf(stderr, " (%s)", strerror(e));
    fputc('\n', stderr);
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
    size_t m = (n + 63) & ~(size_t)63;
    if (posix_memalign(&p, 64, m ? m : 64) != 0) dsah_check_failed(file, line, expr, "out of memory");
    return p;
}
char *xstrdup_(const char *s, const char *file, int line) {
    char *p = strdup(s);
    if (!p) dsah_check_failed(file, line, "strdup", "out of memory");
    return p;
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
atomic_file *af_open(const char *path) {
    atomic_file *af = xcalloc(1, sizeof *af);
    char dir[4096];
    path_dirname(path, dir, sizeof dir);
    mkdir_p(dir);
    af->path = xstrdup(path);
    size_t n = strlen(path) + 32;
    af->tmp = xmalloc(n);
    snprintf(af->tmp, n, "%s.tmp.%ld", path, (long)getpid());
    af->slot = -1;
    for (int i = 0; i < MAX_PENDING; i++)
        if (!pending[i]) { pending[i] = af->tmp; af->slot = i; break; }
    CHECK(af->slot >= 0);
    af->fp = fopen(af->tmp, "wb");
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

void af_commit(atomic_file *af) {
    if (fflush(af->fp) != 0 || fsync(fileno(af->fp)) != 0) {
        int e = errno;
        fclose(af->fp);
        unlink(af->tmp);
        die("%s: write failed: %s", af->path, strerror(e));
    }
    if (fclose(af->fp) != 0) {
        int e = errno;
        unlink(af->tmp);
        die("%s: close failed: %s", af->path, strerror(e));
    }
    if (rename(af->tmp, af->path) != 0) {
        int e = errno;
        unlink(af->tmp);
        die("%s: rename failed: %s", af->path, strerror(e));
    }
    af_release(af);
}

void af_abort(atomic_file *af) {
    if (af->fp) fclose(af->fp);
    unlink(af->tmp);
    af_release(af);
}

/* ---- timing and progress ------------------------------------------------- */
double now_sec(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

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

void check_device(const char *d) {
    if (strcmp(d, "auto") == 0 || strcmp(d, "cpu") == 0) return;
    if (strncmp(d, "cuda", 4) == 0 && (d[4] == '\0' || d[4] == ':'))
        die("--device %s: this build of %s has no CUDA support (use auto or cpu)", d, dsah_prog);
    die("--device '%s': expected auto, cpu or cuda[:N]", d);
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
