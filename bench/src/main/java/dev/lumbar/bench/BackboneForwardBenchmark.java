package dev.lumbar.bench;

import dev.lumbar.engine.backend.Backend;
import dev.lumbar.engine.backend.cpu.CpuBackend;
import dev.lumbar.engine.model.backbone.Backbone;
import dev.lumbar.engine.model.backbone.Backbones;
import dev.lumbar.engine.tensor.Tensor;
import java.util.HashMap;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * A full-size timm encoder's forward (pooled features, {@code num_classes=0}) on the CPU
 * backend, with random weights: the per-slice cost of stage 2. Choose the network and the
 * batch with JMH's {@code -p arch=… -p batch=… -p size=…}.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 2, time = 5)
@Measurement(iterations = 3, time = 5)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector",
        "--enable-native-access=ALL-UNNAMED", "-XX:-UseProfiledLoopPredicate"})
public class BackboneForwardBenchmark {

    @Param({"convnext_small", "tf_efficientnetv2_s"})
    String arch;

    /** Images per forward, e.g. the slices of one bag. */
    @Param({"1"})
    int batch;

    /** Height and width of each image. */
    @Param({"224"})
    int size;

    private Backend backend;
    private Backbone backbone;
    private Tensor images;  // [batch, 3, size, size]

    @Setup(Level.Trial)
    public void setUp() {
        backend = new CpuBackend(Runtime.getRuntime().availableProcessors());
        backbone = Backbones.create(arch, 3, 0, Map.of());
        SplittableRandom random = new SplittableRandom(11);
        Map<String, Tensor> weights = new HashMap<>();
        backbone.expectedTensors().forEach((name, shape) -> weights.put(name,
                name.endsWith(".running_var")
                        ? constant(1.0f, shape) : randomTensor(random, 0.02, shape)));
        backbone.load(weights::get, backend);
        weights.values().forEach(Tensor::close);
        try (Tensor host = randomTensor(random, 1.0, batch, 3, size, size)) {
            images = backend.upload(host);
        }
    }

    private static Tensor constant(float value, long... shape) {
        float[] values = new float[Math.toIntExact(Tensor.numel(shape))];
        java.util.Arrays.fill(values, value);
        return Tensor.of(values, shape);
    }

    private static Tensor randomTensor(SplittableRandom random, double scale, long... shape) {
        float[] values = new float[Math.toIntExact(Tensor.numel(shape))];
        for (int i = 0; i < values.length; i++) {
            values[i] = (float) ((random.nextDouble() * 2 - 1) * scale);
        }
        return Tensor.of(values, shape);
    }

    @Benchmark
    public float forward() {
        try (Tensor features = backbone.forward(backend, images);
                Tensor host = backend.download(features)) {
            return host.getFloat(0);
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        images.close();
        backbone.close();
        backend.close();
    }
}
