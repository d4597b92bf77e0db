package dev.lumbar.engine.backend.cpu;

import static dev.lumbar.engine.backend.cpu.Reference.assertClose;
import static dev.lumbar.engine.backend.cpu.Reference.assertElementwise;
import static dev.lumbar.engine.backend.cpu.Reference.random;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lumbar.bindings.OpenBlas;
import dev.lumbar.engine.backend.Activation;
import dev.lumbar.engine.backend.Conv2dSpec;
import dev.lumbar.engine.backend.cpu.CpuBackend.GemmChoice;
import dev.lumbar.engine.tensor.Tensor;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every operation of the CPU backend against a double-precision reference on random data with
 * odd sizes, with the Java and the OpenBLAS matrix product, on one and on two threads.
 */
class CpuBackendTest {

    private static final long SEED = 20261204L;

    static Stream<Arguments> backends() {
        List<Arguments> list = new ArrayList<>();
        for (GemmChoice gemm : new GemmChoice[] {GemmChoice.JAVA, GemmChoice.OPENBLAS}) {
            for (int threads : new int[] {1, 2}) {
                list.add(Arguments.of(gemm, threads));
            }
        }
        return list.stream();
    }

    private static CpuBackend open(GemmChoice gemm, int threads) {
        if (gemm == GemmChoice.OPENBLAS) {
            Assumptions.assumeTrue(OpenBlas.load().isPresent(), "OpenBLAS is not installed");
        }
        return new CpuBackend(threads, gemm);
    }

    private static SplittableRandom seeded(String test) {
        long seed = SEED ^ test.hashCode();
        System.out.println(test + " seed " + seed);
        return new SplittableRandom(seed);
    }

    private static void checkConv(CpuBackend cpu, SplittableRandom random, long[] xShape,
            long[] wShape, boolean withBias, Conv2dSpec spec, Activation act, String what) {
        try (Tensor x = random(random, -1, 1, xShape);
                Tensor w = random(random, -0.5, 0.5, wShape);
                Tensor b = withBias ? random(random, -0.5, 0.5, wShape[0]) : null;
                Tensor y = cpu.conv2d(x, w, b, spec, act)) {
            double[] expected = Reference.conv2d(x.toFloatArray(), xShape, w.toFloatArray(),
                    wShape, b == null ? null : b.toFloatArray(), spec, act);
            assertEquals(spec.outH((int) xShape[2], (int) wShape[2]), y.size(2), what);
            assertEquals(spec.outW((int) xShape[3], (int) wShape[3]), y.size(3), what);
            assertClose(what + " on " + cpu.name(), expected, y.toFloatArray(), 2e-6);
        }
    }

    @ParameterizedTest
    @MethodSource("backends")
    void pointwiseConvolutionMatchesReference(GemmChoice gemm, int threads) {
        SplittableRandom random = seeded("pointwise");
        try (CpuBackend cpu = open(gemm, threads)) {
            checkConv(cpu, random, new long[] {3, 13, 5, 7}, new long[] {37, 13, 1, 1}, true,
                    Conv2dSpec.symmetric(1, 0, 1, 1), Activation.GELU, "1x1 conv");
            checkConv(cpu, random, new long[] {2, 300, 3, 11}, new long[] {101, 300, 1, 1},
                    false, Conv2dSpec.symmetric(1, 0, 1, 1), Activation.IDENTITY,
                    "1x1 conv, K over one block");
            checkConv(cpu, random, new long[] {3, 40, 23, 17}, new long[] {9, 40, 1, 1},
                    true, Conv2dSpec.symmetric(1, 0, 1, 1), Activation.SILU,
                    "1x1 conv, one product per image");
        }
    }

    @ParameterizedTest
    @MethodSource("backends")
    void denseConvolutionsMatchReference(GemmChoice gemm, int threads) {
        SplittableRandom random = seeded("dense");
        try (CpuBackend cpu = open(gemm, threads)) {
            checkConv(cpu, random, new long[] {2, 3, 17, 19}, new long[] {24, 3, 3, 3}, true,
                    new Conv2dSpec(2, 2, 0, 1, 0, 1, 1, 1, 1), Activation.SILU,
                    "3x3 stride 2, TF same padding");
            checkConv(cpu, random, new long[] {2, 3, 16, 20}, new long[] {8, 3, 4, 4}, true,
                    Conv2dSpec.symmetric(4, 0, 1, 1), Activation.IDENTITY, "4x4 stride 4 stem");
            checkConv(cpu, random, new long[] {1, 6, 11, 9}, new long[] {4, 3, 3, 3}, true,
                    new Conv2dSpec(1, 1, 2, 2, 1, 2, 2, 2, 2), Activation.RELU,
                    "dilated grouped");
            checkConv(cpu, random, new long[] {2, 5, 8, 8}, new long[] {7, 5, 2, 2}, false,
                    Conv2dSpec.symmetric(2, 0, 1, 1), Activation.TANH, "2x2 stride 2");
            checkConv(cpu, random, new long[] {1, 8, 9, 9}, new long[] {16, 1, 3, 3}, true,
                    Conv2dSpec.symmetric(1, 1, 1, 8), Activation.IDENTITY,
                    "depthwise with channel multiplier");
            checkConv(cpu, random, new long[] {2, 10, 7, 7}, new long[] {6, 10, 1, 1}, true,
                    Conv2dSpec.symmetric(2, 0, 1, 1), Activation.SIGMOID, "1x1 stride 2");
        }
    }

    @ParameterizedTest
    @MethodSource("backends")
    void depthwiseConvolutionsMatchReference(GemmChoice gemm, int threads) {
        SplittableRandom random = seeded("depthwise");
        try (CpuBackend cpu = open(gemm, threads)) {
            checkConv(cpu, random, new long[] {2, 5, 13, 19}, new long[] {5, 1, 7, 7}, true,
                    Conv2dSpec.symmetric(1, 3, 1, 5), Activation.IDENTITY, "depthwise 7x7");
            // ConvNeXt's kernel over rows wider than a vector: four rows at a time (three rows
            // of two vectors with 8 lanes), then the rows left over one by one, the last
            // vector of a row partly past its end, or wholly
            checkConv(cpu, random, new long[] {2, 4, 8, 33}, new long[] {4, 1, 7, 7}, true,
                    Conv2dSpec.symmetric(1, 3, 1, 4), Activation.GELU,
                    "depthwise 7x7, four-row blocks, rows of three vectors");
            // a row's last pass of two vectors with the second partly past the row's end
            checkConv(cpu, random, new long[] {1, 3, 10, 28}, new long[] {3, 1, 7, 7}, true,
                    Conv2dSpec.symmetric(1, 3, 1, 3), Activation.IDENTITY,
                    "depthwise 7x7, rows of three and a half vectors");
            checkConv(cpu, random, new long[] {1, 3, 11, 56}, new long[] {3, 1, 7, 7}, true,
                    new Conv2dSpec(1, 1, 2, 4, 1, 5, 1, 1, 3), Activation.SILU,
                    "depthwise 7x7, uneven padding, three rows left over");
            checkConv(cpu, random, new long[] {2, 3, 15, 17}, new long[] {3, 1, 5, 5}, true,
                    new Conv2dSpec(2, 2, 1, 2, 1, 2, 1, 1, 3), Activation.SILU,
                    "depthwise 5x5 stride 2, TF same padding");
            checkConv(cpu, random, new long[] {1, 4, 12, 33}, new long[] {4, 1, 3, 3}, false,
                    Conv2dSpec.symmetric(1, 2, 2, 4), Activation.GELU, "depthwise 3x3 dilated");
            checkConv(cpu, random, new long[] {1, 2, 9, 10}, new long[] {2, 1, 3, 3}, true,
                    new Conv2dSpec(2, 1, 0, 2, 1, 0, 1, 1, 2), Activation.RELU,
                    "depthwise 3x3 stride (2, 1)");
            checkConv(cpu, random, new long[] {2, 3, 8, 41}, new long[] {3, 1, 3, 3}, true,
                    new Conv2dSpec(1, 3, 1, 1, 2, 1, 1, 2, 3), Activation.GELU,
                    "depthwise 3x3 stride (1, 3) dilation (1, 2)");
        }
    }

    @ParameterizedTest
    @MethodSource("backends")
    void smallDepthwiseKernelsMatchReference(GemmChoice gemm, int threads) {
        SplittableRandom random = seeded("small depthwise");
        try (CpuBackend cpu = open(gemm, threads)) {
            // TF 'same' with stride 2 pads one more at the end on even sizes, evenly on odd
            checkConv(cpu, random, new long[] {2, 6, 33, 67}, new long[] {6, 1, 3, 3}, true,
                    new Conv2dSpec(2, 2, 1, 1, 1, 1, 1, 1, 6), Activation.SILU,
                    "depthwise 3x3 stride 2, rows wider than two vectors");
            checkConv(cpu, random, new long[] {3, 40, 8, 8}, new long[] {40, 1, 3, 3}, true,
                    new Conv2dSpec(2, 2, 0, 1, 0, 1, 1, 1, 40), Activation.GELU,
                    "depthwise 3x3 stride 2 on 8x8, many planes to a chunk");
            checkConv(cpu, random, new long[] {2, 7, 11, 13}, new long[] {7, 1, 5, 5}, true,
                    new Conv2dSpec(2, 2, 1, 2, 2, 2, 1, 1, 7), Activation.SIGMOID,
                    "depthwise 5x5 stride 2, odd sizes, uneven padding");
            checkConv(cpu, random, new long[] {5, 300, 4, 4}, new long[] {300, 1, 3, 3}, false,
                    Conv2dSpec.symmetric(1, 1, 1, 300), Activation.SILU,
                    "depthwise 3x3 on 4x4 planes");
            checkConv(cpu, random, new long[] {1, 3, 5, 37}, new long[] {3, 1, 5, 5}, true,
                    Conv2dSpec.symmetric(1, 2, 1, 3), Activation.IDENTITY,
                    "depthwise 5x5, a row of two vectors and a tail");
            checkConv(cpu, random, new long[] {2, 4, 3, 3}, new long[] {4, 1, 3, 3}, true,
                    new Conv2dSpec(2, 2, 1, 1, 1, 1, 1, 1, 4), Activation.RELU,
                    "depthwise 3x3 stride 2 on 3x3");
            // rows of at most eight pixels, stride 1: a whole output row in registers
            checkConv(cpu, random, new long[] {3, 20, 8, 8}, new long[] {20, 1, 7, 7}, true,
                    Conv2dSpec.symmetric(1, 3, 1, 20), Activation.GELU,
                    "depthwise 7x7 on 8x8, a partial block of channels");
            checkConv(cpu, random, new long[] {2, 17, 5, 6}, new long[] {17, 1, 3, 3}, false,
                    Conv2dSpec.symmetric(1, 2, 2, 17), Activation.IDENTITY,
                    "depthwise 3x3 dilation 2 on 5x6");
            checkConv(cpu, random, new long[] {2, 9, 6, 7}, new long[] {9, 1, 5, 4}, true,
                    new Conv2dSpec(1, 1, 1, 3, 2, 0, 1, 1, 9), Activation.SILU,
                    "depthwise 5x4, uneven padding, on 6x7");
        }
    }

    @ParameterizedTest
    @MethodSource("backends")
    void gatedConvolutionEqualsScalingThenConvolvingBitForBit(GemmChoice gemm, int threads) {
        SplittableRandom random = seeded("gated conv");
        try (CpuBackend cpu = open(gemm, threads)) {
            // small planes of several images fold the gate into the packing of their pixels;
            // one image or a large plane scale first
            for (long[] shape : new long[][] {{5, 37, 4, 4}, {3, 20, 8, 9}, {1, 37, 4, 4},
                    {2, 9, 17, 17}}) {
                int n = (int) shape[0], c = (int) shape[1];
                try (Tensor x = random(random, -1, 1, shape);
                        Tensor gate = random(random, 0, 1, n, c);
                        Tensor w = random(random, -0.3, 0.3, 11, c, 1, 1);
                        Tensor b = random(random, -0.3, 0.3, 11);
                        Tensor gated = cpu.gatedConv2d(x, gate, w, b,
                                Conv2dSpec.symmetric(1, 0, 1, 1), Activation.SILU);
                        Tensor scaled = cpu.scaleChannels(x, gate, null);
                        Tensor expected = cpu.conv2d(scaled, w, b,
                                Conv2dSpec.symmetric(1, 0, 1, 1), Activation.SILU)) {
                    assertEquals(java.util.Arrays.toString(expected.shape()),
                            java.util.Arrays.toString(gated.shape()));
                    float[] want = expected.toFloatArray();
                    float[] got = gated.toFloatArray();
                    for (int i = 0; i < want.length; i++) {
                        assertEquals(Float.floatToRawIntBits(want[i]),
                                Float.floatToRawIntBits(got[i]), java.util.Arrays.toString(shape)
                                        + " element " + i + ": " + got[i] + " vs " + want[i]);
                    }
                }
            }
            try (Tensor x = random(random, -1, 1, 2, 5, 4, 4);
                    Tensor wrongGate = random(random, 0, 1, 2, 4);
                    Tensor w = random(random, -0.3, 0.3, 3, 5, 1, 1)) {
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                        () -> cpu.gatedConv2d(x, wrongGate, w, null,
                                Conv2dSpec.symmetric(1, 0, 1, 1), Activation.IDENTITY));
                assertTrue(e.getMessage().contains("gate [2, 4]"), e.getMessage());
            }
        }
    }

    @ParameterizedTest
    @MethodSource("backends")
    void channelMlpEqualsItsSeparateSteps(GemmChoice gemm, int threads) {
        SplittableRandom random = seeded("channel mlp");
        Conv2dSpec pointwise = Conv2dSpec.symmetric(1, 0, 1, 1);
        try (CpuBackend cpu = open(gemm, threads)) {
            // small planes of several images: the separate 1×1 convolutions run the fused
            // path's own sums, so the bits agree; one image or a large plane take the general
            // product for the separate steps, whose sums are ordered otherwise
            for (long[] shape : new long[][] {{5, 12, 4, 4}, {3, 20, 7, 9}, {1, 12, 4, 4},
                    {2, 9, 17, 17}}) {
                int n = (int) shape[0], c = (int) shape[1];
                for (int variant = 0; variant < 3; variant++) {
                    boolean withScale = variant != 1;
                    boolean withResidual = variant != 2;
                    try (Tensor x = random(random, -1, 1, shape);
                            Tensor w1 = random(random, -0.3, 0.3, 4 * c, c, 1, 1);
                            Tensor b1 = random(random, -0.3, 0.3, 4 * c);
                            Tensor w2 = random(random, -0.3, 0.3, 7, 4 * c, 1, 1);
                            Tensor b2 = random(random, -0.3, 0.3, 7);
                            Tensor scale = random(random, -1, 1, 7);
                            Tensor residual = random(random, -1, 1, n, 7, shape[2], shape[3]);
                            Tensor fused = cpu.channelMlp(x, w1, b1, Activation.GELU, w2, b2,
                                    withScale ? scale : null, withResidual ? residual : null);
                            Tensor hidden = cpu.conv2d(x, w1, b1, pointwise, Activation.GELU);
                            Tensor projected = cpu.conv2d(hidden, w2, b2, pointwise,
                                    Activation.IDENTITY);
                            Tensor expected = withScale
                                    ? cpu.scaleChannels(projected, scale,
                                            withResidual ? residual : null)
                                    : cpu.add(projected, residual)) {
                        float[] want = expected.toFloatArray();
                        float[] got = fused.toFloatArray();
                        assertEquals(want.length, got.length);
                        boolean sameSums = n > 1 && shape[2] * shape[3] < 256;
                        for (int i = 0; i < want.length; i++) {
                            if (!sameSums) {
                                assertEquals(want[i], got[i], 1e-5 * (1 + Math.abs(want[i])),
                                        java.util.Arrays.toString(shape) + " element " + i);
                                continue;
                            }
                            assertEquals(Float.floatToRawIntBits(want[i]),
                                    Float.floatToRawIntBits(got[i]),
                                    java.util.Arrays.toString(shape) + " variant " + variant
                                            + " element " + i + ": " + got[i] + " vs " + want[i]);
                        }
                    }
                }
            }
            try (Tensor x = random(random, -1, 1, 2, 5, 4, 4);
                    Tensor w1 = random(random, -0.3, 0.3, 20, 5, 1, 1);
                    Tensor w2 = random(random, -0.3, 0.3, 5, 19, 1, 1)) {
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                        () -> cpu.channelMlp(x, w1, null, Activation.GELU, w2, null, null, null));
                assertTrue(e.getMessage().contains("does not take 20 channels"), e.getMessage());
            }
        }
    }

    @ParameterizedTest
    @MethodSource("backends")
    void linearAndMatmulMatchReference(GemmChoice gemm, int threads) {
        SplittableRandom random = seeded("linear");
        try (CpuBackend cpu = open(gemm, threads);
                Tensor x = random(random, -1, 1, 3, 7, 45);
                Tensor w = random(random, -0.3, 0.3, 19, 45);
                Tensor b = random(random, -0.3, 0.3, 19);
                Tensor y = cpu.linear(x, w, b, Activation.SILU);
                Tensor plain = cpu.linear(x, w, null, Activation.IDENTITY)) {
            assertEquals(List.of(3L, 7L, 19L), List.of(y.dim(0), y.dim(1), y.dim(2)));
            float[] xs = x.toFloatArray(), ws = w.toFloatArray(), bs = b.toFloatArray();
            double[] expected = new double[21 * 19];
            double[] expectedPlain = new double[21 * 19];
            for (int r = 0; r < 21; r++) {
                for (int o = 0; o < 19; o++) {
                    double acc = 0;
                    for (int i = 0; i < 45; i++) {
                        acc += (double) xs[r * 45 + i] * ws[o * 45 + i];
                    }
                    expectedPlain[r * 19 + o] = acc;
                    expected[r * 19 + o] = Reference.activate(acc + bs[o], Activation.SILU);
                }
            }
            assertClose("linear", expected, y.toFloatArray(), 2e-6);
            assertClose("linear without bias", expectedPlain, plain.toFloatArray(), 2e-6);
        }
        try (CpuBackend cpu = open(gemm, threads)) {
            int[][] shapes = {{2, 5, 3, 7}, {3, 101, 300, 70}, {1, 1, 1, 1}, {2, 97, 33, 263}};
            for (int[] s : shapes) {
                int batch = s[0], m = s[1], k = s[2], n = s[3];
                try (Tensor a = random(random, -1, 1, batch, m, k);
                        Tensor bm = random(random, -1, 1, batch, k, n);
                        Tensor y = cpu.matmul(a, bm)) {
                    float[] as = a.toFloatArray(), bs = bm.toFloatArray();
                    double[] expected = new double[batch * m * n];
                    for (int i = 0; i < batch; i++) {
                        double[] one = Reference.matmul(
                                java.util.Arrays.copyOfRange(as, i * m * k, (i + 1) * m * k),
                                java.util.Arrays.copyOfRange(bs, i * k * n, (i + 1) * k * n),
                                m, k, n);
                        System.arraycopy(one, 0, expected, i * m * n, m * n);
                    }
                    assertClose("matmul " + java.util.Arrays.toString(s), expected,
                            y.toFloatArray(), 2e-6);
                }
            }
        }
    }

    @ParameterizedTest
    @MethodSource("backends")
    void gemmHandlesTranspositionsAndAccumulation(GemmChoice choice, int threads) {
        SplittableRandom random = seeded("gemm");
        try (CpuBackend cpu = open(choice, threads);
                WorkerPool pool = new WorkerPool(threads)) {
            Gemm gemm = choice == GemmChoice.JAVA ? new JavaGemm(pool)
                    : new OpenBlasGemm(OpenBlas.load().orElseThrow(), pool);
            // a wide product over two depth blocks, and a narrow one that runs transposed
            checkGemm(gemm, random, 29, 71, 263, cpu.name());
            checkGemm(gemm, random, 45, 13, 70, cpu.name());
        }
    }

    private static void checkGemm(Gemm gemm, SplittableRandom random, int m, int n, int k,
            String name) {
        for (boolean transA : new boolean[] {false, true}) {
            for (boolean transB : new boolean[] {false, true}) {
                try (Tensor a = random(random, -1, 1, m * k);
                        Tensor b = random(random, -1, 1, k * n);
                        Tensor c = random(random, -1, 1, m * n)) {
                    float[] as = a.toFloatArray(), bs = b.toFloatArray();
                    float[] old = c.toFloatArray();
                    gemm.multiply(1, m, n, k, a.segment(), 0, 0, transA ? m : k, transA,
                            b.segment(), 0, 0, transB ? k : n, transB,
                            c.segment(), 0, 0, n, true);
                    double[] expected = new double[m * n];
                    for (int i = 0; i < m; i++) {
                        for (int j = 0; j < n; j++) {
                            double acc = old[i * n + j];
                            for (int p = 0; p < k; p++) {
                                acc += (double) (transA ? as[p * m + i] : as[i * k + p])
                                        * (transB ? bs[j * k + p] : bs[p * n + j]);
                            }
                            expected[i * n + j] = acc;
                        }
                    }
                    assertClose("gemm " + m + "x" + n + "x" + k + " transA=" + transA
                            + " transB=" + transB + " on " + name, expected, c.toFloatArray(),
                            2e-6);
                }
            }
        }
    }

    @ParameterizedTest
    @MethodSource("backends")
    void layerNormsMatchReference(GemmChoice gemm, int threads) {
        SplittableRandom random = seeded("layernorm");
        try (CpuBackend cpu = open(gemm, threads);
                // a large common offset: a one-pass variance would lose every digit here
                Tensor x = random(random, 999, 1001, 2, 37, 5, 7);
                Tensor gamma = random(random, 0.5, 1.5, 37);
                Tensor beta = random(random, -0.5, 0.5, 37);
                Tensor y = cpu.layerNormChannels(x, gamma, beta, 1e-6f);
                Tensor rows = random(random, -997, -995, 6, 3, 101);
                Tensor g2 = random(random, 0.5, 1.5, 101);
                Tensor b2 = random(random, -0.5, 0.5, 101);
                Tensor z = cpu.layerNormLastDim(rows, g2, b2, 1e-5f)) {
            float[] xs = x.toFloatArray(), gs = gamma.toFloatArray(), bs = beta.toFloatArray();
            double[] expected = new double[xs.length];
            int plane = 35;
            for (int n = 0; n < 2; n++) {
                for (int p = 0; p < plane; p++) {
                    double mean = 0, var = 0;
                    for (int c = 0; c < 37; c++) {
                        mean += xs[(n * 37 + c) * plane + p];
                    }
                    mean /= 37;
                    for (int c = 0; c < 37; c++) {
                        double d = xs[(n * 37 + c) * plane + p] - mean;
                        var += d * d;
                    }
                    var /= 37;
                    for (int c = 0; c < 37; c++) {
                        int i = (n * 37 + c) * plane + p;
                        expected[i] = (xs[i] - mean) / Math.sqrt(var + 1e-6) * gs[c] + bs[c];
                    }
                }
            }
            assertClose("layerNormChannels", expected, y.toFloatArray(), 2e-6);

            float[] rs = rows.toFloatArray(), g2s = g2.toFloatArray(), b2s = b2.toFloatArray();
            double[] expectedRows = new double[rs.length];
            for (int r = 0; r < 18; r++) {
                double mean = 0, var = 0;
                for (int i = 0; i < 101; i++) {
                    mean += rs[r * 101 + i];
                }
                mean /= 101;
                for (int i = 0; i < 101; i++) {
                    double d = rs[r * 101 + i] - mean;
                    var += d * d;
                }
                var /= 101;
                for (int i = 0; i < 101; i++) {
                    expectedRows[r * 101 + i] = (rs[r * 101 + i] - mean) / Math.sqrt(var + 1e-5)
                            * g2s[i] + b2s[i];
                }
            }
            assertClose("layerNormLastDim", expectedRows, z.toFloatArray(), 2e-6);
        }
    }

    @ParameterizedTest
    @MethodSource("backends")
    void activationsMatchReferenceElementwise(GemmChoice gemm, int threads) {
        SplittableRandom random = seeded("activations");
        int n = 4099;
        float[] values = new float[n];
        for (int i = 0; i < n; i++) {
            // dense near zero, and out into both tails
            values[i] = i < 2000 ? (float) (-12 + 24.0 * i / 1999)
                    : (float) (random.nextGaussian() * (i % 3 == 0 ? 0.3 : 4));
        }
        try (CpuBackend cpu = open(gemm, threads); Tensor x = Tensor.of(values, n)) {
            for (Activation act : Activation.values()) {
                try (Tensor y = cpu.activate(x, act)) {
                    double[] expected = new double[n];
                    for (int i = 0; i < n; i++) {
                        expected[i] = Reference.activate(values[i], act);
                    }
                    // within a few float32 ulps of the double result, relative to the value
                    assertElementwise(act.name(), expected, y.toFloatArray(), 1e-6, 1e-30);
                }
            }
        }
    }

    @Test
    void aPoolSizeThatIsNotBytesIsRefusedByName() {
        for (String bad : new String[] {"abc", "-1"}) {
            try {
                System.setProperty(CpuBackend.POOL_PROPERTY, bad);
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                        () -> new CpuBackend(1).close());
                assertTrue(e.getMessage().contains(CpuBackend.POOL_PROPERTY), e.getMessage());
            } finally {
                System.clearProperty(CpuBackend.POOL_PROPERTY);
            }
        }
        try {
            System.setProperty(CpuBackend.POOL_PROPERTY, " 0 ");
            new CpuBackend(1).close();
        } finally {
            System.clearProperty(CpuBackend.POOL_PROPERTY);
        }
    }

    @Test
    void geluIsAccurateInTheNegativeTail() {
        float[] values = {-1e-6f, -0.5f, -0.99f, -0.9899495f, -1.5f, -3f, -5.5f, -8f, -11.9f};
        try (CpuBackend cpu = new CpuBackend(1, GemmChoice.JAVA);
                Tensor x = Tensor.of(values, values.length);
                Tensor y = cpu.activate(x, Activation.GELU)) {
            double[] expected = new double[values.length];
            for (int i = 0; i < values.length; i++) {
                expected[i] = Reference.activate(values[i], Activation.GELU);
            }
            assertElementwise("GELU tail", expected, y.toFloatArray(), 5e-7, 1e-37);
        }
        // below −12.5 the result is zero rather than a value under 5e-35 reached through
        // subnormal arithmetic; just above it, still accurate
        float[] deep = {-12.4f, -12.6f, -13.5f, -40f};
        try (CpuBackend cpu = new CpuBackend(1, GemmChoice.JAVA);
                Tensor x = Tensor.of(deep, deep.length);
                Tensor y = cpu.activate(x, Activation.GELU)) {
            float[] got = y.toFloatArray();
            double expected = Reference.activate(-12.4f, Activation.GELU);
            assertEquals(expected, got[0], 5e-7 * Math.abs(expected), "GELU(-12.4)");
            for (int i = 1; i < deep.length; i++) {
                assertEquals(0f, Math.abs(got[i]), "GELU(" + deep[i] + ")");
            }
        }
    }

    @ParameterizedTest
    @MethodSource("backends")
    void addScaleAndSqueezeExciteMatchReference(GemmChoice gemm, int threads) {
        SplittableRandom random = seeded("scale");
        int n = 3, c = 11, h = 5, w = 7, plane = h * w, reduced = 4;
        try (CpuBackend cpu = open(gemm, threads);
                Tensor x = random(random, -2, 2, n, c, h, w);
                Tensor other = random(random, -2, 2, n, c, h, w);
                Tensor gamma = random(random, -1, 1, c);
                Tensor gate = random(random, 0, 1, n, c);
                Tensor sum = cpu.add(x, other);
                Tensor layerScaled = cpu.scaleChannels(x, gamma, other);
                Tensor gated = cpu.scaleChannels(x, gate, null);
                Tensor rw = random(random, -0.5, 0.5, reduced, c, 1, 1);
                Tensor rb = random(random, -0.5, 0.5, reduced);
                Tensor ew = random(random, -0.5, 0.5, c, reduced, 1, 1);
                Tensor eb = random(random, -0.5, 0.5, c);
                Tensor se = cpu.squeezeExcite(x, rw, rb, ew, eb, Activation.SILU)) {
            float[] xs = x.toFloatArray(), os = other.toFloatArray();
            float[] gs = gamma.toFloatArray(), ts = gate.toFloatArray();
            float[] rws = rw.toFloatArray(), rbs = rb.toFloatArray();
            float[] ews = ew.toFloatArray(), ebs = eb.toFloatArray();
            double[] eSum = new double[xs.length], eScaled = new double[xs.length];
            double[] eGated = new double[xs.length], eSe = new double[xs.length];
            double[] gates = Reference.squeezeExciteGate(xs, n, c, plane, rws, rbs, ews, ebs,
                    reduced, Activation.SILU);
            for (int b = 0; b < n; b++) {
                for (int ch = 0; ch < c; ch++) {
                    double g = gates[b * c + ch];
                    for (int p = 0; p < plane; p++) {
                        int i = (b * c + ch) * plane + p;
                        eSum[i] = (double) xs[i] + os[i];
                        eScaled[i] = (double) xs[i] * gs[ch] + os[i];
                        eGated[i] = (double) xs[i] * ts[b * c + ch];
                        eSe[i] = xs[i] * g;
                    }
                }
            }
            assertClose("add", eSum, sum.toFloatArray(), 1e-7);
            assertClose("layer scale + residual", eScaled, layerScaled.toFloatArray(), 1e-7);
            assertClose("gate per image", eGated, gated.toFloatArray(), 1e-7);
            assertClose("squeezeExcite", eSe, se.toFloatArray(), 2e-6);
        }
    }

    /**
     * Average pools over small planes, which are summed 16 planes at a time: of whole
     * vectors (4×4, 8×8, 4×12 and 16×16) and not (7×7, 14×14, 3×3, 1×1), with a count of
     * planes that leaves some over.
     */
    @ParameterizedTest
    @MethodSource("backends")
    void averagePoolOverSmallPlanesMatchesReference(GemmChoice gemm, int threads) {
        SplittableRandom random = seeded("small pools");
        long[][] shapes = {{3, 37, 4, 4}, {2, 20, 8, 8}, {2, 17, 4, 12}, {1, 16, 16, 16},
            {1, 5, 4, 4}, {2, 23, 7, 7}, {1, 33, 14, 14}, {1, 16, 3, 3}, {2, 16, 1, 1}};
        try (CpuBackend cpu = open(gemm, threads)) {
            for (long[] shape : shapes) {
                try (Tensor x = random(random, -3, 3, shape);
                        Tensor avg = cpu.globalAvgPool(x)) {
                    float[] xs = x.toFloatArray();
                    int plane = (int) (shape[2] * shape[3]);
                    double[] expected = new double[(int) (shape[0] * shape[1])];
                    for (int p = 0; p < expected.length; p++) {
                        double s = 0;
                        for (int i = 0; i < plane; i++) {
                            s += xs[p * plane + i];
                        }
                        expected[p] = s / plane;
                    }
                    assertClose("globalAvgPool " + Arrays.toString(shape), expected,
                            avg.toFloatArray(), 1e-6);
                }
            }
        }
    }

    @ParameterizedTest
    @MethodSource("backends")
    void poolingAndSoftmaxMatchReference(GemmChoice gemm, int threads) {
        SplittableRandom random = seeded("pool");
        try (CpuBackend cpu = open(gemm, threads);
                Tensor x = random(random, -3, 3, 2, 9, 13, 11);
                Tensor avg = cpu.globalAvgPool(x);
                Tensor max = cpu.globalMaxPool(x);
                Tensor logits = random(random, -30, 30, 4, 3, 37);
                Tensor soft = cpu.softmax(logits)) {
            float[] xs = x.toFloatArray();
            int plane = 13 * 11;
            double[] eAvg = new double[18], eMax = new double[18];
            for (int p = 0; p < 18; p++) {
                double s = 0, m = Double.NEGATIVE_INFINITY;
                for (int i = 0; i < plane; i++) {
                    s += xs[p * plane + i];
                    m = Math.max(m, xs[p * plane + i]);
                }
                eAvg[p] = s / plane;
                eMax[p] = m;
            }
            assertClose("globalAvgPool", eAvg, avg.toFloatArray(), 1e-6);
            assertClose("globalMaxPool", eMax, max.toFloatArray(), 0);

            float[] ls = logits.toFloatArray();
            double[] eSoft = new double[ls.length];
            for (int r = 0; r < 12; r++) {
                double m = Double.NEGATIVE_INFINITY, s = 0;
                for (int i = 0; i < 37; i++) {
                    m = Math.max(m, ls[r * 37 + i]);
                }
                for (int i = 0; i < 37; i++) {
                    s += Math.exp(ls[r * 37 + i] - m);
                }
                for (int i = 0; i < 37; i++) {
                    eSoft[r * 37 + i] = Math.exp(ls[r * 37 + i] - m) / s;
                }
            }
            assertElementwise("softmax", eSoft, soft.toFloatArray(), 2e-6, 1e-30);
        }
    }

    @Test
    void nameSaysWhichMatrixProductRuns() {
        try (CpuBackend cpu = new CpuBackend(2, GemmChoice.JAVA)) {
            assertTrue(cpu.name().startsWith("cpu (Java GEMM"), cpu.name());
            assertTrue(cpu.name().endsWith("2 threads)"), cpu.name());
        }
        Assumptions.assumeTrue(OpenBlas.load().isPresent(), "OpenBLAS is not installed");
        try (CpuBackend cpu = new CpuBackend(1, GemmChoice.OPENBLAS)) {
            assertTrue(cpu.name().matches("cpu \\(OpenBLAS [0-9.]+, 1 thread\\)"), cpu.name());
        }
    }

    @Test
    void rejectsMismatchedShapesNamingThem() {
        try (CpuBackend cpu = new CpuBackend(1, GemmChoice.JAVA);
                Tensor x = Tensor.zeros(1, 4, 5, 5);
                Tensor w = Tensor.zeros(8, 3, 3, 3)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> cpu.conv2d(x, w, null, Conv2dSpec.symmetric(1, 1, 1, 1),
                            Activation.IDENTITY));
            assertTrue(e.getMessage().contains("[8, 3, 3, 3]"), e.getMessage());
        }
    }
}
