/* dsah-train: one DSAH training round (stages/README.md). Thin main: flags,
 * then train_run (common/nn/trainer.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/stages.h"
#include "nn/net.h"
#include "nn/trainer.h"
#include "util/device.h"
#include "util/util.h"

int main(int argc, char **argv) {
    dsah_init("dsah-train");
    train_args a;
    opt_parse(&train_cmd, &a, argc, argv);
    if (a.init && a.weights) die("--init and --weights exclude each other");
    const int greedy = !strcmp(a.loss, "greedyhash");
    if (greedy && !a.features) die("--loss greedyhash needs --features");
    if (greedy && a.w) die("--w is not used by --loss greedyhash");
    if (!greedy && a.features) die("--features is only for --loss greedyhash");
    if (!greedy && !a.w) die_hint("dsah-train --help lists the flags", "missing --w");
    train_cfg c = {.images = a.images, .indices = a.indices, .w = a.w, .init = a.init, .init_optim = a.init_optim,
                   .weights = a.weights, .arch = a.arch, .finetune = a.finetune, .out = a.out,
                   .input = (int)a.input, .bits = (int)a.bits, .epochs = (int)a.epochs, .batch = (int)a.batch,
                   .threads = (int)a.threads, .lr = a.lr, .adam_eps = a.adam_eps, .lr_factor = a.lr_factor,
                   .tau = a.tau, .lambda = a.lambda, .lr_every = a.lr_every, .pic = pic_parse("--pic", a.pic),
                   .quant = quant_parse("--quant", a.quant), .seed = (uint64_t)a.seed, .mask = a.mask,
                   .loss = greedy ? LOSS_GREEDYHASH : !strcmp(a.loss, "ssdh") ? LOSS_SSDH : LOSS_DSAH,
                   .features = a.features, .gh_alpha = a.gh_alpha, .prefix_cache = a.prefix_cache,
                   .prefix_layer = a.prefix_layer, .prefix_indices = a.prefix_indices,
                   .frozen_eval = a.frozen_eval};
    const char *why;
    const int path = train_has_cuda_path(c.loss, &why);
    c.cuda = device_select(a.device, a.precision, path, why) >= 0;
    char *model = opt_output(&train_cmd, &a, "out", "model.safetensors"),
         *jsonl = opt_output(&train_cmd, &a, "out", "train.jsonl"),
         *optim = opt_output(&train_cmd, &a, "out", "optim.safetensors");
    c.out_model = model, c.out_jsonl = jsonl, c.out_optim = optim;
    nn_set_threads(c.threads);
    mkdir_p(c.out);
    train_run(&c);
    free(model);
    free(jsonl);
    free(optim);
    return 0;
}
