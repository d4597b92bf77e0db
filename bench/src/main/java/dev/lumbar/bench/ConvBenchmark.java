package dev.lumbar.bench;

import dev.lumbar.engine.backend.Activation;
import dev.lumbar.engine.backend.Conv2dSpec;
import dev.lumbar.engine.backend.cpu.CpuBackend;
import dev.lumbar.engine.tensor.Tensor;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * The two spatial convolutions that dominate the backbones, batch 25 at 128×128 input:
 * convnext_small's depthwise 7×7 of stage 1 ({@code 96 × 32×32}) and a dense 3×3 of
 * tf_efficientnetv2_s's first fused stage ({@code 24 → 24, 64×64}, SiLU).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
public class ConvBenchmark {

    @Param({"openblas"})
    public String gemm;

    @Param({"2"})
    public int threads;

    private CpuBackend cpu;
    private Tensor stage1;
    private Tensor depthwiseWeight;
    private Tensor fused;
    private Tensor denseWeight;

    @Setup(Level.Trial)
    public void setUp() {
        cpu = Shapes.backend(gemm, threads);
        stage1 = Shapes.random(1, 25, 96, 32, 32);
        depthwiseWeight = Shapes.random(2, 96, 1, 7, 7);
        fused = Shapes.random(3, 25, 24, 64, 64);
        denseWeight = Shapes.random(4, 24, 24, 3, 3);
    }

    @Benchmark
    public float depthwise7x7() {
        try (Tensor y = cpu.conv2d(stage1, depthwiseWeight, null,
                Conv2dSpec.symmetric(1, 3, 1, 96), Activation.IDENTITY)) {
            return y.getFloat(0);
        }
    }

    @Benchmark
    public float dense3x3() {
        try (Tensor y = cpu.conv2d(fused, denseWeight, null, Conv2dSpec.symmetric(1, 1, 1, 1),
                Activation.SILU)) {
            return y.getFloat(0);
        }
    }

    static final double DEPTHWISE_FLOPS = 2.0 * 25 * 96 * 32 * 32 * 49;
    static final double DENSE_FLOPS = 2.0 * 25 * 24 * 24 * 9 * 64 * 64;

    @TearDown(Level.Trial)
    public void tearDown() {
        stage1.close();
        depthwiseWeight.close();
        fused.close();
        denseWeight.close();
        cpu.close();
    }
}
