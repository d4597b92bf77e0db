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
import org.junit.jupiter.api.Test;

/**
 * The engine's own 1×1 products over NCHW pixels ({@link PixelProducts}) on the shapes that
 * exercise its edges: output channels that leave a partial register tile, pixel counts that
 * leave a partial strip, planes smaller than a strip (a strip then spans several images),
 * one input channel and many, hidden layers of every remainder; against a double-precision
 * reference, and the same bits on one thread and on three. Dense convolutions pack their
 * windows straight from the input: rows shorter and longer than a strip, kernels wider than
 * the image, uneven padding, horizontal strides of 1 and 2 and vertical ones up to 4.
 */
class PixelProductsTest {

    private static final Conv2dSpec POINTWISE = Conv2dSpec.symmetric(1, 0, 1, 1);

    /** {@code [N, C, H, W]} inputs and output channel counts. */
    private static final long[][] SHAPES = {
        {2, 1, 3, 3, 1}, {3, 7, 1, 1, 13}, {5, 13, 3, 3, 7}, {4, 37, 5, 7, 11},
        {2, 300, 4, 4, 6}, {7, 64, 8, 8, 97}, {3, 5, 15, 15, 12}, {2, 1024, 2, 3, 5},
    };

    @Test
    void pointwiseAndGatedConvolutionsMatchReference() {
        SplittableRandom random = new SplittableRandom(7);
        try (CpuBackend one = new CpuBackend(1, GemmChoice.JAVA);
                CpuBackend three = new CpuBackend(3, GemmChoice.JAVA)) {
            for (long[] s : SHAPES) {
                long[] xShape = Arrays.copyOf(s, 4);
                int n = (int) s[0], c = (int) s[1], o = (int) s[4];
                String what = Arrays.toString(xShape) + " → " + o;
                try (Tensor x = random(random, -1, 1, xShape);
                        Tensor gate = random(random, 0, 1, n, c);
                        Tensor w = random(random, -0.5, 0.5, o, c, 1, 1);
                        Tensor b = random(random, -0.5, 0.5, o);
                        Tensor plain = one.conv2d(x, w, b, POINTWISE, Activation.SILU);
                        Tensor plainThree = three.conv2d(x, w, b, POINTWISE, Activation.SILU);
                        Tensor gated = one.gatedConv2d(x, gate, w, null, POINTWISE,
                                Activation.IDENTITY);
                        Tensor gatedThree = three.gatedConv2d(x, gate, w, null, POINTWISE,
                                Activation.IDENTITY)) {
                    double[] expected = Reference.conv2d(x.toFloatArray(), xShape,
                            w.toFloatArray(), w.shape(), b.toFloatArray(), POINTWISE,
                            Activation.SILU);
                    assertClose(what, expected, plain.toFloatArray(), 2e-6);
                    assertArrayEquals(plain.toFloatArray(), plainThree.toFloatArray(), what);

                    float[] scaled = x.toFloatArray();
                    float[] g = gate.toFloatArray();
                    long plane = s[2] * s[3];
                    for (int i = 0; i < scaled.length; i++) {
                        scaled[i] *= g[(int) (i / plane)];
                    }
                    double[] expectedGated = Reference.conv2d(scaled, xShape, w.toFloatArray(),
                            w.shape(), null, POINTWISE, Activation.IDENTITY);
                    assertClose(what + " gated", expectedGated, gated.toFloatArray(), 2e-6);
                    assertArrayEquals(gated.toFloatArray(), gatedThree.toFloatArray(), what);
                }
            }
        }
    }

    @Test
    void channelMlpMatchesReference() {
        SplittableRandom random = new SplittableRandom(11);
        try (CpuBackend one = new CpuBackend(1, GemmChoice.AUTO);
                CpuBackend three = new CpuBackend(3, GemmChoice.JAVA)) {
            // the last two run one image and a large plane: fused all the same
            for (long[] xShape : new long[][] {{3, 5, 3, 3}, {2, 12, 4, 4}, {5, 17, 7, 9},
                    {2, 96, 8, 8}, {1, 9, 6, 6}, {2, 8, 17, 19}}) {
                int n = (int) xShape[0], c = (int) xShape[1];
                int hidden = 4 * c + 1;
                int out = c + 2;
                String what = Arrays.toString(xShape);
                long[] yShape = {n, out, xShape[2], xShape[3]};
                try (Tensor x = random(random, -1, 1, xShape);
                        Tensor w1 = random(random, -0.3, 0.3, hidden, c, 1, 1);
                        Tensor b1 = random(random, -0.3, 0.3, hidden);
                        Tensor w2 = random(random, -0.3, 0.3, out, hidden, 1, 1);
                        Tensor b2 = random(random, -0.3, 0.3, out);
                        Tensor scale = random(random, -1, 1, out);
                        Tensor residual = random(random, -1, 1, yShape);
                        Tensor y = one.channelMlp(x, w1, b1, Activation.GELU, w2, b2, scale,
                                residual);
                        Tensor yThree = three.channelMlp(x, w1, b1, Activation.GELU, w2, b2,
                                scale, residual)) {
                    double[] p = referenceMlp(x, w1, b1, w2, b2, scale, residual);
                    assertEquals(Arrays.toString(yShape), Arrays.toString(y.shape()), what);
                    assertClose(what, p, y.toFloatArray(), 5e-6);
                    assertArrayEquals(y.toFloatArray(), yThree.toFloatArray(), what);
                }
            }
        }
    }

    @Test
    void windowedConvolutionsMatchReference() {
        SplittableRandom random = new SplittableRandom(13);
        // {N, C, H, W, O, kh, kw, padTop, padBottom, padLeft, padRight}: output rows shorter
        // and longer than a strip, kernels wider than the image, uneven padding, no padding
        long[][] cases = {
            {3, 5, 5, 7, 7, 3, 3, 1, 1, 1, 1}, {2, 4, 3, 3, 13, 5, 5, 2, 2, 2, 2},
            {2, 3, 9, 40, 6, 3, 3, 0, 1, 1, 0}, {1, 7, 6, 6, 5, 2, 2, 0, 1, 0, 1},
            {4, 2, 11, 5, 9, 3, 1, 1, 1, 0, 0}, {2, 24, 16, 16, 24, 3, 3, 1, 1, 1, 1},
        };
        // the same with strides {sh, sw}: TF 'same' padding (more at the end), patchify
        // (2×2 stride 2), odd sizes, rows of a strip and more, a 1×1 with stride 2
        long[][] strided = {
            {2, 3, 9, 40, 7, 3, 3, 0, 1, 0, 1, 2, 2}, {3, 5, 8, 8, 6, 2, 2, 0, 0, 0, 0, 2, 2},
            {2, 4, 7, 67, 5, 3, 3, 1, 1, 1, 1, 1, 2}, {1, 6, 11, 13, 8, 3, 3, 1, 1, 1, 1, 2, 2},
            {2, 8, 10, 10, 3, 1, 1, 0, 0, 0, 0, 2, 2}, {2, 3, 33, 65, 4, 4, 4, 0, 0, 0, 0, 4, 2},
        };
        try (CpuBackend one = new CpuBackend(1, GemmChoice.AUTO);
                CpuBackend three = new CpuBackend(3, GemmChoice.JAVA)) {
            java.util.List<long[]> all = new java.util.ArrayList<>();
            for (long[] t : cases) {
                all.add(java.util.Arrays.copyOf(t, 13));
                all.get(all.size() - 1)[11] = 1;
                all.get(all.size() - 1)[12] = 1;
            }
            all.addAll(java.util.List.of(strided));
            for (long[] t : all) {
                long[] xShape = {t[0], t[1], t[2], t[3]};
                long[] wShape = {t[4], t[1], t[5], t[6]};
                Conv2dSpec spec = new Conv2dSpec((int) t[11], (int) t[12], (int) t[7],
                        (int) t[8], (int) t[9], (int) t[10], 1, 1, 1);
                String what = Arrays.toString(xShape) + " * " + Arrays.toString(wShape) + " "
                        + spec;
                try (Tensor x = random(random, -1, 1, xShape);
                        Tensor w = random(random, -0.5, 0.5, wShape);
                        Tensor b = random(random, -0.5, 0.5, t[4]);
                        Tensor y = one.conv2d(x, w, b, spec, Activation.SILU);
                        Tensor yThree = three.conv2d(x, w, b, spec, Activation.SILU)) {
                    double[] expected = Reference.conv2d(x.toFloatArray(), xShape,
                            w.toFloatArray(), wShape, b.toFloatArray(), spec, Activation.SILU);
                    assertClose(what, expected, y.toFloatArray(), 2e-6);
                    assertArrayEquals(y.toFloatArray(), yThree.toFloatArray(), what);
                }
            }
        }
    }

    /**
     * Weights of more than 8 MiB (ConvNeXt's last stage, 768 → 3072 → 768) take blocks four
     * times as wide: here two, of 128 and 32 pixels, strips across two images.
     */
    @Test
    void channelMlpWithStreamedWeightsMatchesReference() {
        SplittableRandom random = new SplittableRandom(13);
        long[] xShape = {2, 768, 8, 10};
        int c = 768;
        int hidden = 3072;
        long[] yShape = {2, c, 8, 10};
        assertEquals(128, PixelProducts.blockWidth(160, hidden, 4 * 96 * 1024, 2));
        try (CpuBackend one = new CpuBackend(1, GemmChoice.JAVA);
                CpuBackend three = new CpuBackend(3, GemmChoice.JAVA);
                Tensor x = random(random, -1, 1, xShape);
                Tensor w1 = random(random, -0.05, 0.05, hidden, c, 1, 1);
                Tensor b1 = random(random, -0.3, 0.3, hidden);
                Tensor w2 = random(random, -0.05, 0.05, c, hidden, 1, 1);
                Tensor b2 = random(random, -0.3, 0.3, c);
                Tensor scale = random(random, -1, 1, c);
                Tensor residual = random(random, -1, 1, yShape);
                Tensor y = one.channelMlp(x, w1, b1, Activation.GELU, w2, b2, scale, residual);
                Tensor yThree = three.channelMlp(x, w1, b1, Activation.GELU, w2, b2, scale,
                        residual)) {
            double[] p = referenceMlp(x, w1, b1, w2, b2, scale, residual);
            assertClose("768 → 3072 → 768", p, y.toFloatArray(), 5e-6);
            assertArrayEquals(y.toFloatArray(), yThree.toFloatArray());
        }
    }

    /**
     * {@code residual + scale ⊙ (W2 · gelu(W1 · x + b1) + b2)} in double precision, the
     * hidden layer rounded to float as the engine keeps it.
     */
    private static double[] referenceMlp(Tensor x, Tensor w1, Tensor b1, Tensor w2, Tensor b2,
            Tensor scale, Tensor residual) {
        long[] xShape = x.shape();
        double[] h = Reference.conv2d(x.toFloatArray(), xShape, w1.toFloatArray(), w1.shape(),
                b1.toFloatArray(), POINTWISE, Activation.GELU);
        float[] hidden32 = new float[h.length];
        for (int i = 0; i < h.length; i++) {
            hidden32[i] = (float) h[i];
        }
        long[] hShape = {xShape[0], w1.dim(0), xShape[2], xShape[3]};
        double[] p = Reference.conv2d(hidden32, hShape, w2.toFloatArray(), w2.shape(),
                b2.toFloatArray(), POINTWISE, Activation.IDENTITY);
        float[] s = scale.toFloatArray();
        float[] r = residual.toFloatArray();
        long plane = xShape[2] * xShape[3];
        int out = (int) w2.dim(0);
        for (int i = 0; i < p.length; i++) {
            p[i] = r[i] + s[(int) (i / plane % out)] * p[i];
        }
        return p;
    }

    @Test
    void blocksAreWholeStripsAndEnoughOfThem() {
        for (long pixels : new long[] {1, 31, 32, 400, 1600, 25_600}) {
            for (int rows : new int[] {1, 96, 384, 3072, 100_000}) {
                int width = PixelProducts.blockWidth(pixels, rows);
                String what = pixels + " pixels, " + rows + " rows";
                assertEquals(0, width % PixelProducts.NR, what);
                long blocks = (pixels + width - 1) / width;
                if (width > PixelProducts.NR) {
                    assertEquals(true, blocks >= 8, what + ": " + blocks + " blocks");
                }
                int wide = PixelProducts.blockWidth(pixels, rows, 4 * 96 * 1024, 2);
                assertEquals(0, wide % PixelProducts.NR, what);
                if (wide > PixelProducts.NR) {
                    assertEquals(true, (pixels + wide - 1) / wide >= 2, what + ", wide");
                }
            }
        }
    }

    /**
     * Uploaded weights are packed once and their strips kept: every later call, and a new
     * weight uploaded after an old one was closed (its memory may be reused), gives the same
     * bits as the same weight not uploaded, which is packed on every call.
     */
    @Test
    void uploadedWeightsKeepTheirPackedStrips() {
        SplittableRandom random = new SplittableRandom(23);
        Conv2dSpec dense = Conv2dSpec.symmetric(1, 1, 1, 1);
        try (CpuBackend cpu = new CpuBackend(2, GemmChoice.JAVA);
                Tensor small = random(random, -1, 1, 3, 20, 5, 5);
                Tensor large = random(random, -1, 1, 2, 20, 17, 19);
                Tensor gate = random(random, 0, 1, 3, 20)) {
            for (int round = 0; round < 3; round++) {
                try (Tensor w = random(random, -0.5, 0.5, 13, 20, 1, 1);
                        Tensor w3 = random(random, -0.5, 0.5, 7, 20, 3, 3);
                        Tensor w2 = random(random, -0.5, 0.5, 20, 13, 1, 1);
                        Tensor b = random(random, -0.5, 0.5, 13);
                        Tensor up = cpu.upload(w);
                        Tensor up3 = cpu.upload(w3);
                        Tensor up2 = cpu.upload(w2)) {
                    for (int call = 0; call < 2; call++) {
                        String what = "round " + round + ", call " + call;
                        try (Tensor a = cpu.conv2d(small, w, b, POINTWISE, Activation.SILU);
                                Tensor e = cpu.conv2d(small, up, b, POINTWISE, Activation.SILU);
                                Tensor ga = cpu.gatedConv2d(small, gate, w, b, POINTWISE,
                                        Activation.IDENTITY);
                                Tensor ge = cpu.gatedConv2d(small, gate, up, b, POINTWISE,
                                        Activation.IDENTITY);
                                Tensor da = cpu.conv2d(large, w3, null, dense, Activation.GELU);
                                Tensor de = cpu.conv2d(large, up3, null, dense, Activation.GELU);
                                Tensor ma = cpu.channelMlp(small, w, b, Activation.GELU, w2,
                                        null, null, small);
                                Tensor me = cpu.channelMlp(small, up, b, Activation.GELU, up2,
                                        null, null, small)) {
                            assertArrayEquals(a.toFloatArray(), e.toFloatArray(), what);
                            assertArrayEquals(ga.toFloatArray(), ge.toFloatArray(), what);
                            assertArrayEquals(da.toFloatArray(), de.toFloatArray(), what);
                            assertArrayEquals(ma.toFloatArray(), me.toFloatArray(), what);
                        }
                    }
                    // the three uploaded weights, and those of earlier rounds not yet collected
                    assertTrue(cpu.keptWeights() >= 3, "kept " + cpu.keptWeights());
                }
            }
        }
    }

    /**
     * A residual added as the products write their output gives the bits of the convolution
     * followed by an addition: 1×1 over small images (strips within one image and across
     * several), gated and not, dense 3×3, and the shapes that fall back to the two calls (a
     * large image, a depthwise convolution); a residual of the wrong shape is refused.
     */
    @Test
    void residualAddedOnTheWayOutMatchesConvolutionThenAdd() {
        SplittableRandom random = new SplittableRandom(29);
        Conv2dSpec dense = Conv2dSpec.symmetric(1, 1, 1, 1);
        Conv2dSpec depthwise = Conv2dSpec.symmetric(1, 1, 1, 8);
        Object[][] cases = {
            {new long[] {5, 12, 7, 7}, new long[] {9, 12, 1, 1}, POINTWISE, true},
            {new long[] {3, 8, 8, 8}, new long[] {13, 8, 1, 1}, POINTWISE, true},
            {new long[] {2, 6, 17, 19}, new long[] {7, 6, 3, 3}, dense, false},
            {new long[] {2, 8, 20, 20}, new long[] {5, 8, 1, 1}, POINTWISE, false},
            {new long[] {2, 8, 9, 9}, new long[] {8, 1, 3, 3}, depthwise, false},
        };
        try (CpuBackend cpu = new CpuBackend(3, GemmChoice.JAVA)) {
            for (Object[] c : cases) {
                long[] xs = (long[]) c[0];
                long[] ws = (long[]) c[1];
                Conv2dSpec spec = (Conv2dSpec) c[2];
                String what = Arrays.toString(xs) + " * " + Arrays.toString(ws);
                try (Tensor x = random(random, -1, 1, xs);
                        Tensor w = random(random, -0.5, 0.5, ws);
                        Tensor b = random(random, -0.5, 0.5, ws[0]);
                        Tensor plain = cpu.conv2d(x, w, b, spec, Activation.SILU);
                        Tensor r = random(random, -1, 1, plain.shape());
                        Tensor expected = cpu.add(plain, r);
                        Tensor fused = cpu.conv2dAdd(x, null, w, b, spec, Activation.SILU, r)) {
                    assertArrayEquals(expected.toFloatArray(), fused.toFloatArray(), what);
                    if ((Boolean) c[3]) {
                        try (Tensor gate = random(random, 0, 1, xs[0], xs[1]);
                                Tensor gated = cpu.gatedConv2d(x, gate, w, b, spec,
                                        Activation.IDENTITY);
                                Tensor gatedExpected = cpu.add(gated, r);
                                Tensor gatedFused = cpu.conv2dAdd(x, gate, w, b, spec,
                                        Activation.IDENTITY, r)) {
                            assertArrayEquals(gatedExpected.toFloatArray(),
                                    gatedFused.toFloatArray(), what + " gated");
                        }
                    }
                    try (Tensor wrong = random(random, -1, 1, xs[0], ws[0] + 1, 1, 1)) {
                        assertThrows(IllegalArgumentException.class, () -> cpu.conv2dAdd(x,
                                null, w, b, spec, Activation.SILU, wrong), what);
                    }
                }
            }
        }
    }
}
