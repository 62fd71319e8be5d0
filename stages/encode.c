/* dsah-encode: hash codes of a split with a trained model (stages/README.md).
 * Thin main: flags, open inputs, forward in batches (common/nn/net.c), stream
 * the codes out through npy_writer. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/stages.h"
#include "util/bits.h"
#include "nn/net.h"
#include "format/npy.h"
#include "nn/trainer.h"
#include "util/util.h"

int main(int argc, char **argv) {
    dsah_init("dsah-encode");
    encode_args a;
    opt_parse(&encode_cmd, &a, argc, argv);
    const char *model = a.model, *images = a.images, *indices = a.indices, *out = a.out, *device = a.device;
    int real = a.real, batch = (int)a.batch, threads = (int)a.threads;
    check_device(device);
    nn_set_threads(threads);

    net n;
    net_load(&n, model);
    npy_array im, ix;
    npy_open(&im, images, NPY_U1, 4);
    npy_open(&ix, indices, NPY_I8, 1);
    const int64_t N = im.shape[0], H = im.shape[1], W = im.shape[2], C = im.shape[3], cnt = ix.shape[0];
    const int vgg = !strcmp(n.arch, "vgg19"), S = n.input;
    if (C != 1 && C != 3) die("%s: images have %lld channels, expected 1 or 3", images, (long long)C);
    if (net_input_channels((int)C, vgg) != n.channels)
        die("%s: images have %lld channels, the model %s expects %d", images, (long long)C, model, n.channels);
    const int64_t *idx = ix.data;
    for (int64_t i = 0; i < cnt; i++)
        if (idx[i] < 0 || idx[i] >= N) die("%s: index %lld at position %lld is outside [0, %lld)", indices, (long long)idx[i], (long long)i, (long long)N);
    if (!batch) batch = n.input > 64 ? 16 : 256;
    net_set_finetune(&n, "all");
    net_alloc(&n, batch, 0);
    const int L = n.bits;
    const int64_t rb = bits_row_bytes(L);
    int64_t shape[2] = {cnt, real ? L : rb};
    npy_writer w;
    npy_writer_begin(&w, out, real ? NPY_F4 : NPY_U1, 2, shape);
    float *x = xaligned(sizeof(float) * (size_t)batch * n.channels * S * S),
          *scr = xaligned(sizeof(float) * (size_t)net_input_scratch(batch, (int)H, (int)W, (int)C, S, vgg));
    uint8_t *packed = xmalloc((size_t)(batch * rb));
    progress pr;
    progress_begin(&pr, "encode", cnt);
    double t0 = now_sec();
    for (int64_t s = 0; s < cnt; s += batch) {
        const int b = cnt - s < batch ? (int)(cnt - s) : batch;
        net_input(x, scr, im.data, idx + s, b, (int)H, (int)W, (int)C, S, vgg);
        const float *z = net_forward(&n, x, b, 0, 0, 0);
        if (real) {
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
    info("%lld images encoded in %.2f s (%.0f img/s) -> %s", (long long)cnt, dt, cnt / (dt > 0 ? dt : 1e-9), out);
    free(x);
    free(scr);
    free(packed);
    npy_close(&im);
    npy_close(&ix);
    net_free(&n);
    return 0;
}
