/* half.c: see half.h. */
#include "format/half.h"

#include <string.h>

uint16_t half_bits_from_float(float x) {
    uint32_t u;
    memcpy(&u, &x, 4);
    const uint16_t sign = (uint16_t)((u >> 16) & 0x8000u);
    const uint32_t a = u & 0x7fffffffu;
    if (a > 0x7f800000u) return (uint16_t)(sign | 0x7e00u | ((a >> 13) & 0x3ffu)); /* NaN: quiet, payload's top bits */
    if (a >= 0x477ff000u) return (uint16_t)(sign | 0x7c00u); /* >= 65520 (and inf): rounds to inf */
    if (a >= 0x38800000u) {
        /* >= 2^-14: a normal half. Rebias the exponent 127 -> 15 (112 << 23)
         * and round the 23-bit significand to 10 bits, ties to even; a carry
         * into the exponent is the correct next binade. */
        uint32_t r = a - 0x38000000u;
        r += 0xfffu + ((r >> 13) & 1u);
        return (uint16_t)(sign | (r >> 13));
    }
    if (a < 0x33000000u) return sign; /* < 2^-25 (2^-25 itself is a tie, to even: 0) */
    /* a subnormal half q 2^-24: x = m 2^(e-150) with the implicit bit in m,
     * so q = m 2^(e-126), rounded to nearest even; q = 1024 is 2^-14 */
    const uint32_t e = a >> 23, m = (a & 0x7fffffu) | 0x800000u, shift = 126 - e; /* 14..24 */
    const uint32_t half_unit = 1u << (shift - 1), rem = m & ((1u << shift) - 1);
    uint32_t q = m >> shift;
    if (rem > half_unit || (rem == half_unit && (q & 1u))) q++;
    return (uint16_t)(sign | q);
}

/* Normals rebias the exponent 15 -> 127, subnormals (exponent 0) are
 * m 2^-24, exponent 31 is inf/NaN (payload kept). */
float half_bits_to_float(uint16_t h) {
    uint32_t s = (uint32_t)(h >> 15) << 31, e = (h >> 10) & 31, m = h & 1023, u;
    if (e == 31) u = s | 0x7F800000u | (m << 13);
    else if (e) u = s | ((e + 112) << 23) | (m << 13);
    else if (!m) u = s;
    else {
        /* normalise: shift until the implicit bit (bit 10) is set */
        int sh = 0;
        while (!(m & 1024)) {
            m <<= 1;
            sh++;
        }
        u = s | ((uint32_t)(113 - sh) << 23) | ((m & 1023) << 13);
    }
    float x;
    memcpy(&x, &u, 4);
    return x;
}

#ifdef __FLT16_MAX__
void half_from_floats(void *h, const float *x, size_t n) {
    _Float16 *o = h;
    for (size_t i = 0; i < n; i++) o[i] = (_Float16)x[i];
}

void half_to_floats(float *x, const void *h, size_t n) {
    const _Float16 *in = h;
    for (size_t i = 0; i < n; i++) x[i] = (float)in[i];
}
#else
void half_from_floats(void *h, const float *x, size_t n) {
    uint16_t *o = h;
    for (size_t i = 0; i < n; i++) o[i] = half_bits_from_float(x[i]);
}

void half_to_floats(float *x, const void *h, size_t n) {
    const uint16_t *in = h;
    for (size_t i = 0; i < n; i++) x[i] = half_bits_to_float(in[i]);
}
#endif
