/* encode.c: see encode.h. */
#include "nn/encode.h"

#include <stdlib.h>
#include <string.h>

#include "nn/input.h"
#include "nn/prefix.h"
#include "util/bits.h"
#include "util/check.h"
#include "util/util.h"

#if DSAH_CUDA
#include "gpu.h"
#include "net_cuda.h"
#endif

void encode_write(const char *out_path, net *n, const npy_array *images, const int64_t *idx, int64_t cnt,
                  const char *idx_path, const encode_opts *o) {
    if (images->ndim != 4) die("%s: expected u1 [N,H,W,C], found %d dims", images->path, images->ndim);
    const int64_t N = images->shape[0], H = images->shape[1], W = images->shape[2], C = images->shape[3];
    const int vgg = !strcmp(n->arch, "vgg19"), S = n->input;
    if (C != 1 && C != 3) die("%s: images have %lld channels, expected 1 or 3", images->path, (long long)C);
    if (net_input_channels((int)C, vgg) != n->channels)
        die("%s: images have %lld channels, the model expects %d", images->path, (long long)C, n->channels);
    index_range_or_die(idx_path, idx, cnt, N, images->path);
    if (o->prefix_cache && !o->prefix_layer) die("--prefix-cache needs --prefix-layer (the cached layer, e.g. pool5)");
    if (o->prefix_indices && !o->prefix_cache) die("--prefix-indices goes with --prefix-cache (the cache it lists)");
    /* 16 bounds the convolutions' activations at large inputs; from a cache
     * only the fc layers run, and fc6 at batch 16 re-reads its 411 MB of
     * weights every 16 rows: 100 there (net_alloc still reserves, untouched,
     * the conv layers' buffers for the batch, as dsah-features --batch 100) */
    const int batch = o->batch > 0 ? o->batch : o->cuda || n->input <= 64 ? 256 : o->prefix_cache ? 100 : 16;
    net_set_finetune(n, "all");
#if !DSAH_CUDA
    if (o->cuda) die("--device cuda: this build has no CUDA support");
#endif
    if (!o->cuda) net_alloc(n, batch, 0);
    prefix_cache pc = {0};
    float *x, *scr = NULL;
    if (o->prefix_cache) {
        prefix_cache_open(&pc, o->prefix_cache, o->prefix_layer, n, o->prefix_indices, idx, cnt, idx_path);
        x = xaligned(sizeof(float) * (size_t)batch * (size_t)pc.d);
    } else {
        x = xaligned(sizeof(float) * (size_t)batch * n->channels * S * S);
        scr = xaligned(sizeof(float) * (size_t)net_input_scratch(batch, (int)H, (int)W, (int)C, S, vgg));
    }
    const int L = n->bits;
    const int64_t rb = bits_row_bytes(L);
    int64_t shape[2] = {cnt, o->real ? L : rb};
    npy_writer w;
    npy_writer_begin(&w, out_path, o->real ? NPY_F4 : NPY_U1, 2, shape);
    uint8_t *packed = xmalloc((size_t)(batch * rb));
    int64_t *pos = xmalloc(sizeof(int64_t) * (size_t)batch);
    /* on the GPU: the batch's u8 images (or prefix rows) are uploaded, the
     * input conversion and the forward run there, z [b, L] comes back */
#if DSAH_CUDA
    net_cuda gn;
    float *zh = NULL;
    const int first = o->prefix_cache ? pc.layer + 1 : 0;
    if (o->cuda) {
        net_cuda_alloc(&gn, n, batch, 0, first);
        zh = xmalloc(sizeof(float) * (size_t)batch * (size_t)L);
    }
#endif
    progress pr;
    progress_begin(&pr, "encode", cnt);
    double t0 = now_sec();
    for (int64_t s = 0; s < cnt; s += batch) {
        const int b = cnt - s < batch ? (int)(cnt - s) : batch;
        const float *z;
        if (o->prefix_cache) {
            for (int i = 0; i < b; i++) pos[i] = s + i;
            prefix_cache_gather(x, &pc, pos, b);
        }
#if DSAH_CUDA
        if (o->cuda) {
            if (o->prefix_cache) gpu_upload(gn.x, x, sizeof(float) * (size_t)b * (size_t)n->L[first - 1].out_n);
            else net_cuda_input(&gn, images->data, idx + s, b, (int)H, (int)W, (int)C, S, vgg);
            gpu_download(zh, net_cuda_forward_from(&gn, gn.x, first, b, 0, 0, 0), sizeof(float) * (size_t)b * (size_t)L);
            z = zh;
        } else
#endif
        if (o->prefix_cache) {
            z = net_forward_from(n, x, pc.layer + 1, b, 0, 0, 0);
        } else {
            net_input(x, scr, images->data, idx + s, b, (int)H, (int)W, (int)C, S, vgg);
            z = net_forward(n, x, b, 0, 0, 0);
        }
        if (o->real) {
            npy_writer_write(&w, z, sizeof(float) * (size_t)b * L);
        } else {
            bits_pack_signs(packed, z, b, L);
            npy_writer_write(&w, packed, (size_t)(b * rb));
        }
        progress_update(&pr, s + b);
    }
    progress_end(&pr);
    npy_writer_commit(&w);
    double dt = now_sec() - t0;
    info("%lld images encoded in %.2f s (%.0f img/s) -> %s", (long long)cnt, dt, cnt / (dt > 0 ? dt : 1e-9), out_path);
#if DSAH_CUDA
    if (o->cuda) {
        net_cuda_free(&gn);
        free(zh);
    }
#endif
    if (o->prefix_cache) prefix_cache_close(&pc);
    free(x);
    free(scr);
    free(packed);
    free(pos);
}
