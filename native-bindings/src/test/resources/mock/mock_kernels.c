/*
 * Host implementations of the engine's CUDA kernels for the simulated device of the tests:
 * each reads its parameters in the order and C types of kernels/src/main/cuda and computes
 * what that kernel's comment specifies, one element after another. Linked into the stand-in
 * libcuda.so.1 (mock_cuda_driver.c) so that the CUDA backend's Java side runs end to end on a
 * machine without a GPU.
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

typedef void (*mock_kernel)(void **params, unsigned int grid);

#define P(type, i) (*(type *) params[i])

static float activate(float x, int act) {
    switch (act) {
        case 1: return x > 0.f ? x : 0.f;
        case 2: return 0.5f * x * (1.f + erff(x * 0.70710678118654752f));
        case 3: return x / (1.f + expf(-x));
        case 4: return 1.f / (1.f + expf(-x));
        case 5: return tanhf(x);
        default: return x;
    }
}

static void bias_act(void **params, unsigned int grid) {
    (void) grid;
    float *y = P(float *, 0);
    const float *x = P(float *, 1);
    const float *bias = P(float *, 2);
    int channels = P(int, 3);
    long long inner = P(long long, 4), total = P(long long, 5);
    int act = P(int, 6);
    for (long long i = 0; i < total; i++) {
        float v = x[i] + (bias ? bias[(i / inner) % channels] : 0.f);
        y[i] = activate(v, act);
    }
}

static void add(void **params, unsigned int grid) {
    (void) grid;
    float *y = P(float *, 0);
    const float *a = P(float *, 1), *b = P(float *, 2);
    long long n = P(long long, 3);
    for (long long i = 0; i < n; i++) y[i] = a[i] + b[i];
}

static void scale_channels(void **params, unsigned int grid) {
    (void) grid;
    float *y = P(float *, 0);
    const float *x = P(float *, 1), *scale = P(float *, 2), *residual = P(float *, 3);
    int channels = P(int, 4);
    long long hw = P(long long, 5), total = P(long long, 6);
    int per_sample = P(int, 7);
    for (long long i = 0; i < total; i++) {
        long long plane = i / hw;
        float v = x[i] * scale[per_sample ? plane : plane % channels];
        y[i] = residual ? v + residual[i] : v;
    }
}

static void pad2d(void **params, unsigned int grid) {
    (void) grid;
    float *y = P(float *, 0);
    const float *x = P(float *, 1);
    long long planes = P(long long, 2);
    int h = P(int, 3), w = P(int, 4), top = P(int, 5), left = P(int, 6);
    int out_h = P(int, 7), out_w = P(int, 8);
    for (long long p = 0; p < planes; p++)
        for (int r = 0; r < out_h; r++)
            for (int c = 0; c < out_w; c++) {
                int sr = r - top, sc = c - left;
                y[(p * out_h + r) * out_w + c] = (sr >= 0 && sr < h && sc >= 0 && sc < w)
                        ? x[(p * h + sr) * w + sc] : 0.f;
            }
}

static void layer_norm_last_dim(void **params, unsigned int grid) {
    (void) grid;
    float *y = P(float *, 0);
    const float *x = P(float *, 1), *g = P(float *, 2), *b = P(float *, 3);
    long long rows = P(long long, 4);
    int cols = P(int, 5);
    float eps = P(float, 6);
    for (long long r = 0; r < rows; r++) {
        const float *in = x + r * cols;
        double mean = 0, var = 0;
        for (int c = 0; c < cols; c++) mean += in[c];
        mean /= cols;
        for (int c = 0; c < cols; c++) var += (in[c] - mean) * (in[c] - mean);
        var /= cols;
        for (int c = 0; c < cols; c++)
            y[r * cols + c] = (float) ((in[c] - mean) / sqrt(var + eps)) * g[c] + b[c];
    }
}

static void layer_norm_channels(void **params, unsigned int grid) {
    (void) grid;
    float *y = P(float *, 0);
    const float *x = P(float *, 1), *g = P(float *, 2), *b = P(float *, 3);
    int n = P(int, 4), channels = P(int, 5);
    long long hw = P(long long, 6);
    float eps = P(float, 7);
    for (int i = 0; i < n; i++)
        for (long long p = 0; p < hw; p++) {
            const float *in = x + (long long) i * channels * hw + p;
            double mean = 0, var = 0;
            for (int c = 0; c < channels; c++) mean += in[c * hw];
            mean /= channels;
            for (int c = 0; c < channels; c++) var += (in[c * hw] - mean) * (in[c * hw] - mean);
            var /= channels;
            for (int c = 0; c < channels; c++)
                y[(long long) i * channels * hw + c * hw + p] =
                        (float) ((in[c * hw] - mean) / sqrt(var + eps)) * g[c] + b[c];
        }
}

static void global_pool(void **params, unsigned int grid) {
    (void) grid;
    float *y = P(float *, 0);
    const float *x = P(float *, 1);
    long long planes = P(long long, 2), hw = P(long long, 3);
    int mode = P(int, 4);
    for (long long p = 0; p < planes; p++) {
        double acc = mode == 0 ? 0 : -INFINITY;
        for (long long i = 0; i < hw; i++)
            acc = mode == 0 ? acc + x[p * hw + i] : fmax(acc, x[p * hw + i]);
        y[p] = (float) (mode == 0 ? acc / hw : acc);
    }
}

static void softmax_last_dim(void **params, unsigned int grid) {
    (void) grid;
    float *y = P(float *, 0);
    const float *x = P(float *, 1);
    long long rows = P(long long, 2);
    int cols = P(int, 3);
    for (long long r = 0; r < rows; r++) {
        const float *in = x + r * cols;
        float m = -INFINITY;
        double sum = 0;
        for (int c = 0; c < cols; c++) m = fmaxf(m, in[c]);
        for (int c = 0; c < cols; c++) sum += exp(in[c] - m);
        for (int c = 0; c < cols; c++) y[r * cols + c] = (float) (exp(in[c] - m) / sum);
    }
}

static void se_gate(void **params, unsigned int grid) {
    float *gate = P(float *, 0);
    const float *pooled = P(float *, 1), *rw = P(float *, 2), *rb = P(float *, 3);
    const float *ew = P(float *, 4), *eb = P(float *, 5);
    int channels = P(int, 6), reduced = P(int, 7), act = P(int, 8);
    float hidden[4096];
    if (reduced > 4096) return;
    /* one block per image: the grid is the batch */
    for (unsigned int image = 0; image < grid; image++) {
        const float *p = pooled + (long long) image * channels;
        for (int r = 0; r < reduced; r++) {
            double acc = rb ? rb[r] : 0;
            for (int c = 0; c < channels; c++) acc += rw[(long long) r * channels + c] * p[c];
            hidden[r] = activate((float) acc, act);
        }
        for (int c = 0; c < channels; c++) {
            double acc = eb ? eb[c] : 0;
            for (int r = 0; r < reduced; r++) acc += ew[(long long) c * reduced + r] * hidden[r];
            gate[(long long) image * channels + c] = (float) (1 / (1 + exp(-acc)));
        }
    }
}

static void attention_pool(void **params, unsigned int grid) {
    (void) grid;
    float *z = P(float *, 0), *alpha = P(float *, 1);
    const float *h = P(float *, 2), *w = P(float *, 3), *bias = P(float *, 4);
    int bags = P(int, 5), instances = P(int, 6), dim = P(int, 7);
    double logits[4096];
    if (instances > 4096) return;
    for (int b = 0; b < bags; b++) {
        const float *hb = h + (long long) b * instances * dim;
        double m = -INFINITY, sum = 0;
        for (int s = 0; s < instances; s++) {
            double acc = bias[0];
            for (int d = 0; d < dim; d++) acc += w[d] * tanh(hb[(long long) s * dim + d]);
            logits[s] = acc;
            m = fmax(m, acc);
        }
        for (int s = 0; s < instances; s++) sum += (logits[s] = exp(logits[s] - m));
        for (int s = 0; s < instances; s++) alpha[b * instances + s] = (float) (logits[s] / sum);
        for (int d = 0; d < dim; d++) {
            double acc = 0;
            for (int s = 0; s < instances; s++)
                acc += logits[s] / sum * hb[(long long) s * dim + d];
            z[(long long) b * dim + d] = (float) acc;
        }
    }
}

static void nchw_to_nhwc(void **params, unsigned int grid) {
    (void) grid;
    float *y = P(float *, 0);
    const float *x = P(float *, 1);
    int n = P(int, 2), channels = P(int, 3);
    long long hw = P(long long, 4);
    for (int i = 0; i < n; i++)
        for (int c = 0; c < channels; c++)
            for (long long p = 0; p < hw; p++)
                y[((long long) i * hw + p) * channels + c] =
                        x[((long long) i * channels + c) * hw + p];
}

static void nhwc_to_nchw(void **params, unsigned int grid) {
    (void) grid;
    float *y = P(float *, 0);
    const float *x = P(float *, 1);
    int n = P(int, 2), channels = P(int, 3);
    long long hw = P(long long, 4);
    for (int i = 0; i < n; i++)
        for (int c = 0; c < channels; c++)
            for (long long p = 0; p < hw; p++)
                y[((long long) i * channels + c) * hw + p] =
                        x[((long long) i * hw + p) * channels + c];
}

static uint16_t to_bf16(float v) {
    uint32_t bits;
    memcpy(&bits, &v, 4);
    bits += 0x7FFF + ((bits >> 16) & 1);
    return (uint16_t) (bits >> 16);
}

static float from_bf16(uint16_t v) {
    uint32_t bits = (uint32_t) v << 16;
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

static void f32_to_f16(void **params, unsigned int grid) {
    (void) grid;
    _Float16 *y = P(_Float16 *, 0);
    const float *x = P(float *, 1);
    long long n = P(long long, 2);
    for (long long i = 0; i < n; i++) y[i] = (_Float16) x[i];
}

static void f16_to_f32(void **params, unsigned int grid) {
    (void) grid;
    float *y = P(float *, 0);
    const _Float16 *x = P(_Float16 *, 1);
    long long n = P(long long, 2);
    for (long long i = 0; i < n; i++) y[i] = (float) x[i];
}

static void f32_to_bf16(void **params, unsigned int grid) {
    (void) grid;
    uint16_t *y = P(uint16_t *, 0);
    const float *x = P(float *, 1);
    long long n = P(long long, 2);
    for (long long i = 0; i < n; i++) y[i] = to_bf16(x[i]);
}

static void bf16_to_f32(void **params, unsigned int grid) {
    (void) grid;
    float *y = P(float *, 0);
    const uint16_t *x = P(uint16_t *, 1);
    long long n = P(long long, 2);
    for (long long i = 0; i < n; i++) y[i] = from_bf16(x[i]);
}

static float pixel(const float *slice, int h, int w, int r, int c) {
    return (r >= 0 && r < h && c >= 0 && c < w) ? slice[(long long) r * w + c] : 0.f;
}

static void roi_sample(void **params, unsigned int grid) {
    (void) grid;
    float *out = P(float *, 0);
    const float *volumes = P(float *, 1);
    const long long *offsets = P(long long *, 2);
    const int *dims = P(int *, 3);
    const float *box = P(float *, 4);
    int targets = P(int, 5), instances = P(int, 6), step = P(int, 7);
    int out_h = P(int, 8), out_w = P(int, 9);
    long long k = 0;
    for (int t = 0; t < targets; t++) {
        const int *d = dims + 4 * t;
        const float *b = box + 5 * t;
        for (int s = 0; s < instances; s++) {
            int z = d[3] + (s - instances / 2) * step;
            z = z < 0 ? 0 : (z >= d[0] ? d[0] - 1 : z);
            const float *slice = volumes + offsets[t] + (long long) z * d[1] * d[2];
            for (int i = 0; i < out_h; i++)
                for (int j = 0; j < out_w; j++) {
                    double u = ((j + 0.5) / out_w * 2 - 1) * b[2];
                    double v = ((i + 0.5) / out_h * 2 - 1) * b[3];
                    double x = b[0] + u * cos(b[4]) - v * sin(b[4]) - 0.5;
                    double y = b[1] + u * sin(b[4]) + v * cos(b[4]) - 0.5;
                    int x0 = (int) floor(x), y0 = (int) floor(y);
                    double fx = x - x0, fy = y - y0;
                    double top = pixel(slice, d[1], d[2], y0, x0) * (1 - fx)
                            + pixel(slice, d[1], d[2], y0, x0 + 1) * fx;
                    double bottom = pixel(slice, d[1], d[2], y0 + 1, x0) * (1 - fx)
                            + pixel(slice, d[1], d[2], y0 + 1, x0 + 1) * fx;
                    out[k++] = (float) (top * (1 - fy) + bottom * fy);
                }
        }
    }
}

static void roi_normalize(void **params, unsigned int grid) {
    (void) grid;
    float *images = P(float *, 0);
    long long count = P(long long, 1), pixels = P(long long, 2);
    int mode = P(int, 3);
    for (long long n = 0; n < count && mode != 0; n++) {
        float *p = images + n * pixels;
        if (mode == 1) {
            float lo = INFINITY, hi = -INFINITY;
            for (long long k = 0; k < pixels; k++) { lo = fminf(lo, p[k]); hi = fmaxf(hi, p[k]); }
            for (long long k = 0; k < pixels; k++) p[k] = hi > lo ? (p[k] - lo) / (hi - lo) : 0.f;
        } else {
            double mean = 0, var = 0;
            for (long long k = 0; k < pixels; k++) mean += p[k];
            mean /= pixels;
            for (long long k = 0; k < pixels; k++) var += (p[k] - mean) * (p[k] - mean);
            double sd = sqrt(var / pixels);
            for (long long k = 0; k < pixels; k++) p[k] = (float) ((p[k] - mean) / (sd + 1e-6));
        }
    }
}

static float bag_pixel(const float *slice, int rows, int cols, int y, int x) {
    return (x >= 0 && y >= 0 && x < cols && y < rows) ? slice[(long long) y * cols + x] : 0.f;
}

static void bag_sample(void **params, unsigned int grid) {
    (void) grid;
    float *out = P(float *, 0);
    const float *stacks = P(float *, 1);
    const long long *bag_start = P(long long *, 2);
    const long long *stack_start = P(long long *, 3);
    const int *shape = P(int *, 4);
    const int *slice_table = P(int *, 5);
    const double *map = P(double *, 6);
    int bags = P(int, 7);
    for (int t = 0; t < bags; t++) {
        const int *s = shape + 6 * t;
        const double *m = map + 6 * t;
        int rows = s[0], cols = s[1], planes = s[2], out_h = s[3], out_w = s[4];
        long long k = bag_start[t];
        for (int p = 0; p < planes; p++) {
            const float *slice = stacks + stack_start[t]
                    + (long long) slice_table[s[5] + p] * rows * cols;
            for (int oy = 0; oy < out_h; oy++)
                for (int ox = 0; ox < out_w; ox++) {
                    double x = m[0] + ox * m[1] + oy * m[2];
                    double y = m[3] + ox * m[4] + oy * m[5];
                    double fx = floor(x), fy = floor(y);
                    if (fx < -1.0 || fy < -1.0 || fx >= cols || fy >= rows) {
                        out[k++] = 0.f;
                        continue;
                    }
                    int x0 = (int) fx, y0 = (int) fy;
                    double wx = x - fx, wy = y - fy;
                    double top = (1.0 - wx) * bag_pixel(slice, rows, cols, y0, x0)
                            + wx * bag_pixel(slice, rows, cols, y0, x0 + 1);
                    double bottom = (1.0 - wx) * bag_pixel(slice, rows, cols, y0 + 1, x0)
                            + wx * bag_pixel(slice, rows, cols, y0 + 1, x0 + 1);
                    out[k++] = (float) ((1.0 - wy) * top + wy * bottom);
                }
        }
    }
}

static void bag_normalize(void **params, unsigned int grid) {
    (void) grid;
    float *bags_out = P(float *, 0);
    const long long *bag_start = P(long long *, 1);
    const int *mode = P(int *, 2);
    const float *window = P(float *, 3);
    int bags = P(int, 4);
    for (int t = 0; t < bags; t++) {
        float *p = bags_out + bag_start[t];
        long long n = bag_start[t + 1] - bag_start[t];
        if (mode[t] == 0) {
            float lo = INFINITY, hi = -INFINITY;
            for (long long k = 0; k < n; k++) { lo = fminf(lo, p[k]); hi = fmaxf(hi, p[k]); }
            float scale = hi > lo ? 1.f / (hi - lo) : 0.f;
            for (long long k = 0; k < n; k++) p[k] = (p[k] - lo) * scale;
        } else if (mode[t] == 1) {
            double sum = 0, squares = 0;
            for (long long k = 0; k < n; k++) { sum += p[k]; squares += (double) p[k] * p[k]; }
            double mean = sum / n;
            double variance = fmax(0.0, squares / n - mean * mean);
            double sd = sqrt(variance);
            float scale = sd > 1e-6 ? (float) (1.0 / sd) : 0.f;
            for (long long k = 0; k < n; k++) p[k] = (float) (p[k] - mean) * scale;
        } else {
            float low = window[2 * t];
            float scale = 1.f / (window[2 * t + 1] - low);
            for (long long k = 0; k < n; k++) p[k] = fminf(fmaxf((p[k] - low) * scale, 0.f), 1.f);
        }
    }
}

static const struct { const char *name; mock_kernel kernel; } KERNELS[] = {
    {"lumbar_bias_act", bias_act}, {"lumbar_add", add},
    {"lumbar_scale_channels", scale_channels}, {"lumbar_pad2d", pad2d},
    {"lumbar_layer_norm_last_dim", layer_norm_last_dim},
    {"lumbar_layer_norm_channels", layer_norm_channels}, {"lumbar_global_pool", global_pool},
    {"lumbar_softmax_last_dim", softmax_last_dim}, {"lumbar_se_gate", se_gate},
    {"lumbar_attention_pool", attention_pool}, {"lumbar_nchw_to_nhwc", nchw_to_nhwc},
    {"lumbar_nhwc_to_nchw", nhwc_to_nchw}, {"lumbar_f32_to_f16", f32_to_f16},
    {"lumbar_f16_to_f32", f16_to_f32}, {"lumbar_f32_to_bf16", f32_to_bf16},
    {"lumbar_bf16_to_f32", bf16_to_f32}, {"lumbar_roi_sample", roi_sample},
    {"lumbar_roi_normalize", roi_normalize}, {"lumbar_bag_sample", bag_sample},
    {"lumbar_bag_normalize", bag_normalize},
};

mock_kernel mock_kernel_lookup(const char *name) {
    for (size_t i = 0; i < sizeof KERNELS / sizeof KERNELS[0]; i++) {
        if (strcmp(KERNELS[i].name, name) == 0) return KERNELS[i].kernel;
    }
    return NULL;
}
