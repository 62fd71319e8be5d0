/* fuzz.h: shared parts of the libFuzzer targets (tests/fuzz/fuzz_*.c).
 *
 * Each target defines LLVMFuzzerTestOneInput. Built by clang with
 * -fsanitize=fuzzer,address,undefined (make fuzz), or by gcc with
 * tests/fuzz/driver.c as main (make test: the regression inputs in
 * tests/fuzz/regress/<target>/ through the plain build).
 *
 * Parsers that report errors by return value are called directly. The
 * ingest loaders report bad input with die(): FUZZ_TRY catches it through
 * dsah_die_hook (longjmp), so a rejected input is a normal return, while a
 * CHECK failure (status 2, an internal error) aborts: a crash to the fuzzer.
 * Inputs reach path-based readers through files in a private directory. */
#ifndef DSAH_FUZZ_H
#define DSAH_FUZZ_H

#define _GNU_SOURCE
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/util.h"

static jmp_buf fuzz_jb;
static char fuzz_dir[64];
static uint8_t fuzz_fd_open[1024];   /* descriptors open before the first input */

__attribute__((unused)) static void fuzz_die(int status) {
    if (status != 1) abort();   /* CHECK failure: an internal error */
    longjmp(fuzz_jb, 1);
}

/* Once per process: quiet, one thread, a scratch directory. */
__attribute__((unused)) static void fuzz_init(void) {
    if (fuzz_dir[0]) return;
    dsah_prog = "fuzz";
    dsah_quiet = 1;
    dsah_die_hook = fuzz_die;
    /* Limits small enough for the fuzzer's memory cap (2 GB): what is tested
     * is that they are checked before allocating. */
    dsah_limit.pixels = 1 << 20;
    dsah_limit.member_bytes = 1 << 22;
    dsah_limit.members = 1 << 16;
    dsah_limit.model_params = 1 << 24;
    snprintf(fuzz_dir, sizeof fuzz_dir, "/tmp/dsah-fuzz.%ld", (long)getpid());
    mkdir(fuzz_dir, 0700);
    for (int fd = 0; fd < 1024; fd++) fuzz_fd_open[fd] = fcntl(fd, F_GETFD) != -1;
}

/* After a die: what the dying code held open or pending is released. */
__attribute__((unused)) static void fuzz_after_die(void) {
    dsah_reset_after_die();
    for (int fd = 3; fd < 1024; fd++)
        if (!fuzz_fd_open[fd] && fcntl(fd, F_GETFD) != -1) close(fd);
}

/* path of name in the scratch directory (static buffer per slot). */
__attribute__((unused)) static const char *fuzz_path(int slot, const char *name) {
    static char buf[8][256];
    snprintf(buf[slot], sizeof buf[slot], "%s/%s", fuzz_dir, name);
    return buf[slot];
}

__attribute__((unused)) static const char *fuzz_write(int slot, const char *name, const uint8_t *data, size_t len) {
    const char *p = fuzz_path(slot, name);
    FILE *f = fopen(p, "wb");
    if (!f) abort();
    if (len && fwrite(data, 1, len, f) != len) abort();
    if (fclose(f) != 0) abort();
    return p;
}

/* Remove the scratch directory's contents (outputs of the last input). */
__attribute__((unused)) static int fuzz_rm(const char *p, const struct stat *st, int flag, struct FTW *ftw) {
    (void)st; (void)flag;
    if (ftw->level > 0) remove(p);
    return 0;
}
__attribute__((unused)) static void fuzz_clean(void) { nftw(fuzz_dir, fuzz_rm, 16, FTW_DEPTH | FTW_PHYS); }

/* Split data at the first occurrence of the 8-byte separator "\n--8<--\n":
 * part k of at most n parts. */
__attribute__((unused)) static int fuzz_split(const uint8_t *data, size_t len, const uint8_t **part, size_t *plen, int n) {
    static const char sep[] = "\n--8<--\n";
    int k = 0;
    const uint8_t *p = data, *end = data + len;
    while (k < n - 1) {
        const uint8_t *q = memmem(p, (size_t)(end - p), sep, 8);
        if (!q) break;
        part[k] = p;
        plen[k++] = (size_t)(q - p);
        p = q + 8;
    }
    part[k] = p;
    plen[k++] = (size_t)(end - p);
    for (int i = k; i < n; i++) { part[i] = (const uint8_t *)""; plen[i] = 0; }
    return k;
}

/* Run stmt; a die() inside returns here. */
#define FUZZ_TRY(stmt)                      \
    do {                                    \
        if (setjmp(fuzz_jb) == 0) { stmt; } \
        else fuzz_after_die();              \
    } while (0)

#endif
