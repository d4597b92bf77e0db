package dev.lumbar.engine.backend.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lumbar.engine.backend.Activation;
import dev.lumbar.engine.backend.Conv2dSpec;
import dev.lumbar.engine.backend.cpu.CpuBackend.GemmChoice;
import dev.lumbar.engine.tensor.Tensor;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The convolution from a zero-padded copy ({@link PixelProducts#convolvePadded}) at its
 * edges: strips by row whose last strip runs into the next row, with a residual, on
 * several threads.
 */
class PaddedConvolutionEdgeTest {

    private static final int NR = PixelProducts.NR;

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
            return Convolutions.windowed(geometry())
                    && Convolutions.fromPaddedCopy(geometry(), window());
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

    /** The same bits, every NaN counted as one (a NaN's sign depends on operand order). */
    private static void assertSameBits(String what, float[] expected, float[] actual) {
        assertEquals(expected.length, actual.length, what);
        for (int i = 0; i < expected.length; i++) {
            if (Float.floatToIntBits(expected[i]) != Float.floatToIntBits(actual[i])) {
                throw new AssertionError(what + ": element " + i + " expected " + expected[i]
                        + ", got " + actual[i]);
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
}
