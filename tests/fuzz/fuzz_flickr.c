/* fuzz_flickr: the FLICKR25K loader. Input: the image archive, "\n--8<--\n",
 * then the annotations archive. */
#include "fuzz_ingest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fuzz_init();
    const uint8_t *part[2];
    size_t len[2];
    fuzz_split(data, size, part, len, 2);
    ingest_opts o = {.path = fuzz_write(0, "images.zip", part[0], len[0]),
                     .annotations = fuzz_write(1, "ann.zip", part[1], len[1]), .size = 8, .threads = 1};
    ingest_result r = {0};
    const char *out = fuzz_path(2, "images.npy");
    FUZZ_TRY(ingest_flickr25k(&r, &o, out); fuzz_check_result(&r, out, 1); fuzz_free_result(&r));
    fuzz_clean();
    return 0;
}
