/* prefix.h: the frozen prefix of a network computed once per image
 * (prefix.c).
 *
 * When the first trainable layer is past frozen layers (finetune fc or head,
 * or a list network with frozen layers), their output is a pure function of
 * the image in eval mode, so it is computed once per image and stored as an
 * artifact f4 [n, d] (row k = the prefix output of image idx[k], d =
 * L[layer].out_n, the layer's C,H,W order): features/<extractor>_<layer>_<split>.npy.
 * Training, encoding and feature extraction then run only the layers after
 * it (net_forward_from). A row from the cache equals the forward of the same
 * image up to the batch composition of the GEMMs: identical when the cache
 * was written with the same batch of images, within float rounding
 * otherwise (the tests state the tolerance). */
#ifndef DSAH_PREFIX_H
#define DSAH_PREFIX_H

#include <stdint.h>

#include "format/npy.h"
#include "nn/net.h"

typedef struct prefix_cache {
    npy_array a;        /* f4 [rows, d], mmapped */
    int layer;          /* the cached layer: runs continue at layer + 1 */
    int64_t d;          /* L[layer].out_n */
} prefix_cache;

/* Open a cache of net n's layer `label` (net_layer_label) with one row per
 * index (rows). Dies naming the file or the flag when the label is not a
 * layer of n, the cached layer is the last one, the shape is not [rows, d]
 * or a value is not finite. */
void prefix_cache_open(prefix_cache *pc, const char *path, const char *label, const net *n, int64_t rows);
/* Training from a cache also needs the cached layer inside the pure frozen
 * prefix (at or before net_prefix_layer); dies naming path otherwise. */
void prefix_cache_check_trainable(const prefix_cache *pc, const net *n, const char *path);
void prefix_cache_close(prefix_cache *pc);
/* h [B, d] = rows pos[0..B) of the cache (positions in the index list). */
void prefix_cache_gather(float *h, const prefix_cache *pc, const int64_t *pos, int B);

/* Write f4 [cnt, L[layer].out_n]: layer `layer`'s eval-mode output of images
 * idx[0..cnt) of a u1 [N,H,W,C] array, preprocessed as for training
 * (input.h net_input), batch images per forward, streamed through
 * npy_writer to out_path (atomic); every block is checked finite. n must be
 * built (not allocated: this allocates it for batch). */
void prefix_write(const char *out_path, net *n, int layer, const npy_array *images, const int64_t *idx, int64_t cnt,
                  int batch);

#endif
