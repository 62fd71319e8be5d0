/* image.c: JPEG/PNG decoding to RGB u8 and PIL's antialiased bilinear resize
 * (see image.h for the exact conventions). */
#include "data/image.h"

#include <math.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#include <jerror.h>
#include <png.h>

#include "util/util.h"

/* Pillow's DecompressionBombError, before any pixel buffer: the header's
 * width x height against dsah_limit.pixels. */
static int too_many_pixels(uint64_t w, uint64_t h, char *err, size_t errlen) {
    if (w * h <= (uint64_t)dsah_limit.pixels) return 0;   /* w, h < 2^32: no overflow */
    snprintf(err, errlen, "%llux%llu is %llu pixels, more than the limit of %lld (decompression bomb?); "
             "raise it with --limit pixels=N", (unsigned long long)w, (unsigned long long)h,
             (unsigned long long)(w * h), (long long)dsah_limit.pixels);
    return 1;
}

static int grow(uint8_t **p, size_t *cap, size_t need) {
    if (*cap >= need) return 0;
    uint8_t *q = realloc(*p, need);
    if (!q) return -1;
    *p = q;
    *cap = need;
    return 0;
}

/* ---- JPEG ---------------------------------------------------------------- */
typedef struct jerr_mgr {
    struct jpeg_error_mgr pub;
    jmp_buf jb;
    int truncated;
    char msg[JMSG_LENGTH_MAX];
} jerr_mgr;

static void jpeg_fail(j_common_ptr ci) {
    jerr_mgr *e = (jerr_mgr *)ci->err;
    (*ci->err->format_message)(ci, e->msg);
    longjmp(e->jb, 1);
}

/* Warnings (level -1): only a premature end of file is an error (PIL raises
 * "image file is truncated" there too); trace messages are dropped. */
static void jpeg_message(j_common_ptr ci, int level) {
    jerr_mgr *e = (jerr_mgr *)ci->err;
    if (level < 0 && ci->err->msg_code == JWRN_JPEG_EOF && !e->truncated) {
        e->truncated = 1;
        (*ci->err->format_message)(ci, e->msg);
    }
}

static int decode_jpeg(uint8_t **rgb, size_t *cap, int *w, int *h,
                       const uint8_t *buf, size_t len, char *err, size_t errlen) {
    struct jpeg_decompress_struct ci;
    jerr_mgr je;
    uint8_t *volatile row = NULL;
    memset(&je, 0, sizeof je);
    ci.err = jpeg_std_error(&je.pub);
    je.pub.error_exit = jpeg_fail;
    je.pub.emit_message = jpeg_message;
    if (setjmp(je.jb)) {
        snprintf(err, errlen, "corrupt JPEG: %s", je.msg);
        jpeg_destroy_decompress(&ci);
        free(row);
        return -1;
    }
    jpeg_create_decompress(&ci);
    jpeg_mem_src(&ci, buf, (unsigned long)len);
    jpeg_read_header(&ci, TRUE);
    if (too_many_pixels(ci.image_width, ci.image_height, err, errlen)) {
        jpeg_destroy_decompress(&ci);
        return -1;
    }
    int cmyk = ci.jpeg_color_space == JCS_CMYK || ci.jpeg_color_space == JCS_YCCK;
    ci.out_color_space = cmyk ? JCS_CMYK : JCS_RGB;
    jpeg_start_decompress(&ci);
    int W = (int)ci.output_width, H = (int)ci.output_height;
    if (grow(rgb, cap, (size_t)W * H * 3)) {
        snprintf(err, errlen, "out of memory for a %dx%d image", W, H);
        jpeg_destroy_decompress(&ci);
        return -1;
    }
    if (cmyk) row = malloc((size_t)W * 4);
    if (cmyk && !row) {
        snprintf(err, errlen, "out of memory for a %dx%d image", W, H);
        jpeg_destroy_decompress(&ci);
        return -1;
    }
    while ((int)ci.output_scanline < H) {
        int y = (int)ci.output_scanline;
        JSAMPROW r = cmyk ? row : *rgb + (size_t)y * W * 3;
        jpeg_read_scanlines(&ci, &r, 1);
        if (cmyk) {
            /* Adobe CMYK JPEGs store inverted values: R = C*K/255 (PIL's
             * CMYK->RGB after its Adobe inversion gives the same). */
            uint8_t *o = *rgb + (size_t)y * W * 3;
            for (int x = 0; x < W; x++) {
                unsigned k = row[4 * x + 3];
                for (int c = 0; c < 3; c++) o[3 * x + c] = (uint8_t)((row[4 * x + c] * k + 127) / 255);
            }
        }
    }
    int trunc = je.truncated;
    if (!trunc) jpeg_finish_decompress(&ci);
    jpeg_destroy_decompress(&ci);
    free(row);
    if (trunc) {
        snprintf(err, errlen, "truncated JPEG: %s", je.msg);
        return -1;
    }
    *w = W;
    *h = H;
    return 0;
}

/* ---- PNG ----------------------------------------------------------------- */
typedef struct png_src {
    const uint8_t *p;
    size_t len, off;
    char msg[200];
} png_src;

static void png_read_mem(png_structp ps, png_bytep out, png_size_t n) {
    png_src *s = png_get_io_ptr(ps);
    if (n > s->len - s->off) png_error(ps, "unexpected end of file (truncated PNG)");
    memcpy(out, s->p + s->off, n);
    s->off += n;
}

static void png_fail(png_structp ps, png_const_charp m) {
    png_src *s = png_get_error_ptr(ps);
    snprintf(s->msg, sizeof s->msg, "%s", m);
    png_longjmp(ps, 1);
}

static void png_warn(png_structp ps, png_const_charp m) { (void)ps; (void)m; }

static int decode_png(uint8_t **rgb, size_t *cap, int *w, int *h,
                      const uint8_t *buf, size_t len, char *err, size_t errlen) {
    png_src src = {buf, len, 0, {0}};
    png_structp ps = png_create_read_struct(PNG_LIBPNG_VER_STRING, &src, png_fail, png_warn);
    CHECK(ps);
    png_infop pi = png_create_info_struct(ps);
    CHECK(pi);
    png_bytep *volatile rows = NULL;
    if (setjmp(png_jmpbuf(ps))) {
        snprintf(err, errlen, "corrupt PNG: %s", src.msg);
        png_destroy_read_struct(&ps, &pi, NULL);
        free(rows);
        return -1;
    }
    png_set_read_fn(ps, &src, png_read_mem);
    png_read_info(ps, pi);
    png_uint_32 W = png_get_image_width(ps, pi), H = png_get_image_height(ps, pi);
    if (too_many_pixels(W, H, err, errlen)) {
        png_destroy_read_struct(&ps, &pi, NULL);
        return -1;
    }
    int ct = png_get_color_type(ps, pi), bd = png_get_bit_depth(ps, pi);
    /* convert("RGB"): palette -> RGB, gray -> replicated, alpha dropped. */
    if (ct == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(ps);
    if (ct == PNG_COLOR_TYPE_GRAY && bd < 8) png_set_expand_gray_1_2_4_to_8(ps);
    if (bd == 16) png_set_strip_16(ps);
    /* Palette and low-bit gray expansion turn tRNS into an alpha channel
     * too: strip it as well. */
    if ((ct & PNG_COLOR_MASK_ALPHA) || png_get_valid(ps, pi, PNG_INFO_tRNS)) png_set_strip_alpha(ps);
    if (!(ct & PNG_COLOR_MASK_COLOR)) png_set_gray_to_rgb(ps);
    png_set_interlace_handling(ps);
    png_read_update_info(ps, pi);
    if (png_get_rowbytes(ps, pi) != (size_t)W * 3) png_error(ps, "unexpected row size after RGB conversion");
    if (W > 65535 || H > 65535) png_error(ps, "image larger than 65535 pixels per side");
    if (grow(rgb, cap, (size_t)W * H * 3)) png_error(ps, "out of memory");
    rows = malloc(sizeof(png_bytep) * H);
    if (!rows) png_error(ps, "out of memory");
    for (png_uint_32 y = 0; y < H; y++) rows[y] = *rgb + (size_t)y * W * 3;
    png_read_image(ps, rows);
    png_read_end(ps, NULL);
    png_destroy_read_struct(&ps, &pi, NULL);
    free(rows);
    *w = (int)W;
    *h = (int)H;
    return 0;
}

int image_decode(uint8_t **rgb, size_t *cap, int *w, int *h,
                 const uint8_t *buf, size_t len, char *err, size_t errlen) {
    static const uint8_t png_sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    if (len >= 3 && buf[0] == 0xFF && buf[1] == 0xD8 && buf[2] == 0xFF)
        return decode_jpeg(rgb, cap, w, h, buf, len, err, errlen);
    if (len >= 8 && memcmp(buf, png_sig, 8) == 0)
        return decode_png(rgb, cap, w, h, buf, len, err, errlen);
    snprintf(err, errlen, "not a JPEG or PNG file (%zu bytes%s)", len, len ? ", unknown signature" : "");
    return -1;
}

/* ---- resize (Pillow's Resample.c, bilinear, 8 bits per channel) -------- */
#define PREC 22   /* Pillow's PRECISION_BITS = 32 - 8 - 2 */

static double triangle(double x) {
    if (x < 0) x = -x;
    return x < 1.0 ? 1.0 - x : 0.0;
}

void resize_axis_init(resize_axis *a, int in, int out) {
    double scale = (double)in / out;
    double filterscale = scale < 1.0 ? 1.0 : scale;
    double support = 1.0 * filterscale;
    a->in = in;
    a->out = out;
    a->ksize = (int)ceil(support) * 2 + 1;
    a->lo = xmalloc(sizeof(int) * out);
    a->n = xmalloc(sizeof(int) * out);
    a->k = xcalloc((size_t)out * a->ksize, sizeof(int32_t));
    a->kd = xcalloc((size_t)out * a->ksize, sizeof(double));
    for (int o = 0; o < out; o++) {
        double center = (o + 0.5) * scale, ww = 0.0, ss = 1.0 / filterscale;
        int xmin = (int)(center - support + 0.5);
        if (xmin < 0) xmin = 0;
        int xmax = (int)(center + support + 0.5);
        if (xmax > in) xmax = in;
        xmax -= xmin;
        double *k = a->kd + (size_t)o * a->ksize;
        for (int x = 0; x < xmax; x++) {
            k[x] = triangle((x + xmin - center + 0.5) * ss);
            ww += k[x];
        }
        for (int x = 0; x < xmax; x++)
            if (ww != 0.0) k[x] /= ww;
        for (int x = 0; x < xmax; x++)
            a->k[(size_t)o * a->ksize + x] = k[x] < 0 ? (int32_t)(-0.5 + k[x] * (1 << PREC))
                                                      : (int32_t)(0.5 + k[x] * (1 << PREC));
        a->lo[o] = xmin;
        a->n[o] = xmax;
    }
}

void resize_axis_free(resize_axis *a) {
    free(a->lo);
    free(a->n);
    free(a->k);
    free(a->kd);
    memset(a, 0, sizeof *a);
}

void resize_ws_free(resize_ws *ws) {
    free(ws->tmp);
    free(ws->acc);
    resize_axis_free(&ws->ax);
    resize_axis_free(&ws->ay);
    memset(ws, 0, sizeof *ws);
}

static inline uint8_t clip8(int32_t v) {
    v >>= PREC;
    return v < 0 ? 0 : v > 255 ? 255 : (uint8_t)v;
}

static void axis_cached(resize_axis *a, int in, int out) {
    if (a->lo && a->in == in && a->out == out) return;
    resize_axis_free(a);
    resize_axis_init(a, in, out);
}

/* out [rows, ow, 3] = horizontal pass over input rows [y0, y0+rows) of in [., iw, 3]. */
static void pass_h(uint8_t *out, const uint8_t *in, int iw, int y0, int rows, const resize_axis *a) {
    for (int y = 0; y < rows; y++) {
        const uint8_t *src = in + (size_t)(y0 + y) * iw * 3;
        uint8_t *dst = out + (size_t)y * a->out * 3;
        for (int o = 0; o < a->out; o++) {
            const int32_t *k = a->k + (size_t)o * a->ksize;
            const uint8_t *s = src + (size_t)a->lo[o] * 3;
            int32_t s0 = 1 << (PREC - 1), s1 = s0, s2 = s0;
            for (int x = 0; x < a->n[o]; x++) {
                s0 += s[3 * x + 0] * k[x];
                s1 += s[3 * x + 1] * k[x];
                s2 += s[3 * x + 2] * k[x];
            }
            dst[3 * o + 0] = clip8(s0);
            dst[3 * o + 1] = clip8(s1);
            dst[3 * o + 2] = clip8(s2);
        }
    }
}

/* out [a->out, w, 3] = vertical pass over in [., w, 3], whose row 0 is input
 * row y0. acc [w*3] is scratch: rows are accumulated whole so that the inner
 * loop runs over contiguous bytes. */
static void pass_v(uint8_t *out, const uint8_t *in, int w, int y0, const resize_axis *a, int32_t *acc) {
    size_t stride = (size_t)w * 3;
    for (int o = 0; o < a->out; o++) {
        const int32_t *k = a->k + (size_t)o * a->ksize;
        const uint8_t *base = in + (size_t)(a->lo[o] - y0) * stride;
        uint8_t *dst = out + (size_t)o * stride;
        for (size_t i = 0; i < stride; i++) acc[i] = 1 << (PREC - 1);
        for (int y = 0; y < a->n[o]; y++) {
            const uint8_t *r = base + (size_t)y * stride;
            int32_t ky = k[y];
            for (size_t i = 0; i < stride; i++) acc[i] += r[i] * ky;
        }
        for (size_t i = 0; i < stride; i++) dst[i] = clip8(acc[i]);
    }
}

static int32_t *acc_row(resize_ws *ws, int w) {
    if (ws->acccap < (size_t)w * 3) {
        free(ws->acc);
        ws->acc = xmalloc(sizeof(int32_t) * (size_t)w * 3);
        ws->acccap = (size_t)w * 3;
    }
    return ws->acc;
}

void image_resize(uint8_t *out, const uint8_t *in, int iw, int ih, int ow, int oh, resize_ws *ws) {
    int need_h = ow != iw, need_v = oh != ih;
    if (!need_h && !need_v) {
        memcpy(out, in, (size_t)iw * ih * 3);
        return;
    }
    axis_cached(&ws->ay, ih, oh);
    if (!need_h) {
        pass_v(out, in, iw, 0, &ws->ay, acc_row(ws, iw));
        return;
    }
    axis_cached(&ws->ax, iw, ow);
    if (!need_v) {
        pass_h(out, in, iw, 0, ih, &ws->ax);
        return;
    }
    /* Only the input rows the vertical pass reads go through the horizontal
     * pass (Pillow's ybox_first..ybox_last). */
    int y0 = ws->ay.lo[0], y1 = ws->ay.lo[oh - 1] + ws->ay.n[oh - 1];
    size_t need = (size_t)(y1 - y0) * ow * 3;
    if (ws->cap < need) {
        free(ws->tmp);
        ws->tmp = xmalloc(need);
        ws->cap = need;
    }
    pass_h(ws->tmp, in, iw, y0, y1 - y0, &ws->ax);
    pass_v(out, ws->tmp, ow, y0, &ws->ay, acc_row(ws, ow));
}
