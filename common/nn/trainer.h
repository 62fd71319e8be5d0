/* trainer.h: one DSAH training round (paper Algorithm 1, lines 4-10): the
 * network is trained for T epochs on the training images against a fixed
 * similarity matrix W, then saved. See trainer.c for the file formats.
 * With loss = LOSS_SSDH the same engine trains the SSDH baseline. */
#ifndef DSAH_TRAINER_H
#define DSAH_TRAINER_H

#include <stdint.h>

#include "nn/loss.h"
#include "nn/net.h"

/* The training objective: DSAH's loss against W (loss.h), SSDH's against
 * the ternary S of dsah-ssdh (W = its sign bits, mask = where S != 0), or
 * GreedyHash's (no W: the batch's input features, the net's pre-tanh output
 * with sign forward and straight-through backward). */
typedef enum { LOSS_DSAH = 0, LOSS_SSDH, LOSS_GREEDYHASH } train_loss;

typedef struct train_cfg {
    const char *images, *indices, *w;   /* data/images.npy, data/train.npy, W */
    const char *init, *init_optim;      /* previous round's model / optim state (optional) */
    const char *weights;                /* VGG ImageNet weights (optional) */
    const char *arch, *finetune, *out;  /* out: the directory (checkpoint.safetensors while running) */
    const char *out_model, *out_jsonl, *out_optim; /* the outputs (names from the stage's table) */
    const char *mask;                   /* loss ssdh: bits where S != 0 (dsah-ssdh's mask.npy) */
    train_loss loss;                    /* dsah (default) | ssdh | greedyhash */
    const char *features;               /* loss greedyhash: f4 [n, d], one row per training index */
    double gh_alpha;                    /* loss greedyhash: weight of the |u - sgn(u)|^3 penalty */
    const char *prefix_cache;           /* optional: f4 [n, d] frozen-prefix rows, one per training index (prefix.h) */
    const char *prefix_indices;         /* optional: i8, the image of each prefix_cache row (another
                                           split's cache, e.g. db's); NULL: row k is training index k */
    const char *prefix_layer;           /* its layer label (pool5); default: net_prefix_layer's
                                           (with frozen_eval: net_frozen_eval's) */
    int frozen_eval;                    /* 1: the frozen layers run in eval mode in training too (their
                                           dropout off, net_frozen_eval), so a cache may hold the last
                                           frozen layer (vgg19 head: relu7); GreedyHash's head */
    int input, bits, epochs, batch, threads;
    double lr, adam_eps, lr_factor, tau, lambda;
    int64_t lr_every;
    pic_mode pic;
    quant_mode quant;
    uint64_t seed;
    int cuda;                           /* 1: train on the GPU that device_select opened (util/device.h;
                                           --loss dsah only, see train_has_cuda_path); 0: the CPU */
} train_cfg;

/* Whether a run has a CUDA path (a build with CUDA and the DSAH loss: the
 * SSDH and GreedyHash losses have no device twin); why not, for the error. */
int train_has_cuda_path(train_loss loss, const char **why);

void train_run(const train_cfg *c);

#endif
