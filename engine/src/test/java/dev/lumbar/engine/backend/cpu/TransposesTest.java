package dev.lumbar.engine.backend.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/**
 * The 16 × 16 and 8 × 8 transposes against their definition, with strides and scattered row
 * offsets (on a machine whose vectors are narrower, the Vector API runs them in Java).
 */
class TransposesTest {

    @Test
    void transposesWithAnyStrideIntoAnyRows() {
        check(16, Transposes::transpose16);
        check(8, Transposes::transpose8);
        if (Transposes.available()) {
            check(Transposes.LANES, Transposes::transpose);
        }
    }

    private interface Transpose {
        void run(float[] src, int srcOffset, int srcStride, float[] dst, int[] dstOffsets);
    }

    private static void check(int side, Transpose transpose) {
        int stride = 37;
        float[] src = new float[5 + side * stride];
        for (int i = 0; i < src.length; i++) {
            src[i] = i * 0.5f - 100;
        }
        int[] offsets = new int[side];
        for (int i = 0; i < side; i++) {
            offsets[i] = 3 + ((i * 7) % side) * 20;
        }
        float[] dst = new float[3 + side * 20];
        transpose.run(src, 5, stride, dst, offsets);
        for (int i = 0; i < side; i++) {
            for (int j = 0; j < side; j++) {
                assertEquals(src[5 + j * stride + i], dst[offsets[i] + j],
                        side + " × " + side + ", row " + i + " " + j);
            }
        }
    }
}
