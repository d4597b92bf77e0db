package dev.lumbar.engine.backend.cpu;

import static dev.lumbar.engine.backend.cpu.Reference.assertClose;
import static dev.lumbar.engine.backend.cpu.Reference.random;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lumbar.engine.backend.Activation;
import dev.lumbar.engine.backend.Conv2dSpec;
import dev.lumbar.engine.backend.cpu.CpuBackend.GemmChoice;
import dev.lumbar.engine.tensor.Tensor;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The convolution and product kernels at the edges of their paths: depthwise planes narrow
 * enough for the channel-blocked kernel with channel counts that leave a partial vector,
 * im2col with one image and many channels (the narrowest tile), grouped and stride-3
 * convolutions, gated convolutions that cannot fold the gate, and products cut into pieces
 * with a transposed operand or fewer than 16 rows. Each against the double-precision
 * reference, on three threads so that the tasks really run in parallel.
 */
class EdgeShapesTest {

    private static final Conv2dSpec PLAIN = Conv2dSpec.symmetric(1, 0, 1, 1);

    private static void conv(CpuBackend cpu, SplittableRandom random, long[] xShape,
            long[] wShape, Conv2dSpec spec, Activation act) {
        String what = Arrays.toString(xShape) + " * " + Arrays.toString(wShape) + " " + spec;
        if (spec.outH((int) xShape[2], (int) wShape[2]) <= 0
                || spec.outW((int) xShape[3], (int) wShape[3]) <= 0) {
            // the kernel does not fit the padded input: rejected (checked below)
            return;
        }
        try (Tensor x = random(random, -1, 1, xShape);
                Tensor w = random(random, -0.5, 0.5, wShape);
                Tensor b = random(random, -0.5, 0.5, wShape[0]);
                Tensor y = cpu.conv2d(x, w, b, spec, act)) {
            double[] expected = Reference.conv2d(x.toFloatArray(), xShape, w.toFloatArray(),
                    wShape, b.toFloatArray(), spec, act);
            assertEquals(spec.outH((int) xShape[2], (int) wShape[2]), y.size(2), what);
            assertEquals(spec.outW((int) xShape[3], (int) wShape[3]), y.size(3), what);
            assertClose(what + " on " + cpu.name(), expected, y.toFloatArray(), 2e-6);
        }
    }

    private static Conv2dSpec spec(int sh, int sw, int top, int bottom, int left, int right,
            int dh, int dw, int groups) {
        return new Conv2dSpec(sh, sw, top, bottom, left, right, dh, dw, groups);
    }

    @ParameterizedTest
    @EnumSource(value = GemmChoice.class, names = {"JAVA", "AUTO"})
    void channelBlockedDepthwise(GemmChoice gemm) {
        SplittableRandom random = new SplittableRandom(41);
        try (CpuBackend cpu = new CpuBackend(3, gemm)) {
            for (int c : new int[] {1, 15, 17, 33}) {
                for (int[] plane : new int[][] {{1, 1}, {2, 3}, {8, 1}, {3, 8}, {11, 4}}) {
                    long[] x = {c % 2 == 0 ? 1 : 2, c, plane[0], plane[1]};
                    conv(cpu, random, x, new long[] {c, 1, 3, 3},
                            Conv2dSpec.symmetric(1, 1, 1, c), Activation.SILU);
                    conv(cpu, random, x, new long[] {c, 1, 3, 3},
                            spec(2, 2, 0, 1, 1, 0, 1, 1, c), Activation.RELU);
                    conv(cpu, random, x, new long[] {c, 1, 5, 5},
                            Conv2dSpec.symmetric(1, 2, 1, c), Activation.IDENTITY);
                    conv(cpu, random, x, new long[] {c, 1, 7, 7},
                            Conv2dSpec.symmetric(2, 3, 1, c), Activation.GELU);
                    conv(cpu, random, x, new long[] {c, 1, 3, 3},
                            spec(1, 1, 2, 2, 2, 2, 2, 2, c), Activation.SIGMOID);
                    conv(cpu, random, x, new long[] {c, 1, 3, 5},
                            spec(1, 2, 0, 3, 4, 1, 2, 1, c), Activation.TANH);
                }
            }
            // rows of at most half a vector from a wide input: a large horizontal stride
            conv(cpu, random, new long[] {1, 19, 5, 40}, new long[] {19, 1, 3, 3},
                    spec(1, 5, 1, 1, 1, 1, 1, 1, 19), Activation.SILU);
            // a tall, narrow plane
            conv(cpu, random, new long[] {3, 17, 70, 6}, new long[] {17, 1, 5, 5},
                    Conv2dSpec.symmetric(1, 2, 1, 17), Activation.SILU);
        }
    }

    /**
     * A kernel taller or wider than the padded input leaves no output, even where a stride
     * above 1 would round the negative span up to zero: PyTorch rejects such a convolution,
     * and the kernels would read past the padded plane.
     */
    @ParameterizedTest
    @EnumSource(value = GemmChoice.class, names = {"JAVA", "AUTO"})
    void kernelLargerThanThePaddedInputIsRejected(GemmChoice gemm) {
        // padded to 2 rows (and 2 columns) for a 3-row kernel, stride 2: (2 - 3) / 2 + 1
        Conv2dSpec spec = spec(2, 2, 0, 1, 1, 0, 1, 1, 1);
        assertEquals(0, spec.outH(1, 3));
        assertEquals(0, spec.outW(1, 3));
        assertEquals(1, spec.outH(2, 3));
        try (CpuBackend cpu = new CpuBackend(2, gemm)) {
            for (long[][] shapes : new long[][][] {
                    {{1, 3, 1, 1}, {3, 1, 3, 3}}, // depthwise, channel-blocked
                    {{1, 3, 1, 30}, {3, 1, 3, 3}}, // depthwise, row-wise
                    {{1, 2, 1, 1}, {5, 2, 3, 3}}, // im2col
                    {{2, 3, 8, 1}, {4, 3, 1, 3}}}) { // im2col, too narrow only
                long[] xShape = shapes[0];
                long[] wShape = shapes[1];
                Conv2dSpec s = spec(2, 2, 0, 1, 1, 0, 1, 1,
                        wShape[1] == 1 ? (int) xShape[1] : 1);
                try (Tensor x = Tensor.zeros(xShape); Tensor w = Tensor.zeros(wShape)) {
                    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                            () -> cpu.conv2d(x, w, null, s, Activation.IDENTITY).close(),
                            Arrays.toString(xShape) + " * " + Arrays.toString(wShape));
                    assertTrue(e.getMessage().contains("leaves no output"), e.getMessage());
                }
            }
        }
    }

    /**
     * A product over an empty inner dimension is all zeros (plus the bias, for a linear layer),
     * written over whatever a reused output buffer held.
     */
    @ParameterizedTest
    @EnumSource(value = GemmChoice.class, names = {"JAVA", "AUTO"})
    void productsWithNoInnerDimensionWriteTheirWholeOutput(GemmChoice gemm) {
        SplittableRandom random = new SplittableRandom(47);
        try (CpuBackend cpu = new CpuBackend(2, gemm);
                Tensor x = Tensor.zeros(3, 0);
                Tensor w = Tensor.zeros(5, 0);
                Tensor bias = random(random, 1, 2, 5);
                Tensor a = Tensor.zeros(2, 3, 0);
                Tensor b = Tensor.zeros(2, 0, 4)) {
            poison(cpu, 3, 5);
            try (Tensor y = cpu.linear(x, w, bias, Activation.IDENTITY)) {
                float[] expected = new float[15];
                for (int i = 0; i < 15; i++) {
                    expected[i] = bias.getFloat(i % 5);
                }
                assertArrayEquals(expected, y.toFloatArray(), "linear with no input features");
            }
            poison(cpu, 2, 3, 4);
            try (Tensor y = cpu.matmul(a, b)) {
                assertArrayEquals(new float[24], y.toFloatArray(), "matmul with k = 0");
            }
            // convolutions of no input channels: the 1×1 over small images, the 1×1 per
            // image and im2col each give act(bias) everywhere
            for (long[][] shapes : new long[][][] {{{3, 0, 4, 4}, {5, 0, 1, 1}},
                    {{1, 0, 20, 20}, {5, 0, 1, 1}}, {{2, 0, 6, 7}, {5, 0, 3, 3}}}) {
                long[] xShape = shapes[0];
                long[] wShape = shapes[1];
                Conv2dSpec spec = Conv2dSpec.symmetric(1, (int) wShape[2] / 2, 1, 1);
                long[] yShape = {xShape[0], 5, xShape[2], xShape[3]};
                poison(cpu, yShape);
                try (Tensor images = Tensor.zeros(xShape); Tensor kernel = Tensor.zeros(wShape);
                        Tensor y = cpu.conv2d(images, kernel, bias, spec, Activation.RELU)) {
                    float[] expected = new float[Math.toIntExact(Tensor.numel(yShape))];
                    int plane = (int) (xShape[2] * xShape[3]);
                    for (int i = 0; i < expected.length; i++) {
                        expected[i] = bias.getFloat(i / plane % 5);
                    }
                    assertArrayEquals(expected, y.toFloatArray(), Arrays.toString(xShape));
                }
            }
        }
    }

    /** Leaves a NaN-filled buffer of this shape in the backend's pool of outputs. */
    private static void poison(CpuBackend cpu, long... shape) {
        float[] nan = new float[Math.toIntExact(Tensor.numel(shape))];
        Arrays.fill(nan, Float.NaN);
        try (Tensor p = Tensor.of(nan, shape)) {
            cpu.add(p, p).close();
        }
    }

    @ParameterizedTest
    @EnumSource(value = GemmChoice.class, names = {"JAVA", "AUTO"})
    void im2colEdges(GemmChoice gemm) {
        SplittableRandom random = new SplittableRandom(43);
        try (CpuBackend cpu = new CpuBackend(3, gemm)) {
            // one image, many channels: the narrowest tiles
            conv(cpu, random, new long[] {1, 1100, 12, 12}, new long[] {7, 1100, 3, 3},
                    Conv2dSpec.symmetric(1, 1, 1, 1), Activation.SILU);
            conv(cpu, random, new long[] {1, 600, 5, 5}, new long[] {9, 600, 3, 3},
                    Conv2dSpec.symmetric(2, 1, 1, 1), Activation.IDENTITY);
            // grouped, with and without a channel multiplier, strides 3
            conv(cpu, random, new long[] {2, 8, 13, 14}, new long[] {12, 2, 3, 3},
                    Conv2dSpec.symmetric(3, 1, 1, 4), Activation.RELU);
            conv(cpu, random, new long[] {1, 6, 20, 23}, new long[] {6, 3, 3, 3},
                    spec(3, 3, 0, 2, 2, 0, 1, 1, 2), Activation.GELU);
            conv(cpu, random, new long[] {1, 4, 17, 29}, new long[] {8, 2, 5, 5},
                    spec(1, 3, 2, 2, 1, 3, 2, 2, 2), Activation.SILU);
            conv(cpu, random, new long[] {2, 3, 9, 31}, new long[] {5, 3, 2, 4},
                    spec(3, 2, 1, 0, 0, 3, 1, 3, 1), Activation.IDENTITY);
            // 1×1 with padding or a stride runs through im2col
            conv(cpu, random, new long[] {1, 7, 10, 9}, new long[] {4, 7, 1, 1},
                    spec(3, 3, 1, 0, 0, 2, 1, 1, 1), Activation.IDENTITY);
            // a large plane of one image: several tiles per image
            conv(cpu, random, new long[] {1, 3, 61, 67}, new long[] {5, 3, 3, 3},
                    spec(1, 3, 1, 1, 1, 1, 1, 1, 1), Activation.SILU);
        }
    }

    /**
     * Gated 1×1 convolutions that cannot fold the gate (one image, a large plane, a stride,
     * groups, a 3×3 kernel) scale first; every one equals scaling then convolving bit for bit
     * and the reference of the scaled input; gates of the wrong shape are refused.
     */
    @ParameterizedTest
    @EnumSource(value = GemmChoice.class, names = {"JAVA", "AUTO"})
    void gatedConvolutionsThatCannotFold(GemmChoice gemm) {
        SplittableRandom random = new SplittableRandom(53);
        record Case(long[] x, long[] w, Conv2dSpec spec) {
        }
        Case[] cases = {
            new Case(new long[] {1, 24, 4, 4}, new long[] {9, 24, 1, 1}, PLAIN),
            new Case(new long[] {2, 24, 17, 17}, new long[] {9, 24, 1, 1}, PLAIN),
            new Case(new long[] {3, 24, 5, 5}, new long[] {9, 24, 1, 1},
                    Conv2dSpec.symmetric(2, 0, 1, 1)),
            new Case(new long[] {3, 24, 5, 5}, new long[] {10, 12, 1, 1},
                    Conv2dSpec.symmetric(1, 0, 1, 2)),
            new Case(new long[] {3, 24, 5, 5}, new long[] {9, 24, 3, 3},
                    Conv2dSpec.symmetric(1, 1, 1, 1)),
            new Case(new long[] {3, 24, 5, 5}, new long[] {24, 1, 3, 3},
                    Conv2dSpec.symmetric(1, 1, 1, 24)),
            // one channel in and out: a 1×1 convolution that is also depthwise
            new Case(new long[] {3, 1, 4, 4}, new long[] {1, 1, 1, 1}, PLAIN),
            new Case(new long[] {2, 1, 9, 5}, new long[] {1, 1, 1, 1},
                    Conv2dSpec.symmetric(1, 0, 1, 1)),
            // and two that fold: several small images
            new Case(new long[] {4, 17, 3, 5}, new long[] {33, 17, 1, 1}, PLAIN),
            new Case(new long[] {2, 5, 15, 17}, new long[] {3, 5, 1, 1}, PLAIN)};
        try (CpuBackend cpu = new CpuBackend(3, gemm)) {
            for (Case c : cases) {
                String what = Arrays.toString(c.x()) + " * " + Arrays.toString(c.w()) + " "
                        + c.spec();
                int n = (int) c.x()[0], channels = (int) c.x()[1];
                try (Tensor x = random(random, -1, 1, c.x());
                        Tensor gate = random(random, 0, 1, n, channels);
                        Tensor w = random(random, -0.3, 0.3, c.w());
                        Tensor b = random(random, -0.3, 0.3, c.w()[0]);
                        Tensor gated = cpu.gatedConv2d(x, gate, w, b, c.spec(), Activation.SILU);
                        Tensor scaled = cpu.scaleChannels(x, gate, null);
                        Tensor plain = cpu.conv2d(scaled, w, b, c.spec(), Activation.SILU)) {
                    assertArrayEquals(plain.toFloatArray(), gated.toFloatArray(), what);
                    double[] expected = Reference.conv2d(scaled.toFloatArray(), c.x(),
                            w.toFloatArray(), c.w(), b.toFloatArray(), c.spec(),
                            Activation.SILU);
                    assertClose(what, expected, gated.toFloatArray(), 2e-6);
                }
            }
            try (Tensor x = random(random, -1, 1, 3, 6, 4, 4);
                    Tensor w = random(random, -1, 1, 5, 6, 1, 1)) {
                for (long[] shape : new long[][] {{6}, {3, 7}, {4, 6}, {1, 6}, {3, 6, 1}}) {
                    try (Tensor gate = Tensor.zeros(shape)) {
                        assertThrows(IllegalArgumentException.class,
                                () -> cpu.gatedConv2d(x, gate, w, null, PLAIN,
                                        Activation.IDENTITY).close(), Arrays.toString(shape));
                    }
                }
                assertThrows(IllegalArgumentException.class, () -> cpu.gatedConv2d(x, null, w,
                        null, PLAIN, Activation.IDENTITY).close());
            }
        }
    }

    /**
     * Products large enough to be cut into pieces, with a transposed operand (a linear layer's
     * weights; op(A) transposed through the product itself) and with fewer than 16 rows or
     * columns, and a batch of them.
     */
    @ParameterizedTest
    @EnumSource(value = GemmChoice.class, names = {"JAVA", "AUTO"})
    void productsCutIntoPiecesWithTransposedOrThinOperands(GemmChoice gemm) {
        SplittableRandom random = new SplittableRandom(59);
        try (CpuBackend cpu = new CpuBackend(3, gemm)) {
            // 7 rows, 4096 columns of transposed weights: columns cut in four
            linear(cpu, random, 7, 5000, 4096);
            // 12 columns, rows cut in two
            linear(cpu, random, 3000, 3000, 12);
            int batch = 2, m = 300, k = 700, n = 410;
            try (Tensor a = random(random, -1, 1, batch, m, k);
                    Tensor bm = random(random, -1, 1, batch, k, n);
                    Tensor y = cpu.matmul(a, bm)) {
                float[] as = a.toFloatArray(), bs = bm.toFloatArray();
                double[] expected = new double[batch * m * n];
                for (int i = 0; i < batch; i++) {
                    double[] one = Reference.matmul(
                            Arrays.copyOfRange(as, i * m * k, (i + 1) * m * k),
                            Arrays.copyOfRange(bs, i * k * n, (i + 1) * k * n), m, k, n);
                    System.arraycopy(one, 0, expected, i * m * n, m * n);
                }
                assertClose("batched matmul in pieces", expected, y.toFloatArray(), 1e-5);
            }
        }
    }

    private static void linear(CpuBackend cpu, SplittableRandom random, int rows, int in,
            int out) {
        try (Tensor x = random(random, -1, 1, rows, in);
                Tensor w = random(random, -0.1, 0.1, out, in);
                Tensor b = random(random, -0.1, 0.1, out);
                Tensor y = cpu.linear(x, w, b, Activation.TANH)) {
            float[] xs = x.toFloatArray(), ws = w.toFloatArray(), bs = b.toFloatArray();
            double[] expected = new double[rows * out];
            for (int r = 0; r < rows; r++) {
                for (int o = 0; o < out; o++) {
                    double acc = bs[o];
                    for (int i = 0; i < in; i++) {
                        acc += (double) xs[r * in + i] * ws[o * in + i];
                    }
                    expected[r * out + o] = Math.tanh(acc);
                }
            }
            // float sums over thousands of terms: the tolerance of GemmEpilogueTest's
            assertClose("linear " + rows + "x" + in + " -> " + out + " on " + cpu.name(),
                    expected, y.toFloatArray(), 1e-5);
        }
    }
}
