/* fuzz_model: model metadata as net_load reads it (arch string, channels,
 * input, bits) through net_build. Input: "channels input bits arch". */
#include "fuzz.h"
#include "nn/net.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fuzz_init();
    if (size > 4096) return 0;
    char *s = malloc(size + 1);
    memcpy(s, data, size);
    s[size] = 0;
    long c = 0, in = 0, bits = 0;
    int used = 0;
    if (sscanf(s, "%ld %ld %ld %n", &c, &in, &bits, &used) == 3 && c >= 1 && c <= (1L << 20) && in >= 1 &&
        in <= (1L << 20) && bits >= 1 && bits <= (1L << 20)) {
        net n;
        char err[256];
        if (net_build(&n, s + used, (int)c, (int)in, (int)bits, err, sizeof err) == 0) net_free(&n);
    }
    free(s);
    return 0;
}
