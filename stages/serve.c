/* dsah-serve: the search page over HTTP (common/search/serve.h). Thin main:
 * flags (cli/serve.c), open the indexes, images, labels and models, serve
 * until SIGINT or SIGTERM. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/stages.h"
#include "format/npy.h"
#include "hash/index.h"
#include "search/serve.h"
#include "util/check.h"
#include "util/util.h"

/* Split a comma list into at most max fresh strings (empty entries kept). */
static int split(const char *s, char **out, int max, const char *flag) {
    int n = 0;
    const char *p = s;
    for (;;) {
        const char *c = strchr(p, ',');
        size_t len = c ? (size_t)(c - p) : strlen(p);
        if (n == max) die("%s: at most %d entries", flag, max);
        out[n] = xmalloc(len + 1);
        memcpy(out[n], p, len);
        out[n++][len] = 0;
        if (!c) return n;
        p = c + 1;
    }
}

int main(int argc, char **argv) {
    dsah_init("dsah-serve");
    serve_args a;
    opt_parse(&serve_cmd, &a, argc, argv);
    dsah_set_threads(a.threads);
    serve_ctx s;
    memset(&s, 0, sizeof s);
    s.k = (int)a.k;
    s.max_upload = (size_t)a.max_upload;
    s.threads = a.threads ? (int)a.threads : 4;

    npy_array im, lb, qs;
    npy_open(&im, a.images, NPY_U1, 4);
    s.images = im.data;
    s.N = im.shape[0], s.H = im.shape[1], s.W = im.shape[2], s.C = im.shape[3];
    if (s.N < 1) die("%s: no images", a.images);
    if (s.C != 1 && s.C != 3) die("%s: images have %lld channels, expected 1 or 3", a.images, (long long)s.C);
    if (a.labels) {
        npy_open(&lb, a.labels, NPY_U1, 2);
        npy_expect_dim(&lb, 0, s.N, "one label row per image of --images");
        s.labels = lb.data;
        s.L = lb.shape[1];
    }
    if (a.queries) {
        npy_open(&qs, a.queries, NPY_I8, 1);
        s.queries = qs.data;
        s.nq = qs.shape[0];
        if (s.nq < 1) die("%s: no queries", a.queries);
        index_range_or_die(a.queries, s.queries, s.nq, s.N, a.images);
    }
    char *dirs[SERVE_MAX_COLUMNS], *models[SERVE_MAX_COLUMNS] = {0};
    const int nidx = split(a.index, dirs, SERVE_MAX_COLUMNS, "--index");
    const int nmod = a.model ? split(a.model, models, SERVE_MAX_COLUMNS, "--model") : 0;
    if (nmod > nidx) die("--model: %d models for %d indexes", nmod, nidx);
    char *qpaths[SERVE_MAX_COLUMNS] = {0};
    const int nqc = a.query_codes ? split(a.query_codes, qpaths, SERVE_MAX_COLUMNS, "--query-codes") : 0;
    if (nqc > nidx) die("--query-codes: %d files for %d indexes", nqc, nidx);
    if (nqc && !a.queries) die("--query-codes needs --queries (the items its rows belong to)");
    npy_array qc[SERVE_MAX_COLUMNS];
    for (int c = 0; c < nidx; c++) {
        char *eq = strchr(dirs[c], '='), *dir = eq ? eq + 1 : dirs[c];
        if (eq) *eq = 0;
        const char *name = eq ? dirs[c] : dir;
        if (!*dir) die("--index: empty directory in '%s'", a.index);
        hindex ix;
        hindex_load(&ix, dir, 1);
        const uint8_t *codes = NULL;
        if (c < nqc && *qpaths[c]) {
            npy_open(&qc[c], qpaths[c], NPY_U1, 2);
            npy_expect_dim(&qc[c], 0, s.nq, "one row per item of --queries");
            npy_expect_dim(&qc[c], 1, ix.row_bytes, "the bytes per code of the index");
            char err[256];
            if (hsearch_check_queries(&ix, qc[c].data, s.nq, err, sizeof err)) die("%s: %s", qpaths[c], err);
            codes = qc[c].data;
        }
        serve_add_column(&s, name, &ix, c < nmod ? models[c] : NULL, codes, a.images);
    }
    char host[64];
    const char *colon = strrchr(a.listen, ':');
    if (!colon || colon == a.listen || (size_t)(colon - a.listen) >= sizeof host)
        die("--listen %s: expected ADDR:PORT, e.g. 127.0.0.1:8080", a.listen);
    memcpy(host, a.listen, (size_t)(colon - a.listen));
    host[colon - a.listen] = 0;
    const int port = (int)parse_ll("--listen port", colon + 1, 0, 65535);

    /* the server threads inherit this mask; main waits for the signal */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    CHECK_ZERO(pthread_sigmask(SIG_BLOCK, &set, NULL));
    char err[256];
    if (serve_start(&s, host, port, err, sizeof err)) die("%s", err);
    printf("listening on http://%s:%d/\n", host, s.port);
    fflush(stdout);
    info("%d index%s, %lld images: http://%s:%d/", s.ncol, s.ncol > 1 ? "es" : "", (long long)s.N, host, s.port);
    int sig;
    sigwait(&set, &sig);
    info("signal %d: stopping", sig);
    serve_free(&s);
    for (int c = 0; c < nqc; c++)
        if (*qpaths[c]) npy_close(&qc[c]);
    for (int c = 0; c < nidx; c++) free(dirs[c]);
    for (int c = 0; c < nmod; c++) free(models[c]);
    for (int c = 0; c < nqc; c++) free(qpaths[c]);
    if (a.queries) npy_close(&qs);
    if (a.labels) npy_close(&lb);
    npy_close(&im);
    return 0;
}
