/* adam.h: the Adam optimiser (Kingma & Ba 2015) in the form TensorFlow's
 * AdamOptimizer implements it, the optimiser of the paper's official code:
 *   m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2
 *   lr_t = lr * sqrt(1 - b2^t) / (1 - b1^t)
 *   theta -= lr_t * m / (sqrt(v) + eps)
 * i.e. eps is added to sqrt(v), not to the bias-corrected sqrt(v_hat) as in
 * torch.optim.Adam. The two agree for eps -> 0; with the official eps = 1.0
 * they differ, and this is the official one. t counts steps from 1.
 *
 * Learning-rate schedule (the official code's exponential_decay with
 * staircase): lr(step) = lr0 * factor^floor(step / every), step counted from
 * 0 over the whole run (it carries across rounds with the Adam state). */
#ifndef DSAH_ADAM_H
#define DSAH_ADAM_H

#include <stdint.h>

typedef struct adam {
    int64_t n;        /* number of parameters it updates */
    float *m, *v;     /* [n] moments, xcalloc'ed */
    int64_t t;        /* steps taken */
    double b1, b2, eps;
} adam;

void adam_init(adam *a, int64_t n, double eps);
void adam_free(adam *a);
/* One step: theta [n] updated from g [n] at learning rate lr; a->t += 1. */
void adam_step(adam *a, float *theta, const float *g, double lr);
double lr_at(double lr0, double factor, int64_t every, int64_t step);

#endif
