// LayerNorm over the last dimension and over the channels of NCHW maps (timm LayerNorm2d).
// Both use two passes (mean, then the mean of squared deviations), as PyTorch does, so
// large-mean activations do not lose precision; variance is biased (divides by C).
#pragma once
#include "common.cuh"

// One block per row of `cols` contiguous elements: y = (x - mean) / sqrt(var + eps) * g + b.
extern "C" __global__ void lumbar_layer_norm_last_dim(float* y, const float* x,
                                                      const float* gamma, const float* beta,
                                                      long long rows, int cols, float eps) {
    __shared__ float scratch[32];
    for (long long row = blockIdx.x; row < rows; row += gridDim.x) {
        const float* in = x + row * cols;
        float* out = y + row * cols;
        float sum = 0.f;
        for (int c = threadIdx.x; c < cols; c += blockDim.x) {
            sum += in[c];
        }
        float mean = lumbar_block_sum(sum, scratch) / cols;
        float sq = 0.f;
        for (int c = threadIdx.x; c < cols; c += blockDim.x) {
            float d = in[c] - mean;
            sq += d * d;
        }
        float inv = rsqrtf(lumbar_block_sum(sq, scratch) / cols + eps);
        for (int c = threadIdx.x; c < cols; c += blockDim.x) {
            out[c] = (in[c] - mean) * inv * gamma[c] + beta[c];
        }
    }
}

// One thread per pixel of [N, C, H*W]; neighbouring threads read neighbouring pixels of one
// channel plane, so every load of the channel loop is coalesced.
extern "C" __global__ void lumbar_layer_norm_channels(float* y, const float* x,
                                                      const float* gamma, const float* beta,
                                                      int n, int channels, long long hw,
                                                      float eps) {
    long long pixels = (long long) n * hw;
    LUMBAR_GRID_STRIDE(p, pixels) {
        long long image = p / hw;
        long long pixel = p % hw;
        const float* in = x + image * channels * hw + pixel;
        float* out = y + image * channels * hw + pixel;
        float sum = 0.f;
        for (int c = 0; c < channels; c++) {
            sum += in[c * hw];
        }
        float mean = sum / channels;
        float sq = 0.f;
        for (int c = 0; c < channels; c++) {
            float d = in[c * hw] - mean;
            sq += d * d;
        }
        float inv = rsqrtf(sq / channels + eps);
        for (int c = 0; c < channels; c++) {
            out[c * hw] = (in[c * hw] - mean) * inv * gamma[c] + beta[c];
        }
    }
}
