/* trainer.c: one training round with per-epoch checkpoints.
 *
 * Determinism: the epoch order is a Fisher-Yates shuffle (rng.h) seeded from
 * (seed, t0, epoch), t0 being the Adam step count at the start of the round
 * (so rounds that carry the optimiser state also draw new orders); dropout
 * masks are counter-based on (seed, layer, global step). Nothing else is
 * random, so the state after epoch e is (parameters, Adam moments, step) and
 * resuming from it gives byte-identical results for the same thread count
 * on the same machine (the same BLAS kernel).
 * Only full batches are used: the n mod B remainder of each epoch's order is
 * dropped. The quantisation target b = sgn(z) is taken from the training
 * forward itself (dropout on); the official code runs a separate eval-mode
 * forward for it, which costs a third more and differs only where dropout
 * flips a sign.
 *
 * Files in OUT (all written atomically):
 *   checkpoint.safetensors  after every epoch: "params" [np], "adam.m",
 *                           "adam.v" [trainable]; metadata config (the
 *                           settings fingerprint), epoch, t, t0, and the
 *                           train.jsonl lines so far. A rerun with the same
 *                           settings resumes from it; other settings are an
 *                           error. Removed when the round completes.
 *   optim.safetensors       the final Adam state ("adam.m", "adam.v", metadata
 *                           t): the next round's --init-optim, so that Adam
 *                           and the lr schedule continue across rounds as in
 *                           the paper's code (one optimiser, one global step).
 *   train.jsonl             one line per epoch.
 *   model.safetensors       the model (net_save), written last.
 *
 * On the GPU (c->cuda, a build with CUDA): the same loop with the step on
 * the device (kernels/net_cuda.h): the host gathers each batch's u8 images
 * (converted on the device, net_cuda_input) or prefix rows, and its W block,
 * and uploads them;
 * forward, loss, backward and Adam run on the device; the parameters and
 * the Adam moments come back to the host after every epoch for the
 * checkpoint, so a run resumes on either device. The loss value comes back
 * every step (the finiteness check and the epoch means). Not yet run on a
 * GPU (docs/GPU.md). */
#include "nn/trainer.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nn/adam.h"
#include "nn/input.h"
#include "nn/prefix.h"
#include "util/bits.h"
#include "format/npy.h"
#include "util/rng.h"
#include "format/safetensors.h"
#include "util/check.h"
#include "util/util.h"

#if DSAH_CUDA
#include "gpu.h"
#include "net_cuda.h"
#include "ops.h"
#endif

int train_has_cuda_path(train_loss loss, const char **why) {
    *why = loss == LOSS_SSDH ? "--loss ssdh" : loss == LOSS_GREEDYHASH ? "--loss greedyhash" : "";
    return loss == LOSS_DSAH;
}

typedef struct ckpt {
    int epoch;          /* epochs completed */
    int64_t t, t0;
    char *jsonl;        /* xmalloc'ed */
} ckpt;

static char *fingerprint(const train_cfg *c) {
    char *s = xmalloc(2048);
    snprintf(s, 2048,
             "images=%s indices=%s w=%s init=%s init_optim=%s weights=%s arch=%s input=%d bits=%d epochs=%d "
             "batch=%d lr=%.17g eps=%.17g every=%lld factor=%.17g tau=%.17g lambda=%.17g quant=%s pic=%s finetune=%s "
             "seed=%llu loss=%s mask=%s features=%s gh_alpha=%.17g prefix_cache=%s prefix_indices=%s "
             "prefix_layer=%s",
             c->images, c->indices, c->w ? c->w : "-", c->init ? c->init : "-", c->init_optim ? c->init_optim : "-",
             c->weights ? c->weights : "-", c->arch, c->input, c->bits, c->epochs, c->batch, c->lr, c->adam_eps,
             (long long)c->lr_every, c->lr_factor, c->tau, c->lambda, quant_name(c->quant), pic_name(c->pic), c->finetune,
             (unsigned long long)c->seed, c->loss == LOSS_SSDH ? "ssdh" : c->loss == LOSS_GREEDYHASH ? "greedyhash" : "dsah", c->mask ? c->mask : "-",
             c->features ? c->features : "-", c->gh_alpha, c->prefix_cache ? c->prefix_cache : "-",
             c->prefix_indices ? c->prefix_indices : "-", c->prefix_layer ? c->prefix_layer : "-");
    /* only when set, so that the checkpoints of runs without it still resume */
    if (c->frozen_eval) strncat(s, " frozen_eval=1", 2047 - strlen(s));
    return s;
}

static void write_ckpt(const char *path, const net *n, const adam *a, const ckpt *k, const char *fp) {
    st_writer *w = st_writer_begin(path);
    int64_t np = n->np, nt = a->n;
    st_writer_add(w, "params", 1, &np, n->params);
    st_writer_add(w, "adam.m", 1, &nt, a->m);
    st_writer_add(w, "adam.v", 1, &nt, a->v);
    char buf[32];
    st_writer_meta(w, "config", fp);
    snprintf(buf, sizeof buf, "%d", k->epoch);
    st_writer_meta(w, "epoch", buf);
    snprintf(buf, sizeof buf, "%lld", (long long)k->t);
    st_writer_meta(w, "t", buf);
    snprintf(buf, sizeof buf, "%lld", (long long)k->t0);
    st_writer_meta(w, "t0", buf);
    st_writer_meta(w, "jsonl", k->jsonl);
    st_writer_commit(w);
}

static int64_t meta_ll(const st_file *f, const char *key) {
    const char *v = st_meta(f, key);
    if (!v) die("%s: __metadata__ has no '%s'", f->path, key);
    char *end;
    long long x = strtoll(v, &end, 10);
    if (*end || x < 0) die("%s: __metadata__ '%s' = '%s' is not a count", f->path, key, v);
    return x;
}

static void read_flat(float *out, const st_file *f, const char *name, int64_t count) {
    const st_tensor *t = st_find(f, name);
    if (!t) die("%s: tensor '%s' is missing", f->path, name);
    st_read_f32(out, f, t, count);
}

static void load_optim(adam *a, const char *path) {
    st_file f;
    st_open(&f, path);
    read_flat(a->m, &f, "adam.m", a->n);
    read_flat(a->v, &f, "adam.v", a->n);
    a->t = meta_ll(&f, "t");
    st_close(&f);
}

static void save_optim(const char *path, const adam *a) {
    st_writer *w = st_writer_begin(path);
    int64_t nt = a->n;
    st_writer_add(w, "adam.m", 1, &nt, a->m);
    st_writer_add(w, "adam.v", 1, &nt, a->v);
    char buf[32];
    snprintf(buf, sizeof buf, "%lld", (long long)a->t);
    st_writer_meta(w, "t", buf);
    st_writer_commit(w);
}

static void jsonl_append(char **s, size_t *cap, const char *line) {
    size_t a = strlen(*s), b = strlen(line);
    if (a + b + 2 > *cap) {
        *cap = 2 * (a + b + 2);
        *s = xrealloc(*s, *cap);
    }
    memcpy(*s + a, line, b);
    (*s)[a + b] = '\n';
    (*s)[a + b + 1] = 0;
}

void train_run(const train_cfg *c) {
    npy_array im, ix;
    npy_open(&im, c->images, NPY_U1, 4);
    npy_open(&ix, c->indices, NPY_I8, 1);
    npy_array wa = {0}, ma = {0}, fa = {0};
    const int greedy = c->loss == LOSS_GREEDYHASH;
    if (greedy) {
        if (!c->features) die("--loss greedyhash needs --features (the training rows' features)");
        npy_open(&fa, c->features, NPY_F4, 2);
        npy_expect_finite(&fa);
    } else {
        npy_open(&wa, c->w, NPY_U1, 2);
    }
    if (c->loss == LOSS_SSDH) {
        if (!c->mask) die("--loss ssdh needs --mask (dsah-ssdh's mask.npy)");
        npy_open(&ma, c->mask, NPY_U1, 2);
        npy_expect_dim(&ma, 0, wa.shape[0], "rows (those of --w)");
        npy_expect_dim(&ma, 1, wa.shape[1], "bytes per row (those of --w)");
    }
    const int64_t N = im.shape[0], H = im.shape[1], Wd = im.shape[2], C = im.shape[3], n = ix.shape[0];
    if (C != 1 && C != 3) die("%s: images have %lld channels, expected 1 or 3", c->images, (long long)C);
    const int vgg = !strcmp(c->arch, "vgg19"), NC = net_input_channels((int)C, vgg), S = c->input;
    const int64_t *idx = ix.data;
    index_range_or_die(c->indices, idx, n, N, c->images);
    if (greedy) {
        npy_expect_dim(&fa, 0, n, "rows (one per training index)");
    } else {
        npy_expect_dim(&wa, 0, n, "rows (one per training index)");
        npy_expect_dim(&wa, 1, bits_row_bytes(n), "bytes per row (ceil(n/8))");
    }
    if (n < c->batch) die("%s: %lld training images, fewer than one batch of %d", c->indices, (long long)n, c->batch);

    net nt;
    char err[256];
    if (c->init) {
        net_load(&nt, c->init);
        if (strcmp(nt.arch, c->arch) || nt.bits != c->bits || nt.input != c->input || nt.channels != NC)
            die("%s: model is arch %s, bits %d, input %d, channels %d; the flags ask for arch %s, bits %d, input %d, "
                "channels %lld", c->init, nt.arch, nt.bits, nt.input, nt.channels, c->arch, c->bits, c->input, (long long)NC);
    } else {
        if (net_build(&nt, c->arch, NC, c->input, c->bits, err, sizeof err)) die("--arch: %s", err);
        net_init_params(&nt, c->seed);
        if (c->weights) {
            if (strcmp(c->arch, "vgg19")) die("--weights: only with --arch vgg19 (ImageNet VGG-19 weights)");
            st_file f;
            st_open(&f, c->weights);
            const char *pre[3] = {"features.", "classifier.0.", "classifier.3."};
            net_load_params(&nt, &f, pre, 3);
            st_close(&f);
        }
    }
    if (net_set_finetune(&nt, c->finetune)) die("--finetune: '%s' is not one of all, fc, head", c->finetune);
    /* the deepest layer a cache may hold: before the first dropout, or with
     * frozen_eval (frozen dropouts off) the last frozen layer but dropouts */
    const int deepest = c->frozen_eval ? net_frozen_eval(&nt) : net_prefix_layer(&nt);
    const int B = c->batch, L = c->bits;
    const char *why;
    if (c->cuda && !train_has_cuda_path(c->loss, &why)) die("--device cuda: %s has no CUDA path (use --device cpu)", why);
#if !DSAH_CUDA
    if (c->cuda) die("--device cuda: this build has no CUDA support");
#endif
    /* the host buffers of a step only on the CPU: on the GPU they live there */
    if (!c->cuda) net_alloc(&nt, B, 1);
    net_describe(&nt);
    /* frozen prefix from the cache: layers after pc.layer run per step */
    prefix_cache pc = {0};
    float *hb = NULL;
    if (c->prefix_indices && !c->prefix_cache) die("--prefix-indices goes with --prefix-cache (the cache it lists)");
    if (c->prefix_cache) {
        char top[32] = "";
        if (deepest >= 0) net_layer_label(&nt, deepest, top, sizeof top);
        const char *label = c->prefix_layer ? c->prefix_layer : top;
        if (!*label) die("--prefix-cache: finetune %s freezes nothing to cache", c->finetune);
        prefix_cache_open(&pc, c->prefix_cache, label, &nt, c->prefix_indices, idx, n, c->indices);
        prefix_cache_check_trainable(&pc, &nt, c->prefix_cache);
        hb = xaligned(sizeof(float) * (size_t)B * (size_t)pc.d);
        info("frozen prefix through %s from %s", label, c->prefix_cache);
    }
    adam opt;
    adam_init(&opt, nt.np - nt.train_off, c->adam_eps);
    if (c->init_optim) load_optim(&opt, c->init_optim);

    char *fp = fingerprint(c);
    char *ck_path = path_join(c->out, "checkpoint.safetensors");
    ckpt k = {0, opt.t, opt.t, NULL};
    size_t jcap = 4096;
    k.jsonl = xcalloc(jcap, 1);
    if (file_exists(ck_path)) {
        st_file f;
        st_open(&f, ck_path);
        const char *cf = st_meta(&f, "config");
        if (!cf || strcmp(cf, fp))
            die_hint("delete it to start over, or rerun with the settings it was made with",
                     "%s: checkpoint of a run with other settings", ck_path);
        read_flat(nt.params, &f, "params", nt.np);
        read_flat(opt.m, &f, "adam.m", opt.n);
        read_flat(opt.v, &f, "adam.v", opt.n);
        k.epoch = (int)meta_ll(&f, "epoch");
        k.t = opt.t = meta_ll(&f, "t");
        k.t0 = meta_ll(&f, "t0");
        const char *j = st_meta(&f, "jsonl");
        if (!j) die("%s: __metadata__ has no 'jsonl'", ck_path);
        jcap = strlen(j) + 4096;
        k.jsonl = xrealloc(k.jsonl, jcap);
        strcpy(k.jsonl, j);
        st_close(&f);
        info("resuming from %s after epoch %d (step %lld)", ck_path, k.epoch, (long long)k.t);
    }

#if DSAH_CUDA
    /* device state: the network from the first layer run, Adam's moments,
     * the batch's W block, dL/dz and the loss workspace */
    net_cuda gn;
    adam gopt = {0};
    float *g_w = NULL, *g_dz = NULL, *g_lws = NULL;
    const int g_first = hb ? pc.layer + 1 : 0;
    if (c->cuda) {
        net_cuda_alloc(&gn, &nt, B, 1, g_first);
        adam_init_cuda(&gopt, opt.n, c->adam_eps);
        gpu_upload(gopt.m, opt.m, sizeof(float) * (size_t)opt.n);
        gpu_upload(gopt.v, opt.v, sizeof(float) * (size_t)opt.n);
        gopt.t = opt.t;
        g_w = gpu_alloc(sizeof(float) * (size_t)B * B);
        g_dz = gpu_alloc(sizeof(float) * (size_t)B * L);
        g_lws = gpu_alloc(sizeof(float) * (size_t)dsah_loss_ws(B, L));
        info("training on %s, %.2f GiB of device memory", gpu_name(), gn.bytes / 1073741824.0);
    }
#endif
    const int64_t nb = n / B, rb = bits_row_bytes(n);
    int64_t *perm = xmalloc(sizeof(int64_t) * n), *bimg = xmalloc(sizeof(int64_t) * B);
    float *x = xaligned(sizeof(float) * (size_t)B * NC * S * S),
          *scr = xaligned(sizeof(float) * (size_t)net_input_scratch(B, (int)H, (int)Wd, (int)C, S, vgg)), *wb = xmalloc(sizeof(float) * B * B),
          *dz = xmalloc(sizeof(float) * B * L), *lws = xmalloc(sizeof(float) * dsah_loss_ws(B, L)),
          *mb = xmalloc(sizeof(float) * B * B);
    const uint8_t *W = wa.data, *Mk = ma.data;
    const int64_t fd = greedy ? fa.shape[1] : 0;
    const float *Fe = fa.data;
    float *fb = greedy ? xmalloc(sizeof(float) * (size_t)B * (size_t)fd) : NULL,
          *gws = greedy ? xmalloc(sizeof(float) * (size_t)greedyhash_loss_ws(B, fd)) : NULL;
    nt.linear_head = greedy;
    for (int e = k.epoch; e < c->epochs; e++) {
        double t_start = now_sec(), sum = 0, sp = 0, sq = 0;
        rng r;
        rng_seed(&r, c->seed ^ rng_hash64(0x53485546ULL ^ rng_hash64((uint64_t)k.t0 * 1000003ULL + (uint64_t)e)));
        for (int64_t i = 0; i < n; i++) perm[i] = i;
        rng_shuffle_i64(&r, perm, n);
        progress pr;
        char label[64];
        snprintf(label, sizeof label, "epoch %d/%d", e + 1, c->epochs);
        progress_begin(&pr, label, nb);
        for (int64_t bi = 0; bi < nb; bi++) {
            const int64_t *pb = perm + bi * B;
            for (int i = 0; i < B; i++) bimg[i] = idx[pb[i]];
            for (int i = 0; i < B; i++) {
                if (greedy) memcpy(fb + (int64_t)i * fd, Fe + pb[i] * fd, sizeof(float) * (size_t)fd);
                else
                    for (int j = 0; j < B; j++) {
                        wb[i * B + j] = bits_get(W + pb[i] * rb, pb[j]) ? 1.0f : -1.0f;
                        if (Mk) mb[i * B + j] = bits_get(Mk + pb[i] * rb, pb[j]) ? 1.0f : 0.0f;
                    }
            }
            const uint64_t step = (uint64_t)opt.t;
            const float *z;
            loss_parts lp = {0};
#if DSAH_CUDA
            if (c->cuda) {
                if (hb) {
                    prefix_cache_gather(hb, &pc, pb, B);
                    gpu_upload(gn.x, hb, sizeof(float) * (size_t)B * (size_t)nt.L[g_first - 1].out_n);
                } else {
                    net_cuda_input(&gn, im.data, bimg, B, (int)H, (int)Wd, (int)C, S, vgg);
                }
                gpu_upload(g_w, wb, sizeof(float) * (size_t)B * B);
                const float *gz = net_cuda_forward_from(&gn, gn.x, g_first, B, 1, c->seed, step);
                dsah_loss_forward_cuda(&lp, g_lws, gz, g_w, B, L, c->tau, c->lambda, c->pic, c->quant);
                if (!isfinite(lp.total)) die("loss is %g at epoch %d, batch %lld: lower --lr?", lp.total, e + 1, (long long)bi);
                dsah_loss_backward_cuda(g_dz, g_lws, &lp, gz, g_w, B, L, c->tau, c->lambda, c->pic, c->quant);
                net_cuda_backward(&gn, g_dz, B, c->seed, step);
                adam_step_cuda(&gopt, gn.params + nt.train_off, gn.grads, lr_at(c->lr, c->lr_factor, c->lr_every, gopt.t));
                opt.t = gopt.t;
                sum += lp.total;
                sp += lp.pair;
                sq += lp.quant;
                progress_update(&pr, bi + 1);
                continue;
            }
#endif
            if (hb) {
                prefix_cache_gather(hb, &pc, pb, B);
                z = net_forward_from(&nt, hb, pc.layer + 1, B, 1, c->seed, step);
            } else {
                net_input(x, scr, im.data, bimg, B, (int)H, (int)Wd, (int)C, S, vgg);
                z = net_forward(&nt, x, B, 1, c->seed, step);
            }
            if (c->loss == LOSS_SSDH) {
                lp.total = lp.pair = ssdh_loss_forward(lws, z, wb, mb, B, L);
                ssdh_loss_backward(dz, lws, z, mb, B, L);
            } else if (greedy) {
                lp.total = lp.pair = greedyhash_loss_forward(gws, z, fb, B, L, fd, c->gh_alpha);
                greedyhash_loss_backward(dz, gws, z, B, L, fd, c->gh_alpha);
            } else {
                dsah_loss_forward(&lp, lws, z, wb, B, L, c->tau, c->lambda, c->pic, c->quant);
                dsah_loss_backward(dz, lws, &lp, z, wb, B, L, c->tau, c->lambda, c->pic, c->quant);
            }
            if (!isfinite(lp.total)) die("loss is %g at epoch %d, batch %lld: lower --lr?", lp.total, e + 1, (long long)bi);
            sum += lp.total;
            sp += lp.pair;
            sq += lp.quant;
            net_backward(&nt, dz, B, c->seed, step);
            adam_step(&opt, nt.params + nt.train_off, nt.grads, lr_at(c->lr, c->lr_factor, c->lr_every, opt.t));
            progress_update(&pr, bi + 1);
        }
        progress_end(&pr);
        double secs = now_sec() - t_start;
        char line[512];
        snprintf(line, sizeof line,
                 "{\"epoch\": %d, \"loss\": %.6g, \"pair\": %.6g, \"quant\": %.6g, \"lambda\": %g, \"seconds\": %.3f, "
                 "\"img_per_s\": %.1f, \"lr\": %.6g, \"step\": %lld}",
                 e + 1, sum / nb, sp / nb, sq / nb, c->lambda, secs, (double)(nb * B) / secs,
                 lr_at(c->lr, c->lr_factor, c->lr_every, opt.t), (long long)opt.t);
        info("%s", line);
        jsonl_append(&k.jsonl, &jcap, line);
        k.epoch = e + 1;
        k.t = opt.t;
#if DSAH_CUDA
        if (c->cuda) {
            net_cuda_download_params(&gn);
            gpu_download(opt.m, gopt.m, sizeof(float) * (size_t)opt.n);
            gpu_download(opt.v, gopt.v, sizeof(float) * (size_t)opt.n);
        }
#endif
        write_ckpt(ck_path, &nt, &opt, &k, fp);
    }
    const char *p_opt = c->out_optim, *p_j = c->out_jsonl, *p_m = c->out_model;
    af_batch_begin();   /* all three outputs or none */
    save_optim(p_opt, &opt);
    atomic_file *af = af_open(p_j);
    af_write(af, k.jsonl, strlen(k.jsonl));
    af_commit(af);
    net_save(&nt, p_m);
    af_batch_commit();
    unlink(ck_path);
#if DSAH_CUDA
    if (c->cuda) {
        net_cuda_free(&gn);
        adam_free_cuda(&gopt);
        gpu_free(g_w);
        gpu_free(g_dz);
        gpu_free(g_lws);
    }
#endif
    free(ck_path); free(fp); free(k.jsonl);
    free(perm); free(bimg); free(x); free(scr); free(wb); free(dz); free(lws); free(mb); free(fb); free(gws);
    if (hb) {
        free(hb);
        prefix_cache_close(&pc);
    }
    if (Mk) npy_close(&ma);
    if (greedy) npy_close(&fa);
    else npy_close(&wa);
    adam_free(&opt);
    net_free(&nt);
    npy_close(&im); npy_close(&ix);
}
