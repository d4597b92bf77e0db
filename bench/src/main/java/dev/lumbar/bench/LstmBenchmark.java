package dev.lumbar.bench;

import dev.lumbar.engine.backend.cpu.CpuBackend;
import dev.lumbar.engine.model.head.Lstm;
import dev.lumbar.engine.tensor.Tensor;
import java.util.HashMap;
import java.util.Map;
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
 * One layer of the mil_bilstm head's BiLSTM ({@link Lstm}, D = 768 in, H = 384 per direction)
 * over 25 bags. {@code Lstm} has no entry point for a single time step, so the whole recurrence
 * runs for a sweep of step counts (1: the input projection alone; 5 and 15: the demo and the
 * solution's bags; 16 and 31: around them) and the report divides by the steps.
 *
 * <p>Counted as the two GEMMs: the input projection {@code 2·B·S·D·8H} and, on every step but
 * the first, the recurrent product of both directions {@code 2·2·B·H·4H}; the gate update on
 * the host is not counted. Ceiling: OpenBLAS sgemm.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
public class LstmBenchmark {

    static final int BAGS = 25;
    static final int INPUT = 768;
    static final int HIDDEN = 384;

    @Param({"2"})
    public int threads;

    @Param({"1", "5", "15", "16", "31"})
    public int steps;

    private CpuBackend cpu;
    private Lstm lstm;
    private Tensor sequences;

    @Setup(Level.Trial)
    public void setUp() {
        cpu = Shapes.backend("openblas", threads);
        lstm = new Lstm("lstm.", INPUT, HIDDEN, 1);
        Map<String, Tensor> weights = new HashMap<>();
        long seed = 10;
        for (Map.Entry<String, long[]> e : lstm.expectedTensors().entrySet()) {
            weights.put(e.getKey(), Shapes.random(seed++, e.getValue()));
        }
        lstm.load(weights, cpu);
        weights.values().forEach(Tensor::close);
        sequences = Shapes.random(1, BAGS, steps, INPUT);
    }

    // LIMITATION: Lstm has no single-step entry point; the per-step figure is the whole
    // recurrence divided by the steps, so it carries each step's share of the input projection.
    @Benchmark
    public float recurrence() {
        try (Tensor y = lstm.forward(cpu, sequences)) {
            return y.getFloat(0);
        }
    }

    static double flops(int steps) {
        double projection = 2.0 * BAGS * steps * INPUT * 8 * HIDDEN;
        double recurrent = 2.0 * 2 * BAGS * HIDDEN * 4 * HIDDEN * (steps - 1);
        return projection + recurrent;
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        sequences.close();
        lstm.close();
        cpu.close();
    }
}
