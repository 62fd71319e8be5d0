/* ops_cpu.c: the CPU backend of the op tests (tests/ops_backend.h): the
 * library's own functions, the reference every other backend is held to.
 * The one wrapper is hamming_query: the CPU computes eval's distances from
 * hamming_planes built once per database (hash/eval.h), so the entry builds
 * them for the call (or, in a build without the bit-sliced path, counts with
 * bits_hamming as eval's scan does). */
#include <stdlib.h>
#include <string.h>

#include "hash/eval.h"
#include "nn/nn.h"
#include "ops_backend.h"
#include "util/bits.h"
#include "util/util.h"

static int cpu_available(char *why, int whylen) {
    (void)why;
    (void)whylen;
    return 1;
}

static void cpu_bits_pack_signs(uint8_t *out, const float *x, int64_t n, int64_t nbits) {
    bits_pack_signs(out, x, n, nbits);
}

static void cpu_hamming_query(uint32_t *cnt, uint8_t *dist, const uint8_t *codes, int64_t n, int64_t row_bytes,
                              int bits, const uint8_t *q) {
    if (!hamming_planes_supported(bits)) {
        memset(cnt, 0, sizeof(uint32_t) * (size_t)(bits + 1));
        for (int64_t j = 0; j < n; j++) {
            int d = bits_hamming(q, codes + j * row_bytes, row_bytes);
            dist[j] = (uint8_t)d;
            cnt[d]++;
        }
        return;
    }
    hamming_planes hp;
    hamming_scratch s;
    hamming_planes_build(&hp, codes, n, row_bytes, bits, 1);
    hamming_scratch_alloc(&s, &hp);
    uint8_t *all = xaligned((size_t)hp.nblk * 512);
    hamming_planes_query(&hp, &s, q, row_bytes, cnt, all);
    memcpy(dist, all, (size_t)n);
    free(all);
    hamming_scratch_free(&s);
    hamming_planes_free(&hp);
}

const ops_backend ops_backend_cpu = {
    .name = "cpu",
    .precision = OPS_FP32,
    .available = cpu_available,
    .conv3x3_forward = conv3x3_forward,
    .conv3x3_backward = conv3x3_backward,
    .relu_forward = relu_forward,
    .relu_backward = relu_backward,
    .maxpool2_forward = maxpool2_forward,
    .maxpool2_backward = maxpool2_backward,
    .fc_forward = fc_forward,
    .fc_backward = fc_backward,
    .dropout_forward = dropout_forward,
    .dropout_backward = dropout_backward,
    .tanh_forward = tanh_forward,
    .tanh_backward = tanh_backward,
    .batch_cosine = batch_cosine,
    .dsah_loss_forward = dsah_loss_forward,
    .dsah_loss_backward = dsah_loss_backward,
    .adam_step = adam_step,
    .bits_pack_signs = cpu_bits_pack_signs,
    .hamming_query = cpu_hamming_query,
};
