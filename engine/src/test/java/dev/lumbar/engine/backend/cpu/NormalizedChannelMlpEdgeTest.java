package dev.lumbar.engine.backend.cpu;

import static dev.lumbar.engine.backend.cpu.Reference.assertSameBits;
import static dev.lumbar.engine.backend.cpu.Reference.random;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.lumbar.engine.backend.Activation;
import dev.lumbar.engine.backend.cpu.CpuBackend.GemmChoice;
import dev.lumbar.engine.tensor.Tensor;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/**
 * {@link CpuBackend#normalizedChannelMlp} at its edges: planes from 1×1 to 31×33 (runs of a
 * packed strip from one pixel to a whole strip, strips across many images), batches 1 to 7,
 * channel counts around a vector, hidden widths that are not 4·C, every null combination of
 * the optional tensors, inputs with a large common offset, constant pixels (zero variance),
 * NaN and infinities, eps 0 and 1e-5, on 1, 2 and 3 threads: always the bits of
 * {@code layerNormChannels} followed by {@code channelMlp}. Wrong shapes are refused.
 */
class NormalizedChannelMlpEdgeTest {

    private static final int[][] PLANES = {
        {1, 1}, {1, 7}, {1, 40}, {2, 2}, {3, 3}, {4, 4}, {5, 5}, {6, 6}, {7, 7}, {9, 9},
        {11, 13}, {16, 16}, {17, 17}, {31, 33}};
    private static final int[] CHANNELS = {1, 2, 3, 15, 16, 17, 33};

    private static CpuBackend one;
    private static CpuBackend two;
    private static CpuBackend three;

    @BeforeAll
    static void open() {
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

    /** How the input's values are drawn. */
    private enum Values { PLAIN, OFFSET, CONSTANT, SPECIAL }

    @Test
    void everyPlaneChannelCountAndBatchGivesTheBitsOfTheSeparateCalls() {
        SplittableRandom random = new SplittableRandom(4_242);
        Activation[] acts = Activation.values();
        Values[] kinds = Values.values();
        int k = 0;
        for (int[] plane : PLANES) {
            for (int c : CHANNELS) {
                int n = 1 + (k * 3) % 7;
                int[] hiddens = {4 * c + 1, 3 * c + 2, 5, 4 * c, 1 + 2 * c};
                int hidden = hiddens[k % hiddens.length];
                int out = k % 3 == 0 ? c : 1 + (k * 5) % 19;
                // biases, scale and residual in every combination
                int present = k % 16;
                Values kind = kinds[k % kinds.length];
                float eps = k % 2 == 0 ? 0f : 1e-5f;
                check(random, n, c, plane[0], plane[1], hidden, out, present, kind, eps,
                        acts[k % acts.length]);
                k++;
            }
        }
    }

    /** Every batch with the planes whose strips mix images most. */
    @Test
    void everyBatchFromOneToSeven() {
        SplittableRandom random = new SplittableRandom(4_243);
        int k = 0;
        for (int n = 1; n <= 7; n++) {
            for (int[] plane : new int[][] {{1, 1}, {2, 2}, {3, 3}, {5, 5}, {7, 7}}) {
                for (int c : new int[] {3, 16, 17}) {
                    check(random, n, c, plane[0], plane[1], 2 * c + 3, c, 15,
                            k % 3 == 0 ? Values.OFFSET : Values.PLAIN, k % 2 == 0 ? 0f : 1e-5f,
                            Activation.GELU);
                    k++;
                }
            }
        }
    }

    /**
     * Pixels whose channels are all equal: the variance is zero, so eps 0 gives 0 · ∞ = NaN
     * and eps 1e-5 gives beta; both ways the same bits as the separate calls.
     */
    @Test
    void constantPixelsWithEpsZeroAndNot() {
        SplittableRandom random = new SplittableRandom(4_244);
        for (float eps : new float[] {0f, 1e-5f}) {
            for (int[] plane : new int[][] {{1, 1}, {4, 4}, {7, 7}, {17, 17}}) {
                check(random, 3, 16, plane[0], plane[1], 40, 16, 15, Values.CONSTANT, eps,
                        Activation.RELU);
                check(random, 2, 1, plane[0], plane[1], 6, 5, 0, Values.PLAIN, eps,
                        Activation.IDENTITY);
            }
        }
    }

    /** ConvNeXt's widths, and weights uploaded so that their packed forms are kept. */
    @Test
    void convNextWidthsAndUploadedWeights() {
        SplittableRandom random = new SplittableRandom(4_247);
        int[][] shapes = {{5, 96, 7, 7}, {1, 192, 3, 5}, {2, 384, 2, 2}, {7, 768, 1, 1}};
        for (int[] s : shapes) {
            int n = s[0], c = s[1], h = s[2], w = s[3];
            List<Tensor> owned = new ArrayList<>();
            try {
                Tensor x = own(owned, random(random, -3, 5, n, c, h, w));
                Tensor gamma = own(owned, random(random, -2, 2, c));
                Tensor beta = own(owned, random(random, -1, 1, c));
                Tensor w1 = own(owned, random(random, -0.1, 0.1, 4 * c, c, 1, 1));
                Tensor b1 = own(owned, random(random, -0.1, 0.1, 4 * c));
                Tensor w2 = own(owned, random(random, -0.1, 0.1, c, 4 * c, 1, 1));
                Tensor b2 = own(owned, random(random, -0.1, 0.1, c));
                Tensor scale = own(owned, random(random, -1, 1, c));
                Tensor up1 = own(owned, three.upload(w1));
                Tensor up2 = own(owned, three.upload(w2));
                Tensor normed = own(owned, one.layerNormChannels(x, gamma, beta, 1e-6f));
                float[] want = own(owned, one.channelMlp(normed, w1, b1, Activation.GELU, w2,
                        b2, scale, x)).toFloatArray();
                for (int round = 0; round < 2; round++) {
                    Tensor fused = own(owned, three.normalizedChannelMlp(x, gamma, beta,
                            1e-6f, up1, b1, Activation.GELU, up2, b2, scale, x));
                    assertSameBits(java.util.Arrays.toString(s) + " uploaded, round " + round, want,
                            fused.toFloatArray());
                }
            } finally {
                for (Tensor t : owned) {
                    t.close();
                }
            }
        }
    }

    /** Callers on four threads at once share the workers and get the sequential bits. */
    @Test
    void concurrentCallersGetTheSequentialBits() throws Exception {
        SplittableRandom random = new SplittableRandom(4_248);
        int[][] shapes = {{3, 17, 5, 5}, {1, 33, 11, 13}, {7, 16, 1, 1}, {2, 3, 31, 33}};
        List<Tensor> owned = new ArrayList<>();
        try {
            Tensor[][] args = new Tensor[shapes.length][];
            float[][] want = new float[shapes.length][];
            for (int i = 0; i < shapes.length; i++) {
                int[] s = shapes[i];
                int c = s[1];
                args[i] = new Tensor[] {
                    own(owned, random(random, -1, 3, s[0], c, s[2], s[3])),
                    own(owned, random(random, -2, 2, c)), own(owned, random(random, -1, 1, c)),
                    own(owned, random(random, -0.3, 0.3, 3 * c + 1, c, 1, 1)),
                    own(owned, random(random, -0.3, 0.3, c, 3 * c + 1, 1, 1))};
                want[i] = call(one, args[i]);
            }
            java.util.concurrent.ExecutorService callers =
                    java.util.concurrent.Executors.newFixedThreadPool(4);
            try {
                List<java.util.concurrent.Future<float[]>> got = new ArrayList<>();
                for (int round = 0; round < 6; round++) {
                    for (int i = 0; i < shapes.length; i++) {
                        Tensor[] a = args[i];
                        got.add(callers.submit(() -> call(three, a)));
                    }
                }
                for (int j = 0; j < got.size(); j++) {
                    assertSameBits("concurrent call " + j, want[j % shapes.length],
                            got.get(j).get());
                }
            } finally {
                callers.shutdown();
            }
        } finally {
            for (Tensor t : owned) {
                t.close();
            }
        }
    }

    private static float[] call(CpuBackend cpu, Tensor[] a) {
        try (Tensor y = cpu.normalizedChannelMlp(a[0], a[1], a[2], 1e-5f, a[3], null,
                Activation.SILU, a[4], null, null, null)) {
            return y.toFloatArray();
        }
    }

    private static void check(SplittableRandom random, int n, int c, int h, int w, int hidden,
            int out, int present, Values kind, float eps, Activation act) {
        boolean hasB1 = (present & 1) != 0;
        boolean hasB2 = (present & 2) != 0;
        boolean hasScale = (present & 4) != 0;
        boolean hasResidual = (present & 8) != 0;
        String what = "x [" + n + ", " + c + ", " + h + ", " + w + "] hidden " + hidden
                + " out " + out + " " + kind + " eps " + eps + " " + act
                + (hasB1 ? " b1" : "") + (hasB2 ? " b2" : "") + (hasScale ? " scale" : "")
                + (hasResidual ? " residual" : "");
        List<Tensor> owned = new ArrayList<>();
        try {
            Tensor x = own(owned, input(random, kind, n, c, h, w));
            Tensor gamma = own(owned, random(random, -2, 2, c));
            Tensor beta = own(owned, random(random, -1, 1, c));
            Tensor w1 = own(owned, random(random, -0.4, 0.4, hidden, c, 1, 1));
            Tensor b1 = hasB1 ? own(owned, random(random, -0.3, 0.3, hidden)) : null;
            Tensor w2 = own(owned, random(random, -0.3, 0.3, out, hidden, 1, 1));
            Tensor b2 = hasB2 ? own(owned, random(random, -0.3, 0.3, out)) : null;
            Tensor scale = hasScale ? own(owned, random(random, -1, 1, out)) : null;
            Tensor residual = hasResidual ? own(owned, random(random, -1, 1, n, out, h, w))
                    : null;
            Tensor normed = own(owned, one.layerNormChannels(x, gamma, beta, eps));
            Tensor expected = own(owned, one.channelMlp(normed, w1, b1, act, w2, b2, scale,
                    residual));
            float[] want = expected.toFloatArray();
            for (CpuBackend cpu : new CpuBackend[] {one, two, three}) {
                Tensor fused = own(owned, cpu.normalizedChannelMlp(x, gamma, beta, eps, w1, b1,
                        act, w2, b2, scale, residual));
                assertArrayEquals(expected.shape(), fused.shape(), what);
                assertSameBits(what + " on " + cpu.threads() + " threads", want,
                        fused.toFloatArray());
            }
            if (kind == Values.PLAIN && eps > 0) {
                // and the separate calls themselves are the reference's, roughly
                assertTrue(Arrays.stream(toDoubles(want)).allMatch(Double::isFinite), what);
            }
        } finally {
            for (Tensor t : owned) {
                t.close();
            }
        }
    }

    private static Tensor own(List<Tensor> owned, Tensor t) {
        owned.add(t);
        return t;
    }

    private static double[] toDoubles(float[] v) {
        double[] d = new double[v.length];
        for (int i = 0; i < v.length; i++) {
            d[i] = v[i];
        }
        return d;
    }

    private static Tensor input(SplittableRandom random, Values kind, int n, int c, int h,
            int w) {
        int plane = h * w;
        float[] v = new float[n * c * plane];
        for (int i = 0; i < v.length; i++) {
            v[i] = switch (kind) {
                case PLAIN -> (float) (random.nextDouble() * 2 - 1);
                case OFFSET -> (float) (1e4 + random.nextDouble() * 0.02 - 0.01);
                case CONSTANT, SPECIAL -> (float) (random.nextDouble() * 6 - 3);
            };
        }
        if (kind == Values.CONSTANT) {
            // every channel of a pixel equal to channel 0's value; some pixels at 1e4
            for (int b = 0; b < n; b++) {
                for (int p = 0; p < plane; p++) {
                    float first = p % 3 == 0 ? 1e4f : v[b * c * plane + p];
                    for (int ch = 0; ch < c; ch++) {
                        v[(b * c + ch) * plane + p] = first;
                    }
                }
            }
        }
        if (kind == Values.SPECIAL) {
            float[] specials = {Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY,
                Float.MAX_VALUE, -Float.MAX_VALUE, Float.MIN_VALUE};
            for (int i = 0; i < Math.max(1, v.length / 23); i++) {
                v[random.nextInt(v.length)] = specials[random.nextInt(specials.length)];
            }
        }
        return Tensor.of(v, n, c, h, w);
    }

    // ---- refusals ----------------------------------------------------------------------------

    @Test
    void wrongShapesAreRefusedWithIllegalArgumentException() {
        SplittableRandom random = new SplittableRandom(4_245);
        int n = 2, c = 8, h = 5, w = 6, hidden = 20, out = 8;
        List<Tensor> owned = new ArrayList<>();
        try {
            Tensor x = own(owned, random(random, -1, 1, n, c, h, w));
            Tensor gamma = own(owned, random(random, -1, 1, c));
            Tensor beta = own(owned, random(random, -1, 1, c));
            Tensor w1 = own(owned, random(random, -1, 1, hidden, c, 1, 1));
            Tensor b1 = own(owned, random(random, -1, 1, hidden));
            Tensor w2 = own(owned, random(random, -1, 1, out, hidden, 1, 1));
            Tensor b2 = own(owned, random(random, -1, 1, out));
            Tensor scale = own(owned, random(random, -1, 1, out));
            Tensor residual = own(owned, random(random, -1, 1, n, out, h, w));
            Tensor shortGamma = own(owned, random(random, -1, 1, c - 1));
            Tensor longGamma = own(owned, random(random, -1, 1, c + 1));
            Tensor shortBeta = own(owned, random(random, -1, 1, c - 1));
            Tensor matrixGamma = own(owned, random(random, -1, 1, 1, c));
            Tensor wideResidual = own(owned, random(random, -1, 1, n, out, h, w + 1));
            Tensor moreImages = own(owned, random(random, -1, 1, n + 1, out, h, w));
            Tensor otherChannels = own(owned, random(random, -1, 1, n, out + 1, h, w));
            Tensor flatResidual = own(owned, random(random, -1, 1, n * out, h, w));
            Tensor w2Short = own(owned, random(random, -1, 1, out, hidden - 1, 1, 1));
            Tensor w2Long = own(owned, random(random, -1, 1, out, hidden + 1, 1, 1));
            Tensor w2Kernel = own(owned, random(random, -1, 1, out, hidden, 3, 3));
            Tensor w2Flat = own(owned, random(random, -1, 1, out, hidden));
            Tensor w1Other = own(owned, random(random, -1, 1, hidden, c + 1, 1, 1));

            // sanity: the good call works
            own(owned, one.normalizedChannelMlp(x, gamma, beta, 1e-5f, w1, b1,
                    Activation.GELU, w2, b2, scale, residual));

            refused("gamma short", () -> one.normalizedChannelMlp(x, shortGamma, beta, 1e-5f,
                    w1, b1, Activation.GELU, w2, b2, scale, residual));
            refused("gamma long", () -> one.normalizedChannelMlp(x, longGamma, beta, 1e-5f,
                    w1, b1, Activation.GELU, w2, b2, scale, residual));
            refused("beta short", () -> one.normalizedChannelMlp(x, gamma, shortBeta, 1e-5f,
                    w1, b1, Activation.GELU, w2, b2, scale, residual));
            refused("gamma [1, C]", () -> one.normalizedChannelMlp(x, matrixGamma, beta,
                    1e-5f, w1, b1, Activation.GELU, w2, b2, scale, residual));
            refused("gamma null", () -> one.normalizedChannelMlp(x, null, beta, 1e-5f, w1,
                    b1, Activation.GELU, w2, b2, scale, residual));
            refused("beta null", () -> one.normalizedChannelMlp(x, gamma, null, 1e-5f, w1,
                    b1, Activation.GELU, w2, b2, scale, residual));
            for (Tensor r : new Tensor[] {wideResidual, moreImages, otherChannels,
                flatResidual}) {
                refused("residual " + Arrays.toString(r.shape()),
                        () -> one.normalizedChannelMlp(x, gamma, beta, 1e-5f, w1, b1,
                                Activation.GELU, w2, b2, scale, r));
            }
            for (Tensor bad : new Tensor[] {w2Short, w2Long, w2Kernel, w2Flat}) {
                refused("w2 " + Arrays.toString(bad.shape()),
                        () -> one.normalizedChannelMlp(x, gamma, beta, 1e-5f, w1, b1,
                                Activation.GELU, bad, null, null, null));
            }
            refused("w1 of other channels", () -> one.normalizedChannelMlp(x, gamma, beta,
                    1e-5f, w1Other, b1, Activation.GELU, w2, b2, scale, residual));
        } finally {
            for (Tensor t : owned) {
                t.close();
            }
        }
    }

    /**
     * The MLP's weights are documented as {@code [Ch, C, 1, 1]} and {@code [Co, Ch, 1, 1]};
     * the second is checked, so should the first be: a 3×3 first weight is not a channel MLP.
     */
    @Test
    void aFirstWeightThatIsNotOneByOneIsRefused() {
        SplittableRandom random = new SplittableRandom(4_246);
        try (Tensor x = random(random, -1, 1, 1, 4, 5, 5);
                Tensor gamma = random(random, -1, 1, 4);
                Tensor beta = random(random, -1, 1, 4);
                Tensor w1 = random(random, -1, 1, 8, 4, 3, 3);
                Tensor w2 = random(random, -1, 1, 4, 8, 1, 1)) {
            refused("w1 [8, 4, 3, 3]", () -> {
                try (Tensor y = one.normalizedChannelMlp(x, gamma, beta, 1e-5f, w1, null,
                        Activation.GELU, w2, null, null, null)) {
                    fail("gave " + Arrays.toString(y.shape()) + " for x [1, 4, 5, 5]");
                }
            });
            // and by the interface's own two calls, which backends without a fused MLP run
            refused("w1 [8, 4, 3, 3] by the default", () -> {
                try (Tensor y = new ReferenceBackend().normalizedChannelMlp(x, gamma, beta,
                        1e-5f, w1, null, Activation.GELU, w2, null, null, null)) {
                    fail("gave " + Arrays.toString(y.shape()) + " for x [1, 4, 5, 5]");
                }
            });
        }
    }

    private static void refused(String what, Executable call) {
        assertThrows(IllegalArgumentException.class, call, what + " should be refused");
    }
}
