/* t_npy: .npy round trip for every dtype, each kind of bad header, truncated
 * and oversized files, wrong dtype/shape, and atomic writes. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "format/npy.h"
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

int main(void) {
    dsah_init("t_npy");
    snprintf(dir, sizeof dir, "/tmp/dsah_t_npy.%d", (int)getpid());
    mkdir_p(dir);
    char path[512], err[512];

    /* round trip: every dtype, 1-3 dims */
    npy_dtype types[] = {NPY_U1, NPY_I4, NPY_I8, NPY_F4, NPY_F8};
    for (int t = 0; t < 5; t++) {
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
        {"{'descr': '<f2', 'fortran_order': False, 'shape': (2,), }", 4, "unsupported dtype '<f2'", "unsupported dtype"},
        {"{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }", 8, "unsupported dtype '>f4'", "big-endian dtype"},
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
