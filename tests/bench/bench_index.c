/* bench_index: timings of hash/index.c for tests/bench/index.sh.
 *
 *   bench_index build CODES.npy DIR             build + save; prints
 *       {"build_s", "save_s", "bytes_faiss", "bytes_mih", "m"}
 *   bench_index search DIR QUERIES.npy K NLAT NTPUT OUT
 *       for each method (mih, scan, auto): single-query latency (the first
 *       NLAT queries one at a time, one thread: median and p99 in ms) and
 *       throughput (the first NTPUT queries in one call, all threads: queries/s); checks
 *       that the three methods return identical ids and distances; writes
 *       the ids (i8, database positions) and distances (i4) of the
 *       throughput run to OUT.ids.npy / OUT.dist.npy for the FAISS
 *       comparison. One JSON line per method. */
#include <omp.h>
#include <stdio.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>

#include "format/npy.h"
#include "hash/index.h"
#include "util/util.h"
#include "bench.h"

/* CPU seconds of the calling thread: on a shared machine the wall time of
 * a sub-millisecond query is mostly waiting for a core. */
static double thread_cpu_sec(void) { return bench_cpu_sec(CLOCK_THREAD_CPUTIME_ID); }

static long long fsize(const char *dir, const char *name) {
    char *p = path_join(dir, name);
    FILE *f = fopen(p, "rb");
    long long n = -1;
    if (f) {
        fseek(f, 0, SEEK_END);
        n = ftell(f);
        fclose(f);
    }
    free(p);
    return n;
}

int main(int argc, char **argv) {
    dsah_init("bench_index");
    if (argc == 4 && !strcmp(argv[1], "build")) {
        npy_array C;
        npy_open(&C, argv[2], NPY_U1, 2);
        double t0 = now_sec();
        hindex ix;
        hindex_build(&ix, C.data, C.shape[0], C.shape[1], (int)(8 * C.shape[1]), NULL, 0, omp_get_max_threads());
        double t1 = now_sec();
        hindex_save(&ix, argv[3]);
        double t2 = now_sec();
        printf("{\"build_s\": %.4f, \"save_s\": %.4f, \"bytes_faiss\": %lld, \"bytes_mih\": %lld, \"m\": %d}\n", t1 - t0,
               t2 - t1, fsize(argv[3], "index.faiss"), fsize(argv[3], "mih.bin"), ix.m);
        hindex_free(&ix);
        npy_close(&C);
        return 0;
    }
    if (argc != 8 || strcmp(argv[1], "search")) die("usage: bench_index build CODES DIR | search DIR QUERIES K NLAT NTPUT OUT");
    const int threads = omp_get_max_threads();
    hindex ix;
    double tl = now_sec();
    hindex_load(&ix, argv[2], threads);
    const double load_s = now_sec() - tl;
    npy_array Q;
    npy_open(&Q, argv[3], NPY_U1, 2);
    if (Q.shape[1] != ix.row_bytes) die("%s: codes of another length", argv[3]);
    const int64_t nq = atoll(argv[6]) < Q.shape[0] ? atoll(argv[6]) : Q.shape[0], k = atoll(argv[4]),
                  nlat = atoll(argv[5]) < nq ? atoll(argv[5]) : nq;
    const uint8_t *qs = Q.data;
    hsearch_result ref = {0};
    const int methods[3] = {HSEARCH_MIH, HSEARCH_SCAN, HSEARCH_AUTO};
    for (int mi = 0; mi < 3; mi++) {
        const int method = methods[mi];
        hsearch_params p = {.k = k, .radius = -1, .method = method};
        /* latency: one query per call, one thread */
        ix.nthreads = 1;
        double *lat = xmalloc(sizeof(double) * (size_t)nlat), *cpu = xmalloc(sizeof(double) * (size_t)nlat);
        int64_t by_mih = 0;
        for (int64_t q = 0; q < nlat; q++) {
            hsearch_result r;
            double t0 = now_sec(), c0 = thread_cpu_sec();
            hsearch(&r, &ix, qs + q * ix.row_bytes, 1, &p);
            lat[q] = now_sec() - t0;
            cpu[q] = thread_cpu_sec() - c0;
            by_mih += r.used[0] == HSEARCH_MIH;
            hsearch_result_free(&r);
        }
        qsort(lat, (size_t)nlat, sizeof(double), bench_cmp_d);
        qsort(cpu, (size_t)nlat, sizeof(double), bench_cmp_d);
        /* throughput: all queries in one call, all threads */
        ix.nthreads = threads;
        hsearch_result r;
        double t0 = now_sec();
        hsearch(&r, &ix, qs, nq, &p);
        const double tput = now_sec() - t0;
        int64_t tp_mih = 0;
        for (int64_t q = 0; q < nq; q++) tp_mih += r.used[q] == HSEARCH_MIH;
        int same = 1;
        if (method == HSEARCH_MIH) {
            ref = r;
            char *pi = xmalloc(strlen(argv[7]) + 16), *pd = xmalloc(strlen(argv[7]) + 16);
            sprintf(pi, "%s.ids.npy", argv[7]);
            sprintf(pd, "%s.dist.npy", argv[7]);
            int64_t shape[2] = {nq, r.lims[nq] / (nq ? nq : 1)};
            npy_save(pi, NPY_I8, 2, shape, r.pos);
            npy_save(pd, NPY_I4, 2, shape, r.dist);
            free(pi), free(pd);
        } else {
            same = r.lims[nq] == ref.lims[nq] && !memcmp(r.pos, ref.pos, sizeof(int64_t) * (size_t)r.lims[nq]) &&
                   !memcmp(r.dist, ref.dist, sizeof(int32_t) * (size_t)r.lims[nq]);
            hsearch_result_free(&r);
        }
        printf("{\"method\": \"%s\", \"k\": %lld, \"n\": %lld, \"bits\": %d, \"m\": %d, \"load_s\": %.3f, "
               "\"lat_median_ms\": %.4f, \"lat_p99_ms\": %.4f, \"cpu_median_ms\": %.4f, \"lat_n\": %lld, \"lat_by_mih\": %lld, "
               "\"tput_qps\": %.1f, \"tput_nq\": %lld, \"tput_by_mih\": %lld, \"threads\": %d, \"identical_to_mih\": %s}\n",
               hsearch_method_name(method), (long long)k, (long long)ix.n, ix.bits, ix.m, load_s,
               1e3 * lat[nlat / 2], 1e3 * lat[(nlat * 99) / 100 < nlat ? (nlat * 99) / 100 : nlat - 1], 1e3 * cpu[nlat / 2],
               (long long)nlat,
               (long long)by_mih, nq / tput, (long long)nq, (long long)tp_mih, threads, same ? "true" : "false");
        fflush(stdout);
        free(lat);
        free(cpu);
        if (!same) die("method %s differs from mih", hsearch_method_name(method));
    }
    hsearch_result_free(&ref);
    hindex_free(&ix);
    npy_close(&Q);
    return 0;
}
