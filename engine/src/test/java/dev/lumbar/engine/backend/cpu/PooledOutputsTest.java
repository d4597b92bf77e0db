package dev.lumbar.engine.backend.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.lumbar.engine.backend.Activation;
import dev.lumbar.engine.backend.Conv2dSpec;
import dev.lumbar.engine.backend.cpu.CpuBackend.GemmChoice;
import dev.lumbar.engine.tensor.Tensor;
import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

/**
 * Outputs reuse closed buffers without clearing them, so every kernel must write every element:
 * each operation here runs once on a fresh backend and once on a backend whose pool holds a
 * NaN-filled buffer of the output's size, and the two results must be identical.
 */
class PooledOutputsTest {

    private static final SplittableRandom RANDOM = new SplittableRandom(5);

    @Test
    void anOutputGoesBackToThePoolWhenItsKernelFails() {
        try (CpuBackend backend = new CpuBackend(2)) {
            Tensor x = Reference.random(RANDOM, -1, 1, 2, 8, 9, 11);
            Tensor weight = Reference.random(RANDOM, -1, 1, 6, 8, 3, 3);
            x.close();
            long before = backend.idleOutputBytes();
            assertThrows(IllegalStateException.class, () -> backend.conv2d(x, weight, null,
                    Conv2dSpec.symmetric(1, 1, 1, 1), Activation.IDENTITY));
            // buffers come in size buckets: at least the output's bytes are idle again
            assertTrue(backend.idleOutputBytes() >= before + 2L * 6 * 9 * 11 * Float.BYTES,
                    "the failed convolution's output buffer is idle in the pool again");
            weight.close();
        }
    }

    @Test
    void convolutionsOverwriteReusedBuffers() {
        Tensor x = Reference.random(RANDOM, -1, 1, 3, 8, 9, 11);
        Tensor small = Reference.random(RANDOM, -1, 1, 3, 8, 5, 5);
        Tensor pointwise = Reference.random(RANDOM, -1, 1, 6, 8, 1, 1);
        Tensor dense = Reference.random(RANDOM, -1, 1, 6, 8, 3, 3);
        Tensor depthwise = Reference.random(RANDOM, -1, 1, 8, 1, 7, 7);
        Tensor bias6 = Reference.random(RANDOM, -1, 1, 6);
        Tensor bias8 = Reference.random(RANDOM, -1, 1, 8);
        Conv2dSpec plain = Conv2dSpec.symmetric(1, 0, 1, 1);
        check("1×1", b -> b.conv2d(x, pointwise, bias6, plain, Activation.GELU));
        check("1×1 over small images", b -> b.conv2d(small, pointwise, null, plain,
                Activation.IDENTITY));
        check("3×3 stride 2", b -> b.conv2d(x, dense, bias6, Conv2dSpec.symmetric(2, 1, 1, 1),
                Activation.SILU));
        check("depthwise 7×7", b -> b.conv2d(x, depthwise, bias8,
                Conv2dSpec.symmetric(1, 3, 1, 8), Activation.IDENTITY));
        check("depthwise stride 2", b -> b.conv2d(x, depthwise, null,
                Conv2dSpec.symmetric(2, 3, 1, 8), Activation.RELU));
    }

    @Test
    void otherOperationsOverwriteReusedBuffers() {
        Tensor x = Reference.random(RANDOM, -1, 1, 3, 8, 9, 11);
        Tensor rows = Reference.random(RANDOM, -1, 1, 7, 13);
        Tensor weight = Reference.random(RANDOM, -1, 1, 5, 13);
        Tensor gamma = Reference.random(RANDOM, 0.5, 1.5, 8);
        Tensor beta = Reference.random(RANDOM, -1, 1, 8);
        Tensor gamma13 = Reference.random(RANDOM, 0.5, 1.5, 13);
        Tensor beta13 = Reference.random(RANDOM, -1, 1, 13);
        check("linear", b -> b.linear(rows, weight, null, Activation.IDENTITY));
        check("matmul", b -> b.matmul(rows, rows.reshape(13, 7)));
        check("layerNorm", b -> b.layerNormLastDim(rows, gamma13, beta13, 1e-6f));
        check("layerNorm2d", b -> b.layerNormChannels(x, gamma, beta, 1e-6f));
        check("activate", b -> b.activate(x, Activation.GELU));
        check("add", b -> b.add(x, x));
        check("scaleChannels", b -> b.scaleChannels(x, gamma, x));
        check("globalAvgPool", b -> b.globalAvgPool(x));
        check("globalMaxPool", b -> b.globalMaxPool(x));
        check("softmax", b -> b.softmax(rows));
    }

    /** The op's output on a fresh backend equals its output over a reused NaN buffer. */
    private static void check(String what, Function<CpuBackend, Tensor> op) {
        for (GemmChoice gemm : new GemmChoice[] {GemmChoice.JAVA, GemmChoice.AUTO}) {
            float[] expected;
            long[] shape;
            try (CpuBackend fresh = new CpuBackend(2, gemm); Tensor y = op.apply(fresh)) {
                expected = y.toFloatArray();
                shape = y.shape();
            }
            try (CpuBackend reused = new CpuBackend(2, gemm)) {
                float[] nan = new float[expected.length];
                Arrays.fill(nan, Float.NaN);
                try (Tensor poison = Tensor.of(nan, shape)) {
                    reused.add(poison, poison).close();
                }
                try (Tensor y = op.apply(reused)) {
                    assertArrayEquals(expected, y.toFloatArray(), 0f, what + " with " + gemm);
                }
            }
        }
    }
}
