/* dsah-features: per-image feature vectors for one split (see common/nn/features.h). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/features.h"
#include "nn/net.h"
#include "format/npy.h"
#include "util/util.h"

static void usage(FILE *fp) {
    fprintf(fp,
            "usage: dsah-features --images data/images.npy --indices data/train.npy --extractor pixels|vgg19\n"
            "                     [--weights W] [--input 224] [--batch B] [--device auto] [--threads N] [-q]\n"
            "                     --out features/pixels_train.npy\n"
            "  --images F      u1 [N,H,W,C] images (required)\n"
            "  --indices F     i8 [n] image indices, each in [0,N) (required)\n"
            "  --extractor E   pixels: x/255 flattened in H,W,C order, d = H*W*C (required);\n"
            "                  vgg19: relu7 of VGG-19 (ReLU after fc7, eval mode: no dropout), d = 4096,\n"
            "                  on torchvision's ImageNet preprocessing (/255, bilinear resize to S x S,\n"
            "                  grey replicated to 3 channels, ImageNet mean/std)\n"
            "  --weights W     vgg19: VGG-19 weights, safetensors with torchvision names (features.N.*,\n"
            "                  classifier.0/3.*) or timm names (pre_logits.fc1/fc2.*); required by vgg19,\n"
            "                  unused by pixels. fc6 fixes the input: ImageNet weights need S in 224..255\n"
            "  --input S       vgg19 input side, >= 32 (default 224); unused by pixels\n"
            "  --batch B       images per block computed and written (default 1024 pixels, 32 vgg19)\n"
            "  --device D      auto|cpu|cuda[:N] (default auto; this build runs on the CPU)\n"
            "  --threads N     threads (OpenMP; OpenBLAS single-threaded per call) (default: all cores)\n"
            "  -q, --quiet     no progress lines\n"
            "  --out F         f4 [n,d] output (required)\n");
}

int main(int argc, char **argv) {
    dsah_init("dsah-features");
    const char *images = NULL, *indices = NULL, *ext = NULL, *out = NULL, *device = "auto";
    features_opts o = {.extractor = FEAT_PIXELS, .weights = NULL, .input = 224, .batch = 0};
    int threads = 0;
    static struct option lo[] = {{"images", 1, 0, 'i'},  {"indices", 1, 0, 'x'}, {"extractor", 1, 0, 'e'},
                                 {"weights", 1, 0, 'w'}, {"input", 1, 0, 'n'},   {"batch", 1, 0, 'b'},
                                 {"device", 1, 0, 'd'},  {"threads", 1, 0, 't'}, {"quiet", 0, 0, 'q'},
                                 {"out", 1, 0, 'o'},     {"help", 0, 0, 'h'},    {0, 0, 0, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "qh", lo, NULL)) != -1) {
        switch (c) {
        case 'i': images = optarg; break;
        case 'x': indices = optarg; break;
        case 'e': ext = optarg; break;
        case 'w': o.weights = optarg; break;
        case 'n': o.input = (int)parse_ll("--input", optarg, 1, 4096); break;
        case 'b': o.batch = parse_ll("--batch", optarg, 1, 1 << 24); break;
        case 'd': device = optarg; break;
        case 't': threads = (int)parse_ll("--threads", optarg, 1, 4096); break;
        case 'q': dsah_quiet = 1; break;
        case 'o': out = optarg; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); die("bad command line (see --help)");
        }
    }
    if (optind < argc) die("unexpected argument '%s'", argv[optind]);
    if (!images) die("--images is required");
    if (!indices) die("--indices is required");
    if (!ext) die("--extractor is required (pixels or vgg19)");
    if (!out) die("--out is required");
    o.extractor = features_parse_extractor(ext);
    check_device(device);

    nn_set_threads(threads);
    if (o.extractor == FEAT_VGG19 && !o.weights)
        die_hint("torchvision's or timm's vgg19 ImageNet weights as safetensors (make fetch-vgg19)",
                 "--extractor vgg19 needs --weights");

    double t0 = now_sec();
    npy_array im, ix;
    npy_open(&im, images, NPY_U1, 4);
    npy_open(&ix, indices, NPY_I8, 1);
    const int64_t *idx = ix.data;
    features_check_indices(idx, ix.shape[0], im.shape[0], indices);
    features_write(out, &im, idx, ix.shape[0], &o);
    double dt = now_sec() - t0;
    info("%s: %lld x %lld %s features in %.2fs (%.1f img/s)", out, (long long)ix.shape[0],
         (long long)features_dim(&im, &o), features_extractor_name(o.extractor), dt,
         (double)ix.shape[0] / (dt > 0 ? dt : 1e-9));
    npy_close(&ix);
    npy_close(&im);
    return 0;
}
