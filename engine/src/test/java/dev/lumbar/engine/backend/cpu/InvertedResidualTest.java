package dev.lumbar.engine.backend.cpu;

import static dev.lumbar.engine.backend.cpu.Reference.assertClose;
import static dev.lumbar.engine.backend.cpu.Reference.random;
import static dev.lumbar.engine.backend.cpu.Reference.toDouble;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.lumbar.engine.backend.Activation;
import dev.lumbar.engine.backend.Backend;
import dev.lumbar.engine.backend.Conv2dSpec;
import dev.lumbar.engine.backend.GatedActivations;
import dev.lumbar.engine.backend.InvertedResidual;
import dev.lumbar.engine.backend.cpu.CpuBackend.GemmChoice;
import dev.lumbar.engine.tensor.Tensor;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * An inverted-residual block run channel-blocked ({@link InvertedResiduals}) against the
 * double-precision reference of its convolutions one after another, and against the CPU
 * backend's own NCHW calls: with and without the residual, batches whose pixels are not
 * whole register tiles, 3×3 and 5×5 kernels, and the same bits on one, two and three
 * threads. Blocks that do not fit the blocked path (stride 3, outputs not a multiple of 32)
 * give the same results through the NCHW calls. Every backend here runs the engine's own
 * matrix product: with vectors narrower than 16 floats every block runs as NCHW calls, and
 * OpenBLAS there would give other bits than the Java product (the same values to rounding).
 */
class InvertedResidualTest {

    // {images, channels in, side, expanded channels, channels out, reduced, kernel}
    private static final int[][] FITTING = {
        {25, 32, 4, 64, 32, 8, 3}, {5, 48, 7, 96, 64, 12, 3}, {3, 16, 5, 32, 32, 4, 3},
        {1, 32, 14, 64, 32, 8, 3}, {2, 160, 7, 960, 160, 40, 3}, {2, 32, 9, 64, 32, 8, 5},
        {4, 16, 8, 128, 64, 4, 3}, {1, 16, 1, 32, 32, 4, 3},
    };

    @Test
    void blockedBlocksMatchTheReferenceWithTheSameBitsOnAnyThreads() {
        SplittableRandom random = new SplittableRandom(31);
        try (CpuBackend one = new CpuBackend(1, GemmChoice.JAVA);
                CpuBackend two = new CpuBackend(2, GemmChoice.JAVA);
                CpuBackend three = new CpuBackend(3, GemmChoice.JAVA)) {
            ReferenceBackend reference = new ReferenceBackend();
            for (int[] s : FITTING) {
                for (boolean withResidual : new boolean[] {true, false}) {
                    if (withResidual && s[1] != s[4]) {
                        continue;
                    }
                    try (Case c = new Case(random, s, 1)) {
                        String what = Arrays.toString(s) + (withResidual ? " + residual" : "");
                        if (Transposes.available()) {
                            assertTrue(c.fits(), what + " should run channel-blocked");
                        }
                        float[] expected = c.run(reference, withResidual);
                        float[] blocked = c.run(one, withResidual);
                        double[] wanted = new double[expected.length];
                        for (int i = 0; i < wanted.length; i++) {
                            wanted[i] = expected[i];
                        }
                        assertClose(what, wanted, blocked, 2e-5);
                        assertClose(what + " against NCHW calls", toDouble(c.nchw(one,
                                withResidual)), blocked, 2e-5);
                        assertArrayEquals(blocked, c.run(two, withResidual), what + " 2 threads");
                        assertArrayEquals(blocked, c.run(three, withResidual),
                                what + " 3 threads");
                    }
                }
            }
        }
    }

    /** Weights uploaded once: their transposed strips are kept and reused, same bits. */
    @Test
    void uploadedWeightsAreKeptAndGiveTheSameBits() {
        assumeTrue(Transposes.available(), "the blocked path needs vectors of 16 or 8 floats");
        SplittableRandom random = new SplittableRandom(32);
        try (CpuBackend cpu = new CpuBackend(2, GemmChoice.JAVA);
                Case c = new Case(random, new int[] {5, 32, 7, 64, 32, 8, 3}, 1)) {
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
     * Stride 2 both ways, with symmetric and TensorFlow 'SAME' padding (the extra row and
     * column below and to the right): the depthwise output, and so the projection, has fewer
     * pixels than the expansion.
     */
    @Test
    void stridedBlocksRunBlockedAndMatchTheReference() {
        // {images, channels in, side, expanded channels, channels out, reduced, kernel}
        int[][] shapes = {{2, 32, 8, 64, 32, 8, 3}, {25, 64, 16, 256, 128, 16, 3},
            {3, 16, 7, 32, 32, 4, 3}, {1, 16, 1, 32, 32, 4, 3}, {2, 32, 9, 64, 32, 8, 5},
            {5, 32, 14, 192, 64, 8, 3}, {4, 16, 2, 32, 64, 4, 3}};
        SplittableRandom random = new SplittableRandom(35);
        try (CpuBackend one = new CpuBackend(1, GemmChoice.JAVA);
                CpuBackend two = new CpuBackend(2, GemmChoice.JAVA);
                CpuBackend three = new CpuBackend(3, GemmChoice.JAVA)) {
            ReferenceBackend reference = new ReferenceBackend();
            for (int[] s : shapes) {
                for (boolean same : new boolean[] {false, true}) {
                    try (Case c = new Case(random, s, 2)) {
                        c.tensorFlowSame = same;
                        String what = Arrays.toString(s) + " stride 2"
                                + (same ? " 'SAME'" : "");
                        if (Transposes.available()) {
                            assertTrue(c.fits(), what + " should run channel-blocked");
                        }
                        float[] blocked = c.run(two, false);
                        assertClose(what, toDouble(c.run(reference, false)), blocked, 2e-5);
                        assertClose(what + " against NCHW calls", toDouble(c.nchw(two, false)),
                                blocked, 2e-5);
                        assertArrayEquals(blocked, c.run(one, false), what + " 1 thread");
                        assertArrayEquals(blocked, c.run(three, false), what + " 3 threads");
                    }
                }
            }
        }
    }

    @Test
    void blocksThatDoNotFitRunAsNchwCalls() {
        SplittableRandom random = new SplittableRandom(33);
        int[][] shapes = {{3, 32, 8, 64, 24, 8, 3}, {2, 24, 6, 48, 24, 6, 3},
            {2, 32, 9, 64, 32, 8, 3}};
        int[] strides = {1, 1, 3};
        try (CpuBackend cpu = new CpuBackend(2, GemmChoice.JAVA)) {
            ReferenceBackend reference = new ReferenceBackend();
            for (int i = 0; i < shapes.length; i++) {
                try (Case c = new Case(random, shapes[i], strides[i])) {
                    String what = Arrays.toString(shapes[i]) + " stride " + strides[i];
                    assertFalse(c.fits(), what);
                    assertClose(what, toDouble(c.run(reference, false)), c.run(cpu, false), 2e-5);
                    assertArrayEquals(c.nchw(cpu, false), c.run(cpu, false), what);
                }
            }
        }
    }

    @Test
    void aResidualOfAnotherShapeIsRefused() {
        SplittableRandom random = new SplittableRandom(34);
        try (CpuBackend cpu = new CpuBackend(2, GemmChoice.JAVA);
                Case c = new Case(random, new int[] {2, 32, 6, 64, 32, 8, 3}, 1);
                Tensor wrong = random(random, -1, 1, 2, 32, 6, 5)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> cpu.invertedResidual(c.x, c.block(), wrong).close());
            assertTrue(e.getMessage().contains("residual"), e.getMessage());
        }
    }

    /**
     * One block's input and weights (biases on every layer, the depthwise one's where asked),
     * {@code s} as in {@link #FITTING}; the depthwise convolution's activation is
     * {@code act}, SiLU unless given.
     */
    static final class Case implements AutoCloseable {
        final int[] s;
        final int stride;
        final Activation act;
        final Tensor x, ew, eb, dw, db, rw, rb, gw, gb, pw, pb;
        final List<Tensor> owned = new ArrayList<>();

        Case(SplittableRandom random, int[] s, int stride) {
            this(random, s, stride, Activation.SILU, true);
        }

        Case(SplittableRandom random, int[] s, int stride, Activation act,
                boolean depthwiseBias) {
            this.s = s;
            this.stride = stride;
            this.act = act;
            int n = s[0], c = s[1], side = s[2], hidden = s[3], out = s[4], reduced = s[5];
            int k = s[6];
            x = own(random(random, -2, 2, n, c, side, side));
            ew = own(random(random, -0.3, 0.3, hidden, c, 1, 1));
            eb = own(random(random, -0.5, 0.5, hidden));
            dw = own(random(random, -0.5, 0.5, hidden, 1, k, k));
            db = depthwiseBias ? own(random(random, -0.5, 0.5, hidden)) : null;
            rw = own(random(random, -0.5, 0.5, reduced, hidden, 1, 1));
            rb = own(random(random, -0.5, 0.5, reduced));
            gw = own(random(random, -0.5, 0.5, hidden, reduced, 1, 1));
            gb = own(random(random, -0.5, 0.5, hidden));
            pw = own(random(random, -0.2, 0.2, out, hidden, 1, 1));
            pb = own(random(random, -0.5, 0.5, out));
        }

        private Case(Case from, Backend backend) {
            s = from.s;
            stride = from.stride;
            act = from.act;
            x = from.x;
            ew = own(backend.upload(from.ew));
            eb = from.eb;
            dw = from.dw;
            db = from.db;
            rw = from.rw;
            rb = from.rb;
            gw = from.gw;
            gb = from.gb;
            pw = own(backend.upload(from.pw));
            pb = from.pb;
        }

        /** This block with its 1×1 weights uploaded to {@code backend}. */
        Case uploadedTo(Backend backend) {
            return new Case(this, backend);
        }

        private Tensor own(Tensor t) {
            owned.add(t);
            return t;
        }

        /** TensorFlow's 'SAME' padding for the depthwise convolution instead of symmetric. */
        boolean tensorFlowSame;

        Conv2dSpec depthwiseSpec() {
            int k = s[6];
            if (tensorFlowSame) {
                int side = s[2];
                int out = (side + stride - 1) / stride;
                int pad = Math.max((out - 1) * stride + k - side, 0);
                return new Conv2dSpec(stride, stride, pad / 2, pad - pad / 2, pad / 2,
                        pad - pad / 2, 1, 1, s[3]);
            }
            return Conv2dSpec.symmetric(stride, (k - 1) / 2, 1, s[3]);
        }

        InvertedResidual block() {
            Conv2dSpec pointwise = Conv2dSpec.symmetric(1, 0, 1, 1);
            return new InvertedResidual(
                    new InvertedResidual.Conv(ew, eb, pointwise, Activation.SILU),
                    new InvertedResidual.Conv(dw, db, depthwiseSpec(), act),
                    new InvertedResidual.Gate(rw, rb, gw, gb, Activation.SILU),
                    new InvertedResidual.Conv(pw, pb, pointwise, Activation.IDENTITY));
        }

        boolean fits() {
            int n = s[0], c = s[1], side = s[2], hidden = s[3], out = s[4], k = s[6];
            Conv2dSpec pointwise = Conv2dSpec.symmetric(1, 0, 1, 1);
            Conv2dSpec spec = depthwiseSpec();
            int outSide = spec.outH(side, k);
            return InvertedResiduals.fits(
                    new Convolutions.Geometry(n, c, side, side, hidden, 1, 1, side, side,
                            pointwise),
                    new Convolutions.Geometry(n, hidden, side, side, hidden, k, k, outSide,
                            outSide, spec),
                    new Convolutions.Geometry(n, hidden, outSide, outSide, out, 1, 1, outSide,
                            outSide, pointwise));
        }

        float[] run(Backend backend, boolean withResidual) {
            try (Tensor y = backend.invertedResidual(x, block(), withResidual ? x : null)) {
                return y.toFloatArray();
            }
        }

        /** The block as the backend's NCHW calls, one after another. */
        float[] nchw(CpuBackend cpu, boolean withResidual) {
            Conv2dSpec pointwise = Conv2dSpec.symmetric(1, 0, 1, 1);
            try (Tensor expanded = cpu.conv2d(x, ew, eb, pointwise, Activation.SILU);
                    GatedActivations gated = cpu.conv2dWithGate(expanded, dw, db,
                            depthwiseSpec(), act, rw, rb, gw, gb, Activation.SILU);
                    Tensor y = withResidual
                            ? cpu.conv2dAdd(gated.activations(), gated.gate(), pw, pb,
                                    pointwise, Activation.IDENTITY, x)
                            : cpu.gatedConv2d(gated.activations(), gated.gate(), pw, pb,
                                    pointwise, Activation.IDENTITY)) {
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
