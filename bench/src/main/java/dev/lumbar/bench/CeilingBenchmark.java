package dev.lumbar.bench;

import dev.lumbar.bindings.OpenBlas;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import java.util.concurrent.TimeUnit;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;
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
 * What this machine can do at best, measured in the same run as the kernels: OpenBLAS sgemm at
 * 2048³ for arithmetic, and a STREAM-like triad {@code a = b + s·c} over three 64 MiB arrays
 * for memory, split over the same number of threads.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
public class CeilingBenchmark {

    static final int SIZE = 2048;
    static final long TRIAD = 16L << 20;
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;

    @Param({"2"})
    public int threads;

    private OpenBlas blas;
    private Arena arena;
    private MemorySegment a;
    private MemorySegment b;
    private MemorySegment c;
    private MemorySegment ta;
    private MemorySegment tb;
    private MemorySegment tc;

    @Setup(Level.Trial)
    public void setUp() {
        blas = OpenBlas.load().orElseThrow(() -> new IllegalStateException(
                "the arithmetic ceiling needs OpenBLAS (libopenblas0)"));
        blas.setThreads(threads);
        arena = Arena.ofShared();
        long bytes = (long) SIZE * SIZE * Float.BYTES;
        a = arena.allocate(bytes, 64);
        b = arena.allocate(bytes, 64);
        c = arena.allocate(bytes, 64);
        for (long i = 0; i < (long) SIZE * SIZE; i++) {
            a.setAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT, i, (i % 7) * 0.25f);
            b.setAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT, i, (i % 5) * 0.5f);
        }
        ta = arena.allocate(TRIAD * Float.BYTES, 64);
        tb = arena.allocate(TRIAD * Float.BYTES, 64);
        tc = arena.allocate(TRIAD * Float.BYTES, 64);
    }

    @Benchmark
    public void openblasSgemm2048() {
        blas.sgemm(false, false, SIZE, SIZE, SIZE, 1f, a, SIZE, b, SIZE, 0f, c, SIZE);
    }

    @Benchmark
    public void streamTriad() throws InterruptedException {
        Thread[] workers = new Thread[threads];
        long part = TRIAD / threads / S.length() * S.length();
        for (int t = 0; t < threads; t++) {
            long from = t * part;
            long to = t == threads - 1 ? TRIAD : from + part;
            workers[t] = Thread.ofPlatform().start(() -> triad(from, to));
        }
        for (Thread w : workers) {
            w.join();
        }
    }

    private void triad(long from, long to) {
        int lanes = S.length();
        for (long i = from; i < to; i += lanes) {
            long o = i * Float.BYTES;
            FloatVector.fromMemorySegment(S, tb, o, ByteOrder.LITTLE_ENDIAN)
                    .add(FloatVector.fromMemorySegment(S, tc, o, ByteOrder.LITTLE_ENDIAN)
                            .mul(3f))
                    .intoMemorySegment(ta, o, ByteOrder.LITTLE_ENDIAN);
        }
    }

    static final double SGEMM_FLOPS = 2.0 * SIZE * SIZE * SIZE;
    static final double TRIAD_BYTES = 3.0 * TRIAD * Float.BYTES;

    @TearDown(Level.Trial)
    public void tearDown() {
        arena.close();
    }
}
