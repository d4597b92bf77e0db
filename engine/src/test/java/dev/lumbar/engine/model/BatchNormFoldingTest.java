package dev.lumbar.engine.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.lumbar.engine.io.Safetensors;
import dev.lumbar.engine.tensor.Tensor;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BatchNormFoldingTest {

    /**
     * Two output channels, one input channel, 1×2 kernels. With eps 0.25 the roots are
     * sqrt(3.75 + 0.25) = 2 and sqrt(0.75 + 0.25) = 1, so the scales are γ/root = 2/2 = 1 and
     * 0.5/1 = 0.5. Folded weights: [1, 2] · 1 and [3, 4] · 0.5 = [1.5, 2]. Folded biases:
     * (0.5 − 0.5) · 1 + 1 = 1 and (−1 − 1) · 0.5 + 0 = −1.
     */
    @Test
    void foldsAHandComputedExample() {
        try (Tensor w = Tensor.of(new float[] {1, 2, 3, 4}, 2, 1, 1, 2);
                Tensor b = Tensor.of(new float[] {0.5f, -1}, 2);
                Tensor gamma = Tensor.of(new float[] {2, 0.5f}, 2);
                Tensor beta = Tensor.of(new float[] {1, 0}, 2);
                Tensor mean = Tensor.of(new float[] {0.5f, 1}, 2);
                Tensor variance = Tensor.of(new float[] {3.75f, 0.75f}, 2);
                BatchNormFolding.Folded folded =
                        BatchNormFolding.fold(w, b, gamma, beta, mean, variance, 0.25)) {
            assertArrayEquals(new long[] {2, 1, 1, 2}, folded.weight().shape());
            assertArrayEquals(new float[] {1, 2, 1.5f, 2}, folded.weight().toFloatArray());
            assertArrayEquals(new float[] {1, -1}, folded.bias().toFloatArray());
        }
    }

    /** Without a conv bias the folded bias is −mean · s + β: −0.5 + 1 and −1 · 0.5 + 0. */
    @Test
    void foldsAConvolutionWithoutBias() {
        try (Tensor w = Tensor.of(new float[] {1, 2, 3, 4}, 2, 1, 1, 2);
                Tensor gamma = Tensor.of(new float[] {2, 0.5f}, 2);
                Tensor beta = Tensor.of(new float[] {1, 0}, 2);
                Tensor mean = Tensor.of(new float[] {0.5f, 1}, 2);
                Tensor variance = Tensor.of(new float[] {3.75f, 0.75f}, 2);
                BatchNormFolding.Folded folded =
                        BatchNormFolding.fold(w, null, gamma, beta, mean, variance, 0.25)) {
            assertArrayEquals(new float[] {0.5f, -0.5f}, folded.bias().toFloatArray());
        }
    }

    /** A 1×1 convolution then the norm, against the folded convolution, on random data. */
    @Test
    void foldedLayerMatchesConvolutionThenNormOnRandomInput() {
        SplittableRandom random = new SplittableRandom(11);
        int out = 8;
        int in = 5;
        float[] w = gaussian(random, out * in);
        float[] b = gaussian(random, out);
        float[] gamma = gaussian(random, out);
        float[] beta = gaussian(random, out);
        float[] mean = gaussian(random, out);
        float[] variance = new float[out];
        for (int c = 0; c < out; c++) {
            variance[c] = (float) (0.1 + random.nextDouble() * 3);
        }
        double eps = 1e-5;
        try (BatchNormFolding.Folded folded = BatchNormFolding.fold(
                Tensor.of(w, out, in, 1, 1), Tensor.of(b, out), Tensor.of(gamma, out),
                Tensor.of(beta, out), Tensor.of(mean, out), Tensor.of(variance, out), eps)) {
            float[] fw = folded.weight().toFloatArray();
            float[] fb = folded.bias().toFloatArray();
            for (int trial = 0; trial < 20; trial++) {
                float[] x = gaussian(random, in);
                for (int c = 0; c < out; c++) {
                    double conv = b[c];
                    double fused = fb[c];
                    for (int k = 0; k < in; k++) {
                        conv += w[c * in + k] * x[k];
                        fused += fw[c * in + k] * x[k];
                    }
                    double normed = (conv - mean[c]) / Math.sqrt(variance[c] + eps) * gamma[c]
                            + beta[c];
                    assertEquals(normed, fused, 1e-5 * (1 + Math.abs(normed)));
                }
            }
        }
    }

    @Test
    void foldsByStateDictPrefixFromAWeightSet(@TempDir Path dir) throws Exception {
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        tensors.put("conv_stem.weight", Tensor.of(new float[] {1, 2, 3, 4}, 2, 1, 1, 2));
        tensors.put("bn1.weight", Tensor.of(new float[] {2, 0.5f}, 2));
        tensors.put("bn1.bias", Tensor.of(new float[] {1, 0}, 2));
        tensors.put("bn1.running_mean", Tensor.of(new float[] {0.5f, 1}, 2));
        tensors.put("bn1.running_var", Tensor.of(new float[] {3.75f, 0.75f}, 2));
        Path file = dir.resolve("stem.safetensors");
        Safetensors.write(file, tensors, Map.of());
        Map<String, long[]> expected = new LinkedHashMap<>();
        tensors.forEach((name, t) -> expected.put(name, t.shape()));
        try (WeightSet weights = WeightSet.open(file, "stem", expected, List.of());
                BatchNormFolding.Folded folded =
                        BatchNormFolding.fold(weights, "conv_stem", "bn1", 0.25)) {
            assertArrayEquals(new float[] {1, 2, 1.5f, 2}, folded.weight().toFloatArray());
            assertArrayEquals(new float[] {0.5f, -0.5f}, folded.bias().toFloatArray());
        }
    }

    /** Conv2d(3, 4, 3) then BatchNorm2d(4, eps=1e-3) in eval mode, as torch computed it. */
    @Test
    void foldedConvolutionReproducesTorchConvThenNorm() throws Exception {
        Path file = Path.of(getClass().getResource("/fixtures/io/bn_fold.safetensors").toURI());
        Map<String, long[]> expected = new LinkedHashMap<>();
        expected.put("conv.weight", new long[] {4, 3, 3, 3});
        expected.put("conv.bias", new long[] {4});
        for (String stat : List.of("weight", "bias", "running_mean", "running_var")) {
            expected.put("bn." + stat, new long[] {4});
        }
        expected.put("x", new long[] {1, 3, 6, 5});
        expected.put("y", new long[] {1, 4, 4, 3});
        try (WeightSet weights = WeightSet.open(file, "conv-bn fixture", expected, List.of());
                BatchNormFolding.Folded folded = BatchNormFolding.fold(weights, "conv", "bn",
                        Double.parseDouble(weights.file().metadata().get("eps")));
                Tensor x = weights.f32("x");
                Tensor y = weights.f32("y")) {
            float[] w = folded.weight().toFloatArray();
            float[] b = folded.bias().toFloatArray();
            float[] input = x.toFloatArray();
            float[] torch = y.toFloatArray();
            for (int co = 0; co < 4; co++) {
                for (int oy = 0; oy < 4; oy++) {
                    for (int ox = 0; ox < 3; ox++) {
                        double sum = b[co];
                        for (int ci = 0; ci < 3; ci++) {
                            for (int ky = 0; ky < 3; ky++) {
                                for (int kx = 0; kx < 3; kx++) {
                                    sum += w[((co * 3 + ci) * 3 + ky) * 3 + kx]
                                            * input[(ci * 6 + oy + ky) * 5 + ox + kx];
                                }
                            }
                        }
                        float want = torch[(co * 4 + oy) * 3 + ox];
                        assertEquals(want, sum, 1e-5 * (1 + Math.abs(want)),
                                "channel " + co + " at (" + oy + ", " + ox + ")");
                    }
                }
            }
        }
    }

    @Test
    void rejectsVectorsOfTheWrongLength() {
        Tensor w = Tensor.of(new float[] {1, 2, 3, 4}, 2, 2);
        Tensor two = Tensor.of(new float[] {1, 1}, 2);
        Tensor three = Tensor.of(new float[] {1, 1, 1}, 3);
        assertThrows(IllegalArgumentException.class,
                () -> BatchNormFolding.fold(w, null, two, two, three, two, 1e-5));
        assertThrows(IllegalArgumentException.class,
                () -> BatchNormFolding.fold(w, null, two, two, two,
                        Tensor.of(new float[] {-1, 1}, 2), 0.5));
    }

    private static float[] gaussian(SplittableRandom random, int n) {
        float[] values = new float[n];
        for (int i = 0; i < n; i++) {
            values[i] = (float) random.nextGaussian();
        }
        return values;
    }
}
