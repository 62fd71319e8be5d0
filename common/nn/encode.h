/* encode.h: hash codes of a split with a trained model (encode.c), the body
 * of dsah-encode.
 *
 * encode_write() streams, for images idx[0..cnt) of a u1 [N,H,W,C] array,
 * either the packed codes b = sgn(F(x)) (u1 [cnt, ceil(bits/8)], bit k of
 * byte k/8 LSB-first, 1 = +1, sgn(0) = +1) or, with real, the tanh outputs
 * (f4 [cnt, bits]) to out_path (atomic). Eval mode (dropout off), batch
 * images per forward. With a prefix cache (prefix.h: one row per index, or
 * any rows named by prefix_indices) the layers up to the cached one are not
 * run: the rows are read instead. */
#ifndef DSAH_ENCODE_H
#define DSAH_ENCODE_H

#include <stdint.h>

#include "format/npy.h"
#include "nn/net.h"

typedef struct encode_opts {
    int batch;                  /* <= 0: 256; CPU at inputs > 64: 16, 100 from a prefix cache */
    int real;                   /* f4 tanh outputs instead of packed codes */
    const char *prefix_cache;   /* optional: f4 [cnt, d] rows of layer prefix_layer */
    const char *prefix_layer;   /* required with prefix_cache (e.g. pool5) */
    const char *prefix_indices; /* optional: i8, the image of each prefix_cache row
                                   (prefix.h); NULL: one row per index, in order */
    int cuda;                   /* 1: the forward passes on the GPU device_select opened
                                   (util/device.h); 0: the CPU */
} encode_opts;

/* n: a loaded model (net_load), allocated here. images: u1 [N,H,W,C];
 * idx [cnt] checked in [0, N) (dies naming idx_path). */
void encode_write(const char *out_path, net *n, const npy_array *images, const int64_t *idx, int64_t cnt,
                  const char *idx_path, const encode_opts *o);

#endif
