/* query.c: see query.h. */
#include "search/query.h"

#include <stdlib.h>
#include <string.h>

#include "nn/input.h"
#include "util/bits.h"
#include "util/util.h"

void qenc_open(query_encoder *e, const char *model, const uint8_t *images, int64_t N, int H, int W, int C,
               const char *images_path) {
    memset(e, 0, sizeof *e);
    net_load(&e->n, model);
    e->vgg = !strcmp(e->n.arch, "vgg19");
    if (C != 1 && C != 3) die("%s: images have %d channels, expected 1 or 3", images_path, C);
    if (net_input_channels(C, e->vgg) != e->n.channels)
        die("%s: images have %d channels, the model %s expects %d", images_path, C, model, e->n.channels);
    e->images = images;
    e->N = N;
    e->H = H, e->W = W, e->C = C;
    e->bits = e->n.bits;
    e->row_bytes = bits_row_bytes(e->bits);
    net_set_finetune(&e->n, "all");
    net_alloc(&e->n, 1, 0);
    const int S = e->n.input;
    e->x = xaligned(sizeof(float) * (size_t)e->n.channels * S * S);
    e->scr = xaligned(sizeof(float) * (size_t)net_input_scratch(1, H, W, C, S, e->vgg));
    e->pix = xmalloc((size_t)H * W * 3);
    e->one = xmalloc((size_t)H * W * C);
}

void qenc_close(query_encoder *e) {
    net_free(&e->n);
    free(e->x);
    free(e->scr);
    free(e->pix);
    free(e->rgb);
    free(e->one);
    resize_ws_free(&e->ws);
    memset(e, 0, sizeof *e);
}

static void encode(query_encoder *e, const uint8_t *images, int64_t i, uint8_t *code) {
    const int64_t idx = i;
    net_input(e->x, e->scr, images, &idx, 1, e->H, e->W, e->C, e->n.input, e->vgg);
    const float *z = net_forward(&e->n, e->x, 1, 0, 0, 0);
    bits_pack_signs(code, z, 1, e->bits);
}

void qenc_item(query_encoder *e, int64_t i, uint8_t *code) {
    CHECK(e->images && i >= 0 && i < e->N);
    encode(e, e->images, i, code);
}

int qenc_image(query_encoder *e, const uint8_t *buf, size_t len, uint8_t *code, char *err, size_t errlen) {
    int w, h;
    if (image_decode(&e->rgb, &e->rgbcap, &w, &h, buf, len, err, errlen)) return -1;
    image_resize(e->pix, e->rgb, w, h, e->W, e->H, &e->ws);
    const size_t np = (size_t)e->H * e->W;
    if (e->C == 3) {
        memcpy(e->one, e->pix, np * 3);
    } else {
        for (size_t p = 0; p < np; p++) {
            const uint32_t r = e->pix[3 * p], g = e->pix[3 * p + 1], b = e->pix[3 * p + 2];
            e->one[p] = (uint8_t)((19595 * r + 38470 * g + 7471 * b + 0x8000) >> 16);
        }
    }
    encode(e, e->one, 0, code);
    return 0;
}
