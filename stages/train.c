/* dsah-train: one DSAH training round (stages/README.md). Thin main: flags,
 * then train_run (common/nn/trainer.c). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/net.h"
#include "nn/trainer.h"
#include "util/util.h"

static void usage(void) {
    printf(
        "usage: dsah-train --images data/images.npy --indices data/train.npy --w W.npy\n"
        "                  --arch LIST|vgg19 --input S --bits L --out round<r>/ [options]\n"
        "One training round: trains the hashing network on the training images\n"
        "against the similarity matrix W (loss of DESIGN.md), one checkpoint per\n"
        "epoch (a rerun resumes from it). Writes OUT/model.safetensors,\n"
        "OUT/train.jsonl (one line per epoch) and OUT/optim.safetensors (Adam state\n"
        "for the next round's --init-optim).\n"
        "  --images F        u1 [N,H,W,C] images (C = 1 or 3; H = W = --input)\n"
        "  --indices F       i8 [n] training indices into the images\n"
        "  --w F             u1 [n, ceil(n/8)] bit-packed similarity matrix\n"
        "  --init M          start from this model (previous round); default: fresh init\n"
        "  --init-optim F    continue Adam (moments, step, lr schedule) from this\n"
        "                    optim.safetensors (previous round); default: fresh Adam\n"
        "  --weights F       VGG-19 ImageNet weights (torchvision or timm names; vgg19 only)\n"
        "  --arch A          comma list of conv3-K, pool, fc-N, dropout-P (ReLU after\n"
        "                    each conv and fc; hash fc + tanh appended), or vgg19\n"
        "  --input S         input size (the stored image size)\n"
        "  --bits L          code length\n"
        "  --epochs T        epochs (default 10)\n"
        "  --batch B         batch size (default 50; the remainder of an epoch is dropped)\n"
        "  --lr LR           learning rate (default 1e-4)\n"
        "  --adam-eps E      Adam epsilon, TF form (default 1e-8; the paper's code: 1.0)\n"
        "  --lr-every N      multiply lr by --lr-factor every N steps (default 200)\n"
        "  --lr-factor F     (default 0.99)\n"
        "  --tau T           PIC temperature (default 1)\n"
        "  --lambda L        quantisation weight (default 0)\n"
        "  --quant Q         z | u: quantisation term on the tanh outputs z (DESIGN.md) or on\n"
        "                    the normalised codes u = z/||z|| (the official code) (default z)\n"
        "  --pic M           pic | pic-minus | none (default pic)\n"
        "  --finetune M      all | fc | head: trainable part (default all)\n"
        "  --seed S          seed of init, shuffling, dropout (default 0)\n"
        "  --threads N       OpenMP/OpenBLAS threads (default: all cores)\n"
        "  --device D        auto | cpu (this build has no CUDA training) (default auto)\n"
        "  --loss L          dsah | ssdh | greedyhash: DSAH's loss against --w; SSDH's (Yang et\n"
        "                    al.) against the ternary S of dsah-ssdh; GreedyHash's (Su et al.),\n"
        "                    no --w, against --features (docs/baselines.md) (default dsah)\n"
        "  --mask F          with --loss ssdh: dsah-ssdh's mask.npy (S != 0); --w is its w.npy\n"
        "  --features F      with --loss greedyhash: f4 [n, d], the features of the --indices rows\n"
        "  --gh-alpha X      with --loss greedyhash: weight of the |u - sgn(u)|^3 penalty (default 0.1)\n"
        "  --out DIR         output directory (created)\n"
        "  -q, --quiet       no info or progress lines\n");
}

int main(int argc, char **argv) {
    dsah_init("dsah-train");
    train_cfg c = {0};
    c.epochs = 10; c.batch = 50; c.lr = 1e-4; c.adam_eps = 1e-8; c.lr_every = 200; c.lr_factor = 0.99;
    c.tau = 1; c.lambda = 0; c.gh_alpha = 0.1; c.pic = PIC_PIC; c.quant = QUANT_Z; c.finetune = "all"; c.seed = 0; c.threads = 0;
    const char *device = "auto";
    enum { O_IMAGES = 256, O_INDICES, O_W, O_INIT, O_INITOPT, O_WEIGHTS, O_ARCH, O_INPUT, O_BITS, O_EPOCHS, O_BATCH,
           O_LR, O_EPS, O_EVERY, O_FACTOR, O_TAU, O_LAMBDA, O_QUANT, O_PIC, O_FT, O_SEED, O_THREADS, O_DEVICE, O_OUT, O_HELP,
           O_LOSS, O_MASK, O_FEATURES, O_GHALPHA };
    static const struct option opts[] = {
        {"images", 1, 0, O_IMAGES}, {"indices", 1, 0, O_INDICES}, {"w", 1, 0, O_W}, {"init", 1, 0, O_INIT},
        {"init-optim", 1, 0, O_INITOPT}, {"weights", 1, 0, O_WEIGHTS}, {"arch", 1, 0, O_ARCH},
        {"input", 1, 0, O_INPUT}, {"bits", 1, 0, O_BITS}, {"epochs", 1, 0, O_EPOCHS}, {"batch", 1, 0, O_BATCH},
        {"lr", 1, 0, O_LR}, {"adam-eps", 1, 0, O_EPS}, {"lr-every", 1, 0, O_EVERY}, {"lr-factor", 1, 0, O_FACTOR},
        {"tau", 1, 0, O_TAU}, {"lambda", 1, 0, O_LAMBDA}, {"quant", 1, 0, O_QUANT}, {"pic", 1, 0, O_PIC}, {"finetune", 1, 0, O_FT},
        {"seed", 1, 0, O_SEED}, {"threads", 1, 0, O_THREADS}, {"device", 1, 0, O_DEVICE}, {"out", 1, 0, O_OUT},
        {"loss", 1, 0, O_LOSS}, {"mask", 1, 0, O_MASK}, {"features", 1, 0, O_FEATURES}, {"gh-alpha", 1, 0, O_GHALPHA},
        {"quiet", 0, 0, 'q'}, {"help", 0, 0, O_HELP}, {0, 0, 0, 0}};
    int o;
    while ((o = getopt_long(argc, argv, "q", opts, NULL)) != -1) {
        switch (o) {
        case O_IMAGES: c.images = optarg; break;
        case O_INDICES: c.indices = optarg; break;
        case O_W: c.w = optarg; break;
        case O_INIT: c.init = optarg; break;
        case O_INITOPT: c.init_optim = optarg; break;
        case O_WEIGHTS: c.weights = optarg; break;
        case O_ARCH: c.arch = optarg; break;
        case O_INPUT: c.input = (int)parse_ll("--input", optarg, 1, 4096); break;
        case O_BITS: c.bits = (int)parse_ll("--bits", optarg, 1, 4096); break;
        case O_EPOCHS: c.epochs = (int)parse_ll("--epochs", optarg, 1, 1000000); break;
        case O_BATCH: c.batch = (int)parse_ll("--batch", optarg, 2, 100000); break;
        case O_LR: c.lr = parse_double("--lr", optarg); break;
        case O_EPS: c.adam_eps = parse_double("--adam-eps", optarg); break;
        case O_EVERY: c.lr_every = parse_ll("--lr-every", optarg, 0, 1LL << 40); break;
        case O_FACTOR: c.lr_factor = parse_double("--lr-factor", optarg); break;
        case O_TAU: c.tau = parse_double("--tau", optarg); break;
        case O_LAMBDA: c.lambda = parse_double("--lambda", optarg); break;
        case O_QUANT: c.quant = quant_parse("--quant", optarg); break;
        case O_PIC: c.pic = pic_parse("--pic", optarg); break;
        case O_FT: c.finetune = optarg; break;
        case O_SEED: c.seed = (uint64_t)parse_ll("--seed", optarg, 0, INT64_MAX); break;
        case O_THREADS: c.threads = (int)parse_ll("--threads", optarg, 1, 4096); break;
        case O_DEVICE: device = optarg; break;
        case O_OUT: c.out = optarg; break;
        case O_LOSS:
            if (!strcmp(optarg, "dsah")) c.loss = LOSS_DSAH;
            else if (!strcmp(optarg, "ssdh")) c.loss = LOSS_SSDH;
            else if (!strcmp(optarg, "greedyhash")) c.loss = LOSS_GREEDYHASH;
            else die("--loss: '%s' is not one of dsah, ssdh, greedyhash", optarg);
            break;
        case O_MASK: c.mask = optarg; break;
        case O_FEATURES: c.features = optarg; break;
        case O_GHALPHA:
            c.gh_alpha = parse_double("--gh-alpha", optarg);
            if (!(c.gh_alpha >= 0)) die("--gh-alpha must be >= 0");
            break;
        case 'q': dsah_quiet = 1; break;
        case O_HELP: usage(); return 0;
        default: die_hint("dsah-train --help lists the flags", "bad command line");
        }
    }
    if (optind < argc) die("unexpected argument '%s'", argv[optind]);
    if (!c.images || !c.indices || (!c.w && c.loss != LOSS_GREEDYHASH) || !c.arch || !c.input || !c.bits || !c.out)
        die_hint("dsah-train --help", "--images, --indices, --w (but with --loss greedyhash), --arch, --input, --bits and "
                                      "--out are required");
    if (c.loss == LOSS_GREEDYHASH && !c.features) die("--loss greedyhash needs --features");
    if (c.loss == LOSS_GREEDYHASH && c.w) die("--w is not used by --loss greedyhash");
    if (c.loss != LOSS_GREEDYHASH && c.features) die("--features is only for --loss greedyhash");
    if (c.init && c.weights) die("--init and --weights exclude each other");
    if (c.loss == LOSS_SSDH && !c.mask) die("--loss ssdh needs --mask (dsah-ssdh's mask.npy)");
    if (c.loss != LOSS_SSDH && c.mask) die("--mask is only for --loss ssdh");
    if (!(c.lr > 0)) die("--lr must be > 0");
    if (!(c.adam_eps > 0)) die("--adam-eps must be > 0");
    if (!(c.tau > 0)) die("--tau must be > 0");
    if (!(c.lambda >= 0)) die("--lambda must be >= 0");
    if (!(c.lr_factor > 0)) die("--lr-factor must be > 0");
    check_device(device);
    if (strcmp(c.finetune, "all") && strcmp(c.finetune, "fc") && strcmp(c.finetune, "head"))
        die("--finetune: '%s' is not one of all, fc, head", c.finetune);
    nn_set_threads(c.threads);
    mkdir_p(c.out);
    train_run(&c);
    return 0;
}
