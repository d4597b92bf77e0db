package dev.lumbar.engine.model.head;

import dev.lumbar.engine.backend.Activation;
import dev.lumbar.engine.backend.Backend;
import dev.lumbar.engine.backend.Conv2dSpec;
import dev.lumbar.engine.tensor.Device;
import dev.lumbar.engine.tensor.Tensor;

/**
 * A deliberately naive host backend with the operations heads use, accumulating in double,
 * so head tests isolate the heads' own arithmetic. Operations heads never call say so.
 */
final class ReferenceBackend implements Backend {

    @Override
    public String name() {
        return "reference";
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
    public Tensor linear(Tensor x, Tensor weight, Tensor bias, Activation act) {
        int in = weight.size(1);
        int out = weight.size(0);
        int rows = Math.toIntExact(x.numel() / in);
        long[] shape = x.shape();
        shape[shape.length - 1] = out;
        float[] xs = x.toFloatArray();
        float[] ws = weight.toFloatArray();
        float[] bs = bias == null ? null : bias.toFloatArray();
        float[] ys = new float[rows * out];
        for (int r = 0; r < rows; r++) {
            for (int o = 0; o < out; o++) {
                double sum = bs == null ? 0 : bs[o];
                for (int i = 0; i < in; i++) {
                    sum += (double) xs[r * in + i] * ws[o * in + i];
                }
                ys[r * out + o] = (float) apply(act, sum);
            }
        }
        return Tensor.of(ys, shape);
    }

    @Override
    public Tensor matmul(Tensor a, Tensor b) {
        int batch = a.size(0);
        int m = a.size(1);
        int k = a.size(2);
        int n = b.size(2);
        float[] as = a.toFloatArray();
        float[] bs = b.toFloatArray();
        float[] cs = new float[batch * m * n];
        for (int p = 0; p < batch; p++) {
            for (int i = 0; i < m; i++) {
                for (int j = 0; j < n; j++) {
                    double sum = 0;
                    for (int q = 0; q < k; q++) {
                        sum += (double) as[(p * m + i) * k + q] * bs[(p * k + q) * n + j];
                    }
                    cs[(p * m + i) * n + j] = (float) sum;
                }
            }
        }
        return Tensor.of(cs, batch, m, n);
    }

    @Override
    public Tensor activate(Tensor x, Activation act) {
        float[] xs = x.toFloatArray();
        for (int i = 0; i < xs.length; i++) {
            xs[i] = (float) apply(act, xs[i]);
        }
        return Tensor.of(xs, x.shape());
    }

    @Override
    public Tensor softmax(Tensor x) {
        int width = Math.toIntExact(x.dim(-1));
        float[] xs = x.toFloatArray();
        for (int r = 0; r < xs.length / width; r++) {
            double top = Double.NEGATIVE_INFINITY;
            for (int i = 0; i < width; i++) {
                top = Math.max(top, xs[r * width + i]);
            }
            double sum = 0;
            double[] e = new double[width];
            for (int i = 0; i < width; i++) {
                e[i] = Math.exp(xs[r * width + i] - top);
                sum += e[i];
            }
            for (int i = 0; i < width; i++) {
                xs[r * width + i] = (float) (e[i] / sum);
            }
        }
        return Tensor.of(xs, x.shape());
    }

    @Override
    public Tensor globalAvgPool(Tensor x) {
        return pool(x, false);
    }

    @Override
    public Tensor globalMaxPool(Tensor x) {
        return pool(x, true);
    }

    private static Tensor pool(Tensor x, boolean max) {
        int planes = x.size(0) * x.size(1);
        int area = x.size(2) * x.size(3);
        float[] xs = x.toFloatArray();
        float[] ys = new float[planes];
        for (int p = 0; p < planes; p++) {
            double acc = max ? Double.NEGATIVE_INFINITY : 0;
            for (int i = 0; i < area; i++) {
                acc = max ? Math.max(acc, xs[p * area + i]) : acc + xs[p * area + i];
            }
            ys[p] = (float) (max ? acc : acc / area);
        }
        return Tensor.of(ys, x.dim(0), x.dim(1));
    }

    private static double apply(Activation act, double v) {
        return switch (act) {
            case IDENTITY -> v;
            case TANH -> Math.tanh(v);
            case SIGMOID -> 1 / (1 + Math.exp(-v));
            case RELU -> Math.max(0, v);
            default -> throw new UnsupportedOperationException("head tests do not use " + act);
        };
    }

    @Override
    public Tensor conv2d(Tensor x, Tensor weight, Tensor bias, Conv2dSpec spec,
            Activation act) {
        throw new UnsupportedOperationException("heads do not convolve");
    }

    @Override
    public Tensor layerNormLastDim(Tensor x, Tensor gamma, Tensor beta, float eps) {
        throw new UnsupportedOperationException("heads do not normalise");
    }

    @Override
    public Tensor layerNormChannels(Tensor x, Tensor gamma, Tensor beta, float eps) {
        throw new UnsupportedOperationException("heads do not normalise");
    }

    @Override
    public Tensor add(Tensor a, Tensor b) {
        throw new UnsupportedOperationException("heads do not add tensors");
    }

    @Override
    public Tensor scaleChannels(Tensor x, Tensor scale, Tensor residual) {
        throw new UnsupportedOperationException("heads do not scale channels");
    }

    @Override
    public Tensor squeezeExcite(Tensor x, Tensor reduceWeight, Tensor reduceBias,
            Tensor expandWeight, Tensor expandBias, Activation act) {
        throw new UnsupportedOperationException("heads do not squeeze and excite");
    }

    @Override
    public void close() {
    }
}
