/* fuzz_folder: any archive (zip, tar, tar.gz, ...) as a folder source of
 * JPEG/PNG images in class folders, decoded and resized to 8x8. */
#include "fuzz_ingest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fuzz_init();
    ingest_opts o = {.path = fuzz_write(0, "in.zip", data, size), .size = 8, .threads = 1};
    ingest_result r = {0};
    const char *out = fuzz_path(1, "images.npy");
    FUZZ_TRY(ingest_folder(&r, &o, out); fuzz_check_result(&r, out, 1); fuzz_free_result(&r));
    fuzz_clean();
    return 0;
}
