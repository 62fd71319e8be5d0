/* prefix.c: see prefix.h. */
#include "nn/prefix.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn/input.h"
#include "util/util.h"

void prefix_cache_open(prefix_cache *pc, const char *path, const char *label, const net *n, int64_t rows) {
    memset(pc, 0, sizeof *pc);
    int layer = net_layer_by_label(n, label);
    if (layer < 0) die("--prefix-layer '%s': not a layer of arch %s (e.g. pool5, relu6)", label, n->arch);
    if (layer >= n->nl - 1) die("--prefix-layer '%s': the last layer; nothing would run after it", label);
    npy_open(&pc->a, path, NPY_F4, 2);
    pc->layer = layer;
    pc->d = n->L[layer].out_n;
    char what[96];
    snprintf(what, sizeof what, "values per row (layer %s of arch %s at input %d)", label, n->arch, n->input);
    npy_expect_dim(&pc->a, 0, rows, "rows (one per index)");
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

void prefix_cache_close(prefix_cache *pc) { npy_close(&pc->a); }

void prefix_cache_gather(float *h, const prefix_cache *pc, const int64_t *pos, int B) {
    const float *src = pc->a.data;
    for (int i = 0; i < B; i++) memcpy(h + (int64_t)i * pc->d, src + pos[i] * pc->d, sizeof(float) * (size_t)pc->d);
}

void prefix_write(const char *out_path, net *n, int layer, const npy_array *images, const int64_t *idx, int64_t cnt,
                  int batch) {
    CHECK(layer >= 0 && layer < n->nl);
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
    npy_writer_begin(&w, out_path, NPY_F4, 2, shape);
    float *x = xaligned(sizeof(float) * (size_t)B * n->channels * S * S),
          *scr = xaligned(sizeof(float) * (size_t)net_input_scratch(B, H, W, C, S, vgg));
    char label[32];
    net_layer_label(n, layer, label, sizeof label);
    progress p;
    progress_begin(&p, label, cnt);
    for (int64_t k0 = 0; k0 < cnt; k0 += B) {
        const int m = cnt - k0 < B ? (int)(cnt - k0) : B;
        net_input(x, scr, images->data, idx + k0, m, H, W, C, S, vgg);
        const float *f = net_forward_to(n, x, m, layer);
        for (int64_t i = 0; i < (int64_t)m * d; i++)
            if (!isfinite(f[i]))
                die("%s: value %lld of row %lld is not finite", out_path, (long long)(i % d), (long long)(k0 + i / d));
        npy_writer_write(&w, f, sizeof(float) * (size_t)m * (size_t)d);
        progress_update(&p, k0 + m);
    }
    progress_end(&p);
    npy_writer_commit(&w);
    free(x);
    free(scr);
}
