/* net.cu: see net_cuda.h. Host code: the layer loop of net.c over device
 * buffers and the CUDA twins. */
#include <cstdlib>
#include <cstring>

#include "check.h"
#include "gpu.h"
#include "net_cuda.h"
#include "ops.h"

namespace {

bool stores_output(const nn_layer *l) { return l->type == NL_CONV || l->type == NL_POOL || l->type == NL_FC; }

} // namespace

extern "C" void net_cuda_alloc(net_cuda *g, net *n, int B, int train, int first) {
    memset(g, 0, sizeof *g);
    CHECK(B >= 1 && first >= 0 && first < n->nl);
    g->n = n;
    g->B = B;
    g->train = train;
    g->first = first;
    /* the sizes first, as net_alloc: every output kept when training, two
     * ping-pong buffers otherwise */
    int64_t maxact = 0, total = 0, pooln = 0, ws = 0, gmax = 0;
    for (int i = 0; i < n->nl; i++) {
        const nn_layer *l = &n->L[i];
        if (stores_output(l)) {
            total += l->out_n;
            if (l->out_n > maxact) maxact = l->out_n;
        }
        if (l->type == NL_POOL) pooln += l->out_n;
        if (l->type == NL_CONV && i >= first) {
            const int64_t q = conv3x3_ws_cuda(B, l->C, l->H, l->W, l->K);
            if (q > ws) ws = q;
        }
    }
    if (train)
        for (int i = n->first_train; i < n->nl; i++) {
            if (n->L[i].out_n > gmax) gmax = n->L[i].out_n;
            if (n->L[i].in_n > gmax) gmax = n->L[i].in_n;
        }
    const int64_t in_n = first ? n->L[first - 1].out_n : n->L[0].in_n;
    const int64_t store = train ? total : 2 * maxact;
    const size_t f = sizeof(float);
    const size_t bytes = f * (size_t)n->np + (train ? f * (size_t)(n->np - n->train_off) : 0) + f * (size_t)(in_n * B) +
                         f * (size_t)(store * B) + (size_t)(pooln * B) + f * (size_t)ws + 2 * f * (size_t)(gmax * B);
    char what[96];
    snprintf(what, sizeof what, "the network (%s, batch %d, %s)", n->arch, B, train ? "training" : "inference");
    gpu_require(bytes, what);
    g->bytes = bytes;
    g->params = (float *)gpu_alloc(f * (size_t)n->np);
    if (train) g->grads = (float *)gpu_alloc(f * (size_t)(n->np - n->train_off > 0 ? n->np - n->train_off : 1));
    g->x = (float *)gpu_alloc(f * (size_t)(in_n * B));
    g->bufs = (float *)gpu_alloc(f * (size_t)(store * B));
    g->args = pooln ? (uint8_t *)gpu_alloc((size_t)(pooln * B)) : nullptr;
    g->ws_len = ws;
    g->ws = ws ? (float *)gpu_alloc(f * (size_t)ws) : nullptr;
    if (train) {
        g->gbuf[0] = (float *)gpu_alloc(f * (size_t)(gmax * B));
        g->gbuf[1] = (float *)gpu_alloc(f * (size_t)(gmax * B));
    }
    g->out = (float **)xcalloc((size_t)n->nl, sizeof(float *));
    g->arg = (uint8_t **)xcalloc((size_t)n->nl, sizeof(uint8_t *));
    int64_t off = 0, ao = 0;
    int pp = 0;
    float *prev = nullptr;
    for (int i = 0; i < n->nl; i++) {
        const nn_layer *l = &n->L[i];
        if (stores_output(l)) {
            if (train) {
                g->out[i] = g->bufs + off * B;
                off += l->out_n;
            } else {
                g->out[i] = g->bufs + (pp ? maxact : 0) * B;
                pp ^= 1;
            }
        } else {
            g->out[i] = prev;
        }
        if (l->type == NL_POOL) {
            g->arg[i] = g->args + ao * B;
            ao += l->out_n;
        }
        prev = g->out[i];
    }
    net_cuda_upload_params(g);
}

extern "C" void net_cuda_free(net_cuda *g) {
    gpu_free(g->params);
    gpu_free(g->grads);
    gpu_free(g->x);
    gpu_free(g->bufs);
    gpu_free(g->args);
    gpu_free(g->ws);
    gpu_free(g->gbuf[0]);
    gpu_free(g->gbuf[1]);
    gpu_free(g->u8);
    gpu_free_host(g->pin);
    free(g->out);
    free(g->arg);
    memset(g, 0, sizeof *g);
}

extern "C" void net_cuda_upload_params(net_cuda *g) {
    gpu_upload(g->params, g->n->params, sizeof(float) * (size_t)g->n->np);
}

extern "C" void net_cuda_download_params(net_cuda *g) {
    gpu_download(g->n->params, g->params, sizeof(float) * (size_t)g->n->np);
}

extern "C" void net_cuda_input(net_cuda *g, const uint8_t *images, const int64_t *idx, int B, int H, int W, int C,
                               int S, int vgg) {
    CHECK(B >= 1 && B <= g->B && g->first == 0);
    CHECK((int64_t)(vgg ? 3 : C) * S * S == g->n->L[0].in_n);
    const int64_t img = (int64_t)H * W * C, bytes = img * g->B;
    if (bytes > g->u8_bytes) {
        gpu_free(g->u8);
        gpu_free_host(g->pin);
        gpu_require((size_t)bytes, "the input images");
        g->u8 = (uint8_t *)gpu_alloc((size_t)bytes);
        g->pin = (uint8_t *)gpu_alloc_host((size_t)bytes);
        g->u8_bytes = bytes;
    }
    for (int i = 0; i < B; i++) memcpy(g->pin + i * img, images + idx[i] * img, (size_t)img);
    gpu_upload(g->u8, g->pin, (size_t)(img * B));
    net_input_batch_cuda(g->x, g->u8, B, H, W, C, S, vgg);
}

extern "C" const float *net_cuda_forward_from(net_cuda *g, const float *h, int first, int B, int train, uint64_t seed,
                                              uint64_t step) {
    net *n = g->n;
    CHECK(B >= 1 && B <= g->B);
    CHECK(!train || g->train);
    CHECK(first == g->first);
    const float *cur = h;
    if (first > 0) {
        /* h becomes layer first-1's output (in-place layers write there,
         * backward reads layer first's input there), as on the CPU */
        float *dst = g->out[first - 1];
        if (dst != h) gpu_copy(dst, h, sizeof(float) * (size_t)B * (size_t)n->L[first - 1].out_n);
        cur = dst;
    } else {
        g->in0 = h;
    }
    for (int i = first; i < n->nl; i++) {
        const nn_layer *l = &n->L[i];
        const float *w = l->woff >= 0 ? g->params + l->woff : nullptr, *b = l->boff >= 0 ? g->params + l->boff : nullptr;
        const int64_t cnt = (int64_t)B * l->out_n;
        float *o = g->out[i];
        switch (l->type) {
        case NL_CONV: conv3x3_forward_cuda(o, g->ws, cur, w, b, B, l->C, l->H, l->W, l->K, g->ws_len); break;
        case NL_RELU: relu_forward_cuda(o, o, cnt); break;
        case NL_POOL: maxpool2_forward_cuda(o, g->arg[i], cur, B, l->C, l->H, l->W); break;
        case NL_FC: fc_forward_cuda(o, cur, w, b, B, l->C, l->K); break;
        case NL_DROPOUT:
            if (train && l->p > 0) dropout_forward_cuda(o, o, cnt, l->p, net_dropout_seed(seed, i), step);
            break;
        case NL_TANH:
            if (!n->linear_head) tanh_forward_cuda(o, o, cnt);
            break;
        }
        cur = o;
    }
    return cur;
}

extern "C" const float *net_cuda_forward_range(net_cuda *g, const float *h, int first, int last, int B) {
    CHECK(last >= first && last < g->n->nl);
    const int nl = g->n->nl;
    g->n->nl = last + 1;
    const float *y = net_cuda_forward_from(g, h, first, B, 0, 0, 0);
    g->n->nl = nl;
    return y;
}

extern "C" void net_cuda_backward(net_cuda *g, const float *dz, int B, uint64_t seed, uint64_t step) {
    net *n = g->n;
    CHECK(g->train && B >= 1 && B <= g->B);
    CHECK(g->first <= n->first_train);
    float *gr = g->gbuf[0], *o = g->gbuf[1];
    gpu_copy(gr, dz, sizeof(float) * (size_t)B * (size_t)n->bits);
    for (int i = n->nl - 1; i >= n->first_train; i--) {
        const nn_layer *l = &n->L[i];
        const float *w = l->woff >= 0 ? g->params + l->woff : nullptr;
        float *dw = l->woff >= 0 ? g->grads + (l->woff - n->train_off) : nullptr;
        float *db = l->boff >= 0 ? g->grads + (l->boff - n->train_off) : nullptr;
        const int need_dx = i > n->first_train;
        const int64_t cnt = (int64_t)B * l->out_n;
        const float *in = i ? g->out[i - 1] : g->in0;
        switch (l->type) {
        case NL_CONV:
            conv3x3_backward_cuda(need_dx ? o : nullptr, dw, db, g->ws, gr, in, w, B, l->C, l->H, l->W, l->K, g->ws_len);
            break;
        case NL_RELU: relu_backward_cuda(gr, g->out[i], gr, cnt); break;
        case NL_POOL: maxpool2_backward_cuda(o, g->arg[i], gr, B, l->C, l->H, l->W); break;
        case NL_FC: fc_backward_cuda(need_dx ? o : nullptr, dw, db, gr, in, w, B, l->C, l->K); break;
        case NL_DROPOUT:
            if (l->p > 0) dropout_backward_cuda(gr, gr, cnt, l->p, net_dropout_seed(seed, i), step);
            break;
        case NL_TANH:
            if (!n->linear_head) tanh_backward_cuda(gr, g->out[i], gr, cnt);
            break;
        }
        if (stores_output(l)) {
            float *t = gr;
            gr = o;
            o = t;
        }
    }
}
