package dev.lumbar.engine.backend.cpu;

import static dev.lumbar.engine.backend.cpu.Reference.assertClose;
import static dev.lumbar.engine.backend.cpu.Reference.assertSameSpecials;
import static dev.lumbar.engine.backend.cpu.Reference.random;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lumbar.engine.backend.Activation;
import dev.lumbar.engine.backend.Conv2dSpec;
import dev.lumbar.engine.backend.cpu.CpuBackend.GemmChoice;
import dev.lumbar.engine.tensor.DType;
import dev.lumbar.engine.tensor.Device;
import dev.lumbar.engine.tensor.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@link PixelProducts} and the small-plane depthwise kernel at the edges of their shapes:
 * one-pixel planes, pixel counts either side of a strip, output channels that leave a partial
 * register tile, no input channels, sums just past a chunk of 512 terms, padding wider than
 * the kernel, kernels wider than the image, inputs that start at an unaligned offset, NaN and
 * infinities, weights changed between calls; against a double-precision reference, and the
 * same bits on one, two and three threads.
 */
class PixelProductsEdgeTest {

    private static final Conv2dSpec POINTWISE = Conv2dSpec.symmetric(1, 0, 1, 1);

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

    /** conv2d on three backends: close to the reference, and the same bits on each. */
    private static void checkConv(String what, Tensor x, Tensor w, Tensor b, Conv2dSpec spec,
            Activation act) {
        double[] expected = Reference.conv2d(x.toFloatArray(), x.shape(), w.toFloatArray(),
                w.shape(), b == null ? null : b.toFloatArray(), spec, act);
        try (Tensor y1 = one.conv2d(x, w, b, spec, act);
                Tensor y2 = two.conv2d(x, w, b, spec, act);
                Tensor y3 = three.conv2d(x, w, b, spec, act)) {
            assertClose(what, expected, y1.toFloatArray(), 3e-6);
            assertArrayEquals(y1.toFloatArray(), y2.toFloatArray(), what + " 1 vs 2 threads");
            assertArrayEquals(y1.toFloatArray(), y3.toFloatArray(), what + " 1 vs 3 threads");
        }
    }

    @Test
    void pointwiseAcrossImagesOnEdgeShapes() {
        SplittableRandom random = new SplittableRandom(21);
        // {N, C, H, W, O}: one-pixel planes; N·H·W at 31, 32, 33, 63, 64, 65 pixels; O from 1
        // to 13; C at 511, 512, 513 and 1025 terms
        long[][] shapes = {
            {2, 3, 1, 1, 5}, {31, 4, 1, 1, 7}, {32, 4, 1, 1, 6}, {33, 4, 1, 1, 1},
            {2, 9, 4, 8, 13}, {7, 5, 3, 3, 2}, {3, 6, 3, 7, 11}, {5, 2, 13, 1, 8},
            {3, 511, 2, 2, 6}, {3, 512, 2, 2, 7}, {3, 513, 2, 2, 5}, {2, 1025, 3, 3, 3},
            {13, 5, 1, 5, 12}, {65, 2, 1, 1, 3},
        };
        for (long[] s : shapes) {
            try (Tensor x = random(random, -1, 1, s[0], s[1], s[2], s[3]);
                    Tensor w = random(random, -0.5, 0.5, s[4], s[1], 1, 1);
                    Tensor b = random(random, -0.5, 0.5, s[4])) {
                checkConv(Arrays.toString(s), x, w, b, POINTWISE, Activation.GELU);
                checkConv(Arrays.toString(s) + " no bias", x, w, null, POINTWISE,
                        Activation.IDENTITY);
            }
        }
    }

    @Test
    void windowedOnEdgeShapes() {
        SplittableRandom random = new SplittableRandom(22);
        // {N, C, H, W, O, kh, kw, padTop, padBottom, padLeft, padRight}
        long[][] cases = {
            // padding wider than the kernel: whole output rows and columns of bias alone
            {2, 3, 4, 5, 5, 3, 3, 4, 5, 6, 3}, {1, 2, 2, 2, 7, 1, 1, 3, 0, 0, 3},
            {3, 2, 1, 1, 4, 2, 2, 3, 3, 3, 3},
            // kernels larger than the image
            {2, 3, 3, 2, 5, 7, 5, 3, 3, 2, 2}, {1, 4, 1, 1, 6, 3, 3, 1, 1, 1, 1},
            // asymmetric padding, rows of 31, 32, 33 outputs
            {2, 3, 6, 31, 7, 3, 3, 0, 2, 2, 0}, {2, 2, 5, 32, 1, 3, 3, 1, 1, 1, 1},
            {1, 2, 5, 33, 13, 3, 3, 2, 0, 0, 2}, {2, 1, 9, 65, 6, 1, 3, 0, 0, 1, 1},
            // 513 and 512 terms: 57 and 128 channels of a 3×3 kernel, a 512-channel 1×1
            {2, 57, 3, 4, 7, 3, 3, 1, 1, 1, 1}, {1, 128, 2, 3, 5, 2, 2, 0, 1, 1, 0},
            {2, 513, 2, 2, 3, 1, 1, 1, 0, 0, 1},
        };
        for (long[] t : cases) {
            Conv2dSpec spec = new Conv2dSpec(1, 1, (int) t[7], (int) t[8], (int) t[9],
                    (int) t[10], 1, 1, 1);
            try (Tensor x = random(random, -1, 1, t[0], t[1], t[2], t[3]);
                    Tensor w = random(random, -0.5, 0.5, t[4], t[1], t[5], t[6]);
                    Tensor b = random(random, -0.5, 0.5, t[4])) {
                checkConv(Arrays.toString(t), x, w, b, spec, Activation.SILU);
            }
        }
    }

    @Test
    void noInputChannelsLeavesTheBias() {
        for (long[] s : new long[][] {{3, 0, 2, 2, 7, 1}, {2, 0, 5, 5, 4, 3}}) {
            int k = (int) s[5];
            Conv2dSpec spec = Conv2dSpec.symmetric(1, k / 2, 1, 1);
            try (Tensor x = Tensor.zeros(s[0], s[1], s[2], s[3]);
                    Tensor w = Tensor.zeros(s[4], 0, k, k);
                    Tensor b = random(new SplittableRandom(5), -1, 1, s[4])) {
                checkConv(Arrays.toString(s), x, w, b, spec, Activation.IDENTITY);
            }
        }
    }

    @Test
    void emptyPlanesWithPaddingLeaveTheBias() {
        SplittableRandom random = new SplittableRandom(28);
        // {N, C, H, W, O, k, pad, groups}: dense, 1×1 padded, depthwise on small planes
        // (4×8 outputs: whole vectors of pixels) and on wide ones
        long[][] cases = {
            {2, 3, 0, 4, 5, 3, 2, 1}, {2, 3, 3, 0, 4, 1, 1, 1}, {1, 16, 0, 4, 16, 3, 3, 16},
            {2, 5, 0, 30, 5, 3, 2, 5},
        };
        for (long[] t : cases) {
            Conv2dSpec spec = Conv2dSpec.symmetric(1, (int) t[6], 1, (int) t[7]);
            try (Tensor x = Tensor.zeros(t[0], t[1], t[2], t[3]);
                    Tensor w = random(random, -0.5, 0.5, t[4], t[1] / t[7], t[5], t[5]);
                    Tensor b = random(random, -0.5, 0.5, t[4])) {
                checkConv(Arrays.toString(t), x, w, b, spec, Activation.SILU);
            }
        }
    }

    /** A copy of {@code t} that starts {@code shift} bytes into a larger segment. */
    private static Tensor shifted(Tensor t, Arena arena, long shift) {
        MemorySegment outer = arena.allocate(t.byteSize() + shift + 64, 64);
        MemorySegment inner = outer.asSlice(shift, t.byteSize());
        inner.copyFrom(t.segment());
        return Tensor.wrap(inner, DType.F32, Device.CPU, t.shape());
    }

    @Test
    void unalignedViewsGiveTheSameBits() {
        SplittableRandom random = new SplittableRandom(23);
        Conv2dSpec padded = Conv2dSpec.symmetric(1, 1, 1, 1);
        try (Arena arena = Arena.ofShared();
                Tensor x = random(random, -1, 1, 3, 10, 5, 5);
                Tensor w1 = random(random, -0.5, 0.5, 14, 10, 1, 1);
                Tensor w3 = random(random, -0.5, 0.5, 8, 10, 3, 3);
                Tensor b = random(random, -0.5, 0.5, 14);
                Tensor w2 = random(random, -0.5, 0.5, 10, 14, 1, 1);
                Tensor gate = random(random, 0, 1, 3, 10)) {
            Tensor xs = shifted(x, arena, 4);
            Tensor w1s = shifted(w1, arena, 8);
            Tensor w3s = shifted(w3, arena, 12);
            Tensor w2s = shifted(w2, arena, 4);
            Tensor gs = shifted(gate, arena, 4);
            try (Tensor a = one.conv2d(x, w1, b, POINTWISE, Activation.RELU);
                    Tensor as = three.conv2d(xs, w1s, b, POINTWISE, Activation.RELU);
                    Tensor c = one.conv2d(x, w3, null, padded, Activation.IDENTITY);
                    Tensor cs = three.conv2d(xs, w3s, null, padded, Activation.IDENTITY);
                    Tensor g = one.gatedConv2d(x, gate, w1, b, POINTWISE, Activation.IDENTITY);
                    Tensor gss = three.gatedConv2d(xs, gs, w1s, b, POINTWISE,
                            Activation.IDENTITY);
                    Tensor m = one.channelMlp(x, w1, b, Activation.GELU, w2, null, null, x);
                    Tensor ms = three.channelMlp(xs, w1s, b, Activation.GELU, w2s, null, null,
                            xs)) {
                assertArrayEquals(a.toFloatArray(), as.toFloatArray(), "pointwise");
                assertArrayEquals(c.toFloatArray(), cs.toFloatArray(), "windowed");
                assertArrayEquals(g.toFloatArray(), gss.toFloatArray(), "gated");
                assertArrayEquals(m.toFloatArray(), ms.toFloatArray(), "channel MLP");
            }
        }
    }

    @Test
    void channelMlpOnEdgeShapes() {
        SplittableRandom random = new SplittableRandom(24);
        // {N, C, H, W, hidden, out}: one-pixel planes, hidden just past a chunk, one output
        long[][] shapes = {
            {2, 3, 1, 1, 7, 1}, {33, 2, 1, 1, 5, 4}, {3, 4, 3, 3, 513, 5},
            {1, 5, 6, 6, 11, 6}, {2, 600, 2, 2, 7, 3}, {1, 3, 40, 40, 8, 3},
        };
        for (long[] s : shapes) {
            long[] xShape = {s[0], s[1], s[2], s[3]};
            long[] yShape = {s[0], s[5], s[2], s[3]};
            String what = Arrays.toString(s);
            try (Tensor x = random(random, -1, 1, xShape);
                    Tensor w1 = random(random, -0.3, 0.3, s[4], s[1], 1, 1);
                    Tensor b1 = random(random, -0.3, 0.3, s[4]);
                    Tensor w2 = random(random, -0.3, 0.3, s[5], s[4], 1, 1);
                    Tensor b2 = random(random, -0.3, 0.3, s[5]);
                    Tensor scale = random(random, -1, 1, s[5]);
                    Tensor residual = random(random, -1, 1, yShape);
                    Tensor y1 = one.channelMlp(x, w1, b1, Activation.GELU, w2, b2, scale,
                            residual);
                    Tensor y2 = two.channelMlp(x, w1, b1, Activation.GELU, w2, b2, scale,
                            residual);
                    Tensor y3 = three.channelMlp(x, w1, b1, Activation.GELU, w2, b2, scale,
                            residual)) {
                double[] h = Reference.conv2d(x.toFloatArray(), xShape, w1.toFloatArray(),
                        w1.shape(), b1.toFloatArray(), POINTWISE, Activation.GELU);
                float[] hidden = new float[h.length];
                for (int i = 0; i < h.length; i++) {
                    hidden[i] = (float) h[i];
                }
                double[] p = Reference.conv2d(hidden, new long[] {s[0], s[4], s[2], s[3]},
                        w2.toFloatArray(), w2.shape(), b2.toFloatArray(), POINTWISE,
                        Activation.IDENTITY);
                float[] sc = scale.toFloatArray();
                float[] r = residual.toFloatArray();
                long plane = s[2] * s[3];
                for (int i = 0; i < p.length; i++) {
                    p[i] = r[i] + sc[(int) (i / plane % s[5])] * p[i];
                }
                assertClose(what, p, y1.toFloatArray(), 5e-6);
                assertArrayEquals(y1.toFloatArray(), y2.toFloatArray(), what + " 2 threads");
                assertArrayEquals(y1.toFloatArray(), y3.toFloatArray(), what + " 3 threads");
            }
        }
    }

    @Test
    void nanAndInfinityReachOnlyTheOutputsThatSeeThem() {
        SplittableRandom random = new SplittableRandom(25);
        // pointwise across images, windowed with padding, and the channel MLP
        try (Tensor x = random(random, -1, 1, 3, 7, 5, 6);
                Tensor w1 = random(random, -0.5, 0.5, 9, 7, 1, 1);
                Tensor w3 = random(random, -0.5, 0.5, 9, 7, 3, 3);
                Tensor b = random(random, -0.5, 0.5, 9);
                Tensor w2 = random(random, -0.5, 0.5, 7, 9, 1, 1)) {
            x.setFloat(1 * 7 * 30 + 2 * 30 + 2 * 6 + 3, Float.NaN);
            x.setFloat(2 * 7 * 30 + 5 * 30 + 4 * 6 + 5, Float.POSITIVE_INFINITY);
            x.setFloat(0 * 7 * 30 + 0 * 30 + 0, Float.NEGATIVE_INFINITY);
            Conv2dSpec padded = new Conv2dSpec(1, 1, 2, 1, 1, 2, 1, 1, 1);
            for (CpuBackend backend : new CpuBackend[] {one, three}) {
                try (Tensor p = backend.conv2d(x, w1, b, POINTWISE, Activation.IDENTITY);
                        Tensor c = backend.conv2d(x, w3, b, padded, Activation.IDENTITY)) {
                    assertSameSpecials("pointwise", Reference.conv2d(x.toFloatArray(),
                            x.shape(), w1.toFloatArray(), w1.shape(), b.toFloatArray(),
                            POINTWISE, Activation.IDENTITY), p.toFloatArray());
                    assertSameSpecials("windowed", Reference.conv2d(x.toFloatArray(),
                            x.shape(), w3.toFloatArray(), w3.shape(), b.toFloatArray(), padded,
                            Activation.IDENTITY), c.toFloatArray());
                }
                try (Tensor m = backend.channelMlp(x, w1, b, Activation.IDENTITY, w2, null,
                            null, null);
                        Tensor h = one.conv2d(x, w1, b, POINTWISE, Activation.IDENTITY)) {
                    assertSameSpecials("channel MLP", Reference.conv2d(h.toFloatArray(),
                            h.shape(), w2.toFloatArray(), w2.shape(), null, POINTWISE,
                            Activation.IDENTITY), m.toFloatArray());
                }
            }
        }
    }

    @Test
    void weightsChangedBetweenCallsAreFollowed() {
        SplittableRandom random = new SplittableRandom(26);
        Conv2dSpec padded = Conv2dSpec.symmetric(1, 1, 1, 1);
        try (Tensor x = random(random, -1, 1, 4, 6, 3, 3);
                Tensor w1 = random(random, -0.5, 0.5, 8, 6, 1, 1);
                Tensor w3 = random(random, -0.5, 0.5, 8, 6, 3, 3);
                Tensor w2 = random(random, -0.5, 0.5, 6, 8, 1, 1)) {
            for (int round = 0; round < 3; round++) {
                checkConv("pointwise round " + round, x, w1, null, POINTWISE,
                        Activation.IDENTITY);
                checkConv("windowed round " + round, x, w3, null, padded, Activation.IDENTITY);
                try (Tensor m = three.channelMlp(x, w1, null, Activation.IDENTITY, w2, null,
                            null, null);
                        Tensor h = one.conv2d(x, w1, null, POINTWISE, Activation.IDENTITY)) {
                    assertClose("channel MLP round " + round, Reference.conv2d(h.toFloatArray(),
                            h.shape(), w2.toFloatArray(), w2.shape(), null, POINTWISE,
                            Activation.IDENTITY), m.toFloatArray(), 3e-6);
                }
                for (Tensor w : new Tensor[] {w1, w3, w2}) {
                    for (long i = 0; i < w.numel(); i++) {
                        w.setFloat(i, (float) (random.nextDouble() - 0.5) * (round + 2));
                    }
                }
            }
        }
    }

    @Test
    void smallPlaneDepthwiseOnEdgeShapes() {
        SplittableRandom random = new SplittableRandom(27);
        // {N, C, H, W, k, pad}: 4×4 and 8×8 planes (whole vectors of pixels), 1×1 planes,
        // channels that leave a partial block, padding wider than the kernel; planes that end
        // in part of a vector (7×7, 6×5) or are less than one (3×3)
        long[][] cases = {
            {2, 17, 4, 4, 3, 1}, {1, 33, 8, 8, 3, 1}, {2, 5, 4, 4, 5, 2}, {3, 16, 1, 1, 3, 1},
            {2, 20, 4, 4, 1, 0}, {1, 19, 2, 8, 3, 1}, {2, 18, 4, 4, 3, 4}, {1, 16, 7, 7, 7, 3},
            {2, 20, 7, 7, 3, 1}, {1, 17, 6, 5, 3, 1}, {2, 16, 3, 3, 3, 1}, {1, 40, 7, 7, 3, 0},
            // wider stride-1 planes, channel-blocked up to 16 wide: rows of several segments,
            // the last one partial
            {1, 20, 14, 14, 3, 1}, {1, 17, 13, 19, 7, 3}, {2, 16, 16, 16, 7, 3},
            {1, 3, 9, 30, 5, 2},
        };
        for (long[] t : cases) {
            int k = (int) t[4];
            Conv2dSpec spec = Conv2dSpec.symmetric(1, (int) t[5], 1, (int) t[1]);
            try (Tensor x = random(random, -1, 1, t[0], t[1], t[2], t[3]);
                    Tensor w = random(random, -0.5, 0.5, t[1], 1, k, k);
                    Tensor b = random(random, -0.5, 0.5, t[1])) {
                checkConv(Arrays.toString(t), x, w, b, spec, Activation.SILU);
                checkConv(Arrays.toString(t) + " no bias", x, w, null, spec,
                        Activation.IDENTITY);
            }
        }
    }

    @Test
    void channelMlpWithoutASecondWeightIsRefusedByName() {
        try (Tensor x = Tensor.zeros(2, 3, 2, 2); Tensor w1 = Tensor.zeros(5, 3, 1, 1)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> one.channelMlp(x, w1, null, Activation.GELU, null, null, null, null));
            assertTrue(e.getMessage().contains("second weight"), e.getMessage());
        }
    }
}
