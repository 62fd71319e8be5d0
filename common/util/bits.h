/* bits.h: bit-packed codes and bit matrices.
 *
 * Layout (docs/DESIGN.md §Artifacts, the layout of FAISS's binary indexes): bit k of row i is
 * byte k/8 of the row, bit k%8 counted LSB-first. For hash codes bit 1 means
 * +1, i.e. sgn(0) = +1 (paper Eq. 1). A row of nbits occupies
 * bits_row_bytes(nbits) = ceil(nbits/8) bytes; unused high bits are 0. */
#ifndef DSAH_BITS_H
#define DSAH_BITS_H

#include <stdint.h>
#include <string.h>

static inline int64_t bits_row_bytes(int64_t nbits) { return (nbits + 7) / 8; }

static inline int bits_get(const uint8_t *row, int64_t k) { return (row[k >> 3] >> (k & 7)) & 1; }
static inline void bits_set(uint8_t *row, int64_t k) { row[k >> 3] |= (uint8_t)(1u << (k & 7)); }
static inline void bits_clear(uint8_t *row, int64_t k) { row[k >> 3] &= (uint8_t)~(1u << (k & 7)); }

/* Pack the signs of n real rows [n, nbits] into out [n, ceil(nbits/8)]:
 * bit = 1 when x >= 0 (sgn(0) = +1). */
static inline void bits_pack_signs(uint8_t *out, const float *x, int64_t n, int64_t nbits) {
    int64_t rb = bits_row_bytes(nbits);
    memset(out, 0, (size_t)(n * rb));
    for (int64_t i = 0; i < n; i++)
        for (int64_t k = 0; k < nbits; k++)
            if (x[i * nbits + k] >= 0.0f) out[i * rb + (k >> 3)] |= (uint8_t)(1u << (k & 7));
}

/* Hamming distance between two packed rows of nbytes. */
static inline int bits_hamming(const uint8_t *a, const uint8_t *b, int64_t nbytes) {
    int d = 0;
    int64_t k = 0;
    for (; k + 8 <= nbytes; k += 8) {
        uint64_t x, y;
        memcpy(&x, a + k, 8);
        memcpy(&y, b + k, 8);
        d += __builtin_popcountll(x ^ y);
    }
    for (; k < nbytes; k++) d += __builtin_popcount((unsigned)(a[k] ^ b[k]));
    return d;
}

#endif
