/* codes.cu: hash codes on the device (ops.h): the sign packing of the
 * encoder (util/bits.h bits_pack_signs) and the Hamming distances of a
 * query to n packed codes with their histogram over the bits + 1 distances,
 * the pass eval's ranking starts from (hash/eval.h hamming_planes_query).
 * Both are integer results, equal to the CPU's to the bit: the sign test is
 * the same comparison (x >= 0, so sgn(0) = +1 and -0 packs as +1), the
 * distance a popcount of the XOR, and the histogram counts by atomic adds,
 * which commute on integers. The rank order itself (ascending distance,
 * ties by ascending index) follows from the histogram by a counting sort. */
#include "check.h"
#include "ops.h"

namespace {

const int T = 256;

/* one thread per output byte: bits 8*byte .. 8*byte+7 of row i */
__global__ void pack_signs(uint8_t *out, const float *x, int64_t n, int64_t nbits, int64_t rb) {
    for (int64_t o = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; o < n * rb; o += (int64_t)gridDim.x * blockDim.x) {
        const int64_t i = o / rb, k0 = (o % rb) * 8;
        unsigned v = 0;
        for (int b = 0; b < 8 && k0 + b < nbits; b++) v |= (x[i * nbits + k0 + b] >= 0.0f ? 1u : 0u) << b;
        out[o] = (uint8_t)v;
    }
}

/* dist[j] = popcount(q ^ codes[j]); cnt[d] += 1 through a block-local
 * histogram in shared memory (bits + 1 counters), added to cnt at the end */
__global__ void hamming(uint32_t *cnt, uint8_t *dist, const uint8_t *codes, int64_t n, int64_t row_bytes, int bits,
                        const uint8_t *q) {
    extern __shared__ uint32_t h[];
    for (int d = threadIdx.x; d <= bits; d += blockDim.x) h[d] = 0;
    __syncthreads();
    for (int64_t j = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; j < n; j += (int64_t)gridDim.x * blockDim.x) {
        const uint8_t *c = codes + j * row_bytes;
        int d = 0;
        for (int64_t k = 0; k < row_bytes; k++) d += __popc((unsigned)(c[k] ^ q[k]));
        dist[j] = (uint8_t)d;
        atomicAdd(&h[d], 1u);
    }
    __syncthreads();
    for (int d = threadIdx.x; d <= bits; d += blockDim.x)
        if (h[d]) atomicAdd(&cnt[d], h[d]);
}

} // namespace

extern "C" void bits_pack_signs_cuda(uint8_t *out, const float *x, int64_t n, int64_t nbits) {
    const int64_t rb = (nbits + 7) / 8;
    if (n * rb <= 0) return;
    pack_signs<<<grid_for(n * rb, T), T>>>(out, x, n, nbits, rb);
    KERNEL_CHECK();
}

extern "C" void hamming_query_cuda(uint32_t *cnt, uint8_t *dist, const uint8_t *codes, int64_t n, int64_t row_bytes,
                                   int bits, const uint8_t *q) {
    CHECK(bits >= 1 && bits <= 255 && bits <= 8 * row_bytes);
    CUDA_CHECK(cudaMemsetAsync(cnt, 0, sizeof(uint32_t) * (size_t)(bits + 1), 0));
    if (n <= 0) return;
    hamming<<<grid_for(n, T), T, sizeof(uint32_t) * (size_t)(bits + 1)>>>(cnt, dist, codes, n, row_bytes, bits, q);
    KERNEL_CHECK();
}
