/* serve.h: the HTTP server of dsah-serve (libmicrohttpd).
 *
 * Routes (anything else: 404; a known path with another method: 405):
 *   GET  /                 the search page (serve.c's page_html)
 *   GET  /api/info         {"images", "labels", "k", "queries", "columns": [{"name", "bits", "n", "model"}]}
 *   GET  /api/search?item=N[&k=K]     query by dataset item N: its code in the
 *        index, else its row of the column's query codes, else encoded by
 *        the column's model
 *   GET  /api/search?random=1[&k=K]   a random item of --queries (default: any)
 *   POST /api/search[?k=K]            the body is a JPEG or PNG file (needs a model)
 *        -> {"query": {"item", "labels"}, "k", "columns": [{"name", "bits", "method", "seconds",
 *            "results": [{"id", "distance", "relevant"}]} | {"name", "error"}]}
 *   GET  /img/N.png        dataset image N as PNG
 * Every other query key, a value that is not a plain decimal number in
 * range, an unknown item: 400 or 404 with {"error": "..."}. An upload whose
 * Content-Length exceeds the limit is answered 413 before its body is read;
 * a chunked one is counted and dropped past the limit, then answered 413.
 * Connections are served by a pool of threads with incremental upload
 * callbacks, so a slow client holds no thread while it sends; searches are
 * read-only on the index and the model (encoding) is behind a lock per
 * column. */
#ifndef DSAH_SERVE_H
#define DSAH_SERVE_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "hash/index.h"
#include "search/query.h"

#define SERVE_MAX_COLUMNS 4

typedef struct serve_column {
    char name[64];
    hindex ix;
    int64_t *by_id;            /* [n, 2] (id, position) sorted by id */
    const uint8_t *qcodes;     /* [nq, row_bytes] codes of the ctx's queries, or NULL */
    int have_model;
    query_encoder enc;
    pthread_mutex_t lock;      /* the encoder's */
} serve_column;

typedef struct serve_ctx {
    int ncol;
    serve_column col[SERVE_MAX_COLUMNS];
    const uint8_t *images;     /* [N, H, W, C] */
    int64_t N, H, W, C;
    const uint8_t *labels;     /* [N, L] or NULL */
    int64_t L;
    const int64_t *queries;    /* [nq] or NULL (every item) */
    int64_t nq;
    int64_t *query_by_id;      /* [nq, 2] (item, row) sorted by item */
    int k;                     /* default k */
    size_t max_upload;
    int threads;               /* connection threads */
    struct MHD_Daemon *daemon;
    int port;                  /* bound port (after serve_start) */
} serve_ctx;

/* Set up the next column from an opened index (taken over), an optional
 * model and optional codes [nq, row_bytes] of s->queries (set queries
 * first). */
void serve_add_column(serve_ctx *s, const char *name, const hindex *ix, const char *model, const uint8_t *qcodes,
                      const char *images_path);
/* Listen on addr (IPv4 dotted) : port (0: any free one; s->port has it
 * after). 0, or -1 with a message in err. */
int serve_start(serve_ctx *s, const char *addr, int port, char *err, size_t errlen);
void serve_stop(serve_ctx *s);
/* serve_stop, then release the columns (indexes, models). */
void serve_free(serve_ctx *s);

#endif
