/* net_cuda.h: a network (nn/net.h) on the device: its parameters, the
 * activations a training step keeps, the gradients, and forward and
 * backward through the CUDA twins (ops.h), layer for layer as net.c does on
 * the CPU (the same in-place layers, the same dropout seeds, the same
 * overwritten gradients). The host net keeps the layer list and is the copy
 * that is saved: net_cuda_download_params brings the device's parameters
 * back into n->params. Written and built without a GPU; not yet run. */
#ifndef DSAH_KERNELS_NET_CUDA_H
#define DSAH_KERNELS_NET_CUDA_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#include "nn/net.h"

typedef struct net_cuda {
    net *n;               /* the host network (layers, params, first_train) */
    int B, train, first;  /* batch capacity; training buffers; the layer the input enters at */
    float *params;        /* [np] */
    float *grads;         /* [np - train_off] (train) */
    float *x;             /* [B, input per image]: L[0].in_n, or L[first-1].out_n (prefix rows) */
    float *bufs;          /* activation storage */
    float **out;          /* [nl] host array of device pointers: layer i's output */
    uint8_t **arg;        /* [nl] pool argmax, NULL for other layers */
    uint8_t *args;
    float *ws;            /* convolution workspace (conv3x3_ws_cuda, the largest layer's) */
    int64_t ws_len;
    float *gbuf[2];       /* backward ping-pong [B, largest trainable in/out] */
    const float *in0;     /* the last forward's input of layer 0 */
    uint8_t *u8, *pin;    /* a batch of u8 images on the device and its pinned host staging (net_cuda_input) */
    int64_t u8_bytes;     /* their size */
    size_t bytes;         /* device memory taken */
} net_cuda;

/* Allocate for batches of up to B: train != 0 keeps every activation and
 * allocates the gradients; first: the layer the forward input enters at (0:
 * images, else a frozen prefix's rows, prefix.h). Checks the device memory
 * up front (gpu_require) and uploads n->params. */
void net_cuda_alloc(net_cuda *g, net *n, int B, int train, int first);
void net_cuda_free(net_cuda *g);
void net_cuda_upload_params(net_cuda *g);
void net_cuda_download_params(net_cuda *g);
/* g->x = the network input of images idx[0..B) of u8 [N,H,W,C] (host,
 * e.g. the mmap'd images.npy), the same values as net_input (nn/input.h)
 * up to an ulp: the B images are gathered into a pinned buffer, uploaded as
 * bytes and converted on the device (input.cu). The buffers are sized at
 * the first call. */
void net_cuda_input(net_cuda *g, const uint8_t *images, const int64_t *idx, int B, int H, int W, int C, int S,
                    int vgg);
/* As net_forward_from with h on the device ([B, g's input per image]; it may
 * be g->x): returns the device output [B, bits]. */
const float *net_cuda_forward_from(net_cuda *g, const float *h, int first, int B, int train, uint64_t seed,
                                   uint64_t step);
/* As net_forward_range (eval mode, layers first..last). */
const float *net_cuda_forward_range(net_cuda *g, const float *h, int first, int last, int B);
/* As net_backward: dz [B, bits] on the device -> g->grads (overwritten). */
void net_cuda_backward(net_cuda *g, const float *dz, int B, uint64_t seed, uint64_t step);

#ifdef __cplusplus
}
#endif

#endif
