/* cli/features.c: the contract of dsah-features (cli/stages.h). */
#include "cli/stages.h"

#define A features_args
static const opt features_opts[] = {
    {"images", OPT_IN, OPT_FIELD(A, images), .required = 1, .help = "u1 [N,H,W,C] images"},
    {"indices", OPT_IN, OPT_FIELD(A, indices), .required = 1, .help = "i8 [n] image indices, each in [0,N)"},
    {"extractor", OPT_ENUM, OPT_FIELD(A, extractor), .choices = "pixels|vgg19", .required = 1,
     .key = "features.extractor",
     .help = "pixels: x/255 flattened in H,W,C order, d = H*W*C;\n"
             "vgg19: relu7 of VGG-19 (ReLU after fc7, eval mode: no dropout), d = 4096,\n"
             "on torchvision's ImageNet preprocessing (/255, bilinear resize to S x S,\n"
             "grey replicated to 3 channels, ImageNet mean/std)"},
    {"weights", OPT_IN, OPT_FIELD(A, weights), .arg = "W", .key = "features.weights",
     .help = "vgg19: VGG-19 weights, safetensors with torchvision names (features.N.*,\n"
             "classifier.0/3.*) or timm names (pre_logits.fc1/fc2.*); required by vgg19,\n"
             "unused by pixels. fc6 fixes the input: ImageNet weights need S in 224..255"},
    {"input", OPT_INT, OPT_FIELD(A, input), .arg = "S", .range = "[1, 4096]", .def = "224", .key = "features.input",
     .help = "vgg19 input side, >= 32; unused by pixels"},
    {"layer", OPT_STR, OPT_FIELD(A, layer), .arg = "L",
     .help = "vgg19: write this layer instead of relu7 (pool5, relu6, ...: net.h's\n"
             "labels): the frozen-prefix cache of a training with finetune fc or head"},
    {"dtype", OPT_ENUM, OPT_FIELD(A, dtype), .choices = "f4|f2", .def = "f4",
     .help = "the cache's element type (with --layer): f4, or f2 (IEEE half: half\n"
             "the bytes; each value x stored as the nearest half h, |h - x| <= 2^-11 |x|\n"
             "for |x| >= 2^-14, <= 2^-25 below; |x| > 65504 stops the stage). Readers\n"
             "take either (the .npy header says which)"},
    OPT_PREFIX_CACHE(A, ""),
    {"batch", OPT_INT, OPT_FIELD(A, batch), .arg = "B", .range = "[1, 16777216]", .key = "features.batch",
     .nostamp = 1, .help = "images per block computed and written (default 1024 pixels, 32 vgg19)"},
    OPT_DEVICE(A, device),
    {"threads", OPT_INT, OPT_FIELD(A, threads), .arg = "N", .range = "[1, 4096]", .nostamp = 1,
     .help = "threads (OpenMP; OpenBLAS single-threaded per call) (default: all cores)"},
    {"out", OPT_OUT, OPT_FIELD(A, out), .required = 1, .help = "f4 [n,d] features (f2 with --dtype f2)"},
    {0}};

const opt_cmd features_cmd = {"features", "Per-image feature vectors of one split (common/nn/features.h).\n",
                              features_opts, NULL};
