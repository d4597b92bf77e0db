package dev.lumbar.engine.backend.cpu;

import static dev.lumbar.engine.backend.cpu.Reference.assertClose;
import static dev.lumbar.engine.backend.cpu.Reference.assertSameBits;
import static dev.lumbar.engine.backend.cpu.Reference.random;
import static dev.lumbar.engine.backend.cpu.Reference.toDouble;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lumbar.engine.backend.Activation;
import dev.lumbar.engine.backend.Backend;
import dev.lumbar.engine.backend.Conv2dSpec;
import dev.lumbar.engine.backend.InvertedResidual;
import dev.lumbar.engine.backend.cpu.CpuBackend.GemmChoice;
import dev.lumbar.engine.tensor.Tensor;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * A fused-MBConv block (a dense convolution, then a 1×1 projection of its output) run as one
 * pass of products over blocks of pixels ({@link PixelProducts#convolveProjected}) against
 * the double-precision reference, and against the CPU backend's own two calls, bit for bit:
 * with and without the residual, strided and TensorFlow-padded expansions, hidden and output
 * channels that are not whole register tiles, blocks of pixels that cross images, and the
 * same bits on one, two and three threads.
 */
class EdgeResidualTest {

    // {images, channels in, side, expanded channels, channels out, kernel, stride}
    private static final int[][] SHAPES = {
        {25, 48, 8, 192, 48, 3, 1}, {5, 24, 9, 96, 48, 3, 2}, {3, 5, 7, 13, 5, 3, 1},
        {2, 16, 12, 64, 16, 5, 1}, {1, 8, 20, 20, 8, 3, 1}, {4, 3, 1, 7, 3, 3, 1},
        {2, 32, 33, 70, 32, 3, 1}, {3, 12, 16, 50, 20, 3, 2}, {7, 4, 6, 9, 4, 3, 1},
    };

    @Test
    void fusedBlocksMatchTheReferenceAndTheTwoCallsBitForBit() {
        SplittableRandom random = new SplittableRandom(41);
        try (CpuBackend one = new CpuBackend(1, GemmChoice.JAVA);
                CpuBackend two = new CpuBackend(2, GemmChoice.AUTO);
                CpuBackend three = new CpuBackend(3, GemmChoice.JAVA)) {
            ReferenceBackend reference = new ReferenceBackend();
            for (int[] s : SHAPES) {
                for (boolean withResidual : new boolean[] {true, false}) {
                    try (Case c = new Case(random, s)) {
                        if (withResidual && !c.keepsShape()) {
                            continue;
                        }
                        // a projection with an activation runs per block too
                        c.projectionAct = s[0] % 2 == 0 ? Activation.GELU : Activation.IDENTITY;
                        String what = Arrays.toString(s) + (withResidual ? " + residual" : "")
                                + " " + c.projectionAct;
                        assertTrue(c.runsPerBlock(), what + " should run per block");
                        float[] fused = c.run(two, withResidual);
                        assertClose(what, toDouble(c.run(reference, withResidual)), fused, 2e-5);
                        assertSameBits(what + " against the two calls", c.twoCalls(two,
                                withResidual), fused);
                        assertArrayEquals(fused, c.run(one, withResidual), what + " 1 thread");
                        assertArrayEquals(fused, c.run(three, withResidual),
                                what + " 3 threads");
                    }
                }
            }
        }
    }

    /** NaN and infinity in the input reach the outputs they reach through the two calls. */
    @Test
    void nanAndInfinityPassAsThroughTheTwoCalls() {
        SplittableRandom random = new SplittableRandom(42);
        try (CpuBackend cpu = new CpuBackend(2, GemmChoice.JAVA);
                Case c = new Case(random, new int[] {3, 8, 10, 24, 8, 3, 1})) {
            c.x.segment().setAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT, 17, Float.NaN);
            c.x.segment().setAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT, 420,
                    Float.POSITIVE_INFINITY);
            c.x.segment().setAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT, 1999,
                    Float.NEGATIVE_INFINITY);
            float[] fused = c.run(cpu, true);
            assertSameBits("special values", c.twoCalls(cpu, true), fused);
            assertTrue(Float.isNaN(fused[17]), "the NaN reaches its own output");
        }
    }

    /** Weights uploaded once: their packed strips are kept and reused, same bits. */
    @Test
    void uploadedWeightsAreKeptAndGiveTheSameBits() {
        SplittableRandom random = new SplittableRandom(43);
        try (CpuBackend cpu = new CpuBackend(2, GemmChoice.JAVA);
                Case c = new Case(random, new int[] {5, 24, 14, 96, 24, 3, 1})) {
            float[] fresh = c.run(cpu, true);
            try (Case uploaded = c.uploadedTo(cpu)) {
                int before = cpu.keptWeights();
                float[] first = uploaded.run(cpu, true);
                assertEquals(before + 2, cpu.keptWeights(), "expansion and projection kept");
                assertArrayEquals(fresh, first);
                assertArrayEquals(fresh, uploaded.run(cpu, true));
                assertEquals(before + 2, cpu.keptWeights());
            }
        }
    }

    /**
     * A strided projection and a grouped expansion do not run per block: they give the two
     * calls' results.
     */
    @Test
    void blocksThatDoNotRunPerBlockGiveTheTwoCalls() {
        SplittableRandom random = new SplittableRandom(44);
        try (CpuBackend cpu = new CpuBackend(2, GemmChoice.JAVA);
                Case c = new Case(random, new int[] {3, 8, 10, 24, 8, 3, 1});
                Tensor grouped = random(random, -0.3, 0.3, 24, 4, 3, 3)) {
            ReferenceBackend reference = new ReferenceBackend();
            InvertedResidual.Conv expand = c.expand();
            InvertedResidual.Conv strided = new InvertedResidual.Conv(c.pw, c.pb,
                    Conv2dSpec.symmetric(2, 0, 1, 1), Activation.IDENTITY);
            InvertedResidual.Conv groups = new InvertedResidual.Conv(grouped, c.eb,
                    Conv2dSpec.symmetric(1, 1, 1, 2), Activation.SILU);
            List<InvertedResidual.Conv[]> blocks = List.of(
                    new InvertedResidual.Conv[] {expand, strided},
                    new InvertedResidual.Conv[] {groups, c.project()});
            for (InvertedResidual.Conv[] block : blocks) {
                String what = block[0].spec() + " then " + block[1].spec() + " "
                        + block[1].act();
                assertFalse(Convolutions.projectsPerBlock(c.geometry(block[0]),
                        c.projection(block[0], block[1])), what);
                try (Tensor y = cpu.edgeResidual(c.x, block[0], block[1], null);
                        Tensor expected = reference.edgeResidual(c.x, block[0], block[1],
                                null)) {
                    assertClose(what, toDouble(expected.toFloatArray()), y.toFloatArray(),
                            2e-5);
                }
            }
        }
    }

    @Test
    void aResidualOfAnotherShapeIsRefused() {
        SplittableRandom random = new SplittableRandom(45);
        try (CpuBackend cpu = new CpuBackend(2, GemmChoice.JAVA);
                Case c = new Case(random, new int[] {2, 8, 6, 32, 8, 3, 1});
                Tensor wrong = random(random, -1, 1, 2, 8, 6, 5)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> cpu.edgeResidual(c.x, c.expand(), c.project(), wrong).close());
            assertTrue(e.getMessage().contains("residual"), e.getMessage());
        }
    }

    @Test
    void anEmptyBatchGivesAnEmptyOutput() {
        SplittableRandom random = new SplittableRandom(46);
        try (CpuBackend cpu = new CpuBackend(2, GemmChoice.JAVA);
                Case c = new Case(random, new int[] {0, 8, 6, 32, 8, 3, 1});
                Tensor y = cpu.edgeResidual(c.x, c.expand(), c.project(), c.x)) {
            assertArrayEquals(new long[] {0, 8, 6, 6}, y.shape());
        }
    }

    /** One block's input and weights (biases on both layers). */
    private static final class Case implements AutoCloseable {
        final int[] s;
        final Tensor x, ew, eb, pw, pb;
        final List<Tensor> owned = new ArrayList<>();

        /** The projection's activation: identity as in EfficientNet, others where set. */
        Activation projectionAct = Activation.IDENTITY;

        Case(SplittableRandom random, int[] s) {
            this.s = s;
            int n = s[0], c = s[1], side = s[2], hidden = s[3], out = s[4], k = s[5];
            x = own(random(random, -2, 2, n, c, side, side));
            ew = own(random(random, -0.3, 0.3, hidden, c, k, k));
            eb = own(random(random, -0.5, 0.5, hidden));
            pw = own(random(random, -0.2, 0.2, out, hidden, 1, 1));
            pb = own(random(random, -0.5, 0.5, out));
        }

        private Case(Case from, Backend backend) {
            s = from.s;
            x = from.x;
            ew = own(backend.upload(from.ew));
            eb = from.eb;
            pw = own(backend.upload(from.pw));
            pb = from.pb;
        }

        /** This block with its weights uploaded to {@code backend}. */
        Case uploadedTo(Backend backend) {
            return new Case(this, backend);
        }

        private Tensor own(Tensor t) {
            owned.add(t);
            return t;
        }

        boolean keepsShape() {
            return s[6] == 1 && s[1] == s[4];
        }

        /** Stride 1: symmetric padding; stride 2: TensorFlow's 'SAME', the extra row below. */
        InvertedResidual.Conv expand() {
            int k = s[5];
            int stride = s[6];
            Conv2dSpec spec = stride == 1 ? Conv2dSpec.symmetric(1, (k - 1) / 2, 1, 1)
                    : new Conv2dSpec(stride, stride, (k - 2) / 2, k - 1 - (k - 2) / 2,
                            (k - 2) / 2, k - 1 - (k - 2) / 2, 1, 1, 1);
            return new InvertedResidual.Conv(ew, eb, spec, Activation.SILU);
        }

        InvertedResidual.Conv project() {
            return new InvertedResidual.Conv(pw, pb, Conv2dSpec.symmetric(1, 0, 1, 1),
                    projectionAct);
        }

        Convolutions.Geometry geometry(InvertedResidual.Conv expand) {
            int n = s[0], c = s[1], side = s[2];
            int kh = (int) expand.weight().dim(2), kw = (int) expand.weight().dim(3);
            Conv2dSpec spec = expand.spec();
            return new Convolutions.Geometry(n, c, side, side, (int) expand.weight().dim(0),
                    kh, kw, spec.outH(side, kh), spec.outW(side, kw), spec);
        }

        Convolutions.Geometry projection(InvertedResidual.Conv expand,
                InvertedResidual.Conv project) {
            Convolutions.Geometry g = geometry(expand);
            Conv2dSpec spec = project.spec();
            return new Convolutions.Geometry(g.n(), g.o(), g.outH(), g.outW(),
                    (int) project.weight().dim(0), 1, 1, spec.outH(g.outH(), 1),
                    spec.outW(g.outW(), 1), spec);
        }

        boolean runsPerBlock() {
            return Convolutions.projectsPerBlock(geometry(expand()),
                    projection(expand(), project()));
        }

        float[] run(Backend backend, boolean withResidual) {
            try (Tensor y = backend.edgeResidual(x, expand(), project(),
                    withResidual ? x : null)) {
                return y.toFloatArray();
            }
        }

        /** The block as the backend's two calls, one after another. */
        float[] twoCalls(CpuBackend cpu, boolean withResidual) {
            InvertedResidual.Conv e = expand();
            InvertedResidual.Conv p = project();
            try (Tensor expanded = cpu.conv2d(x, e.weight(), e.bias(), e.spec(), e.act());
                    Tensor y = withResidual
                            ? cpu.conv2dAdd(expanded, null, p.weight(), p.bias(), p.spec(),
                                    p.act(), x)
                            : cpu.conv2d(expanded, p.weight(), p.bias(), p.spec(), p.act())) {
                return y.toFloatArray();
            }
        }

        @Override
        public void close() {
            for (Tensor t : owned) {
                t.close();
            }
        }
    }
}
