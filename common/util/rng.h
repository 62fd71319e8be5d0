/* rng.h: the project's one random number generator.
 *
 * Algorithm: xoshiro256** (Blackman & Vigna 2018) with its 256-bit state
 * seeded from a 64-bit seed through splitmix64, as its authors recommend.
 *   - rng_u64: the raw 64-bit output.
 *   - rng_uniform: (x >> 11) * 2^-53, a double in [0, 1).
 *   - rng_below(n): an unbiased integer in [0, n) by rejection (Lemire's
 *     multiply-shift with a threshold).
 *   - rng_normal: Marsaglia's polar method (the spare value is cached).
 *   - rng_shuffle: Fisher-Yates from the last element down, j = rng_below(i+1).
 *   - rng_sample: k distinct of 0..n-1 (a partial Fisher-Yates from the
 *     front, j = i + rng_below(n - i)), returned ascending.
 * Streams are derived with rng_seed(&r, seed ^ rng_hash64(purpose)) so that
 * independent uses (split, dropout, shuffling) do not share numbers.
 *
 * rng_hash64(x) is splitmix64's finaliser: a stateless counter-based hash
 * (usable from host and device) for per-element randomness such as dropout
 * masks: element i of step t draws rng_hash64(seed ^ rng_hash64(t) + i). */
#ifndef DSAH_RNG_H
#define DSAH_RNG_H

#include <stdint.h>

#ifdef __CUDACC__
#define DSAH_HD __host__ __device__
#else
#define DSAH_HD
#endif

typedef struct rng {
    uint64_t s[4];
    int has_spare;
    double spare;
} rng;

static inline DSAH_HD uint64_t rng_hash64(uint64_t x) {
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

/* Uniform float in [0,1) from a 64-bit hash: top 24 bits. */
static inline DSAH_HD float rng_hash_uniform(uint64_t h) {
    return (float)(h >> 40) * (1.0f / 16777216.0f);
}

void rng_seed(rng *r, uint64_t seed);
uint64_t rng_u64(rng *r);
double rng_uniform(rng *r);
uint64_t rng_below(rng *r, uint64_t n);
double rng_normal(rng *r);
void rng_shuffle_i64(rng *r, int64_t *a, int64_t n);
void rng_shuffle_i32(rng *r, int32_t *a, int64_t n);
/* out [k]: k distinct values of 0..n-1 drawn by r, ascending (k <= n;
 * k == n: all of them). Allocates n int64 of scratch. */
void rng_sample_i64(rng *r, int64_t *out, int64_t n, int64_t k);

#endif
