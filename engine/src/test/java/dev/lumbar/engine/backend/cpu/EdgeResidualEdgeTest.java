package dev.lumbar.engine.backend.cpu;

import static dev.lumbar.engine.backend.cpu.Reference.assertClose;
import static dev.lumbar.engine.backend.cpu.Reference.assertSameBits;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.lumbar.engine.backend.Activation;
import dev.lumbar.engine.backend.Backend;
import dev.lumbar.engine.backend.Conv2dSpec;
import dev.lumbar.engine.backend.InvertedResidual;
import dev.lumbar.engine.backend.cpu.CpuBackend.GemmChoice;
import dev.lumbar.engine.tensor.Tensor;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/**
 * The fused-MBConv block ({@link CpuBackend#edgeResidual}) at its edges: tiny, one-pixel and
 * large planes, strips of pixels that cross images, channel counts that are not whole
 * register tiles, asymmetric paddings, strides, non-square kernels, sums longer than one
 * chunk of the kernel, every activation, missing biases, NaN and infinities, uploaded and
 * closed weights, any worker count and several callers at once. Each result is checked
 * against the double-precision reference and, where the projection runs across images,
 * against the backend's own two calls bit for bit. ConvNeXt's channel MLP, which now
 * shares the same body, is checked against its own two calls too.
 */
class EdgeResidualEdgeTest {

    private static final Conv2dSpec POINTWISE = Conv2dSpec.symmetric(1, 0, 1, 1);

    /** One block: shapes, specs, activations and tensors. */
    static final class Blk implements AutoCloseable {
        final int n, c, h, w, hidden, out, kh, kw;
        final Conv2dSpec spec;
        final Activation ea, pa;
        Tensor x, ew, eb, pw, pb, residual;
        final List<Tensor> owned = new ArrayList<>();

        Blk(SplittableRandom r, int n, int c, int h, int w, int hidden, int out, int kh,
                int kw, Conv2dSpec spec, Activation ea, Activation pa, boolean biases,
                boolean withResidual) {
            this.n = n;
            this.c = c;
            this.h = h;
            this.w = w;
            this.hidden = hidden;
            this.out = out;
            this.kh = kh;
            this.kw = kw;
            this.spec = spec;
            this.ea = ea;
            this.pa = pa;
            // weights scaled by the number of terms, so that long sums stay near one
            double e = 1.5 / Math.sqrt(Math.max(1, c * kh * kw));
            double p = 1.5 / Math.sqrt(Math.max(1, hidden));
            x = own(Reference.random(r, -2, 2, n, c, h, w));
            ew = own(Reference.random(r, -e, e, hidden, c, kh, kw));
            pw = own(Reference.random(r, -p, p, out, hidden, 1, 1));
            if (biases) {
                eb = own(Reference.random(r, -0.5, 0.5, hidden));
                pb = own(Reference.random(r, -0.5, 0.5, out));
            }
            if (withResidual) {
                residual = own(Reference.random(r, -1, 1, n, out, outH(), outW()));
            }
        }

        /** Symmetric padding that keeps the plane for odd kernels, SiLU then identity. */
        static Blk simple(SplittableRandom r, int n, int c, int side, int hidden, int out,
                int k, boolean withResidual) {
            return new Blk(r, n, c, side, side, hidden, out, k, k,
                    Conv2dSpec.symmetric(1, (k - 1) / 2, 1, 1), Activation.SILU,
                    Activation.IDENTITY, true, withResidual);
        }

        Tensor own(Tensor t) {
            owned.add(t);
            return t;
        }

        int outH() {
            return spec.outH(h, kh);
        }

        int outW() {
            return spec.outW(w, kw);
        }

        InvertedResidual.Conv expand() {
            return new InvertedResidual.Conv(ew, eb, spec, ea);
        }

        InvertedResidual.Conv project() {
            return new InvertedResidual.Conv(pw, pb, POINTWISE, pa);
        }

        Convolutions.Geometry first() {
            return new Convolutions.Geometry(n, c, h, w, hidden, kh, kw, outH(), outW(), spec);
        }

        Convolutions.Geometry second() {
            return new Convolutions.Geometry(n, hidden, outH(), outW(), out, 1, 1, outH(),
                    outW(), POINTWISE);
        }

        boolean perBlock() {
            return Convolutions.projectsPerBlock(first(), second());
        }

        /** Where the fused block promises the bits of the two calls. */
        boolean sameBitsPromised() {
            return perBlock() && Convolutions.acrossImages(second());
        }

        float[] run(Backend b) {
            try (Tensor y = b.edgeResidual(x, expand(), project(), residual)) {
                assertArrayEquals(new long[] {n, out, outH(), outW()}, y.shape(), describe());
                return y.toFloatArray();
            }
        }

        /** The CPU backend's own two calls, one after another. */
        float[] twoCalls(CpuBackend cpu) {
            try (Tensor e = cpu.conv2d(x, ew, eb, spec, ea);
                    Tensor y = residual == null ? cpu.conv2d(e, pw, pb, POINTWISE, pa)
                            : cpu.conv2dAdd(e, null, pw, pb, POINTWISE, pa, residual)) {
                return y.toFloatArray();
            }
        }

        /** Double sums, the expanded activations rounded to float as the backend keeps them. */
        double[] reference() {
            double[] e = Reference.conv2d(x.toFloatArray(), x.shape(), ew.toFloatArray(),
                    ew.shape(), eb == null ? null : eb.toFloatArray(), spec, ea);
            float[] hiddenValues = new float[e.length];
            for (int i = 0; i < e.length; i++) {
                hiddenValues[i] = (float) e[i];
            }
            double[] y = Reference.conv2d(hiddenValues, new long[] {n, hidden, outH(), outW()},
                    pw.toFloatArray(), pw.shape(), pb == null ? null : pb.toFloatArray(),
                    POINTWISE, pa);
            if (residual != null) {
                float[] r = residual.toFloatArray();
                for (int i = 0; i < y.length; i++) {
                    y[i] += r[i];
                }
            }
            return y;
        }

        String describe() {
            return "[" + n + ", " + c + ", " + h + ", " + w + "] -" + kh + "x" + kw + " " + spec
                    + " " + ea + "-> " + hidden + " -> " + out + " " + pa
                    + (eb == null ? " no biases" : "") + (residual == null ? "" : " + residual");
        }

        @Override
        public void close() {
            for (Tensor t : owned) {
                t.close();
            }
        }
    }

    /**
     * The fused result against the reference and, where promised, the two calls' bits;
     * returns the fused result.
     */
    static float[] check(CpuBackend cpu, Blk b, boolean reference, double tolerance) {
        String what = b.describe();
        float[] fused = b.run(cpu);
        if (b.sameBitsPromised()) {
            assertSameBits(what + " against the two calls", b.twoCalls(cpu), fused);
        }
        if (reference) {
            assertClose(what, b.reference(), fused, tolerance);
        }
        return fused;
    }

    private static Conv2dSpec spec(int sh, int sw, int top, int bottom, int left, int right) {
        return new Conv2dSpec(sh, sw, top, bottom, left, right, 1, 1, 1);
    }

    /** TensorFlow's 'SAME' padding for one axis: {before, after}. */
    private static int[] same(int size, int k, int stride) {
        int outSize = (size + stride - 1) / stride;
        int total = Math.max(0, (outSize - 1) * stride + k - size);
        return new int[] {total / 2, total - total / 2};
    }

    private static Conv2dSpec tfSame(int h, int w, int kh, int kw, int sh, int sw) {
        int[] v = same(h, kh, sh);
        int[] u = same(w, kw, sw);
        return spec(sh, sw, v[0], v[1], u[0], u[1]);
    }

    // {n, c, h, w, hidden, out, kh, kw}: one-pixel images, planes smaller than a strip so
    // that strips hold several images, planes just over a strip, odd channel counts
    private static final int[][] SMALL = {
        {1, 3, 1, 1, 5, 3, 3, 3}, {37, 4, 1, 1, 7, 4, 3, 3}, {33, 5, 1, 1, 13, 5, 1, 3},
        {9, 2, 2, 3, 1, 2, 3, 1}, {11, 6, 3, 5, 31, 7, 3, 3}, {5, 1, 7, 9, 33, 1, 3, 3},
        {3, 7, 5, 7, 37, 11, 5, 5}, {2, 8, 17, 17, 6, 8, 3, 3}, {4, 5, 6, 11, 64, 5, 3, 3},
        {1, 5, 16, 16, 12, 5, 3, 3}, {2, 4, 15, 1, 9, 4, 3, 1}, {2, 4, 1, 15, 9, 4, 1, 3},
        {65, 3, 1, 2, 2, 65, 1, 3}, {3, 3, 4, 4, 1, 1, 3, 3}, {1, 2, 16, 17, 3, 2, 7, 7},
    };

    @Test
    void tinyPlanesOddChannelsAndStripsAcrossImages() {
        SplittableRandom r = new SplittableRandom(101);
        try (CpuBackend cpu = new CpuBackend(3, GemmChoice.JAVA)) {
            for (int[] s : SMALL) {
                for (boolean withResidual : new boolean[] {false, true}) {
                    Conv2dSpec sp = new Conv2dSpec(1, 1, (s[6] - 1) / 2, s[6] / 2, (s[7] - 1) / 2,
                            s[7] / 2, 1, 1, 1);
                    try (Blk b = new Blk(r, s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7],
                            sp, Activation.SILU, Activation.IDENTITY, true, withResidual)) {
                        assertTrue(b.perBlock() || b.hidden == 1, b.describe());
                        check(cpu, b, true, 2e-5);
                    }
                }
            }
        }
    }

    /** A single image of 256 pixels or more runs across images; one of 255 does not. */
    @Test
    void largePlanesAndTheAcrossImagesThreshold() {
        SplittableRandom r = new SplittableRandom(102);
        int[][] shapes = {
            {1, 6, 16, 16, 20, 6, 3}, {1, 6, 15, 17, 20, 6, 3}, {1, 6, 5, 51, 20, 6, 3},
            {1, 4, 80, 75, 24, 8, 3}, {1, 3, 130, 130, 16, 3, 3}, {2, 16, 45, 45, 48, 16, 3},
        };
        try (CpuBackend cpu = new CpuBackend(4, GemmChoice.JAVA)) {
            for (int[] s : shapes) {
                try (Blk b = new Blk(r, s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[6],
                        Conv2dSpec.symmetric(1, 1, 1, 1), Activation.SILU, Activation.IDENTITY,
                        true, true)) {
                    assertTrue(b.perBlock(), b.describe());
                    long plane = (long) b.outH() * b.outW();
                    assertEquals(s[0] > 1 || plane >= 256, b.sameBitsPromised(), b.describe());
                    check(cpu, b, plane * s[4] * s[1] < 3_000_000, 2e-5);
                }
            }
        }
    }

    @Test
    void asymmetricAndSamePaddingsStridesAndKernels() {
        SplittableRandom r = new SplittableRandom(103);
        // {kh, kw, strideH, strideW}
        int[][] kernels = {
            {1, 3, 1, 1}, {3, 1, 1, 1}, {5, 5, 1, 1}, {7, 7, 1, 1}, {3, 3, 2, 1}, {3, 3, 1, 2},
            {3, 3, 2, 2}, {5, 5, 2, 2}, {2, 2, 1, 1}, {2, 2, 2, 2}, {1, 1, 2, 2}, {1, 1, 1, 2},
            {3, 3, 3, 1}, {4, 3, 3, 2}, {1, 7, 1, 2}, {7, 1, 2, 1},
        };
        int[][] sizes = {{9, 9}, {10, 7}, {1, 6}, {6, 1}, {17, 33}, {2, 2}};
        List<String> problems = new ArrayList<>();
        try (CpuBackend cpu = new CpuBackend(2, GemmChoice.JAVA)) {
            for (int[] k : kernels) {
                for (int[] size : sizes) {
                    for (int padding = 0; padding < 3; padding++) {
                        Conv2dSpec sp = switch (padding) {
                            case 0 -> tfSame(size[0], size[1], k[0], k[1], k[2], k[3]);
                            case 1 -> spec(k[2], k[3], k[0] - 1, 0, 0, k[1] - 1);
                            default -> spec(k[2], k[3], 0, k[0] / 2 + 1, k[1] / 2 + 2, 0);
                        };
                        if (sp.outH(size[0], k[0]) <= 0 || sp.outW(size[1], k[1]) <= 0) {
                            continue;
                        }
                        int n = 1 + (size[0] + k[0] + padding) % 4;
                        try (Blk b = new Blk(r, n, 5, size[0], size[1], 14, 9, k[0], k[1], sp,
                                Activation.RELU, Activation.IDENTITY, true, padding == 1)) {
                            boolean pointwise = b.first().pointwise();
                            if (b.perBlock() == pointwise) {
                                problems.add(b.describe() + ": per block " + b.perBlock());
                            }
                            try {
                                check(cpu, b, true, 2e-5);
                            } catch (AssertionError e) {
                                problems.add(e.getMessage());
                            }
                        }
                    }
                }
            }
        }
        if (!problems.isEmpty()) {
            fail(problems.size() + " problems:\n" + String.join("\n", problems));
        }
    }

    /** Sums of 511, 512, 513 and over 1024 terms, in either product. */
    @Test
    void sumsAcrossTheChunkBoundary() {
        SplittableRandom r = new SplittableRandom(104);
        // {n, c, side, hidden, out, k}
        int[][] shapes = {
            {2, 511, 4, 12, 7, 1}, {2, 512, 4, 12, 7, 1}, {2, 513, 4, 12, 7, 1},
            {3, 57, 5, 13, 6, 3}, {3, 58, 5, 13, 6, 3}, {2, 114, 5, 7, 5, 3},
            {2, 8, 5, 511, 6, 3}, {2, 8, 5, 512, 6, 3}, {2, 8, 5, 513, 6, 3},
            {2, 8, 5, 1030, 7, 3}, {1, 21, 16, 40, 9, 5}, {2, 11, 6, 20, 6, 7},
        };
        try (CpuBackend cpu = new CpuBackend(3, GemmChoice.JAVA)) {
            for (int[] s : shapes) {
                // a 1×1 expansion needs padding to be a windowed convolution
                Conv2dSpec sp = Conv2dSpec.symmetric(1, s[5] == 1 ? 1 : (s[5] - 1) / 2, 1, 1);
                try (Blk b = new Blk(r, s[0], s[1], s[2], s[2], s[3], s[4], s[5], s[5], sp,
                        Activation.GELU, Activation.IDENTITY, true, s[5] != 1)) {
                    assertTrue(b.perBlock(), b.describe());
                    check(cpu, b, true, 5e-5);
                }
            }
        }
    }

    @Test
    void everyActivationOnBothConvolutionsWithAndWithoutBiases() {
        SplittableRandom r = new SplittableRandom(105);
        List<String> problems = new ArrayList<>();
        try (CpuBackend cpu = new CpuBackend(2, GemmChoice.JAVA)) {
            for (Activation ea : Activation.values()) {
                for (Activation pa : Activation.values()) {
                    for (boolean biases : new boolean[] {true, false}) {
                        int n = biases ? 3 : 1;
                        int side = biases ? 7 : 17;
                        try (Blk b = new Blk(r, n, 6, side, side, 19, 6, 3, 3,
                                Conv2dSpec.symmetric(1, 1, 1, 1), ea, pa, biases, !biases)) {
                            try {
                                check(cpu, b, true, 2e-5);
                            } catch (AssertionError e) {
                                problems.add(e.getMessage());
                            }
                        }
                    }
                }
            }
        }
        if (!problems.isEmpty()) {
            fail(problems.size() + " problems:\n" + String.join("\n", problems));
        }
    }

    private static void set(Tensor t, long index, float value) {
        t.segment().setAtIndex(ValueLayout.JAVA_FLOAT, index, value);
    }

    /**
     * NaN and infinities in the input, in either weight and in a bias: the fused block gives
     * what the two calls give, NaN for NaN, including an infinite weight on a kernel row that
     * lies in the padding for some outputs (infinity times a padded zero).
     */
    @Test
    void nonFiniteInputsWeightsAndBiasesGiveTheTwoCallsBits() {
        float[] specials = {Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY,
            Float.MAX_VALUE, -Float.MIN_VALUE};
        String[] where = {"x", "ew", "eb", "pw", "pb", "residual"};
        try (CpuBackend cpu = new CpuBackend(3, GemmChoice.JAVA)) {
            for (String place : where) {
                for (float special : specials) {
                    for (int[] s : new int[][] {{4, 5, 6, 14, 5}, {1, 4, 17, 9, 7}}) {
                        SplittableRandom r = new SplittableRandom(106);
                        try (Blk b = new Blk(r, s[0], s[1], s[2], s[2], s[3], s[4], 3, 3,
                                Conv2dSpec.symmetric(1, 1, 1, 1), Activation.SILU,
                                Activation.IDENTITY, true, true)) {
                            Tensor t = switch (place) {
                                case "x" -> b.x;
                                case "ew" -> b.ew;
                                case "eb" -> b.eb;
                                case "pw" -> b.pw;
                                case "pb" -> b.pb;
                                default -> b.residual;
                            };
                            // the first tap of a kernel row, padding for the top outputs
                            set(t, 0, special);
                            set(t, t.numel() / 2 + 1, special);
                            String what = b.describe() + " " + special + " in " + place;
                            float[] fused = b.run(cpu);
                            if (b.sameBitsPromised()) {
                                assertSameBits(what, b.twoCalls(cpu), fused);
                            } else {
                                Reference.assertSameSpecials(what, b.reference(), fused);
                            }
                        }
                    }
                }
            }
        }
    }

    /** An infinite weight meets padding: infinity times zero is NaN in both forms. */
    @Test
    void anInfiniteWeightOnAPaddedTapGivesWhatTheTwoCallsGive() {
        SplittableRandom r = new SplittableRandom(107);
        try (CpuBackend cpu = new CpuBackend(2, GemmChoice.JAVA);
                Blk b = new Blk(r, 3, 4, 6, 7, 9, 4, 3, 3, spec(2, 2, 1, 1, 1, 1),
                        Activation.IDENTITY, Activation.IDENTITY, false, false)) {
            set(b.ew, 0, Float.POSITIVE_INFINITY);
            float[] fused = b.run(cpu);
            assertTrue(b.sameBitsPromised());
            assertSameBits(b.describe(), b.twoCalls(cpu), fused);
            boolean anyNan = false;
            for (float v : fused) {
                anyNan |= Float.isNaN(v);
            }
            assertTrue(anyNan, "the infinite weight reaches the outputs");
        }
    }

    /**
     * Uploaded weights: the same bits as the plain tensors on every batch size and plane,
     * an NCHW use of the same weights in between; once closed they are refused, and the
     * backend then serves other weights as before.
     */
    @Test
    void uploadedWeightsServeEveryBatchAndAreRefusedOnceClosed() {
        SplittableRandom r = new SplittableRandom(108);
        try (CpuBackend cpu = new CpuBackend(2, GemmChoice.JAVA);
                CpuBackend other = new CpuBackend(2, GemmChoice.JAVA);
                Blk b = Blk.simple(r, 1, 12, 5, 40, 12, 3, true)) {
            Tensor ew = b.ew, pw = b.pw;
            Tensor upEw = b.own(cpu.upload(ew));
            Tensor upPw = b.own(cpu.upload(pw));
            int before = cpu.keptWeights();
            for (int n : new int[] {3, 1, 0, 8, 1}) {
                for (int side : new int[] {5, 1, 17}) {
                    try (Blk c = Blk.simple(new SplittableRandom(n * 31 + side), n, 12, side, 40,
                            12, 3, n % 2 == 1)) {
                        c.ew = ew;
                        c.pw = pw;
                        float[] plain = c.run(other);
                        c.ew = upEw;
                        c.pw = upPw;
                        c.twoCalls(cpu);
                        assertArrayEquals(plain, c.run(cpu), n + " images of " + side);
                    }
                }
            }
            assertEquals(before + 2, cpu.keptWeights(), "the expansion and projection kept");
            float[] good = b.run(other);
            for (boolean closeExpansion : new boolean[] {true, false}) {
                try (Blk c = Blk.simple(new SplittableRandom(5), 2, 12, 5, 40, 12, 3, true)) {
                    // kept by a first call, then closed
                    c.ew = c.own(cpu.upload(b.ew));
                    c.pw = c.own(cpu.upload(b.pw));
                    c.run(cpu);
                    (closeExpansion ? c.ew : c.pw).close();
                    RuntimeException e = assertThrows(RuntimeException.class,
                            () -> c.run(cpu), "closed " + (closeExpansion ? "ew" : "pw"));
                    assertTrue(e instanceof IllegalStateException
                            || e instanceof IllegalArgumentException, e.toString());
                }
                assertArrayEquals(good, b.run(cpu), "after a closed weight was refused");
            }
        }
    }

    @Test
    void anyWorkerCountAndEitherGemmGiveTheSameBits() {
        SplittableRandom r = new SplittableRandom(109);
        int[][] shapes = {
            {25, 8, 8, 40, 8, 3}, {3, 5, 13, 29, 7, 3}, {1, 4, 20, 33, 4, 5},
            {1, 4, 9, 33, 4, 3}, {7, 3, 1, 5, 3, 3},
        };
        List<Blk> blocks = new ArrayList<>();
        try {
            for (int[] s : shapes) {
                blocks.add(Blk.simple(r, s[0], s[1], s[2], s[3], s[4], s[5], s[1] == s[4]));
            }
            List<float[]> first = new ArrayList<>();
            for (int threads = 1; threads <= 7; threads++) {
                for (GemmChoice gemm : new GemmChoice[] {GemmChoice.JAVA, GemmChoice.AUTO}) {
                    try (CpuBackend cpu = new CpuBackend(threads, gemm)) {
                        for (int i = 0; i < blocks.size(); i++) {
                            Blk b = blocks.get(i);
                            float[] y = threads == 1 && gemm == GemmChoice.JAVA
                                    ? check(cpu, b, true, 2e-5) : b.run(cpu);
                            if (first.size() <= i) {
                                first.add(y);
                            } else if (b.sameBitsPromised()) {
                                assertArrayEquals(first.get(i), y, b.describe() + " on "
                                        + threads + " threads, " + gemm);
                            } else {
                                assertClose(b.describe() + " on " + threads + " threads",
                                        Reference.toDouble(first.get(i)), y, 1e-5);
                            }
                        }
                    }
                }
            }
        } finally {
            for (Blk b : blocks) {
                b.close();
            }
        }
    }

    /** Callers on one backend at once each get their own single-threaded bits. */
    @Test
    void manyCallersOnOneBackendGetTheirSingleThreadedBits() throws Exception {
        SplittableRandom r = new SplittableRandom(110);
        int[][] shapes = {
            {5, 8, 9, 40, 8, 3}, {2, 6, 17, 13, 9, 3}, {9, 4, 3, 20, 4, 5}, {3, 12, 12, 50, 12, 3},
            {1, 5, 16, 7, 5, 3}, {4, 3, 1, 6, 3, 3},
        };
        List<Blk> blocks = new ArrayList<>();
        ExecutorService callers = Executors.newFixedThreadPool(shapes.length);
        try (CpuBackend alone = new CpuBackend(1, GemmChoice.JAVA);
                CpuBackend shared = new CpuBackend(3, GemmChoice.JAVA)) {
            List<float[]> expected = new ArrayList<>();
            for (int i = 0; i < shapes.length; i++) {
                int[] s = shapes[i];
                Blk b = Blk.simple(r, s[0], s[1], s[2], s[3], s[4], s[5], s[1] == s[4]);
                blocks.add(b);
                if (i % 2 == 0) {
                    // half of them with kept weights, packed by whichever caller comes first
                    b.ew = b.own(shared.upload(b.ew));
                    b.pw = b.own(shared.upload(b.pw));
                }
                expected.add(b.run(alone));
            }
            List<Future<String>> results = new ArrayList<>();
            for (int i = 0; i < shapes.length; i++) {
                int at = i;
                results.add(callers.submit(() -> {
                    Blk b = blocks.get(at);
                    for (int round = 0; round < 30; round++) {
                        float[] y = b.run(shared);
                        if (!Arrays.equals(expected.get(at), y)) {
                            return b.describe() + " differs in round " + round;
                        }
                    }
                    return null;
                }));
            }
            List<String> problems = new ArrayList<>();
            for (Future<String> f : results) {
                String problem = f.get();
                if (problem != null) {
                    problems.add(problem);
                }
            }
            if (!problems.isEmpty()) {
                fail(String.join("\n", problems));
            }
        } finally {
            callers.shutdownNow();
            for (Blk b : blocks) {
                b.close();
            }
        }
    }

    /** A few hundred random blocks against the two calls and the reference. */
    @Test
    void randomBlocks() {
        SplittableRandom r = new SplittableRandom(111);
        Activation[] acts = Activation.values();
        List<String> problems = new ArrayList<>();
        int promised = 0;
        try (CpuBackend cpu = new CpuBackend(3, GemmChoice.JAVA)) {
            for (int i = 0; i < 300; i++) {
                int n = r.nextInt(6) == 0 ? 1 : 1 + r.nextInt(6);
                int c = 1 + r.nextInt(r.nextInt(8) == 0 ? 70 : 12);
                int kh = 1 + r.nextInt(5), kw = 1 + r.nextInt(5);
                int h = 1 + r.nextInt(r.nextInt(5) == 0 ? 24 : 10);
                int w = 1 + r.nextInt(r.nextInt(5) == 0 ? 24 : 10);
                int sh = 1 + r.nextInt(3), sw = 1 + r.nextInt(2);
                Conv2dSpec sp = r.nextBoolean() ? tfSame(h, w, kh, kw, sh, sw)
                        : spec(sh, sw, r.nextInt(kh), r.nextInt(kh), r.nextInt(kw),
                                r.nextInt(kw));
                if (sp.outH(h, kh) <= 0 || sp.outW(w, kw) <= 0) {
                    continue;
                }
                int hidden = 1 + r.nextInt(r.nextInt(6) == 0 ? 90 : 30);
                int out = 1 + r.nextInt(r.nextInt(6) == 0 ? 70 : 20);
                Activation ea = acts[r.nextInt(acts.length)];
                Activation pa = r.nextInt(3) == 0 ? acts[r.nextInt(acts.length)]
                        : Activation.IDENTITY;
                try (Blk b = new Blk(r, n, c, h, w, hidden, out, kh, kw, sp, ea, pa,
                        r.nextInt(4) != 0, r.nextBoolean())) {
                    promised += b.sameBitsPromised() ? 1 : 0;
                    try {
                        check(cpu, b, true, 5e-5);
                    } catch (AssertionError | RuntimeException e) {
                        problems.add(b.describe() + ": " + e);
                    }
                }
            }
        }
        assertTrue(promised > 100, promised + " blocks with the two calls' bits promised");
        if (!problems.isEmpty()) {
            fail(problems.size() + " problems:\n" + String.join("\n", problems));
        }
    }

    /** Empty batches, and no input, hidden or output channels, as the two calls give them. */
    @Test
    void emptyBatchesAndChannels() {
        SplittableRandom r = new SplittableRandom(112);
        // {n, c, side, hidden, out}
        int[][] shapes = {{0, 4, 5, 9, 4}, {0, 4, 1, 9, 7}, {2, 0, 5, 9, 4}, {3, 4, 5, 0, 4},
            {3, 4, 5, 9, 0}, {1, 4, 1, 9, 4}};
        try (CpuBackend cpu = new CpuBackend(2, GemmChoice.JAVA)) {
            for (int[] s : shapes) {
                try (Blk b = Blk.simple(r, s[0], s[1], s[2], s[3], s[4], 3, s[1] == s[4])) {
                    String what = b.describe();
                    float[] two;
                    try {
                        two = b.twoCalls(cpu);
                    } catch (IllegalArgumentException e) {
                        // the two calls refuse it: so must the fused block, clearly
                        assertThrows(IllegalArgumentException.class, () -> b.run(cpu), what);
                        continue;
                    }
                    float[] fused = b.run(cpu);
                    assertSameBits(what, two, fused);
                    assertClose(what, b.reference(), fused, 2e-5);
                }
            }
        }
    }

    private static IllegalArgumentException refused(Executable call) {
        return assertThrows(IllegalArgumentException.class, call);
    }

    private static void assertMentions(IllegalArgumentException e, String... words) {
        for (String word : words) {
            assertTrue(e.getMessage().contains(word), "'" + word + "' in: " + e.getMessage());
        }
    }

    @Test
    void badInputsAreRefusedNamingTheProblem() {
        SplittableRandom r = new SplittableRandom(113);
        try (CpuBackend cpu = new CpuBackend(2, GemmChoice.JAVA);
                Blk b = Blk.simple(r, 2, 8, 6, 24, 8, 3, true);
                Tensor pw23 = Reference.random(r, -1, 1, 8, 23, 1, 1);
                Tensor pwFlat = Reference.random(r, -1, 1, 8, 24);
                Tensor ewFlat = Reference.random(r, -1, 1, 24, 8, 9);
                Tensor wrongResidual = Reference.random(r, -1, 1, 2, 8, 6, 5);
                Tensor flatResidual = Reference.random(r, -1, 1, 2, 8, 36);
                Tensor shortBias = Reference.random(r, -1, 1, 23);
                Tensor x3 = Reference.random(r, -1, 1, 8, 6, 6);
                Tensor dilatedW = Reference.random(r, -1, 1, 24, 8, 3, 3)) {
            assertTrue(b.perBlock());
            InvertedResidual.Conv e = b.expand();
            InvertedResidual.Conv p = b.project();
            // the projection takes 23 channels, the expansion gives 24
            assertMentions(refused(() -> cpu.edgeResidual(b.x, e,
                    new InvertedResidual.Conv(pw23, null, POINTWISE, Activation.IDENTITY), null)
                    .close()), "[8, 23, 1, 1]", "24");
            assertMentions(refused(() -> cpu.edgeResidual(b.x, e,
                    new InvertedResidual.Conv(pwFlat, null, POINTWISE, Activation.IDENTITY),
                    null).close()), "rank 4", "[8, 24]");
            assertMentions(refused(() -> cpu.edgeResidual(b.x,
                    new InvertedResidual.Conv(ewFlat, null, e.spec(), e.act()), p, null)
                    .close()), "rank 4", "[24, 8, 9]");
            assertMentions(refused(() -> cpu.edgeResidual(b.x, e, p, wrongResidual).close()),
                    "residual", "[2, 8, 6, 5]", "[2, 8, 6, 6]");
            assertMentions(refused(() -> cpu.edgeResidual(b.x, e, p, flatResidual).close()),
                    "residual", "rank 4");
            assertMentions(refused(() -> cpu.edgeResidual(b.x,
                    new InvertedResidual.Conv(b.ew, shortBias, e.spec(), e.act()), p, null)
                    .close()), "bias", "24");
            assertMentions(refused(() -> cpu.edgeResidual(x3, e, p, null).close()), "input",
                    "rank 4");
            // a dilated expansion does not run per block: its wrong residual is refused too
            InvertedResidual.Conv dilated = new InvertedResidual.Conv(dilatedW, null,
                    Conv2dSpec.symmetric(1, 2, 2, 1), Activation.SILU);
            assertFalse(Convolutions.windowed(new Convolutions.Geometry(2, 8, 6, 6, 24, 3, 3,
                    6, 6, dilated.spec())));
            assertMentions(refused(() -> cpu.edgeResidual(b.x, dilated, p, wrongResidual)
                    .close()), "residual", "[2, 8, 6, 5]");
            // a kernel larger than the padded input leaves no output
            InvertedResidual.Conv unpadded = new InvertedResidual.Conv(b.ew, b.eb,
                    Conv2dSpec.symmetric(1, 0, 1, 1), Activation.SILU);
            try (Tensor tiny = Reference.random(r, -1, 1, 2, 8, 2, 2)) {
                assertMentions(refused(() -> cpu.edgeResidual(tiny, unpadded, p, null)
                        .close()), "no output");
            }
            // refusals leave the backend as it was
            try (CpuBackend alone = new CpuBackend(1, GemmChoice.JAVA)) {
                assertArrayEquals(b.run(alone), b.run(cpu));
            }
        }
    }

    /**
     * Tensors over memory the backend does not own: exact slices of larger native segments
     * at an offset of one float (no vector alignment, nothing readable past the end), and
     * read-only or heap memory. The fused block reads what the two calls read: the same
     * bits, or the same refusal.
     */
    @Test
    void inputsInForeignMemoryGiveTheTwoCallsOutcome() {
        SplittableRandom r = new SplittableRandom(115);
        List<String> problems = new ArrayList<>();
        int computed = 0;
        try (CpuBackend cpu = new CpuBackend(3, GemmChoice.JAVA);
                java.lang.foreign.Arena arena = java.lang.foreign.Arena.ofShared()) {
            for (int kind = 0; kind < 3; kind++) {
                for (int[] s : new int[][] {{3, 5, 7, 13, 5}, {2, 4, 16, 20, 4}, {7, 3, 1, 9, 3}}) {
                    try (Blk b = Blk.simple(r, s[0], s[1], s[2], s[3], s[4], 3, true)) {
                        float[] plain = b.run(cpu);
                        b.x = b.own(foreign(b.x, kind, arena));
                        b.ew = b.own(foreign(b.ew, kind, arena));
                        b.pw = b.own(foreign(b.pw, kind, arena));
                        b.residual = b.own(foreign(b.residual, kind, arena));
                        String what = b.describe() + " in memory of kind " + kind;
                        String two;
                        float[] twoBits = null;
                        try {
                            twoBits = b.twoCalls(cpu);
                            two = "ok";
                        } catch (RuntimeException e) {
                            two = e.getClass().getSimpleName();
                        }
                        String fused;
                        float[] fusedBits = null;
                        try {
                            fusedBits = b.run(cpu);
                            fused = "ok";
                        } catch (RuntimeException e) {
                            fused = e.getClass().getSimpleName() + ": " + e.getMessage();
                        }
                        if (!two.equals("ok") || !fused.equals("ok")) {
                            if (!fused.startsWith(two)) {
                                problems.add(what + ": two calls " + two + ", fused " + fused);
                            }
                        } else if (!Arrays.equals(plain, fusedBits)
                                || !Arrays.equals(twoBits, fusedBits)) {
                            problems.add(what + ": other bits");
                        } else {
                            computed++;
                        }
                    }
                }
            }
        }
        if (!problems.isEmpty()) {
            fail(String.join("\n", problems));
        }
        // memory shared between threads, of every kind here, is read, not refused
        assertEquals(9, computed, "blocks computed");
    }

    /** {@code t}'s values in native memory at a one-float offset, read-only, or on the heap. */
    private static Tensor foreign(Tensor t, int kind, java.lang.foreign.Arena arena) {
        float[] values = t.toFloatArray();
        java.lang.foreign.MemorySegment data;
        if (kind == 2) {
            data = java.lang.foreign.MemorySegment.ofArray(values);
        } else {
            java.lang.foreign.MemorySegment whole = arena.allocate(
                    (values.length + 1L) * Float.BYTES, 64);
            data = whole.asSlice(Float.BYTES, (long) values.length * Float.BYTES);
            java.lang.foreign.MemorySegment.copy(values, 0, data,
                    ValueLayout.JAVA_FLOAT_UNALIGNED, 0, values.length);
            if (kind == 1) {
                data = data.asReadOnly();
            }
        }
        return Tensor.wrap(data, dev.lumbar.engine.tensor.DType.F32,
                dev.lumbar.engine.tensor.Device.CPU, t.shape());
    }

    /** Pooled outputs and per-worker buffers that held NaN do not reach the next result. */
    @Test
    void buffersThatHeldNanDoNotReachTheNextResult() {
        SplittableRandom r = new SplittableRandom(116);
        try (CpuBackend cpu = new CpuBackend(2, GemmChoice.JAVA);
                CpuBackend clean = new CpuBackend(2, GemmChoice.JAVA)) {
            for (int[] s : new int[][] {{3, 5, 7, 13, 5}, {1, 4, 16, 19, 4}, {9, 3, 1, 7, 3}}) {
                try (Blk poisoned = Blk.simple(r, s[0], s[1], s[2], s[3], s[4], 3, true);
                        Blk b = Blk.simple(r, s[0], s[1], s[2], s[3], s[4], 3, true)) {
                    for (int i = 0; i < poisoned.x.numel(); i++) {
                        set(poisoned.x, i, Float.NaN);
                    }
                    for (int i = 0; i < poisoned.ew.numel(); i++) {
                        set(poisoned.ew, i, Float.NaN);
                    }
                    // the NaN output goes back to the pool, its buffers keep NaN
                    poisoned.run(cpu);
                    assertArrayEquals(b.run(clean), b.run(cpu), b.describe());
                }
            }
        }
    }

    /** Inputs that are not F32 CPU tensors are refused, the bad one named. */
    @Test
    void otherTypesAreRefused() {
        SplittableRandom r = new SplittableRandom(117);
        try (CpuBackend cpu = new CpuBackend(2, GemmChoice.JAVA);
                Blk b = Blk.simple(r, 2, 4, 5, 8, 4, 3, true);
                Tensor halfResidual = Tensor.allocate(dev.lumbar.engine.tensor.DType.F16,
                        2, 4, 5, 5);
                Tensor halfWeight = Tensor.allocate(dev.lumbar.engine.tensor.DType.F16,
                        4, 8, 1, 1)) {
            assertMentions(refused(() -> cpu.edgeResidual(b.x, b.expand(), b.project(),
                    halfResidual).close()), "residual", "F32");
            assertMentions(refused(() -> cpu.edgeResidual(b.x, b.expand(),
                    new InvertedResidual.Conv(halfWeight, null, POINTWISE, Activation.IDENTITY),
                    null).close()), "weight", "F32");
        }
    }

    /**
     * ConvNeXt's channel MLP shares the fused body: its results are those of two 1×1 calls
     * across images, then the scale and residual in float arithmetic, bit for bit.
     */
    @Test
    void channelMlpGivesItsTwoCallsBits() {
        SplittableRandom r = new SplittableRandom(114);
        // {n, c, side, hidden}
        int[][] shapes = {{3, 8, 7, 32}, {2, 5, 16, 13}, {1, 6, 16, 25}, {9, 4, 1, 7},
            {2, 520, 3, 11}, {2, 4, 5, 515}, {5, 3, 2, 6}};
        try (CpuBackend cpu = new CpuBackend(3, GemmChoice.JAVA)) {
            for (int[] s : shapes) {
                for (Activation act : Activation.values()) {
                    for (int variant = 0; variant < 4; variant++) {
                        boolean scaled = (variant & 1) != 0, biases = (variant & 2) != 0;
                        int n = s[0], c = s[1], side = s[2], hid = s[3];
                        try (Tensor x = Reference.random(r, -2, 2, n, c, side, side);
                                Tensor w1 = Reference.random(r, -0.3, 0.3, hid, c, 1, 1);
                                Tensor b1 = Reference.random(r, -0.5, 0.5, hid);
                                Tensor w2 = Reference.random(r, -0.3, 0.3, c, hid, 1, 1);
                                Tensor b2 = Reference.random(r, -0.5, 0.5, c);
                                Tensor scale = Reference.random(r, -1, 1, c)) {
                            Tensor bias1 = biases ? b1 : null, bias2 = biases ? b2 : null;
                            Tensor gamma = scaled ? scale : null;
                            String what = Arrays.toString(s) + " " + act + " scaled " + scaled
                                    + " biases " + biases;
                            float[] y;
                            try (Tensor t = cpu.channelMlp(x, w1, bias1, act, w2, bias2, gamma,
                                    x)) {
                                y = t.toFloatArray();
                            }
                            float[] expected;
                            try (Tensor e = cpu.conv2d(x, w1, bias1, POINTWISE, act);
                                    Tensor p = cpu.conv2d(e, w2, bias2, POINTWISE,
                                            Activation.IDENTITY)) {
                                expected = p.toFloatArray();
                            }
                            float[] xs = x.toFloatArray();
                            float[] g = scale.toFloatArray();
                            int plane = side * side;
                            for (int i = 0; i < expected.length; i++) {
                                float v = scaled ? expected[i] * g[i / plane % c] : expected[i];
                                expected[i] = v + xs[i];
                            }
                            assertSameBits(what, expected, y);
                        }
                    }
                }
            }
        }
    }
}
