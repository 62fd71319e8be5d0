/* features.c: see features.h. */
#include "nn/features.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn/net.h"
#include "nn/prefix.h"
#include "data/preprocess.h"
#include "format/safetensors.h"
#include "util/util.h"

#if DSAH_CUDA
#include "gpu.h"
#include "net_cuda.h"
#endif

feat_extractor features_parse_extractor(const char *name) {
    if (strcmp(name, "pixels") == 0) return FEAT_PIXELS;
    if (strcmp(name, "vgg19") == 0) return FEAT_VGG19;
    die("--extractor '%s': unknown extractor (pixels or vgg19)", name);
}

const char *features_extractor_name(feat_extractor e) { return e == FEAT_PIXELS ? "pixels" : "vgg19"; }

void features_pixels(float *out, const uint8_t *images, const int64_t *idx, int64_t n, int64_t d) {
    /* a true division (not * (1/255)): bit-identical to numpy's
     * images.astype(np.float32) / np.float32(255) */
#pragma omp parallel for schedule(static)
    for (int64_t k = 0; k < n; k++) {
        const uint8_t *src = images + idx[k] * d;
        float *dst = out + k * d;
        for (int64_t j = 0; j < d; j++) dst[j] = (float)src[j] / 255.0f;
    }
}

/* Block of rows [k0, k0+m) must be finite: a NaN here would poison the graph
 * and every metric downstream. */
static void check_finite(const float *x, int64_t m, int64_t d, int64_t k0, const char *out_path) {
    for (int64_t i = 0; i < m * d; i++)
        if (!isfinite(x[i]))
            die("%s: feature %lld of row %lld is not finite", out_path, (long long)(i % d), (long long)(k0 + i / d));
}

int64_t features_dim(const npy_array *images, const features_opts *o) {
    if (o->extractor == FEAT_VGG19) return FEAT_VGG19_DIM;
    return images->shape[1] * images->shape[2] * images->shape[3];
}

/* "[a,b,...]" of a tensor's shape, for messages. */
static void shape_text(char *buf, size_t len, const st_tensor *t) {
    size_t k = 0;
    k += (size_t)snprintf(buf + k, len - k, "[");
    for (int i = 0; i < t->ndim && k < len; i++)
        k += (size_t)snprintf(buf + k, len - k, i ? ",%lld" : "%lld", (long long)t->shape[i]);
    if (k < len) snprintf(buf + k, len - k, "]");
}

void features_vgg19_load(net *nt, const char *weights, int S) {
    if (!weights) die_hint("torchvision's or timm's vgg19 ImageNet weights as safetensors (make fetch-vgg19)",
                           "--extractor vgg19 needs --weights");
    if (S < FEAT_VGG19_MIN_INPUT)
        die("--input %d: too small for VGG-19, which needs at least %d (five 2x2 max-pools)", S, FEAT_VGG19_MIN_INPUT);
    char err[256];
    /* the hash head (hash.fc8, hash.fc) is built but never run or loaded */
    if (net_build(nt, "vgg19", 3, S, 8, err, sizeof err)) die("--input %d: %s", S, err);
    st_file f;
    st_open(&f, weights);
    /* fc6 depends on the input side (no adaptive pool, net.h): say which
     * inputs the file's fc6 fits instead of only an element count */
    const st_tensor *fc6 = st_find_vgg(&f, "classifier.0.weight");
    const int64_t g = S / 32, need = (int64_t)FEAT_VGG19_DIM * 512 * g * g;
    if (fc6 && fc6->count != need) {
        char sh[160];
        shape_text(sh, sizeof sh, fc6);
        int64_t in = fc6->count / FEAT_VGG19_DIM, gg = 0;
        while ((gg + 1) * (gg + 1) * 512 <= in) gg++;
        if (fc6->count % FEAT_VGG19_DIM == 0 && gg * gg * 512 == in && gg > 0)
            die_hint("--input must give the map size the weights were trained on (224 for ImageNet weights)",
                     "%s: tensor '%s' (fc6) has shape %s, made for a 512x%lldx%lld map (--input %lld..%lld); --input %d "
                     "gives a 512x%lldx%lld map and needs [4096,%lld]",
                     weights, fc6->name, sh, (long long)gg, (long long)gg, (long long)(32 * gg),
                     (long long)(32 * gg + 31), S, (long long)g, (long long)g, (long long)(512 * g * g));
        die("%s: tensor '%s' (fc6): expected shape [4096,%lld] for --input %d, found %s", weights, fc6->name,
            (long long)(512 * g * g), S, sh);
    }
    const char *pre[3] = {"features.", "classifier.0.", "classifier.3."};
    net_load_params(nt, &f, pre, 3);
    st_close(&f);
}

/* vgg19: rows of layer o->layer (relu7 by default), batch by batch:
 * preprocess (pre_imagenet) and forward from the image, or gather the cached
 * prefix rows and forward from the layer after it; eval mode; write. */
static int64_t write_vgg19(const char *out_path, const npy_array *images, const int64_t *idx, int64_t n,
                           const features_opts *o) {
    const int H = (int)images->shape[1], W = (int)images->shape[2], C = (int)images->shape[3], S = o->input;
    if (C != 1 && C != 3) die("%s: images have %d channels; vgg19 takes 1 (grey, replicated) or 3", images->path, C);
    net nt;
    features_vgg19_load(&nt, o->weights, S);
    const int relu7 = net_layer_index(&nt, "classifier.3.weight") + 1;
    CHECK(relu7 > 0 && nt.L[relu7].type == NL_RELU && nt.L[relu7].out_n == FEAT_VGG19_DIM);
    int last = relu7;
    if (o->f2 && !o->layer) die("--dtype f2: only for a frozen-prefix cache (--layer); the relu7 features are f4");
    if (o->layer) {
        last = net_layer_by_label(&nt, o->layer);
        if (last < 0 || last > relu7)
            die("--layer '%s': not a VGG-19 layer up to relu7 (e.g. pool5, relu6, relu7)", o->layer);
    }
    const int64_t d = nt.L[last].out_n;
    int64_t b = o->batch > 0 ? o->batch : 32;
    if (b > n) b = n;
    if (b < 1) b = 1;
    const int B = (int)b;
#if !DSAH_CUDA
    if (o->cuda) die("--device cuda: this build has no CUDA support");
#endif
    if (!o->cuda) net_alloc(&nt, B, 0);
    prefix_cache pc = {0};
    int first = 0;
    if (o->prefix_indices && !o->prefix_cache) die("--prefix-indices goes with --prefix-cache (the cache it lists)");
    if (o->prefix_cache) {
        if (!o->prefix_layer) die("--prefix-cache needs --prefix-layer (the cached layer, e.g. pool5)");
        prefix_cache_open(&pc, o->prefix_cache, o->prefix_layer, &nt, o->prefix_indices, idx, n,
                          o->indices_path ? o->indices_path : "--indices");
        if (pc.layer >= last) die("--prefix-layer %s: not before the layer written", o->prefix_layer);
        first = pc.layer + 1;
    }
    /* the weights are loaded and checked before the output is begun */
    int64_t shape[2] = {n, d};
    npy_writer w;
    npy_writer_begin(&w, out_path, o->f2 ? NPY_F2 : NPY_F4, 2, shape);
    float *x = xaligned(sizeof(float) * (size_t)B * (size_t)(first ? pc.d : 3 * S * S));
    uint16_t *half = o->f2 ? xmalloc(sizeof(uint16_t) * (size_t)B * (size_t)d) : NULL;
    float *scr = first ? NULL : xaligned(sizeof(float) * (size_t)pre_imagenet_scratch(B, H, W, C, S));
    int64_t *pos = xmalloc(sizeof(int64_t) * (size_t)B);
    /* on the GPU: the u8 images (or prefix rows) go up, the rows of layer
     * `last` come back */
#if DSAH_CUDA
    net_cuda gn;
    float *fh = NULL;
    if (o->cuda) {
        net_cuda_alloc(&gn, &nt, B, 0, first);
        fh = xaligned(sizeof(float) * (size_t)B * (size_t)d);
    }
#endif
    progress p;
    progress_begin(&p, "vgg19", n);
    for (int64_t k0 = 0; k0 < n; k0 += B) {
        int m = n - k0 < B ? (int)(n - k0) : B;
        if (first) {
            for (int i = 0; i < m; i++) pos[i] = k0 + i;
            prefix_cache_gather(x, &pc, pos, m);
        }
        const float *f;
#if DSAH_CUDA
        if (o->cuda) {
            if (first) gpu_upload(gn.x, x, sizeof(float) * (size_t)m * (size_t)pc.d);
            else net_cuda_input(&gn, images->data, idx + k0, m, H, W, C, S, 1);
            gpu_download(fh, net_cuda_forward_range(&gn, gn.x, first, last, m), sizeof(float) * (size_t)m * (size_t)d);
            f = fh;
        } else
#endif
        {
            if (!first) pre_imagenet(x, scr, images->data, idx + k0, m, H, W, C, S);
            f = net_forward_range(&nt, x, first, last, m);
        }
        prefix_rows_write(&w, half, f, m, d, k0, out_path);
        progress_update(&p, k0 + m);
    }
    progress_end(&p);
    npy_writer_commit(&w);
#if DSAH_CUDA
    if (o->cuda) {
        net_cuda_free(&gn);
        free(fh);
    }
#endif
    if (first) prefix_cache_close(&pc);
    free(x);
    free(scr);
    free(half);
    free(pos);
    net_free(&nt);
    return d;
}

int64_t features_write(const char *out_path, const npy_array *images, const int64_t *idx, int64_t n,
                       const features_opts *o) {
    if (images->ndim != 4) die("%s: expected u1 [N,H,W,C], found %d dims", images->path, images->ndim);
    if (o->extractor == FEAT_VGG19) return write_vgg19(out_path, images, idx, n, o);
    if (o->layer || o->prefix_cache || o->prefix_indices || o->f2)
        die("--layer, --prefix-cache, --prefix-indices and --dtype f2: only with --extractor vgg19");
    int64_t d = features_dim(images, o);
    int64_t shape[2] = {n, d};
    npy_writer w;
    int64_t batch = o->batch > 0 ? o->batch : 1024;
    npy_writer_begin(&w, out_path, NPY_F4, 2, shape);
    float *buf = xaligned(sizeof(float) * (size_t)(batch * d));
    progress p;
    progress_begin(&p, features_extractor_name(o->extractor), n);
    for (int64_t k0 = 0; k0 < n; k0 += batch) {
        int64_t m = n - k0 < batch ? n - k0 : batch;
        features_pixels(buf, images->data, idx + k0, m, d);
        check_finite(buf, m, d, k0, out_path);
        npy_writer_write(&w, buf, sizeof(float) * (size_t)(m * d));
        progress_update(&p, k0 + m);
    }
    progress_end(&p);
    free(buf);
    npy_writer_commit(&w);
    return d;
}
