// Attention-MIL pooling of the mil_bilstm head over the S instances of each bag:
//   a_s = w · tanh(h_s) + b,   alpha = softmax over s,   z = sum_s alpha_s h_s.
#pragma once
#include "common.cuh"

// h [bags, S, D]; w [D]; bias [1] (device, so no host round trip); z [bags, D];
// alpha [bags, S]. One block per bag; dynamic shared memory holds S floats.
extern "C" __global__ void lumbar_attention_pool(float* z, float* alpha, const float* h,
                                                 const float* w, const float* bias,
                                                 int bags, int instances, int dim) {
    extern __shared__ float weights[];
    __shared__ float scratch[32];
    int bag = blockIdx.x;
    if (bag >= bags) {
        return;
    }
    const float* hb = h + (long long) bag * instances * dim;
    int lane = threadIdx.x & 31;
    int warp = threadIdx.x >> 5;
    int warps = blockDim.x >> 5;

    // score every instance, a warp each
    for (int s = warp; s < instances; s += warps) {
        float acc = 0.f;
        for (int d = lane; d < dim; d += 32) {
            acc += w[d] * tanhf(hb[(long long) s * dim + d]);
        }
        for (int offset = 16; offset > 0; offset >>= 1) {
            acc += __shfl_xor_sync(0xffffffffu, acc, offset);
        }
        if (lane == 0) {
            weights[s] = acc + bias[0];
        }
    }
    __syncthreads();

    // softmax over instances
    float m = -INFINITY;
    for (int s = threadIdx.x; s < instances; s += blockDim.x) {
        m = fmaxf(m, weights[s]);
    }
    m = lumbar_block_max(m, scratch);
    float sum = 0.f;
    for (int s = threadIdx.x; s < instances; s += blockDim.x) {
        sum += expf(weights[s] - m);
    }
    float inv = 1.f / lumbar_block_sum(sum, scratch);
    __syncthreads();
    for (int s = threadIdx.x; s < instances; s += blockDim.x) {
        float a = expf(weights[s] - m) * inv;
        weights[s] = a;
        alpha[(long long) bag * instances + s] = a;
    }
    __syncthreads();

    // weighted sum of the instances
    for (int d = threadIdx.x; d < dim; d += blockDim.x) {
        float acc = 0.f;
        for (int s = 0; s < instances; s++) {
            acc += weights[s] * hb[(long long) s * dim + d];
        }
        z[(long long) bag * dim + d] = acc;
    }
}
