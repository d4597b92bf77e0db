// Pointwise kernels: bias + activation, sums, per-channel scaling.
#pragma once
#include "common.cuh"

// y[i] = act(x[i] + bias[(i / inner) % channels]); bias may be null. y may alias x.
// NCHW bias: channels = C, inner = H*W. Linear bias over the last dim: channels = out, inner = 1.
extern "C" __global__ void lumbar_bias_act(float* y, const float* x, const float* bias,
                                           int channels, long long inner, long long total,
                                           int act) {
    LUMBAR_GRID_STRIDE(i, total) {
        float v = x[i];
        if (bias != nullptr) {
            v += bias[(i / inner) % channels];
        }
        y[i] = lumbar_activate(v, act);
    }
}

// y = a + b, elementwise over n elements.
extern "C" __global__ void lumbar_add(float* y, const float* a, const float* b, long long n) {
    LUMBAR_GRID_STRIDE(i, n) {
        y[i] = a[i] + b[i];
    }
}

// y[n,c,h,w] = x[n,c,h,w] * scale[c] (perSample = 0) or * scale[n,c] (perSample = 1),
// plus residual[n,c,h,w] when residual is not null.
extern "C" __global__ void lumbar_scale_channels(float* y, const float* x, const float* scale,
                                                 const float* residual, int channels,
                                                 long long hw, long long total,
                                                 int perSample) {
    LUMBAR_GRID_STRIDE(i, total) {
        long long plane = i / hw;
        long long s = perSample ? plane : plane % channels;
        float v = x[i] * scale[s];
        if (residual != nullptr) {
            v += residual[i];
        }
        y[i] = v;
    }
}

// Zero padding of NCHW maps: x [planes, h, w] -> y [planes, h + top + bottom, w + left + right].
// Used for TensorFlow-style 'same' padding, which can be asymmetric and which cuDNN's
// descriptors (symmetric padding only) cannot express.
extern "C" __global__ void lumbar_pad2d(float* y, const float* x, long long planes, int h,
                                        int w, int top, int left, int outH, int outW) {
    long long total = planes * outH * outW;
    LUMBAR_GRID_STRIDE(i, total) {
        int c = (int) (i % outW) - left;
        int r = (int) ((i / outW) % outH) - top;
        long long plane = i / ((long long) outH * outW);
        y[i] = (r >= 0 && r < h && c >= 0 && c < w) ? x[(plane * h + r) * w + c] : 0.f;
    }
}
