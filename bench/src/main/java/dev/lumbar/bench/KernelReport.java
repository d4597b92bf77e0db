package dev.lumbar.bench;

import java.util.Collection;
import java.util.Locale;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.RunnerException;
import org.openjdk.jmh.runner.options.Options;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.TimeValue;

/**
 * Runs the kernel benchmarks in one short configuration and prints a Markdown table: mean and
 * best time per call over the measured iterations, GFLOP/s or GB/s of the best iteration, and
 * its share of the ceiling's best iteration in the same run (OpenBLAS sgemm 2048³ for
 * arithmetic, the triad for memory). The best iteration is the one least disturbed by other
 * work on a shared machine.
 *
 * <p>Arguments: {@code [threads] [include regex]}; defaults 2 and every kernel benchmark.
 */
public final class KernelReport {

    private KernelReport() {
    }

    public static void main(String[] args) throws RunnerException {
        String threads = args.length > 0 ? args[0] : "2";
        String include = args.length > 1 ? args[1]
                : "dev.lumbar.bench.(Ceiling|Gemm|ChannelMlp|SmallPlaneConv|Conv|Pointwise"
                        + "|SqueezeExcite|InvertedResidual|Lstm|AttentionPool|RoiSampler)Benchmark";
        Options options = new OptionsBuilder()
                .include(include)
                .param("threads", threads)
                .forks(1)
                .warmupIterations(3)
                .warmupTime(TimeValue.seconds(1))
                .measurementIterations(5)
                .measurementTime(TimeValue.seconds(1))
                .jvmArgsAppend("--add-modules", "jdk.incubator.vector",
                        "--enable-native-access=ALL-UNNAMED", "-XX:-UseProfiledLoopPredicate",
                        "-Xmx4g")
                .build();
        Collection<RunResult> results = new Runner(options).run();

        double flopCeiling = Double.NaN;
        double byteCeiling = Double.NaN;
        for (RunResult r : results) {
            String name = method(r);
            double seconds = best(r) / 1e3;
            if (name.equals("openblasSgemm2048")) {
                flopCeiling = CeilingBenchmark.SGEMM_FLOPS / seconds;
            } else if (name.equals("streamTriad")) {
                byteCeiling = CeilingBenchmark.TRIAD_BYTES / seconds;
            }
        }
        System.out.println();
        System.out.println("| benchmark | params | mean ms | best ms | best rate | of ceiling |");
        System.out.println("|---|---|---:|---:|---:|---:|");
        for (RunResult r : results) {
            String name = method(r);
            double ms = r.getPrimaryResult().getScore();
            double seconds = best(r) / 1e3;
            String params = String.join(" ", r.getParams().getParamsKeys().stream()
                    .map(k -> k + "=" + r.getParams().getParam(k)).toList());
            double flops = switch (name) {
                case "openblasSgemm2048" -> CeilingBenchmark.SGEMM_FLOPS;
                case "fmaPeak" -> CeilingBenchmark.fmaFlops(intParam(r, "threads"));
                case "pointwiseConvolution" -> GemmBenchmark.flops(r.getParams().getParam("shape"));
                case "channelMlp", "normalizedChannelMlp", "layerNormThenChannelMlp" ->
                        ChannelMlpBenchmark.flops(r.getParams().getParam("shape"));
                case "invertedResidual" -> InvertedResidualBenchmark.flops(r.getParams()
                        .getParam("shape"));
                case "pointwiseSmallPlanes" -> SmallPlaneConvBenchmark.flops(r.getParams()
                        .getParam("shape"));
                case "depthwise7x7" -> ConvBenchmark.DEPTHWISE_FLOPS;
                case "dense3x3" -> ConvBenchmark.DENSE_FLOPS;
                case "spatialConvolution" -> SpatialConvBenchmark.memoryBound(r.getParams()
                        .getParam("shape")) ? Double.NaN
                        : SpatialConvBenchmark.flops(r.getParams().getParam("shape"));
                case "recurrence" -> LstmBenchmark.flops(intParam(r, "steps"));
                default -> Double.NaN;
            };
            double bytes = switch (name) {
                case "streamTriad" -> CeilingBenchmark.TRIAD_BYTES;
                case "layerNormChannels", "gelu", "silu" -> PointwiseBenchmark.BYTES;
                case "squeezeExcite" -> SqueezeExciteBenchmark.bytes(r.getParams()
                        .getParam("shape"));
                case "attentionPool" -> AttentionPoolBenchmark.bytes(intParam(r, "slices"));
                case "spatialConvolution" -> SpatialConvBenchmark.bytes(r.getParams()
                        .getParam("shape"));
                case "allBags" -> perPass(r, "bytes");
                default -> Double.NaN;
            };
            String rate;
            String share;
            if (!Double.isNaN(flops)) {
                rate = String.format(Locale.ROOT, "%.1f GFLOP/s", flops / seconds / 1e9);
                share = share(flops / seconds, flopCeiling, "openblasSgemm2048");
            } else {
                rate = String.format(Locale.ROOT, "%.1f GB/s", bytes / seconds / 1e9);
                share = share(bytes / seconds, byteCeiling, "streamTriad");
            }
            // the LSTM has no single-step entry point: the whole recurrence divided by its steps
            if (name.equals("recurrence")) {
                rate += String.format(Locale.ROOT, ", %.3f ms/step",
                        best(r) / intParam(r, "steps"));
            } else if (name.equals("allBags")) {
                rate += String.format(Locale.ROOT, ", %.0f bags/s", perPass(r, "bags") / seconds);
            }
            System.out.printf(Locale.ROOT, "| %s | %s | %.3f | %.3f | %s | %s |%n", name, params,
                    ms, best(r), rate, share);
        }
    }

    /** A rate's share of its ceiling, or which ceiling the selection left out. */
    private static String share(double rate, double ceiling, String ceilingBenchmark) {
        return Double.isNaN(ceiling) ? "not run: " + ceilingBenchmark
                : String.format(Locale.ROOT, "%.0f%%", 100 * rate / ceiling);
    }

    private static int intParam(RunResult r, String key) {
        return Integer.parseInt(r.getParams().getParam(key));
    }

    /** An {@code @AuxCounters} total divided by the passes counted beside it. */
    private static double perPass(RunResult r, String counter) {
        var secondary = r.getSecondaryResults();
        if (!secondary.containsKey(counter) || !secondary.containsKey("passes")) {
            return Double.NaN;
        }
        return secondary.get(counter).getScore() / secondary.get("passes").getScore();
    }

    /** The fastest measured iteration, in milliseconds. */
    private static double best(RunResult r) {
        return r.getPrimaryResult().getStatistics().getMin();
    }

    private static String method(RunResult r) {
        String label = r.getParams().getBenchmark();
        return label.substring(label.lastIndexOf('.') + 1);
    }
}
