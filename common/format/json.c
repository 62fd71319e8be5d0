/* json.c: see json.h. */
#include "format/json.h"

#include <math.h>

#include "util/util.h"

static void indent(jw *w) {
    for (int i = 0; i < w->depth; i++) fputs("  ", w->fp);
}

static void put_str(FILE *fp, const char *s) {
    fputc('"', fp);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') fprintf(fp, "\\%c", c);
        else if (c == '\n') fputs("\\n", fp);
        else if (c == '\t') fputs("\\t", fp);
        else if (c < 0x20) fprintf(fp, "\\u%04x", c);
        else fputc(c, fp);
    }
    fputc('"', fp);
}

static void item(jw *w, const char *key) {
    CHECK(w->depth > 0);
    if (!w->first[w->depth]) fputc(',', w->fp);
    w->first[w->depth] = 0;
    if (w->is_arr[w->depth]) { fputc(' ', w->fp); return; }
    fputc('\n', w->fp);
    indent(w);
    CHECK(key != NULL);
    put_str(w->fp, key);
    fputs(": ", w->fp);
}

static void open_(jw *w, const char *key, int arr) {
    if (w->depth > 0) item(w, key);
    fputc(arr ? '[' : '{', w->fp);
    w->depth++;
    CHECK(w->depth < 32);
    w->first[w->depth] = 1;
    w->is_arr[w->depth] = arr;
}

void jw_begin(jw *w, FILE *fp) {
    w->fp = fp;
    w->depth = 0;
    open_(w, NULL, 0);
}
void jw_obj(jw *w, const char *key) { open_(w, key, 0); }
void jw_arr(jw *w, const char *key) { open_(w, key, 1); }
void jw_end(jw *w) {
    int arr = w->is_arr[w->depth];
    int empty = w->first[w->depth];
    w->depth--;
    if (arr) fputs(empty ? "]" : " ]", w->fp);
    else {
        if (!empty) { fputc('\n', w->fp); indent(w); }
        fputc('}', w->fp);
    }
}
void jw_int(jw *w, const char *key, int64_t v) { item(w, key); fprintf(w->fp, "%lld", (long long)v); }
void jw_num(jw *w, const char *key, double v) {
    item(w, key);
    if (isfinite(v)) fprintf(w->fp, "%.9g", v);
    else fputs("null", w->fp);
}
void jw_str(jw *w, const char *key, const char *v) { item(w, key); put_str(w->fp, v); }
void jw_bool(jw *w, const char *key, int v) { item(w, key); fputs(v ? "true" : "false", w->fp); }
void jw_finish(jw *w) {
    jw_end(w);
    fputc('\n', w->fp);
}
