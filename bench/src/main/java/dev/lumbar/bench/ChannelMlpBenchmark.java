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
 * The ConvNeXt block's channel MLP as the backbone issues it, through the backend's public
 * {@code channelMlp}: {@code residual + γ ⊙ (W2 · GELU(W1 · x + b1) + b2)} with a hidden
 * layer four times the width, for each stage of convnext_small at 128×128 input, batch 25.
 * The shape is {@code batch×C×side}. It is about 85 % of that network's forward.
 * {@code normalizedChannelMlp} is the call a block makes, with the LayerNorm across channels
 * before the MLP; {@code layerNormThenChannelMlp} the same as two calls, for the comparison.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
public class ChannelMlpBenchmark {

    /** ConvNeXt's LayerNorm epsilon. */
    private static final float EPS = 1e-6f;

    @Param({"25x96x32", "25x192x16", "25x384x8", "25x768x4"})
    public String shape;

    @Param({"2"})
    public int threads;

    private CpuBackend cpu;
    private Tensor x;
    private Tensor w1;
    private Tensor b1;
    private Tensor w2;
    private Tensor b2;
    private Tensor scale;
    private Tensor gamma;
    private Tensor beta;

    @Setup(Level.Trial)
    public void setUp() {
        int[] s = Shapes.parse(shape);
        cpu = Shapes.backend("openblas", threads);
        x = Shapes.random(1, s[0], s[1], s[2], s[2]);
        w1 = Shapes.random(2, 4L * s[1], s[1], 1, 1);
        b1 = Shapes.random(3, 4L * s[1]);
        w2 = Shapes.random(4, s[1], 4L * s[1], 1, 1);
        b2 = Shapes.random(5, s[1]);
        scale = Shapes.random(6, s[1]);
        gamma = Shapes.random(7, s[1]);
        beta = Shapes.random(8, s[1]);
    }

    @Benchmark
    public float channelMlp() {
        try (Tensor y = cpu.channelMlp(x, w1, b1, Activation.GELU, w2, b2, scale, x)) {
            return y.getFloat(0);
        }
    }

    @Benchmark
    public float normalizedChannelMlp() {
        try (Tensor y = cpu.normalizedChannelMlp(x, gamma, beta, EPS, w1, b1, Activation.GELU,
                w2, b2, scale, x)) {
            return y.getFloat(0);
        }
    }

    @Benchmark
    public float layerNormThenChannelMlp() {
        try (Tensor normed = cpu.layerNormChannels(x, gamma, beta, EPS);
                Tensor y = cpu.channelMlp(normed, w1, b1, Activation.GELU, w2, b2, scale, x)) {
            return y.getFloat(0);
        }
    }

    /** Floating-point operations of one call (the two products), for GFLOP/s. */
    public static double flops(String shape) {
        int[] s = Shapes.parse(shape);
        return 2.0 * 2 * s[0] * s[2] * s[2] * s[1] * 4.0 * s[1];
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        for (Tensor t : new Tensor[] {x, w1, b1, w2, b2, scale, gamma, beta}) {
            t.close();
        }
        cpu.close();
    }
}
