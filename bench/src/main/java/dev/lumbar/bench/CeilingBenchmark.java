package dev.lumbar.bench;

import dev.lumbar.bindings.OpenBlas;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import java.util.concurrent.TimeUnit;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
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
 * for memory, split over the same number of threads. Beside them, for reference, the cores'
 * own multiply-add peak ({@link #fmaPeak}): what no product can pass. The kernels' shares stay
 * those of sgemm, as the table has always given them; the peak shows how far sgemm itself is
 * from the cores' limit in the same run.
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

    /**
     * The cores' multiply-add peak: each thread runs {@link #FMA_CHAINS} independent chains of
     * {@link #FMA_STEPS} vector multiply-adds on registers alone, so that neither memory nor
     * the latency of one multiply-add limits it (12 chains cover a 4-cycle latency on two
     * units). A call runs about 0.1 s: with calls of 15 ms the threads' start, and the wake of
     * an idle virtual CPU, cost up to a tenth of a call, and two threads measured 203 GFLOP/s
     * on a machine whose cores sustain 230.
     */
    @Benchmark
    public float fmaPeak() throws InterruptedException {
        float[] sums = new float[threads];
        Thread[] workers = new Thread[threads];
        for (int t = 0; t < threads; t++) {
            int slot = t;
            workers[t] = Thread.ofPlatform().start(() -> sums[slot] = fmaChains(0.9999f));
        }
        float total = 0;
        for (int t = 0; t < threads; t++) {
            workers[t].join();
            total += sums[t];
        }
        return total;
    }

    static final long FMA_STEPS = 1L << 25;
    static final int FMA_CHAINS = 12;

    /** The floating-point operations of one {@link #fmaPeak} call on {@code threads}. */
    static double fmaFlops(int threads) {
        return 2.0 * threads * FMA_STEPS * FMA_CHAINS * S.length();
    }

    /**
     * {@code a ← a·m + 10⁻⁷} on each chain: it settles near 10⁻³, no overflow, no
     * subnormals.
     */
    private static float fmaChains(float factor) {
        FloatVector m = FloatVector.broadcast(S, factor);
        FloatVector b = FloatVector.broadcast(S, 1e-7f);
        FloatVector a0 = FloatVector.broadcast(S, 1f);
        FloatVector a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0;
        FloatVector a6 = a0, a7 = a0, a8 = a0, a9 = a0, a10 = a0, a11 = a0;
        for (long i = 0; i < FMA_STEPS; i++) {
            a0 = a0.fma(m, b);
            a1 = a1.fma(m, b);
            a2 = a2.fma(m, b);
            a3 = a3.fma(m, b);
            a4 = a4.fma(m, b);
            a5 = a5.fma(m, b);
            a6 = a6.fma(m, b);
            a7 = a7.fma(m, b);
            a8 = a8.fma(m, b);
            a9 = a9.fma(m, b);
            a10 = a10.fma(m, b);
            a11 = a11.fma(m, b);
        }
        return a0.add(a1).add(a2).add(a3).add(a4).add(a5).add(a6).add(a7).add(a8).add(a9)
                .add(a10).add(a11).reduceLanes(VectorOperators.ADD);
    }

    static final double SGEMM_FLOPS = 2.0 * SIZE * SIZE * SIZE;
    static final double TRIAD_BYTES = 3.0 * TRIAD * Float.BYTES;

    @TearDown(Level.Trial)
    public void tearDown() {
        arena.close();
    }
}
