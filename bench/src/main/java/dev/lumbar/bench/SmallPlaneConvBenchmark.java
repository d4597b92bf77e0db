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
 * The 1×1 convolutions of tf_efficientnetv2_s's MBConv stages, where the images are 4×4 to
 * 14×14 and the channels many: the expansion (SiLU after it) and the projection with the
 * squeeze-excite gate folded in ({@code gatedConv2d}), through the backend's public calls.
 * The shape is {@code batch×O×C×H×W}; the expansions and projections come in pairs.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
public class SmallPlaneConvBenchmark {

    /**
     * Stage 5 (7×7 at 224 input, 4×4 at 128: 256 → 1536 and back) and stage 4 (14×14 at 224,
     * 8×8 at 128: 160 → 960 and back).
     */
    @Param({"5x1536x256x7x7", "5x256x1536x7x7", "5x960x160x14x14", "5x160x960x14x14",
            "25x1536x256x4x4", "25x256x1536x4x4", "25x960x160x8x8", "25x160x960x8x8"})
    public String shape;

    @Param({"2"})
    public int threads;

    private CpuBackend cpu;
    private Tensor x;
    private Tensor gate;
    private Tensor weight;
    private Tensor bias;
    private boolean expansion;

    @Setup(Level.Trial)
    public void setUp() {
        int[] s = Shapes.parse(shape);
        cpu = Shapes.backend("openblas", threads);
        x = Shapes.random(1, s[0], s[2], s[3], s[4]);
        gate = Shapes.random(2, s[0], s[2]);
        weight = Shapes.random(3, s[1], s[2], 1, 1);
        bias = Shapes.random(4, s[1]);
        expansion = s[1] > s[2];
    }

    /** An expansion is activated; a projection is gated and not activated. */
    @Benchmark
    public float pointwiseSmallPlanes() {
        Conv2dSpec spec = Conv2dSpec.symmetric(1, 0, 1, 1);
        try (Tensor y = expansion ? cpu.conv2d(x, weight, bias, spec, Activation.SILU)
                : cpu.gatedConv2d(x, gate, weight, bias, spec, Activation.IDENTITY)) {
            return y.getFloat(0);
        }
    }

    /** Floating-point operations of one call, for GFLOP/s (the gate's products excluded). */
    public static double flops(String shape) {
        int[] s = Shapes.parse(shape);
        return 2.0 * s[0] * s[1] * s[2] * s[3] * s[4];
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        x.close();
        gate.close();
        weight.close();
        bias.close();
        cpu.close();
    }
}
