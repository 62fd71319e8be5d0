/* fuzz_nuswide: the NUS-WIDE loader, annotations and images in one archive
 * (ImageList/Imagelist.txt, Groundtruth/AllLabels/Labels_*.txt, images);
 * the 2 most frequent concepts kept. */
#include "fuzz_ingest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fuzz_init();
    ingest_opts o = {.path = fuzz_write(0, "nus.tar", data, size), .size = 8, .threads = 1};
    ingest_result r = {0};
    const char *out = fuzz_path(1, "images.npy");
    FUZZ_TRY(ingest_nuswide(&r, &o, out, 2); fuzz_check_result(&r, out, 1); fuzz_free_result(&r));
    fuzz_clean();
    return 0;
}
