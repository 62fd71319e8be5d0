/* input.h: the network's input pipeline: rows of the u8 image array to the
 * float tensor the first layer reads (used by training, encoding, the
 * frozen-prefix cache and the search queries). */
#ifndef DSAH_INPUT_H
#define DSAH_INPUT_H

#include <stdint.h>

/* The network input for images idx[0..B) of a u1 [N,H,W,C] array, with the
 * preprocess.h functions: list archs get x [B,C,S,S] = pixel / 255 (bilinear
 * resize to S x S when H, W != S); vgg19 gets torchvision's ImageNet pipeline
 * (pre_imagenet: [0,1], resize, grey replicated to 3 channels, ImageNet
 * mean/std), x [B,3,S,S]. scratch: net_input_scratch(B,H,W,C,S,vgg) floats. */
int net_input_channels(int C, int vgg);
int64_t net_input_scratch(int B, int H, int W, int C, int S, int vgg);
void net_input(float *x, float *scratch, const uint8_t *images, const int64_t *idx, int B, int H, int W, int C, int S,
               int vgg);

#endif
