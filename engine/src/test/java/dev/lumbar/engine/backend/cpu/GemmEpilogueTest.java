package dev.lumbar.engine.backend.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.lumbar.engine.backend.Activation;
import dev.lumbar.engine.backend.Conv2dSpec;
import dev.lumbar.engine.backend.cpu.CpuBackend.GemmChoice;
import dev.lumbar.engine.tensor.Tensor;
import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Bias and activation applied by the matrix product's epilogue, block by block, equal the same
 * convolution without them followed by {@code act(y + bias[channel])} on every element. The
 * shapes reach the plain and the transposed Java product (planes narrower than a register
 * tile, down to a single pixel), per-image 1×1 products, and grouped im2col products whose
 * bias starts mid-vector.
 */
class GemmEpilogueTest {

    @ParameterizedTest
    @EnumSource(value = GemmChoice.class, names = {"JAVA", "AUTO"})
    void fusedBiasAndActivationMatchASecondPass(GemmChoice choice) {
        SplittableRandom random = new SplittableRandom(17);
        try (CpuBackend backend = new CpuBackend(2, choice)) {
            Conv2dSpec plain = Conv2dSpec.symmetric(1, 0, 1, 1);
            check(backend, random, new long[] {1, 8, 3, 3}, new long[] {40, 8, 1, 1}, plain,
                    Activation.GELU);
            check(backend, random, new long[] {2, 8, 16, 17}, new long[] {24, 8, 1, 1}, plain,
                    Activation.SILU);
            // one pixel: the transposed product's C has a single column, each row one float
            check(backend, random, new long[] {1, 16, 1, 1}, new long[] {32, 16, 1, 1}, plain,
                    Activation.IDENTITY);
            check(backend, random, new long[] {1, 8, 1, 1}, new long[] {40, 8, 1, 1}, plain,
                    Activation.SILU);
            check(backend, random, new long[] {2, 8, 2, 2}, new long[] {40, 4, 3, 3},
                    Conv2dSpec.symmetric(1, 1, 1, 2), Activation.RELU);
            check(backend, random, new long[] {1, 6, 19, 21}, new long[] {12, 2, 3, 3},
                    Conv2dSpec.symmetric(2, 1, 1, 3), Activation.SIGMOID);
        }
    }

    /**
     * Products large enough to be cut into row and column pieces (a 1×1 convolution of
     * 302 MFLOP), and an image cut into several im2col tiles, equal a plain reference: each
     * piece multiplies and finishes its own block of the output.
     */
    @ParameterizedTest
    @EnumSource(value = GemmChoice.class, names = {"JAVA", "AUTO"})
    void productsCutIntoPiecesMatchTheReference(GemmChoice choice) {
        SplittableRandom random = new SplittableRandom(23);
        try (CpuBackend backend = new CpuBackend(3, choice)) {
            ReferenceBackend reference = new ReferenceBackend();
            compare(backend, reference, random, new long[] {1, 256, 24, 24},
                    new long[] {1024, 256, 1, 1}, Conv2dSpec.symmetric(1, 0, 1, 1));
            compare(backend, reference, random, new long[] {1, 16, 40, 40},
                    new long[] {20, 16, 3, 3}, Conv2dSpec.symmetric(1, 1, 1, 1));
            compare(backend, reference, random, new long[] {2, 6, 41, 39},
                    new long[] {10, 6, 3, 3}, Conv2dSpec.symmetric(2, 1, 1, 1));
        }
    }

    private static void compare(CpuBackend backend, ReferenceBackend reference,
            SplittableRandom random, long[] xShape, long[] wShape, Conv2dSpec spec) {
        try (Tensor x = Reference.random(random, -1, 1, xShape);
                Tensor w = Reference.random(random, -0.5, 0.5, wShape);
                Tensor bias = Reference.random(random, -1, 1, wShape[0]);
                Tensor got = backend.conv2d(x, w, bias, spec, Activation.SILU);
                Tensor want = reference.conv2d(x, w, bias, spec, Activation.SILU)) {
            float[] e = want.toFloatArray();
            double[] expected = new double[e.length];
            for (int i = 0; i < e.length; i++) {
                expected[i] = e[i];
            }
            Reference.assertClose(java.util.Arrays.toString(xShape) + " on " + backend.name(),
                    expected, got.toFloatArray(), 1e-5);
        }
    }

    private static void check(CpuBackend backend, SplittableRandom random, long[] xShape,
            long[] wShape, Conv2dSpec spec, Activation act) {
        try (Tensor x = Reference.random(random, -1, 1, xShape);
                Tensor w = Reference.random(random, -0.5, 0.5, wShape);
                Tensor bias = Reference.random(random, -1, 1, wShape[0]);
                Tensor fused = backend.conv2d(x, w, bias, spec, act);
                Tensor bare = backend.conv2d(x, w, null, spec, Activation.IDENTITY)) {
            float[] sums = bare.toFloatArray();
            float[] b = bias.toFloatArray();
            long plane = bare.dim(2) * bare.dim(3);
            for (int i = 0; i < sums.length; i++) {
                sums[i] += b[(int) ((i / plane) % bare.dim(1))];
            }
            try (Tensor shifted = Tensor.of(sums, bare.shape());
                    Tensor expected = backend.activate(shifted, act)) {
                float[] e = expected.toFloatArray();
                float[] f = fused.toFloatArray();
                for (int i = 0; i < e.length; i++) {
                    assertEquals(e[i], f[i], 1e-6f * (1 + Math.abs(e[i])),
                            act + " at " + i + " of " + java.util.Arrays.toString(xShape));
                }
            }
        }
    }
}
