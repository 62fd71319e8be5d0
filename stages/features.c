/* dsah-features: per-image feature vectors for one split (see features.h). */
#include <getopt.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "feats.h"
#include "npy.h"
#include "util.h"

static void usage(FILE *fp) {
    fprintf(fp,
            "usage: dsah-features --images data/images.npy --indices data/train.npy --extractor pixels|vgg19\n"
            "                     [--weights W] [--input 224] [--batch 1024] [--device auto] [--threads N] [-q]\n"
            "                     --out features/pixels_train.npy\n"
            "  --images F      u1 [N,H,W,C] images (required)\n"
            "  --indices F     i8 [n] image indices, each in [0,N) (required)\n"
            "  --extractor E   pixels: x/255 flattened in H,W,C order, d = H*W*C (required);\n"
            "                  vgg19: this build supports only pixels\n"
            "  --weights W     vgg19 weights (safetensors); unused by pixels\n"
            "  --input S       vgg19 input side (default 224); unused by pixels\n"
            "  --batch B       rows computed and written per block (default 1024)\n"
            "  --device D      auto|cpu|cuda[:N] (default auto; this build runs on the CPU)\n"
            "  --threads N     OpenMP threads (default: all cores)\n"
            "  -q, --quiet     no progress lines\n"
            "  --out F         f4 [n,d] output (required)\n");
}

int main(int argc, char **argv) {
    dsah_init("dsah-features");
    const char *images = NULL, *indices = NULL, *ext = NULL, *out = NULL, *device = "auto";
    features_opts o = {.extractor = FEAT_PIXELS, .weights = NULL, .input = 224, .batch = 1024};
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
        case 't': omp_set_num_threads((int)parse_ll("--threads", optarg, 1, 4096)); break;
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
    if (strcmp(device, "auto") && strcmp(device, "cpu")) {
        if (strncmp(device, "cuda", 4) == 0 && (device[4] == '\0' || device[4] == ':'))
            die("--device %s: this build of dsah-features has no CUDA support (use auto or cpu)", device);
        die("--device '%s': expected auto, cpu or cuda[:N]", device);
    }

    double t0 = now_sec();
    npy_array im, ix;
    npy_open(&im, images, NPY_U1, 4);
    npy_open(&ix, indices, NPY_I8, 1);
    const int64_t *idx = ix.data;
    features_check_indices(idx, ix.shape[0], im.shape[0], indices);
    features_write(out, &im, idx, ix.shape[0], &o);
    info("%s: %lld x %lld %s features in %.2fs", out, (long long)ix.shape[0],
         (long long)(im.shape[1] * im.shape[2] * im.shape[3]), features_extractor_name(o.extractor), now_sec() - t0);
    npy_close(&ix);
    npy_close(&im);
    return 0;
}
