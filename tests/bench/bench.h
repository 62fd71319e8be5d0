/* bench.h: helpers of the C bench programs (tests/bench/bench_*.c). */
#ifndef DSAH_BENCH_H
#define DSAH_BENCH_H

#include <stdlib.h>
#include <time.h>

/* CPU seconds of clock (CLOCK_THREAD_CPUTIME_ID: the calling thread;
 * CLOCK_PROCESS_CPUTIME_ID: all threads): on a shared machine wall time is
 * partly waiting for a core. */
static inline double bench_cpu_sec(clockid_t clock) {
    struct timespec ts;
    clock_gettime(clock, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

/* qsort comparator of doubles, ascending */
static inline int bench_cmp_d(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Median of v [n] (sorted in place). */
static inline double bench_median(double *v, int n) {
    qsort(v, (size_t)n, sizeof *v, bench_cmp_d);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

#endif
