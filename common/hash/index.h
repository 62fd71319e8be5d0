/* index.h: exact Hamming search over packed binary codes (bits.h layout):
 * multi-index hashing and a linear bit-sliced scan, and the index directory.
 *
 * Ranking: ascending Hamming distance, ties by ascending position in the
 * database (the order the codes were given to the index), exactly as eval.h
 * ranks. Every method returns the same items in the same order.
 *
 * Methods:
 *   scan   every item's distance: eval's bit-sliced kernel (hamming_planes,
 *          bits <= 255 with AVX-512) or a popcount loop; the histogram of
 *          distances gives the cutoff c of rank k, and the items with
 *          distance <= c are placed by a counting sort (index order inside
 *          a distance).
 *   mih    multi-index hashing (Norouzi, Punjani, Fleet, TPAMI 2014): the
 *          code is cut into m substrings (lengths differ by at most one),
 *          one table each maps a substring value to the positions holding
 *          it (CSR: [2^s + 1] offsets, [n] positions sorted by value, then
 *          position). Probing all tables at substring radius 0, 1, 2, ...
 *          in turn, after table j at radius r every item with distance
 *          <= m r + j has been found (pigeonhole: if every substring is
 *          farther than allowed, the distances add up to more). Found
 *          items are verified with their full distance (a bit per item
 *          marks the seen ones). k-NN stops when at least k found items
 *          lie within that guaranteed radius, radius search when it
 *          reaches r; then the found items are sorted by (distance,
 *          position): all of the true answer is among them.
 *   auto   mih under a work budget equal to the scan's expected cost
 *          (bucket probes and verifications against n times the scan's cost
 *          per item, constants measured by make bench); a query that runs
 *          out falls back to the scan. The index remembers, per kind of
 *          query (k <= 1, 10, 100, more, radius), how often MIH fell back:
 *          while more than half of the recent tries did, queries scan
 *          directly, except every 16th (which tries MIH again). MIH is not
 *          built when the substrings would be longer than 24 bits or
 *          n > 2^32 - 1; auto then scans.
 *
 * Directory (dsah-index --out DIR), every file written atomically:
 *   DIR/index.faiss  FAISS's binary index layout, opened unchanged by
 *                    faiss.read_index_binary: "IBxF" (IndexBinaryFlat) or,
 *                    with ids, "IBMp" (IndexBinaryIDMap) around it. Header
 *                    d (i32, 8 * code bytes), code_size (i32), ntotal
 *                    (i64), is_trained (u8 = 1), metric_type (i32 = 1),
 *                    then the codes as a vector (u64 byte count, bytes);
 *                    IBMp: its header, the IBxF, the ids (u64 count, i64s).
 *   DIR/mih.bin      "DSAHMIH1", u32 version, bits, m, pad; u64 n,
 *                    row_bytes, the checksum of index.faiss (its bytes) and
 *                    of the tables; u32 substring lengths [m], padded to
 *                    64 bytes; then per table its offsets and positions
 *                    (u32), each padded to 64 bytes.
 *   DIR/index.json   bits, n, m, the substring lengths, the files.
 * Everything read is validated: magic, sizes against the file length with
 * overflow checks, the checksums, offsets monotone and ending at n,
 * positions < n. */
#ifndef DSAH_INDEX_H
#define DSAH_INDEX_H

#include <stddef.h>
#include <stdint.h>

#include "hash/eval.h"

#define HINDEX_MAX_M 64
#define HINDEX_MAX_SUB 24
#define HINDEX_MAX_BITS 4096

typedef struct hindex {
    int bits;
    int64_t row_bytes, n;
    const uint8_t *codes;       /* [n, row_bytes] */
    const int64_t *ids;         /* [n] user ids, or NULL (the id is the position) */
    int m;                      /* substrings; 0: no MIH tables */
    int sub_len[HINDEX_MAX_M];  /* bits of substring j */
    int sub_off[HINDEX_MAX_M];  /* first code bit of substring j */
    const uint32_t *tab_off[HINDEX_MAX_M]; /* [2^sub_len + 1] */
    const uint32_t *tab_pos[HINDEX_MAX_M]; /* [n] */
    int have_planes;            /* bit-sliced scan built */
    hamming_planes hp;
    /* storage (owned) */
    void *faiss_map, *mih_map;
    size_t faiss_len, mih_len;
    void *own[3];
    int64_t *auto_stat;         /* [5, 3] what auto learned (index.c), updated atomically */
    int nthreads;
} hindex;

/* m for n codes of bits: round(bits / log2 n), at least 1, at most bits,
 * raised so that no substring is longer than HINDEX_MAX_SUB bits; 0 when n
 * is 0 or > 2^32 - 1. */
int hindex_default_m(int bits, int64_t n);

/* Build in memory from codes [n, row_bytes] (copied), ids [n] or NULL,
 * m substrings (0: hindex_default_m; -1: no tables). Dies on bad input. */
void hindex_build(hindex *ix, const uint8_t *codes, int64_t n, int64_t row_bytes, int bits, const int64_t *ids,
                  int m, int nthreads);
/* Write the directory (index.faiss, mih.bin, index.json) atomically. */
void hindex_save(const hindex *ix, const char *dir);
/* Open a directory written by hindex_save: 0, or -1 with a message naming
 * the file in err. */
int hindex_try_load(hindex *ix, const char *dir, int nthreads, char *err, size_t errlen);
void hindex_load(hindex *ix, const char *dir, int nthreads); /* dies on failure */
void hindex_free(hindex *ix);
/* The user id of position p. */
static inline int64_t hindex_id(const hindex *ix, int64_t p) { return ix->ids ? ix->ids[p] : p; }
/* Lookup by id: pairs [n, 2] = (id, value) sorted by id then value
 * (hindex_pairs_sort), hindex_pairs_find = the smallest value paired with
 * id, or -1. hindex_id_pairs: the index's (id, position) pairs, sorted,
 * malloc'ed. */
void hindex_pairs_sort(int64_t *pairs, int64_t n);
int64_t hindex_pairs_find(const int64_t *pairs, int64_t n, int64_t id);
int64_t *hindex_id_pairs(const hindex *ix);

enum { HSEARCH_AUTO = 0, HSEARCH_MIH, HSEARCH_SCAN };
const char *hsearch_method_name(int method);
int hsearch_method_parse(const char *s); /* -1 when unknown */

typedef struct hsearch_params {
    int64_t k;        /* k-NN: results per query (clipped to n); ignored when radius >= 0 */
    int radius;       /* >= 0: every item within this distance */
    int method;       /* HSEARCH_* */
} hsearch_params;

/* Results of nq queries: query q owns rows lims[q] .. lims[q+1] of pos and
 * dist, ranked. used[q]: the method that answered it (MIH or SCAN). */
typedef struct hsearch_result {
    int64_t nq;
    int64_t *lims;    /* [nq + 1] */
    int64_t *pos;     /* [lims[nq]] positions in the index */
    int32_t *dist;    /* [lims[nq]] */
    uint8_t *used;    /* [nq] */
} hsearch_result;

/* queries: [nq, row_bytes] packed (unused high bits must be 0: checked,
 * dies naming "queries"). Runs queries in parallel (ix->nthreads). */
void hsearch(hsearch_result *r, const hindex *ix, const uint8_t *queries, int64_t nq, const hsearch_params *p);
void hsearch_result_free(hsearch_result *r);
/* Check query codes: 0, or -1 with a message (row and problem) in err. */
int hsearch_check_queries(const hindex *ix, const uint8_t *queries, int64_t nq, char *err, size_t errlen);

#endif
