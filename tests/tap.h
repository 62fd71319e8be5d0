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

__attribute__((unused))
static int done_testing(void) {
    printf("1..%d\n", tap_n);
    return tap_failed ? 1 : 0;
}

#endif
