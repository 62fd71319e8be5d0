/* fuzz_idx: the MNIST IDX loader. Input: up to four files separated by
 * "\n--8<--\n": train labels, t10k labels, train images, t10k images. */
#include "fuzz_ingest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fuzz_init();
    const uint8_t *part[4];
    size_t len[4];
    fuzz_split(data, size, part, len, 4);
    mkdir(fuzz_path(0, "idx"), 0700);
    fuzz_write(1, "idx/train-labels-idx1-ubyte", part[0], len[0]);
    fuzz_write(2, "idx/t10k-labels-idx1-ubyte", part[1], len[1]);
    fuzz_write(3, "idx/train-images-idx3-ubyte", part[2], len[2]);
    fuzz_write(4, "idx/t10k-images-idx3-ubyte", part[3], len[3]);
    ingest_opts o = {.path = fuzz_path(0, "idx"), .threads = 1};
    ingest_result r = {0};
    const char *out = fuzz_path(5, "images.npy");
    FUZZ_TRY(ingest_idx(&r, &o, out, 0); fuzz_check_result(&r, out, 1); fuzz_free_result(&r));
    fuzz_clean();
    return 0;
}
