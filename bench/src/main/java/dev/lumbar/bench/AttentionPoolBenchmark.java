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
 * The mil_bilstm attention pooling on the BiLSTM's output {@code [25, S, 768]}, as the head
 * runs it on the backend: tanh, a linear score per instance, softmax over S, the weighted sum
 * as a batched product. S sweeps the demo's 5, the solution's 15, and 16, 33 around them.
 *
 * <p>Memory-bound: counted as the context read three times (tanh, weighted sum, and the
 * squashed copy read by the score) and the squashed copy written once, {@code 4·B·S·2H·4}
 * bytes. Ceiling: the triad.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
public class AttentionPoolBenchmark {

    static final int BAGS = 25;
    static final int WIDTH = 768;

    @Param({"2"})
    public int threads;

    @Param({"5", "15", "16", "33"})
    public int slices;

    private CpuBackend cpu;
    private Tensor context;
    private Tensor scoreWeight;
    private Tensor scoreBias;

    @Setup(Level.Trial)
    public void setUp() {
        cpu = Shapes.backend("openblas", threads);
        context = Shapes.random(1, BAGS, slices, WIDTH);
        scoreWeight = Shapes.random(2, 1, WIDTH);
        scoreBias = Shapes.random(3, 1);
    }

    @Benchmark
    public float attentionPool() {
        try (Tensor squashed = cpu.activate(context, Activation.TANH);
                Tensor scores = cpu.linear(squashed, scoreWeight, scoreBias,
                        Activation.IDENTITY);
                Tensor alpha = cpu.softmax(scores.reshape(BAGS, slices));
                Tensor pooled = cpu.matmul(alpha.reshape(BAGS, 1, slices), context)) {
            return pooled.getFloat(0);
        }
    }

    static double bytes(int slices) {
        return 4.0 * BAGS * slices * WIDTH * Float.BYTES;
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        context.close();
        scoreWeight.close();
        scoreBias.close();
        cpu.close();
    }
}
