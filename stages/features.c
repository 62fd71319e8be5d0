/* dsah-features: per-image feature vectors for one split (see common/nn/features.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/stages.h"
#include "nn/features.h"
#include "nn/net.h"
#include "format/npy.h"
#include "util/check.h"
#include "util/device.h"
#include "util/util.h"

int main(int argc, char **argv) {
    dsah_init("dsah-features");
    features_args a;
    opt_parse(&features_cmd, &a, argc, argv);
    const char *images = a.images, *indices = a.indices, *out = a.out, *device = a.device;
    features_opts o = {.extractor = features_parse_extractor(a.extractor), .weights = a.weights,
                       .input = (int)a.input, .batch = a.batch, .layer = a.layer,
                       .prefix_cache = a.prefix_cache, .prefix_layer = a.prefix_layer,
                       .prefix_indices = a.prefix_indices, .indices_path = indices, .f2 = !strcmp(a.dtype, "f2")};
    int threads = (int)a.threads;
    o.cuda = device_select(device, NULL, o.extractor == FEAT_VGG19, "--extractor pixels") >= 0;

    nn_set_threads(threads);
    if (o.extractor == FEAT_VGG19 && !o.weights)
        die_hint("torchvision's or timm's vgg19 ImageNet weights as safetensors (make fetch-vgg19)",
                 "--extractor vgg19 needs --weights");

    double t0 = now_sec();
    npy_array im, ix;
    npy_open(&im, images, NPY_U1, 4);
    npy_open(&ix, indices, NPY_I8, 1);
    const int64_t *idx = ix.data;
    index_range_or_die(indices, idx, ix.shape[0], im.shape[0], images);
    const int64_t d = features_write(out, &im, idx, ix.shape[0], &o);
    double dt = now_sec() - t0;
    info("%s: %lld x %lld %s features in %.2fs (%.1f img/s)", out, (long long)ix.shape[0], (long long)d,
         features_extractor_name(o.extractor), dt,
         (double)ix.shape[0] / (dt > 0 ? dt : 1e-9));
    npy_close(&ix);
    npy_close(&im);
    return 0;
}
