package dev.lumbar.engine.model.backbone;

import dev.lumbar.engine.backend.Activation;
import dev.lumbar.engine.backend.Backend;
import dev.lumbar.engine.backend.Conv2dSpec;
import dev.lumbar.engine.tensor.Device;
import dev.lumbar.engine.tensor.Tensor;

/**
 * The {@link Backend} operations written as plain loops with double accumulators: slow, but
 * short enough to check by eye, so that the backbones' parity with PyTorch can be tested on
 * their own and the optimised backends can be compared against the same goldens.
 */
public final class ReferenceBackend implements Backend {

    @Override
    public String name() {
        return "reference (test)";
    }

    @Override
    public Device device() {
        return Device.CPU;
    }

    @Override
    public Tensor upload(Tensor host) {
        return host.toF32();
    }

    @Override
    public Tensor download(Tensor tensor) {
        return tensor.toF32();
    }

    @Override
    public Tensor conv2d(Tensor x, Tensor weight, Tensor bias, Conv2dSpec spec,
            Activation act) {
        int n = x.size(0);
        int c = x.size(1);
        int h = x.size(2);
        int w = x.size(3);
        int o = weight.size(0);
        int cPerGroup = weight.size(1);
        int kh = weight.size(2);
        int kw = weight.size(3);
        int groups = spec.groups();
        if (cPerGroup * groups != c || o % groups != 0) {
            throw new IllegalArgumentException("conv2d: input " + x + ", weight " + weight
                    + ", groups " + groups);
        }
        int oPerGroup = o / groups;
        int outH = spec.outH(h, kh);
        int outW = spec.outW(w, kw);
        float[] in = x.toFloatArray();
        float[] k = weight.toFloatArray();
        float[] b = bias == null ? null : bias.toFloatArray();
        float[] out = new float[n * o * outH * outW];
        for (int img = 0; img < n; img++) {
            for (int oc = 0; oc < o; oc++) {
                int g = oc / oPerGroup;
                for (int oy = 0; oy < outH; oy++) {
                    for (int ox = 0; ox < outW; ox++) {
                        double sum = b == null ? 0 : b[oc];
                        for (int ic = 0; ic < cPerGroup; ic++) {
                            int channel = g * cPerGroup + ic;
                            for (int ky = 0; ky < kh; ky++) {
                                int iy = oy * spec.strideH() - spec.padTop()
                                        + ky * spec.dilationH();
                                if (iy < 0 || iy >= h) {
                                    continue;
                                }
                                for (int kx = 0; kx < kw; kx++) {
                                    int ix = ox * spec.strideW() - spec.padLeft()
                                            + kx * spec.dilationW();
                                    if (ix < 0 || ix >= w) {
                                        continue;
                                    }
                                    sum += (double) in[((img * c + channel) * h + iy) * w + ix]
                                            * k[((oc * cPerGroup + ic) * kh + ky) * kw + kx];
                                }
                            }
                        }
                        out[((img * o + oc) * outH + oy) * outW + ox] = (float) apply(act, sum);
                    }
                }
            }
        }
        return Tensor.of(out, n, o, outH, outW);
    }

    @Override
    public Tensor linear(Tensor x, Tensor weight, Tensor bias, Activation act) {
        int in = weight.size(1);
        int outFeatures = weight.size(0);
        long rows = x.numel() / in;
        float[] a = x.toFloatArray();
        float[] wt = weight.toFloatArray();
        float[] b = bias == null ? null : bias.toFloatArray();
        float[] out = new float[Math.toIntExact(rows * outFeatures)];
        for (int r = 0; r < rows; r++) {
            for (int j = 0; j < outFeatures; j++) {
                double sum = b == null ? 0 : b[j];
                for (int i = 0; i < in; i++) {
                    sum += (double) a[r * in + i] * wt[j * in + i];
                }
                out[r * outFeatures + j] = (float) apply(act, sum);
            }
        }
        long[] shape = x.shape();
        shape[shape.length - 1] = outFeatures;
        return Tensor.of(out, shape);
    }

    @Override
    public Tensor matmul(Tensor a, Tensor b) {
        int batch = a.size(0);
        int m = a.size(1);
        int k = a.size(2);
        int n = b.size(2);
        float[] x = a.toFloatArray();
        float[] y = b.toFloatArray();
        float[] out = new float[batch * m * n];
        for (int bi = 0; bi < batch; bi++) {
            for (int i = 0; i < m; i++) {
                for (int j = 0; j < n; j++) {
                    double sum = 0;
                    for (int p = 0; p < k; p++) {
                        sum += (double) x[(bi * m + i) * k + p] * y[(bi * k + p) * n + j];
                    }
                    out[(bi * m + i) * n + j] = (float) sum;
                }
            }
        }
        return Tensor.of(out, batch, m, n);
    }

    @Override
    public Tensor layerNormLastDim(Tensor x, Tensor gamma, Tensor beta, float eps) {
        int c = x.size(-1);
        float[] in = x.toFloatArray();
        float[] g = gamma.toFloatArray();
        float[] bt = beta.toFloatArray();
        float[] out = new float[in.length];
        for (int row = 0; row < in.length / c; row++) {
            double mean = 0;
            for (int i = 0; i < c; i++) {
                mean += in[row * c + i];
            }
            mean /= c;
            double var = 0;
            for (int i = 0; i < c; i++) {
                double d = in[row * c + i] - mean;
                var += d * d;
            }
            var /= c;
            double inv = 1 / Math.sqrt(var + eps);
            for (int i = 0; i < c; i++) {
                out[row * c + i] = (float) ((in[row * c + i] - mean) * inv * g[i] + bt[i]);
            }
        }
        return Tensor.of(out, x.shape());
    }

    @Override
    public Tensor layerNormChannels(Tensor x, Tensor gamma, Tensor beta, float eps) {
        int n = x.size(0);
        int c = x.size(1);
        int plane = x.size(2) * x.size(3);
        float[] in = x.toFloatArray();
        float[] g = gamma.toFloatArray();
        float[] bt = beta.toFloatArray();
        float[] out = new float[in.length];
        for (int img = 0; img < n; img++) {
            for (int p = 0; p < plane; p++) {
                double mean = 0;
                for (int ch = 0; ch < c; ch++) {
                    mean += in[(img * c + ch) * plane + p];
                }
                mean /= c;
                double var = 0;
                for (int ch = 0; ch < c; ch++) {
                    double d = in[(img * c + ch) * plane + p] - mean;
                    var += d * d;
                }
                var /= c;
                double inv = 1 / Math.sqrt(var + eps);
                for (int ch = 0; ch < c; ch++) {
                    int i = (img * c + ch) * plane + p;
                    out[i] = (float) ((in[i] - mean) * inv * g[ch] + bt[ch]);
                }
            }
        }
        return Tensor.of(out, x.shape());
    }

    @Override
    public Tensor activate(Tensor x, Activation act) {
        float[] in = x.toFloatArray();
        float[] out = new float[in.length];
        for (int i = 0; i < in.length; i++) {
            out[i] = (float) apply(act, in[i]);
        }
        return Tensor.of(out, x.shape());
    }

    @Override
    public Tensor add(Tensor a, Tensor b) {
        float[] x = a.toFloatArray();
        float[] y = b.toFloatArray();
        if (x.length != y.length) {
            throw new IllegalArgumentException("add: " + a + " and " + b);
        }
        float[] out = new float[x.length];
        for (int i = 0; i < x.length; i++) {
            out[i] = x[i] + y[i];
        }
        return Tensor.of(out, a.shape());
    }

    @Override
    public Tensor scaleChannels(Tensor x, Tensor scale, Tensor residual) {
        int n = x.size(0);
        int c = x.size(1);
        int plane = x.size(2) * x.size(3);
        boolean perImage = scale.rank() == 2;
        float[] in = x.toFloatArray();
        float[] s = scale.toFloatArray();
        float[] r = residual == null ? null : residual.toFloatArray();
        float[] out = new float[in.length];
        for (int img = 0; img < n; img++) {
            for (int ch = 0; ch < c; ch++) {
                float factor = s[perImage ? img * c + ch : ch];
                for (int p = 0; p < plane; p++) {
                    int i = (img * c + ch) * plane + p;
                    out[i] = in[i] * factor + (r == null ? 0 : r[i]);
                }
            }
        }
        return Tensor.of(out, x.shape());
    }

    @Override
    public Tensor squeezeExcite(Tensor x, Tensor reduceWeight, Tensor reduceBias,
            Tensor expandWeight, Tensor expandBias, Activation act) {
        int n = x.size(0);
        int c = x.size(1);
        try (Tensor pooled = globalAvgPool(x);
                Tensor reduced = linear(pooled, reduceWeight.reshape(reduceWeight.dim(0), c),
                        reduceBias, act);
                Tensor gate = linear(reduced, expandWeight.reshape(c, expandWeight.dim(1)),
                        expandBias, Activation.SIGMOID)) {
            return scaleChannels(x, gate.reshape(n, c), null);
        }
    }

    @Override
    public Tensor globalAvgPool(Tensor x) {
        int n = x.size(0);
        int c = x.size(1);
        int plane = x.size(2) * x.size(3);
        float[] in = x.toFloatArray();
        float[] out = new float[n * c];
        for (int i = 0; i < n * c; i++) {
            double sum = 0;
            for (int p = 0; p < plane; p++) {
                sum += in[i * plane + p];
            }
            out[i] = (float) (sum / plane);
        }
        return Tensor.of(out, n, c);
    }

    @Override
    public Tensor globalMaxPool(Tensor x) {
        int n = x.size(0);
        int c = x.size(1);
        int plane = x.size(2) * x.size(3);
        float[] in = x.toFloatArray();
        float[] out = new float[n * c];
        for (int i = 0; i < n * c; i++) {
            float max = Float.NEGATIVE_INFINITY;
            for (int p = 0; p < plane; p++) {
                max = Math.max(max, in[i * plane + p]);
            }
            out[i] = max;
        }
        return Tensor.of(out, n, c);
    }

    @Override
    public Tensor softmax(Tensor x) {
        int c = x.size(-1);
        float[] in = x.toFloatArray();
        float[] out = new float[in.length];
        for (int row = 0; row < in.length / c; row++) {
            double max = Double.NEGATIVE_INFINITY;
            for (int i = 0; i < c; i++) {
                max = Math.max(max, in[row * c + i]);
            }
            double sum = 0;
            for (int i = 0; i < c; i++) {
                sum += Math.exp(in[row * c + i] - max);
            }
            for (int i = 0; i < c; i++) {
                out[row * c + i] = (float) (Math.exp(in[row * c + i] - max) / sum);
            }
        }
        return Tensor.of(out, x.shape());
    }

    static double apply(Activation act, double v) {
        return switch (act) {
            case IDENTITY -> v;
            case RELU -> Math.max(v, 0);
            case GELU -> 0.5 * v * (1 + erf(v / Math.sqrt(2)));
            case SILU -> v / (1 + Math.exp(-v));
            case SIGMOID -> 1 / (1 + Math.exp(-v));
            case TANH -> Math.tanh(v);
        };
    }

    /** The error function to about 1e-15 (Taylor series near 0, continued fraction beyond). */
    static double erf(double x) {
        double ax = Math.abs(x);
        double result;
        if (ax < 2.5) {
            double term = ax;
            double sum = ax;
            double x2 = ax * ax;
            for (int k = 1; k < 100; k++) {
                term *= -x2 / k;
                double add = term / (2 * k + 1);
                sum += add;
                if (Math.abs(add) < 1e-17 * Math.abs(sum)) {
                    break;
                }
            }
            result = 2 / Math.sqrt(Math.PI) * sum;
        } else {
            // erfc(x) = exp(-x²)/√π · 1/(x + 1/2/(x + 1/(x + 3/2/(x + …))))
            // (Lentz-free backward)
            double f = 0;
            for (int k = 60; k >= 1; k--) {
                f = (k / 2.0) / (ax + f);
            }
            result = 1 - Math.exp(-ax * ax) / Math.sqrt(Math.PI) / (ax + f);
        }
        return x < 0 ? -result : result;
    }

    @Override
    public void close() {
    }
}
