package dev.lumbar.engine.pipeline;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lumbar.engine.tensor.Tensor;
import java.util.List;
import org.junit.jupiter.api.Test;

class RoiSamplerTest {

    private static final int SLICES = 5;
    private static final int ROWS = 100;
    private static final int COLS = 120;

    /** A stack of zeros with one bright pixel at (x, y) of {@code slice}. */
    private static Tensor stackWithMarker(int slice, int x, int y) {
        float[] voxels = new float[SLICES * ROWS * COLS];
        voxels[slice * ROWS * COLS + y * COLS + x] = 1000f;
        return Tensor.of(voxels, SLICES, ROWS, COLS);
    }

    /**
     * Resized to twice the size; the box spans 80 × 40 resized pixels cut into 40 × 40 outputs,
     * so the point falls on output column left/2 - 0.5 and output row up - 0.5.
     */
    private static BagGeometry geometry(boolean flipOtherSide) {
        return new BagGeometry(3, 1, 1, BagGeometry.ChannelMode.REPEAT, 2 * ROWS, 2 * COLS,
                21, 59, 30.5, 9.5, false, flipOtherSide, 40, 40, Normalisation.MINMAX);
    }

    /** {row, column} of the largest value of instance s, channel 0, of bag t. */
    private static int[] brightest(float[] bags, int t, int s, BagGeometry g) {
        int plane = g.outRows() * g.outCols();
        int base = ((t * g.slices() + s) * g.channels()) * plane;
        int best = 0;
        for (int p = 1; p < plane; p++) {
            if (bags[base + p] > bags[base + best]) {
                best = p;
            }
        }
        return new int[] {best / g.outCols(), best % g.outCols()};
    }

    private static float max(float[] values, int from, int to) {
        float max = Float.NEGATIVE_INFINITY;
        for (int i = from; i < to; i++) {
            max = Math.max(max, values[i]);
        }
        return max;
    }

    @Test
    void markerLandsWhereTheCropBoxPutsThePoint() {
        BagGeometry g = geometry(false);
        try (Tensor stack = stackWithMarker(2, 40, 30);
                Tensor bags = RoiSampler.sample(stack,
                        List.of(new RoiTarget(2, 40, 30, 0, false)), g)) {
            assertArrayEquals(new long[] {1, 3, 1, 40, 40}, bags.shape());
            float[] values = bags.toFloatArray();
            assertArrayEquals(new int[] {30, 10}, brightest(values, 0, 1, g));
            assertEquals(1f, values[1600 + 30 * 40 + 10], 1e-6f);
            // the neighbouring instances are slices 1 and 3, which hold no marker
            assertEquals(0f, max(values, 0, 1600));
            assertEquals(0f, max(values, 3200, 4800));
        }
    }

    @Test
    void leftSideMirrorsTheCropBox() {
        BagGeometry g = geometry(false);
        try (Tensor stack = stackWithMarker(2, 40, 30);
                Tensor bags = RoiSampler.sample(stack,
                        List.of(new RoiTarget(2, 40, 30, 0, true)), g)) {
            // left and right extents swap: the point sits 59 resized pixels from the left edge
            assertArrayEquals(new int[] {30, 29}, brightest(bags.toFloatArray(), 0, 1, g));
        }
    }

    @Test
    void leftSideFlippedLooksLikeTheRightSide() {
        BagGeometry g = geometry(true);
        try (Tensor stack = stackWithMarker(2, 40, 30);
                Tensor bags = RoiSampler.sample(stack, List.of(
                        new RoiTarget(2, 40, 30, 0, false), new RoiTarget(2, 40, 30, 0, true)),
                        g)) {
            float[] values = bags.toFloatArray();
            assertArrayEquals(new int[] {30, 10}, brightest(values, 0, 1, g));
            assertArrayEquals(new int[] {30, 10}, brightest(values, 1, 1, g));
        }
    }

    @Test
    void levellingTurnsATiltedDiscOntoTheOutputRow() {
        // no resize, one output pixel per image pixel; the point at the box's centre
        BagGeometry g = new BagGeometry(1, 1, 1, BagGeometry.ChannelMode.REPEAT, 0, 0,
                30.5, 29.5, 30.5, 29.5, true, false, 60, 60, Normalisation.MINMAX);
        double angle = Math.toRadians(30);
        double px = 60;
        double py = 50;
        // a blob 20 pixels along the disc's direction from the point
        double blobX = px + 20 * Math.cos(angle);
        double blobY = py + 20 * Math.sin(angle);
        float[] voxels = new float[SLICES * ROWS * COLS];
        for (int y = 0; y < ROWS; y++) {
            for (int x = 0; x < COLS; x++) {
                double r2 = (x - blobX) * (x - blobX) + (y - blobY) * (y - blobY);
                voxels[2 * ROWS * COLS + y * COLS + x] = (float) Math.exp(-r2 / 8);
            }
        }
        try (Tensor stack = Tensor.of(voxels, SLICES, ROWS, COLS);
                Tensor levelled = RoiSampler.sample(stack,
                        List.of(new RoiTarget(2, px, py, angle, false)), g);
                Tensor unlevelled = RoiSampler.sample(stack,
                        List.of(new RoiTarget(2, px, py, 0, false)),
                        new BagGeometry(1, 1, 1, BagGeometry.ChannelMode.REPEAT, 0, 0,
                                30.5, 29.5, 30.5, 29.5, false, false, 60, 60,
                                Normalisation.MINMAX))) {
            // the point is output (30, 30); the blob lies 20 columns right on the same row
            assertArrayEquals(new int[] {30, 50}, brightest(levelled.toFloatArray(), 0, 0, g));
            // without levelling it stays 10 rows lower, at the image's own tilt
            assertArrayEquals(new int[] {40, 47}, brightest(unlevelled.toFloatArray(), 0, 0, g));
        }
    }

    @Test
    void endSlicesRepeatAndAdjacentChannelsStepThroughTheStack() {
        float[] voxels = new float[SLICES * ROWS * COLS];
        for (int slice = 0; slice < SLICES; slice++) {
            for (int p = 0; p < ROWS * COLS; p++) {
                voxels[slice * ROWS * COLS + p] = slice;
            }
        }
        BagGeometry g = new BagGeometry(3, 1, 3, BagGeometry.ChannelMode.ADJACENT, 0, 0,
                4, 4, 4, 4, false, false, 2, 2, Normalisation.window(0, 10));
        try (Tensor stack = Tensor.of(voxels, SLICES, ROWS, COLS);
                Tensor bags = RoiSampler.sample(stack,
                        List.of(new RoiTarget(0, 50, 50, 0, false)), g)) {
            float[] values = bags.toFloatArray();
            // instances are slices 0, 0, 1 (the first repeats); channels their neighbours
            float[] expected = {0, 0, 1, 0, 0, 1, 0, 1, 2};
            for (int i = 0; i < expected.length; i++) {
                assertEquals(expected[i] / 10f, values[i * 4], 1e-6f, "channel " + i);
            }
        }
    }

    @Test
    void zscoreGivesZeroMeanUnitSpread() {
        BagGeometry g = new BagGeometry(1, 1, 1, BagGeometry.ChannelMode.REPEAT, 0, 0,
                10, 10, 10, 10, false, false, 16, 16, Normalisation.ZSCORE);
        float[] voxels = new float[SLICES * ROWS * COLS];
        for (int i = 0; i < voxels.length; i++) {
            voxels[i] = (i * 7919) % 251;
        }
        try (Tensor stack = Tensor.of(voxels, SLICES, ROWS, COLS);
                Tensor bags = RoiSampler.sample(stack,
                        List.of(new RoiTarget(1, 60, 50, 0, false)), g)) {
            float[] values = bags.toFloatArray();
            double mean = 0;
            double square = 0;
            for (float v : values) {
                mean += v;
                square += v * v;
            }
            mean /= values.length;
            assertEquals(0, mean, 1e-4);
            assertEquals(1, square / values.length - mean * mean, 1e-3);
            assertTrue(Float.isFinite(max(values, 0, values.length)));
        }
    }
}
