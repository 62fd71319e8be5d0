/* net_io.c: networks to and from safetensors (see net.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/net.h"
#include "format/safetensors.h"
#include "util/util.h"

/* Torch shape of a layer's weight: conv [K,C,3,3], fc [out,in]. */
static int wshape(const nn_layer *l, int64_t *s) {
    if (l->type == NL_CONV) {
        s[0] = l->K; s[1] = l->C; s[2] = 3; s[3] = 3;
        return 4;
    }
    s[0] = l->K; s[1] = l->C;
    return 2;
}

void net_save(const net *n, const char *path) {
    st_writer *w = st_writer_begin(path);
    for (int i = 0; i < n->nl; i++) {
        const nn_layer *l = &n->L[i];
        if (l->woff < 0) continue;
        int64_t s[4], bs = l->bn;
        int nd = wshape(l, s);
        st_writer_add(w, l->wname, nd, s, n->params + l->woff);
        st_writer_add(w, l->bname, 1, &bs, n->params + l->boff);
    }
    char buf[32];
    st_writer_meta(w, "format", "dsah");
    st_writer_meta(w, "arch", n->arch);
    snprintf(buf, sizeof buf, "%d", n->input);
    st_writer_meta(w, "input", buf);
    snprintf(buf, sizeof buf, "%d", n->bits);
    st_writer_meta(w, "bits", buf);
    snprintf(buf, sizeof buf, "%d", n->channels);
    st_writer_meta(w, "channels", buf);
    st_writer_commit(w);
}

static int meta_int(const st_file *f, const char *key) {
    const char *v = st_meta(f, key);
    if (!v) die_hint("is it a model written by dsah-train?", "%s: __metadata__ has no '%s'", f->path, key);
    char *end;
    long x = strtol(v, &end, 10);
    if (*end || x < 1 || x > (1L << 20)) die("%s: __metadata__ '%s' = '%s' is not a positive integer", f->path, key, v);
    return (int)x;
}

void net_load(net *n, const char *path) {
    st_file f;
    st_open(&f, path);
    const char *arch = st_meta(&f, "arch");
    if (!arch) die_hint("is it a model written by dsah-train?", "%s: __metadata__ has no 'arch'", path);
    char err[256];
    if (net_build(n, arch, meta_int(&f, "channels"), meta_int(&f, "input"), meta_int(&f, "bits"), err, sizeof err))
        die("%s: %s", path, err);
    for (int i = 0; i < n->nl; i++) {
        const nn_layer *l = &n->L[i];
        if (l->woff < 0) continue;
        int64_t s[4];
        int nd = wshape(l, s);
        const char *names[2] = {l->wname, l->bname};
        for (int k = 0; k < 2; k++) {
            const st_tensor *t = st_find(&f, names[k]);
            if (!t) die("%s: tensor '%s' is missing (arch %s)", path, names[k], arch);
            int tn = k ? 1 : nd;
            const int64_t *ts = k ? &l->bn : s;
            int same = t->ndim == tn;
            for (int d = 0; same && d < tn; d++) same = t->shape[d] == ts[d];
            if (!same) {
                char e[96] = "", g[96] = "";
                size_t a = 0, b = 0;
                for (int d = 0; d < tn; d++) a += (size_t)snprintf(e + a, sizeof e - a, d ? ",%lld" : "%lld", (long long)ts[d]);
                for (int d = 0; d < t->ndim; d++) b += (size_t)snprintf(g + b, sizeof g - b, d ? ",%lld" : "%lld", (long long)t->shape[d]);
                die("%s: tensor '%s': expected shape [%s], found [%s]", path, names[k], e, g);
            }
            st_read_f32_as(n->params + (k ? l->boff : l->woff), &f, t, tn, ts);
        }
    }
    st_close(&f);
}

void net_load_params(net *n, const st_file *f, const char *const *prefixes, int nprefix) {
    for (int i = 0; i < n->nl; i++) {
        const nn_layer *l = &n->L[i];
        if (l->woff < 0) continue;
        int want = 0;
        for (int p = 0; p < nprefix; p++) want |= !strncmp(l->wname, prefixes[p], strlen(prefixes[p]));
        if (!want) continue;
        int64_t s[4];
        int nd = wshape(l, s);
        const char *names[2] = {l->wname, l->bname};
        for (int k = 0; k < 2; k++) {
            const st_tensor *t = st_find_vgg(f, names[k]);
            if (!t) die("%s: tensor '%s' (or its timm name) is missing", f->path, names[k]);
            st_read_f32_as(n->params + (k ? l->boff : l->woff), f, t, k ? 1 : nd, k ? &l->bn : s);
        }
    }
}
