package dev.lumbar.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** The FLOPs each spatial-convolution shape is credited with, which its rate is taken from. */
class SpatialConvBenchmarkTest {

    @Test
    void flopsCountTheOutputsOfEachStrideAndKind() {
        assertEquals(2.0 * 25 * 192 * 48 * 32 * 32 * 9,
                SpatialConvBenchmark.flops("dense:25x48x32x32:192:3:1"));
        // stride 2 with one pixel of padding: 128 → 64, 29 × 31 → 15 × 16
        assertEquals(2.0 * 25 * 24 * 3 * 64 * 64 * 9,
                SpatialConvBenchmark.flops("dense:25x3x128x128:24:3:2"));
        assertEquals(2.0 * 3 * 70 * 17 * 15 * 16 * 9,
                SpatialConvBenchmark.flops("dense:3x17x29x31:70:3:2"));
        // depthwise: one input channel per output
        assertEquals(2.0 * 25 * 960 * 8 * 8 * 9,
                SpatialConvBenchmark.flops("depthwise:25x960x8x8:960:3:1"));
        assertEquals(2.0 * 25 * 256 * 8 * 8 * 9,
                SpatialConvBenchmark.flops("depthwise:25x256x16x16:256:3:2"));
    }

    @Test
    void depthwiseShapesAreRatedByTheBytesTheyMove() {
        assertTrue(SpatialConvBenchmark.memoryBound("depthwise:25x960x8x8:960:3:1"));
        assertFalse(SpatialConvBenchmark.memoryBound("dense:25x48x32x32:192:3:1"));
        assertEquals(4.0 * (25 * 256 * 16 * 16 + 25 * 256 * 8 * 8),
                SpatialConvBenchmark.bytes("depthwise:25x256x16x16:256:3:2"));
        assertThrows(IllegalArgumentException.class,
                () -> SpatialConvBenchmark.bytes("depthwise:1x4x4x4:5:3:1"));
    }

    @Test
    void anUnknownKindIsRefused() {
        assertThrows(IllegalArgumentException.class,
                () -> SpatialConvBenchmark.flops("grouped:1x4x4x4:4:3:1"));
    }
}
