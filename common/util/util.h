/* util.h: errors, checked allocation, atomic output files, progress, timing.
 *
 * Every executable sets dsah_prog (e.g. "dsah-eval") first thing in main.
 * User-facing failures go through die(): one line
 *     dsah-<stage>: error: <what and where>
 * then exit(1). Internal failures of library calls go through the CHECK
 * macros, which name file, line and the failing expression.
 *
 * Output files are written to "<path>.tmp.<pid>" and renamed on commit; every
 * pending temporary is unlinked by an atexit hook and on SIGINT/SIGTERM, so a
 * failed stage never leaves a file that Make would take as done. A process
 * killed with SIGKILL cannot clean up: the next af_open of the same path
 * removes the "<path>.tmp.<pid>" files whose process is gone. */
#ifndef DSAH_UTIL_H
#define DSAH_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

extern const char *dsah_prog;

/* Set the program name, install the cleanup hooks. Call first in main. */
void dsah_init(const char *prog);
/* Pin OpenMP thread t of the team (omp_get_max_threads() threads) to the
 * t-th CPU of the process's affinity mask, once, when the team has as many
 * threads as the mask has CPUs (more than one) and the user set no binding
 * (OMP_PROC_BIND, OMP_PLACES, GOMP_CPU_AFFINITY). Why: on small VMs the
 * scheduler wakes a sleeping worker on the master's CPU and moves it only at
 * the next balancing tick, so a parallel region after an idle spell can
 * stall 4-8 ms with one core idle (measured on the 2-core CI box: dsah-eval
 * compute 9-22 ms unpinned, 9-10 ms pinned). libgomp keeps its threads, so
 * the pin holds for later regions. Processes sharing the CPUs (sweeps with
 * JOBS > 1) run fewer threads each and are left alone. Returns 1 if pinned. */
int dsah_pin_threads(void);

__attribute__((noreturn, format(printf, 1, 2))) void die(const char *fmt, ...);
/* die() with a second line "hint: ..." */
__attribute__((noreturn, format(printf, 2, 3))) void die_hint(const char *hint, const char *fmt, ...);
__attribute__((format(printf, 1, 2))) void warnx_(const char *fmt, ...);
/* exit(status) for an early end by design (--help): like die(), it skips
 * the leak check of make test-asan. */
__attribute__((noreturn)) void dsah_exit(int status);
/* Informational line on stderr, prefixed with the program name; silenced by
 * dsah_quiet = 1. */
extern int dsah_quiet;
__attribute__((format(printf, 1, 2))) void info(const char *fmt, ...);

__attribute__((noreturn)) void dsah_check_failed(const char *file, int line, const char *expr, const char *why);

/* Fuzz harnesses only (tests/fuzz): called by die() (status 1) and by the
 * CHECK macros (status 2) after the message, instead of exit; it must not
 * return (longjmp or abort). Then dsah_reset_after_die() removes the pending
 * temporaries and ends an open output batch; the process is then not
 * leak-checked at exit (make test-asan), as for a die. */
extern void (*dsah_die_hook)(int status);
void dsah_reset_after_die(void);

/* CHECK(expr): expr must be true; on failure prints file:line, expr and errno. */
#define CHECK(expr) \
    do { if (!(expr)) dsah_check_failed(__FILE__, __LINE__, #expr, NULL); } while (0)
/* CHECK_ERRNO(expr): expr must be 0 (POSIX style return). */
#define CHECK_ZERO(expr) \
    do { if ((expr) != 0) dsah_check_failed(__FILE__, __LINE__, #expr, NULL); } while (0)

void *xmalloc_(size_t n, const char *file, int line, const char *expr);
void *xcalloc_(size_t n, size_t sz, const char *file, int line, const char *expr);
void *xrealloc_(void *p, size_t n, const char *file, int line, const char *expr);
/* 64-byte aligned allocation, freed with free(). */
void *xaligned_(size_t n, const char *file, int line, const char *expr);
char *xstrdup_(const char *s, const char *file, int line);
#define xmalloc(n) xmalloc_((n), __FILE__, __LINE__, #n)
#define xcalloc(n, sz) xcalloc_((n), (sz), __FILE__, __LINE__, #n)
#define xrealloc(p, n) xrealloc_((p), (n), __FILE__, __LINE__, #n)
#define xaligned(n) xaligned_((n), __FILE__, __LINE__, #n)
#define xstrdup(s) xstrdup_((s), __FILE__, __LINE__)

/* ---- checked sizes --------------------------------------------------------
 * Every size computed from untrusted numbers (file headers, annotation
 * lines, archive members, model metadata) goes through these: 0 and the
 * result in *r, or -1 when it does not fit (nothing is written then). */
static inline int size_mul(size_t *r, size_t a, size_t b) {
    size_t t;
    if (__builtin_mul_overflow(a, b, &t)) return -1;
    *r = t;
    return 0;
}
static inline int size_add(size_t *r, size_t a, size_t b) {
    size_t t;
    if (__builtin_add_overflow(a, b, &t)) return -1;
    *r = t;
    return 0;
}
static inline int i64_mul(int64_t *r, int64_t a, int64_t b) {
    int64_t t;
    if (__builtin_mul_overflow(a, b, &t)) return -1;
    *r = t;
    return 0;
}
static inline int i64_add(int64_t *r, int64_t a, int64_t b) {
    int64_t t;
    if (__builtin_add_overflow(a, b, &t)) return -1;
    *r = t;
    return 0;
}
/* elem * dims[0] * ... * dims[n-1] (each dim >= 0) in bytes; -1 on overflow
 * of size_t or of int64_t, or on a negative dim. */
int size_prod(size_t *r, size_t elem, const int64_t *dims, int n);
/* a * b, or die("<what>: size overflows (a x b)"). */
size_t xmul(size_t a, size_t b, const char *what);

/* ---- limits on what untrusted input may size ------------------------------
 * Checked before the allocation they bound; raised with --limit KEY=N
 * (dsah-ingest) or the environment DSAH_LIMITS="KEY=N,KEY=N" (every stage).
 *   pixels        pixels per decoded image (default 178956970, Pillow's
 *                 DecompressionBombError threshold, 2 x MAX_IMAGE_PIXELS)
 *   members       regular files listed in one archive or folder (10000000)
 *   member_bytes  bytes of one archive member or file read into memory
 *                 (images, annotation and list files; 268435456 = 256 MiB)
 *   model_params  parameters of a network built from an arch string or
 *                 model metadata (1073741824 = 4 GiB of f32)
 * A value over a limit is an error naming the file, the value, the limit
 * and the key to raise. */
typedef struct dsah_limits {
    int64_t pixels, members, member_bytes, model_params;
} dsah_limits;
extern dsah_limits dsah_limit;
/* "KEY=N": set one limit; dies naming flag on an unknown key or a bad N. */
void limit_set(const char *flag, const char *kv);
/* The hint line of a limit error: "raise it with --limit KEY=N or DSAH_LIMITS=KEY=N". */
const char *limit_hint(const char *key);

/* ---- opening inputs ------------------------------------------------------
 * Inputs are opened read-only with O_NONBLOCK (a FIFO or device never blocks
 * the open) and must be regular files: anything else (FIFO, socket,
 * device, directory) is refused with "PATH: not a regular file (a FIFO)".
 * open_input: the descriptor (blocking mode restored), or -1 with the
 * message in err. fopen_input: the same as a FILE* ("rb"). */
int open_input(const char *path, char *err, size_t errlen);
FILE *fopen_input(const char *path, char *err, size_t errlen);
/* open_input or die with the message. */
int xopen_input(const char *path);

/* ---- atomic output files ------------------------------------------------ */
typedef struct atomic_file {
    char *path;     /* final path */
    char *tmp;      /* path.tmp.<pid> */
    FILE *fp;
    int slot;       /* index in the pending table */
} atomic_file;

/* Open path.tmp.<pid> for writing (O_CREAT|O_EXCL|O_NOFOLLOW: an existing
 * file or symlink of that name is an error, never followed); dies with the
 * path on failure. Creates missing parent directories and removes stale
 * temporaries of path left by dead processes (path.tmp.<pid> and
 * path.old.tmp.<pid> with no such pid). */
atomic_file *af_open(const char *path);
/* Check ferror, fflush, fsync, fclose, rename to the final path, fsync the
 * directory. Dies on any failure (after removing the temporary). Frees af.
 * Inside af_batch_begin/af_batch_commit the rename is deferred. */
void af_commit(atomic_file *af);
/* A stage's outputs committed together: after af_batch_begin(), af_commit
 * writes, flushes and fsyncs the temporary but leaves it pending;
 * af_batch_commit() then renames every one and fsyncs their directories. A
 * failure before af_batch_commit leaves no new output (the temporaries are
 * removed on exit); a failed rename inside it puts back the old outputs it
 * had already replaced (kept as hard links path.old.tmp.<pid> until the
 * batch is in place) and removes the new ones that had none, so a stage
 * leaves either all of its new outputs or its old ones as they were. */
void af_batch_begin(void);
void af_batch_commit(void);
/* Remove path.tmp.<pid> files whose process no longer exists (what a
 * SIGKILL leaves); called by af_open. Returns the number removed. */
int af_remove_stale(const char *path);
/* Remove the temporary without committing. Frees af. */
void af_abort(atomic_file *af);
/* Write n bytes or die naming the file. */
void af_write(atomic_file *af, const void *buf, size_t n);

/* mkdir -p; dies on failure. */
void mkdir_p(const char *dir);
/* Directory part of path into buf ("." when none). */
void path_dirname(const char *path, char *buf, size_t n);
/* Join dir and name into a fresh string. */
char *path_join(const char *dir, const char *name);
int file_exists(const char *path);

/* ---- timing and progress ------------------------------------------------ */
double now_sec(void);   /* monotonic seconds */
double cpu_sec(void);   /* CPU seconds of the process, all threads (user + system) */

/* Progress on stderr: a bar when stderr is a terminal, otherwise a line every
 * few seconds. Silent when dsah_quiet. */
typedef struct progress {
    const char *label;
    int64_t total;
    double t0, last;
    int tty;
} progress;
void progress_begin(progress *p, const char *label, int64_t total);
void progress_update(progress *p, int64_t done);
void progress_end(progress *p);


/* ---- small parsing helpers --------------------------------------------- */
/* Strict parsers: the whole string must be a number in range; die naming the
 * flag otherwise. */
long long parse_ll(const char *flag, const char *s, long long lo, long long hi);
double parse_double(const char *flag, const char *s);
/* Comma-separated list of positive integers where "all" maps to all_value
 * (e.g. -1). Returns count, values in *out (xmalloc'ed). */
int parse_int_list(const char *flag, const char *s, long long all_value, long long **out);

#endif
