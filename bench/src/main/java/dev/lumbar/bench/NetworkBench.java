package dev.lumbar.bench;

import dev.lumbar.bindings.OpenBlas;
import dev.lumbar.engine.backend.cpu.CpuBackend;
import dev.lumbar.engine.io.Json;
import dev.lumbar.engine.io.Npy;
import dev.lumbar.engine.io.Safetensors;
import dev.lumbar.engine.model.backbone.Backbone;
import dev.lumbar.engine.model.backbone.Backbones;
import dev.lumbar.engine.tensor.Tensor;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Times one whole timm encoder forward ({@code num_classes=0}, pooled features) on the CPU
 * backend, and in the same process measures OpenBLAS sgemm at 2048³ as the arithmetic ceiling.
 *
 * <p>One network per process, so that the peak resident set ({@code VmHWM}) belongs to that
 * network alone. The first warm-up forward writes the output; after the timed forwards one more,
 * through {@link CountingBackend}, counts the FLOPs (2 × MACs of convolutions, linears and
 * squeeze-excite); with {@code --profile} more of them break its time down by kind of
 * operation (the mean of five, after ten that let the wrapper's calls compile), with
 * {@code --profile shapes} by kind and shape of convolution.
 *
 * <p>Arguments: {@code --arch A --batch N --size S [--threads 2] [--warmup 30] [--runs 5]
 * [--weights F.safetensors] [--input X.npy] [--output Y.npy] [--json R.json] [--profile [shapes]]}.
 * Without {@code --weights} the weights are random (fan-in scaled), without {@code --input} the
 * images are random in [-1, 1). Thirty warm-up forwards by default, as the peer comparison
 * runs: the JIT compiles kernels until about the 20th–25th forward of tf_efficientnetv2_s at
 * both shapes (a kernel called only a few times a forward is compiled last, at about the 18th,
 * and each compile takes one of two cores for a while); after 5 its forwards at
 * {@code [5, 3, 224, 224]} still ran about 45 % slower, between the 13th and the 25th up to 40 %.
 */
public final class NetworkBench {

    private static final int SGEMM_SIZE = 2048;
    private static final int SGEMM_RUNS = 5;
    static final double SGEMM_FLOPS = 2.0 * SGEMM_SIZE * SGEMM_SIZE * SGEMM_SIZE;
    /** Forwards through the counting wrapper before the profiled ones, and the profiled ones. */
    private static final int PROFILE_WARMUP = 10;
    private static final int PROFILE_RUNS = 5;

    private NetworkBench() {
    }

    public static void main(String[] args) throws IOException {
        Map<String, String> options = parse(args);
        String arch = require(options, "arch");
        int batch = Integer.parseInt(require(options, "batch"));
        int size = Integer.parseInt(require(options, "size"));
        int threads = Integer.parseInt(options.getOrDefault("threads", "2"));
        int warmup = Integer.parseInt(options.getOrDefault("warmup", "30"));
        int runs = Integer.parseInt(options.getOrDefault("runs", "5"));
        boolean profile = options.containsKey("profile");

        // the ceiling first, while the heap is still small
        // LIMITATION: on a shared machine the ceiling and the forwards see different loads;
        // the peer script therefore takes the best ceiling of the whole sitting.
        double[] sgemmSeconds = sgemmSeconds(threads);
        double sgemmRate = SGEMM_FLOPS / median(sgemmSeconds);

        try (CpuBackend backend = new CpuBackend(threads);
                Backbone backbone = Backbones.create(arch, 3, 0, Map.of())) {
            load(backbone, backend, options.get("weights"));
            long loadPeakKib = peakRssKib();
            Tensor images = options.containsKey("input")
                    ? readInput(Path.of(options.get("input")), batch, size)
                    : randomImages(batch, size);
            try (Tensor host = images; Tensor onDevice = backend.upload(host)) {

                // the first forward also gives the output to compare with the peers
                try (Tensor features = backbone.forward(backend, onDevice);
                        Tensor out = backend.download(features)) {
                    if (options.containsKey("output")) {
                        Npy.write(Path.of(options.get("output")), out);
                    }
                }
                for (int i = 1; i < warmup; i++) {
                    forward(backbone, backend, onDevice);
                }
                double[] seconds = new double[runs];
                long faultsBefore = minorFaults();
                ProcessUsage usageBefore = ProcessUsage.now();
                for (int i = 0; i < runs; i++) {
                    long start = System.nanoTime();
                    forward(backbone, backend, onDevice);
                    seconds[i] = (System.nanoTime() - start) / 1e9;
                }
                ProcessUsage usageAfter = ProcessUsage.now();
                long faults = minorFaults() - faultsBefore;

                // a counted forward after the timed ones: FLOPs
                CountingBackend counting = new CountingBackend(backend,
                        "shapes".equals(options.get("profile")));
                backbone.forward(counting, onDevice).close();
                double flops = counting.totalFlops();
                if (profile) {
                    // the per-operation times, a mean over PROFILE_RUNS forwards after
                    // PROFILE_WARMUP: the wrapper's call sites compile over its first forwards
                    // (a pool of 0.1 ms was timed at 1–5 ms in the first eight)
                    for (int i = 0; i < PROFILE_WARMUP; i++) {
                        backbone.forward(counting, onDevice).close();
                    }
                    counting.reset();
                    for (int i = 0; i < PROFILE_RUNS; i++) {
                        backbone.forward(counting, onDevice).close();
                    }
                }

                Map<String, Object> result = result(arch, batch, size, threads, backend.name(),
                        flops, seconds, sgemmSeconds, sgemmRate);
                result.put("minor_faults_per_forward", faultsBefore < 0 ? -1 : faults / runs);
                result.put("peak_rss_after_load_mib", loadPeakKib / 1024.0);
                if (usageAfter != null) {
                    result.putAll(usageAfter.since(usageBefore, runs));
                }
                printSummary(result);
                if (profile) {
                    CountingBackend.print("backend calls", counting.tallies(), PROFILE_RUNS);
                }
                if (options.containsKey("json")) {
                    Files.writeString(Path.of(options.get("json")), Json.write(result) + "\n");
                }
            }
        }
    }

    private static void forward(Backbone backbone, CpuBackend backend, Tensor images) {
        try (Tensor features = backbone.forward(backend, images)) {
            if (features.numel() == 0) {
                throw new IllegalStateException("empty features from " + backbone.arch());
            }
        }
    }

    private static Map<String, Object> result(String arch, int batch, int size, int threads,
            String backendName, double flops, double[] seconds, double[] sgemmSeconds,
            double sgemmRate) {
        double median = median(seconds);
        double rate = flops / median;
        Map<String, Object> result = new LinkedHashMap<>();
        result.put("peer", "lumbar");
        result.put("arch", arch);
        result.put("shape", List.of((long) batch, 3L, (long) size, (long) size));
        result.put("threads", (long) threads);
        result.put("backend", backendName);
        result.put("gflop", flops / 1e9);
        result.put("seconds", toList(seconds));
        result.put("median_s", median);
        result.put("min_s", Arrays.stream(seconds).min().orElseThrow());
        result.put("max_s", Arrays.stream(seconds).max().orElseThrow());
        result.put("gflops_per_s", rate / 1e9);
        result.put("sgemm_seconds", toList(sgemmSeconds));
        result.put("sgemm_gflops_per_s", sgemmRate / 1e9);
        result.put("percent_of_sgemm", 100 * rate / sgemmRate);
        result.put("peak_rss_mib", peakRssKib() / 1024.0);
        result.put("load_average", loadAverage());
        return result;
    }

    private static void printSummary(Map<String, Object> r) {
        System.out.printf(Locale.ROOT, "%s %s on %s: median %.3f s (min %.3f, max %.3f, %d runs),"
                + " %.2f GFLOP, %.1f GFLOP/s = %.0f%% of sgemm 2048³ (%.1f GFLOP/s),"
                + " peak RSS %.0f MiB (%.0f after loading), %s minor page faults per forward,"
                + " load %s%s%n",
                r.get("arch"), r.get("shape"), r.get("backend"), r.get("median_s"),
                r.get("min_s"), r.get("max_s"), ((List<?>) r.get("seconds")).size(),
                r.get("gflop"), r.get("gflops_per_s"), r.get("percent_of_sgemm"),
                r.get("sgemm_gflops_per_s"), r.get("peak_rss_mib"),
                r.get("peak_rss_after_load_mib"), r.get("minor_faults_per_forward"),
                r.get("load_average"), ProcessUsage.describe(r, (Long) r.get("threads")));
    }

    /** OpenBLAS sgemm 2048³ with {@code threads} threads: one warm-up, then timed calls. */
    static double[] sgemmSeconds(int threads) {
        OpenBlas blas = OpenBlas.load().orElseThrow(() -> new IllegalStateException(
                "the sgemm ceiling needs OpenBLAS: install libopenblas0 or set "
                        + OpenBlas.ENV_PATH));
        blas.setThreads(threads);
        long n = (long) SGEMM_SIZE * SGEMM_SIZE;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment a = arena.allocate(n * Float.BYTES, 64);
            MemorySegment b = arena.allocate(n * Float.BYTES, 64);
            MemorySegment c = arena.allocate(n * Float.BYTES, 64);
            for (long i = 0; i < n; i++) {
                a.setAtIndex(ValueLayout.JAVA_FLOAT, i, (i % 7) * 0.25f);
                b.setAtIndex(ValueLayout.JAVA_FLOAT, i, (i % 5) * 0.5f);
            }
            double[] seconds = new double[SGEMM_RUNS];
            for (int i = -1; i < SGEMM_RUNS; i++) {
                long start = System.nanoTime();
                blas.sgemm(false, false, SGEMM_SIZE, SGEMM_SIZE, SGEMM_SIZE, 1f, a, SGEMM_SIZE,
                        b, SGEMM_SIZE, 0f, c, SGEMM_SIZE);
                if (i >= 0) {
                    seconds[i] = (System.nanoTime() - start) / 1e9;
                }
            }
            return seconds;
        } finally {
            // the CPU backend calls OpenBLAS on one thread per call, from its own workers
            blas.setThreads(1);
        }
    }

    private static void load(Backbone backbone, CpuBackend backend, String weightsFile)
            throws IOException {
        if (weightsFile == null) {
            Map<String, Tensor> weights = randomWeights(backbone);
            try {
                backbone.load(weights::get, backend);
            } finally {
                weights.values().forEach(Tensor::close);
            }
            return;
        }
        // zero-copy views of the mapped file, uploaded one by one, as `lumbar` loads a card's
        // weights: the peak RSS is then the product's, not that of an F32 copy of the whole file
        try (Safetensors file = Safetensors.open(Path.of(weightsFile))) {
            backbone.load(name -> {
                if (!file.contains(name)) {
                    return null;
                }
                try {
                    return file.view(name);
                } catch (IOException e) {
                    throw new UncheckedIOException(weightsFile + ": " + e.getMessage(), e);
                }
            }, backend);
        }
    }

    /**
     * Fan-in scaled weights keep activations in the normal float range through every stage, so
     * no run is slowed by subnormals; norms start at identity and BatchNorm variances at 1.
     */
    private static Map<String, Tensor> randomWeights(Backbone backbone) {
        // written straight into native tensors: a heap array per weight would grow the heap
        // by the whole network, and the process would keep that memory
        SplittableRandom random = new SplittableRandom(7);
        Map<String, Tensor> weights = new HashMap<>();
        backbone.expectedTensors().forEach((name, shape) -> {
            Tensor weight = Tensor.zeros(shape);
            MemorySegment values = weight.segment();
            long count = weight.numel();
            String leaf = name.substring(name.lastIndexOf('.') + 1);
            if (shape.length >= 2) {
                double scale = Math.sqrt(3.0 * shape[0] / count);
                for (long i = 0; i < count; i++) {
                    values.setAtIndex(ValueLayout.JAVA_FLOAT, i,
                            (float) ((random.nextDouble() * 2 - 1) * scale));
                }
            } else if (leaf.equals("weight") || leaf.equals("gamma")
                    || leaf.equals("running_var")) {
                for (long i = 0; i < count; i++) {
                    values.setAtIndex(ValueLayout.JAVA_FLOAT, i, 1f);
                }
            }
            weights.put(name, weight);
        });
        return weights;
    }

    private static Tensor randomImages(int batch, int size) {
        SplittableRandom random = new SplittableRandom(3);
        float[] values = new float[batch * 3 * size * size];
        for (int i = 0; i < values.length; i++) {
            values[i] = (float) (random.nextDouble() * 2 - 1);
        }
        return Tensor.of(values, batch, 3, size, size);
    }

    private static Tensor readInput(Path file, int batch, int size) throws IOException {
        Tensor images = Npy.read(file);
        long[] expected = {batch, 3, size, size};
        if (!Arrays.equals(images.shape(), expected)) {
            long[] shape = images.shape();
            images.close();
            throw new IllegalArgumentException(file + " holds an array of shape "
                    + Arrays.toString(shape) + "; expected " + Arrays.toString(expected));
        }
        return images;
    }

    /** The peak resident set of this process so far, from /proc/self/status (Linux). */
    static long peakRssKib() {
        // LIMITATION: the peak includes the JVM itself, the three 16 MiB sgemm matrices and the
        // weight tensors while they are read: the process's cost, not the network's alone.
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("VmHWM:")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", ""));
                }
            }
            return -1;
        } catch (IOException e) {
            // LIMITATION: outside Linux there is no /proc; the peak RSS is reported as -1.
            return -1;
        }
    }

    /**
     * Minor page faults of this process so far (field 10 of /proc/self/stat), or -1 off Linux:
     * memory the forwards touch for the first time, which costs a fault per page.
     */
    static long minorFaults() {
        try {
            String stat = Files.readString(Path.of("/proc/self/stat"));
            // the fields after the command name, which is in parentheses and may hold spaces
            String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            return Long.parseLong(fields[7]);
        } catch (IOException | RuntimeException e) {
            return -1;
        }
    }

    /** The 1-minute load average, the measure of how shared the machine was. */
    static String loadAverage() {
        try {
            return Files.readString(Path.of("/proc/loadavg")).split(" ")[0];
        } catch (IOException e) {
            return "?";
        }
    }

    static double median(double[] values) {
        double[] sorted = values.clone();
        Arrays.sort(sorted);
        int mid = sorted.length / 2;
        return sorted.length % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    }

    private static List<Object> toList(double[] values) {
        List<Object> list = new ArrayList<>();
        for (double v : values) {
            list.add(v);
        }
        return list;
    }

    static Map<String, String> parse(String[] args) {
        Map<String, String> options = new HashMap<>();
        for (int i = 0; i < args.length; i++) {
            if (!args[i].startsWith("--")) {
                throw new IllegalArgumentException("unexpected argument '" + args[i] + "'");
            }
            String key = args[i].substring(2);
            boolean flag = i + 1 == args.length || args[i + 1].startsWith("--");
            options.put(key, flag ? "" : args[++i]);
        }
        return options;
    }

    static String require(Map<String, String> options, String key) {
        String value = options.get(key);
        if (value == null || value.isEmpty()) {
            throw new IllegalArgumentException("--" + key + " is required");
        }
        return value;
    }
}
