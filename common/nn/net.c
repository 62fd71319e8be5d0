/* net.c: network construction, forward and backward (see net.h). */
#include "nn/net.h"

#include <cblas.h>
#include <math.h>
#include <omp.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "nn/nn.h"
#include "util/rng.h"
#include "util/util.h"

#define VGG19_LIST                                                                                        \
    "conv3-64,conv3-64,pool,conv3-128,conv3-128,pool,conv3-256,conv3-256,conv3-256,conv3-256,pool,"     \
    "conv3-512,conv3-512,conv3-512,conv3-512,pool,conv3-512,conv3-512,conv3-512,conv3-512,pool,"       \
    "fc-4096,dropout-0.5,fc-4096,dropout-0.5"

void nn_set_threads(int n) {
    if (n <= 0) n = omp_get_num_procs();
    omp_set_num_threads(n);
    /* OpenBLAS single-threaded: the layers split their GEMMs over the
     * OpenMP threads themselves (layers.c) */
    openblas_set_num_threads(1);
}

static nn_layer *push(net *n, int *cap, nl_type t) {
    if (n->nl == *cap) {
        *cap = *cap ? 2 * *cap : 16;
        n->L = xrealloc(n->L, sizeof(nn_layer) * *cap);
    }
    nn_layer *l = &n->L[n->nl++];
    memset(l, 0, sizeof *l);
    l->type = t;
    l->woff = l->boff = -1;
    return l;
}

static int fail(char *err, size_t errlen, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return -1;
}

/* Add a parameterised layer's weight and bias to the flat array. */
static void add_params(net *n, nn_layer *l, int64_t wn, int64_t bn, const char *prefix) {
    l->woff = n->np;
    l->wn = wn;
    n->np += wn;
    l->boff = n->np;
    l->bn = bn;
    n->np += bn;
    snprintf(l->wname, sizeof l->wname, "%s.weight", prefix);
    snprintf(l->bname, sizeof l->bname, "%s.bias", prefix);
}

static int build(net *n, const char *arch, int channels, int input, int bits, char *err, size_t errlen);

/* On failure nothing stays allocated. */
int net_build(net *n, const char *arch, int channels, int input, int bits, char *err, size_t errlen) {
    int r = build(n, arch, channels, input, bits, err, errlen);
    if (r) {
        free(n->L);
        n->L = NULL;
        n->nl = 0;
    }
    return r;
}

static int build(net *n, const char *arch, int channels, int input, int bits, char *err, size_t errlen) {
    memset(n, 0, sizeof *n);
    if (channels < 1 || input < 1 || bits < 1) return fail(err, errlen, "channels, input and bits must be >= 1");
    int vgg = !strcmp(arch, "vgg19");
    char *list = xstrdup(vgg ? VGG19_LIST : arch);
    int cap = 0, C = channels, H = input, W = input, fi = 0, ci = 0, flat = 0;
    char prefix[40];
    char *save = NULL;
    for (char *tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        while (*tok == ' ') tok++;
        char *end = tok + strlen(tok);
        while (end > tok && end[-1] == ' ') *--end = 0;
        char *rest;
        if (!strncmp(tok, "conv3-", 6)) {
            long k = strtol(tok + 6, &rest, 10);
            if (*rest || k < 1 || k > 65536) { fail(err, errlen, "arch: bad layer '%s' (conv3-K with K >= 1)", tok); free(list); return -1; }
            if (flat) { fail(err, errlen, "arch: '%s' after an fc layer: convolutions must come first", tok); free(list); return -1; }
            nn_layer *l = push(n, &cap, NL_CONV);
            l->C = C; l->H = H; l->W = W; l->K = (int)k; l->OH = H; l->OW = W;
            snprintf(prefix, sizeof prefix, "features.%d", fi);
            add_params(n, l, k * C * 9, k, prefix);
            C = (int)k;
            fi++;
            l = push(n, &cap, NL_RELU);
            l->C = l->K = C; l->H = l->OH = H; l->W = l->OW = W;
            fi++;
        } else if (!strcmp(tok, "pool")) {
            if (flat) { fail(err, errlen, "arch: 'pool' after an fc layer"); free(list); return -1; }
            if (H < 2 || W < 2) { fail(err, errlen, "arch: 'pool' on a %dx%d map (input %d is too small for this arch)", H, W, input); free(list); return -1; }
            nn_layer *l = push(n, &cap, NL_POOL);
            l->C = l->K = C; l->H = H; l->W = W; l->OH = H / 2; l->OW = W / 2;
            H /= 2; W /= 2;
            fi++;
        } else if (!strncmp(tok, "fc-", 3)) {
            long k = strtol(tok + 3, &rest, 10);
            if (*rest || k < 1 || k > (1L << 24)) { fail(err, errlen, "arch: bad layer '%s' (fc-N with N >= 1)", tok); free(list); return -1; }
            int64_t in64 = (int64_t)C * H * W;
            if (in64 > INT32_MAX) {
                fail(err, errlen, "arch: '%s' on a %dx%dx%d map: %lld inputs, more than 2^31-1 (input %d is too large for this arch)",
                     tok, C, H, W, (long long)in64, input);
                free(list);
                return -1;
            }
            int in = (int)in64;
            flat = 1;
            nn_layer *l = push(n, &cap, NL_FC);
            l->C = in; l->H = l->W = 1; l->K = (int)k; l->OH = l->OW = 1;
            snprintf(prefix, sizeof prefix, "classifier.%d", ci);
            add_params(n, l, k * in, k, prefix);
            ci++;
            C = (int)k; H = W = 1;
            l = push(n, &cap, NL_RELU);
            l->C = l->K = C; l->H = l->W = l->OH = l->OW = 1;
            ci++;
        } else if (!strncmp(tok, "dropout-", 8)) {
            double p = strtod(tok + 8, &rest);
            if (*rest || !(p >= 0 && p < 1)) { fail(err, errlen, "arch: bad layer '%s' (dropout-P with 0 <= P < 1)", tok); free(list); return -1; }
            nn_layer *l = push(n, &cap, NL_DROPOUT);
            l->C = l->K = C; l->H = l->OH = H; l->W = l->OW = W;
            l->p = (float)p;
            if (flat) ci++; else fi++;
        } else {
            fail(err, errlen, "arch: unknown layer '%s' (conv3-K, pool, fc-N, dropout-P, or the preset vgg19)", tok);
            free(list);
            return -1;
        }
    }
    free(list);
    if ((int64_t)C * H * W > INT32_MAX)
        return fail(err, errlen, "arch: the last map %dx%dx%d has more than 2^31-1 values (input %d is too large for this arch)",
                    C, H, W, input);
    if (vgg) {
        nn_layer *l = push(n, &cap, NL_FC);
        l->C = C * H * W; l->H = l->W = 1; l->K = 1000; l->OH = l->OW = 1;
        add_params(n, l, 1000LL * l->C, 1000, "hash.fc8");
        C = 1000; H = W = 1;
    }
    nn_layer *l = push(n, &cap, NL_FC);
    l->C = C * H * W; l->H = l->W = 1; l->K = bits; l->OH = l->OW = 1;
    add_params(n, l, (int64_t)bits * l->C, bits, "hash.fc");
    l = push(n, &cap, NL_TANH);
    l->C = l->K = bits; l->H = l->W = l->OH = l->OW = 1;
    for (int i = 0; i < n->nl; i++) {
        n->L[i].in_n = (int64_t)n->L[i].C * n->L[i].H * n->L[i].W;
        n->L[i].out_n = (int64_t)n->L[i].K * n->L[i].OH * n->L[i].OW;
        if (n->L[i].in_n > INT32_MAX || n->L[i].out_n > INT32_MAX) {
            int64_t big = n->L[i].in_n > n->L[i].out_n ? n->L[i].in_n : n->L[i].out_n;
            return fail(err, errlen, "arch: layer %d has %lld activations per image, more than 2^31-1 (input %d is too large for this arch)",
                        i, (long long)big, input);
        }
    }
    if (n->np > dsah_limit.model_params) {
        int64_t np = n->np;
        return fail(err, errlen, "arch %s at input %d has %lld parameters, more than the limit of %lld (raise it with DSAH_LIMITS=model_params=N)",
                    arch, input, (long long)np, (long long)dsah_limit.model_params);
    }
    n->arch = xstrdup(arch);
    n->channels = channels;
    n->input = input;
    n->bits = bits;
    n->params = xcalloc((size_t)n->np, sizeof(float));
    n->first_train = 0;
    n->train_off = 0;
    return 0;
}

void net_init_params(net *n, uint64_t seed) {
    rng r;
    rng_seed(&r, seed ^ rng_hash64(0x696e6974ULL /* "init" */));
    for (int i = 0; i < n->nl; i++) {
        nn_layer *l = &n->L[i];
        if (l->woff < 0) continue;
        double fan_in = l->type == NL_CONV ? (double)l->C * 9 : (double)l->C;
        double bound = 1.0 / sqrt(fan_in);
        for (int64_t k = 0; k < l->wn; k++) n->params[l->woff + k] = (float)((2 * rng_uniform(&r) - 1) * bound);
        for (int64_t k = 0; k < l->bn; k++) n->params[l->boff + k] = (float)((2 * rng_uniform(&r) - 1) * bound);
    }
}

int net_set_finetune(net *n, const char *mode) {
    int first = -1;
    if (!strcmp(mode, "all")) {
        first = 0;
    } else if (!strcmp(mode, "fc")) {
        for (int i = 0; i < n->nl && first < 0; i++)
            if (n->L[i].type == NL_FC) first = i;
    } else if (!strcmp(mode, "head")) {
        for (int i = 0; i < n->nl && first < 0; i++)
            if (n->L[i].type == NL_FC && !strncmp(n->L[i].wname, "hash.", 5)) first = i;
    } else {
        return -1;
    }
    /* first trainable must be a parameter layer */
    while (n->L[first].woff < 0) first++;
    n->first_train = first;
    n->train_off = n->L[first].woff;
    return 0;
}

/* The runtime buffers of net_alloc, freed (none left). */
static void net_free_buffers(net *n) {
    free(n->bufs);
    free(n->ws);
    free(n->gbuf[0]);
    free(n->gbuf[1]);
    free(n->grads);
    for (int i = 0; i < n->nl; i++)
        if (n->L[i].type == NL_POOL) { free(n->L[i].arg); break; }   /* the first pool holds the block */
    for (int i = 0; i < n->nl; i++) n->L[i].in = n->L[i].out = NULL, n->L[i].arg = NULL;
    n->bufs = n->ws = n->gbuf[0] = n->gbuf[1] = n->grads = NULL;
    n->ws_len = 0;
}

void net_alloc(net *n, int B, int train) {
    net_free_buffers(n);   /* a second call (another batch size or mode) replaces them */
    n->B = B;
    n->train = train;
    /* activation buffers: one per non in-place layer; inference reuses two
     * ping-pong buffers since nothing is kept for a backward pass */
    int64_t maxact = 0, total = 0;
    for (int i = 0; i < n->nl; i++) {
        nn_layer *l = &n->L[i];
        if (l->type == NL_CONV || l->type == NL_POOL || l->type == NL_FC) {
            total += l->out_n;
            if (l->out_n > maxact) maxact = l->out_n;
        }
    }
    int64_t store = train ? total : 2 * maxact;
    n->bufs = xaligned(sizeof(float) * (size_t)(store * B));
    int64_t off = 0, pp = 0, pooln = 0;
    float *prev = NULL;
    for (int i = 0; i < n->nl; i++) {
        nn_layer *l = &n->L[i];
        l->in = prev;
        if (l->type == NL_CONV || l->type == NL_POOL || l->type == NL_FC) {
            if (train) {
                l->out = n->bufs + off * B;
                off += l->out_n;
            } else {
                l->out = n->bufs + (pp ? maxact : 0) * B;
                pp ^= 1;
            }
        } else {
            l->out = prev;
        }
        if (l->type == NL_POOL) pooln += l->out_n;
        prev = l->out;
    }
    /* pool argmax */
    uint8_t *arg = pooln ? xmalloc((size_t)(pooln * B)) : NULL;
    int64_t ao = 0;
    for (int i = 0; i < n->nl; i++)
        if (n->L[i].type == NL_POOL) {
            n->L[i].arg = arg + ao * B;
            ao += n->L[i].out_n;
        }
    /* conv workspace: whole batch at once up to 64 Mi floats, else chunks */
    int64_t per = 0;
    for (int i = 0; i < n->nl; i++)
        if (n->L[i].type == NL_CONV) {
            int64_t q = conv3x3_ws_per_image(n->L[i].C, n->L[i].H, n->L[i].W, n->L[i].K);
            if (q > per) per = q;
        }
    int64_t nb = per ? (64LL << 20) / per : 0;
    if (nb > B) nb = B;
    if (per && nb < 1) nb = 1;
    n->ws_len = per * nb;
    /* and what the forward pass's Winograd path needs (nn.h) at this batch
     * and thread count */
    for (int i = 0; i < n->nl; i++)
        if (n->L[i].type == NL_CONV) {
            int64_t q = conv3x3_ws_winograd(B, n->L[i].C, n->L[i].H, n->L[i].W, n->L[i].K);
            if (q > n->ws_len) n->ws_len = q;
        }
    n->ws = n->ws_len ? xaligned(sizeof(float) * (size_t)n->ws_len) : NULL;
    if (train) {
        int64_t gmax = 0;
        for (int i = n->first_train; i < n->nl; i++) {
            if (n->L[i].out_n > gmax) gmax = n->L[i].out_n;
            if (n->L[i].in_n > gmax) gmax = n->L[i].in_n;
        }
        n->gbuf[0] = xaligned(sizeof(float) * (size_t)(gmax * B));
        n->gbuf[1] = xaligned(sizeof(float) * (size_t)(gmax * B));
        n->grads = xaligned(sizeof(float) * (size_t)(n->np - n->train_off > 0 ? n->np - n->train_off : 1));
    }
}

uint64_t net_dropout_seed(uint64_t seed, int layer) { return seed ^ rng_hash64(0x44524f50ULL + (uint64_t)layer); }

const float *net_forward(net *n, const float *x, int B, int train, uint64_t seed, uint64_t step) {
    return net_forward_from(n, x, 0, B, train, seed, step);
}

const float *net_forward_from(net *n, const float *h, int first, int B, int train, uint64_t seed, uint64_t step) {
    CHECK(B >= 1 && B <= n->B);
    CHECK(!train || n->train);
    CHECK(first >= 0 && first < n->nl);
    const float *cur = h;
    if (first > 0) {
        /* h becomes layer first-1's output buffer: in-place layers (ReLU,
         * dropout) write there, and backward reads layer first's input there */
        nn_layer *p = &n->L[first - 1];
        memcpy(p->out, h, sizeof(float) * (size_t)B * (size_t)p->out_n);
        cur = p->out;
    } else {
        n->x = h;
    }
    for (int i = first; i < n->nl; i++) {
        nn_layer *l = &n->L[i];
        const float *w = l->woff >= 0 ? n->params + l->woff : NULL, *b = l->boff >= 0 ? n->params + l->boff : NULL;
        int64_t cnt = (int64_t)B * l->out_n;
        switch (l->type) {
        case NL_CONV: conv3x3_forward(l->out, n->ws, cur, w, b, B, l->C, l->H, l->W, l->K, n->ws_len); break;
        case NL_RELU: relu_forward(l->out, l->out, cnt); break;
        case NL_POOL: maxpool2_forward(l->out, l->arg, cur, B, l->C, l->H, l->W); break;
        case NL_FC: fc_forward(l->out, cur, w, b, B, l->C, l->K); break;
        case NL_DROPOUT:
            if (train && l->p > 0) dropout_forward(l->out, l->out, cnt, l->p, net_dropout_seed(seed, i), step);
            break;
        case NL_TANH:
            if (!n->linear_head) tanh_forward(l->out, l->out, cnt);
            break;
        }
        cur = l->out;
    }
    return cur;
}

const float *net_forward_to(net *n, const float *x, int B, int last) { return net_forward_range(n, x, 0, last, B); }

const float *net_forward_range(net *n, const float *h, int first, int last, int B) {
    CHECK(last >= first && last < n->nl);
    /* net_forward_from runs layers [first, n->nl): shorten the list for the call */
    const int nl = n->nl;
    n->nl = last + 1;
    const float *y = net_forward_from(n, h, first, B, 0, 0, 0);
    n->nl = nl;
    return y;
}

void net_layer_label(const net *n, int i, char *buf, size_t len) {
    /* VGG's names: block b = pools before + 1, conv k within the block, fcs
     * numbered on from the pools (fc6 after VGG's five blocks) */
    int pools = 0, conv = 0, fcs = 0;
    for (int j = 0; j <= i; j++) {
        const nn_layer *l = &n->L[j];
        if (l->type == NL_CONV) conv++;
        if (l->type == NL_FC) fcs++;
        if (j == i) break;
        if (l->type == NL_POOL) { pools++; conv = 0; }
    }
    const nn_layer *l = &n->L[i];
    int after_fc = fcs > 0;
    switch (l->type) {
    case NL_CONV: snprintf(buf, len, "conv%d_%d", pools + 1, conv); break;
    case NL_POOL: snprintf(buf, len, "pool%d", pools + 1); break;
    case NL_FC: snprintf(buf, len, "fc%d", pools + fcs); break;
    case NL_RELU:
        if (after_fc) snprintf(buf, len, "relu%d", pools + fcs);
        else snprintf(buf, len, "relu%d_%d", pools + 1, conv);
        break;
    case NL_DROPOUT:
        if (after_fc) snprintf(buf, len, "drop%d", pools + fcs);
        else snprintf(buf, len, "drop%d_%d", pools + 1, conv);
        break;
    case NL_TANH: snprintf(buf, len, "tanh"); break;
    }
}

int net_layer_by_label(const net *n, const char *label) {
    char b[32];
    for (int i = 0; i < n->nl; i++) {
        net_layer_label(n, i, b, sizeof b);
        if (!strcmp(b, label)) return i;
    }
    return -1;
}

int net_prefix_layer(const net *n) {
    int c = n->first_train - 1;
    /* a training dropout is not a function of the image: stop before it */
    for (int i = 0; i <= c; i++)
        if (n->L[i].type == NL_DROPOUT && n->L[i].p > 0) { c = i - 1; break; }
    return c;
}

int net_frozen_eval(net *n) {
    for (int i = 0; i < n->first_train; i++)
        if (n->L[i].type == NL_DROPOUT) n->L[i].p = 0;
    int c = n->first_train - 1;
    while (c >= 0 && n->L[c].type == NL_DROPOUT) c--;
    return c;
}

int net_layer_index(const net *n, const char *wname) {
    for (int i = 0; i < n->nl; i++)
        if (n->L[i].woff >= 0 && !strcmp(n->L[i].wname, wname)) return i;
    return -1;
}

void net_backward(net *n, const float *dz, int B, uint64_t seed, uint64_t step) {
    CHECK(n->train && B >= 1 && B <= n->B);
    float *g = n->gbuf[0], *o = n->gbuf[1];
    memcpy(g, dz, sizeof(float) * (size_t)B * n->bits);
    for (int i = n->nl - 1; i >= n->first_train; i--) {
        nn_layer *l = &n->L[i];
        const float *w = l->woff >= 0 ? n->params + l->woff : NULL;
        float *dw = l->woff >= 0 ? n->grads + (l->woff - n->train_off) : NULL;
        float *db = l->boff >= 0 ? n->grads + (l->boff - n->train_off) : NULL;
        int need_dx = i > n->first_train;
        int64_t cnt = (int64_t)B * l->out_n;
        switch (l->type) {
        case NL_CONV:
            conv3x3_backward(need_dx ? o : NULL, dw, db, n->ws, g, i ? l->in : n->x, w, B, l->C, l->H, l->W, l->K, n->ws_len);
            break;
        case NL_RELU: relu_backward(g, l->out, g, cnt); break;
        case NL_POOL: maxpool2_backward(o, l->arg, g, B, l->C, l->H, l->W); break;
        case NL_FC: fc_backward(need_dx ? o : NULL, dw, db, g, i ? l->in : n->x, w, B, l->C, l->K); break;
        case NL_DROPOUT:
            if (l->p > 0) dropout_backward(g, g, cnt, l->p, net_dropout_seed(seed, i), step);
            break;
        case NL_TANH:
            if (!n->linear_head) tanh_backward(g, l->out, g, cnt);
            break;
        }
        if (l->type == NL_CONV || l->type == NL_POOL || l->type == NL_FC) {
            float *t = g; g = o; o = t;
        }
    }
}

void net_free(net *n) {
    free(n->arch);
    free(n->params);
    net_free_buffers(n);
    free(n->L);
    memset(n, 0, sizeof *n);
}

void net_describe(const net *n) {
    static const char *nm[] = {"conv3", "relu", "pool", "fc", "dropout", "tanh"};
    for (int i = 0; i < n->nl; i++) {
        const nn_layer *l = &n->L[i];
        if (l->woff >= 0)
            info("  %-8s %-22s -> [%d,%d,%d]%s", nm[l->type], l->wname, l->K, l->OH, l->OW,
                 i >= n->first_train ? "" : " (frozen)");
        else
            info("  %-8s %-22s -> [%d,%d,%d]", nm[l->type], "", l->K, l->OH, l->OW);
    }
    info("  %lld parameters, %lld trainable", (long long)n->np, (long long)(n->np - n->train_off));
}
