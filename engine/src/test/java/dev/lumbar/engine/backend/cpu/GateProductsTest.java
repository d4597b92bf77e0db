package dev.lumbar.engine.backend.cpu;

import static dev.lumbar.engine.backend.cpu.Reference.assertClose;
import static dev.lumbar.engine.backend.cpu.Reference.random;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.lumbar.engine.backend.Activation;
import dev.lumbar.engine.backend.cpu.CpuBackend.GemmChoice;
import dev.lumbar.engine.tensor.Tensor;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The squeeze-excite gate's two small products run on the register tile with the pooled
 * images as its rows and the weights, transposed, as its columns: every row count around the
 * tile's height, reduced widths around the tile's width (partial strips), more channels than
 * a partial sum takes; against the double-precision reference, with the same bits on one,
 * two and three threads and whether the weights are uploaded (kept transposed) or not.
 */
class GateProductsTest {

    // {images, channels, plane side, reduced channels}
    private static final int[][] SHAPES = {
        {1, 1, 1, 1}, {1, 8, 4, 2}, {5, 40, 7, 10}, {6, 33, 2, 31}, {7, 64, 3, 32},
        {13, 16, 2, 33}, {25, 96, 4, 24}, {3, 520, 2, 40}, {2, 1100, 1, 64}, {25, 160, 2, 65},
    };

    @Test
    void gateMatchesTheReferenceWithTheSameBitsOnAnyThreads() {
        SplittableRandom random = new SplittableRandom(7);
        try (CpuBackend one = new CpuBackend(1, GemmChoice.JAVA);
                CpuBackend two = new CpuBackend(2, GemmChoice.AUTO);
                CpuBackend three = new CpuBackend(3, GemmChoice.JAVA)) {
            for (int[] s : SHAPES) {
                int n = s[0], c = s[1], side = s[2], reduced = s[3];
                String what = Arrays.toString(s);
                try (Tensor x = random(random, -2, 2, n, c, side, side);
                        Tensor rw = random(random, -0.5, 0.5, reduced, c, 1, 1);
                        Tensor rb = random(random, -0.5, 0.5, reduced);
                        Tensor ew = random(random, -0.5, 0.5, c, reduced, 1, 1);
                        Tensor eb = random(random, -0.5, 0.5, c)) {
                    double[] expected = Reference.squeezeExciteGate(x.toFloatArray(), n, c,
                            side * side, rw.toFloatArray(), rb.toFloatArray(),
                            ew.toFloatArray(), eb.toFloatArray(), reduced, Activation.SILU);
                    float[] bits = gate(one, x, rw, rb, ew, eb, false);
                    // float sums of up to 1100 terms, each about as large as the result
                    assertClose(what, expected, bits, 1e-5);
                    for (CpuBackend cpu : new CpuBackend[] {one, two, three}) {
                        for (boolean uploaded : new boolean[] {false, true, true}) {
                            assertArrayEquals(bits, gate(cpu, x, rw, rb, ew, eb, uploaded),
                                    what + " uploaded " + uploaded);
                        }
                    }
                }
            }
        }
    }

    /** An uploaded gate weight closed after use is refused, not read from its kept strips. */
    @Test
    void closedUploadedGateWeightIsRefused() {
        SplittableRandom random = new SplittableRandom(8);
        try (CpuBackend cpu = new CpuBackend(2, GemmChoice.JAVA);
                Tensor x = random(random, -1, 1, 5, 48, 4, 4);
                Tensor rw = random(random, -0.5, 0.5, 12, 48, 1, 1);
                Tensor ew = random(random, -0.5, 0.5, 48, 12, 1, 1)) {
            Tensor reduce = cpu.upload(rw);
            Tensor expand = cpu.upload(ew);
            cpu.squeezeExciteGate(x, reduce, null, expand, null, Activation.SILU).close();
            expand.close();
            assertThrows(IllegalStateException.class, () -> cpu.squeezeExciteGate(x, reduce,
                    null, expand, null, Activation.SILU).close());
            reduce.close();
            assertThrows(IllegalStateException.class, () -> cpu.squeezeExciteGate(x, reduce,
                    null, ew, null, Activation.SILU).close());
        }
    }

    private static float[] gate(CpuBackend cpu, Tensor x, Tensor rw, Tensor rb, Tensor ew,
            Tensor eb, boolean uploaded) {
        if (!uploaded) {
            try (Tensor g = cpu.squeezeExciteGate(x, rw, rb, ew, eb, Activation.SILU)) {
                return g.toFloatArray();
            }
        }
        try (Tensor r = cpu.upload(rw);
                Tensor e = cpu.upload(ew);
                Tensor g = cpu.squeezeExciteGate(x, r, rb, e, eb, Activation.SILU)) {
            return g.toFloatArray();
        }
    }
}
