/* ingest.h: dataset sources for dsah-ingest (the query/train/db split is in
 * split.h).
 *
 * A loader streams the images into images_path (u1 [N,H,W,C], through
 * npy_writer, so memory stays bounded) and returns the labels multi-hot in
 * memory (u1 [N,L]) with the class names. Image order is the source's own
 * (docs/DESIGN.md §Artifacts): Fashion-MNIST/MNIST train then t10k; CIFAR-10 data_batch_1..5
 * then test_batch; FLICKR25K by image number; folders in sorted path order. */
#ifndef DSAH_INGEST_H
#define DSAH_INGEST_H

#include <stdint.h>

typedef struct ingest_opts {
    const char *path;          /* directory or archive of the source */
    const char *annotations;   /* FLICKR25K annotations zip (or dir) */
    const char *label_list;    /* folder source: "relative/path label label ..." */
    int size;                  /* resize to size×size at ingest (0: keep) */
    int strict;                /* fail on the first corrupt image instead of skipping */
    int threads;
} ingest_opts;

typedef struct ingest_result {
    int64_t n;
    int h, w, c;
    int nclass;
    uint8_t *labels;           /* [n, nclass] multi-hot, xmalloc'ed */
    char **class_names;        /* nclass strings, xmalloc'ed */
    int64_t skipped;           /* images dropped (corrupt, or no label) */
    int64_t unlabeled;         /* of which: dropped for having no label */
} ingest_result;

/* IDX files (train-images-idx3-ubyte[.gz] etc.) in dir; gzipped or not. */
void ingest_idx(ingest_result *r, const ingest_opts *o, const char *images_path, int fashion);
/* cifar-10-binary.tar.gz (or a directory holding it), read in place. */
void ingest_cifar10(ingest_result *r, const ingest_opts *o, const char *images_path);


#endif
