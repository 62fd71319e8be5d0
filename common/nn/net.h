/* net.h: a feed-forward hashing network built from an architecture string,
 * with forward, backward and its parameters in one flat array.
 *
 * Architecture list (comma separated, as the YAML's network.arch):
 *   conv3-K     3x3 convolution to K channels, stride 1, pad 1, then ReLU
 *   pool        2x2 max-pool, stride 2
 *   fc-N        fully connected to N units (input flattened in C,H,W order),
 *               then ReLU
 *   dropout-P   inverted dropout with drop probability P (train only)
 * ReLU is implied after every conv and fc, as in VGG. The hash head is always
 * appended: hash.fc (-> bits), then tanh. Convolutions must precede the fcs.
 * Preset "vgg19": torchvision's VGG-19 (conv stack [64,64,M,128,128,M,
 * 256x4,M,512x4,M,512x4,M], fc6 4096 ReLU dropout-0.5, fc7 4096 ReLU
 * dropout-0.5), then hash.fc8 4096->1000 without activation (new, paper 4.1)
 * and hash.fc 1000->bits, tanh. There is no adaptive average pool: fc6 takes
 * 512 * (S/32)^2 inputs, 25088 at S = 224 (the pretrained fc6).
 *
 * Parameter names are torchvision's Sequential indices: features.N.weight/bias
 * (N counts conv, relu and pool modules), classifier.N.* (N counts fc, relu,
 * dropout), hash.fc8.*, hash.fc.*; shapes are torch's (conv [K,C,3,3],
 * fc [out,in]).
 *
 * Initialisation: torch's default for nn.Conv2d / nn.Linear, i.e.
 * kaiming_uniform(a = sqrt(5)) for weights, which is U(-1/sqrt(fan_in),
 * 1/sqrt(fan_in)), and the same bound for biases; fan_in = C*9 or in. Drawn
 * with rng (rng.h) seeded from the seed, layer by layer, weight then bias.
 *
 * Fine-tuning: parameters are trainable from layer first_train on (a suffix of
 * the flat array, from train_off): "all" (every layer), "fc" (the first fc
 * layer on), "head" (hash.fc8 and hash.fc for vgg19, hash.fc otherwise).
 * Frozen layers run no backward and have no gradient buffers. */
#ifndef DSAH_NET_H
#define DSAH_NET_H

#include <stddef.h>
#include <stdint.h>

typedef enum { NL_CONV = 0, NL_RELU, NL_POOL, NL_FC, NL_DROPOUT, NL_TANH } nl_type;

typedef struct nn_layer {
    nl_type type;
    int C, H, W;          /* input per image (fc: C = in, H = W = 1) */
    int K, OH, OW;        /* output per image (fc: K = out) */
    int64_t in_n, out_n;  /* values per image in and out */
    float p;              /* dropout probability */
    int64_t woff, boff;   /* offsets into params, -1 when none */
    int64_t wn, bn;
    char wname[48], bname[48];
    float *in, *out;      /* [B, in_n], [B, out_n]; out == in for in-place layers */
    uint8_t *arg;         /* pool argmax [B, out_n] */
} nn_layer;

typedef struct net {
    char *arch;           /* the string it was built from ("vgg19" or a list) */
    int channels, input, bits;
    int nl;
    nn_layer *L;
    int64_t np;           /* parameter count */
    float *params;        /* [np] */
    int first_train;      /* index of the first trainable layer */
    int64_t train_off;    /* params[train_off..np) are trainable */
    float *grads;         /* [np - train_off], valid after net_backward */
    int linear_head;      /* 1: net_forward returns hash.fc's output u, the final
                             tanh is skipped in forward and backward (GreedyHash's
                             sign layer works on u; sgn(u) = sgn(tanh(u))) */
    /* runtime buffers (net_alloc) */
    int B, train;
    float *ws;
    int64_t ws_len;
    float *gbuf[2];
    float *bufs;          /* activation storage */
    const float *x;       /* the last forward's input (the first layer's saved input) */
} net;

/* Build the layers and names from an architecture; allocates params (zeros).
 * Returns 0, or -1 with a message in err (bad token, conv after fc, an image
 * pooled below 1x1, ...). */
int net_build(net *n, const char *arch, int channels, int input, int bits, char *err, size_t errlen);
/* torch-default initialisation, see above. */
void net_init_params(net *n, uint64_t seed);
/* "all" | "fc" | "head"; returns -1 on an unknown mode. Call before net_alloc. */
int net_set_finetune(net *n, const char *mode);
/* Runtime buffers for batches of up to B images; train != 0 keeps what
 * backward needs and allocates the gradients of the trainable part. */
void net_alloc(net *n, int B, int train);
/* x [B, channels, input, input] -> returns z [B, bits] (tanh outputs), valid
 * until the next call. train: dropout on, with masks from (seed, step). B may
 * be smaller than the allocated batch. */
const float *net_forward(net *n, const float *x, int B, int train, uint64_t seed, uint64_t step);
/* dz [B, bits] = dL/dz for the last forward (same B, seed, step) -> n->grads
 * (overwritten). */
void net_backward(net *n, const float *dz, int B, uint64_t seed, uint64_t step);
/* Forward from layer first on: h [B, L[first-1].out_n] is layer first-1's
 * output (a prefix cache row per image; first = 0: h is the image input x),
 * copied into that layer's buffer so that in-place layers and backward work
 * as after a full forward. Same arguments and result as net_forward
 * otherwise; net_backward afterwards needs first <= first_train. */
const float *net_forward_from(net *n, const float *h, int first, int B, int train, uint64_t seed, uint64_t step);
/* Layer i's VGG-style label, for file names and flags: conv<b>_<k>,
 * relu<b>_<k>, pool<b> in the convolution blocks (b counts pools + 1),
 * fc<m>, relu<m>, drop<m> after them (m = pools + fc count: vgg19's fc6,
 * relu7; hash.fc8 is fc8), tanh last. net_layer_by_label: its index or -1. */
void net_layer_label(const net *n, int i, char *buf, size_t len);
int net_layer_by_label(const net *n, const char *label);
/* The deepest layer whose output is a pure function of the image and all of
 * whose layers are frozen (after net_set_finetune): before first_train and
 * before the first dropout with p > 0. -1 when there is none (finetune all).
 * vgg19: fc -> pool5, head -> relu6. */
int net_prefix_layer(const net *n);
/* The frozen layers run as in eval mode in training too (after
 * net_set_finetune): the dropouts before first_train get p = 0, so the whole
 * frozen part is a pure function of the image and net_prefix_layer reaches
 * first_train - 1. Returns the deepest frozen layer that is not a dropout,
 * the layer a cache of that part holds (vgg19 head: relu7, what dsah-features
 * writes by default), or -1 when nothing is frozen. dsah-train --frozen-eval
 * (GreedyHash's head, eval.greedyhash_finetune). */
int net_frozen_eval(net *n);
/* Eval-mode forward through layers 0..last only (dropout off, the layers
 * after `last` are not run): x [B, channels, input, input] -> returns layer
 * last's output [B, L[last].out_n], valid until the next call. For feature
 * extraction (dsah-features vgg19: relu7, the ReLU after classifier.3). */
const float *net_forward_to(net *n, const float *x, int B, int last);
/* Eval-mode forward through layers first..last from h, layer first-1's
 * output (x when first = 0), as net_forward_from. */
const float *net_forward_range(net *n, const float *h, int first, int last, int B);
/* Index of the layer whose weight is named wname (e.g. "classifier.3.weight"),
 * or -1. */
int net_layer_index(const net *n, const char *wname);
void net_free(net *n);
/* Layer output shape as a string, for logs. */
void net_describe(const net *n);

/* The dropout seed of layer `layer` in a run seeded with seed: the mask of
 * element i at step t is act_dropout_keep(net_dropout_seed(seed, layer), t,
 * i, p) (activations.h), on the CPU and in kernels/net.cu alike. */
uint64_t net_dropout_seed(uint64_t seed, int layer);

/* Set OpenMP and OpenBLAS threads (n <= 0: all cores). */
void nn_set_threads(int n);

/* ---- model files (net_io.c; safetensors) ---------------------------------- */
/* Model: every parameter by name; __metadata__ arch, input, bits, channels,
 * format "dsah". */
void net_save(const net *n, const char *path);
/* Build the network described by a model's metadata and load its parameters
 * (exact names and shapes; dies naming the file and tensor otherwise). */
void net_load(net *n, const char *path);
/* Load parameters of n (already built) from an open model or weights file:
 * names go through vgg_canonical_name (timm -> torchvision); every parameter
 * whose name starts with one of the prefixes must be present with the right
 * element count. Tensors of the file that n lacks are ignored. */
struct st_file;
void net_load_params(net *n, const struct st_file *f, const char *const *prefixes, int nprefix);

#endif
