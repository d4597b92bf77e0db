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
 * {@code CpuBackend.squeezeExcite} (mean per channel, reduce with SiLU, expand with a sigmoid
 * gate, scale) on the depthwise outputs that carry squeeze-excite in efficientnet_b0 and
 * tf_efficientnetv2_s at 128×128 input, batch 25. Shape {@code NxCxHxW:reduced}:
 * <ul>
 * <li>b0 stage 1 (32 channels at 64×64, reduced 8), stage 2 (144 at 32×32, 6), stage 4
 *     (480 at 8×8, 20), stage 6 (1152 at 4×4, 48);</li>
 * <li>v2_s stage 3 (512 at 8×8, 32), stage 4 (960 at 8×8, 40), stage 5 (1536 at 4×4, 64);</li>
 * <li>an awkward {@code 3x100x13x13:7}: channels and planes not a multiple of the vector.</li>
 * </ul>
 * Memory-bound: counted as the input read twice (pool, scale) and the output written once.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
public class SqueezeExciteBenchmark {

    @Param({"2"})
    public int threads;

    @Param({"25x32x64x64:8", "25x144x32x32:6", "25x480x8x8:20", "25x1152x4x4:48",
            "25x512x8x8:32", "25x960x8x8:40", "25x1536x4x4:64", "3x100x13x13:7"})
    public String shape;

    private CpuBackend cpu;
    private Tensor x;
    private Tensor reduceWeight;
    private Tensor reduceBias;
    private Tensor expandWeight;
    private Tensor expandBias;

    @Setup(Level.Trial)
    public void setUp() {
        cpu = Shapes.backend("java", threads);
        int[] dims = Shapes.parse(shape.substring(0, shape.indexOf(':')));
        int reduced = reduced(shape);
        x = Shapes.random(1, dims[0], dims[1], dims[2], dims[3]);
        reduceWeight = Shapes.random(2, reduced, dims[1], 1, 1);
        reduceBias = Shapes.random(3, reduced);
        expandWeight = Shapes.random(4, dims[1], reduced, 1, 1);
        expandBias = Shapes.random(5, dims[1]);
    }

    @Benchmark
    public float squeezeExcite() {
        try (Tensor y = cpu.squeezeExcite(x, reduceWeight, reduceBias, expandWeight, expandBias,
                Activation.SILU)) {
            return y.getFloat(0);
        }
    }

    private static int reduced(String shape) {
        return Integer.parseInt(shape.substring(shape.indexOf(':') + 1));
    }

    /** Bytes one call moves: the input read twice, the output written once. */
    static double bytes(String shape) {
        int[] d = Shapes.parse(shape.substring(0, shape.indexOf(':')));
        return 3.0 * d[0] * d[1] * d[2] * d[3] * Float.BYTES;
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        x.close();
        reduceWeight.close();
        reduceBias.close();
        expandWeight.close();
        expandBias.close();
        cpu.close();
    }
}
