// The pipeline's bag sampler: every bag of a study, of every member, in one launch, with the
// coordinates of the CPU sampler (dev.lumbar.engine.pipeline.RoiSampler) exactly.
//
// - The study's stacks sit back to back in one buffer, each [slices, rows, cols] F32.
// - Bag t is planes = S * C images of outH x outW, written at out + bagStart[t]; the bags are
//   packed, bagStart[t + 1] = bagStart[t] + planes * outH * outW.
// - Plane p of bag t reads slice sliceTable[shape[t].sliceBase + p] of the stack that starts
//   at stackStart[t]; the host has already picked and clamped the slices (instances, channels).
// - Pixel centres are at integer coordinates (column x, row y). The host folds the resize, the
//   crop box, mirroring, flipping and levelling into an affine map per bag:
//   x = map[0] + ox * map[1] + oy * map[2],  y = map[3] + ox * map[4] + oy * map[5].
// - The value is the bilinear read of the four surrounding pixel centres; a neighbour outside
//   the slice reads as 0 (grid_sample's padding_mode='zeros').
// - Coordinates and weights are double, as on the CPU: in float a point 300 pixels from the
//   origin is off by up to 3e-5 pixels, which across an edge of a few hundred grey levels moves
//   a normalised value by more than the 1e-5 the pipeline promises. FP64 is full rate on the
//   sm_90 parts the fatbin targets.
// - Normalisation runs per bag over all its values, after sampling (see lumbar_bag_normalize).

#pragma once
#include "common.cuh"

__device__ __forceinline__ float lumbar_bag_pixel(const float* slice, int rows, int cols,
                                                  int y, int x) {
    return (x >= 0 && y >= 0 && x < cols && y < rows) ? slice[(long long) y * cols + x] : 0.f;
}

// shape [T, 6] = rows, cols, planes, outH, outW, sliceBase; map [T, 6] (double) as above.
extern "C" __global__ void lumbar_bag_sample(float* out, const float* stacks,
                                             const long long* bagStart,
                                             const long long* stackStart, const int* shape,
                                             const int* sliceTable, const double* map, int bags) {
    long long total = bagStart[bags];
    LUMBAR_GRID_STRIDE(idx, total) {
        // the bag holding idx: the last t with bagStart[t] <= idx
        int lo = 0;
        int hi = bags - 1;
        while (lo < hi) {
            int mid = (lo + hi + 1) >> 1;
            if (bagStart[mid] <= idx) {
                lo = mid;
            } else {
                hi = mid - 1;
            }
        }
        int t = lo;
        const int* s = shape + 6 * t;
        int rows = s[0], cols = s[1], outH = s[3], outW = s[4];
        long long local = idx - bagStart[t];
        long long perPlane = (long long) outH * outW;
        int plane = (int) (local / perPlane);
        int pixel = (int) (local % perPlane);
        int oy = pixel / outW;
        int ox = pixel % outW;

        const double* m = map + 6 * t;
        double x = m[0] + ox * m[1] + oy * m[2];
        double y = m[3] + ox * m[4] + oy * m[5];
        const float* slice = stacks + stackStart[t]
                + (long long) sliceTable[s[5] + plane] * rows * cols;

        double fx = floor(x);
        double fy = floor(y);
        // far outside the slice: all four neighbours are zeros (and the int casts stay safe)
        if (fx < -1.0 || fy < -1.0 || fx >= cols || fy >= rows) {
            out[idx] = 0.f;
            continue;
        }
        int x0 = (int) fx;
        int y0 = (int) fy;
        double wx = x - fx;
        double wy = y - fy;
        double top = (1.0 - wx) * lumbar_bag_pixel(slice, rows, cols, y0, x0)
                + wx * lumbar_bag_pixel(slice, rows, cols, y0, x0 + 1);
        double bottom = (1.0 - wx) * lumbar_bag_pixel(slice, rows, cols, y0 + 1, x0)
                + wx * lumbar_bag_pixel(slice, rows, cols, y0 + 1, x0 + 1);
        out[idx] = (float) ((1.0 - wy) * top + wy * bottom);
    }
}

// In place, one block per bag. mode [T]: 0 min-max to [0, 1] (a constant bag becomes 0);
// 1 (v - mean) / std with the population std from double sums (std <= 1e-6: 0);
// 2 window: clamp((v - low) / (high - low), 0, 1) with window [T, 2] = low, high.
extern "C" __global__ void lumbar_bag_normalize(float* bagsOut, const long long* bagStart,
                                                const int* mode, const float* window,
                                                int bags) {
    __shared__ float scratch[32];
    __shared__ double wide[32];
    for (int t = blockIdx.x; t < bags; t += gridDim.x) {
        float* p = bagsOut + bagStart[t];
        long long n = bagStart[t + 1] - bagStart[t];
        if (mode[t] == 0) {
            float lo = INFINITY;
            float hi = -INFINITY;
            for (long long k = threadIdx.x; k < n; k += blockDim.x) {
                lo = fminf(lo, p[k]);
                hi = fmaxf(hi, p[k]);
            }
            lo = -lumbar_block_max(-lo, scratch);
            hi = lumbar_block_max(hi, scratch);
            float scale = hi > lo ? 1.f / (hi - lo) : 0.f;
            for (long long k = threadIdx.x; k < n; k += blockDim.x) {
                p[k] = (p[k] - lo) * scale;
            }
        } else if (mode[t] == 1) {
            double sum = 0.0;
            double squares = 0.0;
            for (long long k = threadIdx.x; k < n; k += blockDim.x) {
                sum += p[k];
                squares += (double) p[k] * p[k];
            }
            sum = lumbar_block_sum(sum, wide);
            squares = lumbar_block_sum(squares, wide);
            double mean = sum / n;
            double variance = fmax(0.0, squares / n - mean * mean);
            double std = sqrt(variance);
            float scale = std > 1e-6 ? (float) (1.0 / std) : 0.f;
            for (long long k = threadIdx.x; k < n; k += blockDim.x) {
                p[k] = (float) (p[k] - mean) * scale;
            }
        } else {
            float low = window[2 * t];
            float scale = 1.f / (window[2 * t + 1] - low);
            for (long long k = threadIdx.x; k < n; k += blockDim.x) {
                p[k] = fminf(fmaxf((p[k] - low) * scale, 0.f), 1.f);
            }
        }
        __syncthreads();
    }
}
