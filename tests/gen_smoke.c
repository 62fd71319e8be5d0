/* gen_smoke: write a tiny MNIST-layout dataset (IDX, gzip) for the smoke
 * pipeline and the pipeline tests.
 *
 *   gen_smoke DIR [--n-train N] [--n-test N] [--size S] [--seed S]
 *
 * DIR/{train,t10k}-{images-idx3,labels-idx1}-ubyte.gz, 10 classes. Class c
 * is a fixed random S x S prototype (pixels 0 or 200, from the seed); each
 * image is its prototype with every pixel flipped with probability 0.1 and
 * Gaussian-like noise, so nearest neighbours in pixel space share the class
 * and retrieval works. Labels cycle 0..9. Deterministic in the seed. */
#include "util/rng.h"
#include "util/util.h"

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

static void be32(unsigned char *p, uint32_t v) {
    p[0] = (unsigned char)(v >> 24); p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8); p[3] = (unsigned char)v;
}

static void write_gz(const char *dir, const char *name, const unsigned char *hdr, size_t nh, const unsigned char *data, size_t nd) {
    char *path = path_join(dir, name);
    char *tmp = xmalloc(strlen(path) + 16);
    sprintf(tmp, "%s.tmp", path);
    gzFile gz = gzopen(tmp, "wb9");
    if (!gz) die("%s: cannot create", tmp);
    if (gzwrite(gz, hdr, (unsigned)nh) != (int)nh || gzwrite(gz, data, (unsigned)nd) != (int)nd) die("%s: write failed", tmp);
    if (gzclose(gz) != Z_OK) die("%s: close failed", tmp);
    if (rename(tmp, path)) die("%s: rename failed", path);
    free(tmp);
    free(path);
}

int main(int argc, char **argv) {
    dsah_init("gen_smoke");
    if (argc < 2) die("usage: gen_smoke DIR [--n-train N] [--n-test N] [--size S] [--seed S]");
    const char *dir = argv[1];
    long long ntr = 500, nte = 100, S = 12, seed = 1;
    for (int i = 2; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--n-train")) ntr = parse_ll("--n-train", argv[i + 1], 10, 1000000);
        else if (!strcmp(argv[i], "--n-test")) nte = parse_ll("--n-test", argv[i + 1], 10, 1000000);
        else if (!strcmp(argv[i], "--size")) S = parse_ll("--size", argv[i + 1], 4, 64);
        else if (!strcmp(argv[i], "--seed")) seed = parse_ll("--seed", argv[i + 1], 0, 1LL << 62);
        else die("unknown option %s", argv[i]);
    }
    mkdir_p(dir);
    rng r;
    rng_seed(&r, (uint64_t)seed);
    size_t px = (size_t)(S * S);
    unsigned char proto[10][64 * 64];
    for (int c = 0; c < 10; c++)
        for (size_t k = 0; k < px; k++) proto[c][k] = (rng_u64(&r) & 1) ? 200 : 0;
    for (int part = 0; part < 2; part++) {
        long long n = part ? nte : ntr;
        unsigned char *img = xmalloc((size_t)n * px), *lab = xmalloc((size_t)n);
        for (long long i = 0; i < n; i++) {
            int c = (int)(i % 10);
            lab[i] = (unsigned char)c;
            for (size_t k = 0; k < px; k++) {
                int v = proto[c][k];
                if (rng_below(&r, 10) == 0) v = 200 - v;
                v += (int)rng_below(&r, 41) - 20;
                img[(size_t)i * px + k] = (unsigned char)(v < 0 ? 0 : v > 255 ? 255 : v);
            }
        }
        unsigned char h[16];
        be32(h, 0x803); be32(h + 4, (uint32_t)n); be32(h + 8, (uint32_t)S); be32(h + 12, (uint32_t)S);
        write_gz(dir, part ? "t10k-images-idx3-ubyte.gz" : "train-images-idx3-ubyte.gz", h, 16, img, (size_t)n * px);
        be32(h, 0x801);
        write_gz(dir, part ? "t10k-labels-idx1-ubyte.gz" : "train-labels-idx1-ubyte.gz", h, 8, lab, (size_t)n);
        free(img);
        free(lab);
    }
    return 0;
}
