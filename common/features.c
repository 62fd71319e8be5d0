/* features.c: see feats.h. */
#include "feats.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

feat_extractor features_parse_extractor(const char *name) {
    if (strcmp(name, "pixels") == 0) return FEAT_PIXELS;
    if (strcmp(name, "vgg19") == 0) return FEAT_VGG19;
    die("--extractor '%s': unknown extractor (pixels or vgg19)", name);
}

const char *features_extractor_name(feat_extractor e) { return e == FEAT_PIXELS ? "pixels" : "vgg19"; }

void features_check_indices(const int64_t *idx, int64_t n, int64_t n_images, const char *idx_path) {
    for (int64_t k = 0; k < n; k++)
        if (idx[k] < 0 || idx[k] >= n_images)
            die("%s: index %lld at position %lld is out of range (the images hold %lld)", idx_path,
                (long long)idx[k], (long long)k, (long long)n_images);
}

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

void features_write(const char *out_path, const npy_array *images, const int64_t *idx, int64_t n,
                    const features_opts *o) {
    if (images->ndim != 4) die("%s: expected u1 [N,H,W,C], found %d dims", images->path, images->ndim);
    int64_t d = images->shape[1] * images->shape[2] * images->shape[3];
    switch (o->extractor) {
    case FEAT_PIXELS: break;
    case FEAT_VGG19:
        die("--extractor vgg19: this build's features stage supports only the pixels extractor");
    }
    int64_t batch = o->batch > 0 ? o->batch : 1024;
    int64_t shape[2] = {n, d};
    npy_writer w;
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
}
