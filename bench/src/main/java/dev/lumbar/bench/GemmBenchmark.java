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
 * Matrix products as the backbones issue them: 1×1 convolutions over a batch of images,
 * {@code [O, C] × [C, H·W]} per image, through the backend's public {@code conv2d}, with the
 * engine's Java GEMM and with OpenBLAS. The shape is {@code batch×O×C×pixels}. Every 1×1
 * convolution over more than one image, and over a single one of 256 pixels or more, runs on
 * the engine's own pixel-product kernel whichever GEMM is chosen, so for these shapes the two
 * rows measure the same code; the GEMM choice matters for one small image only.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
public class GemmBenchmark {

    /**
     * convnext_small at 128×128 input, batch 25: the MLP of stage 1 (32×32 pixels, 96 → 384
     * and back), of stage 3 (8×8, 384 → 1536) and of stage 4 (4×4, 768 → 3072); and an
     * awkward shape whose every size leaves a tail.
     */
    @Param({"25x384x96x1024", "25x96x384x1024", "25x1536x384x64", "25x3072x768x16",
            "3x101x300x77"})
    public String shape;

    @Param({"java", "openblas"})
    public String gemm;

    @Param({"2"})
    public int threads;

    private CpuBackend cpu;
    private Tensor x;
    private Tensor weight;

    @Setup(Level.Trial)
    public void setUp() {
        int[] s = Shapes.parse(shape);
        cpu = Shapes.backend(gemm, threads);
        x = Shapes.random(1, s[0], s[2], 1, s[3]);
        weight = Shapes.random(2, s[1], s[2], 1, 1);
    }

    @Benchmark
    public float pointwiseConvolution() {
        try (Tensor y = cpu.conv2d(x, weight, null, Conv2dSpec.symmetric(1, 0, 1, 1),
                Activation.IDENTITY)) {
            return y.getFloat(0);
        }
    }

    /** Floating-point operations of one call, for GFLOP/s. */
    public static double flops(String shape) {
        int[] s = Shapes.parse(shape);
        return 2.0 * s[0] * s[1] * s[2] * s[3];
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        x.close();
        weight.close();
        cpu.close();
    }
}
