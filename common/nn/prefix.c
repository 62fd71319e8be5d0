/* prefix.c: see prefix.h. */
#include "nn/prefix.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "format/half.h"
#include "nn/input.h"
#include "util/util.h"

/* An image of a cache's index list and its row there; sorted by image, then
 * row (so that of an image listed twice the lower row comes first). */
typedef struct image_row {
    int64_t image, row;
} image_row;

static int by_image(const void *a, const void *b) {
    const int64_t x = ((const image_row *)a)->image, y = ((const image_row *)b)->image;
    return (x > y) - (x < y);
}

static int by_image_row(const void *a, const void *b) {
    const int c = by_image(a, b);
    if (c) return c;
    const int64_t x = ((const image_row *)a)->row, y = ((const image_row *)b)->row;
    return (x > y) - (x < y);
}

/* row [cnt] (xmalloc'ed): the row of cache_indices (i8 [m], entry r the
 * image of cache row r) that holds image idx[k]; dies naming the files when
 * an image is listed twice or idx[k] is not listed. */
static int64_t *map_rows(const npy_array *ci, const int64_t *idx, int64_t cnt, const char *idx_path,
                         const char *cache_path) {
    const int64_t m = ci->shape[0];
    const int64_t *img = ci->data;
    image_row *s = xmalloc(xmul(sizeof *s, (size_t)m, ci->path));
    for (int64_t r = 0; r < m; r++) s[r] = (image_row){img[r], r};
    qsort(s, (size_t)m, sizeof *s, by_image_row);
    for (int64_t r = 1; r < m; r++)
        if (s[r].image == s[r - 1].image)
            die("%s: image %lld is listed twice (rows %lld and %lld): one cache row per image", ci->path,
                (long long)s[r].image, (long long)s[r - 1].row, (long long)s[r].row);
    int64_t *row = xmalloc(xmul(sizeof *row, (size_t)cnt, idx_path));
    for (int64_t k = 0; k < cnt; k++) {
        const image_row key = {idx[k], 0}, *hit = bsearch(&key, s, (size_t)m, sizeof *s, by_image);
        if (!hit)
            die("%s: image %lld (position %lld) is not in %s, the index list of the prefix cache %s", idx_path,
                (long long)idx[k], (long long)k, ci->path, cache_path);
        row[k] = hit->row;
    }
    free(s);
    return row;
}

void prefix_cache_open(prefix_cache *pc, const char *path, const char *label, const net *n,
                       const char *cache_indices, const int64_t *idx, int64_t cnt, const char *idx_path) {
    memset(pc, 0, sizeof *pc);
    int layer = net_layer_by_label(n, label);
    if (layer < 0) die("--prefix-layer '%s': not a layer of arch %s (e.g. pool5, relu6)", label, n->arch);
    if (layer >= n->nl - 1) die("--prefix-layer '%s': the last layer; nothing would run after it", label);
    npy_open_any(&pc->a, path, NPY_BIT(NPY_F4) | NPY_BIT(NPY_F2), 2);
    pc->layer = layer;
    pc->d = n->L[layer].out_n;
    char what[96];
    snprintf(what, sizeof what, "values per row (layer %s of arch %s at input %d)", label, n->arch, n->input);
    if (cache_indices) {
        npy_array ci;
        npy_open(&ci, cache_indices, NPY_I8, 1);
        npy_expect_dim(&pc->a, 0, ci.shape[0], "rows (one per --prefix-indices entry)");
        pc->row = map_rows(&ci, idx, cnt, idx_path, path);
        npy_close(&ci);
    } else {
        npy_expect_dim(&pc->a, 0, cnt, "rows (one per index)");
    }
    npy_expect_dim(&pc->a, 1, pc->d, what);
    npy_expect_finite(&pc->a);
}

void prefix_cache_check_trainable(const prefix_cache *pc, const net *n, const char *path) {
    const int top = net_prefix_layer(n);
    if (pc->layer > top) {
        char have[32], most[32];
        net_layer_label(n, pc->layer, have, sizeof have);
        if (top >= 0) net_layer_label(n, top, most, sizeof most);
        else snprintf(most, sizeof most, "none: nothing is frozen");
        die("%s: cached layer %s is past the frozen, dropout-free prefix of this training (deepest: %s)", path, have,
            most);
    }
}

void prefix_cache_close(prefix_cache *pc) {
    npy_close(&pc->a);
    free(pc->row);
    pc->row = NULL;
}

void prefix_cache_gather(float *h, const prefix_cache *pc, const int64_t *pos, int B) {
    const size_t d = (size_t)pc->d;
    for (int i = 0; i < B; i++) {
        const int64_t r = pc->row ? pc->row[pos[i]] : pos[i];
        if (pc->a.dtype == NPY_F2) half_to_floats(h + (size_t)i * d, (const uint16_t *)pc->a.data + (size_t)r * d, d);
        else memcpy(h + (size_t)i * d, (const float *)pc->a.data + (size_t)r * d, sizeof(float) * d);
    }
}

void prefix_rows_to_f2(void *h, const float *f, int64_t m, int64_t d, int64_t row0, const char *out_path) {
    for (int64_t i = 0; i < m * d; i++)
        if (!(fabsf(f[i]) <= HALF_MAX)) /* NaN fails too */
            die("%s: row %lld, column %lld: %.9g %s", out_path, (long long)(row0 + i / d), (long long)(i % d),
                (double)f[i],
                isfinite(f[i]) ? "is beyond f2's largest value, 65504: write this cache as f4 (features.cache_dtype: f4)"
                               : "is not finite");
    half_from_floats(h, f, (size_t)(m * d));
}

void prefix_rows_write(npy_writer *w, uint16_t *half, const float *f, int64_t m, int64_t d, int64_t row0,
                       const char *out_path) {
    if (half) {
        prefix_rows_to_f2(half, f, m, d, row0, out_path);
        npy_writer_write(w, half, sizeof(uint16_t) * (size_t)(m * d));
        return;
    }
    for (int64_t i = 0; i < m * d; i++)
        if (!isfinite(f[i]))
            die("%s: value %lld of row %lld is not finite", out_path, (long long)(i % d), (long long)(row0 + i / d));
    npy_writer_write(w, f, sizeof(float) * (size_t)(m * d));
}

void prefix_write(const char *out_path, net *n, int layer, const npy_array *images, const int64_t *idx, int64_t cnt,
                  int batch, npy_dtype dtype) {
    CHECK(layer >= 0 && layer < n->nl);
    CHECK(dtype == NPY_F4 || dtype == NPY_F2);
    if (images->ndim != 4) die("%s: expected u1 [N,H,W,C], found %d dims", images->path, images->ndim);
    const int H = (int)images->shape[1], W = (int)images->shape[2], C = (int)images->shape[3], S = n->input;
    const int vgg = !strcmp(n->arch, "vgg19");
    if ((C != 1 && C != 3) || net_input_channels(C, vgg) != n->channels)
        die("%s: images have %d channels, the network takes %d", images->path, C, n->channels);
    int64_t b = batch > 0 ? batch : 32;
    if (b > cnt) b = cnt;
    if (b < 1) b = 1;
    const int B = (int)b;
    const int64_t d = n->L[layer].out_n;
    net_alloc(n, B, 0);
    int64_t shape[2] = {cnt, d};
    npy_writer w;
    npy_writer_begin(&w, out_path, dtype, 2, shape);
    float *x = xaligned(sizeof(float) * (size_t)B * n->channels * S * S),
          *scr = xaligned(sizeof(float) * (size_t)net_input_scratch(B, H, W, C, S, vgg));
    uint16_t *half = dtype == NPY_F2 ? xmalloc(sizeof(uint16_t) * (size_t)B * (size_t)d) : NULL;
    char label[32];
    net_layer_label(n, layer, label, sizeof label);
    progress p;
    progress_begin(&p, label, cnt);
    for (int64_t k0 = 0; k0 < cnt; k0 += B) {
        const int m = cnt - k0 < B ? (int)(cnt - k0) : B;
        net_input(x, scr, images->data, idx + k0, m, H, W, C, S, vgg);
        const float *f = net_forward_to(n, x, m, layer);
        prefix_rows_write(&w, half, f, m, d, k0, out_path);
        progress_update(&p, k0 + m);
    }
    progress_end(&p);
    npy_writer_commit(&w);
    free(x);
    free(scr);
    free(half);
}
