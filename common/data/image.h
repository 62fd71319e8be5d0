/* image.h: decode JPEG (libjpeg-turbo) and PNG (libpng) to RGB u8, and the
 * antialiased bilinear resize of PIL's Image.resize(size, Image.BILINEAR).
 *
 * Decoding matches PIL's Image.open(f).convert("RGB"), which is what
 * torchvision's default loader does:
 *   - JPEG: libjpeg defaults (ISLOW DCT, fancy upsampling), output RGB;
 *     grayscale is replicated to 3 channels by libjpeg; CMYK/YCCK (Adobe,
 *     stored inverted) is converted as R = C*K/255 etc. A truncated file
 *     ("premature end of JPEG file") is an error; libjpeg's other warnings
 *     (e.g. extraneous bytes before a marker) are ignored, as PIL does.
 *   - PNG: palette expanded, gray replicated, 1/2/4-bit expanded to 8,
 *     16-bit reduced to its high byte, alpha (and tRNS) dropped without
 *     compositing: exactly convert("RGB").
 * The format is recognised by the first bytes, not by the file name.
 *
 * Resize (image_resize): PIL's ImagingResample with the bilinear (triangle)
 * filter: support 1 scaled by the downscale factor (so downscaling averages
 * over the whole footprint, i.e. antialiased), coefficients normalised per
 * output pixel, a horizontal pass first (rows [ymin, ymax) only) into an u8
 * temporary, then a vertical pass, both in PIL's 22-bit fixed point with
 * round-half-up and clamping. The result is byte-identical to Pillow's
 * Image.resize((w, h), Image.BILINEAR) (torchvision's Resize with
 * antialias=True on PIL images). */
#ifndef DSAH_IMAGE_H
#define DSAH_IMAGE_H

#include <stddef.h>
#include <stdint.h>

/* Decode an in-memory JPEG or PNG file to RGB u8 [h, w, 3] (row-major).
 * *rgb is (re)allocated with realloc as needed; *cap is its capacity in
 * bytes (both may start as NULL / 0 and be reused across calls).
 * Returns 0, or -1 with a message in err (no file name: the caller adds it). */
int image_decode(uint8_t **rgb, size_t *cap, int *w, int *h,
                 const uint8_t *buf, size_t len, char *err, size_t errlen);

/* Resize coefficients of one axis: for each output position o, taps
 * [lo[o], lo[o]+n[o]) of the input with 22-bit fixed-point weights
 * k[o*ksize .. o*ksize+n[o]). */
typedef struct resize_axis {
    int in, out, ksize;
    int *lo, *n;
    int32_t *k;
    double *kd;   /* the normalised double weights, same layout (for tests) */
} resize_axis;

void resize_axis_init(resize_axis *a, int in, int out);
void resize_axis_free(resize_axis *a);

/* Scratch for image_resize; reused across images of any size. */
typedef struct resize_ws {
    uint8_t *tmp;
    size_t cap;
    int32_t *acc;
    size_t acccap;
    resize_axis ax, ay;
} resize_ws;
void resize_ws_free(resize_ws *ws);

/* out [oh, ow, 3] = resize of in [ih, iw, 3] (PIL bilinear, see above).
 * Same size: a copy. ws caches the axis coefficients between calls with the
 * same sizes. */
void image_resize(uint8_t *out, const uint8_t *in, int iw, int ih, int ow, int oh, resize_ws *ws);

#endif
