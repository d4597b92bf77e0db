package dev.lumbar.bench;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lumbar.engine.tensor.Tensor;
import org.junit.jupiter.api.Test;

/** The benchmarks' random weights: scaled as a network's are, and the same for a seed. */
class ShapesTest {

    @Test
    void weightsHaveVarianceOneOverFanIn() {
        // a 1×1 projection from 1536 channels and a depthwise 3×3: fan-in 1536 and 9
        for (long[] shape : new long[][] {{256, 1536, 1, 1}, {960, 1, 3, 3}}) {
            long fanIn = shape[1] * shape[2] * shape[3];
            try (Tensor w = Shapes.weight(7, shape)) {
                assertArrayEquals(shape, w.shape());
                double bound = Math.sqrt(3.0 / fanIn);
                double sum = 0;
                double squares = 0;
                for (long i = 0; i < w.numel(); i++) {
                    double v = w.getFloat(i);
                    assertTrue(Math.abs(v) <= bound, "value " + v + " beyond ±" + bound);
                    sum += v;
                    squares += v * v;
                }
                double mean = sum / w.numel();
                double variance = squares / w.numel() - mean * mean;
                assertEquals(1.0 / fanIn, variance, 0.05 / fanIn);
            }
        }
    }

    @Test
    void weightsRepeatForASeed() {
        try (Tensor a = Shapes.weight(3, 32, 16, 1, 1);
                Tensor b = Shapes.weight(3, 32, 16, 1, 1)) {
            for (long i = 0; i < a.numel(); i++) {
                assertEquals(a.getFloat(i), b.getFloat(i));
            }
        }
    }
}
