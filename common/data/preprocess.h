/* preprocess.h: forward-only input preprocessing for the networks and
 * dsah-features, matching torchvision's ImageNet pipeline
 *     ToTensor (u8 HWC -> float CHW / 255)
 *     -> resize to S x S (torch.nn.functional.interpolate, bilinear,
 *        align_corners=False, antialias=False)
 *     -> Normalize(mean, std) per channel.
 *
 * Grayscale images (C = 1) fed to a 3-channel network (VGG-19) are
 * replicated to 3 identical channels after resizing and before normalising,
 * i.e. what torchvision's Grayscale(num_output_channels=3) / PIL
 * convert("RGB") then ToTensor, Resize, Normalize would give; each channel
 * then gets its own mean and std.
 *
 * Free functions over caller-owned buffers, no allocation inside; the output
 * never aliases the input unless a function says so. Deterministic and
 * independent of the thread count (each output element is computed by one
 * fixed expression). */
#ifndef DSAH_PREPROCESS_H
#define DSAH_PREPROCESS_H

#include <math.h>
#include <stdint.h>

#include "util/rng.h" /* DSAH_HD */

/* torch's area_pixel_compute_source_index + guard_index_and_lambda for one
 * output coordinate of the bilinear resize: neighbours i0, i1 and the
 * weight lambda of i1. Defined once for the CPU (pre_resize_bilinear) and
 * the device (kernels/input.cu). */
static inline DSAH_HD void pre_src_index(float scale, int dst, int in, int *i0, int *i1, float *lambda) {
    float s = scale * ((float)dst + 0.5f) - 0.5f;
    if (s < 0.0f) s = 0.0f;
    int k = (int)floorf(s);
    if (k > in - 1) k = in - 1;
    float l = s - (float)k;
    if (l < 0.0f) l = 0.0f;
    if (l > 1.0f) l = 1.0f;
    *i0 = k;
    *i1 = k + (k < in - 1 ? 1 : 0);
    *lambda = l;
}

/* torchvision's ImageNet statistics (RGB). */
extern const float pre_imagenet_mean[3];
extern const float pre_imagenet_std[3];

/* (a) Gather images and convert u8 HWC to float NCHW in [0, 1]:
 *     out[i][ch][y][x] = images[idx[i]][y][x][ch] / 255.0f
 * images: u8 [N, h, w, c]; idx: [n] indices into images, or NULL for 0..n-1;
 * out: f32 [n, c, h, w]. The division (not a multiply by 1/255) makes it
 * bit-identical to torchvision's ToTensor. */
void pre_u8hwc_to_nchw(float *out, const uint8_t *images, const int64_t *idx, int64_t n, int h, int w, int c);

/* (b) Bilinear resize of each of np planes, in: f32 [np, ih, iw] ->
 * out: f32 [np, oh, ow] (np = batch × channels), the same as
 * torch.nn.functional.interpolate(x, size=(oh, ow), mode='bilinear',
 * align_corners=False, antialias=False): scale = in/out (float), source
 * coordinate src = scale·(dst + 0.5) − 0.5 clamped below at 0, neighbours
 * i0 = min(floor(src), in−1), i1 = min(i0+1, in−1), weights (1−λ, λ) with
 * λ = src − i0 clamped to [0,1]; separable (rows then columns). Computed in
 * float as torch's CPU kernel does. */
void pre_resize_bilinear(float *out, const float *in, int64_t np, int ih, int iw, int oh, int ow);

/* Grayscale to 3 channels: in f32 [n, 1, hw] -> out f32 [n, 3, hw], each
 * channel a copy of the input. */
void pre_gray_to_rgb(float *out, const float *in, int64_t n, int64_t hw);

/* (c) Per-channel normalisation, in place allowed (out == x):
 *     out[i][ch][p] = (x[i][ch][p] − mean[ch]) / std[ch]
 * x, out: f32 [n, c, hw]; mean, std: [c]. Subtract then divide in float,
 * as torchvision's Normalize (sub_ then div_) does, so bit-identical. */
void pre_normalize(float *out, const float *x, int64_t n, int c, int64_t hw, const float *mean, const float *std);

/* The whole ImageNet pipeline for a batch: gather + u8 HWC -> [0,1] NCHW,
 * resize to S×S (skipped when h == w == S), replicate grayscale to 3
 * channels, normalise with the ImageNet mean/std.
 * images: u8 [N, h, w, c] with c = 1 or 3; idx: [n] or NULL;
 * out: f32 [n, 3, S, S]; scratch: at least pre_imagenet_scratch(n, h, w, c, S)
 * = n·c·h·w (+ n·S·S for grayscale) floats, caller-owned. */
int64_t pre_imagenet_scratch(int64_t n, int h, int w, int c, int S);
void pre_imagenet(float *out, float *scratch, const uint8_t *images, const int64_t *idx, int64_t n, int h, int w, int c,
                  int S);

#endif
