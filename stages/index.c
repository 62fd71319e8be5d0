/* dsah-index: build an exact Hamming search index (common/hash/index.h).
 * Thin main: flags (cli/index.c), open the codes and ids, build, save. */
#include <omp.h>
#include <stdio.h>

#include "cli/stages.h"
#include "format/npy.h"
#include "hash/index.h"
#include "util/bits.h"
#include "util/util.h"

int main(int argc, char **argv) {
    dsah_init("dsah-index");
    index_args a;
    opt_parse(&index_cmd, &a, argc, argv);
    dsah_set_threads(a.threads);
    double t0 = now_sec();
    npy_array C, I;
    npy_open(&C, a.codes, NPY_U1, 2);
    const int64_t n = C.shape[0], rb = C.shape[1];
    if (rb < 1) die("%s: codes of 0 bytes", a.codes);
    int bits = (int)(8 * rb);
    if (a.bits) {
        if (bits_row_bytes(a.bits) != rb) die("--bits %lld does not fit codes of %lld bytes in %s", a.bits, (long long)rb, a.codes);
        bits = (int)a.bits;
    }
    if (bits > HINDEX_MAX_BITS) die("%s: codes of %d bits (at most %d)", a.codes, bits, HINDEX_MAX_BITS);
    const int64_t *ids = NULL;
    if (a.ids) {
        npy_open(&I, a.ids, NPY_I8, 1);
        npy_expect_dim(&I, 0, n, "one id per row of --codes");
        ids = I.data;
    }
    if (a.mih_m > 0 && (a.mih_m > bits || (bits + a.mih_m - 1) / a.mih_m > HINDEX_MAX_SUB))
        die("--mih-m %lld: %d bits need between %d and %d substrings", a.mih_m, bits,
            (bits + HINDEX_MAX_SUB - 1) / HINDEX_MAX_SUB, bits < HINDEX_MAX_M ? bits : HINDEX_MAX_M);
    hindex ix;
    hindex_build(&ix, C.data, n, rb, bits, ids, (int)a.mih_m, omp_get_max_threads());
    double t1 = now_sec();
    af_batch_begin();   /* index.faiss, mih.bin and index.json together or none */
    hindex_save(&ix, a.out);
    af_batch_commit();
    info("%lld codes of %d bits, %d MIH substrings: built in %.2f s, written in %.2f s -> %s", (long long)n, bits, ix.m,
         t1 - t0, now_sec() - t1, a.out);
    hindex_free(&ix);
    npy_close(&C);
    if (a.ids) npy_close(&I);
    return 0;
}
