/* input.c: see input.h. */
#include "nn/input.h"

#include "data/preprocess.h"

int net_input_channels(int C, int vgg) { return vgg ? 3 : C; }

int64_t net_input_scratch(int B, int H, int W, int C, int S, int vgg) {
    if (vgg) return pre_imagenet_scratch(B, H, W, C, S);
    return (H == S && W == S) ? 1 : (int64_t)B * C * H * W;
}

void net_input(float *x, float *scratch, const uint8_t *images, const int64_t *idx, int B, int H, int W, int C, int S,
               int vgg) {
    if (vgg) {
        pre_imagenet(x, scratch, images, idx, B, H, W, C, S);
    } else if (H == S && W == S) {
        pre_u8hwc_to_nchw(x, images, idx, B, H, W, C);
    } else {
        pre_u8hwc_to_nchw(scratch, images, idx, B, H, W, C);
        pre_resize_bilinear(x, scratch, (int64_t)B * C, H, W, S, S);
    }
}
