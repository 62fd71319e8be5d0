/* t_npy: .npy round trip for every dtype, each kind of bad header, truncated
 * and oversized files, wrong dtype/shape, and atomic writes; the half
 * precision of '<f2' (format/half.h): the bit-level conversions against the
 * compiler's _Float16 on every half, every rounding boundary (the midpoint
 * of each pair of neighbouring halves and the floats beside it) and 2^20
 * random floats, with the stated error bound checked exactly there. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "format/half.h"
#include "format/npy.h"
#include "child.h"
#include "tap.h"

static char dir[256];

static void write_raw(const char *path, const void *buf, size_t n) {
    FILE *f = fopen(path, "wb");
    CHECK(f);
    CHECK(fwrite(buf, 1, n, f) == n);
    fclose(f);
}

static int try_open(const char *path, char *err, size_t n) {
    npy_array a;
    int r = npy_try_open(&a, path, err, n);
    if (r == 0) npy_close(&a);
    return r;
}

/* Build a file with a custom header dict and payload of `payload` bytes. */
static void write_with_dict(const char *path, const char *dict, size_t payload, int version) {
    char buf[1024];
    size_t dl = strlen(dict), pre = version == 1 ? 10 : 12;
    size_t total = (pre + dl + 1 + 63) / 64 * 64, hl = total - pre;
    memcpy(buf, "\x93NUMPY", 6);
    buf[6] = (char)version;
    buf[7] = 0;
    if (version == 1) { buf[8] = (char)(hl & 255); buf[9] = (char)(hl >> 8); }
    else { buf[8] = (char)(hl & 255); buf[9] = (char)(hl >> 8); buf[10] = 0; buf[11] = 0; }
    memcpy(buf + pre, dict, dl);
    memset(buf + pre + dl, ' ', total - pre - dl - 1);
    buf[total - 1] = '\n';
    FILE *f = fopen(path, "wb");
    CHECK(f);
    fwrite(buf, 1, total, f);
    for (size_t i = 0; i < payload; i++) fputc((int)(i & 255), f);
    fclose(f);
}

static int contains(const char *s, const char *sub) { return strstr(s, sub) != NULL; }

static void open_f4_or_f2(const void *path) {
    npy_array a;
    npy_open_any(&a, path, NPY_BIT(NPY_F4) | NPY_BIT(NPY_F2), 2);
    npy_close(&a);
}

static void open_f2_finite(const void *path) {
    npy_array a;
    npy_open(&a, path, NPY_F2, 1);
    npy_expect_finite(&a);
    npy_close(&a);
}

/* Whether h, the half of x (|x| <= HALF_MAX), is within half.h's bound:
 * |h - x| <= 2^-11 |x| for |x| >= 2^-14, <= 2^-25 below. Exact: a float and
 * a half this close differ by a double exactly, and the scaling by 2^-11 is
 * exact. *ratio: the error over the bound. */
static int within_bound(float x, float h, double *ratio) {
    const double e = fabs((double)h - (double)x), ax = fabs((double)x);
    const double bound = ax >= 0x1p-14 ? ldexp(ax, -11) : 0x1p-25;
    *ratio = bound > 0 ? e / bound : 0;
    return e <= bound;
}

#ifdef __FLT16_MAX__
/* The compiler's conversions: the reference of the bit-level ones. */
static uint16_t ref_from_float(float x) {
    _Float16 h = (_Float16)x;
    uint16_t b;
    memcpy(&b, &h, 2);
    return b;
}
static float ref_to_float(uint16_t b) {
    _Float16 h;
    memcpy(&h, &b, 2);
    return (float)h;
}
#endif

/* Same bits, or both NaN (a NaN's payload and quiet bit may differ). */
static int same_half(uint16_t a, uint16_t b) {
    return a == b || (!half_bits_finite(a) && !half_bits_finite(b) && (a & 0x3ffu) && (b & 0x3ffu));
}
static int same_float(float a, float b) { return (isnan(a) && isnan(b)) || !memcmp(&a, &b, 4); }

/* The half conversions (format/half.h). */
static void half_checks(void) {
    /* every half to float and back: exact; the block path the same */
    enum { NH = 65536 };
    uint16_t *all = malloc(NH * 2), *back = malloc(NH * 2);
    float *f = malloc(NH * sizeof(float));
    for (int b = 0; b < NH; b++) all[b] = (uint16_t)b;
    half_to_floats(f, all, NH);
    int to_same = 1, round_trip = 1, finite = 0;
    for (int b = 0; b < NH; b++) {
        const float v = half_bits_to_float((uint16_t)b);
        to_same &= same_float(v, f[b]);
        if (half_bits_finite((uint16_t)b)) {
            finite++;
            round_trip &= half_bits_from_float(v) == b && isfinite(v);
        } else {
            round_trip &= (b & 0x3ff) ? isnan(v) : isinf(v);
        }
    }
    half_from_floats(back, f, NH);
    int back_same = 1;
    for (int b = 0; b < NH; b++) back_same &= same_half(back[b], (uint16_t)b);
    ok(to_same, "every half: half_to_floats = half_bits_to_float");
    ok(round_trip && finite == 63488, "every finite half (%d) to float and back: the same bits; inf and NaN kept", finite);
    ok(back_same, "every half through half_from_floats(half_to_floats): the same bits (NaN: a NaN)");
#ifdef __FLT16_MAX__
    int ref_same = 1;
    for (int b = 0; b < NH; b++) ref_same &= same_float(half_bits_to_float((uint16_t)b), ref_to_float((uint16_t)b));
    ok(ref_same, "every half: half_bits_to_float = the compiler's _Float16 -> float");
#else
    skip(1, "no _Float16 in this compiler");
#endif

    /* the rounding boundaries: for each pair of neighbouring non-negative
     * halves b, b+1 (values a < c), their midpoint m (exact in float), the
     * floats beside it and a itself, each with both signs */
    long long checked = 0, wrong = 0, wrong_block = 0, wrong_ref = 0, outside = 0;
    double worst = 0;
    float xs[8];
    uint16_t want[8], got[8];
    for (uint32_t b = 0; b < 0x7bff; b++) {
        const float a = half_bits_to_float((uint16_t)b), c = half_bits_to_float((uint16_t)(b + 1)), m = (a + c) / 2;
        CHECK((double)m == ((double)a + (double)c) / 2);
        const float x4[4] = {a, nextafterf(m, 0), m, nextafterf(m, INFINITY)};
        const uint16_t w4[4] = {(uint16_t)b, (uint16_t)b, (uint16_t)(b & 1 ? b + 1 : b), (uint16_t)(b + 1)};
        for (int k = 0; k < 8; k++) {
            xs[k] = k < 4 ? x4[k] : -x4[k - 4];
            want[k] = (uint16_t)(k < 4 ? w4[k] : w4[k - 4] | 0x8000u);
        }
        half_from_floats(got, xs, 8);
        for (int k = 0; k < 8; k++) {
            const uint16_t h = half_bits_from_float(xs[k]);
            wrong += h != want[k];
            wrong_block += got[k] != want[k];
#ifdef __FLT16_MAX__
            wrong_ref += ref_from_float(xs[k]) != want[k];
#endif
            double r;
            outside += !within_bound(xs[k], half_bits_to_float(h), &r);
            worst = fmax(worst, r);
            checked++;
        }
    }
    ok(checked == 0x7bff * 8LL && !wrong && !wrong_block,
       "the %lld rounding boundaries: nearest half, ties to even (bit-level %lld wrong, block %lld wrong)", checked, wrong,
       wrong_block);
#ifdef __FLT16_MAX__
    ok(!wrong_ref, "the compiler's _Float16 rounds them the same (%lld differ)", wrong_ref);
#else
    skip(1, "no _Float16 in this compiler");
#endif
    ok(!outside && worst > 0.999 && worst <= 1,
       "the error bound holds at every boundary (%lld outside) and is attained there: max error/bound %.6f", outside, worst);
    /* the ends: 65504 is the largest, from 65520 (the tie above it) on inf;
     * 2^-25 (the tie above 0) rounds to 0, anything above it to 2^-24 */
    const float ends[8] = {65504.0f, nextafterf(65520.0f, 0), 65520.0f, 1e30f, INFINITY, nextafterf(0x1p-25f, 0), 0x1p-25f,
                           nextafterf(0x1p-25f, 1)};
    const uint16_t ends_want[8] = {0x7bff, 0x7bff, 0x7c00, 0x7c00, 0x7c00, 0, 0, 1};
    int ends_ok = 1;
    for (int k = 0; k < 8; k++) {
        uint16_t h;
        half_from_floats(&h, &ends[k], 1);
        ends_ok &= half_bits_from_float(ends[k]) == ends_want[k] && h == ends_want[k] &&
                   half_bits_from_float(-ends[k]) == (ends_want[k] | 0x8000u);
    }
    ok(ends_ok, "65504 and just below 65520 -> 65504, 65520 and beyond -> inf; 2^-25 -> 0, just above -> 2^-24 (both signs)");
    /* 2^20 random floats of every exponent: bit-level = block (= _Float16),
     * within the bound wherever |x| <= 65504 */
    uint32_t s = 12345;
    long long diff = 0, diff_ref = 0, bad_bound = 0, n_in = 0;
    enum { NR = 1 << 20, BLK = 4096 };
    float rx[BLK];
    uint16_t rh[BLK];
    for (int i0 = 0; i0 < NR; i0 += BLK) {
        for (int i = 0; i < BLK; i++) {
            s ^= s << 13, s ^= s >> 17, s ^= s << 5;
            uint32_t u = s;
            memcpy(&rx[i], &u, 4);
        }
        half_from_floats(rh, rx, BLK);
        for (int i = 0; i < BLK; i++) {
            const uint16_t h = half_bits_from_float(rx[i]);
            diff += !same_half(h, rh[i]);
#ifdef __FLT16_MAX__
            diff_ref += !same_half(h, ref_from_float(rx[i]));
#endif
            if (fabsf(rx[i]) <= HALF_MAX) {
                double r;
                n_in++;
                bad_bound += !within_bound(rx[i], half_bits_to_float(h), &r);
            }
        }
    }
    ok(!diff && !diff_ref, "2^20 random floats: bit-level = block = _Float16 (%lld, %lld differ)", diff, diff_ref);
    ok(n_in > 1000 && !bad_bound, "and within the bound wherever |x| <= 65504 (%lld such, %lld outside)", n_in, bad_bound);
    free(all);
    free(back);
    free(f);
}

int main(void) {
    dsah_init("t_npy");
    snprintf(dir, sizeof dir, "/tmp/dsah_t_npy.%d", (int)getpid());
    mkdir_p(dir);
    char path[512], err[512];

    /* round trip: every dtype, 1-3 dims */
    npy_dtype types[] = {NPY_U1, NPY_I4, NPY_I8, NPY_F4, NPY_F8, NPY_F2};
    for (int t = 0; t < 6; t++) {
        for (int nd = 1; nd <= 3; nd++) {
            int64_t shape[3] = {3, 5, 2};
            int64_t count = 1;
            for (int i = 0; i < nd; i++) count *= shape[i];
            size_t isz = npy_itemsize(types[t]);
            unsigned char *data = malloc((size_t)count * isz);
            for (size_t i = 0; i < (size_t)count * isz; i++) data[i] = (unsigned char)(i * 37 + 11);
            snprintf(path, sizeof path, "%s/rt_%d_%d.npy", dir, t, nd);
            npy_save(path, types[t], nd, shape, data);
            npy_array a;
            int r = npy_try_open(&a, path, err, sizeof err);
            int same = r == 0 && a.dtype == types[t] && a.ndim == nd && a.count == count &&
                       memcmp(a.data, data, (size_t)count * isz) == 0;
            for (int i = 0; r == 0 && i < nd; i++) same &= a.shape[i] == shape[i];
            /* header is padded so the payload is 64-byte aligned */
            if (r == 0) same &= ((size_t)((char *)a.data - (char *)a.map) % 64) == 0;
            ok(same, "round trip %s with %d dims", npy_descr(types[t]), nd);
            if (r == 0) npy_close(&a);
            free(data);
        }
    }
    /* zero-length arrays are valid */
    {
        int64_t shape[2] = {0, 4};
        snprintf(path, sizeof path, "%s/empty.npy", dir);
        npy_save(path, NPY_F4, 2, shape, NULL);
        npy_array a;
        ok(npy_try_open(&a, path, err, sizeof err) == 0 && a.count == 0 && a.shape[1] == 4, "empty [0,4] array round trips");
        npy_close(&a);
    }
    /* numpy's own header spellings: version 2.0, u1 with '|', shape (7,) */
    snprintf(path, sizeof path, "%s/v2.npy", dir);
    write_with_dict(path, "{'descr': '|u1', 'fortran_order': False, 'shape': (7,), }", 7, 2);
    ok(try_open(path, err, sizeof err) == 0, "version 2.0 header accepted");
    snprintf(path, sizeof path, "%s/order.npy", dir);
    write_with_dict(path, "{'shape': (2, 3), 'fortran_order': False, 'descr': '<i4'}", 24, 1);
    ok(try_open(path, err, sizeof err) == 0, "keys in another order accepted");

    /* bad headers, each with its own message */
    struct { const char *dict; size_t payload; const char *expect; const char *what; } bad[] = {
        {"{'descr': '<c8', 'fortran_order': False, 'shape': (2,), }", 16, "unsupported dtype '<c8'", "unsupported dtype"},
        {"{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }", 8, "unsupported dtype '>f4'", "big-endian dtype"},
        {"{'descr': '>f2', 'fortran_order': False, 'shape': (2,), }", 4, "unsupported dtype '>f2'", "big-endian f2"},
        {"{'descr': '<f2', 'fortran_order': False, 'shape': (2,), }", 3, "truncated .npy file", "f2 payload one byte short"},
        {"{'descr': '<f2', 'fortran_order': False, 'shape': (2,), }", 8, "oversized .npy file", "f2 payload of 2 f4"},
        {"{'descr': '<f2', 'fortran_order': False, 'shape': (2147483648, 2147483648, 2), }", 4, "shape overflows", "f2 of 2^63 values (2^64 bytes)"},
        {"{'descr': '<f4', 'fortran_order': True, 'shape': (2,), }", 8, "fortran_order is True", "Fortran order"},
        {"{'descr': '<f4', 'fortran_order': False, }", 8, "missing shape", "missing shape"},
        {"{'descr': '<f4', 'shape': (2,), }", 8, "missing fortran_order", "missing fortran_order"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (2,x), }", 8, "bad shape", "malformed shape"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'extra': 1}", 8, "unknown key 'extra'", "unknown key"},
        {"'descr': '<f4'", 8, "no '{'", "not a dict"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", 7, "truncated .npy file", "payload one byte short"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", 9, "oversized .npy file", "payload one byte long"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(path, sizeof path, "%s/bad%zu.npy", dir, i);
        write_with_dict(path, bad[i].dict, bad[i].payload, 1);
        int r = try_open(path, err, sizeof err);
        ok(r != 0 && contains(err, bad[i].expect) && contains(err, path), "rejects %s: %s", bad[i].what, r ? err : "(accepted)");
    }
    snprintf(path, sizeof path, "%s/magic.npy", dir);
    write_raw(path, "\x93NUMPX\x01\x00\x10\x00{}              ", 26);
    ok(try_open(path, err, sizeof err) != 0 && contains(err, "bad magic"), "rejects bad magic");
    snprintf(path, sizeof path, "%s/short.npy", dir);
    write_raw(path, "\x93NUMPY", 6);
    ok(try_open(path, err, sizeof err) != 0 && contains(err, "truncated"), "rejects a 6-byte file");
    snprintf(path, sizeof path, "%s/hdrcut.npy", dir);
    write_raw(path, "\x93NUMPY\x01\x00\x76\x00{'descr'", 17);
    ok(try_open(path, err, sizeof err) != 0 && contains(err, "truncated .npy header"), "rejects a cut header");
    snprintf(path, sizeof path, "%s/ver.npy", dir);
    write_raw(path, "\x93NUMPY\x09\x00\x10\x00{}              ", 26);
    ok(try_open(path, err, sizeof err) != 0 && contains(err, "version 9"), "rejects unknown version");
    snprintf(path, sizeof path, "%s/none.npy", dir);
    ok(try_open(path, err, sizeof err) != 0 && contains(err, "cannot open"), "missing file names the file");

    /* wrong dtype / ndim through the dying API: run in a child */
    {
        int64_t shape[2] = {2, 2};
        float v[4] = {1, 2, 3, 4};
        snprintf(path, sizeof path, "%s/f4.npy", dir);
        npy_save(path, NPY_F4, 2, shape, v);
        fflush(stdout);
        pid_t pid = fork();
        if (pid == 0) {
            freopen("/dev/null", "w", stderr);
            npy_array a;
            npy_open(&a, path, NPY_U1, 2);
            _exit(0);
        }
        int st;
        waitpid(pid, &st, 0);
        ok(WIFEXITED(st) && WEXITSTATUS(st) == 1, "npy_open exits 1 on wrong dtype");
        pid = fork();
        if (pid == 0) {
            freopen("/dev/null", "w", stderr);
            npy_array a;
            npy_open(&a, path, NPY_F4, 1);
            _exit(0);
        }
        waitpid(pid, &st, 0);
        ok(WIFEXITED(st) && WEXITSTATUS(st) == 1, "npy_open exits 1 on wrong number of dims");
        float nanv[4] = {1, 2, 0.0f / 0.0f, 4};
        snprintf(path, sizeof path, "%s/nan.npy", dir);
        npy_save(path, NPY_F4, 2, shape, nanv);
        pid = fork();
        if (pid == 0) {
            freopen("/dev/null", "w", stderr);
            npy_array a;
            npy_open(&a, path, NPY_F4, 2);
            npy_expect_finite(&a);
            _exit(0);
        }
        waitpid(pid, &st, 0);
        ok(WIFEXITED(st) && WEXITSTATUS(st) == 1, "NaN in a float array is rejected");
    }

    /* f2: the header numpy writes ('<f2'), the payload 2 bytes a value;
     * readers that take f4 or f2 name both when a file is neither; a NaN or
     * infinite half is refused naming the element */
    {
        const float v[6] = {0, 1, -2.5f, 65504, 0x1p-24f, 3.14159265f};
        uint16_t h[6];
        half_from_floats(h, v, 6);
        int64_t shape[2] = {2, 3};
        snprintf(path, sizeof path, "%s/f2.npy", dir);
        npy_save(path, NPY_F2, 2, shape, h);
        npy_array a;
        int r = npy_try_open(&a, path, err, sizeof err);
        const uint16_t want[6] = {0x0000, 0x3c00, 0xc100, 0x7bff, 0x0001, 0x4248};   /* pi: 3.140625 */
        ok(r == 0 && a.dtype == NPY_F2 && a.ndim == 2 && a.shape[0] == 2 && a.shape[1] == 3 && a.nbytes == 12 &&
               a.maplen == 128 + 12 && !memcmp(a.data, want, 12) &&
               !memcmp((const char *)a.map + 10, "{'descr': '<f2', 'fortran_order': False, 'shape': (2, 3), }", 59),
           "f2 [2,3]: header '<f2', 12 payload bytes after a 128-byte header, the halves as numpy's float16 writes them");
        if (r == 0) npy_close(&a);
        char msg[1024], wantm[1024];
        ok(child_stderr(open_f4_or_f2, path, msg, sizeof msg) == 0, "npy_open_any(f4 | f2) takes the f2 file");
        snprintf(path, sizeof path, "%s/i8.npy", dir);
        const int64_t iv[6] = {0};
        npy_save(path, NPY_I8, 2, shape, iv);
        snprintf(wantm, sizeof wantm, "t_npy: error: %s: expected dtype <f4 or <f2, found <i8\n", path);
        ok(child_stderr(open_f4_or_f2, path, msg, sizeof msg) == 1 && !strcmp(msg, wantm),
           "npy_open_any(f4 | f2) of an i8 file: one line naming both dtypes");
        if (strcmp(msg, wantm)) diag("got: %s", msg);
        int64_t s4[1] = {4};
        const uint16_t fin[4] = {0x7bff, 0xfbff, 0x0001, 0x8000}, infs[4] = {0x3c00, 0x3c00, 0xfc00, 0}, nans[4] = {0, 0x7e00, 0, 0};
        snprintf(path, sizeof path, "%s/f2fin.npy", dir);
        npy_save(path, NPY_F2, 1, s4, fin);
        ok(child_stderr(open_f2_finite, path, msg, sizeof msg) == 0, "f2 +-65504, 2^-24, -0: finite");
        snprintf(path, sizeof path, "%s/f2inf.npy", dir);
        npy_save(path, NPY_F2, 1, s4, infs);
        snprintf(wantm, sizeof wantm, "t_npy: error: %s: element 2 is infinite\n", path);
        ok(child_stderr(open_f2_finite, path, msg, sizeof msg) == 1 && !strcmp(msg, wantm), "f2 -inf: refused naming element 2");
        snprintf(path, sizeof path, "%s/f2nan.npy", dir);
        npy_save(path, NPY_F2, 1, s4, nans);
        snprintf(wantm, sizeof wantm, "t_npy: error: %s: element 1 is NaN\n", path);
        ok(child_stderr(open_f2_finite, path, msg, sizeof msg) == 1 && !strcmp(msg, wantm), "f2 NaN: refused naming element 1");
    }
    half_checks();

    /* a failed (aborted) write leaves no file, not even the temporary */
    {
        snprintf(path, sizeof path, "%s/partial.npy", dir);
        int64_t shape[1] = {100};
        fflush(stdout);
        pid_t pid = fork();
        if (pid == 0) {
            freopen("/dev/null", "w", stderr);
            npy_writer w;
            npy_writer_begin(&w, path, NPY_F4, 1, shape);
            float x[10] = {0};
            npy_writer_write(&w, x, sizeof x);
            npy_writer_commit(&w); /* short by 90 floats: dies */
            _exit(0);
        }
        int st;
        waitpid(pid, &st, 0);
        char tmp[600];
        snprintf(tmp, sizeof tmp, "%s.tmp.%d", path, (int)pid);
        ok(WIFEXITED(st) && WEXITSTATUS(st) == 1 && !file_exists(path) && !file_exists(tmp),
           "short write dies and leaves neither the file nor its temporary");
        pid = fork();
        if (pid == 0) {
            npy_writer w;
            npy_writer_begin(&w, path, NPY_F4, 1, shape);
            raise(SIGTERM);
            _exit(0);
        }
        waitpid(pid, &st, 0);
        snprintf(tmp, sizeof tmp, "%s.tmp.%d", path, (int)pid);
        ok(WIFSIGNALED(st) && !file_exists(path) && !file_exists(tmp), "SIGTERM mid-write leaves no file");
    }
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0) diag("could not remove %s", dir);
    return done_testing();
}
