/* child.h: run a function that may die (util.h die: one line on stderr,
 * exit 1) in a forked child, for the C tests that check such messages.
 *
 *   int st = child_stderr(fn, arg, msg, sizeof msg);
 *
 * returns the child's exit status (128 + the signal when it was killed) and
 * its stderr in msg (cap bytes, NUL-terminated; read through a pipe). The
 * child stops itself after 300 s (alarm): a hang fails the test instead of
 * stopping it. A child that runs OpenMP code should call nn_set_threads(1)
 * first: libgomp's thread pool does not survive fork(). */
#ifndef DSAH_TEST_CHILD_H
#define DSAH_TEST_CHILD_H

#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/util.h"

__attribute__((unused))
static int child_stderr(void (*fn)(const void *), const void *arg, char *msg, size_t cap) {
    int p[2];
    CHECK(pipe(p) == 0);
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        close(p[0]);
        CHECK(dup2(p[1], 2) == 2);
        alarm(300);
        fn(arg);
        fflush(stderr);
        _exit(0);
    }
    close(p[1]);
    size_t n = 0;
    ssize_t got;
    char sink[256];
    /* read to EOF (the child may write more than cap) */
    while ((got = read(p[0], n + 1 < cap ? msg + n : sink, n + 1 < cap ? cap - 1 - n : sizeof sink)) > 0)
        if (n + 1 < cap) n += (size_t)got;
    close(p[0]);
    msg[n] = 0;
    int st;
    CHECK(waitpid(pid, &st, 0) == pid);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
}

#endif
