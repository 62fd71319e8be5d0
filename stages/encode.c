/* dsah-encode: hash codes of a split with a trained model (stages/README.md).
 * Thin main: flags, open inputs, forward in batches (common/nn/net.c), stream
 * the codes out through npy_writer. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/bits.h"
#include "nn/net.h"
#include "format/npy.h"
#include "nn/trainer.h"
#include "util/util.h"

static void usage(void) {
    printf(
        "usage: dsah-encode --model M --images data/images.npy --indices data/query.npy --out codes/query.npy\n"
        "Codes of the images at the given indices: b = sgn(F(x)) packed (u1 [n, ceil(bits/8)],\n"
        "bit k of byte k/8 LSB-first, 1 = +1, sgn(0) = +1), or with --real the tanh\n"
        "outputs z = tanh(F(x)) (f4 [n, bits], the input of dsah-and). Dropout is off.\n"
        "The architecture, input size, bits and channels come from the model's metadata.\n"
        "  --model M       model.safetensors written by dsah-train\n"
        "  --images F      u1 [N,H,W,C] images\n"
        "  --indices F     i8 [n] indices into the images\n"
        "  --real          write f4 tanh outputs instead of packed codes\n"
        "  --batch B       images per forward pass (default 256, 16 for inputs > 64)\n"
        "  --threads N     OpenMP threads (default: all cores)\n"
        "  --device D      auto | cpu (default auto)\n"
        "  --out F         output .npy\n"
        "  -q, --quiet     no info or progress lines\n");
}

int main(int argc, char **argv) {
    dsah_init("dsah-encode");
    const char *model = NULL, *images = NULL, *indices = NULL, *out = NULL, *device = "auto";
    int real = 0, batch = 0, threads = 0;
    enum { O_MODEL = 256, O_IMAGES, O_INDICES, O_REAL, O_BATCH, O_THREADS, O_DEVICE, O_OUT, O_HELP };
    static const struct option opts[] = {
        {"model", 1, 0, O_MODEL}, {"images", 1, 0, O_IMAGES}, {"indices", 1, 0, O_INDICES}, {"real", 0, 0, O_REAL},
        {"batch", 1, 0, O_BATCH}, {"threads", 1, 0, O_THREADS}, {"device", 1, 0, O_DEVICE}, {"out", 1, 0, O_OUT},
        {"quiet", 0, 0, 'q'}, {"help", 0, 0, O_HELP}, {0, 0, 0, 0}};
    int o;
    while ((o = getopt_long(argc, argv, "q", opts, NULL)) != -1) {
        switch (o) {
        case O_MODEL: model = optarg; break;
        case O_IMAGES: images = optarg; break;
        case O_INDICES: indices = optarg; break;
        case O_REAL: real = 1; break;
        case O_BATCH: batch = (int)parse_ll("--batch", optarg, 1, 1 << 20); break;
        case O_THREADS: threads = (int)parse_ll("--threads", optarg, 1, 4096); break;
        case O_DEVICE: device = optarg; break;
        case O_OUT: out = optarg; break;
        case 'q': dsah_quiet = 1; break;
        case O_HELP: usage(); return 0;
        default: die_hint("dsah-encode --help lists the flags", "bad command line");
        }
    }
    if (optind < argc) die("unexpected argument '%s'", argv[optind]);
    if (!model || !images || !indices || !out)
        die_hint("dsah-encode --help", "--model, --images, --indices and --out are required");
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
