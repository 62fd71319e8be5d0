/* dsah-search: exact Hamming search of an index by codes, images or items
 * (common/hash/index.h, common/search/query.h). Thin main: flags
 * (cli/search.c), gather the query codes, hsearch, write the results. */
#include <dirent.h>
#include <errno.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "cli/stages.h"
#include "data/ingest_images.h"
#include "format/json.h"
#include "format/npy.h"
#include "hash/index.h"
#include "search/query.h"
#include "util/bits.h"
#include "util/util.h"

typedef struct qlist {
    int64_t n, cap;
    uint8_t *codes;   /* [n, row_bytes] */
    char **name;      /* [n] what the query was (file, item N, code row N) */
} qlist;

static uint8_t *qlist_add(qlist *q, int64_t rb, char *name) {
    if (q->n == q->cap) {
        q->cap = q->cap ? 2 * q->cap : 16;
        q->codes = xrealloc(q->codes, (size_t)(q->cap * rb));
        q->name = xrealloc(q->name, sizeof(char *) * (size_t)q->cap);
    }
    q->name[q->n] = name;
    return q->codes + rb * q->n++;
}

static int image_ext(const char *name) {
    const char *d = strrchr(name, '.');
    return d && (!strcasecmp(d, ".jpg") || !strcasecmp(d, ".jpeg") || !strcasecmp(d, ".png"));
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static void add_image(qlist *q, query_encoder *e, int64_t rb, const char *path) {
    uint8_t *buf;
    size_t len;
    char err[4400];
    if (read_file(path, &buf, &len, err, sizeof err) != 0) die("%s", err);
    uint8_t *code = qlist_add(q, rb, xstrdup(path));
    if (qenc_image(e, buf, len, code, err, sizeof err)) die("%s: %s", path, err);
    free(buf);
}

/* --images: files and folders (their JPEG/PNG files, sorted by name). */
static void add_images(qlist *q, query_encoder *e, int64_t rb, const char *list) {
    char *all = xstrdup(list), *save = NULL;
    for (char *p = strtok_r(all, ",", &save); p; p = strtok_r(NULL, ",", &save)) {
        struct stat st;
        if (stat(p, &st) != 0) die("%s: %s", p, strerror(errno));
        if (!S_ISDIR(st.st_mode)) {
            add_image(q, e, rb, p);
            continue;
        }
        DIR *d = opendir(p);
        if (!d) die("%s: cannot open folder: %s", p, strerror(errno));
        char **names = NULL;
        int64_t nn = 0;
        for (struct dirent *de; (de = readdir(d));) {
            if (de->d_name[0] == '.' || !image_ext(de->d_name)) continue;
            names = xrealloc(names, sizeof(char *) * (size_t)(nn + 1));
            names[nn++] = path_join(p, de->d_name);
        }
        closedir(d);
        if (!nn) die("%s: no .jpg, .jpeg or .png files in the folder", p);
        qsort(names, (size_t)nn, sizeof(char *), cmp_str);
        for (int64_t i = 0; i < nn; i++) {
            add_image(q, e, rb, names[i]);
            free(names[i]);
        }
        free(names);
    }
    free(all);
}

int main(int argc, char **argv) {
    dsah_init("dsah-search");
    search_args a;
    opt_parse(&search_cmd, &a, argc, argv);
    dsah_set_threads(a.threads);
    const int nsrc = !!a.codes + !!a.images + (a.items.n > 0);
    if (nsrc != 1) die_hint("dsah-search --help", "give exactly one of --codes, --images and --items");
    const int method = hsearch_method_parse(a.method);
    const int radius = opt_given("radius") ? (int)a.radius : -1;
    double t0 = now_sec();
    hindex ix;
    hindex_load(&ix, a.index, omp_get_max_threads());
    const int64_t rb = ix.row_bytes;
    if (radius > ix.bits) die("--radius %d: the index has codes of %d bits", radius, ix.bits);

    npy_array D = {0};
    query_encoder enc;
    int have_enc = 0;
    if (a.data) npy_open(&D, a.data, NPY_U1, 4);
    if (a.images || (a.model && a.items.n)) {
        if (!a.model || !a.data) die_hint("dsah-search --help", "--images and items outside the index need --model and --data");
        qenc_open(&enc, a.model, D.data, D.shape[0], (int)D.shape[1], (int)D.shape[2], (int)D.shape[3], a.data);
        if (enc.bits != ix.bits)
            die("%s: the model makes codes of %d bits, the index %s holds %d", a.model, enc.bits, a.index, ix.bits);
        have_enc = 1;
    }

    qlist q = {0};
    char name[64];
    if (a.codes) {
        npy_array C;
        npy_open(&C, a.codes, NPY_U1, 2);
        if (C.shape[1] != rb)
            die("%s: codes of %lld bytes, the index %s holds codes of %lld bytes (%d bits)", a.codes,
                (long long)C.shape[1], a.index, (long long)rb, ix.bits);
        for (int64_t i = 0; i < C.shape[0]; i++) {
            snprintf(name, sizeof name, "code %lld", (long long)i);
            memcpy(qlist_add(&q, rb, xstrdup(name)), (const uint8_t *)C.data + i * rb, (size_t)rb);
        }
        npy_close(&C);
        char err[256];
        if (hsearch_check_queries(&ix, q.codes, q.n, err, sizeof err)) die("%s: %s", a.codes, err);
    } else if (a.images) {
        add_images(&q, &enc, rb, a.images);
    } else {
        int64_t *pairs = hindex_id_pairs(&ix);
        for (int i = 0; i < a.items.n; i++) {
            const int64_t item = a.items.v[i], p = hindex_pairs_find(pairs, ix.n, item);
            snprintf(name, sizeof name, "item %lld", (long long)item);
            uint8_t *code = qlist_add(&q, rb, xstrdup(name));
            if (p >= 0) {
                memcpy(code, ix.codes + p * rb, (size_t)rb);
            } else if (have_enc) {
                if (item >= D.shape[0])
                    die("--items %lld: no such item (%s has %lld images)", (long long)item, a.data, (long long)D.shape[0]);
                qenc_item(&enc, item, code);
            } else {
                die_hint("give --model and --data to encode items outside the index",
                         "--items %lld: not in the index %s", (long long)item, a.index);
            }
        }
        free(pairs);
    }

    hsearch_params p = {.k = a.k, .radius = radius, .method = method};
    double t1 = now_sec();
    hsearch_result r;
    hsearch(&r, &ix, q.codes, q.n, &p);
    double t2 = now_sec();
    const int64_t tot = r.lims[q.n];
    int64_t *ids = xmalloc(sizeof(int64_t) * (size_t)tot + 1);
    for (int64_t i = 0; i < tot; i++) ids[i] = hindex_id(&ix, r.pos[i]);
    char *pi = path_join(a.out, "ids.npy"), *pd = path_join(a.out, "dist.npy"), *pl = path_join(a.out, "lims.npy"),
         *pt = path_join(a.out, "results.tsv"), *pj = path_join(a.out, "results.json");
    mkdir_p(a.out);
    int64_t shape[1] = {tot};
    af_batch_begin();   /* all five outputs or none */
    npy_save(pi, NPY_I8, 1, shape, ids);
    npy_save(pd, NPY_I4, 1, shape, r.dist);
    shape[0] = q.n + 1;
    npy_save(pl, NPY_I8, 1, shape, r.lims);
    atomic_file *af = af_open(pt);
    fprintf(af->fp, "query\trank\tid\tdistance\n");
    for (int64_t qi = 0; qi < q.n; qi++)
        for (int64_t i = r.lims[qi]; i < r.lims[qi + 1]; i++)
            fprintf(af->fp, "%s\t%lld\t%lld\t%d\n", q.name[qi], (long long)(i - r.lims[qi] + 1), (long long)ids[i],
                    r.dist[i]);
    af_commit(af);
    af = af_open(pj);
    jw w;
    jw_begin(&w, af->fp);
    jw_str(&w, "index", a.index);
    jw_int(&w, "bits", ix.bits);
    jw_int(&w, "n", ix.n);
    if (radius >= 0) jw_int(&w, "radius", radius);
    else jw_int(&w, "k", a.k);
    jw_str(&w, "method", a.method);
    jw_num(&w, "seconds_search", t2 - t1);
    jw_arr(&w, "queries");
    for (int64_t qi = 0; qi < q.n; qi++) {
        jw_obj(&w, NULL);
        jw_str(&w, "query", q.name[qi]);
        jw_str(&w, "method", hsearch_method_name(r.used[qi]));
        jw_arr(&w, "results");
        for (int64_t i = r.lims[qi]; i < r.lims[qi + 1]; i++) {
            jw_obj(&w, NULL);
            jw_int(&w, "id", ids[i]);
            jw_int(&w, "distance", r.dist[i]);
            jw_end(&w);
        }
        jw_end(&w);
        jw_end(&w);
    }
    jw_end(&w);
    jw_finish(&w);
    af_commit(af);
    af_batch_commit();
    int64_t nmih = 0;
    for (int64_t qi = 0; qi < q.n; qi++) nmih += r.used[qi] == HSEARCH_MIH;
    info("%lld queries, %lld results (%lld by MIH, %lld by the scan) in %.3f s (total %.2f s) -> %s", (long long)q.n,
         (long long)tot, (long long)nmih, (long long)(q.n - nmih), t2 - t1, now_sec() - t0, a.out);
    free(pi), free(pd), free(pl), free(pt), free(pj), free(ids);
    for (int64_t i = 0; i < q.n; i++) free(q.name[i]);
    free(q.name), free(q.codes);
    hsearch_result_free(&r);
    if (have_enc) qenc_close(&enc);
    if (a.data) npy_close(&D);
    hindex_free(&ix);
    return 0;
}
