// A general ROI sampler: cuts every target's bag of slices out of a study in one launch.
//
// The pipeline does not use it: it cuts bags with lumbar_bag_sample (bag_sampler.cuh), whose
// coordinates are those of the CPU sampler (dev.lumbar.engine.pipeline.RoiSampler). This one
// keeps its own convention, which differs from the CPU sampler's in four ways: pixel centres
// at +0.5, a box centred on the point, instance S/2 (not (S-1)/2) at the centre for even S,
// and normalisation per image rather than per bag. The GPU check compares it with a Java twin
// of the rules below.
//
// Coordinate semantics:
// - A volume is [D, H, W] F32 (slices ordered along the series normal, values already
//   rescaled). Several volumes (the study's series) sit back to back in one buffer; each
//   target names its volume by element offset and its D, H, W.
// - Pixel (row r, column c) covers the square [c, c+1) x [r, r+1); its centre is
//   (c + 0.5, r + 0.5). Points (cx, cy) are in these continuous pixel units, x along a row.
// - Slice gather: instance s of S takes slice clamp(centre + (s - S/2) * step, 0, D-1)
//   (integer division S/2, so for even S the centre slice is instance S/2).
// - The crop box is centred on (cx, cy) with half extents (halfW, halfH) in source pixels
//   (a resize before cropping is folded into these) and turned by `angle` radians,
//   counter-clockwise in image coordinates (x right, y down: a positive angle turns the
//   box's x axis towards +y). A negative halfW mirrors the bag left-right (flip TTA, or the
//   other side of a bilateral condition).
// - Output pixel (i, j) of outH x outW samples box coordinates
//   u = ((j + 0.5) / outW * 2 - 1) * halfW,  v = ((i + 0.5) / outH * 2 - 1) * halfH,
//   at source point x = cx + u cos(angle) - v sin(angle), y = cy + u sin(angle) + v cos(angle),
//   i.e. align_corners = False.
// - Bilinear interpolation between the four pixel centres around (x - 0.5, y - 0.5) in
//   index space; neighbours outside the slice count as 0 (zero padding, as grid_sample's
//   padding_mode='zeros').
// - Normalisation per output image (one slice of one bag), after resampling:
//   mode 0: none; mode 1: min-max to [0, 1] (a constant image becomes 0);
//   mode 2: (x - mean) / (std + 1e-6) with the population std.

#pragma once
#include "common.cuh"

__device__ __forceinline__ float lumbar_pixel(const float* slice, int h, int w, int r, int c) {
    return (r >= 0 && r < h && c >= 0 && c < w) ? slice[(long long) r * w + c] : 0.f;
}

// out [T, S, outH, outW]. volumeOffset [T] (elements); dims [T, 4] = D, H, W, centre slice;
// box [T, 5] = cx, cy, halfW, halfH, angle.
extern "C" __global__ void lumbar_roi_sample(float* out, const float* volumes,
                                             const long long* volumeOffset, const int* dims,
                                             const float* box, int targets, int instances,
                                             int step, int outH, int outW) {
    long long perImage = (long long) outH * outW;
    long long total = (long long) targets * instances * perImage;
    LUMBAR_GRID_STRIDE(idx, total) {
        int j = (int) (idx % outW);
        int i = (int) ((idx / outW) % outH);
        int s = (int) ((idx / perImage) % instances);
        int t = (int) (idx / (perImage * instances));

        const int* d = dims + 4 * t;
        int depth = d[0], height = d[1], width = d[2], centre = d[3];
        int z = centre + (s - instances / 2) * step;
        z = z < 0 ? 0 : (z >= depth ? depth - 1 : z);
        const float* slice = volumes + volumeOffset[t] + (long long) z * height * width;

        const float* b = box + 5 * t;
        float u = ((j + 0.5f) / outW * 2.f - 1.f) * b[2];
        float v = ((i + 0.5f) / outH * 2.f - 1.f) * b[3];
        float cosA = cosf(b[4]);
        float sinA = sinf(b[4]);
        float x = b[0] + u * cosA - v * sinA - 0.5f;
        float y = b[1] + u * sinA + v * cosA - 0.5f;

        int x0 = (int) floorf(x);
        int y0 = (int) floorf(y);
        float fx = x - x0;
        float fy = y - y0;
        float top = lumbar_pixel(slice, height, width, y0, x0) * (1.f - fx)
                + lumbar_pixel(slice, height, width, y0, x0 + 1) * fx;
        float bottom = lumbar_pixel(slice, height, width, y0 + 1, x0) * (1.f - fx)
                + lumbar_pixel(slice, height, width, y0 + 1, x0 + 1) * fx;
        out[idx] = top * (1.f - fy) + bottom * fy;
    }
}

// In place over images of `pixels` elements, one block each; see the normalisation modes.
extern "C" __global__ void lumbar_roi_normalize(float* images, long long count,
                                                long long pixels, int mode) {
    __shared__ float scratch[32];
    if (mode == 0) {
        return;
    }
    for (long long image = blockIdx.x; image < count; image += gridDim.x) {
        float* p = images + image * pixels;
        if (mode == 1) {
            float lo = INFINITY;
            float hi = -INFINITY;
            for (long long k = threadIdx.x; k < pixels; k += blockDim.x) {
                lo = fminf(lo, p[k]);
                hi = fmaxf(hi, p[k]);
            }
            lo = -lumbar_block_max(-lo, scratch);
            hi = lumbar_block_max(hi, scratch);
            float range = hi - lo;
            for (long long k = threadIdx.x; k < pixels; k += blockDim.x) {
                p[k] = range > 0.f ? (p[k] - lo) / range : 0.f;
            }
        } else {
            float sum = 0.f;
            for (long long k = threadIdx.x; k < pixels; k += blockDim.x) {
                sum += p[k];
            }
            float mean = lumbar_block_sum(sum, scratch) / (float) pixels;
            float sq = 0.f;
            for (long long k = threadIdx.x; k < pixels; k += blockDim.x) {
                float dev = p[k] - mean;
                sq += dev * dev;
            }
            float std = sqrtf(lumbar_block_sum(sq, scratch) / (float) pixels);
            for (long long k = threadIdx.x; k < pixels; k += blockDim.x) {
                p[k] = (p[k] - mean) / (std + 1e-6f);
            }
        }
        __syncthreads();
    }
}
