package dev.lumbar.engine.backend.cpu;

import static dev.lumbar.engine.backend.cpu.Reference.assertClose;
import static dev.lumbar.engine.backend.cpu.Reference.assertSameBits;
import static dev.lumbar.engine.backend.cpu.Reference.random;
import static dev.lumbar.engine.backend.cpu.Reference.toDouble;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.lumbar.engine.backend.Activation;
import dev.lumbar.engine.backend.Conv2dSpec;
import dev.lumbar.engine.backend.cpu.CpuBackend.GemmChoice;
import dev.lumbar.engine.tensor.Tensor;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The channel-blocked inverted residuals' depthwise epilogue: with SiLU the activation and
 * the squeeze-excite means in one pass ({@link Pointwise#siluWithMeans}), with any other
 * activation a copy, an activation pass and a pass for the means. Blocks over small planes
 * (1×1 to 14×14) and batches whose pixels are not whole tiles of 6, stride 1 and 2, against
 * the backend's NCHW calls and the double-precision reference, and the same bits on 1, 2 and
 * 3 threads; and the depthwise step alone, where SiLU must give exactly the bits of the
 * identity's sums passed through the SiLU pass and summed vector after vector.
 */
class SiluMeansEdgeTest {

    private static final Activation[] DEPTHWISE = {Activation.SILU, Activation.RELU,
        Activation.IDENTITY, Activation.GELU};

    private static CpuBackend one;
    private static CpuBackend two;
    private static CpuBackend three;

    @BeforeAll
    static void open() {
        one = new CpuBackend(1, GemmChoice.JAVA);
        // the engine's own GEMM on all three: with vectors narrower than 16 floats the blocks
        // run as NCHW calls, whose 1x1 products on OpenBLAS would differ in their last bits
        two = new CpuBackend(2, GemmChoice.JAVA);
        three = new CpuBackend(3, GemmChoice.JAVA);
    }

    @AfterAll
    static void close() {
        one.close();
        two.close();
        three.close();
    }

    /** {side, images...}: n · side² is not a multiple of 6 for any of these batches. */
    private static final int[][] SIDES = {
        {1, 1, 5, 7}, {2, 1, 2, 4}, {3, 1, 5}, {4, 1, 2}, {5, 1, 3}, {7, 1, 5}, {8, 1},
        {13, 1, 2}, {14, 1, 5}};

    @Test
    void smallPlanesAndOddBatchesMatchTheNchwCallsWithTheSameBitsOnAnyThreads() {
        SplittableRandom random = new SplittableRandom(6_161);
        int[][] channels = {{16, 32, 32}, {32, 64, 32}, {48, 96, 64}, {16, 32, 64}};
        int[] kernels = {3, 5, 7};
        int k = 0;
        for (int[] s : SIDES) {
            for (int i = 1; i < s.length; i++) {
                int n = s[i];
                assertTrue(n * s[0] * s[0] % 6 != 0, "pixels should not be whole tiles");
                for (Activation act : DEPTHWISE) {
                    int[] ch = channels[k % channels.length];
                    int kernel = kernels[k % kernels.length];
                    boolean residual = ch[0] == ch[2] && k % 2 == 0;
                    check(random, n, ch[0], s[0], ch[1], ch[2], kernel, 1, act, k % 5 != 4,
                            residual);
                    k++;
                }
            }
        }
    }

    /** Stride 2 both ways: the SiLU pass and means run over the smaller output plane. */
    @Test
    void stridedBlocksTakeTheSamePass() {
        SplittableRandom random = new SplittableRandom(6_162);
        int[][] cases = {{1, 1}, {5, 1}, {2, 3}, {3, 2}, {1, 4}, {5, 7}, {1, 13}, {2, 14}};
        int k = 0;
        for (int[] c : cases) {
            for (Activation act : DEPTHWISE) {
                check(random, c[0], 16, c[1], 32, 32, k % 2 == 0 ? 3 : 5, 2, act, true,
                        false);
                k++;
            }
        }
    }

    private static void check(SplittableRandom random, int n, int c, int side, int hidden,
            int out, int kernel, int stride, Activation act, boolean depthwiseBias,
            boolean withResidual) {
        String what = "[" + n + ", " + c + ", " + side + ", " + side + "] -> " + hidden
                + " -> " + out + ", " + kernel + "x" + kernel + " stride " + stride + " " + act
                + (depthwiseBias ? "" : " no depthwise bias")
                + (withResidual ? " + residual" : "");
        int[] shape = {n, c, side, hidden, out, Math.max(1, c / 4), kernel};
        try (InvertedResidualTest.Case b = new InvertedResidualTest.Case(random, shape, stride,
                act, depthwiseBias)) {
            if (Transposes.available()) {
                assertTrue(b.fits(), what + " should run channel-blocked");
            }
            float[] blocked = b.run(one, withResidual);
            assertClose(what + " against NCHW calls", toDouble(b.nchw(one, withResidual)),
                    blocked, 2e-5);
            if ((long) n * side * side * hidden <= 40_000) {
                assertClose(what + " against the reference", toDouble(b.run(
                        new ReferenceBackend(), withResidual)), blocked, 2e-5);
            }
            assertSameBits(what + " on 2 threads", blocked, b.run(two, withResidual));
            assertSameBits(what + " on 3 threads", blocked, b.run(three, withResidual));
        }
    }

    /**
     * A NaN input pixel reaches every hidden channel at that pixel, the depthwise outputs
     * around it, its image's means and so its whole gate: every output of that image is NaN
     * and the other images' are finite, blocked as through the NCHW calls.
     */
    @Test
    void aNanPixelPoisonsItsImageAndNoOther() {
        SplittableRandom random = new SplittableRandom(6_164);
        for (Activation act : new Activation[] {Activation.SILU, Activation.GELU}) {
            for (int side : new int[] {1, 3, 7}) {
                int[] shape = {3, 16, side, 32, 32, 4, 3};
                try (InvertedResidualTest.Case b = new InvertedResidualTest.Case(random, shape,
                        1, act, true)) {
                    float[] xs = b.x.toFloatArray();
                    int plane = side * side;
                    xs[(1 * 16 + 5) * plane + plane / 2] = Float.NaN;
                    try (Tensor poisoned = Tensor.of(xs, 3, 16, side, side);
                            Tensor y = one.invertedResidual(poisoned, b.block(), null)) {
                        float[] ys = y.toFloatArray();
                        for (int i = 0; i < ys.length; i++) {
                            boolean imageOne = i / (32 * plane) == 1;
                            assertEquals(imageOne, Float.isNaN(ys[i]), act + " side " + side
                                    + " element " + i);
                            assertTrue(imageOne || Float.isFinite(ys[i]), "element " + i);
                        }
                    }
                }
            }
        }
    }

    /**
     * The depthwise step alone, over blocked input that holds special values too: with SiLU
     * (and with RELU and GELU) each output is the identity's output passed through
     * {@link Pointwise#biasActivate}, and each mean the activated outputs of its plane summed
     * in float vector after vector from zero, times {@code 1f / plane}.
     */
    @Test
    void theOnePassGivesTheBitsOfTheSumsActivatedThenAveraged() {
        assumeTrue(Transposes.available(), "the blocked path needs vectors of 16 or 8 floats");
        SplittableRandom random = new SplittableRandom(6_163);
        // {images, channels, side, kernel, stride}
        int[][] cases = {{1, 16, 1, 3, 1}, {5, 32, 1, 3, 1}, {7, 16, 2, 3, 1}, {3, 32, 3, 5, 1},
            {2, 16, 4, 3, 1}, {5, 48, 7, 7, 1}, {1, 32, 13, 3, 1}, {2, 16, 14, 5, 1},
            {3, 16, 7, 3, 2}, {1, 32, 14, 5, 2}, {5, 16, 1, 3, 2}};
        for (int threads = 1; threads <= 3; threads++) {
            try (WorkerPool workers = new WorkerPool(threads)) {
                InvertedResiduals blocked = new InvertedResiduals(workers,
                        new PixelProducts(workers));
                for (int[] c : cases) {
                    onePass(random, blocked, c[0], c[1], c[2], c[3], c[4],
                            threads + " threads");
                }
            }
        }
    }

    private static void onePass(SplittableRandom random, InvertedResiduals blocked, int n,
            int c, int side, int k, int stride, String threads) {
        Conv2dSpec spec = Conv2dSpec.symmetric(stride, (k - 1) / 2, 1, c);
        int o = spec.outH(side, k);
        Convolutions.Geometry g = new Convolutions.Geometry(n, c, side, side, c, k, k, o, o,
                spec);
        int inPixels = InvertedResiduals.paddedPixels(g);
        int outPixels = InvertedResiduals.outputPixels(g);
        int plane = o * o;
        int lanes = Transposes.LANES;
        float[] hidden = new float[c * inPixels];
        float[] specials = {Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, 90f,
            -90f, 1e30f, -1e30f, 0f, -0f};
        for (int i = 0; i < hidden.length; i++) {
            hidden[i] = random.nextInt(40) == 0 ? specials[random.nextInt(specials.length)]
                    : (float) (random.nextDouble() * 16 - 8);
        }
        String what = "depthwise [" + n + ", " + c + ", " + side + ", " + side + "] " + k
                + "x" + k + " stride " + stride + ", " + threads;
        try (Tensor in = Tensor.of(hidden, hidden.length);
                Tensor weight = random(random, -0.5, 0.5, c, 1, k, k);
                Tensor bias = random(random, -0.5, 0.5, c);
                Tensor sums = Tensor.zeros((long) c * outPixels);
                Tensor sumMeans = Tensor.zeros((long) n * c)) {
            blocked.depthwise(g, in.segment(), weight.segment(), bias.segment(),
                    Activation.IDENTITY, sums.segment(), sumMeans.segment());
            for (Activation act : new Activation[] {Activation.SILU, Activation.RELU,
                Activation.GELU}) {
                try (Tensor got = Tensor.zeros((long) c * outPixels);
                        Tensor means = Tensor.zeros((long) n * c);
                        Tensor want = Tensor.zeros((long) c * outPixels)) {
                    blocked.depthwise(g, in.segment(), weight.segment(), bias.segment(), act,
                            got.segment(), means.segment());
                    Pointwise.biasActivate(sums.segment(), 0, want.segment(), 0,
                            (long) c * outPixels, 0f, act);
                    float[] wanted = want.toFloatArray();
                    float[] actual = got.toFloatArray();
                    // only the batch's pixels are written; compare those
                    for (int b = 0; b < c / lanes; b++) {
                        int from = b * outPixels * lanes;
                        float[] w = java.util.Arrays.copyOfRange(wanted, from,
                                from + n * plane * lanes);
                        float[] a = java.util.Arrays.copyOfRange(actual, from,
                                from + n * plane * lanes);
                        assertSameBits(what + " " + act + " block " + b, w, a);
                    }
                    float[] wantMeans = new float[n * c];
                    for (int image = 0; image < n; image++) {
                        for (int b = 0; b < c / lanes; b++) {
                            for (int j = 0; j < lanes; j++) {
                                float sum = 0f;
                                for (int p = 0; p < plane; p++) {
                                    sum += wanted[((b * outPixels) + image * plane + p) * lanes
                                            + j];
                                }
                                wantMeans[image * c + b * lanes + j] = sum * (1f / plane);
                            }
                        }
                    }
                    assertSameBits(what + " " + act + " means", wantMeans, means.toFloatArray());
                }
            }
        }
    }
}
