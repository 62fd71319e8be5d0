/* dsah-encode: hash codes of a split with a trained model (stages/README.md).
 * Thin main: flags, open inputs, then encode_write (common/nn/encode.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/stages.h"
#include "nn/encode.h"
#include "nn/net.h"
#include "format/npy.h"
#include "nn/trainer.h"
#include "util/device.h"
#include "util/util.h"

int main(int argc, char **argv) {
    dsah_init("dsah-encode");
    encode_args a;
    opt_parse(&encode_cmd, &a, argc, argv);
    const char *model = a.model, *images = a.images, *indices = a.indices, *out = a.out, *device = a.device;
    int real = a.real, batch = (int)a.batch, threads = (int)a.threads;
    const int cuda = device_select(device, a.precision, 1, "") >= 0;
    nn_set_threads(threads);

    net n;
    net_load(&n, model);
    npy_array im, ix;
    npy_open(&im, images, NPY_U1, 4);
    npy_open(&ix, indices, NPY_I8, 1);
    encode_opts eo = {.batch = batch, .real = real, .prefix_cache = a.prefix_cache, .prefix_layer = a.prefix_layer,
                      .prefix_indices = a.prefix_indices,
                      .cuda = cuda};
    encode_write(out, &n, &im, ix.data, ix.shape[0], indices, &eo);
    npy_close(&im);
    npy_close(&ix);
    net_free(&n);
    return 0;
}
