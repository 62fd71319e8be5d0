/* split.h: the query/train/db split and the validation split (split.c). */
#ifndef DSAH_SPLIT_H
#define DSAH_SPLIT_H

#include <stdint.h>

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
