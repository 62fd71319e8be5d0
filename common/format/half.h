/* half.h: IEEE 754 binary16 ("half": numpy's '<f2', safetensors' F16) to
 * and from binary32 (half.c).
 *
 * float -> half rounds to nearest, ties to even (IEEE's default, as numpy's
 * astype(np.float16)); a finite x with |x| >= 65520 becomes infinite, so a
 * writer checks |x| <= HALF_MAX first. half -> float is exact (every half is
 * a float). The rounding error of a finite x with |x| <= HALF_MAX and h its
 * half:
 *   |h - x| <= 2^-11 |x|   when |x| >= 2^-14 (HALF_MIN_NORMAL: h is normal),
 *   |h - x| <= 2^-25       below (the subnormal halves, spaced 2^-24),
 * half a unit in the last place of the 11-bit significand, or of the fixed
 * spacing 2^-24 below 2^-14 (tests/t_npy.c checks both on every rounding
 * boundary).
 *
 * The block conversions use the compiler's _Float16 where it has one (GCC
 * 12+ and clang 15+ on x86-64: vcvtps2ph / vcvtph2ps with F16C, which
 * -march=native has on any x86-64 since 2013), else the bit-level
 * conversions below (clang 14, which make fuzz uses). tests/t_npy.c checks
 * the bit-level ones against _Float16 on every half and on each rounding
 * boundary, so both builds store the same bits. */
#ifndef DSAH_HALF_H
#define DSAH_HALF_H

#include <stddef.h>
#include <stdint.h>

#define HALF_MAX 65504.0f                 /* the largest finite half, (2 - 2^-10) 2^15 */
#define HALF_MIN_NORMAL 6.103515625e-05f  /* 2^-14 */

/* h [n] (2 bytes each, 2-byte aligned) = x [n] rounded to half. */
void half_from_floats(void *h, const float *x, size_t n);
/* x [n] = h [n] (2 bytes each, 2-byte aligned) as floats, exactly. */
void half_to_floats(float *x, const void *h, size_t n);

/* One value as its bits, without _Float16. */
uint16_t half_bits_from_float(float x);
float half_bits_to_float(uint16_t h);

/* Whether the half with bits h is finite (exponent field not all ones). */
static inline int half_bits_finite(uint16_t h) { return (h & 0x7c00u) != 0x7c00u; }

#endif
