package dev.lumbar.engine.backend.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/** The 16 × 16 transpose against its definition, with strides and scattered row offsets. */
class TransposesTest {

    @Test
    void transposesWithAnyStrideIntoAnyRows() {
        Assumptions.assumeTrue(Transposes.available(), "vectors do not hold 16 floats here");
        int stride = 37;
        float[] src = new float[5 + 16 * stride];
        for (int i = 0; i < src.length; i++) {
            src[i] = i * 0.5f - 100;
        }
        int[] offsets = new int[16];
        for (int i = 0; i < 16; i++) {
            offsets[i] = 3 + ((i * 7) % 16) * 20;
        }
        float[] dst = new float[3 + 16 * 20];
        Transposes.transpose(src, 5, stride, dst, offsets);
        for (int i = 0; i < 16; i++) {
            for (int j = 0; j < 16; j++) {
                assertEquals(src[5 + j * stride + i], dst[offsets[i] + j], "row " + i + " " + j);
            }
        }
    }
}
