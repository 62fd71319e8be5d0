/* fuzz_config: a pipeline YAML file and --set overrides through cfg_load.
 * Input: the YAML text, then NUL-separated --set strings ("key=value"). */
#include "fuzz.h"
#include "cli/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fuzz_init();
    const uint8_t *z = memchr(data, 0, size);
    size_t ylen = z ? (size_t)(z - data) : size;
    const char *p = fuzz_write(0, "p.yaml", data, ylen);
    char *rest = NULL;
    const char *sets[16];
    int nsets = 0;
    if (z) {
        size_t rl = size - ylen - 1;
        rest = malloc(rl + 1);
        memcpy(rest, z + 1, rl);
        rest[rl] = 0;
        for (char *s = rest; nsets < 16 && s < rest + rl; s += strlen(s) + 1) sets[nsets++] = s;
    }
    cfg c;
    char err[1024];
    if (cfg_load(&c, p, sets, nsets, err, sizeof err) == 0) {
        for (int i = 0; i < cfg_nkeys; i++) {
            char *v = cfg_join(&c, cfg_keys[i].key, ",");
            free(v);
        }
    }
    cfg_free(&c);
    free(rest);
    return 0;
}
