/* fuzz_image: JPEG/PNG decode (image_decode) and PIL bilinear resize to 8x8
 * and to 5x3. */
#include "fuzz.h"
#include "data/image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fuzz_init();
    static uint8_t *rgb;
    static size_t cap;
    static resize_ws ws;
    uint8_t out[8 * 8 * 3];
    int w, h;
    char err[256];
    if (image_decode(&rgb, &cap, &w, &h, data, size, err, sizeof err) == 0) {
        image_resize(out, rgb, w, h, 8, 8, &ws);
        image_resize(out, rgb, w, h, 5, 3, &ws);
    }
    return 0;
}
