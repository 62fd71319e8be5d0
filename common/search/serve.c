/* serve.c: see serve.h. */
#define _GNU_SOURCE
#include "search/serve.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <png.h>
#include <setjmp.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format/json.h"
#include "util/check.h"
#include "util/util.h"

/* ---- the page ------------------------------------------------------------------ */
static const char page_html[] =
    "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>dsah search</title>\n"
    "<style>\n"
    "body{font-family:sans-serif;margin:1em;background:#fafafa}\n"
    "#controls>*{margin-right:.6em}\n"
    ".cols{display:flex;gap:2em;margin-top:1em;align-items:flex-start}\n"
    ".col h2{font-size:1em;margin:.2em 0}\n"
    ".tiles{display:grid;grid-template-columns:repeat(5,100px);gap:6px}\n"
    ".tile,.qtile{width:100px;text-align:center;font-size:12px;border:2px solid #ccc;background:#fff}\n"
    ".tile img,.qtile img{width:96px;height:96px;image-rendering:pixelated}\n"
    ".tile.rel{border-color:#2a2}.tile.irr{border-color:#c22}\n"
    ".mark.rel{color:#2a2}.mark.irr{color:#c22}\n"
    "#error{color:#c22}\n"
    "</style></head><body>\n"
    "<h1>dsah: Hamming ranking</h1>\n"
    "<div id=\"controls\">\n"
    "<label>item <input id=\"item\" type=\"number\" min=\"0\" value=\"0\" style=\"width:7em\"></label>"
    "<button id=\"go\">search</button><button id=\"random\">random query</button>\n"
    "<label>upload <input id=\"file\" type=\"file\" accept=\"image/png,image/jpeg\"></label>\n"
    "<label>k <select id=\"k\"><option>5</option><option selected>10</option><option>20</option>"
    "<option>50</option></select></label>\n"
    "</div>\n<div id=\"error\"></div>\n<div id=\"query\"></div>\n<div class=\"cols\" id=\"cols\"></div>\n"
    "<script>\n"
    "const $=id=>document.getElementById(id);\n"
    "function el(tag,cls,text){const e=document.createElement(tag);if(cls)e.className=cls;"
    "if(text!==undefined)e.textContent=text;return e}\n"
    "function show(r){\n"
    " $('error').textContent='';const q=$('query');q.innerHTML='';\n"
    " const t=el('div','qtile');\n"
    " if(r.query.item!==undefined){const i=el('img');i.src='/img/'+r.query.item+'.png';t.appendChild(i);"
    "t.appendChild(el('div','','query: item '+r.query.item))}else{t.appendChild(el('div','','query: upload'))}\n"
    " q.appendChild(t);const cols=$('cols');cols.innerHTML='';\n"
    " for(const c of r.columns){const d=el('div','col');d.dataset.name=c.name;\n"
    "  d.appendChild(el('h2','',c.name+(c.bits?' ('+c.bits+' bits, '+c.method+', '+(1000*c.seconds).toFixed(2)+' ms)':'')));\n"
    "  if(c.error){d.appendChild(el('div','err',c.error));cols.appendChild(d);continue}\n"
    "  const g=el('div','tiles');\n"
    "  c.results.forEach((x,i)=>{const rel=x.relevant===undefined?'':(x.relevant?'rel':'irr');\n"
    "   const t=el('div','tile '+rel);t.dataset.id=x.id;t.dataset.distance=x.distance;t.dataset.rank=i+1;\n"
    "   const im=el('img');im.src='/img/'+x.id+'.png';im.alt='item '+x.id;t.appendChild(im);\n"
    "   const cap=el('div','cap','#'+x.id+' d='+x.distance+' ');\n"
    "   if(rel)cap.appendChild(el('span','mark '+rel,x.relevant?'\\u2713':'\\u00d7'));\n"
    "   t.appendChild(cap);g.appendChild(t)});\n"
    "  d.appendChild(g);cols.appendChild(d)}\n"
    " document.body.dataset.done=String(Number(document.body.dataset.done||0)+1)}\n"
    "async function run(url,opt){const r=await fetch(url,opt);const j=await r.json();\n"
    " if(!r.ok){$('error').textContent=j.error||r.statusText;return}show(j)}\n"
    "const k=()=>'&k='+$('k').value;\n"
    "$('go').onclick=()=>run('/api/search?item='+encodeURIComponent($('item').value)+k());\n"
    "$('random').onclick=()=>run('/api/search?random=1'+k());\n"
    "$('file').onchange=()=>{const f=$('file').files[0];if(f)run('/api/search?k='+$('k').value,{method:'POST',body:f})};\n"
    "</script></body></html>\n";

/* ---- columns ------------------------------------------------------------------- */
void serve_add_column(serve_ctx *s, const char *name, const hindex *ix, const char *model, const uint8_t *qcodes,
                      const char *images_path) {
    CHECK(s->ncol < SERVE_MAX_COLUMNS);
    serve_column *c = &s->col[s->ncol++];
    memset(c, 0, sizeof *c);
    c->qcodes = qcodes;
    if (s->queries && !s->query_by_id) {
        s->query_by_id = xmalloc(sizeof(int64_t) * 2 * (size_t)s->nq + 1);
        for (int64_t i = 0; i < s->nq; i++) s->query_by_id[2 * i] = s->queries[i], s->query_by_id[2 * i + 1] = i;
        hindex_pairs_sort(s->query_by_id, s->nq);
    }
    snprintf(c->name, sizeof c->name, "%s", name);
    c->ix = *ix;
    c->ix.nthreads = 1;
    c->by_id = hindex_id_pairs(ix);
    /* the index's ids (without them, the ids are the positions 0..n-1) */
    char err[512];
    if (ix->ids ? index_range_check(ix->ids, ix->n, s->N, images_path, err, sizeof err) >= 0 : ix->n > s->N) {
        if (!ix->ids) index_range_message(err, sizeof err, s->N, s->N, s->N, images_path);
        die("index %s: %s", name, err);
    }
    if (model && *model) {
        qenc_open(&c->enc, model, s->images, s->N, (int)s->H, (int)s->W, (int)s->C, images_path);
        if (c->enc.bits != ix->bits)
            die("%s: the model makes codes of %d bits, index %s holds %d", model, c->enc.bits, name, ix->bits);
        c->have_model = 1;
    }
    CHECK_ZERO(pthread_mutex_init(&c->lock, NULL));
}

/* ---- responses ------------------------------------------------------------------ */
static enum MHD_Result reply(struct MHD_Connection *conn, unsigned status, const char *type, void *body, size_t len,
                             int owned) {
    struct MHD_Response *r = owned ? MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE)
                                   : MHD_create_response_from_buffer(len, body, MHD_RESPMEM_PERSISTENT);
    if (!r) {
        if (owned) free(body);
        return MHD_NO;
    }
    MHD_add_response_header(r, "Content-Type", type);
    MHD_add_response_header(r, "Cache-Control", "no-store");
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    enum MHD_Result ret = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return ret;
}

/* A JSON document written with jw into memory. */
typedef struct jbuf {
    char *p;
    size_t n;
    FILE *fp;
    jw w;
} jbuf;
static void jb_begin(jbuf *b) {
    b->p = NULL, b->n = 0;
    b->fp = open_memstream(&b->p, &b->n);
    CHECK(b->fp);
    jw_begin(&b->w, b->fp);
}
static enum MHD_Result jb_reply(struct MHD_Connection *conn, unsigned status, jbuf *b) {
    jw_finish(&b->w);
    CHECK(fclose(b->fp) == 0);
    return reply(conn, status, "application/json", b->p, b->n, 1);
}
static enum MHD_Result error_reply(struct MHD_Connection *conn, unsigned status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static enum MHD_Result error_reply(struct MHD_Connection *conn, unsigned status, const char *fmt, ...) {
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    jbuf b;
    jb_begin(&b);
    jw_str(&b.w, "error", msg);
    return jb_reply(conn, status, &b);
}

/* A plain decimal number in [lo, hi] (no sign, no spaces, <= 18 digits). */
static int parse_num(const char *s, int64_t lo, int64_t hi, int64_t *out) {
    if (!s || !*s || strlen(s) > 18) return -1;
    int64_t v = 0;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9') return -1;
        v = 10 * v + (*p - '0');
    }
    if (v < lo || v > hi) return -1;
    *out = v;
    return 0;
}

/* ---- PNG thumbnails --------------------------------------------------------------- */
typedef struct membuf {
    uint8_t *p;
    size_t n, cap;
    int oom;
} membuf;
static void png_mem_write(png_structp ps, png_bytep data, png_size_t len) {
    membuf *m = png_get_io_ptr(ps);
    if (m->n + len > m->cap) {
        size_t cap = (m->cap ? 2 * m->cap : 4096) + len;
        uint8_t *q = realloc(m->p, cap);
        if (!q) {
            m->oom = 1;
            png_error(ps, "out of memory");
        }
        m->p = q, m->cap = cap;
    }
    memcpy(m->p + m->n, data, len);
    m->n += len;
}
static void png_mem_flush(png_structp ps) { (void)ps; }

/* PNG of image i ([H, W, C], C = 1 grey or 3 RGB) into a malloc'ed buffer. */
static int image_png(const serve_ctx *s, int64_t i, uint8_t **out, size_t *len) {
    png_structp ps = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    if (!ps) return -1;
    png_infop pi = png_create_info_struct(ps);
    membuf m = {0};
    if (!pi || setjmp(png_jmpbuf(ps))) {
        png_destroy_write_struct(&ps, pi ? &pi : NULL);
        free(m.p);
        return -1;
    }
    png_set_write_fn(ps, &m, png_mem_write, png_mem_flush);
    png_set_IHDR(ps, pi, (png_uint_32)s->W, (png_uint_32)s->H, 8, s->C == 1 ? PNG_COLOR_TYPE_GRAY : PNG_COLOR_TYPE_RGB,
                 PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(ps, pi);
    const uint8_t *img = s->images + i * s->H * s->W * s->C;
    for (int64_t y = 0; y < s->H; y++) png_write_row(ps, (png_const_bytep)(img + y * s->W * s->C));
    png_write_end(ps, pi);
    png_destroy_write_struct(&ps, &pi);
    *out = m.p, *len = m.n;
    return 0;
}

/* ---- search ------------------------------------------------------------------------ */
typedef struct request {
    int is_post;
    uint8_t *body;
    size_t n, cap;
    int too_large;
} request;

static int relevant(const serve_ctx *s, int64_t a, int64_t b) {
    for (int64_t l = 0; l < s->L; l++)
        if (s->labels[a * s->L + l] && s->labels[b * s->L + l]) return 1;
    return 0;
}

/* One column's answer into the JSON array (an object). item >= 0: query by
 * item; else by the uploaded image body. */
static void column_answer(const serve_ctx *s, serve_column *c, int64_t item, const uint8_t *body, size_t blen,
                          int64_t k, jw *w) {
    jw_obj(w, NULL);
    jw_str(w, "name", c->name);
    uint8_t code[HINDEX_MAX_BITS / 8];
    char err[256] = "";
    int okq = 1;
    if (item >= 0) {
        const int64_t p = hindex_pairs_find(c->by_id, c->ix.n, item);
        const int64_t qr = p < 0 && c->qcodes ? hindex_pairs_find(s->query_by_id, s->nq, item) : -1;
        if (p >= 0) {
            memcpy(code, c->ix.codes + p * c->ix.row_bytes, (size_t)c->ix.row_bytes);
        } else if (qr >= 0) {
            memcpy(code, c->qcodes + qr * c->ix.row_bytes, (size_t)c->ix.row_bytes);
        } else if (c->have_model) {
            pthread_mutex_lock(&c->lock);
            qenc_item(&c->enc, item, code);
            pthread_mutex_unlock(&c->lock);
        } else {
            snprintf(err, sizeof err, "item %lld is not in this index nor its query codes, and it has no model to encode it", (long long)item);
            okq = 0;
        }
    } else if (!c->have_model) {
        snprintf(err, sizeof err, "this index has no model to encode an uploaded image");
        okq = 0;
    } else {
        pthread_mutex_lock(&c->lock);
        okq = qenc_image(&c->enc, body, blen, code, err, sizeof err) == 0;
        pthread_mutex_unlock(&c->lock);
    }
    if (!okq) {
        jw_str(w, "error", err);
        jw_end(w);
        return;
    }
    hsearch_params p = {.k = k, .radius = -1, .method = HSEARCH_AUTO};
    hsearch_result r;
    const double t0 = now_sec();
    hsearch(&r, &c->ix, code, 1, &p);
    jw_int(w, "bits", c->ix.bits);
    jw_str(w, "method", hsearch_method_name(r.used[0]));
    jw_num(w, "seconds", now_sec() - t0);
    jw_arr(w, "results");
    for (int64_t i = r.lims[0]; i < r.lims[1]; i++) {
        const int64_t id = hindex_id(&c->ix, r.pos[i]);
        jw_obj(w, NULL);
        jw_int(w, "id", id);
        jw_int(w, "distance", r.dist[i]);
        if (s->labels && item >= 0) jw_bool(w, "relevant", relevant(s, item, id));
        jw_end(w);
    }
    jw_end(w);
    jw_end(w);
    hsearch_result_free(&r);
}

static _Atomic uint64_t rng_counter = 0x9E3779B97F4A7C15ULL;
static uint64_t next_random(void) {
    uint64_t z = atomic_fetch_add(&rng_counter, 0x9E3779B97F4A7C15ULL) + (uint64_t)(now_sec() * 1e9);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

typedef struct keycheck {
    const char *bad;
} keycheck;
static enum MHD_Result check_key(void *cls, enum MHD_ValueKind kind, const char *key, const char *value) {
    (void)kind, (void)value;
    keycheck *kc = cls;
    if (strcmp(key, "item") && strcmp(key, "random") && strcmp(key, "k")) {
        kc->bad = key;
        return MHD_NO;
    }
    return MHD_YES;
}

static enum MHD_Result api_search(serve_ctx *s, struct MHD_Connection *conn, request *rq) {
    keycheck kc = {NULL};
    MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, check_key, &kc);
    if (kc.bad) return error_reply(conn, 400, "unknown query parameter '%.64s' (item, random, k)", kc.bad);
    const char *ks = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "k");
    int64_t k = s->k;
    if (ks && parse_num(ks, 1, 1000, &k)) return error_reply(conn, 400, "k must be a number in [1, 1000]");
    int64_t item = -1;
    if (!rq->is_post) {
        const char *is = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "item");
        const char *rs = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "random");
        if (!!is + !!rs != 1) return error_reply(conn, 400, "give item=N or random=1");
        if (rs) {
            if (strcmp(rs, "1")) return error_reply(conn, 400, "random must be 1");
            const uint64_t u = next_random();
            item = s->queries ? s->queries[u % (uint64_t)s->nq] : (int64_t)(u % (uint64_t)s->N);
        } else if (parse_num(is, 0, INT64_MAX / 2, &item)) {
            return error_reply(conn, 400, "item must be a plain non-negative number");
        } else if (item >= s->N) {
            return error_reply(conn, 404, "no item %lld (the dataset has %lld images)", (long long)item, (long long)s->N);
        }
    } else {
        if (rq->too_large)
            return error_reply(conn, 413, "upload larger than %zu bytes", s->max_upload);
        if (!rq->n) return error_reply(conn, 400, "empty upload: send a JPEG or PNG file as the body");
        char err[256];
        int w, h;
        uint8_t *rgb = NULL;
        size_t cap = 0;
        /* decode once up front so that an undecodable upload is a 400 */
        int bad = image_decode(&rgb, &cap, &w, &h, rq->body, rq->n, err, sizeof err);
        free(rgb);
        if (bad) return error_reply(conn, 400, "upload: %s", err);
    }
    jbuf b;
    jb_begin(&b);
    jw_obj(&b.w, "query");
    if (item >= 0) {
        jw_int(&b.w, "item", item);
        if (s->labels) {
            jw_arr(&b.w, "labels");
            for (int64_t l = 0; l < s->L; l++)
                if (s->labels[item * s->L + l]) jw_int(&b.w, NULL, l);
            jw_end(&b.w);
        }
    } else {
        jw_str(&b.w, "upload", "image");
    }
    jw_end(&b.w);
    jw_int(&b.w, "k", k);
    jw_arr(&b.w, "columns");
    for (int c = 0; c < s->ncol; c++) column_answer(s, &s->col[c], item, rq->body, rq->n, k, &b.w);
    jw_end(&b.w);
    return jb_reply(conn, 200, &b);
}

static enum MHD_Result api_info(serve_ctx *s, struct MHD_Connection *conn) {
    jbuf b;
    jb_begin(&b);
    jw_int(&b.w, "images", s->N);
    jw_bool(&b.w, "labels", s->labels != NULL);
    jw_int(&b.w, "k", s->k);
    jw_int(&b.w, "queries", s->queries ? s->nq : s->N);
    jw_int(&b.w, "max_upload", (int64_t)s->max_upload);
    jw_arr(&b.w, "columns");
    for (int c = 0; c < s->ncol; c++) {
        jw_obj(&b.w, NULL);
        jw_str(&b.w, "name", s->col[c].name);
        jw_int(&b.w, "bits", s->col[c].ix.bits);
        jw_int(&b.w, "n", s->col[c].ix.n);
        jw_bool(&b.w, "model", s->col[c].have_model);
        jw_end(&b.w);
    }
    jw_end(&b.w);
    return jb_reply(conn, 200, &b);
}

static enum MHD_Result img_route(serve_ctx *s, struct MHD_Connection *conn, const char *url) {
    /* exactly /img/<decimal>.png: nothing else (no path is ever opened) */
    const char *num = url + 5, *dot = strchr(num, '.');
    char digits[24];
    int64_t i;
    if (!dot || strcmp(dot, ".png") || dot - num < 1 || dot - num > 18)
        return error_reply(conn, 404, "no such image (use /img/N.png)");
    memcpy(digits, num, (size_t)(dot - num));
    digits[dot - num] = 0;
    if (parse_num(digits, 0, s->N - 1, &i)) return error_reply(conn, 404, "no such image (use /img/N.png, N < %lld)", (long long)s->N);
    uint8_t *png;
    size_t len;
    if (image_png(s, i, &png, &len)) return error_reply(conn, 500, "PNG encoding failed");
    return reply(conn, 200, "image/png", png, len, 1);
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                               const char *version, const char *upload_data, size_t *upload_size, void **con_cls) {
    (void)version;
    serve_ctx *s = cls;
    request *rq = *con_cls;
    if (!rq) {
        rq = calloc(1, sizeof *rq);
        if (!rq) return MHD_NO;
        rq->is_post = !strcmp(method, MHD_HTTP_METHOD_POST);
        *con_cls = rq;
        if (rq->is_post) {
            if (strcmp(url, "/api/search")) return error_reply(conn, 405, "POST goes to /api/search only");
            const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
            int64_t len;
            if (cl && (parse_num(cl, 0, INT64_MAX / 2, &len) || (uint64_t)len > s->max_upload)) {
                rq->too_large = 1;
                return error_reply(conn, 413, "upload larger than %zu bytes", s->max_upload);
            }
        }
        return MHD_YES;
    }
    if (rq->is_post && *upload_size) {
        /* bounded: bytes past the limit are dropped and answered 413 */
        if (!rq->too_large && rq->n + *upload_size <= s->max_upload) {
            if (rq->n + *upload_size > rq->cap) {
                size_t cap = rq->cap ? rq->cap : 65536;
                while (cap < rq->n + *upload_size) cap *= 2;
                if (cap > s->max_upload) cap = s->max_upload;
                uint8_t *q = realloc(rq->body, cap);
                if (!q) return MHD_NO;
                rq->body = q, rq->cap = cap;
            }
            memcpy(rq->body + rq->n, upload_data, *upload_size);
            rq->n += *upload_size;
        } else {
            rq->too_large = 1;
        }
        *upload_size = 0;
        return MHD_YES;
    }
    const int get = !strcmp(method, MHD_HTTP_METHOD_GET) || !strcmp(method, MHD_HTTP_METHOD_HEAD);
    if (!strcmp(url, "/api/search")) {
        if (!get && !rq->is_post) return error_reply(conn, 405, "use GET or POST");
        return api_search(s, conn, rq);
    }
    if (!get) return error_reply(conn, 405, "use GET");
    if (!strcmp(url, "/") || !strcmp(url, "/index.html"))
        return reply(conn, 200, "text/html; charset=utf-8", (void *)page_html, sizeof page_html - 1, 0);
    if (!strcmp(url, "/api/info")) return api_info(s, conn);
    if (!strncmp(url, "/img/", 5)) return img_route(s, conn, url);
    return error_reply(conn, 404, "not found");
}

static void completed(void *cls, struct MHD_Connection *conn, void **con_cls, enum MHD_RequestTerminationCode toe) {
    (void)cls, (void)conn, (void)toe;
    request *rq = *con_cls;
    if (rq) {
        free(rq->body);
        free(rq);
    }
    *con_cls = NULL;
}

int serve_start(serve_ctx *s, const char *addr, int port, char *err, size_t errlen) {
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, addr, &sa.sin_addr) != 1) {
        snprintf(err, errlen, "--listen %s: not an IPv4 address", addr);
        return -1;
    }
    s->daemon = MHD_start_daemon(
        MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG, 0, NULL, NULL, handler, s, MHD_OPTION_SOCK_ADDR, &sa,
        MHD_OPTION_THREAD_POOL_SIZE, (unsigned)(s->threads > 1 ? s->threads : 2), MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned)30, MHD_OPTION_CONNECTION_LIMIT, (unsigned)1000, MHD_OPTION_NOTIFY_COMPLETED, completed, s,
        MHD_OPTION_END);
    if (!s->daemon) {
        snprintf(err, errlen, "cannot listen on %s:%d: %s", addr, port, strerror(errno));
        return -1;
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
    s->port = di ? di->port : port;
    return 0;
}

void serve_stop(serve_ctx *s) {
    if (s->daemon) MHD_stop_daemon(s->daemon);
    s->daemon = NULL;
}

void serve_free(serve_ctx *s) {
    serve_stop(s);
    for (int c = 0; c < s->ncol; c++) {
        serve_column *col = &s->col[c];
        hindex_free(&col->ix);
        free(col->by_id);
        if (col->have_model) qenc_close(&col->enc);
        pthread_mutex_destroy(&col->lock);
    }
    free(s->query_by_id);
    s->ncol = 0;
    s->query_by_id = NULL;
}
