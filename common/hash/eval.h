/* eval.h: retrieval metrics of packed binary codes (docs/DESIGN.md §Metrics).
 *
 * Hamming distance by XOR + popcount; ranking by ascending distance, ties by
 * ascending database index; an item is relevant to a query when their label
 * rows (multi-hot) share at least one label.
 *
 *   mAP@K   AP_q = (1/R_q) sum_{k<=K, item k relevant} P@k, R_q = relevant
 *           items in the top K; R_q = 0 gives AP_q = 0, still counted.
 *   P@N     relevant fraction of the top N.
 *   PR      for r = 0..bits the items with distance <= r are retrieved;
 *           recall (relevant retrieved / relevant in the database) averaged
 *           over all queries, precision averaged over the queries that
 *           retrieve >= 1 item at that radius (their count is reported).
 *
 *   tie-aware mAP@K and P@N (McSherry & Najork, ECIR 2008; "On the
 *           Evaluation Metric for Hashing", arXiv 1905.10951): the expected
 *           AP@K and P@N over every order of the items within each tied
 *           distance, instead of the index order. Closed form per distance
 *           bucket from the items / relevant items at each distance (the
 *           counts the PR curve uses), see tie_ap() in eval.c: a bucket of
 *           n items, r relevant, after s ranked items and R relevant ones
 *           adds E[sum P@k over its relevant ranks] =
 *             (r/n) (b n + (R + 1 - b (1 + s)) (H_{s+n} - H_s)), b = (r-1)/(n-1)
 *           (H: harmonic numbers); the bucket that K cuts (m < n of its slots
 *           inside the top K) holds x relevant with x hypergeometric
 *           (n, r, m), and E[AP@K] = sum_x P(x) (A + C(x)) / (R + x) exactly
 *           (the R_q normalisation depends on x). P@N: (R + m r / n) / N.
 *
 * Edge conventions (the spec is silent; chosen and documented here):
 *   - K or N larger than the database is clipped to n_db: P@N is then the
 *     relevant fraction of the whole database (divided by n_db, not N).
 *   - a query with no relevant item in the whole database has recall 0 at
 *     every radius (it still counts in the recall mean).
 *
 * How (the cost is n_query * n_db pairs). Two paths, identical to the bit:
 *
 * Bit-sliced path (built when the compiler targets AVX-512 F, BW, VPOPCNTDQ,
 * VBMI, VBMI2 and GFNI, e.g. -march=native on Zen 4 or Ice Lake; used for
 * bits <= 255 and class vectors <= 256 MiB). The database is stored
 * bit-transposed in blocks of 512 items: per code bit one 512-bit plane
 * (one zmm), plus the planes of popcount(code). Per query and block:
 *   distances: with n1 = popcount(q), dist = popcount(x) + n1 - 2 T1
 *     = 2 T0 + n1 - popcount(x), where T1 / T0 count the set bits of x
 *     where q is 1 / 0. A carry-save adder tree (Harley-Seal, vpternlogq)
 *     adds the planes of the smaller of the two sets (<= bits/2 planes, no
 *     XOR with the query), its start value absorbs the constant, and one
 *     bit-sliced subtraction gives the distances of the 512 items as
 *     depth = bit_length(bits) planes.
 *   histogram: a binary tree over the distance planes splits the block's
 *     mask into one mask per distance (subtrees without items are skipped
 *     above the last three levels); vpopcntq counts each pair of distances
 *     and its AND with the query's relevance plane (precomputed bit vector
 *     over the database per class; the OR of them for a multi-label query)
 *     into 16-bit fields of one accumulator per pair.
 *   the distances are also transposed to one byte per item (vpermt2b,
 *     vpermt2w, vpermt2d, gf2p8affineqb) for pass 2.
 * The histogram gives the cutoff distance c of the largest finite K/N.
 * Pass 2 compresses (vpcompressb) the items with distance <= c in ascending
 * index order, as one byte each (distance | relevance << 7), and a stable
 * radix partition by distance puts distance d at ranks start[d] .. (a
 * counting sort, which is exactly the tie rule).
 *
 * Portable path (any other build, longer codes or too many classes): per
 * query one vectorisable pass computes key_j = 2*dist_j + rel_j (uint16)
 * and a histogram of the keys; a scatter places the relevance of the items
 * with dist <= c at rank start[d]++ in ascending index order.
 *
 * Both paths end in the same walk over the relevance of ranks 1..maxK as a
 * bit string: between two cutoffs the ranks form groups of four with four
 * partial sums of P@k (a fixed order, so deterministic), visited only where
 * a group holds a relevant rank (one masked 4-lane FMA with AVX-512 VL);
 * it yields every AP@K and P@N. The PR curve
 * needs only the per-distance counts. Queries run in parallel (OpenMP);
 * per-query results are stored and reduced serially in query order, so the
 * output is identical for any thread count. */
#ifndef DSAH_EVAL_H
#define DSAH_EVAL_H

#include <stdint.h>

/* What to compute. A list value <= 0 or > n_db means "all" (n_db). */
typedef struct eval_lists {
    int n_topk;
    const int64_t *topk;      /* [n_topk] mAP cutoffs */
    int n_pat;
    const int64_t *pat;       /* [n_pat] P@N */
    int n_pn;
    const int64_t *pn;        /* [n_pn] P-curve points */
} eval_lists;

/* Inputs, all read-only. */
typedef struct eval_input {
    const uint8_t *qcodes;    /* [n_query, row_bytes] packed (bits.h) */
    const uint8_t *dbcodes;   /* [n_db, row_bytes] packed */
    int64_t n_query, n_db, row_bytes;
    int bits;                 /* <= 8*row_bytes; unused high bits must be 0 */
    const uint8_t *labels;    /* [n_labels, n_classes] multi-hot, 0/1 */
    int64_t n_labels, n_classes;
    const int64_t *qidx;      /* [n_query] rows of labels, in [0, n_labels) */
    const int64_t *dbidx;     /* [n_db] rows of labels */
} eval_input;

/* Results. Arrays are sized by eval_result_alloc. */
typedef struct eval_result {
    int bits;
    int64_t n_query, n_db;
    double *map;              /* [n_topk] */
    double *pat;              /* [n_pat] */
    double *tie_map;          /* [n_topk] tie-aware mAP@K: expected over the orders within tied distances */
    double *tie_pat;          /* [n_pat] tie-aware P@N */
    double *pn;               /* [n_pn] */
    double *pr_precision;     /* [bits+1] */
    double *pr_recall;        /* [bits+1] */
    int64_t *pr_nq;           /* [bits+1] queries retrieving >= 1 item */
} eval_result;

/* Scratch: transposed codes and label masks, per-thread buffers, per-query
 * results. Sized once (eval_ws_alloc) so eval_compute allocates nothing.
 * Buffers of the path not taken are NULL. */
typedef struct eval_ws {
    int64_t n_query, n_db, words, lwords, n_slots;
    int bits, nthreads, n_k;  /* n_k: distinct cutoffs over all three lists */
    int fast;                 /* 1: bit-sliced path, 0: portable path */
    int depth;                /* fast: bits of a distance (2^depth > bits) */
    int64_t nblk, dbw_stride; /* fast: 512-item blocks; items per word row of dbw */
    uint64_t *qw;             /* [n_query, words] query codes as u64 words */
    uint64_t *dbw;            /* [words, dbw_stride] db codes, word-major (SoA), zero padded */
    uint64_t *ql;             /* [n_query, lwords] query label masks */
    /* portable path */
    uint64_t *dbl;            /* [lwords, n_db] db label masks, word-major */
    uint16_t *keys;           /* [nthreads, n_db] 2*dist + rel */
    uint32_t *cand;           /* [nthreads, n_db + 16] candidate keys of pass 2 */
    uint32_t *hist;           /* [nthreads, 4, 2*(bits+1)] key histograms */
    /* bit-sliced path */
    uint64_t *dbp;            /* [nblk, bits+1, 8] bit planes: bit t of word w = item 512*blk + 64*w + t;
                               * plane `bits` is zero */
    uint64_t *dba;            /* [nblk, depth, 8] planes of popcount(code) */
    uint64_t *cls;            /* [n_classes, nblk*8] bit vector over db items per class */
    uint64_t *lastmask;       /* [8] valid items of the last block */
    uint32_t *off;            /* [nthreads, bits+8] offsets of a query's selected planes */
    uint64_t *qrel;           /* [nthreads, nblk*8] relevance plane of a multi-class query */
    uint64_t *acc;            /* [nthreads, 2^(depth-1), 8] per-lane packed counts of each distance pair */
    uint8_t *dist;            /* [nthreads, nblk*512] distance of each item, one byte */
    uint8_t *cdist;           /* [nthreads, n_db + 64] compressed candidates: distance | rel << 7
                               * (distance alone when the cutoff is > 127) */
    uint8_t *crel;            /* [nthreads, n_db + 64] their relevance, 0 / 0xFF (cutoff > 127),
                               * else scratch of the radix partition */
    /* both */
    uint8_t *relseq;          /* [nthreads, n_db + 64] relevance in rank order (bit 7 fast, bit 0 portable) */
    uint64_t *relbits;        /* [nthreads, n_db/64 + 2] relseq as bits, bit r = rank r+1 */
    double *inv;              /* [max cutoff + 4] 1/k */
    double *harm;             /* [n_db + 1] harmonic numbers H_k = sum_{i<=k} 1/i (tie-aware metrics) */
    int64_t *start;           /* [nthreads, bits+1] first rank of each distance */
    int64_t *cut;             /* [n_k] sorted distinct cutoffs (resolved) */
    double *q_ap;             /* [n_query, n_k] AP at each cutoff */
    int64_t *q_rel;           /* [n_query, n_k] relevant within each cutoff */
    uint32_t *q_cnt;          /* [n_query, bits+1] items at each distance */
    uint32_t *q_rcnt;         /* [n_query, bits+1] relevant items at each distance */
} eval_ws;

void eval_result_alloc(eval_result *r, const eval_lists *lists, int bits);
void eval_result_free(eval_result *r);
/* nthreads: the OpenMP threads eval_compute will use (omp_get_max_threads). */
void eval_ws_alloc(eval_ws *ws, const eval_input *in, const eval_lists *lists, int nthreads);
/* Same, choosing the path: EVAL_PATH_AUTO (the bit-sliced one where built
 * and applicable) or EVAL_PATH_PORTABLE (tests compare the two). */
void eval_ws_alloc_path(eval_ws *ws, const eval_input *in, const eval_lists *lists, int nthreads, int path);
#define EVAL_PATH_AUTO 0
#define EVAL_PATH_PORTABLE 1
void eval_ws_free(eval_ws *ws);

/* Check the inputs' consistency (index ranges, label values 0/1, padding
 * bits zero). Returns 0 when fine, else writes a message into err. The
 * message names what is wrong; the caller adds the file name. */
int eval_check_input(const eval_input *in, char *err, int errlen, int *which);
#define EVAL_BAD_QCODES 1
#define EVAL_BAD_DBCODES 2
#define EVAL_BAD_LABELS 3
#define EVAL_BAD_QIDX 4
#define EVAL_BAD_DBIDX 5

/* Compute every metric of lists into r (sized by eval_result_alloc).
 * Deterministic for any thread count. */
void eval_compute(eval_result *r, eval_ws *ws, const eval_input *in, const eval_lists *lists);

/* ---- the bit-sliced distance kernel, shared with hash/index.c ------------
 * The database in the bit-sliced layout above (blocks of 512 items, one
 * plane per code bit plus the popcount planes), and per query the
 * histogram of distances and every item's distance as one byte: the same
 * pass 1 eval_compute runs (its relevance counts unused). Available when
 * the build has the bit-sliced path and bits <= 255; otherwise
 * hamming_planes_supported() is 0 and the other calls must not be made. */
typedef struct hamming_planes {
    int64_t n, nblk;          /* items; 512-item blocks */
    int bits, depth;          /* depth: bits of a distance (2^depth > bits) */
    uint64_t *dbp;            /* [nblk, bits+1, 8] bit planes (plane `bits` zero) */
    uint64_t *dba;            /* [nblk, depth, 8] planes of popcount(code) */
    uint64_t *lastmask;       /* [8] valid items of the last block */
    uint64_t *zero;           /* [nblk * 8] an all-zero relevance plane */
} hamming_planes;

/* Per-thread scratch of hamming_planes_query. */
typedef struct hamming_scratch {
    uint32_t *off;            /* [bits + 8] selected plane offsets */
    uint64_t *acc;            /* [2^(depth-1), 8] histogram accumulators */
    uint32_t *rcnt;           /* [bits + 1] unused relevance counts */
} hamming_scratch;

int hamming_planes_supported(int bits);
/* Build from n packed codes [n, row_bytes] (bits <= 8 * row_bytes, unused
 * high bits zero). Runs an OpenMP parallel region of nthreads threads. */
void hamming_planes_build(hamming_planes *hp, const uint8_t *codes, int64_t n, int64_t row_bytes, int bits,
                          int nthreads);
void hamming_planes_free(hamming_planes *hp);
void hamming_scratch_alloc(hamming_scratch *s, const hamming_planes *hp);
void hamming_scratch_free(hamming_scratch *s);
/* One query (packed, row_bytes as built): cnt[d] = items at distance d
 * (d = 0..bits, overwritten); dist[j] = distance of item j for j < n
 * (dist: [nblk * 512] bytes, 64-byte aligned, overwritten; items past n
 * hold garbage). Single-threaded; call from many threads with their own
 * scratch and outputs. */
void hamming_planes_query(const hamming_planes *hp, hamming_scratch *s, const uint8_t *q, int64_t row_bytes,
                          uint32_t *cnt, uint8_t *dist);

#endif
