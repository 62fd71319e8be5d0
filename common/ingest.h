/* ingest.h: dataset sources for dsah-ingest, and the query/train/db split.
 *
 * A loader streams the images into images_path (u1 [N,H,W,C], through
 * npy_writer, so memory stays bounded) and returns the labels multi-hot in
 * memory (u1 [N,L]) with the class names. Image order is the source's own
 * (DESIGN.md): Fashion-MNIST/MNIST train then t10k; CIFAR-10 data_batch_1..5
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

/* Splits. Output index arrays are sorted ascending and xmalloc'ed.
 * by_class: single-label data; per class (in class order) its images are
 * shuffled, the first q_per_class go to query, the rest to db, and the first
 * t_per_class of that shuffled db order to train.
 * random: all images shuffled; the first q to query, the rest to db, and the
 * first t of the shuffled db order to train.
 * Both draw from one rng stream seeded with seed: rng_seed(&r, seed), the
 * class shuffles in class order (each class's indices ascending before its
 * shuffle), by rng_shuffle_i64. Infeasible sizes (a class smaller than
 * q_per_class + t_per_class, an image with other than one label, q + t > n)
 * die naming the flag. */
typedef struct split {
    int64_t *query, *train, *db;
    int64_t nq, nt, ndb;
} split;
void split_by_class(split *s, const uint8_t *labels, int64_t n, int nclass,
                    int64_t q_per_class, int64_t t_per_class, uint64_t seed);
void split_random(split *s, int64_t n, int64_t q, int64_t t, uint64_t seed);
/* Validation split for tuning (never touches the query set): from a split s
 * (by_class or random, as above) draw validation queries from s's database
 * images that are not training images, and return in v
 *   v.query = those validation queries,
 *   v.train = s.train (identical, so W0 and the training are the same),
 *   v.db    = s.db minus v.query;
 * s.query appears nowhere in v. by_class: per class (in class order) the
 * class's db∖train images, ascending, are shuffled and the first v_per_class
 * taken; random (labels == NULL): db∖train ascending, shuffled, the first
 * v_count taken. The rng is its own stream, rng_seed(&r, seed ^
 * rng_hash64(0x76616c)) ("val"), so the main split does not change. Too few
 * images for the request die naming the flag. */
void split_validation(split *v, const split *s, const uint8_t *labels, int nclass, int64_t v_per_class,
                      int64_t v_count, uint64_t seed);
void split_free(split *s);

#endif
