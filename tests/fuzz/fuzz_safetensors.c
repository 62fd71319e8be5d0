/* fuzz_safetensors: a safetensors file through st_try_open; on success every
 * tensor's bytes are read and the metadata looked up. */
#include "fuzz.h"
#include "format/safetensors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fuzz_init();
    const char *p = fuzz_write(0, "a.safetensors", data, size);
    st_file f;
    char err[512];
    if (st_try_open(&f, p, err, sizeof err) == 0) {
        unsigned sum = 0;
        for (int i = 0; i < f.n; i++) {
            const uint8_t *b = f.t[i].data;
            for (size_t k = 0; k < f.t[i].nbytes; k++) sum += b[k];
            if (st_find(&f, f.t[i].name) == NULL) abort();
        }
        (void)st_meta(&f, "arch");
        if (sum == 0xFFFFFFFFu) abort();
        st_close(&f);
    }
    return 0;
}
