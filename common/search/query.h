/* query.h: query codes from images and dataset items, with a model.
 *
 * An image file becomes a code exactly as an image of the dataset does:
 * decoded to RGB (data/image.h), resized to the dataset's H x W with PIL's
 * bilinear filter (what dsah-ingest does to folder images), made grey with
 * PIL's "L" weights ((19595 R + 38470 G + 7471 B + 2^15) >> 16) when the
 * dataset has C = 1, then net_input + net_forward + sign packing, as
 * dsah-encode does. Not thread-safe: one encoder per thread, or a lock. */
#ifndef DSAH_QUERY_H
#define DSAH_QUERY_H

#include <stddef.h>
#include <stdint.h>

#include "data/image.h"
#include "nn/net.h"

typedef struct query_encoder {
    net n;
    int vgg, bits;
    int64_t row_bytes;
    int H, W, C;                 /* the dataset's image shape */
    const uint8_t *images;       /* [N, H, W, C] or NULL */
    int64_t N;
    float *x, *scr;              /* one image's network input and scratch */
    uint8_t *pix, *rgb, *one;    /* resized RGB, decoded RGB, the image in the dataset's layout */
    size_t rgbcap;
    resize_ws ws;
} query_encoder;

/* Load the model; images [N, H, W, C] (may be NULL with N = 0) is the
 * dataset (items index it; its H, W, C is what uploads are resized to).
 * Dies naming the file when the model and the images do not fit. */
void qenc_open(query_encoder *e, const char *model, const uint8_t *images, int64_t N, int H, int W, int C,
               const char *images_path);
void qenc_close(query_encoder *e);
/* code [row_bytes] of dataset item i (0 <= i < N). */
void qenc_item(query_encoder *e, int64_t i, uint8_t *code);
/* code of an image file's bytes: 0, or -1 with the reason in err. */
int qenc_image(query_encoder *e, const uint8_t *buf, size_t len, uint8_t *code, char *err, size_t errlen);

#endif
