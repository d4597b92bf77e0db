package dev.lumbar.engine.model;

import dev.lumbar.engine.io.SafetensorsException;
import dev.lumbar.engine.tensor.DType;
import dev.lumbar.engine.tensor.Tensor;
import java.util.Arrays;

/**
 * Folds an inference-mode BatchNorm into the convolution (or linear layer) before it.
 *
 * <p>PyTorch's BatchNorm in eval mode computes, per output channel c,
 * {@code y = (x − mean[c]) / sqrt(var[c] + eps) · γ[c] + β[c]}. With
 * {@code s[c] = γ[c] / sqrt(var[c] + eps)} the convolution followed by the norm equals one
 * convolution with weight {@code W[c, …] · s[c]} and bias
 * {@code (b[c] − mean[c]) · s[c] + β[c]}.
 * The arithmetic is done in double and rounded once to float32, so a folded weight can differ
 * from PyTorch's float32 fusion by one unit in the last place.
 */
public final class BatchNormFolding {

    /** The folded layer; both tensors are owned F32 copies. */
    public record Folded(Tensor weight, Tensor bias) implements AutoCloseable {
        @Override
        public void close() {
            weight.close();
            bias.close();
        }
    }

    private BatchNormFolding() {
    }

    /**
     * Folds the norm into the convolution.
     *
     * @param convWeight {@code [C_out, …]}, any trailing dims (conv kernels, linear inputs)
     * @param convBias {@code [C_out]}, or {@code null} for a convolution without bias
     * @param bnWeight γ {@code [C_out]}, or {@code null} for a norm without affine parameters
     * @param bnBias β {@code [C_out]}, or {@code null} likewise
     * @param runningMean {@code [C_out]}
     * @param runningVar {@code [C_out]}
     * @param eps the norm's epsilon (PyTorch's default is 1e-5; timm's tf_ models use 1e-3)
     */
    public static Folded fold(Tensor convWeight, Tensor convBias, Tensor bnWeight,
            Tensor bnBias, Tensor runningMean, Tensor runningVar, double eps) {
        if (convWeight.rank() < 1) {
            throw new IllegalArgumentException("convolution weight must have an output-channel "
                    + "dimension, got " + convWeight);
        }
        int channels = convWeight.size(0);
        float[] mean = channelVector("running_mean", runningMean, channels);
        float[] variance = channelVector("running_var", runningVar, channels);
        float[] gamma = bnWeight == null ? null : channelVector("weight", bnWeight, channels);
        float[] beta = bnBias == null ? null : channelVector("bias", bnBias, channels);
        float[] bias = convBias == null ? null : channelVector("conv bias", convBias, channels);
        if (!(eps >= 0)) {
            throw new IllegalArgumentException("BatchNorm eps must be >= 0, got " + eps);
        }

        // per-channel scale s = γ / sqrt(var + eps)
        double[] scale = new double[channels];
        for (int c = 0; c < channels; c++) {
            double denominator = Math.sqrt((double) variance[c] + eps);
            if (!(denominator > 0)) {
                throw new IllegalArgumentException("BatchNorm channel " + c + " has running_var "
                        + variance[c] + " and eps " + eps + ": cannot divide by their root");
            }
            scale[c] = (gamma == null ? 1.0 : gamma[c]) / denominator;
        }

        // W' = W · s (per output channel), b' = (b − mean) · s + β
        Tensor weight = Tensor.allocate(DType.F32, convWeight.shape());
        Tensor folded = Tensor.allocate(DType.F32, channels);
        long perChannel = convWeight.numel() / Math.max(channels, 1);
        for (int c = 0; c < channels; c++) {
            for (long k = 0; k < perChannel; k++) {
                long i = c * perChannel + k;
                weight.setFloat(i, (float) (convWeight.getFloat(i) * scale[c]));
            }
            double b = bias == null ? 0.0 : bias[c];
            folded.setFloat(c, (float) ((b - mean[c]) * scale[c] + (beta == null ? 0 : beta[c])));
        }
        return new Folded(weight, folded);
    }

    /**
     * Folds the norm at state-dict prefix {@code norm} (its {@code weight}, {@code bias},
     * {@code running_mean}, {@code running_var}) into the convolution at prefix {@code conv}
     * ({@code weight} and, if present, {@code bias}), e.g. {@code fold(w, "conv_stem", "bn1",
     * 1e-3)}.
     */
    public static Folded fold(WeightSet weights, String conv, String norm, double eps)
            throws SafetensorsException {
        try (Tensor w = weights.f32(conv + ".weight");
                Tensor b = weights.contains(conv + ".bias") ? weights.f32(conv + ".bias") : null;
                Tensor gamma = weights.f32(norm + ".weight");
                Tensor beta = weights.f32(norm + ".bias");
                Tensor mean = weights.f32(norm + ".running_mean");
                Tensor variance = weights.f32(norm + ".running_var")) {
            return fold(w, b, gamma, beta, mean, variance, eps);
        }
    }

    private static float[] channelVector(String what, Tensor t, int channels) {
        if (t.rank() != 1 || t.dim(0) != channels) {
            throw new IllegalArgumentException("BatchNorm folding: " + what + " has shape "
                    + Arrays.toString(t.shape()) + ", expected [" + channels + "]");
        }
        return t.toFloatArray();
    }
}
