package dev.lumbar.engine.backend.cpu;

import static dev.lumbar.engine.backend.cpu.Reference.assertSameBits;
import static dev.lumbar.engine.backend.cpu.Reference.random;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lumbar.engine.backend.Activation;
import dev.lumbar.engine.backend.Conv2dSpec;
import dev.lumbar.engine.backend.cpu.CpuBackend.GemmChoice;
import dev.lumbar.engine.tensor.DType;
import dev.lumbar.engine.tensor.Tensor;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The epilogues written as the products store their tiles, at their edges: a residual added
 * on the way out (strips within one image and across several, partial output-channel tiles,
 * one-pixel planes, strided and padded windows, NaN and infinities, a residual that is the
 * input itself), the unmasked activation passes (counts either side of a vector, special
 * values, the tile pass against the run pass), the average pool over small planes summed 16
 * at a time, and the packed strips kept for uploaded weights (first used by two threads at
 * once, used after being closed). The same bits on one, two and three threads throughout.
 */
class FusedEpilogueEdgeTest {

    private static final Conv2dSpec POINTWISE = Conv2dSpec.symmetric(1, 0, 1, 1);
    private static final int L = Pointwise.L;

    private static final float[] SPECIAL = {
        0f, -0f, Float.MIN_VALUE, -Float.MIN_VALUE, Float.MIN_NORMAL, 1e-30f, -1e-30f, 0.5f,
        -0.5f, 1f, -1f, 12.4f, -12.4f, 12.5f, -12.5f, 12.6f, -12.6f, 88.7229f, -88.7229f,
        104f, -104f, Float.MAX_VALUE, -Float.MAX_VALUE, Float.POSITIVE_INFINITY,
        Float.NEGATIVE_INFINITY, Float.NaN};

    private static CpuBackend one;
    private static CpuBackend two;
    private static CpuBackend three;

    @BeforeAll
    static void backends() {
        one = new CpuBackend(1, GemmChoice.JAVA);
        two = new CpuBackend(2, GemmChoice.JAVA);
        three = new CpuBackend(3, GemmChoice.JAVA);
    }

    @AfterAll
    static void close() {
        one.close();
        two.close();
        three.close();
    }

    private static float[] mixed(SplittableRandom random, int count) {
        float[] x = new float[count];
        for (int i = 0; i < count; i++) {
            x[i] = switch (random.nextInt(3)) {
                case 0 -> SPECIAL[random.nextInt(SPECIAL.length)];
                case 1 -> (float) (random.nextDouble() * 32 - 16);
                default -> (float) (random.nextDouble() * 4 - 2);
            };
        }
        return x;
    }

    /**
     * {@code act(conv(x ⊙ gate) + bias) + residual} by {@code conv2dAdd} on three backends: the
     * bits of the convolution followed by an addition on the same backend, and the same bits
     * on each.
     */
    private static void checkConvAdd(String what, Tensor x, Tensor gate, Tensor w, Tensor b,
            Conv2dSpec spec, Activation act, Tensor residual) {
        float[] first = null;
        for (CpuBackend cpu : new CpuBackend[] {one, two, three}) {
            try (Tensor plain = gate == null ? cpu.conv2d(x, w, b, spec, act)
                    : cpu.gatedConv2d(x, gate, w, b, spec, act);
                    Tensor expected = cpu.add(plain, residual);
                    Tensor fused = cpu.conv2dAdd(x, gate, w, b, spec, act, residual)) {
                float[] got = fused.toFloatArray();
                assertSameBits(what + " on " + cpu.name(), expected.toFloatArray(), got);
                if (first == null) {
                    first = got;
                } else {
                    assertSameBits(what + " threads", first, got);
                }
            }
        }
    }

    @Test
    void residualAddedOnTheWayOutOnEdgeShapes() {
        SplittableRandom random = new SplittableRandom(61);
        Activation[] acts = Activation.values();
        // {N, C, H, W, O, kernel, stride, pad}: 1×1 over 4×4, 7×7, 1×1 and 15×15 planes
        // (strips within one image and across several), O not a multiple of 6; dense 3×3 and
        // 5×5, strided by 2, on planes smaller than a strip; 1×1 on one small image, which adds
        // the residual in a pass of its own, and on 16×16 planes
        int[][] shapes = {
            {3, 5, 4, 4, 7, 1, 1, 0}, {4, 6, 7, 7, 13, 1, 1, 0}, {33, 3, 1, 1, 5, 1, 1, 0},
            {2, 8, 1, 1, 6, 1, 1, 0}, {5, 12, 7, 7, 1, 1, 1, 0}, {2, 16, 15, 15, 11, 1, 1, 0},
            {2, 3, 4, 4, 7, 3, 1, 1}, {1, 4, 7, 7, 5, 3, 1, 1}, {2, 3, 9, 9, 5, 3, 2, 1},
            {2, 2, 7, 7, 8, 5, 1, 2}, {3, 2, 1, 1, 4, 3, 1, 1}, {2, 5, 10, 11, 9, 3, 2, 1},
            {1, 6, 5, 5, 7, 1, 1, 0}, {2, 4, 16, 16, 5, 1, 1, 0},
        };
        int index = 0;
        for (int[] s : shapes) {
            Activation act = acts[index++ % acts.length];
            Conv2dSpec spec = Conv2dSpec.symmetric(s[6], s[7], 1, 1);
            String what = Arrays.toString(s) + " " + act;
            try (Tensor x = random(random, -1, 1, s[0], s[1], s[2], s[3]);
                    Tensor w = random(random, -0.5, 0.5, s[4], s[1], s[5], s[5]);
                    Tensor b = random(random, -0.5, 0.5, s[4]);
                    Tensor shape = one.conv2d(x, w, b, spec, act);
                    Tensor r = random(random, -1, 1, shape.shape())) {
                checkConvAdd(what, x, null, w, b, spec, act, r);
                checkConvAdd(what + " no bias", x, null, w, null, spec, act, r);
                if (s[5] == 1) {
                    try (Tensor gate = random(random, 0, 1, s[0], s[1])) {
                        checkConvAdd(what + " gated", x, gate, w, b, spec, act, r);
                    }
                }
            }
        }
    }

    /**
     * Shapes with nothing in them (no input channels, no output channels, no images) and a
     * gate on convolutions that cannot fold it (dense, one image): the same bits as the
     * convolution then the addition.
     */
    @Test
    void residualOnEmptyAndGatedFallbackShapes() {
        SplittableRandom random = new SplittableRandom(107);
        // {N, C, H, W, O, kernel, gated}
        int[][] shapes = {
            {2, 0, 4, 4, 5, 1, 0}, {2, 3, 4, 4, 0, 1, 0}, {0, 3, 4, 4, 5, 1, 0},
            {2, 0, 5, 5, 3, 3, 0}, {2, 3, 6, 6, 7, 3, 1}, {1, 5, 4, 4, 7, 1, 1},
            {2, 4, 16, 16, 6, 1, 1},
        };
        for (int[] s : shapes) {
            Conv2dSpec spec = Conv2dSpec.symmetric(1, s[5] / 2, 1, 1);
            String what = Arrays.toString(s);
            try (Tensor x = random(random, -1, 1, s[0], s[1], s[2], s[3]);
                    Tensor w = random(random, -0.5, 0.5, s[4], s[1], s[5], s[5]);
                    Tensor up = one.upload(w);
                    Tensor b = random(random, -0.5, 0.5, s[4]);
                    Tensor shape = one.conv2d(x, w, b, spec, Activation.GELU);
                    Tensor r = random(random, -1, 1, shape.shape());
                    Tensor gate = random(random, 0, 1, s[0], s[1])) {
                checkConvAdd(what, x, s[6] == 1 ? gate : null, w, b, spec, Activation.GELU, r);
                try (Tensor plain = one.conv2dAdd(x, s[6] == 1 ? gate : null, w, b, spec,
                        Activation.GELU, r);
                        Tensor uploaded = one.conv2dAdd(x, s[6] == 1 ? gate : null, up, b, spec,
                                Activation.GELU, r)) {
                    assertSameBits(what + " uploaded", plain.toFloatArray(),
                            uploaded.toFloatArray());
                }
            }
        }
    }

    /**
     * One uploaded weight's memory seen with two shapes (a 1×1 weight and, reshaped, a 3×3 one
     * over a single channel): each gives the bits of a weight that is not uploaded.
     */
    @Test
    void uploadedWeightAndAReshapedViewOfIt() {
        SplittableRandom random = new SplittableRandom(109);
        Conv2dSpec dense = Conv2dSpec.symmetric(1, 1, 1, 1);
        try (Tensor x1 = random(random, -1, 1, 3, 9, 4, 4);
                Tensor x3 = random(random, -1, 1, 2, 1, 11, 13);
                Tensor w = random(random, -0.5, 0.5, 8, 9, 1, 1);
                Tensor w3 = w.reshape(8, 1, 3, 3);
                Tensor up = one.upload(w);
                Tensor up3 = up.reshape(8, 1, 3, 3)) {
            for (int round = 0; round < 2; round++) {
                try (Tensor a = one.conv2d(x1, w, null, POINTWISE, Activation.SILU);
                        Tensor e = one.conv2d(x1, up, null, POINTWISE, Activation.SILU);
                        Tensor a3 = one.conv2d(x3, w3, null, dense, Activation.SILU);
                        Tensor e3 = one.conv2d(x3, up3, null, dense, Activation.SILU)) {
                    assertSameBits("1×1, round " + round, a.toFloatArray(), e.toFloatArray());
                    assertSameBits("3×3 view, round " + round, a3.toFloatArray(),
                            e3.toFloatArray());
                }
            }
        }
    }

    /** NaN and infinities in the residual, the input and a weight row pass through as added. */
    @Test
    void residualWithSpecialValues() {
        SplittableRandom random = new SplittableRandom(67);
        int[][] shapes = {{3, 4, 4, 4, 7, 1}, {2, 3, 7, 7, 8, 3}, {2, 5, 6, 6, 6, 1}};
        for (int[] s : shapes) {
            Conv2dSpec spec = Conv2dSpec.symmetric(1, s[5] / 2, 1, 1);
            try (Tensor x = random(random, -1, 1, s[0], s[1], s[2], s[3]);
                    Tensor w = random(random, -0.5, 0.5, s[4], s[1], s[5], s[5]);
                    Tensor b = random(random, -0.5, 0.5, s[4]);
                    Tensor shape = one.conv2d(x, w, b, spec, Activation.SILU)) {
                float[] rs = mixed(random, (int) shape.numel());
                try (Tensor r = Tensor.of(rs, shape.shape())) {
                    checkConvAdd(Arrays.toString(s) + " special residual", x, null, w, b, spec,
                            Activation.SILU, r);
                    x.segment().setAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT, 3,
                            Float.NaN);
                    w.segment().setAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT, 0,
                            Float.POSITIVE_INFINITY);
                    checkConvAdd(Arrays.toString(s) + " special input", x, null, w, b, spec,
                            Activation.GELU, r);
                }
            }
        }
    }

    /** The residual may be the very tensor convolved (a 1×1 that keeps the channels). */
    @Test
    void residualThatIsTheInput() {
        SplittableRandom random = new SplittableRandom(71);
        int[][] shapes = {{3, 7, 4, 4}, {2, 6, 7, 7}, {2, 5, 9, 9}};
        for (int[] s : shapes) {
            Conv2dSpec spec = s[2] == 9 ? Conv2dSpec.symmetric(1, 1, 1, 1) : POINTWISE;
            int k = s[2] == 9 ? 3 : 1;
            try (Tensor x = random(random, -1, 1, s[0], s[1], s[2], s[3]);
                    Tensor w = random(random, -0.5, 0.5, s[1], s[1], k, k);
                    Tensor b = random(random, -0.5, 0.5, s[1])) {
                float[] before = x.toFloatArray();
                checkConvAdd(Arrays.toString(s) + " residual = x", x, null, w, b, spec,
                        Activation.RELU, x);
                assertArrayEquals(before, x.toFloatArray(), "the input is left as it was");
            }
        }
    }

    @Test
    void conv2dAddRefusesWhatDoesNotFit() {
        SplittableRandom random = new SplittableRandom(73);
        try (Tensor x = random(random, -1, 1, 3, 4, 4, 4);
                Tensor w = random(random, -0.5, 0.5, 5, 4, 1, 1);
                Tensor rank3 = random(random, -1, 1, 3, 5, 16);
                Tensor transposed = random(random, -1, 1, 5, 3, 4, 4);
                Tensor half = Tensor.allocate(DType.F16, 3, 5, 4, 4);
                Tensor gate = random(random, 0, 1, 3, 5)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> one.conv2dAdd(x, null, w, null, POINTWISE, Activation.SILU, rank3));
            assertTrue(e.getMessage().contains("residual"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class,
                    () -> one.conv2dAdd(x, null, w, null, POINTWISE, Activation.SILU,
                            transposed));
            assertTrue(e.getMessage().contains("residual"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class,
                    () -> one.conv2dAdd(x, null, w, null, POINTWISE, Activation.SILU, half));
            assertTrue(e.getMessage().contains("residual"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class,
                    () -> one.conv2dAdd(x, null, w, null, POINTWISE, Activation.SILU, null));
            assertTrue(e.getMessage().contains("residual"), e.getMessage());
            try (Tensor r = random(random, -1, 1, 3, 5, 4, 4)) {
                e = assertThrows(IllegalArgumentException.class,
                        () -> one.conv2dAdd(x, gate, w, null, POINTWISE, Activation.SILU, r));
                assertTrue(e.getMessage().contains("gate"), e.getMessage());
            }
        }
    }

    /**
     * Every activation over runs either side of a vector, from unaligned memory: each element
     * gets the bits it gets alone (the whole-vector loop against the scratch tail), in place
     * and not, and nothing outside the run is written.
     */
    @Test
    void activationRunsGiveEachElementTheBitsItGetsAlone() {
        SplittableRandom random = new SplittableRandom(79);
        int[] counts = {1, 2, L - 1, L, L + 1, 2 * L - 1, 2 * L, 2 * L + 1, 15, 16, 17, 3 * L + 5};
        for (Activation act : Activation.values()) {
            for (int count : counts) {
                for (float bias : new float[] {0f, 0.375f}) {
                    float[] x = mixed(random, count);
                    float[] padded = new float[count + 2];
                    System.arraycopy(x, 0, padded, 1, count);
                    float[] sentinel = new float[count + 2];
                    Arrays.fill(sentinel, 7f);
                    String what = act + " over " + count + " + " + bias;
                    try (Tensor in = Tensor.of(padded, count + 2);
                            Tensor out = Tensor.of(sentinel, count + 2);
                            Tensor alone = Tensor.zeros(3)) {
                        Pointwise.biasActivate(in.segment(), 4, out.segment(), 4, count, bias,
                                act);
                        float[] got = out.toFloatArray();
                        assertEquals(7f, got[0], what + ": written before the run");
                        assertEquals(7f, got[count + 1], what + ": written past the run");
                        for (int i = 0; i < count; i++) {
                            alone.segment().setAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT,
                                    1, x[i]);
                            Pointwise.biasActivate(alone.segment(), 4, alone.segment(), 4, 1,
                                    bias, act);
                            float want = alone.getFloat(1);
                            assertEquals(Float.floatToIntBits(want),
                                    Float.floatToIntBits(got[i + 1]),
                                    what + ": element " + i + " (" + x[i] + ") gives " + got[i + 1]
                                            + ", alone " + want);
                        }
                        Pointwise.biasActivate(in.segment(), 4, in.segment(), 4, count, bias,
                                act);
                        float[] inPlace = in.toFloatArray();
                        assertEquals(0f, inPlace[0], what);
                        assertSameBits(what + " in place", Arrays.copyOfRange(got, 1, count + 1),
                                Arrays.copyOfRange(inPlace, 1, count + 1));
                    }
                }
            }
        }
    }

    /**
     * A register tile's epilogue (rows of two vectors, written at a stride or in place) gives
     * the bits of the run epilogue row by row, with and without a bias, for 1 to 6 rows, and
     * leaves the gaps between destination rows alone.
     */
    @Test
    void tileEpilogueGivesTheBitsOfTheRunEpilogue() {
        SplittableRandom random = new SplittableRandom(83);
        int row = 2 * L;
        int stride = row + 3;
        for (Activation act : Activation.values()) {
            for (int rows = 1; rows <= PixelProducts.MR; rows++) {
                for (boolean withBias : new boolean[] {false, true}) {
                    String what = act + ", " + rows + " rows" + (withBias ? ", bias" : "");
                    float[] tile = mixed(random, rows * row);
                    float[] biases = new float[9];
                    for (int i = 0; i < biases.length; i++) {
                        biases[i] = (float) (random.nextDouble() * 4 - 2);
                    }
                    float[] sentinel = new float[2 + rows * stride];
                    Arrays.fill(sentinel, 7f);
                    int first = 2;
                    try (Tensor src = Tensor.of(tile, tile.length);
                            Tensor bias = Tensor.of(biases, biases.length);
                            Tensor dst = Tensor.of(sentinel, sentinel.length);
                            Tensor inPlace = Tensor.of(tile, tile.length);
                            Tensor runs = Tensor.zeros(tile.length)) {
                        for (int r = 0; r < rows; r++) {
                            Pointwise.biasActivate(src.segment(), (long) r * row * 4,
                                    runs.segment(), (long) r * row * 4, row,
                                    withBias ? biases[first + r] : 0f, act);
                        }
                        Pointwise.tileBiasActivate(src.segment(), 0, dst.segment(), 8,
                                (long) stride * 4, rows, withBias ? bias.segment() : null, first,
                                act);
                        Pointwise.tileBiasActivate(inPlace.segment(), 0, inPlace.segment(), 0,
                                (long) row * 4, rows, withBias ? bias.segment() : null, first,
                                act);
                        float[] expected = runs.toFloatArray();
                        float[] strided = dst.toFloatArray();
                        assertSameBits(what + " in place", expected, inPlace.toFloatArray());
                        for (int i = 0; i < sentinel.length; i++) {
                            int at = i - 2;
                            int r = at < 0 ? -1 : at / stride;
                            int column = at < 0 ? -1 : at - r * stride;
                            if (at < 0 || column >= row) {
                                assertEquals(7f, strided[i], what + ": gap " + i + " written");
                            } else {
                                assertEquals(Float.floatToIntBits(expected[r * row + column]),
                                        Float.floatToIntBits(strided[i]),
                                        what + ": row " + r + " column " + column);
                            }
                        }
                    }
                }
            }
        }
    }

    /**
     * Average pools over planes of whole vectors and of a partial last one (summed 16 at a
     * time where vectors hold 16 floats, up to 256 floats) and just past them: close to the
     * mean in double, NaN and infinities as the sum gives them, and the same bits on one, two
     * and three threads.
     */
    @Test
    void averagePoolOnEdgeShapes() {
        SplittableRandom random = new SplittableRandom(89);
        int[][] planes = {{4, 4}, {4, 8}, {6, 8}, {8, 8}, {16, 16}, {16, 17}, {1, 16}, {2, 8},
            {1, 1}, {3, 5}, {7, 7}, {14, 14}, {15, 17}};
        int[][] counts = {{1, 1}, {1, 15}, {1, 16}, {1, 17}, {3, 11}, {2, 24}};
        for (int[] p : planes) {
            for (int[] nc : counts) {
                int plane = p[0] * p[1];
                int n = nc[0] * nc[1];
                String what = Arrays.toString(nc) + " planes of " + Arrays.toString(p);
                float[] xs = new float[n * plane];
                for (int i = 0; i < xs.length; i++) {
                    xs[i] = (float) (random.nextDouble() * 6 - 3);
                }
                // specials in a few planes: one NaN, +inf, -inf, both infinities
                float[][] specials = {{Float.NaN}, {Float.POSITIVE_INFINITY},
                    {Float.NEGATIVE_INFINITY},
                    {Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY}};
                for (int q = 0; q < Math.min(n, specials.length); q++) {
                    int planeAt = (q * 5) % n;
                    for (int j = 0; j < specials[q].length && j < plane; j++) {
                        xs[planeAt * plane + (j * 7) % plane] = specials[q][j];
                    }
                }
                double[] expected = new double[n];
                double[] magnitude = new double[n];
                for (int q = 0; q < n; q++) {
                    double sum = 0;
                    double abs = 0;
                    for (int i = 0; i < plane; i++) {
                        sum += xs[q * plane + i];
                        abs += Math.abs(xs[q * plane + i]);
                    }
                    expected[q] = sum / plane;
                    magnitude[q] = abs / plane;
                }
                float[] first = null;
                for (CpuBackend cpu : new CpuBackend[] {one, two, three}) {
                    try (Tensor x = Tensor.of(xs, nc[0], nc[1], p[0], p[1]);
                            Tensor y = cpu.globalAvgPool(x)) {
                        float[] got = y.toFloatArray();
                        for (int q = 0; q < n; q++) {
                            String at = what + ": plane " + q + " on " + cpu.name();
                            if (Double.isNaN(expected[q]) || Double.isInfinite(expected[q])) {
                                assertEquals((float) expected[q], got[q], at);
                            } else {
                                assertTrue(Math.abs(got[q] - expected[q])
                                        <= 2e-6 * magnitude[q] + 1e-30, at + " expected "
                                        + expected[q] + ", got " + got[q]);
                            }
                        }
                        if (first == null) {
                            first = got;
                        } else {
                            assertSameBits(what + " threads", first, got);
                        }
                    }
                }
            }
        }
    }

    /**
     * Planes of no pixels: each mean is 0 / 0, NaN (as PyTorch's mean over an empty plane),
     * and no planes at all give an empty result; neither is refused.
     */
    @Test
    void averagePoolOverEmptyPlanes() {
        long[][] shapes = {{2, 3, 0, 4}, {1, 20, 4, 0}, {2, 16, 0, 0}, {0, 16, 4, 4}};
        for (long[] shape : shapes) {
            for (CpuBackend cpu : new CpuBackend[] {one, three}) {
                try (Tensor x = Tensor.zeros(shape);
                        Tensor y = cpu.globalAvgPool(x)) {
                    assertArrayEquals(new long[] {shape[0], shape[1]}, y.shape());
                    for (float mean : y.toFloatArray()) {
                        assertTrue(Float.isNaN(mean), Arrays.toString(shape) + ": " + mean);
                    }
                }
            }
        }
    }

    /**
     * Fresh uploaded weights first used by two threads at once (both may pack them; one set
     * of strips is kept): every result has the bits of the same weight not uploaded.
     */
    @Test
    void uploadedWeightFirstUsedByTwoThreadsAtOnce() throws Exception {
        SplittableRandom random = new SplittableRandom(97);
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try (CpuBackend cpu = new CpuBackend(2, GemmChoice.JAVA);
                Tensor x = random(random, -1, 1, 3, 24, 5, 5);
                Tensor big = random(random, -1, 1, 2, 24, 9, 9)) {
            Conv2dSpec dense = Conv2dSpec.symmetric(1, 1, 1, 1);
            for (int round = 0; round < 12; round++) {
                try (Tensor w = random(random, -0.5, 0.5, 31, 24, 1, 1);
                        Tensor w3 = random(random, -0.5, 0.5, 11, 24, 3, 3);
                        Tensor w2 = random(random, -0.5, 0.5, 24, 31, 1, 1);
                        Tensor up = cpu.upload(w);
                        Tensor up3 = cpu.upload(w3);
                        Tensor up2 = cpu.upload(w2);
                        Tensor a = cpu.conv2d(x, w, null, POINTWISE, Activation.SILU);
                        Tensor d = cpu.conv2d(big, w3, null, dense, Activation.GELU);
                        Tensor m = cpu.channelMlp(x, w, null, Activation.GELU, w2, null, null,
                                x)) {
                    CyclicBarrier start = new CyclicBarrier(2);
                    List<Future<float[][]>> results = new ArrayList<>();
                    for (int t = 0; t < 2; t++) {
                        boolean mlpFirst = t == 1;
                        results.add(pool.submit(() -> {
                            start.await();
                            float[][] out = new float[3][];
                            if (mlpFirst) {
                                try (Tensor me = cpu.channelMlp(x, up, null, Activation.GELU,
                                        up2, null, null, x)) {
                                    out[2] = me.toFloatArray();
                                }
                            }
                            try (Tensor ae = cpu.conv2d(x, up, null, POINTWISE,
                                    Activation.SILU);
                                    Tensor de = cpu.conv2d(big, up3, null, dense,
                                            Activation.GELU)) {
                                out[0] = ae.toFloatArray();
                                out[1] = de.toFloatArray();
                            }
                            if (!mlpFirst) {
                                try (Tensor me = cpu.channelMlp(x, up, null, Activation.GELU,
                                        up2, null, null, x)) {
                                    out[2] = me.toFloatArray();
                                }
                            }
                            return out;
                        }));
                    }
                    for (Future<float[][]> result : results) {
                        float[][] out = result.get();
                        String what = "round " + round;
                        assertSameBits(what + " 1×1", a.toFloatArray(), out[0]);
                        assertSameBits(what + " 3×3", d.toFloatArray(), out[1]);
                        assertSameBits(what + " channel MLP", m.toFloatArray(), out[2]);
                    }
                }
            }
        } finally {
            pool.shutdownNow();
        }
    }

    /**
     * An uploaded weight closed after use is refused like one closed before its first use,
     * not convolved from the strips kept of it.
     */
    @Test
    void closedUploadedWeightIsRefused() {
        SplittableRandom random = new SplittableRandom(101);
        try (CpuBackend cpu = new CpuBackend(2, GemmChoice.JAVA);
                Tensor x = random(random, -1, 1, 3, 8, 4, 4);
                Tensor w = random(random, -0.5, 0.5, 7, 8, 1, 1)) {
            Tensor up = cpu.upload(w);
            cpu.conv2d(x, up, null, POINTWISE, Activation.IDENTITY).close();
            up.close();
            assertThrows(IllegalStateException.class,
                    () -> cpu.conv2d(x, up, null, POINTWISE, Activation.IDENTITY).close());
            Tensor never = cpu.upload(w);
            never.close();
            assertThrows(IllegalStateException.class,
                    () -> cpu.conv2d(x, never, null, POINTWISE, Activation.IDENTITY).close());
        }
    }
}
