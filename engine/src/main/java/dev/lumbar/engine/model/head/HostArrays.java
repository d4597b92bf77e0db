package dev.lumbar.engine.model.head;

import java.util.Arrays;

/** Small conversions between flat row-major host arrays and rows. */
final class HostArrays {

    private HostArrays() {
    }

    /** Splits a flat {@code [count, width]} array into {@code count} rows. */
    static float[][] rows(float[] flat, int count, int width) {
        float[][] rows = new float[count][];
        for (int r = 0; r < count; r++) {
            rows[r] = Arrays.copyOfRange(flat, r * width, (r + 1) * width);
        }
        return rows;
    }
}
