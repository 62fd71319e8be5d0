/* t_images.c: image decoding, the PIL bilinear resize, and the FLICKR25K,
 * NUS-WIDE and folder sources on archives generated here in each layout.
 *
 * References are independent of common/data/image.c: PNGs are written here from
 * known pixels (decode must be exact); JPEGs are compared with libjpeg's own
 * decode of the same bytes; the resize with a plain double-precision
 * evaluation of the filter formula (2-D, no intermediate rounding), within 1
 * grey level (the implementation rounds after each pass, as Pillow does). */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <jpeglib.h>
#include <math.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "data/image.h"
#include "data/ingest_images.h"
#include "format/npy.h"
#include "util/rng.h"
#include "tap.h"
#include "util/util.h"

static char tmpdir[512];

/* ---- fixtures ----------------------------------------------------------- */
/* A smooth pattern plus noise, so that both resize and JPEG have work. */
static uint8_t *make_pixels(int w, int h, int c, uint64_t seed) {
    rng r;
    rng_seed(&r, seed);
    uint8_t *p = xmalloc((size_t)w * h * c);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            for (int k = 0; k < c; k++) {
                double v = 128 + 90 * sin(0.21 * x * (k + 1) + 0.13 * y) + (double)rng_below(&r, 60) - 30;
                p[((size_t)y * w + x) * c + k] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
            }
    return p;
}

static uint8_t *jpeg_encode(size_t *len, const uint8_t *px, int w, int h, int c, int quality) {
    struct jpeg_compress_struct ci;
    struct jpeg_error_mgr je;
    ci.err = jpeg_std_error(&je);
    jpeg_create_compress(&ci);
    unsigned char *out = NULL;
    unsigned long n = 0;
    jpeg_mem_dest(&ci, &out, &n);
    ci.image_width = (JDIMENSION)w;
    ci.image_height = (JDIMENSION)h;
    ci.input_components = c;
    ci.in_color_space = c == 3 ? JCS_RGB : JCS_GRAYSCALE;
    jpeg_set_defaults(&ci);
    jpeg_set_quality(&ci, quality, TRUE);
    jpeg_start_compress(&ci, TRUE);
    while (ci.next_scanline < ci.image_height) {
        JSAMPROW row = (JSAMPROW)(px + (size_t)ci.next_scanline * w * c);
        jpeg_write_scanlines(&ci, &row, 1);
    }
    jpeg_finish_compress(&ci);
    jpeg_destroy_compress(&ci);
    uint8_t *copy = xmalloc(n);
    memcpy(copy, out, n);
    free(out);
    *len = n;
    return copy;
}

/* libjpeg's own decode, as RGB (gray replicated here). */
static uint8_t *jpeg_reference(int *w, int *h, const uint8_t *buf, size_t len) {
    struct jpeg_decompress_struct ci;
    struct jpeg_error_mgr je;
    ci.err = jpeg_std_error(&je);
    jpeg_create_decompress(&ci);
    jpeg_mem_src(&ci, buf, (unsigned long)len);
    jpeg_read_header(&ci, TRUE);
    int gray = ci.jpeg_color_space == JCS_GRAYSCALE;
    ci.out_color_space = gray ? JCS_GRAYSCALE : JCS_RGB;
    jpeg_start_decompress(&ci);
    *w = (int)ci.output_width;
    *h = (int)ci.output_height;
    int nc = gray ? 1 : 3;
    uint8_t *tmp = xmalloc((size_t)*w * *h * nc), *rgb = xmalloc((size_t)*w * *h * 3);
    while (ci.output_scanline < ci.output_height) {
        JSAMPROW row = tmp + (size_t)ci.output_scanline * *w * nc;
        jpeg_read_scanlines(&ci, &row, 1);
    }
    jpeg_finish_decompress(&ci);
    jpeg_destroy_decompress(&ci);
    for (size_t i = 0; i < (size_t)*w * *h; i++)
        for (int k = 0; k < 3; k++) rgb[i * 3 + k] = tmp[i * nc + (gray ? 0 : k)];
    free(tmp);
    return rgb;
}

typedef struct membuf { uint8_t *p; size_t n, cap; } membuf;
static void png_put(png_structp ps, png_bytep d, png_size_t n) {
    membuf *m = png_get_io_ptr(ps);
    if (m->n + n > m->cap) { m->cap = (m->n + n) * 2; m->p = xrealloc(m->p, m->cap); }
    memcpy(m->p + m->n, d, n);
    m->n += n;
}
static void png_flush_(png_structp ps) { (void)ps; }

/* PNG of color type ct and bit depth bd from raw samples (rows packed as
 * libpng expects: 16-bit big endian, sub-byte packed). */
static uint8_t *png_encode(size_t *len, const uint8_t *raw, int w, int h, int ct, int bd, const png_color *pal,
                           int npal, const png_byte *trns, int ntrns, int interlace) {
    membuf m = {0};
    png_structp ps = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop pi = png_create_info_struct(ps);
    if (setjmp(png_jmpbuf(ps))) { fprintf(stderr, "png write failed\n"); exit(2); }
    png_set_write_fn(ps, &m, png_put, png_flush_);
    png_set_IHDR(ps, pi, (png_uint_32)w, (png_uint_32)h, bd, ct,
                 interlace ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
                 PNG_FILTER_TYPE_DEFAULT);
    if (pal) png_set_PLTE(ps, pi, pal, npal);
    if (trns) png_set_tRNS(ps, pi, trns, ntrns, NULL);
    png_write_info(ps, pi);
    int ch = ct == PNG_COLOR_TYPE_RGB ? 3 : ct == PNG_COLOR_TYPE_RGBA ? 4 : ct == PNG_COLOR_TYPE_GRAY_ALPHA ? 2 : 1;
    size_t rowbytes = ((size_t)w * ch * bd + 7) / 8;
    /* with Adam7, libpng wants every row once per pass */
    int passes = interlace ? png_set_interlace_handling(ps) : 1;
    for (int pass = 0; pass < passes; pass++)
        for (int y = 0; y < h; y++) png_write_row(ps, raw + (size_t)y * rowbytes);
    png_write_end(ps, pi);
    png_destroy_write_struct(&ps, &pi);
    *len = m.n;
    return m.p;
}

static uint8_t *png_rgb(size_t *len, const uint8_t *px, int w, int h) {
    return png_encode(len, px, w, h, PNG_COLOR_TYPE_RGB, 8, NULL, 0, NULL, 0, 0);
}

/* ---- reference resize: the filter formula in double -------------------- */
static void ref_weights(double *wt, int in, int out, int o) {
    double scale = (double)in / out, fs = scale > 1 ? scale : 1, center = (o + 0.5) * scale, sum = 0;
    for (int x = 0; x < in; x++) {
        double t = fabs((x + 0.5 - center) / fs);
        wt[x] = t < 1 ? 1 - t : 0;
        sum += wt[x];
    }
    for (int x = 0; x < in; x++) wt[x] /= sum;
}

static double *ref_resize(const uint8_t *in, int iw, int ih, int ow, int oh) {
    double *out = xcalloc((size_t)ow * oh * 3, sizeof(double));
    double *wx = xmalloc(sizeof(double) * (size_t)iw * ow), *wy = xmalloc(sizeof(double) * (size_t)ih * oh);
    for (int o = 0; o < ow; o++) ref_weights(wx + (size_t)o * iw, iw, ow, o);
    for (int o = 0; o < oh; o++) ref_weights(wy + (size_t)o * ih, ih, oh, o);
    for (int oy = 0; oy < oh; oy++)
        for (int ox = 0; ox < ow; ox++)
            for (int y = 0; y < ih; y++) {
                double a = wy[(size_t)oy * ih + y];
                if (a == 0) continue;
                for (int x = 0; x < iw; x++) {
                    double b = a * wx[(size_t)ox * iw + x];
                    if (b == 0) continue;
                    for (int k = 0; k < 3; k++) out[((size_t)oy * ow + ox) * 3 + k] += b * in[((size_t)y * iw + x) * 3 + k];
                }
            }
    free(wx);
    free(wy);
    return out;
}

/* max |got - ref| over the image */
static double max_dev(const uint8_t *got, const double *ref, size_t n) {
    double m = 0;
    for (size_t i = 0; i < n; i++) m = fmax(m, fabs(got[i] - ref[i]));
    return m;
}

/* ---- archives ----------------------------------------------------------- */
typedef struct member { char *name; uint8_t *data; size_t len; } member;

/* fmt: 0 zip, 1 tar.gz, 2 tar */
static void write_archive(const char *path, int fmt, const member *m, int n) {
    struct archive *a = archive_write_new();
    if (fmt == 0) archive_write_set_format_zip(a);
    else archive_write_set_format_pax_restricted(a);
    if (fmt == 1) archive_write_add_filter_gzip(a);
    if (archive_write_open_filename(a, path) != ARCHIVE_OK) { fprintf(stderr, "%s\n", archive_error_string(a)); exit(2); }
    for (int i = 0; i < n; i++) {
        struct archive_entry *e = archive_entry_new();
        archive_entry_set_pathname(e, m[i].name);
        archive_entry_set_size(e, (la_int64_t)m[i].len);
        archive_entry_set_filetype(e, AE_IFREG);
        archive_entry_set_perm(e, 0644);
        archive_write_header(a, e);
        archive_write_data(a, m[i].data, m[i].len);
        archive_entry_free(e);
    }
    archive_write_close(a);
    archive_write_free(a);
}

static void write_dir(const char *root, const member *m, int n) {
    for (int i = 0; i < n; i++) {
        char *p = path_join(root, m[i].name), d[1024];
        path_dirname(p, d, sizeof d);
        mkdir_p(d);
        FILE *f = fopen(p, "wb");
        if (!f || fwrite(m[i].data, 1, m[i].len, f) != m[i].len || fclose(f)) { perror(p); exit(2); }
        free(p);
    }
}

static member text_member(const char *name, const char *text) {
    member m = {xstrdup(name), (uint8_t *)xstrdup(text), strlen(text)};
    return m;
}

static char *tpath(const char *name) { return path_join(tmpdir, name); }

/* ---- running a loader in a child (die() exits) ------------------------- */
typedef struct call {
    int which;            /* 0 flickr, 1 nuswide, 2 folder */
    ingest_opts o;
    const char *out;
    int top;
} call;

/* Runs the loader in a child; returns its exit status and its stderr in err. */
static int run_child(const call *c, char *err, size_t errlen) {
    char *ef = tpath("child.err");
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        /* libgomp's thread pool does not survive fork(): one thread here. */
        ingest_opts o = c->o;
        o.threads = 1;
        FILE *f = freopen(ef, "w", stderr);
        if (!f) _exit(3);
        ingest_result r;
        if (c->which == 0) ingest_flickr25k(&r, &o, c->out);
        else if (c->which == 1) ingest_nuswide(&r, &o, c->out, c->top);
        else ingest_folder(&r, &o, c->out);
        exit(0);
    }
    int st;
    waitpid(pid, &st, 0);
    FILE *f = fopen(ef, "r");
    size_t n = f ? fread(err, 1, errlen - 1, f) : 0;
    err[n] = 0;
    if (f) fclose(f);
    unlink(ef);
    free(ef);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

static void expect_error(const call *c, const char *needle, const char *what) {
    char err[4096];
    int rc = run_child(c, err, sizeof err);
    ok(rc == 1 && strstr(err, needle) && strstr(err, "error"), "%s: exit %d, message names \"%s\"", what, rc, needle);
    if (!(rc == 1 && strstr(err, needle))) diag("stderr: %s", err);
    ok(!file_exists(c->out), "%s: no images.npy left behind", what);
}

/* ---- tests -------------------------------------------------------------- */
static void test_png(void) {
    int w = 13, h = 7;
    uint8_t *rgb = make_pixels(w, h, 3, 1), *rgba = make_pixels(w, h, 4, 2), *g = make_pixels(w, h, 1, 3);
    uint8_t *dec = NULL;
    size_t cap = 0, len;
    int dw, dh;
    char err[256];
    uint8_t *f = png_rgb(&len, rgb, w, h);
    int rc = image_decode(&dec, &cap, &dw, &dh, f, len, err, sizeof err);
    ok(rc == 0 && dw == w && dh == h && !memcmp(dec, rgb, (size_t)w * h * 3), "PNG RGB8 decodes exactly");
    free(f);
    f = png_encode(&len, rgba, w, h, PNG_COLOR_TYPE_RGBA, 8, NULL, 0, NULL, 0, 0);
    rc = image_decode(&dec, &cap, &dw, &dh, f, len, err, sizeof err);
    int same = rc == 0;
    for (int i = 0; same && i < w * h; i++)
        for (int k = 0; k < 3; k++) same &= dec[i * 3 + k] == rgba[i * 4 + k];
    ok(same, "PNG RGBA8: alpha dropped, RGB untouched (PIL convert(\"RGB\"))");
    free(f);
    f = png_encode(&len, g, w, h, PNG_COLOR_TYPE_GRAY, 8, NULL, 0, NULL, 0, 0);
    rc = image_decode(&dec, &cap, &dw, &dh, f, len, err, sizeof err);
    same = rc == 0;
    for (int i = 0; same && i < w * h; i++)
        for (int k = 0; k < 3; k++) same &= dec[i * 3 + k] == g[i];
    ok(same, "PNG gray8: replicated to 3 channels");
    free(f);
    /* palette, 4-bit, with tRNS (ignored by convert("RGB")) */
    png_color pal[16];
    for (int i = 0; i < 16; i++) pal[i] = (png_color){(png_byte)(i * 16), (png_byte)(255 - i * 9), (png_byte)(i * i)};
    png_byte trns[16];
    for (int i = 0; i < 16; i++) trns[i] = (png_byte)(i * 17);
    size_t rb = ((size_t)w * 4 + 7) / 8;
    uint8_t *packed = xcalloc(rb * h, 1), *idx = make_pixels(w, h, 1, 4);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            int v = idx[y * w + x] & 15;
            idx[y * w + x] = (uint8_t)v;
            packed[y * rb + x / 2] |= (uint8_t)(x % 2 ? v : v << 4);
        }
    f = png_encode(&len, packed, w, h, PNG_COLOR_TYPE_PALETTE, 4, pal, 16, trns, 16, 0);
    rc = image_decode(&dec, &cap, &dw, &dh, f, len, err, sizeof err);
    same = rc == 0;
    for (int i = 0; same && i < w * h; i++)
        same &= dec[i * 3] == pal[idx[i]].red && dec[i * 3 + 1] == pal[idx[i]].green && dec[i * 3 + 2] == pal[idx[i]].blue;
    if (rc) diag("%s", err);
    ok(same, "PNG palette 4-bit with tRNS: expanded through the palette, transparency ignored");
    free(f);
    /* 16-bit RGB: the high byte */
    uint8_t *p16 = xmalloc((size_t)w * h * 6);
    for (int i = 0; i < w * h * 3; i++) { p16[2 * i] = rgb[i]; p16[2 * i + 1] = (uint8_t)(255 - rgb[i]); }
    f = png_encode(&len, p16, w, h, PNG_COLOR_TYPE_RGB, 16, NULL, 0, NULL, 0, 0);
    rc = image_decode(&dec, &cap, &dw, &dh, f, len, err, sizeof err);
    ok(rc == 0 && !memcmp(dec, rgb, (size_t)w * h * 3), "PNG RGB16: reduced to the high byte");
    /* truncated PNG */
    rc = image_decode(&dec, &cap, &dw, &dh, f, len / 2, err, sizeof err);
    ok(rc == -1 && strstr(err, "PNG"), "truncated PNG is an error (%s)", err);
    free(f);
    uint8_t junk[40] = "this is not an image at all, only text";
    rc = image_decode(&dec, &cap, &dw, &dh, junk, sizeof junk, err, sizeof err);
    ok(rc == -1 && strstr(err, "not a JPEG or PNG"), "unknown signature is an error (%s)", err);
    free(rgb); free(rgba); free(g); free(packed); free(idx); free(p16); free(dec);
}

static void test_jpeg(void) {
    int w = 61, h = 43;
    uint8_t *px = make_pixels(w, h, 3, 5), *g = make_pixels(w, h, 1, 6), *dec = NULL;
    size_t cap = 0, len;
    int dw, dh, rw, rh;
    char err[256];
    uint8_t *f = jpeg_encode(&len, px, w, h, 3, 90);
    uint8_t *ref = jpeg_reference(&rw, &rh, f, len);
    int rc = image_decode(&dec, &cap, &dw, &dh, f, len, err, sizeof err);
    ok(rc == 0 && dw == rw && dh == rh && !memcmp(dec, ref, (size_t)w * h * 3), "JPEG RGB: identical to libjpeg's decode");
    /* a truncated file: libjpeg would pad it with gray; we refuse it */
    rc = image_decode(&dec, &cap, &dw, &dh, f, len * 2 / 3, err, sizeof err);
    ok(rc == -1 && strstr(err, "truncated JPEG"), "truncated JPEG is an error (%s)", err);
    /* a broken header */
    uint8_t *bad = xmalloc(len);
    memcpy(bad, f, len);
    memset(bad + 3, 0x00, 200);   /* keep the SOI marker */
    rc = image_decode(&dec, &cap, &dw, &dh, bad, len, err, sizeof err);
    ok(rc == -1 && strstr(err, "JPEG"), "JPEG with a garbled header is an error (%s)", err);
    free(bad); free(f); free(ref);
    f = jpeg_encode(&len, g, w, h, 1, 85);
    ref = jpeg_reference(&rw, &rh, f, len);
    rc = image_decode(&dec, &cap, &dw, &dh, f, len, err, sizeof err);
    ok(rc == 0 && !memcmp(dec, ref, (size_t)w * h * 3), "grayscale JPEG: libjpeg's gray decode, replicated");
    free(f); free(ref); free(px); free(g); free(dec);
}

static void test_resize(void) {
    static const int sz[][4] = {{500, 375, 224, 224}, {61, 43, 16, 16}, {7, 5, 13, 11}, {40, 30, 40, 17},
                                {40, 30, 9, 30}, {33, 33, 224, 224}, {224, 224, 224, 224}, {3, 1, 1, 1}};
    resize_ws ws = {0};
    for (size_t t = 0; t < sizeof sz / sizeof sz[0]; t++) {
        int iw = sz[t][0], ih = sz[t][1], ow = sz[t][2], oh = sz[t][3];
        uint8_t *in = make_pixels(iw, ih, 3, 10 + t), *out = xmalloc((size_t)ow * oh * 3);
        image_resize(out, in, iw, ih, ow, oh, &ws);
        double *ref = ref_resize(in, iw, ih, ow, oh);
        double dev = max_dev(out, ref, (size_t)ow * oh * 3);
        if (iw == ow && ih == oh) ok(!memcmp(out, in, (size_t)iw * ih * 3), "resize %dx%d to itself is a copy", iw, ih);
        else ok(dev <= 1.0, "resize %dx%d -> %dx%d within 1 of the double-precision filter (max %.3f)", iw, ih, ow, oh, dev);
        free(in); free(out); free(ref);
    }
    /* A hand-worked case: 4 -> 2 pixels, scale 2, support 2: output 0 has
     * centre 1, taps x=0..2 with weights tri(((x+0.5)-1)/2) = .75 .75 .25,
     * normalised 3/7 3/7 1/7 (x=3 lies at distance 1.25 and gets 0). */
    uint8_t row[12] = {0, 0, 0, 70, 70, 70, 140, 140, 140, 210, 210, 210}, o2[6];
    image_resize(o2, row, 4, 1, 2, 1, &ws);
    ok(o2[0] == 50 && o2[3] == 160, "4->2 hand-worked: %d (3/7*70 + 1/7*140 = 50), %d (1/7*70+3/7*140+3/7*210 = 160)",
       o2[0], o2[3]);
    resize_ws_free(&ws);
}

/* Reference row of images.npy for one fixture file: decode independently
 * (PNG from its known pixels, JPEG by libjpeg) then double resize. */
static int check_rows(const npy_array *a, int size, uint8_t *const *files, const size_t *lens, int n, double *maxdev) {
    int good = a->ndim == 4 && a->shape[0] == n && a->shape[1] == size && a->shape[2] == size && a->shape[3] == 3;
    *maxdev = 0;
    for (int i = 0; good && i < n; i++) {
        int w, h;
        uint8_t *rgb;
        if (files[i][0] == 0xFF) {
            rgb = jpeg_reference(&w, &h, files[i], lens[i]);
        } else {
            uint8_t *dec = NULL;
            size_t cap = 0;
            char err[200];
            if (image_decode(&dec, &cap, &w, &h, files[i], lens[i], err, sizeof err)) return 0;
            rgb = dec;
        }
        double *ref = ref_resize(rgb, w, h, size, size);
        *maxdev = fmax(*maxdev, max_dev((const uint8_t *)a->data + (size_t)i * size * size * 3, ref, (size_t)size * size * 3));
        free(ref);
        free(rgb);
    }
    return good && *maxdev <= 1.0;
}

static void test_flickr(void) {
    /* 30 images, 5 concepts: ids 4, 17 and 23 carry no concept; im9 is a
     * truncated JPEG; im12 is a PNG (recognised by content); the zip is
     * written in a shuffled member order (not image-number order). */
    enum { N = 30, C = 5, S = 12 };
    static const char *concepts[C] = {"sky", "animals", "water", "night", "people"};
    uint8_t lab[N + 1][C];
    memset(lab, 0, sizeof lab);
    rng r;
    rng_seed(&r, 77);
    for (int k = 1; k <= N; k++)
        if (k != 4 && k != 17 && k != 23) {
            lab[k][rng_below(&r, C)] = 1;
            lab[k][rng_below(&r, C)] = 1;
        }
    member im[N + 3];
    int order[N];
    for (int i = 0; i < N; i++) order[i] = i + 1;
    rng_shuffle_i32(&r, order, N);
    for (int i = 0; i < N; i++) {
        int k = order[i], w = 40 + k % 7, h = 30 + k % 5;
        uint8_t *px = make_pixels(w, h, 3, 100 + k);
        char nm[64];
        snprintf(nm, sizeof nm, "mirflickr/im%d.jpg", k);
        im[i].name = xstrdup(nm);
        im[i].data = k == 12 ? png_rgb(&im[i].len, px, w, h) : jpeg_encode(&im[i].len, px, w, h, 3, 80 + k % 15);
        if (k == 9) im[i].len = im[i].len * 3 / 5;
        free(px);
    }
    im[N] = text_member("mirflickr/doc/license.txt", "license text\n");
    im[N + 1] = text_member("mirflickr/meta/tags/tags1.txt", "tag\n");
    char *zip = tpath("mirflickr25k.zip");
    write_archive(zip, 0, im, N + 2);
    /* Annotations: plain concepts, _r1 subsets (not labels), README.txt,
     * plus a reference to im31, which is not in the image archive. */
    member an[2 * C + 1];
    for (int c = 0; c < C; c++) {
        char nm[64], txt[512] = "", r1[512] = "";
        for (int k = 1; k <= N; k++)
            if (lab[k][c]) {
                snprintf(txt + strlen(txt), sizeof txt - strlen(txt), "%d\r\n", k);
                if (k % 2) snprintf(r1 + strlen(r1), sizeof r1 - strlen(r1), "%d\n", k);
            }
        if (c == 2) strcat(txt, "31\n");
        snprintf(nm, sizeof nm, "%s.txt", concepts[c]);
        an[c] = text_member(nm, txt);
        snprintf(nm, sizeof nm, "%s_r1.txt", concepts[c]);
        an[C + c] = text_member(nm, r1);
    }
    an[2 * C] = text_member("README.txt", "1\n2\n3\n");
    char *azip = tpath("mirflickr25k_annotations_v080.zip");
    write_archive(azip, 0, an, 2 * C + 1);
    char *out = tpath("flickr/images.npy");
    ingest_opts o = {.path = zip, .annotations = azip, .size = S, .threads = 2};
    ingest_result res;
    ingest_flickr25k(&res, &o, out);
    /* expected: ids 1..30 minus {4,17,23} (no label) minus 9 (corrupt) */
    int expect_ids[N], ne = 0;
    for (int k = 1; k <= N; k++)
        if (k != 4 && k != 17 && k != 23 && k != 9) expect_ids[ne++] = k;
    ok(res.n == ne && res.nclass == C && res.c == 3 && res.h == S && res.w == S, "flickr: n=%lld (expect %d), %d classes",
       (long long)res.n, ne, res.nclass);
    ok(res.unlabeled == 3 && res.skipped == 3 + 1 + 1, "flickr: 3 unlabeled, skipped = 3 unlabeled + 1 corrupt + 1 absent (%lld, %lld)",
       (long long)res.unlabeled, (long long)res.skipped);
    static const char *sorted[C] = {"animals", "night", "people", "sky", "water"};
    static const int perm[C] = {1, 3, 4, 0, 2};   /* sorted index -> concepts index */
    int names_ok = 1, labels_ok = 1;
    for (int c = 0; c < C && names_ok; c++) names_ok = !strcmp(res.class_names[c], sorted[c]);
    for (int i = 0; i < ne; i++)
        for (int c = 0; c < C; c++) labels_ok &= res.labels[i * C + c] == lab[expect_ids[i]][perm[c]];
    ok(names_ok, "flickr: classes are the plain concepts in name order (_r1 and README excluded)");
    ok(labels_ok, "flickr: labels exact, rows by image number");
    npy_array a;
    npy_open(&a, out, NPY_U1, 4);
    uint8_t *files[N];
    size_t lens[N];
    for (int i = 0; i < ne; i++)
        for (int j = 0; j < N; j++)
            if (order[j] == expect_ids[i]) { files[i] = im[j].data; lens[i] = im[j].len; }
    double dev = -1;
    ok(check_rows(&a, S, files, lens, ne, &dev), "flickr: pixels = libjpeg/PNG decode + filter formula (max dev %.3f)", dev);
    npy_close(&a);
    free(res.labels);
    for (int c = 0; c < C; c++) free(res.class_names[c]);
    free(res.class_names);
    /* --strict: the corrupt image fails the stage, naming it */
    unlink(out);
    call cl = {.which = 0, .o = o, .out = out};
    cl.o.strict = 1;
    expect_error(&cl, "im31.jpg", "flickr --strict with an annotated image absent from the archive");
    char *azip2 = tpath("annotations_all_present.zip");
    {
        char txt[512] = "";
        for (int k = 1; k <= N; k++)
            if (lab[k][2]) snprintf(txt + strlen(txt), sizeof txt - strlen(txt), "%d\n", k);
        free(an[2].data);
        an[2].data = (uint8_t *)xstrdup(txt);
        an[2].len = strlen(txt);
    }
    write_archive(azip2, 0, an, 2 * C + 1);
    cl.o.annotations = azip2;
    expect_error(&cl, "im9.jpg: truncated JPEG", "flickr --strict with a truncated JPEG");
    free(azip2);
    /* a truncated zip */
    char *tz = tpath("truncated.zip");
    {
        uint8_t *d;
        size_t n;
        FILE *f = fopen(zip, "rb");
        struct stat st;
        stat(zip, &st);
        n = (size_t)st.st_size;
        d = xmalloc(n);
        if (fread(d, 1, n, f) != n) exit(2);
        fclose(f);
        f = fopen(tz, "wb");
        fwrite(d, 1, n / 2, f);
        fclose(f);
        free(d);
    }
    cl.o = o;
    cl.o.path = tz;
    expect_error(&cl, "truncated.zip", "flickr from a truncated zip");
    /* a zip without the mirflickr layout */
    cl.o.path = azip;
    expect_error(&cl, "expected mirflickr/im1.jpg", "flickr: image archive in the wrong layout");
    cl.o = o;
    cl.o.annotations = zip;
    expect_error(&cl, "expected README.txt beside the concept files", "flickr: annotations in the wrong layout");
    for (int i = 0; i < N + 2; i++) { free(im[i].name); free(im[i].data); }
    for (int i = 0; i < 2 * C + 1; i++) { free(an[i].name); free(an[i].data); }
    free(zip); free(azip); free(out); free(tz);
}

static void test_nuswide(void) {
    /* 40 listed images under Flickr/<concept>/, 8 concepts of which the 5
     * most frequent are kept; tar.gz holding images and metadata together;
     * one image listed but absent. */
    enum { N = 40, C = 8, TOP = 5, S = 10 };
    static const char *cn[C] = {"sky", "clouds", "person", "water", "animal", "grass", "buildings", "window"};
    static const int freqw[C] = {9, 14, 3, 12, 7, 11, 2, 1};   /* probability weights /20 */
    uint8_t lab[N][C];
    rng r;
    rng_seed(&r, 5);
    for (int i = 0; i < N; i++)
        for (int c = 0; c < C; c++) lab[i][c] = rng_below(&r, 20) < (uint64_t)freqw[c];
    /* frequencies and the independent top-5 (ties by name) */
    int freq[C] = {0};
    for (int i = 0; i < N; i++)
        for (int c = 0; c < C; c++) freq[c] += lab[i][c];
    int keep[C] = {0};
    for (int t = 0; t < TOP; t++) {
        int best = -1;
        for (int c = 0; c < C; c++)
            if (!keep[c] && (best < 0 || freq[c] > freq[best] || (freq[c] == freq[best] && strcmp(cn[c], cn[best]) < 0)))
                best = c;
        keep[best] = 1;
    }
    const char *kept[TOP];
    int kc[TOP], nk = 0;
    for (int pass = 0; pass < C; pass++) {   /* kept names in name order */
        int best = -1;
        for (int c = 0; c < C; c++) {
            int used = 0;
            for (int j = 0; j < nk; j++) used |= kc[j] == c;
            if (keep[c] && !used && (best < 0 || strcmp(cn[c], cn[best]) < 0)) best = c;
        }
        if (best >= 0) { kc[nk] = best; kept[nk++] = cn[best]; }
    }
    member m[N + C + 1];
    char list[8192] = "";
    int nm = 0;
    const int absent = 21;
    for (int i = 0; i < N; i++) {
        char name[128];
        const char *dir = cn[i % C];
        snprintf(name, sizeof name, "%s\\%04d_%d.jpg", dir, i, 1000 + i * 7);
        snprintf(list + strlen(list), sizeof list - strlen(list), "C:\\ImageData\\Flickr\\%s\r\n", name);
        if (i == absent) continue;
        for (char *q = name; *q; q++)
            if (*q == '\\') *q = '/';
        char full[160];
        snprintf(full, sizeof full, "Flickr/%s", name);
        int w = 24 + i % 5, h = 18 + i % 3;
        uint8_t *px = make_pixels(w, h, 3, 300 + i);
        m[nm].name = xstrdup(full);
        m[nm].data = jpeg_encode(&m[nm].len, px, w, h, 3, 85);
        nm++;
        free(px);
    }
    int nimg = nm;
    m[nm++] = text_member("ImageList/Imagelist.txt", list);
    for (int c = 0; c < C; c++) {
        char name[128], txt[512] = "";
        for (int i = 0; i < N; i++) strcat(txt, lab[i][c] ? "1\n" : "0\n");
        snprintf(name, sizeof name, "Groundtruth/AllLabels/Labels_%s.txt", cn[c]);
        m[nm++] = text_member(name, txt);
    }
    char *tgz = tpath("nuswide.tar.gz"), *out = tpath("nus/images.npy");
    write_archive(tgz, 1, m, nm);
    ingest_opts o = {.path = tgz, .size = S, .threads = 2};
    ingest_result res;
    ingest_nuswide(&res, &o, out, TOP);
    int exp_rows[N], ne = 0, unl = 0;
    for (int i = 0; i < N; i++) {
        int any = 0;
        for (int c = 0; c < C; c++) any |= keep[c] && lab[i][c];
        if (!any) { unl++; continue; }
        if (i != absent) exp_rows[ne++] = i;
    }
    int absent_labeled = 0;
    for (int c = 0; c < C; c++) absent_labeled |= keep[c] && lab[absent][c];
    ok(res.n == ne && res.nclass == TOP, "nuswide: n=%lld (expect %d), %d classes", (long long)res.n, ne, res.nclass);
    ok(res.unlabeled == unl && res.skipped == unl + absent_labeled,
       "nuswide: %lld without a top-%d concept dropped, %lld skipped in all (expect %d, %d)", (long long)res.unlabeled,
       TOP, (long long)res.skipped, unl, unl + absent_labeled);
    int nok = 1, lok = 1;
    for (int k = 0; k < TOP; k++) nok &= !strcmp(res.class_names[k], kept[k]);
    for (int i = 0; i < ne; i++)
        for (int k = 0; k < TOP; k++) lok &= res.labels[i * TOP + k] == lab[exp_rows[i]][kc[k]];
    ok(nok, "nuswide: the %d most frequent concepts, in name order", TOP);
    ok(lok, "nuswide: labels exact, Imagelist order");
    npy_array a;
    npy_open(&a, out, NPY_U1, 4);
    uint8_t *files[N];
    size_t lens[N];
    for (int i = 0; i < ne; i++) {
        int k = exp_rows[i] - (exp_rows[i] > absent);   /* members skip the absent one */
        files[i] = m[k].data;
        lens[i] = m[k].len;
    }
    double dev = -1;
    ok(check_rows(&a, S, files, lens, ne, &dev), "nuswide: pixels = libjpeg decode + filter formula (max dev %.3f)", dev);
    npy_close(&a);
    unlink(out);
    /* strict: the absent image fails, naming it */
    call cl = {.which = 1, .o = o, .out = out, .top = TOP};
    cl.o.strict = 1;
    if (absent_labeled) expect_error(&cl, "0021_1147.jpg", "nuswide --strict with an absent image");
    else skip(2, "the absent image carries no kept concept in this draw");
    /* images and metadata in separate places: an extracted folder + tar of metadata */
    char *dir = tpath("nusdir"), *meta = tpath("nusmeta.tar");
    write_dir(dir, m, nimg);
    write_archive(meta, 2, m + nimg, nm - nimg);
    /* a label file with a different line count */
    free(m[nimg + 2].data);
    m[nimg + 2].data = (uint8_t *)xstrdup("0\n1\n");
    m[nimg + 2].len = 4;
    char *bad = tpath("nus_bad.tar");
    write_archive(bad, 2, m, nm);
    cl.o = o;
    cl.o.path = bad;
    expect_error(&cl, "Labels_clouds.txt has 2 lines but ImageList/Imagelist.txt has 40", "nuswide: label file line count");
    /* no image list */
    write_archive(bad, 2, m, nimg);
    expect_error(&cl, "expected ImageList/Imagelist.txt", "nuswide: missing image list");
    ingest_opts o2 = {.path = dir, .annotations = meta, .size = S, .threads = 1};
    for (int c = 0; c < TOP; c++) free(res.class_names[c]);
    free(res.class_names);
    uint8_t *lab1 = res.labels;
    ingest_nuswide(&res, &o2, out, TOP);
    npy_open(&a, out, NPY_U1, 4);
    ok(res.n == ne && !memcmp(res.labels, lab1, (size_t)ne * TOP) && check_rows(&a, S, files, lens, ne, &dev),
       "nuswide: extracted folder (root Flickr/) + separate metadata archive, 1 thread: same result");
    npy_close(&a);
    free(lab1);
    free(res.labels);
    for (int c = 0; c < TOP; c++) free(res.class_names[c]);
    free(res.class_names);
    for (int i = 0; i < nm; i++) { free(m[i].name); free(m[i].data); }
    free(tgz); free(out); free(bad); free(dir); free(meta);
}

static void test_folder(void) {
    /* ImageFolder: classes b_dog, a_cat, c-x (PNG and JPEG mixed), plus a
     * README and a hidden file; as a directory and as a tar wrapped in
     * "mydata/". Then a multi-label list. */
    enum { N = 9, S = 8 };
    static const char *paths[N] = {"b_dog/1.jpg", "a_cat/x.png", "c-x/sub/deep.JPG", "a_cat/y.jpg", "b_dog/0.png",
                                   "c-x/a.jpeg", "a_cat/z.jpg", "b_dog/2.jpg", "c-x/b.png"};
    member m[N + 2];
    for (int i = 0; i < N; i++) {
        int w = 20 + i, h = 14 + i % 4;
        uint8_t *px = make_pixels(w, h, 3, 500 + i);
        m[i].name = xstrdup(paths[i]);
        m[i].data = strstr(paths[i], ".png") ? png_rgb(&m[i].len, px, w, h) : jpeg_encode(&m[i].len, px, w, h, 3, 90);
        free(px);
    }
    m[N] = text_member("README.txt", "not an image\n");
    m[N + 1] = text_member("a_cat/._x.png", "resource fork");
    char *dir = tpath("folder");
    write_dir(dir, m, N + 2);
    /* sorted path order and its classes */
    int ord[N];
    for (int i = 0; i < N; i++) ord[i] = i;
    for (int i = 1; i < N; i++)
        for (int j = i; j > 0 && strcmp(paths[ord[j - 1]], paths[ord[j]]) > 0; j--) { int t = ord[j]; ord[j] = ord[j - 1]; ord[j - 1] = t; }
    static const char *cls[3] = {"a_cat", "b_dog", "c-x"};
    char *out = tpath("fold/images.npy");
    ingest_opts o = {.path = dir, .size = S, .threads = 2};
    ingest_result res;
    ingest_folder(&res, &o, out);
    int good = res.n == N && res.nclass == 3;
    for (int c = 0; good && c < 3; c++) good = !strcmp(res.class_names[c], cls[c]);
    for (int i = 0; good && i < N; i++)
        for (int c = 0; c < 3; c++) good &= res.labels[i * 3 + c] == (strncmp(paths[ord[i]], cls[c], strlen(cls[c])) == 0);
    ok(good, "folder: 3 classes in name order, one-hot labels in sorted path order");
    uint8_t *files[N];
    size_t lens[N];
    for (int i = 0; i < N; i++) { files[i] = m[ord[i]].data; lens[i] = m[ord[i]].len; }
    npy_array a;
    double dev = -1;
    npy_open(&a, out, NPY_U1, 4);
    ok(check_rows(&a, S, files, lens, N, &dev), "folder: pixels (JPEG and PNG) = reference (max dev %.3f)", dev);
    npy_close(&a);
    uint8_t *lab1 = xmalloc(N * 3);
    memcpy(lab1, res.labels, N * 3);
    free(res.labels);
    for (int c = 0; c < 3; c++) free(res.class_names[c]);
    free(res.class_names);
    /* the same as a tar wrapped in mydata/ */
    member w[N + 2];
    for (int i = 0; i < N + 2; i++) {
        char nm[128];
        snprintf(nm, sizeof nm, "mydata/%s", m[i].name);
        w[i] = m[i];
        w[i].name = xstrdup(nm);
    }
    char *tar = tpath("folder.tar");
    write_archive(tar, 2, w, N + 2);
    o.path = tar;
    ingest_folder(&res, &o, out);
    npy_open(&a, out, NPY_U1, 4);
    ok(res.n == N && !memcmp(res.labels, lab1, N * 3) && check_rows(&a, S, files, lens, N, &dev),
       "folder: tar with a wrapping mydata/ folder gives the same images and labels");
    npy_close(&a);
    free(res.labels);
    for (int c = 0; c < 3; c++) free(res.class_names[c]);
    free(res.class_names);
    /* multi-label list: list order; one line without labels; one absent */
    char *ll = tpath("labels.txt");
    FILE *f = fopen(ll, "w");
    fprintf(f, "# path labels\nc-x/b.png red round\na_cat/x.png blue\nb_dog/0.png\n"
               "a_cat/missing.jpg red\nb_dog/2.jpg round blue\n");
    fclose(f);
    o.path = dir;
    o.label_list = ll;
    ingest_folder(&res, &o, out);
    static const uint8_t el[3][3] = {{0, 1, 1}, {1, 0, 0}, {1, 0, 1}};   /* blue red round */
    good = res.n == 3 && res.nclass == 3 && res.unlabeled == 1 && res.skipped == 2 &&
           !strcmp(res.class_names[0], "blue") && !strcmp(res.class_names[1], "red") && !strcmp(res.class_names[2], "round");
    for (int i = 0; good && i < 3; i++) good = !memcmp(res.labels + i * 3, el[i], 3);
    ok(good, "label list: classes blue/red/round, multi-hot exact, 1 unlabeled + 1 absent skipped");
    static const int li[3] = {8, 1, 7};
    for (int i = 0; i < 3; i++) { files[i] = m[li[i]].data; lens[i] = m[li[i]].len; }
    npy_open(&a, out, NPY_U1, 4);
    ok(check_rows(&a, S, files, lens, 3, &dev), "label list: rows in list order (max dev %.3f)", dev);
    npy_close(&a);
    free(res.labels);
    for (int c = 0; c < 3; c++) free(res.class_names[c]);
    free(res.class_names);
    /* size 0 keeps the size: must agree across images */
    unlink(out);
    call cl = {.which = 2, .o = {.path = dir, .threads = 2}, .out = out};
    expect_error(&cl, "--size", "folder without --size and images of different sizes");
    /* an image outside any class folder */
    char *flat = tpath("flat");
    member one = m[0];
    one.name = "lonely.jpg";
    write_dir(flat, &one, 1);
    write_dir(flat, m, 2);
    cl.o.path = flat;
    cl.o.size = S;
    expect_error(&cl, "lonely.jpg is not inside a class folder", "folder: image outside a class folder");
    for (int i = 0; i < N + 2; i++) { free(m[i].name); free(m[i].data); free(w[i].name); }
    free(dir); free(out); free(tar); free(ll); free(lab1); free(flat);
}

int main(void) {
    dsah_init("t_images");
    dsah_quiet = 1;
    snprintf(tmpdir, sizeof tmpdir, "%s/t_images.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(tmpdir)) { perror("mkdtemp"); return 2; }
    test_png();
    test_jpeg();
    test_resize();
    test_flickr();
    test_nuswide();
    test_folder();
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0) diag("could not remove %s", tmpdir);
    return done_testing();
}
