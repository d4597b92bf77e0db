package dev.lumbar.engine.backend.cpu;

import static dev.lumbar.engine.backend.cpu.Reference.assertClose;
import static dev.lumbar.engine.backend.cpu.Reference.assertSameBits;
import static dev.lumbar.engine.backend.cpu.Reference.random;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lumbar.engine.backend.Activation;
import dev.lumbar.engine.backend.Conv2dSpec;
import dev.lumbar.engine.backend.GatedActivations;
import dev.lumbar.engine.backend.cpu.CpuBackend.GemmChoice;
import dev.lumbar.engine.tensor.Tensor;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Depthwise 7×7, stride 1, dilation 1 over output rows wider than a vector, where four
 * output rows at a time go through {@code Convolutions.fourRowsOfSevenBySeven} (with 8-float
 * vectors three rows at a time through {@code threeRowsOfSevenBySeven}) and the outH mod 4
 * (or mod 3) rows left over through the tap-by-tap kernel: output widths around multiples
 * of 16, heights 1 to 9, symmetric, one-sided and over-wide padding, channels and batches
 * that are not multiples of 16, every activation, with and without bias, against the
 * double-precision reference, bit for bit across 1 and 3 threads, and bit for bit against
 * the sums in the order the kernels document.
 */
class SevenBySevenEdgeTest {

    private static final int[] WIDTHS = {17, 31, 32, 33, 47, 48, 49, 64, 100};
    /** {top, bottom, left, right}; clamped per shape so that the input is not empty. */
    private static final int[][] PADS = {
        {3, 3, 3, 3}, {0, 6, 6, 0}, {6, 0, 0, 6}, {0, 0, 0, 0}, {5, 4, 7, 2}, {9, 8, 1, 10},
        {2, 7, 4, 3}};
    private static final int[] CHANNELS = {1, 2, 3, 5, 17};

    private static CpuBackend one;
    private static CpuBackend three;

    @BeforeAll
    static void open() {
        one = new CpuBackend(1, GemmChoice.JAVA);
        three = new CpuBackend(3, GemmChoice.JAVA);
    }

    @AfterAll
    static void close() {
        one.close();
        three.close();
    }

    /** Input size along one axis for {@code out} outputs; pads adjusted to leave one. */
    private static int[] inputFor(int out, int before, int after) {
        int in = out + 6 - before - after;
        if (in < 1) {
            after = Math.max(0, out + 5 - before);
            if (out + 6 - before - after < 1) {
                before = out + 5;
                after = 0;
            }
            in = out + 6 - before - after;
        }
        return new int[] {in, before, after};
    }

    @Test
    void everyWidthAndHeightMatchesTheReferenceAndTheDocumentedOrder() {
        SplittableRandom random = new SplittableRandom(7_077);
        Activation[] acts = Activation.values();
        int k = 0;
        for (int wi = 0; wi < WIDTHS.length; wi++) {
            for (int outH = 1; outH <= 9; outH++, k++) {
                // widths visited out of order, so thread buffers shrink and grow between calls
                int outW = WIDTHS[(wi * 4 + outH) % WIDTHS.length];
                int[] pad = PADS[k % PADS.length];
                int[] v = inputFor(outH, pad[0], pad[1]);
                int[] u = inputFor(outW, pad[2], pad[3]);
                Conv2dSpec spec = new Conv2dSpec(1, 1, v[1], v[2], u[1], u[2], 1, 1, 1);
                int n = 1 + k % 3;
                int c = CHANNELS[k % CHANNELS.length];
                Activation act = acts[k % acts.length];
                boolean withBias = k % 2 == 0;
                check(random, n, c, v[0], u[0], spec, act, withBias);
                // identity a second time, so every shape gets the bit-for-bit order check
                if (act != Activation.IDENTITY) {
                    check(random, n, c, v[0], u[0], spec, Activation.IDENTITY, !withBias);
                }
            }
        }
    }

    /** The sizes named for this path, each with the usual ConvNeXt padding of 3. */
    @Test
    void namedWidthsAndHeightsWithSymmetricPadding() {
        SplittableRandom random = new SplittableRandom(7_078);
        for (int w : WIDTHS) {
            for (int h : new int[] {1, 2, 3, 4, 5, 6, 7, 8, 9}) {
                Conv2dSpec depthwise = new Conv2dSpec(1, 1, 3, 3, 3, 3, 1, 1, 3);
                check(random, 2, 3, h, w, depthwise, Activation.IDENTITY, h % 2 == 1);
            }
        }
        // a one-pixel input padded out to rows wider than a vector, and a one-row one
        check(random, 1, 2, 1, 1, new Conv2dSpec(1, 1, 4, 4, 11, 11, 1, 1, 2),
                Activation.GELU, true);
        check(random, 3, 1, 1, 40, new Conv2dSpec(1, 1, 6, 6, 0, 0, 1, 1, 1),
                Activation.IDENTITY, true);
    }

    /**
     * A NaN input pixel and an infinite one: NaN and infinities exactly where the reference
     * has them, in the four-row blocks and the rows left over alike.
     */
    @Test
    void nonFiniteInputsReachExactlyTheOutputsWhoseWindowsHoldThem() {
        SplittableRandom random = new SplittableRandom(7_079);
        long[] xShape = {2, 3, 11, 37};
        long[] wShape = {3, 1, 7, 7};
        Conv2dSpec spec = new Conv2dSpec(1, 1, 3, 3, 3, 3, 1, 1, 3);
        try (Tensor x = random(random, -1, 1, xShape);
                Tensor w = random(random, -0.5, 0.5, wShape);
                Tensor b = random(random, -0.5, 0.5, 3)) {
            float[] xs = x.toFloatArray();
            int plane = 11 * 37;
            xs[2 * 37 + 30] = Float.NaN; // image 0, channel 0, row 2
            xs[plane + 9 * 37 + 20] = Float.POSITIVE_INFINITY; // image 0, channel 1, row 9
            xs[5 * plane + 10 * 37 + 36] = Float.NEGATIVE_INFINITY; // image 1, last corner
            try (Tensor special = Tensor.of(xs, xShape);
                    Tensor y1 = one.conv2d(special, w, b, spec, Activation.IDENTITY);
                    Tensor y3 = three.conv2d(special, w, b, spec, Activation.IDENTITY)) {
                double[] expected = Reference.conv2d(xs, xShape, w.toFloatArray(), wShape,
                        b.toFloatArray(), spec, Activation.IDENTITY);
                Reference.assertSameSpecials("NaN and infinite inputs", expected,
                        y1.toFloatArray());
                assertSameBits("NaN and infinite inputs, 3 threads", y1.toFloatArray(),
                        y3.toFloatArray());
            }
        }
    }

    /**
     * A NaN weight is multiplied by the padding's zeros too, so every output of its channel
     * is NaN, in the four-row blocks and the rows left over alike; other channels are finite.
     */
    @Test
    void aNanWeightMakesItsWholeChannelNanInEveryRowKernel() {
        SplittableRandom random = new SplittableRandom(7_080);
        for (int h : new int[] {4, 5, 6, 7}) {
            long[] xShape = {2, 3, h, 35};
            try (Tensor x = random(random, -1, 1, xShape)) {
                float[] ws = new float[3 * 49];
                for (int i = 0; i < ws.length; i++) {
                    ws[i] = (float) (random.nextDouble() - 0.5);
                }
                ws[49 + 6] = Float.NaN; // channel 1, top-right tap
                try (Tensor w = Tensor.of(ws, 3, 1, 7, 7);
                        Tensor y = one.conv2d(x, w, null, Conv2dSpec.symmetric(1, 3, 1, 3),
                                Activation.IDENTITY)) {
                    float[] ys = y.toFloatArray();
                    int plane = h * 35;
                    for (int i = 0; i < ys.length; i++) {
                        int channel = i / plane % 3;
                        assertEquals(channel == 1, Float.isNaN(ys[i]),
                                "h " + h + " element " + i + " (channel " + channel + ")");
                    }
                }
            }
        }
    }

    private static void check(SplittableRandom random, int n, int c, int h, int w,
            Conv2dSpec base, Activation act, boolean withBias) {
        Conv2dSpec spec = new Conv2dSpec(1, 1, base.padTop(), base.padBottom(), base.padLeft(),
                base.padRight(), 1, 1, c);
        long[] xShape = {n, c, h, w};
        long[] wShape = {c, 1, 7, 7};
        int outH = spec.outH(h, 7);
        int outW = spec.outW(w, 7);
        String what = Arrays.toString(xShape) + " " + spec + " " + act
                + (withBias ? " bias" : "") + " -> " + outH + "x" + outW;
        assertTrue(outW > Pointwise.L, what + ": rows should be wider than a vector");
        try (Tensor x = random(random, -1, 1, xShape);
                Tensor wt = random(random, -0.5, 0.5, wShape);
                Tensor b = withBias ? random(random, -0.5, 0.5, c) : null;
                Tensor y1 = one.conv2d(x, wt, b, spec, act);
                Tensor y3 = three.conv2d(x, wt, b, spec, act)) {
            assertArrayEquals(new long[] {n, c, outH, outW}, y1.shape(), what);
            float[] xs = x.toFloatArray();
            float[] ws = wt.toFloatArray();
            float[] bs = b == null ? null : b.toFloatArray();
            double[] expected = Reference.conv2d(xs, xShape, ws, wShape, bs, spec, act);
            float[] got = y1.toFloatArray();
            assertClose(what, expected, got, 2e-6);
            assertSameBits(what + " on 3 threads", got, y3.toFloatArray());
            if (act == Activation.IDENTITY) {
                assertSameBits(what + " in the documented order",
                        documentedOrder(xs, n, c, h, w, ws, bs, spec), got);
            }
        }
    }

    /**
     * Each output as the depthwise row kernels document it: the bias, then fused
     * multiply-adds over the zero-padded plane, kernel column by column (kx outer, ky inner)
     * for the rows of whole groups of four (three with 8-float vectors), tap by tap (ky outer)
     * for the rows left over; then identity's {@code + 0f}.
     */
    private static float[] documentedOrder(float[] x, int n, int c, int h, int w, float[] wt,
            float[] bias, Conv2dSpec s) {
        int outH = s.outH(h, 7);
        int outW = s.outW(w, 7);
        float[] y = new float[n * c * outH * outW];
        int group = Pointwise.L == 8 ? 3 : 4;
        int grouped = outW > Pointwise.L ? outH / group * group : 0;
        for (int p = 0; p < n * c; p++) {
            int ch = p % c;
            for (int oy = 0; oy < outH; oy++) {
                for (int ox = 0; ox < outW; ox++) {
                    float acc = bias == null ? 0f : bias[ch];
                    for (int outer = 0; outer < 7; outer++) {
                        for (int inner = 0; inner < 7; inner++) {
                            int ky = oy < grouped ? inner : outer;
                            int kx = oy < grouped ? outer : inner;
                            int iy = oy + ky - s.padTop();
                            int ix = ox + kx - s.padLeft();
                            float v = iy < 0 || iy >= h || ix < 0 || ix >= w ? 0f
                                    : x[(p * h + iy) * w + ix];
                            acc = Math.fma(v, wt[ch * 49 + ky * 7 + kx], acc);
                        }
                    }
                    y[(p * outH + oy) * outW + ox] = acc + 0f;
                }
            }
        }
        return y;
    }

    /**
     * The same kernel under a squeeze-excite gate ({@code conv2dWithGate}, which takes the
     * planes' means as it goes, 16 planes to a task): the activations are conv2d's bits, the
     * gate the reference's, and both the same on 1 and 3 threads.
     */
    @Test
    void underASqueezeExciteGateTheActivationsAreConv2dsBits() {
        SplittableRandom random = new SplittableRandom(7_081);
        // {images, channels, height, width}
        int[][] shapes = {{1, 16, 5, 17}, {3, 17, 9, 33}, {2, 33, 4, 100}, {5, 3, 7, 48},
            {1, 1, 1, 64}};
        Activation[] acts = {Activation.SILU, Activation.GELU, Activation.IDENTITY,
            Activation.RELU, Activation.TANH};
        for (int i = 0; i < shapes.length; i++) {
            int[] s = shapes[i];
            int n = s[0], c = s[1], reduced = Math.max(1, c / 4);
            Conv2dSpec spec = Conv2dSpec.symmetric(1, 3, 1, c);
            Activation act = acts[i];
            String what = Arrays.toString(s) + " " + act + " gated";
            try (Tensor x = random(random, -1, 1, n, c, s[2], s[3]);
                    Tensor w = random(random, -0.5, 0.5, c, 1, 7, 7);
                    Tensor b = random(random, -0.5, 0.5, c);
                    Tensor rw = random(random, -0.5, 0.5, reduced, c, 1, 1);
                    Tensor rb = random(random, -0.5, 0.5, reduced);
                    Tensor ew = random(random, -0.5, 0.5, c, reduced, 1, 1);
                    Tensor eb = random(random, -0.5, 0.5, c);
                    Tensor plain = one.conv2d(x, w, b, spec, act);
                    GatedActivations g1 = one.conv2dWithGate(x, w, b, spec, act, rw, rb, ew,
                            eb, Activation.SILU);
                    GatedActivations g3 = three.conv2dWithGate(x, w, b, spec, act, rw, rb, ew,
                            eb, Activation.SILU)) {
                float[] y = plain.toFloatArray();
                assertSameBits(what + " activations", y, g1.activations().toFloatArray());
                assertSameBits(what + " activations, 3 threads", y,
                        g3.activations().toFloatArray());
                assertSameBits(what + " gate, 3 threads", g1.gate().toFloatArray(),
                        g3.gate().toFloatArray());
                double[] gate = Reference.squeezeExciteGate(y, n, c, s[2] * s[3],
                        rw.toFloatArray(), rb.toFloatArray(), ew.toFloatArray(),
                        eb.toFloatArray(), reduced, Activation.SILU);
                assertClose(what + " gate", gate, g1.gate().toFloatArray(), 1e-5);
            }
        }
    }

    @Test
    void theHelperClampsPaddingSoThatTheInputIsNotEmpty() {
        assertArrayEquals(new int[] {1, 5, 1}, inputFor(1, 5, 4));
        assertArrayEquals(new int[] {1, 6, 0}, inputFor(1, 9, 8));
        assertFalse(inputFor(3, 0, 0)[0] < 1);
    }
}
