/* fuzz_st_json: the input is the JSON header of a safetensors file (the
 * length prefix is added here, then 64 data bytes), so that the fuzzer
 * spends its time in the header parser. */
#include "fuzz.h"
#include "format/safetensors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fuzz_init();
    size_t total = 8 + size + 64;
    uint8_t *b = calloc(1, total);
    for (int i = 0; i < 8; i++) b[i] = (uint8_t)((uint64_t)size >> (8 * i));
    memcpy(b + 8, data, size);
    const char *p = fuzz_write(0, "h.safetensors", b, total);
    free(b);
    st_file f;
    char err[512];
    if (st_try_open(&f, p, err, sizeof err) == 0) {
        for (int i = 0; i < f.n; i++)
            if (st_find(&f, f.t[i].name) == NULL) abort();
        (void)st_meta(&f, "format");
        st_close(&f);
    }
    return 0;
}
