/* t_safetensors: writer/reader round trip, a hand-built file with F16, BF16
 * and F64 tensors checked against values computed independently here, the
 * timm -> torchvision VGG name mapping, and every kind of corrupt file. */
#include <dirent.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "format/safetensors.h"
#include "tap.h"
#include "util/util.h"

static char dir[256];

static int contains(const char *s, const char *sub) { return strstr(s, sub) != NULL; }
static int starts(const char *s, const char *pre) { return strncmp(s, pre, strlen(pre)) == 0; }

/* A safetensors file from parts: header length (hl_override >= 0 replaces the
 * true one), header text, then dlen data bytes. */
static void write_parts(const char *path, const char *header, const void *data, size_t dlen, long long hl_override) {
    size_t hl = strlen(header);
    unsigned long long v = hl_override >= 0 ? (unsigned long long)hl_override : hl;
    unsigned char len[8];
    for (int i = 0; i < 8; i++) len[i] = (unsigned char)(v >> (8 * i));
    FILE *f = fopen(path, "wb");
    CHECK(f);
    CHECK(fwrite(len, 1, 8, f) == 8);
    CHECK(fwrite(header, 1, hl, f) == hl);
    if (dlen) CHECK(fwrite(data, 1, dlen, f) == dlen);
    CHECK(fclose(f) == 0);
}

/* st_try_open that closes on success; returns the result, message in err. */
static int try_open(const char *path, char *err, size_t n) {
    st_file f;
    err[0] = '\0';
    int r = st_try_open(&f, path, err, n);
    if (r == 0) st_close(&f);
    return r;
}

/* Run fn(arg) in a child; returns its exit status and its stderr in msg
 * (without the final newline). */
static int in_child(void (*fn)(const void *), const void *arg, char *msg, size_t n) {
    int p[2];
    CHECK(pipe(p) == 0);
    fflush(stdout);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        close(p[0]);
        dup2(p[1], 2);
        fn(arg);
        _exit(0);
    }
    close(p[1]);
    size_t k = 0;
    ssize_t r;
    while (k + 1 < n && (r = read(p[0], msg + k, n - 1 - k)) > 0) k += (size_t)r;
    msg[k] = '\0';
    /* one line expected: drop its newline so it prints inside a TAP line */
    if (k && msg[k - 1] == '\n') msg[k - 1] = '\0';
    close(p[0]);
    int st;
    waitpid(pid, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

/* Independent decoders by the textbook formula (not bit manipulation). */
static double half_formula(unsigned h) {
    int s = h >> 15, e = (h >> 10) & 31, m = h & 1023;
    double v;
    if (e == 0) v = ldexp(m, -24);
    else if (e == 31) v = m ? NAN : INFINITY;
    else v = ldexp(1.0 + m / 1024.0, e - 15);
    return s ? -v : v;
}
static double bf16_formula(unsigned h) {
    int s = h >> 15, e = (h >> 7) & 255, m = h & 127;
    double v;
    if (e == 0) v = ldexp(m, -133);
    else if (e == 255) v = m ? NAN : INFINITY;
    else v = ldexp(1.0 + m / 128.0, e - 127);
    return s ? -v : v;
}

static void put_u16(unsigned char *p, unsigned v) { p[0] = (unsigned char)(v & 255); p[1] = (unsigned char)(v >> 8); }

typedef struct { const char *path; const char *name; int64_t count; int ndim; int64_t shape[4]; } read_args;
static void child_read(const void *a_) {
    const read_args *a = a_;
    st_file f;
    st_open(&f, a->path);
    const st_tensor *t = st_find(&f, a->name);
    CHECK(t);
    float buf[64];
    if (a->ndim) st_read_f32_as(buf, &f, t, a->ndim, a->shape);
    else st_read_f32(buf, &f, t, a->count);
}
static void child_open(const void *path) {
    st_file f;
    st_open(&f, path);
}

int main(void) {
    dsah_init("t_safetensors");
    snprintf(dir, sizeof dir, "%s/dsah_t_st.%d", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", (int)getpid());
    mkdir_p(dir);
    char path[512], err[1024], msg[2048];

    /* ---- round trip ---------------------------------------------------- */
    {
        float a[2 * 3], b[5], c[1];
        for (int i = 0; i < 6; i++) a[i] = (float)i * 0.25f - 1.0f;
        for (int i = 0; i < 5; i++) b[i] = 1.0f / (float)(i + 1);
        c[0] = -3.5e-20f;
        int64_t sa[2] = {2, 3}, sb[1] = {5}, se[2] = {0, 4};
        snprintf(path, sizeof path, "%s/rt.safetensors", dir);
        st_writer *w = st_writer_begin(path);
        st_writer_add(w, "layer.weight", 2, sa, a);
        st_writer_add(w, "layer.bias", 1, sb, b);
        st_writer_add(w, "scalar", 0, NULL, c);
        st_writer_add(w, "empty", 2, se, a);
        st_writer_add(w, "odd \"name\"\\ é", 1, sb, b);
        st_writer_meta(w, "arch", "vgg19");
        st_writer_meta(w, "note", "line1\nline2 \"quoted\" \\ ü");
        st_writer_commit(w);

        st_file f;
        int r = st_try_open(&f, path, err, sizeof err);
        ok(r == 0, "round trip file opens (%s)", r ? err : "ok");
        if (r == 0) {
            const char *names[5] = {"layer.weight", "layer.bias", "scalar", "empty", "odd \"name\"\\ é"};
            int order = f.n == 5;
            for (int i = 0; order && i < 5; i++) order &= !strcmp(f.t[i].name, names[i]);
            ok(order, "tensors come back with their names, in the order added");
            const st_tensor *ta = st_find(&f, "layer.weight"), *tb = st_find(&f, "layer.bias"), *tc = st_find(&f, "scalar"),
                            *te = st_find(&f, "empty"), *to = st_find(&f, "odd \"name\"\\ é");
            ok(ta && ta->dtype == ST_F32 && ta->ndim == 2 && ta->shape[0] == 2 && ta->shape[1] == 3 && ta->count == 6,
               "2-D shape [2,3] F32");
            ok(tb && tb->ndim == 1 && tb->shape[0] == 5 && tc && tc->ndim == 0 && tc->count == 1 && te && te->count == 0 &&
                   te->ndim == 2 && te->shape[0] == 0 && te->shape[1] == 4,
               "1-D, scalar and empty shapes");
            float got[6];
            st_read_f32(got, &f, ta, 6);
            ok(!memcmp(got, a, sizeof a), "2-D values bit-exact");
            st_read_f32(got, &f, tb, 5);
            ok(!memcmp(got, b, sizeof b), "1-D values bit-exact");
            st_read_f32(got, &f, tc, 1);
            ok(got[0] == c[0], "scalar value exact");
            st_read_f32(got, &f, to, 5);
            ok(!memcmp(got, b, sizeof b), "name with quotes, backslash and UTF-8 survives escaping");
            ok(st_meta(&f, "arch") && !strcmp(st_meta(&f, "arch"), "vgg19") && st_meta(&f, "note") &&
                   !strcmp(st_meta(&f, "note"), "line1\nline2 \"quoted\" \\ ü") && f.nmeta == 2,
               "metadata round trip (with escapes)");
            ok(st_meta(&f, "missing") == NULL, "absent metadata key is NULL");
            ok(st_find(&f, "layer") == NULL && st_find(&f, "nope") == NULL, "missing tensor: st_find returns NULL");
            /* layout: header length a multiple of 8, padding is spaces, data
             * region starts right after and tensors are packed in order */
            const unsigned char *m = f.map;
            uint64_t hl = 0;
            for (int i = 7; i >= 0; i--) hl = hl << 8 | m[i];
            ok(hl % 8 == 0 && m[8] == '{' && (const unsigned char *)ta->data == m + 8 + hl &&
                   (const unsigned char *)tb->data == m + 8 + hl + 24 && f.maplen == 8 + hl + 24 + 20 + 4 + 0 + 20,
               "header padded to a multiple of 8 (%llu), data packed in order", (unsigned long long)hl);
            size_t last = 8 + hl - 1;
            while (m[last] == ' ') last--;
            ok(m[last] == '}', "header padding is spaces after the closing brace");
            ok(!memcmp(m + 8, "{\"__metadata__\":{\"arch\":\"vgg19\"", 31), "__metadata__ written first, as the reference does");
            st_close(&f);
        }
        /* no temporary left behind */
        DIR *d = opendir(dir);
        int tmp = 0;
        struct dirent *e;
        while ((e = readdir(d))) tmp += contains(e->d_name, ".tmp.");
        closedir(d);
        ok(tmp == 0, "atomic write leaves no temporary file");
    }

    /* ---- hand-built file: F16, BF16, F64, I32 --------------------------- */
    {
        unsigned h16[] = {0x3C00, 0xC000, 0x3555, 0x0001, 0x03FF, 0x0400, 0x7BFF, 0x8000, 0xFC00, 0x5640};
        unsigned hbf[] = {0x3F80, 0xC040, 0x4049, 0x0001, 0x007F, 0x7F7F, 0x8000, 0x7F80};
        double f64[] = {0.1, -1e-3, 3.0e38};
        int nh = 10, nb = 8;
        unsigned char data[20 + 16 + 24 + 8];
        for (int i = 0; i < nh; i++) put_u16(data + 2 * i, h16[i]);
        for (int i = 0; i < nb; i++) put_u16(data + 20 + 2 * i, hbf[i]);
        memcpy(data + 36, f64, 24);   /* little-endian host, as the reader assumes */
        int32_t iv[2] = {7, -9};
        memcpy(data + 60, iv, 8);
        const char *hdr =
            "{ \"h\" : {\"dtype\":\"F16\",\"shape\":[2,5],\"data_offsets\":[0,20]},\n"
            "  \"b\": {\"shape\": [8], \"dtype\": \"BF16\", \"data_offsets\": [20, 36]},\n"
            "  \"d\": {\"data_offsets\":[36,60],\"dtype\":\"F64\",\"shape\":[3, 1]},\n"
            "  \"i\": {\"dtype\":\"I32\",\"shape\":[2],\"data_offsets\":[60,68]},\n"
            "  \"__metadata__\": {\"format\": \"pt\", \"k\\u00e9y\\n\": \"\\ud83d\\ude00\\/\"}}   ";
        snprintf(path, sizeof path, "%s/hand.safetensors", dir);
        write_parts(path, hdr, data, sizeof data, -1);
        st_file f;
        int r = st_try_open(&f, path, err, sizeof err);
        ok(r == 0, "hand-built file opens (%s)", r ? err : "ok");
        if (r == 0) {
            const st_tensor *th = st_find(&f, "h"), *tb = st_find(&f, "b"), *td = st_find(&f, "d"), *ti = st_find(&f, "i");
            ok(th && th->dtype == ST_F16 && tb && tb->dtype == ST_BF16 && td && td->dtype == ST_F64 && ti && ti->dtype == ST_I32,
               "dtypes F16 BF16 F64 I32 recognised");
            float out[10];
            st_read_f32(out, &f, th, 10);
            int good = 1;
            for (int i = 0; i < nh; i++) {
                double want = half_formula(h16[i]);
                good &= (double)out[i] == want && !!signbit(out[i]) == !!signbit(want);
                if ((double)out[i] != want) diag("F16 %04x: got %.9g want %.9g", h16[i], out[i], want);
            }
            ok(good, "F16 -> F32 exact for normals, subnormals, max, -0, -inf (formula check)");
            ok(out[0] == 1.0f && out[1] == -2.0f && out[6] == 65504.0f && out[9] == 100.0f && out[3] == 5.9604644775390625e-08f,
               "F16 hand values: 1, -2, 65504, 100, 2^-24");
            st_read_f32(out, &f, tb, 8);
            good = 1;
            for (int i = 0; i < nb; i++) {
                double want = bf16_formula(hbf[i]);
                good &= (double)out[i] == want && !!signbit(out[i]) == !!signbit(want);
                if ((double)out[i] != want) diag("BF16 %04x: got %.9g want %.9g", hbf[i], out[i], want);
            }
            ok(good, "BF16 -> F32 exact incl. subnormals, -0, inf (formula check)");
            ok(out[0] == 1.0f && out[1] == -3.0f && out[2] == 3.140625f, "BF16 hand values: 1, -3, 3.140625");
            st_read_f32(out, &f, td, 3);
            ok(out[0] == (float)0.1 && out[1] == (float)-1e-3 && out[2] == (float)3.0e38, "F64 -> F32 rounds like a C cast");
            ok(st_meta(&f, "format") && !strcmp(st_meta(&f, "format"), "pt") && st_meta(&f, "k\xc3\xa9y\n") &&
                   !strcmp(st_meta(&f, "k\xc3\xa9y\n"), "\xf0\x9f\x98\x80/"),
               "metadata \\u escapes (incl. a surrogate pair) decode to UTF-8");
            st_close(&f);
        }
        read_args ra = {path, "i", 2, 0, {0}};
        int rc = in_child(child_read, &ra, msg, sizeof msg);
        ok(rc == 1 && contains(msg, path) && contains(msg, "'i'") && contains(msg, "I32"),
           "st_read_f32 of an integer tensor dies naming file, tensor and dtype: %s", msg);
        read_args rb = {path, "h", 12, 0, {0}};
        rc = in_child(child_read, &rb, msg, sizeof msg);
        ok(rc == 1 && starts(msg, "t_safetensors: error: ") && contains(msg, path) && contains(msg, "'h'") &&
               contains(msg, "[12]") && contains(msg, "[2,5]"),
           "wrong element count dies naming file, tensor, expected and found shapes: %s", msg);
        read_args rc3 = {path, "h", 0, 2, {5, 3}};
        rc = in_child(child_read, &rc3, msg, sizeof msg);
        ok(rc == 1 && contains(msg, "expected shape [5,3]") && contains(msg, "found [2,5]"),
           "st_read_f32_as names both shapes: %s", msg);
    }

    /* ---- VGG names: timm vs torchvision --------------------------------- */
    {
        char buf[128];
        ok(!strcmp(vgg_canonical_name("pre_logits.fc1.weight", buf, sizeof buf), "classifier.0.weight") &&
               !strcmp(vgg_canonical_name("pre_logits.fc1.bias", buf, sizeof buf), "classifier.0.bias") &&
               !strcmp(vgg_canonical_name("pre_logits.fc2.weight", buf, sizeof buf), "classifier.3.weight") &&
               !strcmp(vgg_canonical_name("pre_logits.fc2.bias", buf, sizeof buf), "classifier.3.bias") &&
               !strcmp(vgg_canonical_name("head.fc.weight", buf, sizeof buf), "classifier.6.weight") &&
               !strcmp(vgg_canonical_name("head.fc.bias", buf, sizeof buf), "classifier.6.bias"),
           "timm classifier names map to torchvision's");
        ok(!strcmp(vgg_canonical_name("features.34.weight", buf, sizeof buf), "features.34.weight") &&
               !strcmp(vgg_canonical_name("classifier.3.bias", buf, sizeof buf), "classifier.3.bias") &&
               !strcmp(vgg_canonical_name("hash.fc.weight", buf, sizeof buf), "hash.fc.weight") &&
               !strcmp(vgg_canonical_name("pre_logits.fc10.weight", buf, sizeof buf), "pre_logits.fc10.weight"),
           "canonical and unrelated names unchanged");
        /* A miniature VGG: 2 channels of 3x3 before fc6 (timm conv-shaped
         * fc6 [4,2,3,3] = torchvision [4,18]); fc7 [4,4,1,1] = [4,4]. */
        float conv[2 * 1 * 3 * 3], fc6[4 * 18], b6[4], fc7[16], b7[4], fc8[5 * 4], b8[5];
        float *all[] = {conv, fc6, b6, fc7, b7, fc8, b8};
        int sizes[] = {18, 72, 4, 16, 4, 20, 5};
        for (int k = 0, s = 1; k < 7; k++)
            for (int i = 0; i < sizes[k]; i++, s++) all[k][i] = (float)((s * 7919) % 1000) / 1000.0f - 0.5f;
        const char *tv[] = {"features.0.weight", "classifier.0.weight", "classifier.0.bias", "classifier.3.weight",
                            "classifier.3.bias", "classifier.6.weight", "classifier.6.bias"};
        const char *tm[] = {"features.0.weight", "pre_logits.fc1.weight", "pre_logits.fc1.bias", "pre_logits.fc2.weight",
                            "pre_logits.fc2.bias", "head.fc.weight", "head.fc.bias"};
        int64_t tvs[7][4] = {{2, 1, 3, 3}, {4, 18}, {4}, {4, 4}, {4}, {5, 4}, {5}};
        int tvn[7] = {4, 2, 1, 2, 1, 2, 1};
        int64_t tms[7][4] = {{2, 1, 3, 3}, {4, 2, 3, 3}, {4}, {4, 4, 1, 1}, {4}, {5, 4}, {5}};
        int tmn[7] = {4, 4, 1, 4, 1, 2, 1};
        char ptv[512], ptm[512];
        snprintf(ptv, sizeof ptv, "%s/vgg_tv.safetensors", dir);
        snprintf(ptm, sizeof ptm, "%s/vgg_timm.safetensors", dir);
        st_writer *w1 = st_writer_begin(ptv), *w2 = st_writer_begin(ptm);
        for (int k = 0; k < 7; k++) st_writer_add(w1, tv[k], tvn[k], tvs[k], all[k]);
        for (int k = 6; k >= 0; k--) st_writer_add(w2, tm[k], tmn[k], tms[k], all[k]);   /* other order on purpose */
        st_writer_commit(w1);
        st_writer_commit(w2);
        st_file a, b;
        st_open(&a, ptv);
        st_open(&b, ptm);
        int same_names = a.n == b.n;
        for (int i = 0; same_names && i < b.n; i++) {
            char c1[128];
            vgg_canonical_name(b.t[i].name, c1, sizeof c1);
            same_names &= st_find(&a, c1) != NULL;
        }
        ok(same_names, "every timm tensor's canonical name exists in the torchvision file");
        int same_vals = 1;
        for (int k = 0; k < 7; k++) {
            const st_tensor *x = st_find_vgg(&a, tv[k]), *y = st_find_vgg(&b, tv[k]);
            if (!x || !y) { same_vals = 0; break; }
            float vx[72], vy[72];
            st_read_f32_as(vx, &a, x, tvn[k], tvs[k]);
            st_read_f32_as(vy, &b, y, tvn[k], tvs[k]);   /* conv-shaped timm fc6 read as [4,18] */
            same_vals &= !memcmp(vx, vy, sizeof(float) * (size_t)sizes[k]) && !memcmp(vx, all[k], sizeof(float) * (size_t)sizes[k]);
        }
        ok(same_vals, "st_find_vgg + st_read_f32_as give the same floats from both namings");
        ok(st_find_vgg(&b, "classifier.9.weight") == NULL && st_find_vgg(&b, "classifier.0.running_mean") == NULL,
           "st_find_vgg: missing tensor is NULL");
        st_close(&a);
        st_close(&b);
    }

    /* ---- corrupt files: each rejected with its own message ------------- */
    {
        unsigned char z[64] = {0};
        struct { const char *what, *hdr; size_t dlen; long long hl; const char *expect; } cases[] = {
            {"header length beyond the file", "{}", 0, 1000, "beyond the file size"},
            {"header length near 2^64", "{}", 0, (long long)0x7fffffffffffff00LL, "beyond the file size"},
            {"bad JSON: missing colon", "{\"a\" {\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4, -1, "bad JSON header at byte 5"},
            {"bad JSON: trailing garbage", "{} x", 0, -1, "trailing bytes"},
            {"bad JSON: not an object", "[1,2]", 0, -1, "bad JSON header at byte 0: expected '{'"},
            {"bad JSON: unterminated string", "{\"a", 0, -1, "unterminated string"},
            {"bad JSON: bad escape", "{\"a\\q\":1}", 0, -1, "bad escape"},
            {"bad JSON: fractional shape", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1.5],\"data_offsets\":[0,4]}}", 4, -1, "fraction"},
            {"bad JSON: negative offset", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[-4,0]}}", 4, -1, "non-negative integer"},
            {"bad JSON: empty header", "", 0, -1, "bad JSON header at byte 0"},
            {"bad JSON: missing data_offsets", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1]}}", 4, -1, "has no \"data_offsets\""},
            {"bad JSON: unknown key in entry", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"offsets\":[0,4]}}", 4, -1, "unknown key \"offsets\""},
            {"bad JSON: duplicate tensor", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8, -1, "duplicate tensor 'a'"},
            {"bad JSON: metadata value not a string", "{\"__metadata__\":{\"k\":1}}", 0, -1, "expected a string"},
            {"bad JSON: too many dims", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,1],\"data_offsets\":[0,4]}}", 4, -1, "array too long"},
            {"offsets out of range", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[16,24]}}", 16, -1, "'b': data_offsets [16, 24] out of range"},
            {"offsets reversed", "{\"a\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[8,4]}}", 8, -1, "end before begin"},
            {"offsets overlapping", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 16, -1, "overlap"},
            {"shape x dtype size mismatch", "{\"a\":{\"dtype\":\"F16\",\"shape\":[2,3],\"data_offsets\":[0,24]}}", 24, -1, "size mismatch: F16 [2,3] needs 12 bytes"},
            {"unknown dtype", "{\"a\":{\"dtype\":\"F8_E4M3\",\"shape\":[1],\"data_offsets\":[0,1]}}", 1, -1, "unknown dtype \"F8_E4M3\""},
            {"truncated data", "{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]},\"b\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[16,32]}}", 20, -1, "truncated safetensors file: tensors need 32 data bytes, file has 20"},
        };
        int nc = (int)(sizeof cases / sizeof cases[0]);
        for (int i = 0; i < nc; i++) {
            snprintf(path, sizeof path, "%s/bad%02d.safetensors", dir, i);
            write_parts(path, cases[i].hdr, z, cases[i].dlen, cases[i].hl);
            int r = try_open(path, err, sizeof err);
            ok(r == -1 && starts(err, path) && contains(err, cases[i].expect), "%s rejected: %s", cases[i].what, err);
        }
        /* a file shorter than the 8-byte length field */
        snprintf(path, sizeof path, "%s/short.safetensors", dir);
        FILE *fp = fopen(path, "wb");
        CHECK(fp && fwrite("\x02\0\0", 1, 3, fp) == 3 && fclose(fp) == 0);
        int r = try_open(path, err, sizeof err);
        ok(r == -1 && starts(err, path) && contains(err, "no header length"), "file shorter than 8 bytes rejected: %s", err);
        /* a real file cut short by the tail of its last tensor */
        float v[8] = {1, 2, 3, 4, 5, 6, 7, 8};
        int64_t s8[1] = {8};
        snprintf(path, sizeof path, "%s/cut.safetensors", dir);
        st_writer *w = st_writer_begin(path);
        st_writer_add(w, "v", 1, s8, v);
        st_writer_commit(w);
        st_file f;
        st_open(&f, path);
        size_t full = f.maplen;
        st_close(&f);
        CHECK(truncate(path, (off_t)full - 3) == 0);
        r = try_open(path, err, sizeof err);
        ok(r == -1 && starts(err, path) && contains(err, "truncated safetensors file: tensors need 32 data bytes, file has 29"),
           "writer's file truncated by 3 bytes rejected: %s", err);
        snprintf(path, sizeof path, "%s/does-not-exist.safetensors", dir);
        r = try_open(path, err, sizeof err);
        ok(r == -1 && starts(err, path) && contains(err, "cannot open"), "missing file: %s", err);
        /* st_open dies with the one-line error */
        snprintf(path, sizeof path, "%s/bad00.safetensors", dir);
        int rc = in_child(child_open, path, msg, sizeof msg);
        ok(rc == 1 && starts(msg, "t_safetensors: error: ") && contains(msg, path) && contains(msg, "beyond the file size") &&
               strchr(msg, '\n') == NULL,
           "st_open dies with one line naming the file: %s", msg);
    }

    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    CHECK(system(cmd) == 0);
    return done_testing();
}
