package dev.lumbar.bench;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.lumbar.engine.io.Json;
import dev.lumbar.engine.io.Npy;
import dev.lumbar.engine.tensor.Tensor;
import java.io.IOException;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The ONNX Runtime peer of {@link NetworkBench}: the same network exported by
 * {@code bench/peers/compare.py}, run by ONNX Runtime's Java API on its CPU provider with every
 * graph optimisation, a fixed number of intra-op threads and one inter-op thread, timed the
 * same way (warm-up forwards, then the median of timed forwards) in its own process.
 *
 * <p>Arguments: {@code --model M.onnx --input X.npy [--output Y.npy] [--threads 2]
 * [--warmup 1] [--runs 5] [--json R.json] [--profile [shapes]]}. With {@code --profile}, a
 * second session with ONNX Runtime's profiler on runs two more forwards after the timed ones,
 * and the second one's node times are printed by kind of operation, as
 * {@code NetworkBench --profile} prints the engine's.
 */
public final class OrtBench {

    private OrtBench() {
    }

    public static void main(String[] args) throws IOException, OrtException {
        Map<String, String> options = NetworkBench.parse(args);
        Path model = Path.of(NetworkBench.require(options, "model"));
        Path inputFile = Path.of(NetworkBench.require(options, "input"));
        int threads = Integer.parseInt(options.getOrDefault("threads", "2"));
        int warmup = Integer.parseInt(options.getOrDefault("warmup", "1"));
        int runs = Integer.parseInt(options.getOrDefault("runs", "5"));

        // the same ceiling as the engine's process, measured in this one before the session
        double[] sgemmSeconds = NetworkBench.sgemmSeconds(threads);

        float[] pixels;
        long[] shape;
        try (Tensor images = Npy.read(inputFile)) {
            pixels = images.toFloatArray();
            shape = images.shape();
        }

        OrtEnvironment environment = OrtEnvironment.getEnvironment();
        try (OrtSession.SessionOptions sessionOptions = new OrtSession.SessionOptions()) {
            // LIMITATION: ONNX Runtime's default spinning workers are kept, as a user gets them;
            // on a loaded machine they lose time slices, which the table's load column shows.
            sessionOptions.setIntraOpNumThreads(threads);
            sessionOptions.setInterOpNumThreads(1);
            sessionOptions.setExecutionMode(OrtSession.SessionOptions.ExecutionMode.SEQUENTIAL);
            sessionOptions.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
            try (OrtSession session = environment.createSession(model.toString(), sessionOptions);
                    OnnxTensor input = input(environment, pixels, shape)) {
                String inputName = session.getInputNames().iterator().next();
                Map<String, OnnxTensor> feed = Map.of(inputName, input);

                float[] output;
                long[] outputShape;
                try (OrtSession.Result result = session.run(feed)) {
                    OnnxTensor features = (OnnxTensor) result.get(0);
                    outputShape = features.getInfo().getShape();
                    FloatBuffer buffer = features.getFloatBuffer();
                    output = new float[buffer.remaining()];
                    buffer.get(output);
                }
                if (options.containsKey("output")) {
                    try (Tensor features = Tensor.of(output, outputShape)) {
                        Npy.write(Path.of(options.get("output")), features);
                    }
                }

                for (int i = 0; i < warmup; i++) {
                    session.run(feed).close();
                }
                double[] seconds = new double[runs];
                ProcessUsage usageBefore = ProcessUsage.now();
                for (int i = 0; i < runs; i++) {
                    long start = System.nanoTime();
                    session.run(feed).close();
                    seconds[i] = (System.nanoTime() - start) / 1e9;
                }
                ProcessUsage usageAfter = ProcessUsage.now();

                Map<String, Object> result = new LinkedHashMap<>();
                result.put("peer", "onnxruntime-java " + environment.getVersion());
                result.put("shape", Arrays.stream(shape).boxed().map(Object.class::cast)
                        .toList());
                result.put("threads", (long) threads);
                List<Object> times = new ArrayList<>();
                for (double s : seconds) {
                    times.add(s);
                }
                result.put("seconds", times);
                result.put("median_s", NetworkBench.median(seconds));
                result.put("sgemm_gflops_per_s", NetworkBench.SGEMM_FLOPS
                        / NetworkBench.median(sgemmSeconds) / 1e9);
                result.put("peak_rss_mib", NetworkBench.peakRssKib() / 1024.0);
                result.put("load_average", NetworkBench.loadAverage());
                if (usageAfter != null) {
                    result.putAll(usageAfter.since(usageBefore, runs));
                }
                System.out.printf(Locale.ROOT, "%s %s: median %.3f s over %d runs, peak RSS %.0f"
                        + " MiB, load %s%s%n", result.get("peer"), model.getFileName(),
                        result.get("median_s"), runs, result.get("peak_rss_mib"),
                        result.get("load_average"), ProcessUsage.describe(result, threads));
                if (options.containsKey("json")) {
                    Files.writeString(Path.of(options.get("json")), Json.write(result) + "\n");
                }
            }
            if (options.containsKey("profile")) {
                profile(environment, sessionOptions, model, input(environment, pixels, shape),
                        "shapes".equals(options.get("profile")));
            }
        }
    }

    /** Two forwards in a profiled session; the second one's node times, tallied and printed. */
    private static void profile(OrtEnvironment environment,
            OrtSession.SessionOptions sessionOptions, Path model, OnnxTensor input,
            boolean byShape) throws IOException, OrtException {
        Path directory = Files.createTempDirectory("lumbar-ort-profile");
        sessionOptions.enableProfiling(directory.resolve("forward").toString());
        String written;
        try (input; OrtSession session = environment.createSession(model.toString(),
                sessionOptions)) {
            Map<String, OnnxTensor> feed = Map.of(session.getInputNames().iterator().next(),
                    input);
            session.run(feed).close();
            session.run(feed).close();
            written = session.endProfiling();
        }
        try {
            CountingBackend.print("ONNX Runtime nodes", OrtProfile.lastRun(Path.of(written),
                    byShape));
        } finally {
            Files.deleteIfExists(Path.of(written));
            Files.deleteIfExists(directory);
        }
    }

    private static OnnxTensor input(OrtEnvironment environment, float[] pixels, long[] shape)
            throws OrtException {
        return OnnxTensor.createTensor(environment, FloatBuffer.wrap(pixels), shape);
    }
}
