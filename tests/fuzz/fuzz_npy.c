/* fuzz_npy: a .npy file through npy_try_open; on success every payload byte
 * is read (a size check that lies reads past the mapping). */
#include "fuzz.h"
#include "format/npy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fuzz_init();
    const char *p = fuzz_write(0, "a.npy", data, size);
    npy_array a;
    char err[512];
    if (npy_try_open(&a, p, err, sizeof err) == 0) {
        unsigned sum = 0;
        for (size_t i = 0; i < a.nbytes; i++) sum += ((const uint8_t *)a.data)[i];
        if (a.count * (int64_t)npy_itemsize(a.dtype) != (int64_t)a.nbytes || sum == 0xFFFFFFFFu) abort();
        npy_close(&a);
    }
    return 0;
}
