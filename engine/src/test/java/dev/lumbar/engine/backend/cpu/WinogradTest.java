package dev.lumbar.engine.backend.cpu;

import static dev.lumbar.engine.backend.cpu.Reference.assertClose;
import static dev.lumbar.engine.backend.cpu.Reference.assertSameBits;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lumbar.engine.backend.Activation;
import dev.lumbar.engine.backend.Conv2dSpec;
import dev.lumbar.engine.backend.cpu.CpuBackend.GemmChoice;
import dev.lumbar.engine.backend.InvertedResidual;
import dev.lumbar.engine.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import jdk.incubator.vector.FloatVector;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Dense 3×3 convolutions by Winograd's F(2×2, 3×3) ({@link Winograd}): which shapes take it,
 * the transformed weights, and convolutions against the double-precision reference with and
 * without a bias, residual and activation, over bands of tile rows that do not divide the
 * image, rows of tiles that do not fill their vectors, several images, asymmetric padding,
 * output channels that are not whole register tiles and sums longer than one chunk; the
 * same bits on any number of threads, for uploaded weights, and for the fused MBConv block
 * against its two calls; few output channels left to the direct path; and where a NaN in
 * the input reaches.
 */
class WinogradTest {

    private static final int L = FloatVector.SPECIES_PREFERRED.length();
    private static final Conv2dSpec SAME = Conv2dSpec.symmetric(1, 1, 1, 1);
    private static final Conv2dSpec POINTWISE = Conv2dSpec.symmetric(1, 0, 1, 1);

    private static CpuBackend one;
    private static CpuBackend two;
    private static CpuBackend three;

    @BeforeAll
    static void backends() {
        one = new CpuBackend(1, GemmChoice.JAVA);
        two = new CpuBackend(2, GemmChoice.AUTO);
        three = new CpuBackend(3, GemmChoice.JAVA);
    }

    @AfterAll
    static void close() {
        one.close();
        two.close();
        three.close();
    }

    private static PixelProducts.Window window(int h, int w, int k, int stride, int top,
            int bottom, int left, int right) {
        Conv2dSpec spec = new Conv2dSpec(stride, stride, top, bottom, left, right, 1, 1, 1);
        return new PixelProducts.Window(h, w, k, k, stride, stride, top, left,
                spec.outH(h, k), spec.outW(w, k));
    }

    @Test
    void onlyStrideOneThreeByThreeWithWholeTilesFullVectorsAndEnoughChannels() {
        int c = Winograd.MIN_CHANNELS;
        int o = Winograd.MIN_OUTPUTS;
        // a row of 2L tiles, or of slightly fewer, fills its vectors
        assertTrue(Winograd.fits(window(8, 4 * L, 3, 1, 1, 1, 1, 1), c, o));
        assertTrue(Winograd.fits(window(8, 4 * L - 2, 3, 1, 1, 1, 1, 1), c, o));
        assertTrue(Winograd.fits(window(2, 2 * L, 3, 1, 1, 1, 1, 1), c, o));
        // EfficientNetV2-S's fused blocks at 224 (28 and 14 tiles a row); its first stage's
        // 24 → 24 has too few channels
        assertTrue(Winograd.fits(window(56, 56, 3, 1, 1, 1, 1, 1), 48, 192));
        assertTrue(Winograd.fits(window(28, 28, 3, 1, 1, 1, 1, 1), 64, 256));
        assertFalse(Winograd.fits(window(112, 112, 3, 1, 1, 1, 1, 1), 24, 24));
        assertFalse(Winograd.fits(window(8, 4 * L, 3, 1, 1, 1, 1, 1), c - 1, o), "few inputs");
        assertFalse(Winograd.fits(window(8, 4 * L, 3, 1, 1, 1, 1, 1), c, o - 1),
                "few outputs");
        assertFalse(Winograd.fits(window(9, 4 * L, 3, 1, 1, 1, 1, 1), c, o), "odd rows");
        assertFalse(Winograd.fits(window(8, 4 * L + 1, 3, 1, 1, 1, 1, 1), c, o),
                "odd columns");
        assertFalse(Winograd.fits(window(8, 2 * L + 2, 3, 1, 1, 1, 1, 1), c, o),
                "a row of tiles one past a whole vector");
        assertFalse(Winograd.fits(window(8, 4 * L, 3, 2, 1, 1, 1, 1), c, o), "stride 2");
        assertFalse(Winograd.fits(window(8, 4 * L, 5, 1, 2, 2, 2, 2), c, o), "5×5");
        assertFalse(Winograd.fits(window(1, 4 * L, 3, 1, 1, 0, 1, 1), c, o), "no whole tile");
        // a padding that leaves an even output is fine
        assertTrue(Winograd.fits(window(8, 4 * L, 3, 1, 0, 2, 2, 0), c, o));
    }

    @Test
    void fewOutputsTakeTheDirectPath() {
        SplittableRandom random = new SplittableRandom(5);
        int o = Winograd.MIN_OUTPUTS - 1;
        try (Tensor x = Reference.random(random, -1, 1, 2, 32, 4, 2 * L);
                Tensor w = Reference.random(random, -0.1, 0.1, o, 32, 3, 3);
                Tensor y = two.conv2d(x, w, null, SAME, Activation.IDENTITY)) {
            PixelProducts.Window win = window(4, 2 * L, 3, 1, 1, 1, 1, 1);
            try (Tensor direct = Tensor.zeros(y.shape()); WorkerPool pool = new WorkerPool(1)) {
                new PixelProducts(pool).convolve(
                        new PixelProducts.Images(2, 32, 4L * 2 * L), win, x.segment(), o,
                        w.segment(), null, null, Activation.IDENTITY, direct.segment(), null);
                assertSameBits(o + " outputs", direct.toFloatArray(), y.toFloatArray());
            }
        }
    }

    @Test
    void weightsAreTheTransformedKernelsInTheKernelsStrips() {
        SplittableRandom random = new SplittableRandom(3);
        int o = 2 * PixelProducts.MR + 1;
        int c = 5;
        try (Tensor w = Reference.random(random, -1, 1, o, c, 3, 3)) {
            float[] g = w.toFloatArray();
            int rows = Winograd.paddedRows(o);
            assertEquals(3 * PixelProducts.MR, rows);
            // a buffer longer than the weights, holding another call's values
            float[] u = new float[Winograd.POSITIONS * rows * c + 7];
            java.util.Arrays.fill(u, Float.NaN);
            Winograd.weights(w.segment(), o, c, u);
            for (int i = Winograd.POSITIONS * rows * c; i < u.length; i++) {
                assertTrue(Float.isNaN(u[i]), "past the weights, untouched");
            }
            double[][] gm = {{1, 0, 0}, {0.5, 0.5, 0.5}, {0.5, -0.5, 0.5}, {0, 0, 1}};
            for (int out = 0; out < rows; out++) {
                for (int in = 0; in < c; in++) {
                    for (int i = 0; i < 4; i++) {
                        for (int j = 0; j < 4; j++) {
                            double expected = 0;
                            if (out < o) {
                                for (int a = 0; a < 3; a++) {
                                    for (int b = 0; b < 3; b++) {
                                        expected += gm[i][a] * gm[j][b]
                                                * g[((out * c + in) * 3 + a) * 3 + b];
                                    }
                                }
                            }
                            int strip = out / PixelProducts.MR * PixelProducts.MR;
                            float actual = u[((4 * i + j) * rows + strip) * c
                                    + in * PixelProducts.MR + out % PixelProducts.MR];
                            assertEquals((float) expected, actual, 1e-6f,
                                    "output " + out + ", input " + in + ", position " + i + j);
                        }
                    }
                }
            }
        }
    }

    /** {n, c, h, w, o, padTop, padBottom, padLeft, padRight} */
    private static List<int[]> shapes() {
        List<int[]> shapes = new ArrayList<>();
        // tile rows that fill their vectors, one and several bands, several images
        shapes.add(new int[] {1, 32, 4, 4 * L, 24, 1, 1, 1, 1});
        shapes.add(new int[] {3, 33, 10, 4 * L - 2, 31, 1, 1, 1, 1});
        // more rows of tiles than a band holds, the last band short
        shapes.add(new int[] {2, 40, 2 * L + 6, 2 * L, 25, 1, 1, 1, 1});
        // asymmetric padding, rectangular planes
        shapes.add(new int[] {2, 32, 12, 2 * L, 30, 0, 2, 2, 0});
        shapes.add(new int[] {1, 36, 8, 2 * L + 1, 27, 2, 0, 0, 1});
        // sums over more than one chunk of the kernel
        shapes.add(new int[] {1, 600, 4, 2 * L, 26, 1, 1, 1, 1});
        // EfficientNetV2-S's fused block at 224, one image
        shapes.add(new int[] {1, 48, 56, 56, 40, 1, 1, 1, 1});
        return shapes;
    }

    private static Conv2dSpec spec(int[] s) {
        return new Conv2dSpec(1, 1, s[5], s[6], s[7], s[8], 1, 1, 1);
    }

    @Test
    void convolutionsMatchTheReferenceAndGiveTheSameBitsOnAnyThreadCount() {
        SplittableRandom random = new SplittableRandom(7);
        for (int[] s : shapes()) {
            Conv2dSpec spec = spec(s);
            int outH = spec.outH(s[2], 3);
            int outW = spec.outW(s[3], 3);
            PixelProducts.Window win = new PixelProducts.Window(s[2], s[3], 3, 3, 1, 1, s[5],
                    s[7], outH, outW);
            assertTrue(Winograd.fits(win, s[1], s[4]), java.util.Arrays.toString(s) + " fits");
            double e = 1.5 / Math.sqrt(9.0 * s[1]);
            for (Activation act : new Activation[] {Activation.SILU, Activation.IDENTITY,
                    Activation.GELU}) {
                for (boolean withBias : new boolean[] {true, false}) {
                    try (Tensor x = Reference.random(random, -2, 2, s[0], s[1], s[2], s[3]);
                            Tensor w = Reference.random(random, -e, e, s[4], s[1], 3, 3);
                            Tensor b = withBias ? Reference.random(random, -0.5, 0.5, s[4])
                                    : null;
                            Tensor r = Reference.random(random, -1, 1, s[0], s[4], outH, outW);
                            Tensor y = two.conv2d(x, w, b, spec, act);
                            Tensor added = two.conv2dAdd(x, null, w, b, spec, act, r)) {
                        String what = java.util.Arrays.toString(s) + " " + act
                                + (withBias ? "" : " no bias");
                        double[] expected = Reference.conv2d(x.toFloatArray(), x.shape(),
                                w.toFloatArray(), w.shape(), b == null ? null : b.toFloatArray(),
                                spec, act);
                        float[] got = y.toFloatArray();
                        assertClose(what, expected, got, 2e-6);
                        float[] residual = r.toFloatArray();
                        float[] sum = added.toFloatArray();
                        for (int i = 0; i < got.length; i++) {
                            assertEquals(Float.floatToIntBits(got[i] + residual[i]),
                                    Float.floatToIntBits(sum[i]), what + " + residual at " + i);
                        }
                        try (Tensor y1 = one.conv2d(x, w, b, spec, act);
                                Tensor y3 = three.conv2d(x, w, b, spec, act)) {
                            assertSameBits(what + " 1 thread", got, y1.toFloatArray());
                            assertSameBits(what + " 3 threads", got, y3.toFloatArray());
                        }
                    }
                }
            }
        }
    }

    @Test
    void eachImageGetsTheBitsItGetsAlone() {
        SplittableRandom random = new SplittableRandom(11);
        int c = 32;
        int h = 6;
        int w = 2 * L;
        try (Tensor x = Reference.random(random, -2, 2, 3, c, h, w);
                Tensor wt = Reference.random(random, -0.1, 0.1, 27, c, 3, 3);
                Tensor y = two.conv2d(x, wt, null, SAME, Activation.SILU)) {
            float[] all = y.toFloatArray();
            float[] xs = x.toFloatArray();
            int image = c * h * w;
            int out = 27 * h * w;
            for (int n = 0; n < 3; n++) {
                float[] alone = java.util.Arrays.copyOfRange(xs, n * image, (n + 1) * image);
                try (Tensor xn = Tensor.of(alone, 1, c, h, w);
                        Tensor yn = two.conv2d(xn, wt, null, SAME, Activation.SILU)) {
                    assertSameBits("image " + n, java.util.Arrays.copyOfRange(all, n * out,
                            (n + 1) * out), yn.toFloatArray());
                }
            }
        }
    }

    @Test
    void uploadedWeightsGiveThePlainWeightsBitsAndAreRefusedOnceClosed() {
        SplittableRandom random = new SplittableRandom(13);
        try (CpuBackend backend = new CpuBackend(2, GemmChoice.JAVA);
                Tensor x = Reference.random(random, -1, 1, 2, 32, 8, 2 * L);
                Tensor w = Reference.random(random, -0.1, 0.1, 26, 32, 3, 3);
                Tensor plain = backend.conv2d(x, w, null, SAME, Activation.SILU)) {
            Tensor kept = backend.upload(w);
            for (int call = 0; call < 2; call++) {
                try (Tensor y = backend.conv2d(x, kept, null, SAME, Activation.SILU)) {
                    assertSameBits("uploaded, call " + call, plain.toFloatArray(),
                            y.toFloatArray());
                }
            }
            assertEquals(1, backend.keptWeights(), "transformed once, kept");
            kept.close();
            assertThrows(IllegalStateException.class,
                    () -> backend.conv2d(x, kept, null, SAME, Activation.SILU).close());
        }
    }

    @Test
    void theFusedBlockGivesItsTwoCallsBits() {
        SplittableRandom random = new SplittableRandom(17);
        // the single image has at least 256 pixels at any vector width, so that its second
        // call also runs across images: the case with the fused block's bits
        int[][] shapes = {{2, 48, 12, 2 * L, 40, 12}, {1, 32, 20, 4 * L - 2, 29, 7},
            {3, 64, 2 * L + 2, 2 * L, 256, 64}};
        for (int[] s : shapes) {
            int n = s[0], c = s[1], h = s[2], w = s[3], hidden = s[4], out = s[5];
            double e = 1.5 / Math.sqrt(9.0 * c);
            double p = 1.5 / Math.sqrt(hidden);
            try (Tensor x = Reference.random(random, -2, 2, n, c, h, w);
                    Tensor ew = Reference.random(random, -e, e, hidden, c, 3, 3);
                    Tensor eb = Reference.random(random, -0.5, 0.5, hidden);
                    Tensor pw = Reference.random(random, -p, p, out, hidden, 1, 1);
                    Tensor pb = Reference.random(random, -0.5, 0.5, out);
                    Tensor residual = Reference.random(random, -1, 1, n, out, h, w)) {
                InvertedResidual.Conv expand =
                        new InvertedResidual.Conv(ew, eb, SAME, Activation.SILU);
                InvertedResidual.Conv project =
                        new InvertedResidual.Conv(pw, pb, POINTWISE, Activation.IDENTITY);
                String what = n + " × [" + c + ", " + h + ", " + w + "] → " + hidden + " → "
                        + out;
                for (Tensor r : new Tensor[] {residual, null}) {
                    try (Tensor fused = two.edgeResidual(x, expand, project, r);
                            Tensor e1 = two.conv2d(x, ew, eb, SAME, Activation.SILU);
                            Tensor calls = r == null
                                    ? two.conv2d(e1, pw, pb, POINTWISE, Activation.IDENTITY)
                                    : two.conv2dAdd(e1, null, pw, pb, POINTWISE,
                                            Activation.IDENTITY, r);
                            Tensor fused1 = one.edgeResidual(x, expand, project, r);
                            Tensor fused3 = three.edgeResidual(x, expand, project, r)) {
                        String with = what + (r == null ? "" : " + residual");
                        float[] bits = fused.toFloatArray();
                        assertSameBits(with + " against the two calls", calls.toFloatArray(),
                                bits);
                        assertSameBits(with + " 1 thread", bits, fused1.toFloatArray());
                        assertSameBits(with + " 3 threads", bits, fused3.toFloatArray());
                        double[] first = Reference.conv2d(x.toFloatArray(), x.shape(),
                                ew.toFloatArray(), ew.shape(), eb.toFloatArray(), SAME,
                                Activation.SILU);
                        float[] rounded = new float[first.length];
                        for (int i = 0; i < first.length; i++) {
                            rounded[i] = (float) first[i];
                        }
                        double[] expected = Reference.conv2d(rounded,
                                new long[] {n, hidden, h, w}, pw.toFloatArray(), pw.shape(),
                                pb.toFloatArray(), POINTWISE, Activation.IDENTITY);
                        if (r != null) {
                            float[] rv = r.toFloatArray();
                            for (int i = 0; i < expected.length; i++) {
                                expected[i] += rv[i];
                            }
                        }
                        assertClose(with, expected, bits, 2e-5);
                    }
                }
            }
        }
    }

    /**
     * A NaN in the input reaches exactly the outputs whose 3 × 3 windows hold it, as in a
     * direct convolution: the transforms' rows and columns that take the window's first and
     * last input rows and columns reach only the tile outputs whose windows hold them.
     */
    @Test
    void aNanReachesTheOutputsWhoseWindowsHoldIt() {
        SplittableRandom random = new SplittableRandom(19);
        int c = 32;
        int o = Winograd.MIN_OUTPUTS;
        int h = 8;
        int w = 2 * L;
        int[][] pixels = {{4, 7}, {0, 0}, {h - 1, w - 1}, {3, 4}, {5, 2}};
        for (int[] at : pixels) {
            int iy = at[0];
            int ix = at[1];
            try (Tensor x = Reference.random(random, -1, 1, 1, c, h, w);
                    Tensor wt = Reference.random(random, -0.1, 0.1, o, c, 3, 3)) {
                x.segment().setAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT,
                        ((long) 5 * h + iy) * w + ix, Float.NaN);
                try (Tensor y = two.conv2d(x, wt, null, SAME, Activation.IDENTITY)) {
                    float[] out = y.toFloatArray();
                    for (int k = 0; k < o; k++) {
                        for (int oy = 0; oy < h; oy++) {
                            for (int ox = 0; ox < w; ox++) {
                                float v = out[(k * h + oy) * w + ox];
                                boolean inWindow =
                                        Math.abs(iy - oy) <= 1 && Math.abs(ix - ox) <= 1;
                                String where = "NaN at (" + iy + ", " + ix + "), output " + k
                                        + " (" + oy + ", " + ox + "): " + v;
                                assertEquals(inWindow, Float.isNaN(v), where);
                            }
                        }
                    }
                }
            }
        }
    }
}
