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
 * The spatial convolutions of tf_efficientnetv2_s, each with its SiLU, and awkward sizes
 * beside them; the dense ones are rated in FLOPs against the sgemm ceiling, the depthwise
 * ones in bytes against the triad. The shape is {@code kind:N×C×H×W:O:k:stride}, padding
 * {@code k / 2} on every side; {@code kind} is {@code dense} (one group) or
 * {@code depthwise} (O = C):
 * <ul>
 * <li>{@code dense:25x48x32x32:192:3:1}: the fused-MBConv expansion of stage 3 at 128×128
 *     input, the largest single operation of that network;</li>
 * <li>{@code dense:25x3x128x128:24:3:2} and {@code dense:25x24x64x64:96:3:2}: its stem and a
 *     strided expansion;</li>
 * <li>{@code depthwise:25x960x8x8:960:3:1}, {@code depthwise:25x1536x4x4:1536:3:1}: the
 *     MBConv depthwise of stages 5 and 6 at 128×128, {@code depthwise:5x960x14x14:960:3:1}
 *     at 224×224, and {@code depthwise:25x256x16x16:256:3:2} a strided one;</li>
 * <li>awkward: 17 input and 70 output channels (not a multiple of the register tile's 6)
 *     over 29×31, at strides 1 and 2, and a 3-image depthwise over 13×13.</li>
 * </ul>
 * A dense convolution's FLOPs are those of the direct convolution. The stride-1 3×3 ones of
 * 32 or more input channels run by Winograd's F(2×2, 3×3), with 4 multiply-adds per output
 * and input channel instead of 9: their rate is the direct convolution's FLOPs over the time,
 * and can pass the sgemm ceiling.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
public class SpatialConvBenchmark {

    @Param({"dense:25x48x32x32:192:3:1", "dense:25x3x128x128:24:3:2",
        "dense:25x24x64x64:96:3:2", "dense:3x17x29x31:70:3:1", "dense:3x17x29x31:70:3:2",
        "depthwise:25x960x8x8:960:3:1", "depthwise:25x1536x4x4:1536:3:1",
        "depthwise:5x960x14x14:960:3:1", "depthwise:25x256x16x16:256:3:2",
        "depthwise:3x100x13x13:100:3:1"})
    public String shape;

    @Param({"2"})
    public int threads;

    private CpuBackend cpu;
    private Tensor x;
    private Tensor weight;
    private Tensor bias;
    private Conv2dSpec spec;

    /** The parts of a shape string. */
    record Shape(boolean depthwise, int n, int c, int h, int w, int o, int k, int stride) {
        static Shape of(String text) {
            String[] parts = text.split(":");
            int[] image = Shapes.parse(parts[1]);
            boolean depthwise = parts[0].equals("depthwise");
            if (!depthwise && !parts[0].equals("dense")) {
                throw new IllegalArgumentException("not dense or depthwise: " + text);
            }
            if (depthwise && !parts[2].equals(String.valueOf(image[1]))) {
                throw new IllegalArgumentException("a depthwise convolution has as many outputs"
                        + " as inputs: " + text);
            }
            return new Shape(depthwise, image[0], image[1], image[2], image[3],
                    Integer.parseInt(parts[2]), Integer.parseInt(parts[3]),
                    Integer.parseInt(parts[4]));
        }

        int outH() {
            return (h + 2 * (k / 2) - k) / stride + 1;
        }

        int outW() {
            return (w + 2 * (k / 2) - k) / stride + 1;
        }
    }

    @Setup(Level.Trial)
    public void setUp() {
        Shape s = Shape.of(shape);
        cpu = Shapes.backend("java", threads);
        x = Shapes.random(1, s.n, s.c, s.h, s.w);
        weight = Shapes.random(2, s.o, s.depthwise ? 1 : s.c, s.k, s.k);
        bias = Shapes.random(3, s.o);
        spec = Conv2dSpec.symmetric(s.stride, s.k / 2, 1, s.depthwise ? s.c : 1);
    }

    @Benchmark
    public float spatialConvolution() {
        try (Tensor y = cpu.conv2d(x, weight, bias, spec, Activation.SILU)) {
            return y.getFloat(0);
        }
    }

    /**
     * Whether the shape is rated by bytes moved rather than by FLOPs: a depthwise 3×3 does 9
     * multiply-adds per output it writes, far too few to be bound by arithmetic.
     */
    public static boolean memoryBound(String shape) {
        return Shape.of(shape).depthwise;
    }

    /** Bytes one call moves at least: the input read once and the output written once. */
    public static double bytes(String shape) {
        Shape s = Shape.of(shape);
        return (double) Float.BYTES
                * ((double) s.n * s.c * s.h * s.w + (double) s.n * s.o * s.outH() * s.outW());
    }

    /** FLOPs of one call: 2 per multiply-add of the convolution itself. */
    public static double flops(String shape) {
        Shape s = Shape.of(shape);
        return 2.0 * s.n * s.o * (s.depthwise ? 1 : s.c) * s.outH() * s.outW() * s.k * s.k;
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        x.close();
        weight.close();
        bias.close();
        cpu.close();
    }
}
