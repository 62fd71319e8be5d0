/* trainer.h: one DSAH training round (paper Algorithm 1, lines 4-10): the
 * network is trained for T epochs on the training images against a fixed
 * similarity matrix W, then saved. See trainer.c for the file formats. */
#ifndef DSAH_TRAINER_H
#define DSAH_TRAINER_H

#include <stdint.h>

#include "loss.h"
#include "net.h"

typedef struct train_cfg {
    const char *images, *indices, *w;   /* data/images.npy, data/train.npy, W */
    const char *init, *init_optim;      /* previous round's model / optim state (optional) */
    const char *weights;                /* VGG ImageNet weights (optional) */
    const char *arch, *finetune, *out;
    int input, bits, epochs, batch, threads;
    double lr, adam_eps, lr_factor, tau, lambda;
    int64_t lr_every;
    pic_mode pic;
    uint64_t seed;
} train_cfg;

void train_run(const train_cfg *c);

/* Network input for images idx[0..B) of a u1 [N,H,W,C] array: x [B,C,H,W] =
 * pixel / 255 (scaled to [0,1]); with imagenet != 0 (vgg19), then
 * (x - mean_c) / std_c with torchvision's ImageNet mean (0.485, 0.456, 0.406)
 * and std (0.229, 0.224, 0.225) (grey images use the first channel's). */
void net_input_u8(float *x, const uint8_t *images, const int64_t *idx, int B, int H, int W, int C, int imagenet);

#endif
