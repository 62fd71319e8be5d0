/* tap.h: TAP output for the C unit tests (run under prove).
 *
 *   plan_no_plan() at start is implied; call ok(cond, "what", ...) per check,
 *   skip(n, "why") to skip, and return done_testing() from main, which prints
 *   the plan "1..N" last and returns non-zero when any check failed. */
#ifndef DSAH_TAP_H
#define DSAH_TAP_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

static int tap_n = 0, tap_failed = 0;

__attribute__((format(printf, 2, 3), unused))
static int ok(int cond, const char *fmt, ...) {
    va_list ap;
    tap_n++;
    printf("%sok %d - ", cond ? "" : "not ", tap_n);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    if (!cond) tap_failed++;
    fflush(stdout);
    return cond;
}

__attribute__((format(printf, 1, 2), unused))
static void diag(const char *fmt, ...) {
    va_list ap;
    printf("# ");
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    fflush(stdout);
}

__attribute__((unused))
static void skip(int n, const char *why) {
    for (int i = 0; i < n; i++) printf("ok %d # skip %s\n", ++tap_n, why);
    fflush(stdout);
}

/* Normalised error ||got - ref||_2 / ||ref||_2 of two float arrays of n
 * values (0 when both are all zero; infinite when ref is zero and got is not,
 * or when got holds a NaN). For comparing results that go through BLAS with
 * another batch size, thread count or kernel, which no BLAS promises to sum
 * in the same order. */
__attribute__((unused))
static double rel_err_f(const float *got, const float *ref, long long n) {
    double d2 = 0, r2 = 0;
    for (long long i = 0; i < n; i++) {
        double d = (double)got[i] - (double)ref[i];
        d2 += d * d;
        r2 += (double)ref[i] * ref[i];
    }
    if (d2 != d2) return 1.0 / 0.0;
    return d2 == 0 ? 0 : r2 == 0 ? 1.0 / 0.0 : __builtin_sqrt(d2 / r2);
}

__attribute__((unused))
static int done_testing(void) {
    printf("1..%d\n", tap_n);
    return tap_failed ? 1 : 0;
}

#endif
