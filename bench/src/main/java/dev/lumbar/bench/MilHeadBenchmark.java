package dev.lumbar.bench;

import dev.lumbar.engine.backend.Backend;
import dev.lumbar.engine.backend.cpu.CpuBackend;
import dev.lumbar.engine.model.head.Head;
import dev.lumbar.engine.model.head.MilBiLstmHead;
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
 * The attention-MIL head alone, at the 1st-place solution's size (ConvNeXt-small features,
 * 768; a two-layer BiLSTM) on one study's 25 bags of 15 slices, with random weights.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector",
        "--enable-native-access=ALL-UNNAMED", "-XX:-UseProfiledLoopPredicate"})
public class MilHeadBenchmark {

    @Param({"768"})
    int features;

    @Param({"15"})
    int slices;

    @Param({"2"})
    int layers;

    private Backend backend;
    private MilBiLstmHead head;
    private Tensor bags;  // [25, S, D]

    @Setup(Level.Trial)
    public void setUp() {
        backend = new CpuBackend(Runtime.getRuntime().availableProcessors());
        head = (MilBiLstmHead) Head.create(Map.of("type", "mil_bilstm",
                "lstm_layers", (long) layers), features);
        SplittableRandom random = new SplittableRandom(7);
        Map<String, Tensor> weights = new HashMap<>();
        head.expectedTensors().forEach((name, shape) ->
                weights.put(name, randomTensor(random, 0.05, shape)));
        head.load(weights, backend);
        weights.values().forEach(Tensor::close);
        try (Tensor host = randomTensor(random, 1.0, 25, slices, features)) {
            bags = backend.upload(host);
        }
    }

    private static Tensor randomTensor(SplittableRandom random, double scale, long... shape) {
        float[] values = new float[Math.toIntExact(Tensor.numel(shape))];
        for (int i = 0; i < values.length; i++) {
            values[i] = (float) ((random.nextDouble() - 0.5) * 2 * scale);
        }
        return Tensor.of(values, shape);
    }

    @Benchmark
    public MilBiLstmHead.Output forward() {
        return head.forward(bags);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        bags.close();
        head.close();
        backend.close();
    }
}
