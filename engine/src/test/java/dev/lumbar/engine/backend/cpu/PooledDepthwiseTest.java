package dev.lumbar.engine.backend.cpu;

import static dev.lumbar.engine.backend.cpu.Reference.assertClose;
import static dev.lumbar.engine.backend.cpu.Reference.random;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.lumbar.engine.backend.Activation;
import dev.lumbar.engine.backend.Conv2dSpec;
import dev.lumbar.engine.backend.GatedActivations;
import dev.lumbar.engine.backend.cpu.CpuBackend.GemmChoice;
import dev.lumbar.engine.tensor.Tensor;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * A depthwise convolution that pools its output as it writes it ({@code conv2dWithGate}) gives
 * the bits of the convolution followed by {@code squeezeExciteGate}, which pools the output
 * again: over the channel-blocked kernel (small planes, strided or not) and the row-by-row one
 * (wide planes, and strided ones whose planes the pool still takes 16 at a time), on one, two
 * and three threads. Where an image's planes do not start at a multiple of 16 (C not a
 * multiple of 16, more than one image) the means are grouped differently from the pool's, so
 * only the reference decides.
 */
class PooledDepthwiseTest {

    // {images, channels, plane side, stride, reduced channels}
    private static final int[][] ALIGNED = {
        {5, 48, 14, 1, 12}, {25, 64, 4, 1, 16}, {3, 32, 8, 1, 8}, {25, 32, 16, 2, 8},
        {3, 32, 28, 2, 8}, {2, 16, 33, 1, 4}, {1, 40, 7, 1, 10}, {1, 24, 20, 2, 6},
        {2, 160, 7, 1, 40},
    };
    private static final int[][] UNALIGNED = {{3, 24, 8, 1, 6}, {2, 20, 28, 2, 5},
        {4, 9, 14, 1, 3}};

    @Test
    void pooledOnTheWayOutGivesTheBitsOfAPoolAfterwards() {
        SplittableRandom random = new SplittableRandom(11);
        try (CpuBackend one = new CpuBackend(1, GemmChoice.JAVA);
                CpuBackend two = new CpuBackend(2, GemmChoice.AUTO);
                CpuBackend three = new CpuBackend(3, GemmChoice.JAVA)) {
            for (int[] s : ALIGNED) {
                for (Activation act : new Activation[] {Activation.SILU, Activation.IDENTITY}) {
                    Case c = new Case(random, s);
                    String what = Arrays.toString(s) + " " + act;
                    float[][] expected = c.afterwards(one, act);
                    c.assertMatchesReference(what, expected, act);
                    for (CpuBackend cpu : new CpuBackend[] {one, two, three}) {
                        float[][] pooled = c.pooled(cpu, act);
                        assertArrayEquals(expected[0], pooled[0], what + " output");
                        assertArrayEquals(expected[1], pooled[1], what + " gate");
                    }
                    c.close();
                }
            }
        }
    }

    @Test
    void unalignedPlanesMatchTheReferenceWithTheSameBitsOnAnyThreads() {
        SplittableRandom random = new SplittableRandom(12);
        try (CpuBackend one = new CpuBackend(1, GemmChoice.JAVA);
                CpuBackend three = new CpuBackend(3, GemmChoice.JAVA)) {
            for (int[] s : UNALIGNED) {
                Case c = new Case(random, s);
                String what = Arrays.toString(s);
                float[][] pooled = c.pooled(one, Activation.SILU);
                c.assertMatchesReference(what, pooled, Activation.SILU);
                float[][] again = c.pooled(three, Activation.SILU);
                assertArrayEquals(pooled[0], again[0], what + " output");
                assertArrayEquals(pooled[1], again[1], what + " gate");
                c.close();
            }
        }
    }

    /** Not depthwise: the convolution, then the gate of its output, as two calls would. */
    @Test
    void otherConvolutionsAreFollowedByTheGate() {
        SplittableRandom random = new SplittableRandom(13);
        try (CpuBackend cpu = new CpuBackend(2, GemmChoice.JAVA);
                Tensor x = random(random, -1, 1, 3, 8, 9, 9);
                Tensor w = random(random, -0.5, 0.5, 24, 8, 3, 3);
                Tensor b = random(random, -0.5, 0.5, 24);
                Tensor rw = random(random, -0.5, 0.5, 6, 24, 1, 1);
                Tensor ew = random(random, -0.5, 0.5, 24, 6, 1, 1)) {
            Conv2dSpec spec = Conv2dSpec.symmetric(1, 1, 1, 1);
            try (Tensor y = cpu.conv2d(x, w, b, spec, Activation.SILU);
                    Tensor gate = cpu.squeezeExciteGate(y, rw, null, ew, null, Activation.SILU);
                    GatedActivations both = cpu.conv2dWithGate(x, w, b, spec, Activation.SILU,
                            rw, null, ew, null, Activation.SILU)) {
                assertArrayEquals(y.toFloatArray(), both.activations().toFloatArray());
                assertArrayEquals(gate.toFloatArray(), both.gate().toFloatArray());
            }
        }
    }

    @Test
    void gateWeightsThatDoNotFitTheChannelsAreRefused() {
        SplittableRandom random = new SplittableRandom(14);
        try (CpuBackend cpu = new CpuBackend(2, GemmChoice.JAVA);
                Tensor x = random(random, -1, 1, 2, 32, 8, 8);
                Tensor w = random(random, -0.5, 0.5, 32, 1, 3, 3);
                Tensor rw = random(random, -0.5, 0.5, 8, 16, 1, 1);
                Tensor ew = random(random, -0.5, 0.5, 32, 8, 1, 1)) {
            Conv2dSpec spec = Conv2dSpec.symmetric(1, 1, 1, 32);
            assertThrows(IllegalArgumentException.class, () -> cpu.conv2dWithGate(x, w, null,
                    spec, Activation.SILU, rw, null, ew, null, Activation.SILU).close());
        }
    }

    /** One depthwise convolution with a squeeze-excite gate, its tensors and its reference. */
    private static final class Case implements AutoCloseable {
        final int n, c, side, stride, reduced;
        final Conv2dSpec spec;
        final Tensor x, w, b, rw, rb, ew, eb;

        Case(SplittableRandom random, int[] s) {
            n = s[0];
            c = s[1];
            side = s[2];
            stride = s[3];
            reduced = s[4];
            // TensorFlow's 'same' padding at stride 2: none before, one after
            spec = stride == 1 ? Conv2dSpec.symmetric(1, 1, 1, c)
                    : new Conv2dSpec(2, 2, 0, 1, 0, 1, 1, 1, c);
            x = random(random, -2, 2, n, c, side, side);
            w = random(random, -0.5, 0.5, c, 1, 3, 3);
            b = random(random, -0.5, 0.5, c);
            rw = random(random, -0.5, 0.5, reduced, c, 1, 1);
            rb = random(random, -0.5, 0.5, reduced);
            ew = random(random, -0.5, 0.5, c, reduced, 1, 1);
            eb = random(random, -0.5, 0.5, c);
        }

        /** The output and gate by two calls: convolution, then the gate of its output. */
        float[][] afterwards(CpuBackend cpu, Activation act) {
            try (Tensor y = cpu.conv2d(x, w, b, spec, act);
                    Tensor gate = cpu.squeezeExciteGate(y, rw, rb, ew, eb, Activation.SILU)) {
                return new float[][] {y.toFloatArray(), gate.toFloatArray()};
            }
        }

        /** The output and gate by one call, the output pooled as it is written. */
        float[][] pooled(CpuBackend cpu, Activation act) {
            try (GatedActivations both = cpu.conv2dWithGate(x, w, b, spec, act, rw, rb, ew, eb,
                    Activation.SILU)) {
                return new float[][] {both.activations().toFloatArray(),
                    both.gate().toFloatArray()};
            }
        }

        /** The gate against the double-precision reference of the given output's gate. */
        void assertMatchesReference(String what, float[][] outputAndGate, Activation act) {
            int outSide = (side + stride - 1) / stride;
            double[] gate = Reference.squeezeExciteGate(outputAndGate[0], n, c,
                    outSide * outSide, rw.toFloatArray(), rb.toFloatArray(), ew.toFloatArray(),
                    eb.toFloatArray(), reduced, Activation.SILU);
            assertClose(what + " gate", gate, outputAndGate[1], 1e-5);
        }

        @Override
        public void close() {
            for (Tensor t : new Tensor[] {x, w, b, rw, rb, ew, eb}) {
                t.close();
            }
        }
    }
}
