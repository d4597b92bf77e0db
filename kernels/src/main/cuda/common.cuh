// Device functions and conventions shared by the engine's kernels.
//
// Conventions for every kernel in this module:
// - Tensors are dense, row-major (NCHW for images), F32 unless a name says otherwise.
// - Kernels are extern "C" so the engine finds them by these exact names in the fatbin.
// - Flat element counts are long long: a bag of 24 slices of 256 x 256 x 384 channels
//   exceeds 2^31 elements.
// - Grid-stride loops: any grid size is correct; the host picks one for occupancy.
#pragma once

#include <cuda_fp16.h>
#include <cuda_bf16.h>

#define LUMBAR_ACT_IDENTITY 0
#define LUMBAR_ACT_RELU 1
#define LUMBAR_ACT_GELU 2
#define LUMBAR_ACT_SILU 3
#define LUMBAR_ACT_SIGMOID 4
#define LUMBAR_ACT_TANH 5

// The activation codes follow the order of dev.lumbar.engine.backend.Activation.
__device__ __forceinline__ float lumbar_activate(float x, int act) {
    switch (act) {
        case LUMBAR_ACT_RELU: return x > 0.f ? x : 0.f;
        // Exact GELU as nn.GELU() computes it (not the tanh approximation).
        case LUMBAR_ACT_GELU: return 0.5f * x * (1.f + erff(x * 0.70710678118654752f));
        case LUMBAR_ACT_SILU: return x / (1.f + expf(-x));
        case LUMBAR_ACT_SIGMOID: return 1.f / (1.f + expf(-x));
        case LUMBAR_ACT_TANH: return tanhf(x);
        default: return x;
    }
}

#define LUMBAR_GRID_STRIDE(i, n) \
    for (long long i = (long long) blockIdx.x * blockDim.x + threadIdx.x; i < (n); \
         i += (long long) blockDim.x * gridDim.x)

// Sum of v over the block; every thread gets the result. blockDim.x must be a multiple of 32
// and at most 1024. `scratch` holds 32 values of T in shared memory. T is float, or double
// where a sum of many float terms needs the digits (the bag sampler's normalisation).
template <typename T>
__device__ __forceinline__ T lumbar_block_sum(T v, T* scratch) {
    for (int offset = 16; offset > 0; offset >>= 1) {
        v += __shfl_xor_sync(0xffffffffu, v, offset);
    }
    int lane = threadIdx.x & 31;
    int warp = threadIdx.x >> 5;
    __syncthreads();
    if (lane == 0) {
        scratch[warp] = v;
    }
    __syncthreads();
    int warps = blockDim.x >> 5;
    v = lane < warps ? scratch[lane] : T(0);
    for (int offset = 16; offset > 0; offset >>= 1) {
        v += __shfl_xor_sync(0xffffffffu, v, offset);
    }
    return v;
}

// Maximum of v over the block; every thread gets the result. Same contract as the sum.
__device__ __forceinline__ float lumbar_block_max(float v, float* scratch) {
    for (int offset = 16; offset > 0; offset >>= 1) {
        v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, offset));
    }
    int lane = threadIdx.x & 31;
    int warp = threadIdx.x >> 5;
    __syncthreads();
    if (lane == 0) {
        scratch[warp] = v;
    }
    __syncthreads();
    int warps = blockDim.x >> 5;
    v = lane < warps ? scratch[lane] : -INFINITY;
    for (int offset = 16; offset > 0; offset >>= 1) {
        v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, offset));
    }
    return v;
}
