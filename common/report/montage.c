/* montage.c: see montage.h. */
#include "report/montage.h"

#include <png.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#include "util/rng.h"
#include "util/util.h"

int64_t montage_rows(int64_t *qimg, int64_t *res, int *nres, uint8_t *rel, int64_t *shown, int rows, int k, uint64_t seed,
                     int64_t nq, const int64_t *queries, const int64_t *ids, const int64_t *lims, const uint8_t *labels,
                     int64_t ncols) {
    int64_t *pick = xmalloc(sizeof(int64_t) * (size_t)(rows > 0 ? rows : 1));
    rng r;
    rng_seed(&r, seed ^ rng_hash64(0x6d6f6e74616765ULL)); /* "montage" */
    rng_sample_i64(&r, pick, nq, rows);
    int64_t nrel = 0;
    *shown = 0;
    for (int i = 0; i < rows; i++) {
        const int64_t q = pick[i], n = lims[q + 1] - lims[q];
        qimg[i] = queries[q];
        nres[i] = (int)(n < k ? n : k);
        for (int t = 0; t < nres[i]; t++) {
            const int64_t id = ids[lims[q] + t];
            int same = 0;
            for (int64_t c = 0; c < ncols && id >= 0 && !same; c++)
                same = labels[qimg[i] * ncols + c] && labels[id * ncols + c];
            res[(int64_t)i * k + t] = id;
            rel[(int64_t)i * k + t] = (uint8_t)same;
            nrel += same;
            *shown += id >= 0;
        }
    }
    free(pick);
    return nrel;
}

static int64_t tile_w(int w, int scale) { return (int64_t)w * scale + 2 * MONTAGE_BORDER; }
static int64_t tile_h(int h, int scale) { return (int64_t)h * scale + 2 * MONTAGE_BORDER; }

void montage_size(int64_t *cw, int64_t *ch, int rows, int k, int h, int w, int scale) {
    *cw = (int64_t)(1 + k) * tile_w(w, scale) + (int64_t)k * MONTAGE_GAP + 3 * MONTAGE_GAP;
    *ch = (int64_t)rows * tile_h(h, scale) + (int64_t)(rows > 0 ? rows - 1 : 0) * MONTAGE_GAP;
}

/* one framed tile with its top-left corner at (x0, y0) */
static void tile(uint8_t *rgb, int64_t cw, int64_t x0, int64_t y0, const uint8_t *img, int h, int w, int c, int scale,
                 const uint8_t frame[3]) {
    const int64_t tw = tile_w(w, scale), th = tile_h(h, scale);
    for (int64_t y = 0; y < th; y++)
        for (int64_t x = 0; x < tw; x++) {
            uint8_t *p = rgb + ((y0 + y) * cw + x0 + x) * 3;
            const int64_t iy = y - MONTAGE_BORDER, ix = x - MONTAGE_BORDER;
            if (iy < 0 || ix < 0 || iy >= (int64_t)h * scale || ix >= (int64_t)w * scale) {
                memcpy(p, frame, 3);
                continue;
            }
            const uint8_t *s = img + ((iy / scale) * w + ix / scale) * c;
            for (int ch = 0; ch < 3; ch++) p[ch] = s[c == 3 ? ch : 0];
        }
}

void montage_draw(uint8_t *rgb, const uint8_t *images, int h, int w, int c, int scale, int rows, int k,
                  const int64_t *query, const int64_t *result, const int *nres, const uint8_t *rel) {
    int64_t cw, ch;
    montage_size(&cw, &ch, rows, k, h, w, scale);
    memset(rgb, 255, (size_t)(cw * ch * 3));
    static const uint8_t grey[3] = {128, 128, 128}, green[3] = {0, 160, 0}, red[3] = {210, 0, 0};
    const int64_t img_bytes = (int64_t)h * w * c, tw = tile_w(w, scale), th = tile_h(h, scale);
    for (int r = 0; r < rows; r++) {
        const int64_t y0 = r * (th + MONTAGE_GAP);
        tile(rgb, cw, 0, y0, images + query[r] * img_bytes, h, w, c, scale, grey);
        for (int t = 0; t < nres[r] && t < k; t++) {
            const int64_t id = result[(int64_t)r * k + t];
            if (id < 0) continue;
            const int64_t x0 = tw + 3 * MONTAGE_GAP + (int64_t)t * (tw + MONTAGE_GAP);
            tile(rgb, cw, x0, y0, images + id * img_bytes, h, w, c, scale, rel[(int64_t)r * k + t] ? green : red);
        }
    }
}

int png_write_rgb(FILE *fp, const uint8_t *rgb, int64_t w, int64_t h) {
    png_structp ps = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    if (!ps) return -1;
    png_infop pi = png_create_info_struct(ps);
    if (!pi || setjmp(png_jmpbuf(ps))) {
        png_destroy_write_struct(&ps, pi ? &pi : NULL);
        return -1;
    }
    png_init_io(ps, fp);
    png_set_IHDR(ps, pi, (png_uint_32)w, (png_uint_32)h, 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(ps, pi);
    for (int64_t y = 0; y < h; y++) png_write_row(ps, (png_const_bytep)(rgb + y * w * 3));
    png_write_end(ps, pi);
    png_destroy_write_struct(&ps, &pi);
    return 0;
}
