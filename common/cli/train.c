/* cli/train.c: the contract of dsah-train (cli/stages.h). */
#include "cli/stages.h"

#define A train_args
#define POSITIVE "(0, inf)"
static const opt train_opts[] = {
    {"images", OPT_IN, OPT_FIELD(A, images), .required = 1, .help = "u1 [N,H,W,C] images (C = 1 or 3)"},
    {"indices", OPT_IN, OPT_FIELD(A, indices), .required = 1, .help = "i8 [n] training indices into the images"},
    {"w", OPT_IN, OPT_FIELD(A, w), .help = "u1 [n, ceil(n/8)] bit-packed similarity matrix (required but with --loss greedyhash)"},
    {"init", OPT_IN, OPT_FIELD(A, init), .arg = "M",
     .help = "start from this model (previous round); default: fresh init"},
    {"init-optim", OPT_IN, OPT_FIELD(A, init_optim),
     .help = "continue Adam (moments, step, lr schedule) from this optim.safetensors\n"
             "(previous round); default: fresh Adam"},
    {"weights", OPT_IN, OPT_FIELD(A, weights), .key = "network.weights",
     .help = "VGG-19 ImageNet weights (torchvision or timm names; vgg19 only; not with --init)"},
    {"arch", OPT_STR, OPT_FIELD(A, arch), .arg = "A", .required = 1, .key = "network.arch",
     .help = "comma list of conv3-K, pool, fc-N, dropout-P (ReLU after each conv\n"
             "and fc; hash fc + tanh appended), or vgg19"},
    {"input", OPT_INT, OPT_FIELD(A, input), .arg = "S", .range = "[1, 4096]", .required = 1, .key = "network.input",
     .help = "input size (the stored image size)"},
    {"bits", OPT_INT, OPT_FIELD(A, bits), .arg = "L", .range = "[1, 4096]", .required = 1, .key = "train.bits",
     .help = "code length"},
    {"epochs", OPT_INT, OPT_FIELD(A, epochs), .arg = "T", .range = "[1, 1000000]", .def = "10", .key = "train.epochs",
     .help = "epochs"},
    {"batch", OPT_INT, OPT_FIELD(A, batch), .arg = "B", .range = "[2, 100000]", .def = "50", .key = "train.batch",
     .help = "batch size (the remainder of an epoch is dropped)"},
    {"lr", OPT_FLOAT, OPT_FIELD(A, lr), .range = POSITIVE, .def = "0.0001", .key = "train.lr", .help = "learning rate"},
    {"adam-eps", OPT_FLOAT, OPT_FIELD(A, adam_eps), .arg = "E", .range = POSITIVE, .def = "1e-8",
     .key = "train.adam_eps", .help = "Adam epsilon, TF form (the paper's code: 1.0)"},
    {"lr-every", OPT_INT, OPT_FIELD(A, lr_every), .range = "[0, 1099511627776]", .def = "200",
     .key = "train.lr_decay.every", .help = "multiply lr by --lr-factor every N steps"},
    {"lr-factor", OPT_FLOAT, OPT_FIELD(A, lr_factor), .arg = "F", .range = POSITIVE, .def = "0.99",
     .key = "train.lr_decay.factor", .help = "lr decay factor"},
    {"tau", OPT_FLOAT, OPT_FIELD(A, tau), .arg = "T", .range = POSITIVE, .def = "1", .key = "train.tau",
     .help = "PIC temperature (Eq. 16)"},
    {"lambda", OPT_FLOAT, OPT_FIELD(A, lambda), .arg = "L", .range = "[0, inf)", .def = "0", .key = "train.lambda",
     .help = "quantisation weight"},
    {"quant", OPT_ENUM, OPT_FIELD(A, quant), .choices = "z|u", .def = "z",
     .help = "quantisation term on the tanh outputs z (docs/DESIGN.md §Math) or on the\n"
             "normalised codes u = z/||z|| (the official code)"},
    {"pic", OPT_ENUM, OPT_FIELD(A, pic), .choices = "pic|pic-minus|none", .def = "pic", .key = "train.pic",
     .help = "pair weights: PIC, PIC- or none (PIC0)"},
    {"loss", OPT_ENUM, OPT_FIELD(A, loss), .choices = "dsah|ssdh|greedyhash", .def = "dsah",
     .help = "DSAH's loss against --w; SSDH's (Yang et al.) against the ternary S of\n"
             "dsah-ssdh; GreedyHash's (Su et al.), no --w, against --features (docs/baselines.md)"},
    {"mask", OPT_IN, OPT_FIELD(A, mask), .help = "with --loss ssdh: dsah-ssdh's mask.npy (S != 0); --w is its w.npy"},
    {"features", OPT_IN, OPT_FIELD(A, features),
     .help = "with --loss greedyhash: f4 [n, d], the features of the --indices rows"},
    {"gh-alpha", OPT_FLOAT, OPT_FIELD(A, gh_alpha), .arg = "X", .range = "[0, inf)", .def = "0.1",
     .help = "with --loss greedyhash: weight of the |u - sgn(u)|^3 penalty"},
    {"finetune", OPT_ENUM, OPT_FIELD(A, finetune), .choices = "all|fc|head", .def = "all", .key = "train.finetune",
     .help = "trainable part: all, the fc layers, or the hash head"},
    {"frozen-eval", OPT_FLAG, OPT_FIELD(A, frozen_eval),
     .help = "the frozen layers run in eval mode in training too (their dropout off):\n"
             "the frozen part is then a pure function of the image, and --prefix-cache\n"
             "may hold its last layer (vgg19 --finetune head: relu7, dsah-features'\n"
             "output); GreedyHash's head (eval.greedyhash_finetune)"},
    {"seed", OPT_INT, OPT_FIELD(A, seed), .arg = "S", .range = "[0, 9223372036854775807]", .def = "0",
     .key = "train.seed", .help = "seed of init, shuffling, dropout"},
    OPT_PREFIX_CACHE(A, "; default:\n"
                        "the deepest frozen layer before any dropout (finetune fc: pool5),\n"
                        "with --frozen-eval the last frozen layer but dropouts (head: relu7)"),
    OPT_THREADS(A, threads),
    OPT_DEVICE(A, device),
    OPT_PRECISION(A),
    {"out", OPT_OUTDIR, OPT_FIELD(A, out), .required = 1, .files = "model.safetensors train.jsonl optim.safetensors",
     .help = "output directory (created); checkpoint.safetensors is written there after\n"
             "each epoch while running and removed at the end"},
    {0}};

const opt_cmd train_cmd = {
    "train",
    "One training round: trains the hashing network on the training images\n"
    "against the similarity matrix W (the loss of docs/DESIGN.md §Math), one checkpoint\n"
    "per epoch (a rerun with the same flags resumes from it). train.jsonl has one\n"
    "line per epoch; optim.safetensors is the Adam state for the next round's\n"
    "--init-optim.\n",
    train_opts, NULL};
