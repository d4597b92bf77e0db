package dev.lumbar.engine.backend.cpu;

import static dev.lumbar.engine.backend.cpu.Reference.random;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lumbar.engine.backend.Activation;
import dev.lumbar.engine.backend.Backend;
import dev.lumbar.engine.backend.cpu.CpuBackend.GemmChoice;
import dev.lumbar.engine.tensor.DType;
import dev.lumbar.engine.tensor.Device;
import dev.lumbar.engine.tensor.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * {@link CpuBackend#normalizedChannelMlp}: the LayerNorm across channels applied as the MLP
 * packs its input gives the bits of {@code layerNormChannels} followed by {@code channelMlp},
 * whether a packed strip holds pixels of one image or of several, on one thread or three;
 * and {@link CpuBackend#normalizedChannelMlpOver}, which writes the same bits over the residual
 * it takes over.
 */
class NormalizedChannelMlpTest {

    private static final float EPS = 1e-6f;

    @Test
    void normalizingAsThePixelsArePackedGivesTheBitsOfTheSeparateCalls() {
        SplittableRandom random = new SplittableRandom(29);
        try (CpuBackend one = new CpuBackend(1, GemmChoice.AUTO);
                CpuBackend three = new CpuBackend(3, GemmChoice.JAVA)) {
            // planes of 16 pixels (two images to a strip), 49 (strips cut at odd places), 64,
            // 196 and wider than a strip's row; channels not a multiple of a vector
            long[][] shapes = {{3, 16, 4, 4}, {2, 40, 7, 7}, {2, 96, 8, 8}, {1, 24, 14, 14},
                {2, 17, 5, 9}, {1, 8, 33, 35}};
            for (int i = 0; i < shapes.length; i++) {
                long[] xShape = shapes[i];
                int n = (int) xShape[0];
                int c = (int) xShape[1];
                int hidden = 4 * c;
                int out = c;
                boolean full = i % 2 == 0;
                String what = Arrays.toString(xShape) + (full ? "" : " without biases");
                // an offset common to all channels, as the normalization must cope with
                try (Tensor x = random(random, 2, 4, xShape);
                        Tensor gamma = random(random, -2, 2, c);
                        Tensor beta = random(random, -1, 1, c);
                        Tensor w1 = random(random, -0.3, 0.3, hidden, c, 1, 1);
                        Tensor b1 = full ? random(random, -0.3, 0.3, hidden) : null;
                        Tensor w2 = random(random, -0.3, 0.3, out, hidden, 1, 1);
                        Tensor b2 = full ? random(random, -0.3, 0.3, out) : null;
                        Tensor scale = full ? random(random, -1, 1, out) : null;
                        Tensor residual = full ? random(random, -1, 1, n, out, xShape[2],
                                xShape[3]) : null;
                        Tensor normed = one.layerNormChannels(x, gamma, beta, EPS);
                        Tensor expected = one.channelMlp(normed, w1, b1, Activation.GELU, w2,
                                b2, scale, residual);
                        Tensor fused = one.normalizedChannelMlp(x, gamma, beta, EPS, w1, b1,
                                Activation.GELU, w2, b2, scale, residual);
                        Tensor fusedThree = three.normalizedChannelMlp(x, gamma, beta, EPS,
                                w1, b1, Activation.GELU, w2, b2, scale, residual)) {
                    assertArrayEquals(expected.shape(), fused.shape(), what);
                    assertArrayEquals(expected.toFloatArray(), fused.toFloatArray(), what);
                    assertArrayEquals(expected.toFloatArray(), fusedThree.toFloatArray(),
                            what + " on three threads");
                }
            }
        }
    }

    @Test
    void normWeightsOfTheWrongLengthAreRefused() {
        SplittableRandom random = new SplittableRandom(31);
        try (CpuBackend cpu = new CpuBackend(2, GemmChoice.JAVA);
                Tensor x = random(random, -1, 1, 1, 8, 4, 4);
                Tensor gamma = random(random, -1, 1, 7);
                Tensor beta = random(random, -1, 1, 8);
                Tensor w1 = random(random, -1, 1, 32, 8, 1, 1);
                Tensor w2 = random(random, -1, 1, 8, 32, 1, 1)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> cpu.normalizedChannelMlp(x, gamma, beta, EPS, w1, null,
                            Activation.GELU, w2, null, null, null));
            assertTrue(e.getMessage().contains("layerNorm2d"), e.getMessage());
        }
    }

    @Test
    void overTheResidualGivesTheSameBitsInTheResidualsMemory() {
        SplittableRandom random = new SplittableRandom(37);
        try (CpuBackend one = new CpuBackend(1, GemmChoice.JAVA);
                CpuBackend three = new CpuBackend(3, GemmChoice.JAVA)) {
            long[][] shapes = {{3, 16, 4, 4}, {2, 40, 7, 7}, {2, 17, 5, 9}, {1, 8, 33, 35}};
            for (long[] xShape : shapes) {
                int c = (int) xShape[1];
                try (Tensor x = random(random, 2, 4, xShape);
                        Tensor gamma = random(random, -2, 2, c);
                        Tensor beta = random(random, -1, 1, c);
                        Tensor w1 = random(random, -0.3, 0.3, 4 * c, c, 1, 1);
                        Tensor b1 = random(random, -0.3, 0.3, 4 * c);
                        Tensor w2 = random(random, -0.3, 0.3, c, 4 * c, 1, 1);
                        Tensor b2 = random(random, -0.3, 0.3, c);
                        Tensor scale = random(random, -1, 1, c);
                        Tensor residual = random(random, -1, 1, xShape);
                        Tensor expected = one.normalizedChannelMlp(x, gamma, beta, EPS, w1, b1,
                                Activation.GELU, w2, b2, scale, residual)) {
                    for (CpuBackend cpu : new CpuBackend[] {one, three}) {
                        String what = Arrays.toString(xShape) + " on " + cpu.name();
                        Tensor given = residual.copy();
                        try (Tensor y = cpu.normalizedChannelMlpOver(x, gamma, beta, EPS, w1,
                                b1, Activation.GELU, w2, b2, scale, given)) {
                            assertSame(given, y, what + ": written over the residual");
                            assertArrayEquals(expected.toFloatArray(), y.toFloatArray(), what);
                        }
                        // without a layer scale the store writes its sums before it adds
                        // the residual, so the output goes elsewhere
                        Tensor unscaled = residual.copy();
                        try (Tensor alone = cpu.normalizedChannelMlp(x, gamma, beta, EPS, w1,
                                b1, Activation.GELU, w2, b2, null, residual);
                                Tensor y = cpu.normalizedChannelMlpOver(x, gamma, beta, EPS,
                                        w1, b1, Activation.GELU, w2, b2, null, unscaled)) {
                            assertNotSame(unscaled, y, what);
                            assertFalse(unscaled.ownsMemory(), what);
                            assertArrayEquals(alone.toFloatArray(), y.toFloatArray(),
                                    what + " without a scale");
                        }
                    }
                    // x as its own residual: read throughout, so the output goes elsewhere
                    Tensor both = x.copy();
                    try (Tensor alone = one.normalizedChannelMlp(both, gamma, beta, EPS, w1,
                            b1, Activation.GELU, w2, b2, scale, both);
                            Tensor y = one.normalizedChannelMlpOver(both, gamma, beta, EPS, w1,
                                    b1, Activation.GELU, w2, b2, scale, both)) {
                        assertNotSame(both, y);
                        assertFalse(both.ownsMemory(), "the residual handed over is closed");
                        assertArrayEquals(alone.toFloatArray(), y.toFloatArray());
                    }
                }
            }
        }
    }

    @Test
    void theResidualHandedOverIsClosedWhereTheOutputGoesElsewhereOrTheCallFails() {
        SplittableRandom random = new SplittableRandom(41);
        try (CpuBackend cpu = new CpuBackend(2, GemmChoice.JAVA);
                Tensor x = random(random, -1, 1, 2, 1, 4, 4);
                Tensor gamma = random(random, -1, 1, 1);
                Tensor beta = random(random, -1, 1, 1);
                Tensor w1 = random(random, -1, 1, 1, 1, 1, 1);
                Tensor w2 = random(random, -1, 1, 1, 1, 1, 1);
                Tensor residual = random(random, -1, 1, 2, 1, 4, 4);
                Tensor expected = cpu.normalizedChannelMlp(x, gamma, beta, EPS, w1, null,
                        Activation.GELU, w2, null, null, residual)) {
            // one channel to one: not the fused MLP, so a new output
            Tensor given = residual.copy();
            try (Tensor y = cpu.normalizedChannelMlpOver(x, gamma, beta, EPS, w1, null,
                    Activation.GELU, w2, null, null, given)) {
                assertNotSame(given, y);
                assertFalse(given.ownsMemory());
                assertArrayEquals(expected.toFloatArray(), y.toFloatArray());
            }
            // the interface's default, as backends without a fused MLP run it
            Backend reference = new ReferenceBackend();
            Tensor toReference = residual.copy();
            try (Tensor y = reference.normalizedChannelMlpOver(x, gamma, beta, EPS, w1, null,
                    Activation.GELU, w2, null, null, toReference)) {
                assertNotSame(toReference, y);
                assertFalse(toReference.ownsMemory());
            }
            Tensor refused = residual.copy();
            try (Tensor shortGamma = random(random, -1, 1, 2)) {
                assertThrows(IllegalArgumentException.class, () -> cpu.normalizedChannelMlpOver(
                        x, shortGamma, beta, EPS, w1, null, Activation.GELU, w2, null, null,
                        refused));
            }
            assertFalse(refused.ownsMemory(), "closed when the call fails too");
        }
    }

    /**
     * A residual that does not own its memory (a view of a tensor the caller keeps) or whose
     * memory is read-only (a mapped file) is read, never written over.
     */
    @Test
    void borrowedAndReadOnlyResidualsAreLeftAsTheyWere() {
        SplittableRandom random = new SplittableRandom(43);
        long[] shape = {2, 16, 8, 8};
        try (CpuBackend cpu = new CpuBackend(2, GemmChoice.JAVA);
                Arena arena = Arena.ofShared();
                Tensor x = random(random, -2, 3, shape);
                Tensor gamma = random(random, -2, 2, 16);
                Tensor beta = random(random, -1, 1, 16);
                Tensor w1 = random(random, -0.3, 0.3, 64, 16, 1, 1);
                Tensor w2 = random(random, -0.3, 0.3, 16, 64, 1, 1);
                Tensor scale = random(random, -1, 1, 16);
                Tensor parent = random(random, -1, 1, 2 * 16 * 8 * 8);
                Tensor expected = cpu.normalizedChannelMlp(x, gamma, beta, EPS, w1, null,
                        Activation.GELU, w2, null, scale, parent.reshape(shape))) {
            float[] before = parent.toFloatArray();
            try (Tensor y = cpu.normalizedChannelMlpOver(x, gamma, beta, EPS, w1, null,
                    Activation.GELU, w2, null, scale, parent.reshape(shape))) {
                assertArrayEquals(expected.toFloatArray(), y.toFloatArray(), "a view");
            }
            assertArrayEquals(before, parent.toFloatArray(), "the view's parent");
            MemorySegment memory = arena.allocate(parent.segment().byteSize(), 64);
            memory.copyFrom(parent.segment());
            Tensor readOnly = Tensor.wrap(memory.asReadOnly(), DType.F32, Device.CPU, shape);
            try (Tensor y = cpu.normalizedChannelMlpOver(x, gamma, beta, EPS, w1, null,
                    Activation.GELU, w2, null, scale, readOnly)) {
                assertArrayEquals(expected.toFloatArray(), y.toFloatArray(), "read-only");
            }
        }
    }
}
