package dev.lumbar.bench;

import dev.lumbar.engine.backend.Activation;
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
 * Memory-bound kernels on convnext_small's stage-1 activations at batch 25, 128×128 input
 * ({@code [25, 96, 32, 32]}, 9.8 MB): channel LayerNorm, exact GELU and SiLU (EfficientNet's
 * activation, measured on the same tensor). Each reads the tensor and writes a new one.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
public class PointwiseBenchmark {

    @Param({"2"})
    public int threads;

    private CpuBackend cpu;
    private Tensor x;
    private Tensor gamma;
    private Tensor beta;

    @Setup(Level.Trial)
    public void setUp() {
        cpu = Shapes.backend("java", threads);
        x = Shapes.random(1, 25, 96, 32, 32);
        gamma = Shapes.random(2, 96);
        beta = Shapes.random(3, 96);
    }

    @Benchmark
    public float layerNormChannels() {
        try (Tensor y = cpu.layerNormChannels(x, gamma, beta, 1e-6f)) {
            return y.getFloat(0);
        }
    }

    @Benchmark
    public float gelu() {
        try (Tensor y = cpu.activate(x, Activation.GELU)) {
            return y.getFloat(0);
        }
    }

    @Benchmark
    public float silu() {
        try (Tensor y = cpu.activate(x, Activation.SILU)) {
            return y.getFloat(0);
        }
    }

    /** Bytes one call moves: the input read once, the output written once. */
    static final double BYTES = 2.0 * 25 * 96 * 32 * 32 * Float.BYTES;

    @TearDown(Level.Trial)
    public void tearDown() {
        x.close();
        gamma.close();
        beta.close();
        cpu.close();
    }
}
