/* features.h: image features for the graph and the baselines (features.c).
 *
 * (Included as "nn/features.h": the group folder keeps it from shadowing
 * glibc's <features.h>, which only -I paths could do, and -Icommon holds no
 * features.h.)
 *
 * features_write() is the one entry point of dsah-features: it takes the
 * images (u1 [N,H,W,C], mmapped), the indices of the images to describe
 * (i8 [n], each in [0,N)), and streams f4 [n,d] to out_path in blocks of
 * `batch` rows, dispatching on the extractor:
 *   FEAT_PIXELS: d = H*W*C, row k = images[idx[k]] / 255 flattened in H,W,C
 *                order (the npy layout of the images, so a plain scaled copy).
 *   FEAT_VGG19:  d = 4096, relu7 of VGG-19 in eval mode (no dropout): the
 *                ReLU after fc7 (classifier.3) of torchvision's vgg19, on
 *                torchvision's ImageNet preprocessing (preprocess.h
 *                pre_imagenet: /255, bilinear resize to input x input, grey
 *                replicated to 3 channels, ImageNet mean/std). The network is
 *                net.h's "vgg19" preset (no adaptive pool: fc6 takes
 *                512*(input/32)^2 values, so ImageNet weights need input
 *                224..255); weights are torchvision- or timm-named safetensors
 *                (net_load_params / st_find_vgg). batch <= 0: 32 images.
 * Every block is checked finite before it is written. */
#ifndef DSAH_FEATS_H
#define DSAH_FEATS_H

#include <stdint.h>

#include "format/npy.h"

typedef enum { FEAT_PIXELS = 0, FEAT_VGG19 } feat_extractor;

#define FEAT_VGG19_DIM 4096
#define FEAT_VGG19_MIN_INPUT 32   /* five 2x2 max-pools down to 1x1 */

struct net;

typedef struct features_opts {
    feat_extractor extractor;
    const char *weights;   /* vgg19: safetensors weights */
    int input;             /* vgg19: network input side (224) */
    int64_t batch;         /* rows per block written; <= 0: 1024 (pixels), 32 (vgg19) */
    const char *layer;     /* vgg19: the layer written (net_layer_label: pool5, relu6, ...);
                              NULL: relu7. A layer before relu7 is a frozen-prefix cache
                              (prefix.h), features/vgg19_<layer>_<split>.npy */
    const char *prefix_cache, *prefix_layer;  /* vgg19, optional: read layer prefix_layer's
                              rows (one per index) instead of running the layers up to it */
    const char *prefix_indices; /* optional: i8, the image of each prefix_cache row (prefix.h);
                              NULL: one row per index, in order */
    int f2;                /* vgg19 with layer: write the cache as f2, half precision
                              (prefix.h: half the bytes, the stated rounding); 0: f4 */
    const char *indices_path; /* the file idx came from, for messages (NULL: "--indices") */
    int cuda;              /* vgg19: 1 runs the network on the GPU device_select opened
                              (util/device.h; fp32), the input converted there too */
} features_opts;

/* "pixels" | "vgg19" -> extractor; dies naming --extractor otherwise. */
feat_extractor features_parse_extractor(const char *name);
const char *features_extractor_name(feat_extractor e);


/* Pixel features for n images: out[k, :] = images[idx[k], :] / 255.
 * out f4 [n, d], images u1 [N, d] (d = H*W*C), idx [n]. No allocation. */
void features_pixels(float *out, const uint8_t *images, const int64_t *idx, int64_t n, int64_t d);

/* Feature dimension d: H*W*C (pixels) or 4096 (vgg19). */
int64_t features_dim(const npy_array *images, const features_opts *o);

/* Build net.h's vgg19 for input side S and load its convolutions, fc6 and fc7
 * from a torchvision- or timm-named weights file. Dies (one line) when
 * weights is NULL, S < FEAT_VGG19_MIN_INPUT, the file is unreadable, or a
 * tensor is missing or has the wrong size (naming the tensor, the expected
 * and the found shape; for fc6 also the inputs the file fits). */
void features_vgg19_load(struct net *nt, const char *weights, int S);

/* Stream f4 [n, d] features of images->data[idx] to out_path (atomic), f2
 * for a cache with o->f2; returns d. */
int64_t features_write(const char *out_path, const npy_array *images, const int64_t *idx, int64_t n,
                    const features_opts *o);

#endif
