/* activations.h: the element-wise activations, each defined once, usable from
 * host code and (through DSAH_HD) from CUDA kernels.
 *
 * `real` is float, or double when DSAH_REAL_DOUBLE is defined before the
 * first include (the Makefile compiles a double copy of the layers and
 * losses, nn/nn_double.h, to check gradients against finite differences
 * tightly). Backward helpers take the
 * saved OUTPUT y of the forward pass, which is all ReLU and tanh need. */
#ifndef DSAH_ACTIVATIONS_H
#define DSAH_ACTIVATIONS_H

#include <math.h>

#include "util/rng.h"   /* DSAH_HD */

#ifdef DSAH_REAL_DOUBLE
typedef double real;
#else
typedef float real;
#endif

/* ReLU: y = max(x, 0); dy/dx = 1 where y > 0 (0 at x = 0, as torch). */
static inline DSAH_HD real act_relu(real x) { return x > (real)0 ? x : (real)0; }
static inline DSAH_HD real act_relu_grad(real y) { return y > (real)0 ? (real)1 : (real)0; }

/* tanh: dy/dx = 1 - y^2. */
static inline DSAH_HD real act_tanh(real x) { return tanh(x); }
static inline DSAH_HD real act_tanh_grad(real y) { return (real)1 - y * y; }

/* Inverted dropout keep test for element i of a step: counter-based, so the
 * backward pass (and a GPU kernel) recomputes the same mask from (seed, step,
 * i) without storing it. Keep with probability 1 - p. */
static inline DSAH_HD int act_dropout_keep(uint64_t seed, uint64_t step, uint64_t i, float p) {
    return rng_hash_uniform(rng_hash64((seed ^ rng_hash64(step)) + i)) >= p;
}

#endif
