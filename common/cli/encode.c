/* cli/encode.c: the contract of dsah-encode (cli/stages.h). */
#include "cli/stages.h"

#define A encode_args
static const opt encode_opts[] = {
    {"model", OPT_IN, OPT_FIELD(A, model), .arg = "M", .required = 1, .help = "model.safetensors written by dsah-train"},
    {"images", OPT_IN, OPT_FIELD(A, images), .required = 1, .help = "u1 [N,H,W,C] images"},
    {"indices", OPT_IN, OPT_FIELD(A, indices), .required = 1, .help = "i8 [n] indices into the images"},
    {"real", OPT_FLAG, OPT_FIELD(A, real), .help = "write f4 tanh outputs instead of packed codes"},
    OPT_PREFIX_CACHE(A, ""),
    {"batch", OPT_INT, OPT_FIELD(A, batch), .arg = "B", .range = "[1, 1048576]", .nostamp = 1,
     .help = "images per forward pass (default 256; on the CPU at inputs > 64: 16, 100 with --prefix-cache)"},
    {"threads", OPT_INT, OPT_FIELD(A, threads), .arg = "N", .range = "[1, 4096]", .nostamp = 1,
     .help = "OpenMP threads (default: all cores)"},
    OPT_DEVICE(A, device),
    OPT_PRECISION(A),
    {"out", OPT_OUT, OPT_FIELD(A, out), .required = 1, .help = "output .npy"},
    {0}};

const opt_cmd encode_cmd = {
    "encode",
    "Codes of the images at the given indices: b = sgn(F(x)) packed (u1 [n, ceil(bits/8)],\n"
    "bit k of byte k/8 LSB-first, 1 = +1, sgn(0) = +1), or with --real the tanh\n"
    "outputs z = tanh(F(x)) (f4 [n, bits], the input of dsah-and). Dropout is off.\n"
    "The architecture, input size, bits and channels come from the model's metadata.\n",
    encode_opts, NULL};
