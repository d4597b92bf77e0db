// Reductions: global average / max pooling, softmax, squeeze-and-excite gate.
#pragma once
#include "common.cuh"

// One block per (n, c) plane of hw elements: y[plane] = mean (mode 0) or max (mode 1).
extern "C" __global__ void lumbar_global_pool(float* y, const float* x, long long planes,
                                              long long hw, int mode) {
    __shared__ float scratch[32];
    for (long long plane = blockIdx.x; plane < planes; plane += gridDim.x) {
        const float* in = x + plane * hw;
        float acc = mode == 0 ? 0.f : -INFINITY;
        for (long long i = threadIdx.x; i < hw; i += blockDim.x) {
            acc = mode == 0 ? acc + in[i] : fmaxf(acc, in[i]);
        }
        float r = mode == 0 ? lumbar_block_sum(acc, scratch) / (float) hw
                            : lumbar_block_max(acc, scratch);
        if (threadIdx.x == 0) {
            y[plane] = r;
        }
    }
}

// One block per row: y = softmax(x) over `cols` contiguous elements, max-subtracted.
extern "C" __global__ void lumbar_softmax_last_dim(float* y, const float* x, long long rows,
                                                   int cols) {
    __shared__ float scratch[32];
    for (long long row = blockIdx.x; row < rows; row += gridDim.x) {
        const float* in = x + row * cols;
        float* out = y + row * cols;
        float m = -INFINITY;
        for (int c = threadIdx.x; c < cols; c += blockDim.x) {
            m = fmaxf(m, in[c]);
        }
        m = lumbar_block_max(m, scratch);
        float sum = 0.f;
        for (int c = threadIdx.x; c < cols; c += blockDim.x) {
            sum += expf(in[c] - m);
        }
        float inv = 1.f / lumbar_block_sum(sum, scratch);
        for (int c = threadIdx.x; c < cols; c += blockDim.x) {
            out[c] = expf(in[c] - m) * inv;
        }
    }
}

// Squeeze-and-excite gate as timm's SqueezeExcite, after the mean over H*W:
// hidden = act(reduceW · pooled + reduceB)   reduceW [reduced, channels]
// gate   = sigmoid(expandW · hidden + expandB)  expandW [channels, reduced]
// One block per image; dynamic shared memory holds `reduced` floats.
extern "C" __global__ void lumbar_se_gate(float* gate, const float* pooled,
                                          const float* reduceW, const float* reduceB,
                                          const float* expandW, const float* expandB,
                                          int channels, int reduced, int act) {
    extern __shared__ float hidden[];
    int image = blockIdx.x;
    const float* p = pooled + (long long) image * channels;
    int lane = threadIdx.x & 31;
    int warp = threadIdx.x >> 5;
    int warps = blockDim.x >> 5;
    // A warp per hidden unit: the dot product over channels is read coalesced.
    for (int r = warp; r < reduced; r += warps) {
        const float* w = reduceW + (long long) r * channels;
        float acc = 0.f;
        for (int c = lane; c < channels; c += 32) {
            acc += w[c] * p[c];
        }
        for (int offset = 16; offset > 0; offset >>= 1) {
            acc += __shfl_xor_sync(0xffffffffu, acc, offset);
        }
        if (lane == 0) {
            hidden[r] = lumbar_activate(acc + (reduceB != nullptr ? reduceB[r] : 0.f), act);
        }
    }
    __syncthreads();
    for (int c = threadIdx.x; c < channels; c += blockDim.x) {
        const float* w = expandW + (long long) c * reduced;
        float acc = expandB != nullptr ? expandB[c] : 0.f;
        for (int r = 0; r < reduced; r++) {
            acc += w[r] * hidden[r];
        }
        gate[(long long) image * channels + c] = 1.f / (1.f + expf(-acc));
    }
}
