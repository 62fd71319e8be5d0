/* prefix.h: the frozen prefix of a network computed once per image
 * (prefix.c).
 *
 * When the first trainable layer is past frozen layers (finetune fc or head,
 * or a list network with frozen layers), their output is a pure function of
 * the image in eval mode, so it is computed once per image and stored as an
 * artifact [n, d] (row k = the prefix output of image idx[k], d =
 * L[layer].out_n, the layer's C,H,W order): features/<extractor>_<layer>_<split>.npy,
 * f4, or f2 when asked (features.cache_dtype: f2, dsah-features --dtype f2):
 * IEEE half precision, half the bytes (VGG-19's pool5 at 224: 50 KB a row
 * instead of 100 KB), each value x stored as its nearest half h
 * (format/half.h), |h - x| <= 2^-11 |x| for |x| >= 2^-14 and <= 2^-25 below;
 * a value beyond 65504 in magnitude (f2's largest) stops the writer. Readers
 * take either: the dtype comes from the file's header, and the gather turns
 * f2 rows into floats.
 * Training, encoding and feature extraction then run only the layers after
 * it (net_forward_from). A row from the cache equals the forward of the same
 * image up to the batch composition of the GEMMs: identical when the cache
 * was written with the same batch of images, within float rounding
 * otherwise (the tests state the tolerance).
 *
 * A stage reads either a cache of its own index list (row k belongs to its
 * k-th index) or, given the cache's index list (--prefix-indices), a cache of
 * any set of images that holds its own: the plan writes the caches of the
 * query and db splits only, and the training split (a subset of db in every
 * split of data/split.h) reads db's cache through a map from its positions
 * to db's rows, so no image goes through the frozen layers twice. */
#ifndef DSAH_PREFIX_H
#define DSAH_PREFIX_H

#include <stdint.h>

#include "format/npy.h"
#include "nn/net.h"

typedef struct prefix_cache {
    npy_array a;        /* f4 or f2 [rows, d], mmapped */
    int layer;          /* the cached layer: runs continue at layer + 1 */
    int64_t d;          /* L[layer].out_n */
    int64_t *row;       /* [cnt]: the cache row of position k of the stage's
                           index list (with cache_indices); NULL: row k */
} prefix_cache;

/* Open a cache of net n's layer `label` (net_layer_label) for the positions
 * of a stage's index list idx [cnt] (read from idx_path; in [0, N) already).
 * cache_indices NULL: the cache has one row per position, in order
 * ([cnt, d]). Else cache_indices is an i8 [rows] file, entry r the image of
 * cache row r, in any order, each image at most once: the cache is
 * [rows, d] and position k reads the row whose entry is idx[k], mapped once
 * here (the (image, row) pairs sorted, each idx[k] found by binary search).
 * Dies in one line naming the file or the flag when the label is not a
 * layer of n, the cached layer is the last one, the shape is not as above,
 * a value is not finite, the dtype is not f4 or f2, cache_indices lists an
 * image twice, or an image of
 * idx is not in cache_indices (naming both files and the image). */
void prefix_cache_open(prefix_cache *pc, const char *path, const char *label, const net *n,
                       const char *cache_indices, const int64_t *idx, int64_t cnt, const char *idx_path);
/* Training from a cache also needs the cached layer inside the pure frozen
 * prefix (at or before net_prefix_layer); dies naming path otherwise. */
void prefix_cache_check_trainable(const prefix_cache *pc, const net *n, const char *path);
void prefix_cache_close(prefix_cache *pc);
/* h [B, d] = the cache rows of positions pos[0..B) of the stage's index
 * list (through the map when there is one), as floats (an f2 cache's rows
 * converted, exactly). No allocation. */
void prefix_cache_gather(float *h, const prefix_cache *pc, const int64_t *pos, int B);

/* Write dtype (NPY_F4 or NPY_F2) [cnt, L[layer].out_n]: layer `layer`'s
 * eval-mode output of images idx[0..cnt) of a u1 [N,H,W,C] array,
 * preprocessed as for training (input.h net_input), batch images per
 * forward, streamed through npy_writer to out_path (atomic); every block is
 * checked finite (and, for f2, within HALF_MAX: prefix_rows_to_f2). n must
 * be built (not allocated: this allocates it for batch). */
void prefix_write(const char *out_path, net *n, int layer, const npy_array *images, const int64_t *idx, int64_t cnt,
                  int batch, npy_dtype dtype);

/* h [m * d] (2-byte halves) = rows row0..row0+m of a cache f [m, d] rounded
 * to f2 (format/half.h). Dies in one line naming out_path, the row, the
 * column and the value when a value is not finite or exceeds f2's largest,
 * 65504, in magnitude (suggesting f4); the writer's atomic output is then
 * left out. */
void prefix_rows_to_f2(void *h, const float *f, int64_t m, int64_t d, int64_t row0, const char *out_path);
/* Rows row0..row0+m of f [m, d] to w: as f2 through half [m * d] (a
 * scratch buffer; prefix_rows_to_f2's checks), or, half NULL, as f4, each
 * value checked finite (dies naming out_path, the row and the value). The
 * one row writer of prefix_write and dsah-features' vgg19 features. */
void prefix_rows_write(npy_writer *w, uint16_t *half, const float *f, int64_t m, int64_t d, int64_t row0,
                       const char *out_path);

#endif
