/* fuzz_cifar: the CIFAR-10 loader on a fuzzed tar(.gz). */
#include "fuzz_ingest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fuzz_init();
    ingest_opts o = {.path = fuzz_write(0, "cifar.tar.gz", data, size), .threads = 1};
    ingest_result r = {0};
    const char *out = fuzz_path(1, "images.npy");
    FUZZ_TRY(ingest_cifar10(&r, &o, out); fuzz_check_result(&r, out, 1); fuzz_free_result(&r));
    fuzz_clean();
    return 0;
}
