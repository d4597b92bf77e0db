package dev.lumbar.engine.backend.cpu;

import static dev.lumbar.engine.backend.cpu.Reference.assertClose;
import static dev.lumbar.engine.backend.cpu.Reference.assertSameSpecials;
import static dev.lumbar.engine.backend.cpu.Reference.random;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lumbar.engine.backend.Activation;
import dev.lumbar.engine.backend.Conv2dSpec;
import dev.lumbar.engine.backend.cpu.CpuBackend.GemmChoice;
import dev.lumbar.engine.tensor.Tensor;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The window packing of dense convolutions that do not read a padded copy
 * ({@link PixelProducts#convolve}: more than 64 output channels, too many dropped products,
 * or a stride of 2 across only) and the 1×1 packing across images, gated or not, at the
 * edges of their shapes. Each case is first checked to take the route it means to test;
 * the stride-2 cases take either route (few output channels read a padded copy split by
 * column phase), and the same checks hold on both. Results must be
 * close to a double-precision reference and, bit for bit, equal to routes that pack
 * differently: one thread against three, each image alone against the batch, the input
 * zero-padded beforehand against padding in the packing, the padded copy against the
 * packed windows, a gate folded into the packing against an input scaled beforehand. (Each
 * image alone against the batch also sets windows packed from a copy of a block's rows, where
 * a block lies within one image, against windows read in place, where it crosses images.)
 * Non-finite inputs at the edges of rows and planes must reach only the outputs that see
 * them, and nothing of them may stay behind for a later call. SiLU and sigmoid, whose e^−x
 * is a cheaper fitted form, saturate to 0, 1 and x in the packed convolutions' epilogue.
 */
class WindowPackingEdgeTest {

    private static CpuBackend one;
    private static CpuBackend three;

    @BeforeAll
    static void backends() {
        one = new CpuBackend(1, GemmChoice.JAVA);
        three = new CpuBackend(3, GemmChoice.JAVA);
    }

    @AfterAll
    static void close() {
        one.close();
        three.close();
    }

    /**
     * A dense convolution: {N, C, H, W, O, kh, kw, strideH, strideW, padTop, padBottom,
     * padLeft, padRight}.
     */
    private record Case(long[] t) {
        long n() {
            return t[0];
        }

        long c() {
            return t[1];
        }

        long h() {
            return t[2];
        }

        long w() {
            return t[3];
        }

        long o() {
            return t[4];
        }

        Conv2dSpec spec() {
            return new Conv2dSpec((int) t[7], (int) t[8], (int) t[9], (int) t[10], (int) t[11],
                    (int) t[12], 1, 1, 1);
        }

        /** The same convolution on an input already zero-padded: no padding of its own. */
        Conv2dSpec unpadded() {
            return new Conv2dSpec((int) t[7], (int) t[8], 0, 0, 0, 0, 1, 1, 1);
        }

        Convolutions.Geometry geometry() {
            Conv2dSpec s = spec();
            return new Convolutions.Geometry((int) t[0], (int) t[1], (int) t[2], (int) t[3],
                    (int) t[4], (int) t[5], (int) t[6], s.outH((int) t[2], (int) t[5]),
                    s.outW((int) t[3], (int) t[6]), s);
        }

        @Override
        public String toString() {
            return Arrays.toString(t);
        }
    }

    /** Whether a convolution of this geometry packs its windows (no padded copy). */
    private static boolean packsWindows(Convolutions.Geometry g) {
        return Convolutions.windowed(g) && !Convolutions.fromPaddedCopy(g, g.window());
    }

    private static void assertPacksWindows(Case c) {
        assertTrue(packsWindows(c.geometry()), c + " does not take the packed windows");
    }

    /**
     * Stride 1 with more than 64 output channels (67 leaves a partial register tile), so
     * never from a padded copy, or with few on planes a copy would mostly waste: output rows
     * of 1, 2, 15, 16, 17, 31, 32, 33, 56 and 57 pixels,
     * kernels 1×1 (padded), 1×3, 3×1, 3×3, 5×5, 7×7 and wider than the image, padding wider
     * than the kernel, 1×1, 1×N and N×1 images, vertical strides of 3 and of 4 (longer than the
     * kernel), one input channel and
     * 601 (5409 terms, past ten chunks of 512), runs that cross rows and images inside one
     * strip, and padding wider than one or two vectors.
     */
    private static final long[][] STRIDE_ONE = {
        {2, 3, 3, 2, 67, 1, 1, 1, 1, 1, 1, 1, 1},
        {3, 2, 4, 1, 66, 3, 3, 1, 1, 1, 1, 1, 1},
        {2, 2, 1, 17, 65, 3, 3, 1, 1, 1, 1, 1, 1},
        {2, 3, 5, 16, 70, 1, 3, 1, 1, 0, 0, 1, 1},
        {2, 3, 6, 15, 67, 3, 1, 1, 1, 1, 1, 0, 0},
        {1, 2, 7, 31, 65, 5, 5, 1, 1, 2, 2, 2, 2},
        {1, 2, 4, 33, 65, 7, 7, 1, 1, 3, 3, 3, 3},
        {1, 3, 3, 57, 66, 3, 3, 1, 1, 1, 1, 1, 1},
        {2, 2, 3, 56, 65, 3, 3, 1, 1, 0, 2, 2, 0},
        {2, 2, 3, 32, 65, 3, 3, 1, 1, 1, 1, 1, 1},
        {2, 2, 3, 2, 65, 5, 7, 1, 1, 2, 2, 3, 3},
        {2, 3, 4, 5, 65, 3, 3, 1, 1, 4, 5, 6, 3},
        {5, 3, 1, 1, 65, 3, 3, 1, 1, 1, 1, 1, 1},
        {7, 2, 1, 1, 66, 1, 1, 1, 1, 0, 0, 2, 0},
        {3, 2, 5, 5, 65, 3, 3, 1, 1, 1, 1, 1, 1},
        {2, 3, 10, 33, 65, 3, 3, 3, 1, 1, 1, 1, 1},
        {2, 3, 11, 40, 65, 3, 3, 4, 1, 1, 1, 1, 1},
        {3, 1, 5, 32, 65, 3, 3, 1, 1, 1, 1, 1, 1},
        {2, 1, 1, 57, 65, 1, 3, 1, 1, 0, 0, 1, 1},
        {1, 601, 4, 4, 65, 3, 3, 1, 1, 1, 1, 1, 1},
        {2, 3, 2, 40, 65, 1, 7, 1, 1, 0, 0, 0, 0},
        // padding wider than a vector or two: whole vectors of a row's copy are padding
        {2, 2, 3, 4, 65, 3, 3, 1, 1, 1, 1, 20, 35},
        {3, 2, 2, 3, 65, 1, 5, 1, 1, 0, 0, 40, 2},
        // few output channels, but a padded copy would drop most of its products
        {3, 3, 1, 1, 7, 3, 3, 1, 1, 1, 1, 1, 1},
        {2, 3, 2, 3, 5, 3, 3, 1, 1, 1, 1, 1, 1},
    };

    /**
     * Stride 2, few and many output channels: PyTorch padding and TensorFlow 'same' (more
     * padding after than before, or none before), output rows of 1, 2, 15, 16, 17, 28, 29,
     * 31, 32, 33, 56 and 57 pixels, 1×1, 1×3, 3×1, 3×3, 5×5, 7×7 kernels and one wider than
     * the image, stride 2 across only, 1×1 and 1×N images, 601 input channels, padding wider
     * than a vector.
     */
    private static final long[][] STRIDE_TWO = {
        {2, 3, 9, 57, 7, 3, 3, 2, 2, 1, 1, 1, 1},
        {2, 3, 8, 56, 9, 3, 3, 2, 2, 0, 1, 0, 1},
        {1, 2, 9, 33, 70, 5, 5, 2, 2, 2, 2, 2, 2},
        {1, 2, 8, 32, 8, 5, 5, 2, 2, 1, 2, 1, 2},
        {1, 3, 16, 64, 8, 7, 7, 2, 2, 3, 3, 3, 3},
        {3, 2, 2, 2, 6, 3, 3, 2, 2, 1, 1, 1, 1},
        {2, 2, 3, 3, 65, 3, 3, 2, 2, 1, 1, 1, 1},
        {1, 2, 3, 62, 13, 3, 3, 2, 2, 1, 1, 1, 1},
        {1, 2, 3, 65, 7, 3, 3, 2, 2, 1, 1, 1, 1},
        {1, 2, 3, 113, 5, 3, 3, 2, 2, 1, 1, 1, 1},
        {1, 2, 3, 112, 5, 3, 3, 2, 2, 0, 1, 0, 1},
        {2, 5, 9, 9, 70, 1, 1, 2, 2, 0, 0, 0, 0},
        {2, 5, 6, 31, 7, 1, 1, 2, 2, 0, 0, 0, 0},
        {2, 2, 3, 2, 9, 5, 7, 2, 2, 2, 2, 3, 3},
        {2, 3, 5, 33, 9, 3, 3, 1, 2, 1, 1, 1, 1},
        {2, 3, 7, 30, 7, 1, 3, 2, 2, 0, 0, 1, 1},
        {2, 3, 7, 34, 7, 3, 1, 2, 2, 1, 1, 0, 0},
        {4, 3, 1, 1, 7, 3, 3, 2, 2, 1, 1, 1, 1},
        {3, 2, 1, 9, 66, 3, 3, 2, 2, 1, 1, 1, 1},
        {1, 601, 5, 5, 7, 3, 3, 2, 2, 1, 1, 1, 1},
        {5, 2, 3, 3, 7, 3, 3, 2, 2, 0, 1, 0, 1},
        {2, 2, 3, 4, 7, 3, 3, 2, 2, 1, 1, 33, 18},
        {2, 2, 3, 5, 66, 3, 3, 2, 2, 1, 1, 3, 70},
    };

    /** x ([N, C, H, W] as {@code values}) with zero rows and columns around each plane. */
    private static Tensor zeroPadded(float[] values, Case c) {
        Conv2dSpec s = c.spec();
        int n = (int) c.n(), ch = (int) c.c(), h = (int) c.h(), w = (int) c.w();
        int ph = h + s.padTop() + s.padBottom();
        int pw = w + s.padLeft() + s.padRight();
        float[] padded = new float[n * ch * ph * pw];
        for (int plane = 0; plane < n * ch; plane++) {
            for (int y = 0; y < h; y++) {
                System.arraycopy(values, (plane * h + y) * w, padded,
                        (plane * ph + y + s.padTop()) * pw + s.padLeft(), w);
            }
        }
        return Tensor.of(padded, n, ch, ph, pw);
    }

    /** Image {@code i} of an NCHW array of {@code n} images. */
    private static float[] image(float[] values, long n, int i) {
        int per = (int) (values.length / n);
        return Arrays.copyOfRange(values, i * per, (i + 1) * per);
    }

    /** Every check of one dense case, with the activation given. */
    private static void checkDense(Case c, SplittableRandom random, Activation act) {
        assertPacksWindows(c);
        checkDenseOnItsRoute(c, random, act);
    }

    /** {@link #checkDense} on whichever route the case takes. */
    private static void checkDenseOnItsRoute(Case c, SplittableRandom random, Activation act) {
        Conv2dSpec spec = c.spec();
        try (Tensor x = random(random, -1, 1, c.n(), c.c(), c.h(), c.w());
                Tensor w = random(random, -0.5, 0.5, c.o(), c.c(), c.t[5], c.t[6]);
                Tensor b = random(random, -0.5, 0.5, c.o());
                Tensor y1 = one.conv2d(x, w, b, spec, act);
                Tensor y3 = three.conv2d(x, w, b, spec, act)) {
            float[] xs = x.toFloatArray();
            float[] got = y1.toFloatArray();
            double[] expected = Reference.conv2d(xs, x.shape(), w.toFloatArray(), w.shape(),
                    b.toFloatArray(), spec, act);
            assertClose(c + " " + act, expected, got, 3e-6);
            assertArrayEquals(got, y3.toFloatArray(), c + " 1 vs 3 threads");
            try (Tensor padded = zeroPadded(xs, c);
                    Tensor yp = three.conv2d(padded, w, b, c.unpadded(), act)) {
                assertArrayEquals(got, yp.toFloatArray(), c + " padded beforehand");
            }
            // each image alone: no run of a strip crosses into another image
            int per = got.length / (int) c.n();
            for (int i = 0; c.n() > 1 && i < c.n(); i++) {
                try (Tensor xi = Tensor.of(image(xs, c.n(), i), 1, c.c(), c.h(), c.w());
                        Tensor yi = one.conv2d(xi, w, b, spec, act)) {
                    assertArrayEquals(Arrays.copyOfRange(got, i * per, (i + 1) * per),
                            yi.toFloatArray(), c + " image " + i + " alone");
                }
            }
            // the residual is added to the activated output, exactly
            try (Tensor residual = random(random, -1, 1, y1.shape());
                    Tensor added = three.conv2dAdd(x, null, w, b, spec, act, residual)) {
                float[] r = residual.toFloatArray();
                float[] sum = new float[got.length];
                for (int i = 0; i < sum.length; i++) {
                    sum[i] = got[i] + r[i];
                }
                assertArrayEquals(sum, added.toFloatArray(), c + " with a residual");
            }
        }
    }

    @Test
    void strideOneWindowsOnEdgeShapes() {
        SplittableRandom random = new SplittableRandom(81);
        for (long[] t : STRIDE_ONE) {
            checkDense(new Case(t), random, Activation.SILU);
        }
    }

    @Test
    void strideTwoWindowsOnEdgeShapes() {
        SplittableRandom random = new SplittableRandom(82);
        int packed = 0;
        for (long[] t : STRIDE_TWO) {
            Case c = new Case(t);
            packed += packsWindows(c.geometry()) ? 1 : 0;
            checkDenseOnItsRoute(c, random,
                    t[4] > 64 ? Activation.IDENTITY : Activation.SIGMOID);
        }
        assertTrue(packed > 0 && packed < STRIDE_TWO.length,
                packed + " of " + STRIDE_TWO.length + " cases pack their windows: both routes");
    }

    /**
     * The padded copy and the packed windows sum the same terms in the same order: the first
     * 64 output channels of a convolution of 70 (packed) are those of the 64 alone (from the
     * padded copy, 64 pixels a row dropping nothing), bit for bit.
     */
    @Test
    void packedWindowsGiveThePaddedCopysBits() {
        SplittableRandom random = new SplittableRandom(83);
        long[][] cases = {
            {2, 3, 5, 64, 70, 3, 3, 1, 1, 1, 1, 1, 1},
            {1, 2, 3, 64, 70, 5, 5, 1, 1, 2, 2, 2, 2},
            {2, 4, 4, 62, 70, 3, 3, 1, 1, 1, 1, 2, 2},
        };
        for (long[] t : cases) {
            Case all = new Case(t);
            long[] fewer = t.clone();
            fewer[4] = 64;
            Case some = new Case(fewer);
            assertPacksWindows(all);
            Convolutions.Geometry g = some.geometry();
            assertTrue(Convolutions.windowed(g) && Convolutions.fromPaddedCopy(g, g.window()),
                    some + " does not read a padded copy");
            try (Tensor x = random(random, -1, 1, all.n(), all.c(), all.h(), all.w());
                    Tensor w = random(random, -0.5, 0.5, all.o(), all.c(), t[5], t[6]);
                    Tensor b = random(random, -0.5, 0.5, all.o());
                    Tensor w64 = Tensor.of(Arrays.copyOf(w.toFloatArray(),
                            (int) (64 * all.c() * t[5] * t[6])), 64, all.c(), t[5], t[6]);
                    Tensor b64 = Tensor.of(Arrays.copyOf(b.toFloatArray(), 64), 64);
                    Tensor y = three.conv2d(x, w, b, all.spec(), Activation.GELU);
                    Tensor y64 = three.conv2d(x, w64, b64, some.spec(), Activation.GELU)) {
                float[] full = y.toFloatArray();
                float[] part = y64.toFloatArray();
                int plane = part.length / (int) all.n() / 64;
                for (int i = 0; i < all.n(); i++) {
                    assertArrayEquals(
                            Arrays.copyOfRange(full, i * 70 * plane, (i * 70 + 64) * plane),
                            Arrays.copyOfRange(part, i * 64 * plane, (i + 1) * 64 * plane),
                            all + " image " + i + ": packed vs padded copy");
                }
            }
        }
    }

    /**
     * SiLU and sigmoid through the packed windows' epilogue, lane-wise, where e^−x saturates:
     * the pre-activations are the biases alone (zero weights), from −100 past the point
     * where e^−x overflows (−88.37) to past its clamp (87.3), NaN and infinities among them.
     * Each output within 4 ulp of the double-precision value, or 1e-36 absolute where that
     * is a tiny subnormal-range SiLU; sigmoid in [0, 1]; NaN only from NaN.
     */
    @Test
    void logisticActivationsSaturateInThePackedEpilogue() {
        float[] biases = {-100f, -89f, -88.72f, -88.5f, -88.37f, -88.36f, -87.5f, -20f, -1f,
            -0f, 0f, 1e-30f, 0.5f, 15f, 87.29f, 87.3f, 87.31f, 87.4f, 88f, 100f, 1e30f,
            -1e30f, Float.MAX_VALUE, -Float.MAX_VALUE, Float.POSITIVE_INFINITY,
            Float.NEGATIVE_INFINITY, Float.NaN};
        int o = 70;
        float[] bias = new float[o];
        for (int i = 0; i < o; i++) {
            bias[i] = i < biases.length ? biases[i] : -90f + 2.6f * i;
        }
        Case c = new Case(new long[] {2, 2, 3, 19, o, 3, 3, 1, 2, 1, 1, 1, 1});
        assertPacksWindows(c);
        SplittableRandom random = new SplittableRandom(87);
        try (Tensor x = random(random, -1, 1, c.n(), c.c(), c.h(), c.w());
                Tensor w = Tensor.zeros(o, c.c(), 3, 3);
                Tensor b = Tensor.of(bias, o)) {
            for (Activation act : new Activation[] {Activation.SILU, Activation.SIGMOID}) {
                try (Tensor y = three.conv2d(x, w, b, c.spec(), act)) {
                    float[] got = y.toFloatArray();
                    int plane = got.length / (int) c.n() / o;
                    for (int i = 0; i < got.length; i++) {
                        float z = bias[i / plane % o];
                        double want = Reference.activate(z, act);
                        float a = got[i];
                        String what = act + " of " + z + ": got " + a + ", expected " + want;
                        if (Float.isNaN(z) || Double.isNaN(want)) {
                            assertTrue(Float.isNaN(a), what);
                            continue;
                        }
                        assertFalse(Float.isNaN(a), what);
                        if (Double.isInfinite(want)) {
                            assertEquals((float) want, a, what);
                            continue;
                        }
                        double ulp = Math.ulp((float) want);
                        assertTrue(Math.abs(a - want) <= Math.max(4 * ulp, 1e-36), what);
                        if (act == Activation.SIGMOID) {
                            assertTrue(a >= 0 && a <= 1, what);
                        }
                    }
                }
            }
        }
    }

    /**
     * NaN and infinities at the corners and edges of the input planes, then clean inputs on
     * the same backends: the non-finite values reach exactly the outputs whose windows hold
     * them, and the next calls (the same shape, a narrower kernel, another stride) give the
     * bits of a backend that never saw them.
     */
    @Test
    void nonFiniteEdgesReachOnlyTheirWindowsAndLeaveNothingBehind() {
        SplittableRandom random = new SplittableRandom(84);
        long[][] dirty = {
            {2, 3, 5, 33, 66, 7, 7, 1, 1, 3, 3, 3, 3},
            {2, 3, 6, 37, 7, 5, 5, 2, 2, 2, 2, 2, 2},
            {3, 2, 4, 17, 65, 3, 3, 1, 1, 1, 1, 1, 1},
        };
        long[][] clean = {
            {2, 3, 5, 33, 66, 7, 7, 1, 1, 3, 3, 3, 3},
            {2, 3, 6, 37, 7, 5, 5, 2, 2, 2, 2, 2, 2},
            {3, 2, 4, 17, 65, 3, 3, 1, 1, 1, 1, 1, 1},
            {2, 3, 5, 33, 66, 1, 3, 1, 1, 0, 0, 1, 1},
            {2, 2, 4, 40, 9, 3, 3, 2, 2, 0, 1, 0, 1},
            {4, 2, 2, 3, 65, 3, 3, 1, 1, 1, 1, 1, 1},
        };
        List<float[]> fresh = new ArrayList<>();
        List<Tensor[]> cleanInputs = new ArrayList<>();
        try (CpuBackend untouched = new CpuBackend(3, GemmChoice.JAVA)) {
            for (long[] t : clean) {
                Case c = new Case(t);
                assertPacksWindows(c);
                Tensor x = random(random, -1, 1, c.n(), c.c(), c.h(), c.w());
                Tensor w = random(random, -0.5, 0.5, c.o(), c.c(), t[5], t[6]);
                cleanInputs.add(new Tensor[] {x, w});
                try (Tensor y = untouched.conv2d(x, w, null, c.spec(), Activation.IDENTITY)) {
                    fresh.add(y.toFloatArray());
                }
            }
        }
        try {
            for (long[] t : dirty) {
                Case c = new Case(t);
                assertPacksWindows(c);
                int h = (int) c.h(), wd = (int) c.w();
                long plane = (long) h * wd;
                try (Tensor x = random(random, -1, 1, c.n(), c.c(), c.h(), c.w());
                        Tensor w = random(random, -0.5, 0.5, c.o(), c.c(), t[5], t[6])) {
                    long last = c.n() * c.c() - 1;
                    // corners and edge midpoints of the first, a middle and the last plane
                    x.setFloat(0, Float.NaN);
                    x.setFloat(wd - 1, Float.POSITIVE_INFINITY);
                    x.setFloat(c.c() * plane + (h - 1) * wd, Float.NEGATIVE_INFINITY);
                    x.setFloat(c.c() * plane + (h / 2) * wd + wd - 1, Float.NaN);
                    x.setFloat(last * plane + plane - 1, Float.NaN);
                    x.setFloat(last * plane + (h / 2) * wd, Float.POSITIVE_INFINITY);
                    x.setFloat(last * plane + wd / 2, Float.NaN);
                    double[] expected = Reference.conv2d(x.toFloatArray(), x.shape(),
                            w.toFloatArray(), w.shape(), null, c.spec(), Activation.IDENTITY);
                    for (CpuBackend backend : new CpuBackend[] {one, three}) {
                        try (Tensor y = backend.conv2d(x, w, null, c.spec(),
                                Activation.IDENTITY)) {
                            assertSameSpecials(c + " non-finite edges", expected,
                                    y.toFloatArray());
                        }
                    }
                }
            }
            for (int i = 0; i < clean.length; i++) {
                Case c = new Case(clean[i]);
                Tensor[] in = cleanInputs.get(i);
                for (CpuBackend backend : new CpuBackend[] {one, three}) {
                    try (Tensor y = backend.conv2d(in[0], in[1], null, c.spec(),
                            Activation.IDENTITY)) {
                        float[] got = y.toFloatArray();
                        assertArrayEquals(fresh.get(i), got, c + " after non-finite inputs");
                        for (float v : got) {
                            assertFalse(Float.isNaN(v) || Float.isInfinite(v),
                                    c + " left a non-finite output");
                        }
                    }
                }
            }
        } finally {
            for (Tensor[] in : cleanInputs) {
                in[0].close();
                in[1].close();
            }
        }
    }

    /** x ⊙ gate, channel by channel, in float as the packing multiplies. */
    private static Tensor scaled(Tensor x, Tensor gate) {
        float[] v = x.toFloatArray();
        float[] g = gate.toFloatArray();
        long plane = x.shape()[2] * x.shape()[3];
        for (int i = 0; i < v.length; i++) {
            v[i] *= g[(int) (i / plane)];
        }
        return Tensor.of(v, x.shape());
    }

    /**
     * Gated 1×1 convolutions across images on planes of 1, 7, 15, 16, 17, 49, 64 and 272
     * pixels, batches whose runs cross images inside a strip, 1, 3 and 601 input channels:
     * close to the reference, the bits of the ungated convolution of the input scaled
     * beforehand, the same on one and three threads, and with a residual the bits of the
     * gated output plus the residual. Non-finite inputs at a plane's first and last pixel
     * reach only their own pixel's outputs.
     */
    @Test
    void gatedPointwiseAcrossImagesOnEdgePlanes() {
        SplittableRandom random = new SplittableRandom(85);
        Conv2dSpec pointwise = Conv2dSpec.symmetric(1, 0, 1, 1);
        // {N, C, H, W, O}
        long[][] shapes = {
            {33, 3, 1, 1, 7}, {5, 3, 7, 1, 13}, {3, 4, 3, 5, 6}, {3, 2, 4, 4, 5},
            {4, 3, 17, 1, 70}, {2, 5, 7, 7, 11}, {3, 2, 8, 8, 7}, {1, 3, 16, 17, 5},
            {9, 1, 1, 7, 3}, {2, 601, 3, 5, 7}, {65, 2, 1, 1, 1},
        };
        for (long[] s : shapes) {
            String what = Arrays.toString(s);
            Convolutions.Geometry g = new Convolutions.Geometry((int) s[0], (int) s[1],
                    (int) s[2], (int) s[3], (int) s[4], 1, 1, (int) s[2], (int) s[3], pointwise);
            assertTrue(Convolutions.acrossImages(g), what + " is not packed across images");
            try (Tensor x = random(random, -1, 1, s[0], s[1], s[2], s[3]);
                    Tensor gate = random(random, 0, 1, s[0], s[1]);
                    Tensor w = random(random, -0.5, 0.5, s[4], s[1], 1, 1);
                    Tensor b = random(random, -0.5, 0.5, s[4]);
                    Tensor xg = scaled(x, gate);
                    Tensor y1 = one.gatedConv2d(x, gate, w, b, pointwise, Activation.SILU);
                    Tensor y3 = three.gatedConv2d(x, gate, w, b, pointwise, Activation.SILU);
                    Tensor plain = three.conv2d(xg, w, b, pointwise, Activation.SILU);
                    Tensor residual = random(random, -1, 1, y1.shape());
                    Tensor added = three.conv2dAdd(x, gate, w, b, pointwise, Activation.SILU,
                            residual)) {
                float[] got = y1.toFloatArray();
                assertClose(what, Reference.conv2d(xg.toFloatArray(), xg.shape(),
                        w.toFloatArray(), w.shape(), b.toFloatArray(), pointwise,
                        Activation.SILU), got, 3e-6);
                assertArrayEquals(got, y3.toFloatArray(), what + " 1 vs 3 threads");
                assertArrayEquals(got, plain.toFloatArray(), what + " gate vs scaled input");
                float[] r = residual.toFloatArray();
                float[] sum = new float[got.length];
                for (int i = 0; i < sum.length; i++) {
                    sum[i] = got[i] + r[i];
                }
                assertArrayEquals(sum, added.toFloatArray(), what + " with a residual");

                long plane = s[2] * s[3];
                long planes = s[0] * s[1];
                x.setFloat(0, Float.NaN);
                x.setFloat(plane - 1, Float.POSITIVE_INFINITY);
                x.setFloat((planes / 2) * plane + plane - 1, Float.NaN);
                x.setFloat((planes - 1) * plane, Float.NEGATIVE_INFINITY);
                try (Tensor xs = scaled(x, gate);
                        Tensor yn = three.gatedConv2d(x, gate, w, null, pointwise,
                                Activation.IDENTITY);
                        Tensor clean = three.gatedConv2d(xg, gate, w, b, pointwise,
                                Activation.IDENTITY);
                        Tensor cleanOnOne = one.gatedConv2d(xg, gate, w, b, pointwise,
                                Activation.IDENTITY)) {
                    assertSameSpecials(what + " non-finite", Reference.conv2d(
                            xs.toFloatArray(), xs.shape(), w.toFloatArray(), w.shape(), null,
                            pointwise, Activation.IDENTITY), yn.toFloatArray());
                    assertArrayEquals(cleanOnOne.toFloatArray(), clean.toFloatArray(),
                            what + " after non-finite inputs");
                }
            }
        }
    }

    /**
     * Four threads call one backend at once, each its own shapes (stride 1 and 2 windows,
     * gated 1×1) in turn: every result has the bits of the same call made alone.
     */
    @Test
    void concurrentCallersWithDifferentShapesGetTheirOwnBits() throws Exception {
        SplittableRandom random = new SplittableRandom(86);
        long[][] cases = {STRIDE_ONE[6], STRIDE_TWO[0], STRIDE_ONE[12], STRIDE_TWO[4],
            STRIDE_ONE[3], STRIDE_TWO[13]};
        Conv2dSpec pointwise = Conv2dSpec.symmetric(1, 0, 1, 1);
        List<Tensor> inputs = new ArrayList<>();
        List<Supplier<Tensor>> calls = new ArrayList<>();
        try {
            for (long[] t : cases) {
                Case c = new Case(t);
                Tensor x = random(random, -1, 1, c.n(), c.c(), c.h(), c.w());
                Tensor w = random(random, -0.5, 0.5, c.o(), c.c(), t[5], t[6]);
                Tensor b = random(random, -0.5, 0.5, c.o());
                inputs.addAll(List.of(x, w, b));
                calls.add(() -> three.conv2d(x, w, b, c.spec(), Activation.SILU));
            }
            for (long[] s : new long[][] {{5, 3, 7, 1, 13}, {3, 4, 3, 5, 70}}) {
                Tensor x = random(random, -1, 1, s[0], s[1], s[2], s[3]);
                Tensor gate = random(random, 0, 1, s[0], s[1]);
                Tensor w = random(random, -0.5, 0.5, s[4], s[1], 1, 1);
                inputs.addAll(List.of(x, gate, w));
                calls.add(() -> three.gatedConv2d(x, gate, w, null, pointwise,
                        Activation.SIGMOID));
            }
            List<float[]> alone = new ArrayList<>();
            for (var call : calls) {
                try (Tensor y = call.get()) {
                    alone.add(y.toFloatArray());
                }
            }
            ExecutorService pool = Executors.newFixedThreadPool(4);
            try {
                List<Future<?>> done = new ArrayList<>();
                for (int caller = 0; caller < 4; caller++) {
                    int first = caller;
                    done.add(pool.submit(() -> {
                        for (int round = 0; round < 3; round++) {
                            for (int j = 0; j < calls.size(); j++) {
                                int i = (first + j) % calls.size();
                                try (Tensor y = calls.get(i).get()) {
                                    assertArrayEquals(alone.get(i), y.toFloatArray(),
                                            "call " + i + " on caller " + first);
                                }
                            }
                        }
                        return null;
                    }));
                }
                for (Future<?> f : done) {
                    f.get(60, TimeUnit.SECONDS);
                }
            } finally {
                pool.shutdownNow();
            }
        } finally {
            for (Tensor t : inputs) {
                t.close();
            }
        }
    }
}
