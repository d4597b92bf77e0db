package dev.lumbar.bench;

import dev.lumbar.engine.backend.Activation;
import dev.lumbar.engine.backend.Conv2dSpec;
import dev.lumbar.engine.backend.GatedActivations;
import dev.lumbar.engine.backend.InvertedResidual;
import dev.lumbar.engine.backend.cpu.CpuBackend;
import dev.lumbar.engine.tensor.Tensor;
import java.util.ArrayList;
import java.util.List;
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
 * One of tf_efficientnetv2_s's MBConv blocks with its squeeze-excite gate and residual
 * ({@code CpuBackend.invertedResidual}: 1×1 expansion with SiLU, depthwise 3×3 with SiLU, the
 * gate, 1×1 projection), weights uploaded as in a network. Shape {@code NxCxHxW:expanded}: the
 * stage 3–5 blocks at 25 × 128² ({@code 25x128x8x8:512}, {@code 25x160x8x8:960},
 * {@code 25x256x4x4:1536}) and at 5 × 224² ({@code 5x128x14x14:512}, {@code 5x160x14x14:960},
 * {@code 5x256x7x7:1536}). {@code path}: {@code blocked}, the backend's one call, which keeps
 * the expanded activations channel-blocked; {@code nchw}, the same block as the backend's
 * separate NCHW calls (expansion, depthwise with the gate, gated projection with the residual).
 * Counted in multiply-adds of the three convolutions and the gate.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
public class InvertedResidualBenchmark {

    @Param({"2"})
    public int threads;

    @Param({"25x128x8x8:512", "25x160x8x8:960", "25x256x4x4:1536", "5x128x14x14:512",
            "5x160x14x14:960", "5x256x7x7:1536"})
    public String shape;

    @Param({"blocked", "nchw"})
    public String path;

    private CpuBackend cpu;
    private Tensor x;
    private InvertedResidual block;
    private final List<Tensor> owned = new ArrayList<>();

    @Setup(Level.Trial)
    public void setUp() {
        cpu = Shapes.backend("java", threads);
        int[] d = Shapes.parse(shape.substring(0, shape.indexOf(':')));
        int c = d[1];
        int hidden = expanded(shape);
        int reduced = c / 4;
        x = own(Shapes.random(1, d[0], c, d[2], d[3]));
        Conv2dSpec pointwise = Conv2dSpec.symmetric(1, 0, 1, 1);
        block = new InvertedResidual(
                new InvertedResidual.Conv(uploaded(2, hidden, c, 1, 1), uploaded(3, hidden),
                        pointwise, Activation.SILU),
                new InvertedResidual.Conv(uploaded(4, hidden, 1, 3, 3), uploaded(5, hidden),
                        Conv2dSpec.symmetric(1, 1, 1, hidden), Activation.SILU),
                new InvertedResidual.Gate(uploaded(6, reduced, hidden, 1, 1), uploaded(7, reduced),
                        uploaded(8, hidden, reduced, 1, 1), uploaded(9, hidden), Activation.SILU),
                new InvertedResidual.Conv(uploaded(10, c, hidden, 1, 1), uploaded(11, c),
                        pointwise, Activation.IDENTITY));
    }

    @Benchmark
    public float invertedResidual() {
        if (path.equals("blocked")) {
            try (Tensor y = cpu.invertedResidual(x, block, x)) {
                return y.getFloat(0);
            }
        }
        InvertedResidual.Conv expand = block.expand();
        InvertedResidual.Conv depthwise = block.depthwise();
        InvertedResidual.Gate gate = block.gate();
        InvertedResidual.Conv project = block.project();
        try (Tensor h = cpu.conv2d(x, expand.weight(), expand.bias(), expand.spec(),
                    expand.act());
                GatedActivations gated = cpu.conv2dWithGate(h, depthwise.weight(),
                        depthwise.bias(), depthwise.spec(), depthwise.act(), gate.reduceWeight(),
                        gate.reduceBias(), gate.expandWeight(), gate.expandBias(), gate.act());
                Tensor y = cpu.conv2dAdd(gated.activations(), gated.gate(), project.weight(),
                        project.bias(), project.spec(), Activation.IDENTITY, x)) {
            return y.getFloat(0);
        }
    }

    private static int expanded(String shape) {
        return Integer.parseInt(shape.substring(shape.indexOf(':') + 1));
    }

    /** Floating-point operations of one call: the three convolutions and the gate. */
    static double flops(String shape) {
        int[] d = Shapes.parse(shape.substring(0, shape.indexOf(':')));
        double pixels = (double) d[0] * d[2] * d[3];
        int hidden = expanded(shape);
        return 2 * (pixels * hidden * (2.0 * d[1] + 9) + 2.0 * d[0] * hidden * (d[1] / 4));
    }

    private Tensor own(Tensor t) {
        owned.add(t);
        return t;
    }

    private Tensor uploaded(long seed, long... dims) {
        // weights fan-in scaled: unscaled ones drive the block into subnormal floats
        // (Shapes.weight); biases in [-1, 1)
        try (Tensor host = dims.length > 1 ? Shapes.weight(seed, dims)
                : Shapes.random(seed, dims)) {
            return own(cpu.upload(host));
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        for (Tensor t : owned) {
            t.close();
        }
        cpu.close();
    }
}
