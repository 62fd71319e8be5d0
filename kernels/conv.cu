/* conv.cu: the 3x3 convolution (stride 1, pad 1, bias) by cuDNN; see ops.h.
 *
 * Per shape (B, C, H, W, K) and precision one plan, made at the first
 * conv3x3_ws_cuda and cached for the process: the tensor, filter and
 * convolution descriptors and the algorithm of each direction, chosen once
 * by cuDNN's heuristics (cudnnGet*Algorithm_v7, no trial runs, so the choice
 * is the same every run): the first one that is supported, deterministic
 * where one is, and in fp32 none rated with tensor-core math; the fp32
 * descriptors stay at CUDNN_FMA_MATH (cuDNN's default math on float data
 * allows TF32 on Ampere and later). The workspace is sized once from the
 * three choices.
 *
 * Precision: fp32 and tf32 run on float tensors (math FMA / TENSOR_OP);
 * bf16 converts the operands to bfloat16 in the workspace, runs cuDNN's
 * bfloat16 convolution with float accumulation (CUDNN_DATA_FLOAT compute
 * type) and converts the result back to float (y, dx, dw: float buffers);
 * a shape for which cuDNN offers no bfloat16 algorithm in some direction
 * runs in tf32 instead (said once per shape).
 * The bias and its gradient are own kernels in float (db: one block per
 * output channel, a fixed summation order).
 *
 * The convolution API used (cudnnConvolutionForward and friends) is cuDNN's
 * legacy one, deprecated since cuDNN 9 but present in every 9.x. */
#include <cuda_bf16.h>

#include "check.h"
#include "gpu.h"
#include "ops.h"

namespace {

struct conv_plan {
    int B, C, H, W, K;
    precision prec;          /* the precision asked for (the cache key) */
    precision math;          /* what it runs in: prec, or tf32 where cuDNN has no bf16 algorithm */
    cudnnTensorDescriptor_t xd, yd;
    cudnnFilterDescriptor_t wd;
    cudnnConvolutionDescriptor_t fwd, bwd_data, bwd_filter; /* one each: each carries its algorithm's math type */
    cudnnConvolutionFwdAlgo_t fwd_algo;
    cudnnConvolutionBwdDataAlgo_t data_algo;
    cudnnConvolutionBwdFilterAlgo_t filter_algo;
    size_t cudnn_bytes;      /* the largest of the three algorithms' workspaces */
    size_t total_bytes;      /* plus the bfloat16 operand copies (bf16) */
};

const int MAX_PLANS = 64;
conv_plan plans[MAX_PLANS];
int nplans = 0;

size_t align256(size_t b) { return (b + 255) / 256 * 256; }

cudnnHandle_t dnn() { return (cudnnHandle_t)gpu_cudnn(); }

cudnnConvolutionDescriptor_t make_conv(precision p) {
    cudnnConvolutionDescriptor_t d;
    CUDNN_CHECK(cudnnCreateConvolutionDescriptor(&d));
    CUDNN_CHECK(cudnnSetConvolution2dDescriptor(d, 1, 1, 1, 1, 1, 1, CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT));
    CUDNN_CHECK(cudnnSetConvolutionMathType(d, p == PREC_FP32 ? CUDNN_FMA_MATH : CUDNN_TENSOR_OP_MATH));
    return d;
}

/* Index of the heuristics' pick among n results: supported, in fp32 none
 * that needs tensor-core math, deterministic preferred; -1 when none. */
template <typename Perf> int pick(const Perf *r, int n, precision p) {
    int any = -1;
    for (int i = 0; i < n; i++) {
        if (r[i].status != CUDNN_STATUS_SUCCESS) continue;
        if (p == PREC_FP32 && (r[i].mathType == CUDNN_TENSOR_OP_MATH || r[i].mathType == CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION))
            continue;
        if (r[i].determinism == CUDNN_DETERMINISTIC) return i;
        if (any < 0) any = i;
    }
    return any;
}

/* One direction's algorithm: the heuristics' results (get), the pick, its
 * math type set on that direction's descriptor, the workspace maximum. */
/* One direction's algorithm: the heuristics' results (get), the pick, its
 * math type set on that direction's descriptor, the workspace maximum.
 * false when cuDNN offers none for this shape and precision. */
template <typename Perf, int COUNT, typename Get>
bool choose(decltype(Perf::algo) *algo, Get get, cudnnConvolutionDescriptor_t d, precision p, size_t *ws) {
    Perf r[COUNT];
    int n = 0;
    CUDNN_CHECK(get(COUNT, &n, r));
    const int i = pick(r, n, p);
    if (i < 0) return false;
    /* tf32, bf16: the math the algorithm was rated with (cuDNN's advice);
     * fp32: the descriptor keeps CUDNN_FMA_MATH, since a result rated with
     * CUDNN_DEFAULT_MATH would allow TF32 again on this GPU */
    if (p != PREC_FP32) CUDNN_CHECK(cudnnSetConvolutionMathType(d, r[i].mathType));
    if (r[i].memory > *ws) *ws = r[i].memory;
    *algo = r[i].algo;
    return true;
}

void destroy(conv_plan *q) {
    CUDNN_CHECK(cudnnDestroyTensorDescriptor(q->xd));
    CUDNN_CHECK(cudnnDestroyTensorDescriptor(q->yd));
    CUDNN_CHECK(cudnnDestroyFilterDescriptor(q->wd));
    CUDNN_CHECK(cudnnDestroyConvolutionDescriptor(q->fwd));
    CUDNN_CHECK(cudnnDestroyConvolutionDescriptor(q->bwd_data));
    CUDNN_CHECK(cudnnDestroyConvolutionDescriptor(q->bwd_filter));
}

/* The descriptors and the three algorithms of q's shape computed in math;
 * false (nothing left allocated) when a direction has no algorithm. */
bool build(conv_plan *q, precision math) {
    const int B = q->B, C = q->C, H = q->H, W = q->W, K = q->K;
    const cudnnDataType_t dt = math == PREC_BF16 ? CUDNN_DATA_BFLOAT16 : CUDNN_DATA_FLOAT;
    CUDNN_CHECK(cudnnCreateTensorDescriptor(&q->xd));
    CUDNN_CHECK(cudnnSetTensor4dDescriptor(q->xd, CUDNN_TENSOR_NCHW, dt, B, C, H, W));
    CUDNN_CHECK(cudnnCreateTensorDescriptor(&q->yd));
    CUDNN_CHECK(cudnnSetTensor4dDescriptor(q->yd, CUDNN_TENSOR_NCHW, dt, B, K, H, W));
    CUDNN_CHECK(cudnnCreateFilterDescriptor(&q->wd));
    CUDNN_CHECK(cudnnSetFilter4dDescriptor(q->wd, dt, CUDNN_TENSOR_NCHW, K, C, 3, 3));
    q->fwd = make_conv(math);
    q->bwd_data = make_conv(math);
    q->bwd_filter = make_conv(math);
    size_t ws = 0;
    const bool ok =
        choose<cudnnConvolutionFwdAlgoPerf_t, CUDNN_CONVOLUTION_FWD_ALGO_COUNT>(
            &q->fwd_algo,
            [&](int count, int *n, cudnnConvolutionFwdAlgoPerf_t *r) {
                return cudnnGetConvolutionForwardAlgorithm_v7(dnn(), q->xd, q->wd, q->fwd, q->yd, count, n, r);
            },
            q->fwd, math, &ws) &&
        choose<cudnnConvolutionBwdDataAlgoPerf_t, CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT>(
            &q->data_algo,
            [&](int count, int *n, cudnnConvolutionBwdDataAlgoPerf_t *r) {
                return cudnnGetConvolutionBackwardDataAlgorithm_v7(dnn(), q->wd, q->yd, q->bwd_data, q->xd, count, n, r);
            },
            q->bwd_data, math, &ws) &&
        choose<cudnnConvolutionBwdFilterAlgoPerf_t, CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT>(
            &q->filter_algo,
            [&](int count, int *n, cudnnConvolutionBwdFilterAlgoPerf_t *r) {
                return cudnnGetConvolutionBackwardFilterAlgorithm_v7(dnn(), q->xd, q->yd, q->bwd_filter, q->wd, count, n,
                                                                     r);
            },
            q->bwd_filter, math, &ws);
    if (!ok) {
        destroy(q);
        return false;
    }
    q->math = math;
    q->cudnn_bytes = align256(ws);
    q->total_bytes = q->cudnn_bytes;
    if (math == PREC_BF16) {
        const size_t xs = (size_t)B * C * H * W, ys = (size_t)B * K * H * W, wsz = (size_t)K * C * 9;
        /* x (forward input), y or dy, dx, w, dw: bfloat16 each */
        q->total_bytes += 2 * align256(2 * xs) + align256(2 * ys) + 2 * align256(2 * wsz);
    }
    return true;
}

conv_plan *plan_for(int B, int C, int H, int W, int K) {
    const precision p = gpu_precision();
    for (int i = 0; i < nplans; i++) {
        conv_plan *q = &plans[i];
        if (q->B == B && q->C == C && q->H == H && q->W == W && q->K == K && q->prec == p) return q;
    }
    CHECK(nplans < MAX_PLANS);
    conv_plan *q = &plans[nplans];
    q->B = B; q->C = C; q->H = H; q->W = W; q->K = K; q->prec = p;
    if (!build(q, p)) {
        /* a shape cuDNN has no bfloat16 algorithm for (say a 3-channel
         * input): that layer runs in tf32, said once */
        if (p != PREC_BF16 || !build(q, PREC_TF32))
            die("cuDNN offers no algorithm for conv3x3 [%d,%d,%d,%d] -> %d in %s", B, C, H, W, K, precision_name(p));
        info("conv3x3 [%d,%d,%d,%d] -> %d: cuDNN has no bf16 algorithm for this shape; it runs in tf32", B, C, H, W, K);
    }
    nplans++;
    return q;
}

/* The bf16 copies inside the workspace, after cuDNN's part. */
struct bf16_views {
    __nv_bfloat16 *x, *y, *dx, *w, *dw;
};

bf16_views views(const conv_plan *q, float *ws) {
    const size_t xs = (size_t)q->B * q->C * q->H * q->W, ys = (size_t)q->B * q->K * q->H * q->W,
                 wsz = (size_t)q->K * q->C * 9;
    char *p = (char *)ws + q->cudnn_bytes;
    bf16_views v;
    v.x = (__nv_bfloat16 *)p; p += align256(2 * xs);
    v.dx = (__nv_bfloat16 *)p; p += align256(2 * xs);
    v.y = (__nv_bfloat16 *)p; p += align256(2 * ys);
    v.w = (__nv_bfloat16 *)p; p += align256(2 * wsz);
    v.dw = (__nv_bfloat16 *)p;
    return v;
}

__global__ void to_bf16(__nv_bfloat16 *d, const float *s, int64_t n) {
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
        d[i] = __float2bfloat16_rn(s[i]);
}

__global__ void to_f32(float *d, const __nv_bfloat16 *s, int64_t n) {
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
        d[i] = __bfloat162float(s[i]);
}

/* y [B,K,HW] += b[k], or in bf16 y = float(yh) + b[k]. */
__global__ void add_bias(float *y, const __nv_bfloat16 *yh, const float *b, int K, int64_t HW, int64_t n) {
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x) {
        const float v = yh ? __bfloat162float(yh[i]) : y[i];
        y[i] = v + b[(i / HW) % K];
    }
}

/* db[k] = sum over b, pixel of dy [B,K,HW]: one block per k, each thread a
 * strided partial sum, then a fixed tree: deterministic. */
__global__ void bias_grad(float *db, const float *dy, int B, int K, int64_t HW) {
    __shared__ float part[256];
    const int k = blockIdx.x;
    float acc = 0;
    for (int b = 0; b < B; b++) {
        const float *row = dy + ((int64_t)b * K + k) * HW;
        for (int64_t j = threadIdx.x; j < HW; j += blockDim.x) acc += row[j];
    }
    part[threadIdx.x] = acc;
    __syncthreads();
    for (int s = blockDim.x / 2; s > 0; s >>= 1) {
        if ((int)threadIdx.x < s) part[threadIdx.x] += part[threadIdx.x + s];
        __syncthreads();
    }
    if (threadIdx.x == 0) db[k] = part[0];
}

void convert_bf16(__nv_bfloat16 *d, const float *s, int64_t n) {
    to_bf16<<<grid_for(n, 256), 256>>>(d, s, n);
    KERNEL_CHECK();
}

void convert_f32(float *d, const __nv_bfloat16 *s, int64_t n) {
    to_f32<<<grid_for(n, 256), 256>>>(d, s, n);
    KERNEL_CHECK();
}

const float one = 1.0f, zero = 0.0f;

} // namespace

extern "C" int64_t conv3x3_ws_cuda(int B, int C, int H, int W, int K) {
    return (int64_t)((plan_for(B, C, H, W, K)->total_bytes + 3) / 4);
}

extern "C" void conv3x3_forward_cuda(float *y, float *ws, const float *x, const float *w, const float *b, int B, int C,
                                     int H, int W, int K, int64_t ws_len) {
    conv_plan *q = plan_for(B, C, H, W, K);
    CHECK((size_t)ws_len * 4 >= q->total_bytes);
    const int64_t HW = (int64_t)H * W, ny = (int64_t)B * K * HW;
    if (q->math == PREC_BF16) {
        bf16_views v = views(q, ws);
        convert_bf16(v.x, x, (int64_t)B * C * HW);
        convert_bf16(v.w, w, (int64_t)K * C * 9);
        CUDNN_CHECK(cudnnConvolutionForward(dnn(), &one, q->xd, v.x, q->wd, v.w, q->fwd, q->fwd_algo, ws,
                                            q->cudnn_bytes, &zero, q->yd, v.y));
        add_bias<<<grid_for(ny, 256), 256>>>(y, v.y, b, K, HW, ny);
    } else {
        CUDNN_CHECK(cudnnConvolutionForward(dnn(), &one, q->xd, x, q->wd, w, q->fwd, q->fwd_algo, ws, q->cudnn_bytes,
                                            &zero, q->yd, y));
        add_bias<<<grid_for(ny, 256), 256>>>(y, nullptr, b, K, HW, ny);
    }
    KERNEL_CHECK();
}

extern "C" void conv3x3_backward_cuda(float *dx, float *dw, float *db, float *ws, const float *dy, const float *x,
                                      const float *w, int B, int C, int H, int W, int K, int64_t ws_len) {
    conv_plan *q = plan_for(B, C, H, W, K);
    CHECK((size_t)ws_len * 4 >= q->total_bytes);
    const int64_t HW = (int64_t)H * W;
    bias_grad<<<K, 256>>>(db, dy, B, K, HW);
    KERNEL_CHECK();
    if (q->math == PREC_BF16) {
        bf16_views v = views(q, ws);
        convert_bf16(v.y, dy, (int64_t)B * K * HW);
        convert_bf16(v.x, x, (int64_t)B * C * HW);
        CUDNN_CHECK(cudnnConvolutionBackwardFilter(dnn(), &one, q->xd, v.x, q->yd, v.y, q->bwd_filter, q->filter_algo,
                                                   ws, q->cudnn_bytes, &zero, q->wd, v.dw));
        convert_f32(dw, v.dw, (int64_t)K * C * 9);
        if (dx) {
            convert_bf16(v.w, w, (int64_t)K * C * 9);
            CUDNN_CHECK(cudnnConvolutionBackwardData(dnn(), &one, q->wd, v.w, q->yd, v.y, q->bwd_data, q->data_algo,
                                                     ws, q->cudnn_bytes, &zero, q->xd, v.dx));
            convert_f32(dx, v.dx, (int64_t)B * C * HW);
        }
    } else {
        CUDNN_CHECK(cudnnConvolutionBackwardFilter(dnn(), &one, q->xd, x, q->yd, dy, q->bwd_filter, q->filter_algo, ws,
                                                   q->cudnn_bytes, &zero, q->wd, dw));
        if (dx)
            CUDNN_CHECK(cudnnConvolutionBackwardData(dnn(), &one, q->wd, w, q->yd, dy, q->bwd_data, q->data_algo, ws,
                                                     q->cudnn_bytes, &zero, q->xd, dx));
    }
}
