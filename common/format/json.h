/* json.h: a small JSON writer for reports (one object per file).
 *
 *   jw w; jw_begin(&w, fp);            // {
 *   jw_int(&w, "n", 10);               //   "n": 10,
 *   jw_arr(&w, "topk"); jw_int(&w, NULL, 5); jw_end(&w);
 *   jw_obj(&w, "timings"); ... jw_end(&w);
 *   jw_finish(&w);                      // }\n
 * Keys are NULL inside arrays. Doubles are printed with %.9g (non-finite
 * values become null, as JSON has no NaN). */
#ifndef DSAH_JSON_H
#define DSAH_JSON_H

#include <stdint.h>
#include <stdio.h>

typedef struct jw {
    FILE *fp;
    int depth;
    int first[32];
    int is_arr[32];
} jw;

void jw_begin(jw *w, FILE *fp);
void jw_obj(jw *w, const char *key);
void jw_arr(jw *w, const char *key);
void jw_end(jw *w);
void jw_int(jw *w, const char *key, int64_t v);
void jw_num(jw *w, const char *key, double v);
void jw_str(jw *w, const char *key, const char *v);
void jw_bool(jw *w, const char *key, int v);
void jw_finish(jw *w);

#endif
