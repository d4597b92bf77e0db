package dev.lumbar.engine.backend.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.lumbar.engine.backend.Activation;
import dev.lumbar.engine.backend.Backend;
import dev.lumbar.engine.backend.Conv2dSpec;
import dev.lumbar.engine.backend.cpu.CpuBackend.GemmChoice;
import dev.lumbar.engine.tensor.Tensor;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * One backend called from several threads at once, as the batch runner calls it, and two
 * backends of different sizes at once: every operation must give the bits it gives alone on one
 * thread, nothing may hang, and a failure inside a loop must reach its own caller only and
 * leave the workers usable.
 */
class ConcurrentCallsTest {

    private static final Conv2dSpec PLAIN = Conv2dSpec.symmetric(1, 0, 1, 1);
    private static final List<Tensor> INPUTS = new ArrayList<>();
    private static final Map<String, Function<Backend, Tensor>> OPS = new LinkedHashMap<>();

    private static Tensor input(SplittableRandom random, double lo, double hi, long... shape) {
        Tensor t = Reference.random(random, lo, hi, shape);
        INPUTS.add(t);
        return t;
    }

    @BeforeAll
    static void operations() {
        SplittableRandom r = new SplittableRandom(97);
        Tensor small = input(r, -1, 1, 3, 40, 5, 5);
        Tensor gate = input(r, 0, 1, 3, 40);
        Tensor w1 = input(r, -0.3, 0.3, 24, 40, 1, 1);
        Tensor b24 = input(r, -0.3, 0.3, 24);
        Tensor large = input(r, -1, 1, 2, 32, 20, 20);
        Tensor w2 = input(r, -0.3, 0.3, 48, 32, 1, 1);
        Tensor image = input(r, -1, 1, 1, 24, 30, 30);
        Tensor w3 = input(r, -0.2, 0.2, 32, 24, 3, 3);
        Tensor pair = input(r, -1, 1, 2, 16, 33, 31);
        Tensor w4 = input(r, -0.2, 0.2, 24, 16, 3, 3);
        Tensor planes = input(r, -1, 1, 2, 24, 28, 28);
        Tensor dw5 = input(r, -0.3, 0.3, 24, 1, 5, 5);
        Tensor tiny = input(r, -1, 1, 2, 40, 7, 7);
        Tensor dw3 = input(r, -0.3, 0.3, 40, 1, 3, 3);
        Tensor b40 = input(r, -0.3, 0.3, 40);
        Tensor rows = input(r, -1, 1, 600, 256);
        Tensor wl = input(r, -0.2, 0.2, 512, 256);
        Tensor bl = input(r, -0.2, 0.2, 512);
        Tensor se = input(r, -1, 1, 3, 48, 9, 9);
        Tensor reduce = input(r, -0.3, 0.3, 12, 48, 1, 1);
        Tensor reduceBias = input(r, -0.3, 0.3, 12);
        Tensor expand = input(r, -0.3, 0.3, 48, 12, 1, 1);
        Tensor expandBias = input(r, -0.3, 0.3, 48);
        Tensor grouped = input(r, -0.3, 0.3, 12, 2, 3, 3);
        Tensor eight = input(r, -1, 1, 2, 8, 13, 14);
        Tensor a = input(r, -1, 1, 4, 70, 90);
        Tensor bm = input(r, -1, 1, 4, 90, 130);
        Tensor largeGate = input(r, 0, 1, 2, 32);
        Tensor expandMlp = input(r, -0.3, 0.3, 96, 40, 1, 1);
        Tensor expandMlpBias = input(r, -0.3, 0.3, 96);
        Tensor reduceMlp = input(r, -0.3, 0.3, 40, 96, 1, 1);
        Tensor layerScale = input(r, 0.5, 1.5, 40);
        Tensor quads = input(r, -1, 1, 3, 40, 4, 4);
        Tensor octs = input(r, -1, 1, 2, 40, 8, 8);
        Tensor expandLarge = input(r, -0.3, 0.3, 72, 32, 1, 1);
        Tensor reduceLarge = input(r, -0.3, 0.3, 32, 72, 1, 1);
        Tensor scale32 = input(r, 0.5, 1.5, 32);
        Tensor w5 = input(r, -0.2, 0.2, 13, 40, 3, 3);

        OPS.put("1x1 small images, gated", b -> b.gatedConv2d(small, gate, w1, b24, PLAIN,
                Activation.SILU));
        OPS.put("1x1 small images", b -> b.conv2d(small, w1, b24, PLAIN, Activation.GELU));
        OPS.put("1x1 large planes", b -> b.conv2d(large, w2, null, PLAIN, Activation.SILU));
        OPS.put("3x3 one image", b -> b.conv2d(image, w3, null, Conv2dSpec.symmetric(1, 1, 1, 1),
                Activation.RELU));
        OPS.put("3x3 stride 2", b -> b.conv2d(pair, w4, null,
                new Conv2dSpec(2, 2, 0, 1, 0, 1, 1, 1, 1), Activation.SILU));
        OPS.put("depthwise 5x5", b -> b.conv2d(planes, dw5, null,
                Conv2dSpec.symmetric(1, 2, 1, 24), Activation.SILU));
        OPS.put("depthwise 3x3 on 7x7", b -> b.conv2d(tiny, dw3, b40,
                Conv2dSpec.symmetric(1, 1, 1, 40), Activation.SILU));
        OPS.put("depthwise stride 2 on 7x7", b -> b.conv2d(tiny, dw3, b40,
                Conv2dSpec.symmetric(2, 1, 1, 40), Activation.IDENTITY));
        OPS.put("grouped stride 3", b -> b.conv2d(eight, grouped, null,
                Conv2dSpec.symmetric(3, 1, 1, 4), Activation.IDENTITY));
        OPS.put("linear", b -> b.linear(rows, wl, bl, Activation.GELU));
        OPS.put("squeeze-excite", b -> b.squeezeExcite(se, reduce, reduceBias, expand,
                expandBias, Activation.SILU));
        OPS.put("gated 1x1 on large planes", b -> b.gatedConv2d(large, largeGate,
                w2, null, PLAIN, Activation.IDENTITY));
        OPS.put("matmul", b -> b.matmul(a, bm));
        OPS.put("channel MLP over small images", b -> b.channelMlp(small, expandMlp,
                expandMlpBias, Activation.GELU, reduceMlp, b40, layerScale, small));
        OPS.put("depthwise 3x3 on 4x4", b -> b.conv2d(quads, dw3, b40,
                Conv2dSpec.symmetric(1, 1, 1, 40), Activation.SILU));
        OPS.put("depthwise stride 2 on 8x8", b -> b.conv2d(octs, dw3, null,
                Conv2dSpec.symmetric(2, 1, 1, 40), Activation.RELU));
        OPS.put("channel MLP over large planes", b -> b.channelMlp(large, expandLarge, null,
                Activation.GELU, reduceLarge, null, scale32, large));
        OPS.put("3x3 over small images, uneven padding", b -> b.conv2d(small, w5, null,
                new Conv2dSpec(1, 1, 0, 2, 2, 0, 1, 1, 1), Activation.SILU));
    }

    @AfterAll
    static void free() {
        INPUTS.forEach(Tensor::close);
        INPUTS.clear();
        OPS.clear();
    }

    /** Every operation's output on one thread, by name. */
    private static Map<String, float[]> alone(GemmChoice gemm) {
        Map<String, float[]> expected = new LinkedHashMap<>();
        try (CpuBackend one = new CpuBackend(1, gemm)) {
            OPS.forEach((name, op) -> {
                try (Tensor y = op.apply(one)) {
                    expected.put(name, y.toFloatArray());
                }
            });
        }
        return expected;
    }

    /** Runs the operations {@code rounds} times in an order of its own, checking each. */
    private static void callRepeatedly(Backend backend, Map<String, float[]> expected,
            int caller, int rounds) {
        List<String> names = new ArrayList<>(OPS.keySet());
        for (int round = 0; round < rounds; round++) {
            java.util.Collections.rotate(names, caller + round);
            for (String name : names) {
                try (Tensor y = OPS.get(name).apply(backend)) {
                    float[] got = y.toFloatArray();
                    float[] want = expected.get(name);
                    for (int i = 0; i < want.length; i++) {
                        if (Float.floatToRawIntBits(got[i]) != Float.floatToRawIntBits(want[i])) {
                            throw new AssertionError(name + " on " + backend.name() + ", caller "
                                    + caller + ", round " + round + ": element " + i + " is "
                                    + got[i] + ", alone on one thread " + want[i]);
                        }
                    }
                }
            }
        }
    }

    private static void runAll(ExecutorService callers, List<Runnable> jobs) throws Exception {
        List<Future<?>> futures = new ArrayList<>();
        for (Runnable job : jobs) {
            futures.add(callers.submit(job));
        }
        for (Future<?> f : futures) {
            // a hang fails here rather than stalling the build
            f.get(120, TimeUnit.SECONDS);
        }
    }

    @ParameterizedTest
    @EnumSource(value = GemmChoice.class, names = {"JAVA", "AUTO"})
    void oneBackendFromFourThreadsGivesTheSingleThreadedBits(GemmChoice gemm)
            throws Exception {
        Map<String, float[]> expected = alone(gemm);
        ExecutorService callers = Executors.newFixedThreadPool(4);
        try (CpuBackend shared = new CpuBackend(3, gemm)) {
            List<Runnable> jobs = new ArrayList<>();
            for (int caller = 0; caller < 4; caller++) {
                int id = caller;
                jobs.add(() -> callRepeatedly(shared, expected, id, 2));
            }
            runAll(callers, jobs);
        } finally {
            callers.shutdownNow();
        }
    }

    @ParameterizedTest
    @EnumSource(value = GemmChoice.class, names = {"JAVA", "AUTO"})
    void twoBackendsOfDifferentSizesAtOnceGiveTheSingleThreadedBits(GemmChoice gemm)
            throws Exception {
        Map<String, float[]> expected = alone(gemm);
        ExecutorService callers = Executors.newFixedThreadPool(4);
        try (CpuBackend two = new CpuBackend(2, gemm); CpuBackend four = new CpuBackend(4, gemm)) {
            List<Runnable> jobs = new ArrayList<>();
            for (int caller = 0; caller < 4; caller++) {
                int id = caller;
                CpuBackend backend = caller % 2 == 0 ? two : four;
                jobs.add(() -> callRepeatedly(backend, expected, id, 1));
            }
            runAll(callers, jobs);
        } finally {
            callers.shutdownNow();
        }
    }

    @ParameterizedTest
    @EnumSource(value = GemmChoice.class, names = {"JAVA", "AUTO"})
    void failureInsideALoopReachesItsCallerAndLeavesTheWorkersUsable(GemmChoice gemm)
            throws Exception {
        Map<String, float[]> expected = alone(gemm);
        SplittableRandom r = new SplittableRandom(5);
        ExecutorService callers = Executors.newFixedThreadPool(3);
        try (CpuBackend shared = new CpuBackend(3, gemm)) {
            List<Runnable> jobs = new ArrayList<>();
            // two callers whose work is fine, one whose inputs are freed before each call
            for (int caller = 0; caller < 2; caller++) {
                int id = caller;
                jobs.add(() -> callRepeatedly(shared, expected, id, 1));
            }
            jobs.add(() -> {
                for (int i = 0; i < 10; i++) {
                    Tensor x = Reference.random(r, -1, 1, 2, 16, 33, 31);
                    Tensor w = Reference.random(r, -1, 1, 24, 16, 3, 3);
                    Tensor freed = i % 2 == 0 ? x : w;
                    freed.close();
                    assertThrows(IllegalStateException.class, () -> shared.conv2d(x, w, null,
                            Conv2dSpec.symmetric(1, 1, 1, 1), Activation.IDENTITY));
                    Tensor big = Reference.random(r, -1, 1, 1 << 18);
                    big.close();
                    assertThrows(IllegalStateException.class,
                            () -> shared.activate(big, Activation.SILU));
                    x.close();
                    w.close();
                }
            });
            runAll(callers, jobs);
            callRepeatedly(shared, expected, 0, 1);
        } finally {
            callers.shutdownNow();
        }
    }

    @ParameterizedTest
    @EnumSource(value = GemmChoice.class, names = {"JAVA", "AUTO"})
    void resultsDoNotDependOnTheThreadCount(GemmChoice gemm) {
        Map<String, float[]> expected = alone(gemm);
        for (int threads : new int[] {2, 3, 5}) {
            try (CpuBackend backend = new CpuBackend(threads, gemm)) {
                callRepeatedly(backend, expected, 0, 1);
            }
        }
        assertEquals(OPS.size(), expected.size(), Arrays.toString(expected.keySet().toArray()));
    }
}
