package dev.lumbar.engine.backend.cpu;

import static dev.lumbar.engine.backend.cpu.Reference.random;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import dev.lumbar.engine.backend.cpu.CpuBackend.GemmChoice;
import dev.lumbar.engine.tensor.Tensor;
import java.util.Arrays;
import java.util.SplittableRandom;
import jdk.incubator.vector.FloatVector;
import org.junit.jupiter.api.Test;

/**
 * LayerNorm across channels takes a plane's pixels four vectors at a time and its last few
 * vectors one at a time: every pixel gets the bits the one-vector kernel (checked against a
 * double-precision reference in {@code CpuBackendTest}) gives it, for planes of whole
 * four-vector runs, with a partial last vector, or shorter than one run, on one and three
 * threads, over a large common offset.
 */
class ChannelLayerNormTest {

    private static final int L = FloatVector.SPECIES_PREFERRED.length();

    // {images, channels, height, width}
    private static final int[][] SHAPES = {
        {1, 96, 8, 8}, {2, 37, 9, 9}, {3, 5, 16, 12}, {2, 24, 11, 13}, {1, 1, 10, 10},
        {2, 3, 5, 7}, {1, 768, 7, 7}, {2, 16, 56, 56},
    };

    @Test
    void fourVectorRunsGiveTheBitsOfOneVectorAtATime() {
        SplittableRandom random = new SplittableRandom(21);
        try (CpuBackend one = new CpuBackend(1, GemmChoice.JAVA);
                CpuBackend three = new CpuBackend(3, GemmChoice.JAVA)) {
            for (int[] s : SHAPES) {
                int n = s[0], c = s[1];
                long plane = (long) s[2] * s[3];
                String what = Arrays.toString(s);
                try (Tensor x = random(random, 99, 101, n, c, s[2], s[3]);
                        Tensor gamma = random(random, 0.5, 1.5, c);
                        Tensor beta = random(random, -0.5, 0.5, c);
                        Tensor expected = Tensor.zeros(n, c, s[2], s[3])) {
                    float[] g = gamma.toFloatArray();
                    float[] b = beta.toFloatArray();
                    for (int image = 0; image < n; image++) {
                        for (long p = 0; p < plane; p += L) {
                            Reductions.normalizeChannels(x.segment(), expected.segment(), image,
                                    c, plane, p, g, b, 1e-6f);
                        }
                    }
                    for (CpuBackend cpu : new CpuBackend[] {one, three}) {
                        try (Tensor y = cpu.layerNormChannels(x, gamma, beta, 1e-6f)) {
                            assertArrayEquals(expected.toFloatArray(), y.toFloatArray(), what);
                        }
                    }
                }
            }
        }
    }
}
