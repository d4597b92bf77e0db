package dev.lumbar.engine.backend.cpu;

import static dev.lumbar.engine.backend.cpu.Reference.assertClose;
import static dev.lumbar.engine.backend.cpu.Reference.assertSameBits;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lumbar.engine.backend.Activation;
import dev.lumbar.engine.backend.Conv2dSpec;
import dev.lumbar.engine.backend.cpu.CpuBackend.GemmChoice;
import dev.lumbar.engine.tensor.Tensor;
import java.lang.foreign.MemorySegment;
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
 * The convolution from a zero-padded copy ({@link PixelProducts#convolvePadded}) at its
 * edges, against the packed windows ({@link PixelProducts#convolve}) bit for bit and a
 * double reference: one-pixel, one-row and one-column images, kernels larger than the image,
 * padding on one side only or wider than the kernel, output widths either side of a strip,
 * strips by row whose last strip runs into the next row, sums of many chunks, every
 * activation, NaN and infinities (in input, weights, bias and residual), a copy left full of
 * NaN by an earlier call, several threads at once, calls from inside a parallel loop,
 * uploaded weights, and the choice between the two paths at its limits.
 */
class PaddedConvolutionEdgeTest {

    private static final int NR = PixelProducts.NR;

    private static final float[] SPECIAL = {
        0f, -0f, Float.MIN_VALUE, -Float.MIN_VALUE, 1e-30f, 0.5f, -1f, 12.6f, -12.6f,
        88.7229f, -104f, Float.MAX_VALUE, -Float.MAX_VALUE, Float.POSITIVE_INFINITY,
        Float.NEGATIVE_INFINITY, Float.NaN};

    private static WorkerPool onePool;
    private static WorkerPool threePool;
    private static PixelProducts one;
    private static PixelProducts three;
    private static CpuBackend cpu;

    @BeforeAll
    static void pools() {
        onePool = new WorkerPool(1);
        threePool = new WorkerPool(3);
        one = new PixelProducts(onePool);
        three = new PixelProducts(threePool);
        cpu = new CpuBackend(3, GemmChoice.JAVA);
    }

    @AfterAll
    static void close() {
        onePool.close();
        threePool.close();
        cpu.close();
    }

    /** A convolution's shapes: stride 1, dilation 1, one group, padding per side. */
    record Shape(int n, int c, int h, int w, int o, int kh, int kw, int padTop,
            int padBottom, int padLeft, int padRight) {
        static Shape of(int... s) {
            return new Shape(s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7], s[8], s[9],
                    s[10]);
        }

        Conv2dSpec spec() {
            return new Conv2dSpec(1, 1, padTop, padBottom, padLeft, padRight, 1, 1, 1);
        }

        int outH() {
            return h + padTop + padBottom - kh + 1;
        }

        int outW() {
            return w + padLeft + padRight - kw + 1;
        }

        long[] xShape() {
            return new long[] {n, c, h, w};
        }

        long[] wShape() {
            return new long[] {o, c, kh, kw};
        }

        long[] yShape() {
            return new long[] {n, o, outH(), outW()};
        }

        PixelProducts.Images images() {
            return new PixelProducts.Images(n, c, (long) h * w);
        }

        PixelProducts.Window window() {
            return new PixelProducts.Window(h, w, kh, kw, 1, 1, padTop, padLeft, outH(),
                    outW());
        }

        Convolutions.Geometry geometry() {
            return new Convolutions.Geometry(n, c, h, w, o, kh, kw, outH(), outW(), spec());
        }

        /** Whether the backend takes the padded copy for this shape. */
        boolean padded() {
            return Convolutions.windowed(geometry()) && !winograd()
                    && Convolutions.fromPaddedCopy(geometry(), window());
        }

        /** Whether the backend takes Winograd's F(2×2, 3×3) for this shape. */
        boolean winograd() {
            return Convolutions.windowed(geometry()) && Winograd.fits(window(), c, o);
        }
    }

    /**
     * The narrowest output width of at least {@code from} (3×3 kernel, {@code outH} rows)
     * whose strips go by row with a row's last strip running past the padded row into the
     * next, dropping little enough for the backend to choose the padded copy: that strip
     * computes some of the next row's outputs too.
     */
    private static int spillingWidth(int outH, int from) {
        for (int outW = from; ; outW++) {
            PixelProducts.PaddedStrips strips = PixelProducts.PaddedStrips.of(
                    new PixelProducts.Window(outH, outW, 3, 3, 1, 1, 1, 1, outH, outW));
            if (strips.perRow() > 0 && (long) strips.perRow() * NR > strips.pitch()
                    && strips.share() <= 0.12) {
                return outW;
            }
        }
    }

    /** {N, C, H, W, O, kh, kw, padTop, padBottom, padLeft, padRight}. */
    private static List<Shape> edgeShapes() {
        int spill = spillingWidth(3, NR + 1);
        int[][] cases = {
            {3, 4, 1, 1, 7, 3, 3, 1, 1, 1, 1},          // one pixel, 3×3 kernel
            {2, 3, 1, 1, 5, 1, 1, 1, 1, 1, 1},          // one pixel, 1×1 kernel, padded
            {2, 3, 1, NR + 3, 6, 3, 3, 1, 1, 1, 1},     // one row
            {1, 2, 1, 2 * NR, 5, 1, 3, 0, 0, 1, 1},     // one row, 1×3 kernel
            {2, 3, NR + 5, 1, 7, 3, 3, 1, 1, 1, 1},     // one column
            {2, 3, 40, 1, 6, 3, 1, 1, 1, 0, 0},         // one column, 3×1 kernel
            {4, 5, 2, 2, 13, 3, 3, 1, 1, 1, 1},         // 2×2
            {2, 3, 2, 2, 5, 5, 5, 2, 2, 2, 2},          // 5×5 kernel over 2×2
            {1, 2, 3, 3, 4, 7, 7, 3, 3, 3, 3},          // 7×7 kernel over 3×3
            {2, 2, 2, 3, 6, 7, 7, 3, 2, 4, 1},          // 7×7 over 2×3, uneven: 1×2 out
            {2, 3, 9, NR - 3, 6, 3, 3, 2, 0, 0, 2},     // padding on one side only
            {2, 2, 6, 10, 5, 3, 3, 0, 4, 5, 0},         // padding wider than the kernel
            {2, 4, 12, NR + 1, 7, 5, 5, 2, 2, 2, 2},    // 5×5
            {1, 3, 15, 15, 5, 7, 7, 3, 3, 3, 3},        // 7×7
            {2, 3, 5, NR - 1, 6, 3, 3, 1, 1, 1, 1},     // output one short of a strip
            {2, 3, 5, NR, 6, 3, 3, 1, 1, 1, 1},         // a strip exactly
            {2, 3, 5, NR + 1, 6, 3, 3, 1, 1, 1, 1},     // one past a strip
            {2, 3, 4, 2 * NR - 2, 7, 3, 3, 1, 1, 1, 1}, // pitch of two strips exactly
            {3, 2, 3, spill, 6, 3, 3, 1, 1, 1, 1},      // by row, a strip into the next row
            {9, 3, 7, 7, 7, 3, 3, 1, 1, 1, 1},          // many images in one strip
            {2, 1, 20, 20, 1, 3, 3, 1, 1, 1, 1},        // one channel in and out
            {1, 600, 5, 6, 7, 3, 3, 1, 1, 1, 1},        // 5400 terms: eleven chunks
            {2, 600, 4, 4, 13, 1, 3, 0, 0, 1, 1},       // 1800 terms, 1×3
            {1, 4, 9, 9, 64, 3, 3, 1, 1, 1, 1},         // 64 output channels
            {1, 4, 9, 9, 65, 3, 3, 1, 1, 1, 1},         // 65: a partial tile of one row
        };
        List<Shape> shapes = new ArrayList<>();
        for (int[] c : cases) {
            shapes.add(Shape.of(c));
        }
        return shapes;
    }

    private static float[] uniform(SplittableRandom random, double lo, double hi, long[] shape) {
        float[] values = new float[Math.toIntExact(Tensor.numel(shape))];
        for (int i = 0; i < values.length; i++) {
            values[i] = (float) (lo + (hi - lo) * random.nextDouble());
        }
        return values;
    }

    /** Finite values mixed with zeros of both signs, subnormals, huge values, ±∞ and NaN. */
    private static float[] mixed(SplittableRandom random, long[] shape) {
        float[] values = new float[Math.toIntExact(Tensor.numel(shape))];
        for (int i = 0; i < values.length; i++) {
            values[i] = random.nextInt(4) == 0 ? SPECIAL[random.nextInt(SPECIAL.length)]
                    : (float) (random.nextDouble() * 4 - 2);
        }
        return values;
    }

    /** One call of either path on fresh tensors; bias and residual null for none. */
    private static float[] run(PixelProducts products, boolean padded, Shape s, float[] x,
            float[] w, float[] b, Activation act, float[] residual) {
        return run(products, padded ? Path.PADDED : Path.PACKED, s, x, w, b, act, residual);
    }

    /** The products' paths for a windowed convolution. */
    private enum Path { PACKED, PADDED, WINOGRAD }

    private static float[] run(PixelProducts products, Path path, Shape s, float[] x,
            float[] w, float[] b, Activation act, float[] residual) {
        try (Tensor xt = Tensor.of(x, s.xShape());
                Tensor wt = Tensor.of(w, s.wShape());
                Tensor bt = b == null ? null : Tensor.of(b, s.o);
                Tensor rt = residual == null ? null : Tensor.of(residual, s.yShape());
                Tensor y = Tensor.zeros(s.yShape())) {
            MemorySegment bias = bt == null ? null : bt.segment();
            MemorySegment added = rt == null ? null : rt.segment();
            switch (path) {
                case PADDED -> products.convolvePadded(s.images(), s.window(), xt.segment(),
                        s.o, wt.segment(), null, bias, act, y.segment(), added);
                case PACKED -> products.convolve(s.images(), s.window(), xt.segment(), s.o,
                        wt.segment(), null, bias, act, y.segment(), added);
                case WINOGRAD -> products.convolveWinograd(s.images(), s.window(),
                        xt.segment(), s.o, wt.segment(), null, bias, act, y.segment(), added);
            }
            return y.toFloatArray();
        }
    }

    /** The path the backend takes for this shape, called directly. */
    private static float[] backendPath(PixelProducts products, Shape s, float[] x, float[] w,
            float[] b, Activation act, float[] residual) {
        Path path = s.winograd() ? Path.WINOGRAD : s.padded() ? Path.PADDED : Path.PACKED;
        return run(products, path, s, x, w, b, act, residual);
    }

    /** Both paths on one and on three threads: the padded one's result, checked equal. */
    private static float[] bothPaths(String what, Shape s, float[] x, float[] w, float[] b,
            Activation act, float[] residual) {
        float[] packed = run(one, false, s, x, w, b, act, residual);
        float[] padded = run(one, true, s, x, w, b, act, residual);
        assertSameBits(what + " padded vs packed", packed, padded);
        assertSameBits(what + " on three threads", padded,
                run(three, true, s, x, w, b, act, residual));
        return padded;
    }

    private static double[] reference(Shape s, float[] x, float[] w, float[] b,
            Activation act, float[] residual) {
        double[] expected = Reference.conv2d(x, s.xShape(), w, s.wShape(), b, s.spec(), act);
        if (residual != null) {
            for (int i = 0; i < expected.length; i++) {
                expected[i] += residual[i];
            }
        }
        return expected;
    }

    @Test
    void edgeShapesGiveThePackedBitsWithEveryActivation() {
        SplittableRandom random = new SplittableRandom(23);
        Activation[] acts = Activation.values();
        int index = 0;
        for (Shape s : edgeShapes()) {
            float[] x = uniform(random, -1, 1, s.xShape());
            float[] w = uniform(random, -0.5, 0.5, s.wShape());
            float[] b = uniform(random, -0.5, 0.5, new long[] {s.o});
            float[] r = uniform(random, -1, 1, s.yShape());
            // 5400-term sums round further from the double reference than short ones
            double tolerance = s.c * s.kh * s.kw > PixelProducts.K_CHUNK ? 1e-5 : 2e-6;
            for (int i = 0; i < acts.length; i++, index++) {
                Activation act = acts[index % acts.length];
                boolean withBias = i % 2 == 0;
                boolean withResidual = i % 3 != 1;
                String what = s + " " + act + (withBias ? " bias" : "")
                        + (withResidual ? " residual" : "");
                float[] bias = withBias ? b : null;
                float[] residual = withResidual ? r : null;
                float[] got = bothPaths(what, s, x, w, bias, act, residual);
                if (i < 2) {
                    assertClose(what, reference(s, x, w, bias, act, residual), got, tolerance);
                }
            }
        }
    }

    @Test
    void backendCallsGiveTheBitsOfTheDirectPath() {
        SplittableRandom random = new SplittableRandom(29);
        for (Shape s : edgeShapes()) {
            float[] x = uniform(random, -1, 1, s.xShape());
            float[] w = uniform(random, -0.5, 0.5, s.wShape());
            float[] b = uniform(random, -0.5, 0.5, new long[] {s.o});
            float[] r = uniform(random, -1, 1, s.yShape());
            try (Tensor xt = Tensor.of(x, s.xShape());
                    Tensor wt = Tensor.of(w, s.wShape());
                    Tensor bt = Tensor.of(b, s.o);
                    Tensor rt = Tensor.of(r, s.yShape());
                    Tensor plain = cpu.conv2d(xt, wt, bt, s.spec(), Activation.SILU);
                    Tensor added = cpu.conv2dAdd(xt, null, wt, null, s.spec(),
                            Activation.IDENTITY, rt)) {
                if (!Convolutions.windowed(s.geometry())) {
                    // one channel to one goes to the depthwise kernel, its own sums
                    assertClose(s + " conv2d", reference(s, x, w, b, Activation.SILU, null),
                            plain.toFloatArray(), 2e-6);
                    assertClose(s + " conv2dAdd", reference(s, x, w, null,
                            Activation.IDENTITY, r), added.toFloatArray(), 2e-6);
                    continue;
                }
                assertSameBits(s + " conv2d", backendPath(one, s, x, w, b, Activation.SILU,
                        null), plain.toFloatArray());
                assertSameBits(s + " conv2dAdd", backendPath(one, s, x, w, null,
                        Activation.IDENTITY, r), added.toFloatArray());
            }
        }
    }

    @Test
    void residualThatIsTheInput() {
        SplittableRandom random = new SplittableRandom(31);
        // same padding, as many outputs as inputs: the residual can be x itself
        // (the one-pixel images drop most of their products and take the packed windows)
        for (Shape s : List.of(Shape.of(2, 6, 16, 16, 6, 3, 3, 1, 1, 1, 1),
                Shape.of(1, 5, 8, NR, 5, 5, 5, 2, 2, 2, 2),
                Shape.of(3, 7, 1, 1, 7, 3, 3, 1, 1, 1, 1))) {
            float[] x = uniform(random, -1, 1, s.xShape());
            float[] w = uniform(random, -0.5, 0.5, s.wShape());
            float[] b = uniform(random, -0.5, 0.5, new long[] {s.o});
            try (Tensor xt = Tensor.of(x, s.xShape());
                    Tensor wt = Tensor.of(w, s.wShape());
                    Tensor bt = Tensor.of(b, s.o);
                    Tensor y = cpu.conv2dAdd(xt, null, wt, bt, s.spec(), Activation.GELU, xt)) {
                float[] got = y.toFloatArray();
                assertSameBits(s + " residual = input",
                        bothPaths(s.toString(), s, x, w, b, Activation.GELU, x), got);
                assertClose(s + " residual = input", reference(s, x, w, b, Activation.GELU, x),
                        got, 2e-6);
                assertSameBits(s + " input untouched", x, xt.toFloatArray());
            }
        }
    }

    @Test
    void specialValuesGiveThePackedBits() {
        SplittableRandom random = new SplittableRandom(37);
        Activation[] acts = Activation.values();
        int index = 0;
        for (Shape s : edgeShapes()) {
            if (s.c * s.kh * s.kw > PixelProducts.K_CHUNK) {
                continue; // long sums are NaN nearly everywhere with a quarter special values
            }
            Activation act = acts[index++ % acts.length];
            float[] x = mixed(random, s.xShape());
            float[] w = mixed(random, s.wShape());
            float[] b = mixed(random, new long[] {s.o});
            float[] r = mixed(random, s.yShape());
            bothPaths(s + " " + act + " special everywhere", s, x, w, b, act, r);
            // finite weights and bias: only the input's specials spread, so most outputs
            // stay finite and every bit of them counts
            float[] fw = uniform(random, -0.5, 0.5, s.wShape());
            bothPaths(s + " " + act + " special input", s, x, fw, null, act, null);
            float[] fx = uniform(random, -1, 1, s.xShape());
            bothPaths(s + " " + act + " special residual", s, fx, fw, b, act, r);
        }
    }

    /**
     * A NaN at one input pixel makes exactly the outputs whose windows cover it NaN; every
     * other output keeps the bits it has without the NaN. Strips that run across rows or past
     * the image compute positions that read the pixel from outside any window of theirs: none
     * of that may reach an output.
     */
    @Test
    void oneNaNPixelReachesOnlyTheOutputsOverIt() {
        SplittableRandom random = new SplittableRandom(41);
        List<Shape> shapes = List.of(Shape.of(2, 2, 6, 14, 5, 3, 3, 1, 1, 1, 1),
                Shape.of(2, 2, 3, spillingWidth(3, NR + 1), 7, 3, 3, 1, 1, 1, 1),
                Shape.of(1, 3, 5, 9, 6, 5, 5, 0, 3, 4, 0),
                Shape.of(3, 1, 4, NR - 1, 2, 1, 3, 0, 0, 1, 1),
                Shape.of(2, 2, 1, 1, 3, 3, 3, 1, 1, 1, 1));
        for (Shape s : shapes) {
            float[] x = uniform(random, -1, 1, s.xShape());
            float[] w = uniform(random, -0.5, 0.5, s.wShape());
            float[] clean = run(one, true, s, x, w, null, Activation.IDENTITY, null);
            int[][] pixels = {{0, 0}, {0, s.w - 1}, {s.h - 1, 0}, {s.h - 1, s.w - 1},
                {s.h / 2, s.w / 2}};
            for (int image : new int[] {0, s.n - 1}) {
                for (int channel : new int[] {0, s.c - 1}) {
                    for (int[] p : pixels) {
                        float[] poisoned = x.clone();
                        int at = ((image * s.c + channel) * s.h + p[0]) * s.w + p[1];
                        poisoned[at] = Float.NaN;
                        String what = s + " NaN at image " + image + " channel " + channel
                                + " pixel " + Arrays.toString(p);
                        float[] got = bothPaths(what, s, poisoned, w, null,
                                Activation.IDENTITY, null);
                        checkFootprint(what, s, image, p[0], p[1], clean, got);
                    }
                }
            }
        }
    }

    private static void checkFootprint(String what, Shape s, int image, int iy, int ix,
            float[] clean, float[] got) {
        int outH = s.outH(), outW = s.outW();
        for (int n = 0; n < s.n; n++) {
            for (int o = 0; o < s.o; o++) {
                for (int oy = 0; oy < outH; oy++) {
                    for (int ox = 0; ox < outW; ox++) {
                        int at = ((n * s.o + o) * outH + oy) * outW + ox;
                        int dy = iy + s.padTop - oy;
                        int dx = ix + s.padLeft - ox;
                        boolean covers = n == image && dy >= 0 && dy < s.kh && dx >= 0
                                && dx < s.kw;
                        if (covers) {
                            assertTrue(Float.isNaN(got[at]), what + ": output " + at
                                    + " covers the NaN but is " + got[at]);
                        } else if (Float.floatToIntBits(clean[at])
                                != Float.floatToIntBits(got[at])) {
                            throw new AssertionError(what + ": output " + at + " (image " + n
                                    + ", channel " + o + ", " + oy + ", " + ox + ") is "
                                    + got[at] + ", not " + clean[at]);
                        }
                    }
                }
            }
        }
    }

    /**
     * A large call leaves the calling thread's copy full of NaN, and its floats past the
     * planes of later, smaller calls are not rewritten: smaller calls after it give the bits
     * they give on a fresh copy, and so does a large call after them.
     */
    @Test
    void aCopyLeftFullOfNaNLeaksNothing() {
        SplittableRandom random = new SplittableRandom(43);
        Shape large = Shape.of(4, 16, 40, 40, 6, 3, 3, 1, 1, 1, 1);
        List<Shape> smaller = List.of(Shape.of(1, 2, 3, 5, 6, 3, 3, 1, 1, 1, 1),
                Shape.of(2, 3, 5, NR + 1, 7, 3, 3, 1, 1, 1, 1),
                Shape.of(1, 1, 1, 1, 2, 3, 3, 1, 1, 1, 1),
                Shape.of(3, 2, 3, spillingWidth(3, NR + 1), 7, 3, 3, 1, 1, 1, 1));
        float[] nanInput = new float[Math.toIntExact(Tensor.numel(large.xShape()))];
        Arrays.fill(nanInput, Float.NaN);
        float[] largeWeights = uniform(random, -0.5, 0.5, large.wShape());
        for (PixelProducts products : new PixelProducts[] {one, three}) {
            float[] poisoned = run(products, true, large, nanInput, largeWeights, null,
                    Activation.IDENTITY, null);
            assertTrue(Float.isNaN(poisoned[poisoned.length - 1]), "the large call ran");
            for (Shape s : smaller) {
                float[] x = uniform(random, -1, 1, s.xShape());
                float[] w = uniform(random, -0.5, 0.5, s.wShape());
                float[] b = uniform(random, -0.5, 0.5, new long[] {s.o});
                float[] got = run(products, true, s, x, w, b, Activation.TANH, null);
                assertSameBits(s + " after a NaN copy",
                        run(products, false, s, x, w, b, Activation.TANH, null), got);
                assertClose(s + " after a NaN copy",
                        reference(s, x, w, b, Activation.TANH, null), got, 2e-6);
            }
            float[] lx = uniform(random, -1, 1, large.xShape());
            assertSameBits(large + " again", run(products, false, large, lx, largeWeights,
                    null, Activation.SILU, null),
                    run(products, true, large, lx, largeWeights, null, Activation.SILU, null));
        }
    }

    /**
     * Several threads convolve different shapes on one backend at once, each through the
     * padded copy (its own per calling thread): every result has the bits of the same call
     * made alone.
     */
    @Test
    void concurrentCallersOfDifferentShapes() throws Exception {
        SplittableRandom random = new SplittableRandom(47);
        List<Shape> shapes = List.of(Shape.of(2, 8, 16, 16, 24, 3, 3, 1, 1, 1, 1),
                Shape.of(1, 3, 30, NR, 6, 3, 3, 1, 1, 1, 1),
                Shape.of(3, 5, 24, 24, 48, 3, 3, 1, 1, 1, 1),
                Shape.of(4, 2, 5, 2 * NR - 2, 13, 3, 3, 1, 1, 1, 1));
        int callers = shapes.size();
        List<Tensor> held = new ArrayList<>();
        try {
            Tensor[][] inputs = new Tensor[callers][];
            float[][] alone = new float[callers][];
            for (int i = 0; i < callers; i++) {
                Shape s = shapes.get(i);
                assertTrue(s.padded(), s + " takes the padded copy");
                Tensor x = Reference.random(random, -1, 1, s.xShape());
                Tensor w = Reference.random(random, -0.5, 0.5, s.wShape());
                Tensor b = Reference.random(random, -0.5, 0.5, s.o);
                Tensor r = Reference.random(random, -1, 1, s.yShape());
                held.addAll(List.of(x, w, b, r));
                inputs[i] = new Tensor[] {x, w, b, r};
                try (Tensor y = cpu.conv2dAdd(x, null, w, b, s.spec(), Activation.SILU, r)) {
                    alone[i] = y.toFloatArray();
                }
            }
            CyclicBarrier start = new CyclicBarrier(callers);
            ExecutorService pool = Executors.newFixedThreadPool(callers);
            try {
                List<Future<?>> done = new ArrayList<>();
                for (int i = 0; i < callers; i++) {
                    int caller = i;
                    done.add(pool.submit(() -> {
                        start.await();
                        Shape s = shapes.get(caller);
                        Tensor[] in = inputs[caller];
                        for (int round = 0; round < 6; round++) {
                            try (Tensor y = cpu.conv2dAdd(in[0], null, in[1], in[2], s.spec(),
                                    Activation.SILU, in[3])) {
                                assertSameBits(s + " caller " + caller + " round " + round,
                                        alone[caller], y.toFloatArray());
                            }
                        }
                        return null;
                    }));
                }
                for (Future<?> f : done) {
                    f.get();
                }
            } finally {
                pool.shutdownNow();
            }
        } finally {
            held.forEach(Tensor::close);
        }
    }

    /** Convolutions issued from inside a parallel loop run inline, each on its own copy. */
    @Test
    void callsFromInsideAParallelLoop() {
        SplittableRandom random = new SplittableRandom(53);
        List<Shape> shapes = List.of(Shape.of(1, 3, 9, 9, 6, 3, 3, 1, 1, 1, 1),
                Shape.of(2, 2, 5, NR + 3, 7, 3, 3, 1, 1, 1, 1),
                Shape.of(1, 4, 16, 16, 13, 5, 5, 2, 2, 2, 2),
                Shape.of(3, 1, 3, spillingWidth(3, NR + 1), 5, 3, 3, 1, 1, 1, 1),
                Shape.of(1, 2, 1, 1, 4, 3, 3, 1, 1, 1, 1),
                Shape.of(2, 6, 12, 12, 24, 3, 3, 1, 1, 1, 1));
        int count = shapes.size();
        float[][] xs = new float[count][], ws = new float[count][], rs = new float[count][];
        float[][] alone = new float[count][];
        for (int i = 0; i < count; i++) {
            Shape s = shapes.get(i);
            xs[i] = uniform(random, -1, 1, s.xShape());
            ws[i] = uniform(random, -0.5, 0.5, s.wShape());
            rs[i] = uniform(random, -1, 1, s.yShape());
            alone[i] = run(one, false, s, xs[i], ws[i], null, Activation.GELU, rs[i]);
        }
        float[][] nested = new float[count][];
        for (int round = 0; round < 3; round++) {
            threePool.forEach(count, i -> nested[i] = run(three, true, shapes.get(i), xs[i],
                    ws[i], null, Activation.GELU, rs[i]));
            for (int i = 0; i < count; i++) {
                assertSameBits(shapes.get(i) + " nested, round " + round, alone[i], nested[i]);
            }
        }
    }

    @Test
    void uploadedWeightsGiveTheBitsOfPlainOnes() {
        SplittableRandom random = new SplittableRandom(59);
        for (Shape s : List.of(Shape.of(2, 5, 10, 10, 7, 3, 3, 1, 1, 1, 1),
                Shape.of(1, 70, 6, NR, 64, 3, 3, 1, 1, 1, 1),
                Shape.of(3, 4, 2, 2, 13, 3, 3, 1, 1, 1, 1))) {
            // a backend of its own each: weights kept by another would be dropped whenever
            // the collector runs
            try (CpuBackend backend = new CpuBackend(2, GemmChoice.JAVA);
                    Tensor x = Reference.random(random, -1, 1, s.xShape());
                    Tensor w = Reference.random(random, -0.5, 0.5, s.wShape());
                    Tensor b = Reference.random(random, -0.5, 0.5, s.o);
                    Tensor kept = backend.upload(w);
                    Tensor plain = backend.conv2d(x, w, b, s.spec(), Activation.RELU)) {
                assertEquals(0, backend.keptWeights(), s + " a plain weight is not kept");
                float[] expected = plain.toFloatArray();
                for (int call = 0; call < 2; call++) {
                    try (Tensor y = backend.conv2d(x, kept, b, s.spec(), Activation.RELU)) {
                        assertSameBits(s + " uploaded, call " + call, expected,
                                y.toFloatArray());
                    }
                }
                assertEquals(1, backend.keptWeights(), s + " packed once, kept");
                assertSameBits(s + " direct", backendPath(one, s, x.toFloatArray(),
                        w.toFloatArray(), b.toFloatArray(), Activation.RELU, null), expected);
            }
        }
    }

    /** The padded copy of a large input grows the buffer; smaller calls then reuse it. */
    @Test
    void largeThenSmallThenLarge() {
        SplittableRandom random = new SplittableRandom(61);
        Shape small = Shape.of(1, 4, 8, 8, 6, 3, 3, 1, 1, 1, 1);
        Shape large = Shape.of(2, 24, 96, 96, 8, 3, 3, 1, 1, 1, 1);
        assertTrue(large.padded(), large + " takes the padded copy");
        for (Shape s : List.of(small, large, small, large, small)) {
            float[] x = uniform(random, -1, 1, s.xShape());
            float[] w = uniform(random, -0.5, 0.5, s.wShape());
            try (Tensor xt = Tensor.of(x, s.xShape());
                    Tensor wt = Tensor.of(w, s.wShape());
                    Tensor y = cpu.conv2d(xt, wt, null, s.spec(), Activation.IDENTITY)) {
                assertSameBits(s.toString(), run(one, false, s, x, w, null,
                        Activation.IDENTITY, null), y.toFloatArray());
            }
        }
    }

    /**
     * Strips by row whose last strip runs into the next row, with a residual, on more
     * workers than cores, each strip a block of its own: each output must get its residual
     * once, whichever strips run at the same time. (The strip running past its row used to
     * store the next row's first outputs as well, and a store landing between that row's own
     * strip writing its sums and reading them back to add the residual added it twice: in
     * about one call in five here.)
     */
    @Test
    void spilledStripsAddTheResidualOnceUnderContention() {
        SplittableRandom random = new SplittableRandom(71);
        for (int outH : new int[] {5, 2}) {
            Shape s = Shape.of(1, 1, outH, spillingWidth(outH, NR + 1), 6, 3, 3, 1, 1, 1, 1);
            assertTrue(s.padded(), s + " takes the padded copy");
            try (CpuBackend busy = new CpuBackend(4, GemmChoice.JAVA);
                    Tensor x = Reference.random(random, -1, 1, s.xShape());
                    Tensor w = Reference.random(random, -0.5, 0.5, s.wShape());
                    Tensor r = Reference.random(random, -1, 1, s.yShape());
                    Tensor plain = busy.conv2d(x, w, null, s.spec(), Activation.IDENTITY);
                    Tensor expected = busy.add(plain, r)) {
                float[] want = expected.toFloatArray();
                for (int round = 0; round < 300; round++) {
                    try (Tensor y = busy.conv2dAdd(x, null, w, null, s.spec(),
                            Activation.IDENTITY, r)) {
                        assertSameBits(s + " round " + round, want, y.toFloatArray());
                    }
                }
            }
        }
    }

    @Test
    void theChoiceAtItsLimits() {
        Shape sixtyFour = Shape.of(1, 4, 16, 16, 64, 3, 3, 1, 1, 1, 1);
        Shape sixtyFive = Shape.of(1, 4, 16, 16, 65, 3, 3, 1, 1, 1, 1);
        assertTrue(sixtyFour.padded(), "64 output channels");
        assertFalse(sixtyFive.padded(), "65 output channels");
        // the shapes (3×3, same padding) nearest 12 % dropped either side, and one of
        // exactly 12 %, 22 of every 25 products kept, where the strip width allows one
        Shape exact = null;
        Shape below = null;
        Shape above = null;
        double belowShare = -1;
        double aboveShare = 2;
        for (int outH = 1; outH <= 96; outH++) {
            for (int outW = 1; outW <= 128; outW++) {
                Shape s = Shape.of(1, 2, outH, outW, 8, 3, 3, 1, 1, 1, 1);
                PixelProducts.PaddedStrips strips = PixelProducts.PaddedStrips.of(s.window());
                double share = strips.share();
                if (25L * outH * outW == 22L * strips.perImage() * NR) {
                    exact = s;
                }
                if (share <= 0.12 && share > belowShare) {
                    below = s;
                    belowShare = share;
                }
                if (share > 0.12 && share < aboveShare) {
                    above = s;
                    aboveShare = share;
                }
            }
        }
        assertTrue(below.padded(), below + " drops " + belowShare + ", within the limit");
        assertFalse(above.padded(), above + " drops " + aboveShare + ", over the limit");
        List<Shape> shapes = new ArrayList<>(List.of(sixtyFour, sixtyFive, below, above));
        if (exact != null) {
            assertTrue(exact.padded(), exact + " drops exactly 12 %, within the limit");
            shapes.add(exact);
        }
        // the same shape strided goes to the packed windows
        Convolutions.Geometry strided = new Convolutions.Geometry(1, 2, below.h, below.w, 8, 3,
                3, (below.h - 1) / 2 + 1, (below.w - 1) / 2 + 1, Conv2dSpec.symmetric(2, 1, 1, 1));
        assertFalse(Convolutions.fromPaddedCopy(strided, new PixelProducts.Window(below.h,
                below.w, 3, 3, 2, 2, 1, 1, strided.outH(), strided.outW())), "strided");
        SplittableRandom random = new SplittableRandom(67);
        for (Shape s : shapes) {
            float[] x = uniform(random, -1, 1, s.xShape());
            float[] w = uniform(random, -0.5, 0.5, s.wShape());
            float[] b = uniform(random, -0.5, 0.5, new long[] {s.o});
            try (Tensor xt = Tensor.of(x, s.xShape());
                    Tensor wt = Tensor.of(w, s.wShape());
                    Tensor bt = Tensor.of(b, s.o);
                    Tensor y = cpu.conv2d(xt, wt, bt, s.spec(), Activation.SIGMOID)) {
                float[] got = y.toFloatArray();
                assertSameBits(s + " backend", bothPaths(s.toString(), s, x, w, b,
                        Activation.SIGMOID, null), got);
                assertClose(s.toString(), reference(s, x, w, b, Activation.SIGMOID, null), got,
                        2e-6);
            }
        }
    }
}
