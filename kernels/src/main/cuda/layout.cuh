// Layout (NCHW <-> NHWC) and storage-type (F32 <-> F16 / BF16) conversions.
// F16 and BF16 round to nearest even, as torch's .half() and .bfloat16() do.
#pragma once
#include "common.cuh"

// x [N, C, HW] -> y [N, HW, C]. Each thread writes one output element, so writes coalesce.
// LIMITATION: no shared-memory tiling; reads are strided by HW. Fine for the one-off
// conversions of inputs and weights it serves, not meant for the inner loop of a network.
extern "C" __global__ void lumbar_nchw_to_nhwc(float* y, const float* x, int n, int channels,
                                               long long hw) {
    long long total = (long long) n * channels * hw;
    LUMBAR_GRID_STRIDE(i, total) {
        int c = (int) (i % channels);
        long long p = (i / channels) % hw;
        long long image = i / (channels * hw);
        y[i] = x[(image * channels + c) * hw + p];
    }
}

// x [N, HW, C] -> y [N, C, HW].
extern "C" __global__ void lumbar_nhwc_to_nchw(float* y, const float* x, int n, int channels,
                                               long long hw) {
    long long total = (long long) n * channels * hw;
    LUMBAR_GRID_STRIDE(i, total) {
        long long p = i % hw;
        int c = (int) ((i / hw) % channels);
        long long image = i / (channels * hw);
        y[i] = x[(image * hw + p) * channels + c];
    }
}

extern "C" __global__ void lumbar_f32_to_f16(__half* y, const float* x, long long n) {
    LUMBAR_GRID_STRIDE(i, n) {
        y[i] = __float2half_rn(x[i]);
    }
}

extern "C" __global__ void lumbar_f16_to_f32(float* y, const __half* x, long long n) {
    LUMBAR_GRID_STRIDE(i, n) {
        y[i] = __half2float(x[i]);
    }
}

extern "C" __global__ void lumbar_f32_to_bf16(__nv_bfloat16* y, const float* x, long long n) {
    LUMBAR_GRID_STRIDE(i, n) {
        y[i] = __float2bfloat16_rn(x[i]);
    }
}

extern "C" __global__ void lumbar_bf16_to_f32(float* y, const __nv_bfloat16* x, long long n) {
    LUMBAR_GRID_STRIDE(i, n) {
        y[i] = __bfloat162float(x[i]);
    }
}
