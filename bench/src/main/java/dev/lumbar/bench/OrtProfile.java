package dev.lumbar.bench;

import dev.lumbar.engine.io.Json;
import dev.lumbar.engine.tensor.Tensor;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * ONNX Runtime's own profile of one forward, tallied by kind of operation the way
 * {@link CountingBackend} tallies the engine's, so that the two tables can be read side by side
 * and show which layers one runtime does faster than the other.
 *
 * <p>ONNX Runtime writes one JSON event per node and run; only the node events of the last
 * {@code model_run} are kept, the earlier ones being warm-up. A convolution is classed by its
 * weight's shape (dense, depthwise, 1×1) and its stride by the ratio of input to output height,
 * since the profile does not hold the attributes; its FLOPs are 2 × output values × the
 * weight's fan-in, as the engine counts them, and a matrix product's 2 × output values × K.
 */
final class OrtProfile {

    private OrtProfile() {
    }

    /** The last run's node times, per kind (and per input shape where {@code byShape}). */
    static Map<String, CountingBackend.Tally> lastRun(Path profile, boolean byShape)
            throws IOException {
        List<?> events = (List<?>) Json.read(profile);
        double runStart = -1;
        double runEnd = -1;
        for (Object e : events) {
            Map<?, ?> event = (Map<?, ?>) e;
            if ("Session".equals(event.get("cat")) && "model_run".equals(event.get("name"))) {
                double ts = number(event.get("ts"));
                if (ts > runStart) {
                    runStart = ts;
                    runEnd = ts + number(event.get("dur"));
                }
            }
        }
        if (runStart < 0) {
            throw new IOException(profile + ": the profile holds no model_run event");
        }
        Map<String, CountingBackend.Tally> tallies = new LinkedHashMap<>();
        for (Object e : events) {
            Map<?, ?> event = (Map<?, ?>) e;
            String name = String.valueOf(event.get("name"));
            double ts = number(event.get("ts"));
            if (!"Node".equals(event.get("cat")) || !name.endsWith("_kernel_time")
                    || ts < runStart || ts > runEnd) {
                continue;
            }
            Map<?, ?> args = (Map<?, ?>) event.get("args");
            String op = String.valueOf(args.get("op_name"));
            List<long[]> inputs = shapes(args.get("input_type_shape"));
            List<long[]> outputs = shapes(args.get("output_type_shape"));
            String kind = op;
            double flops = 0;
            if (op.endsWith("Conv") && inputs.size() >= 2 && inputs.get(1).length == 4
                    && !outputs.isEmpty()) {
                kind = convKind(op, inputs.get(0), inputs.get(1), outputs.get(0), byShape);
                long[] w = inputs.get(1);
                flops = 2.0 * Tensor.numel(outputs.get(0)) * w[1] * w[2] * w[3];
            } else if ((op.endsWith("MatMul") || op.equals("Gemm")) && !inputs.isEmpty()
                    && !outputs.isEmpty()) {
                // a pre-packed weight is not listed among the inputs: K is the activation's
                // last dimension
                long[] a = inputs.get(0);
                flops = 2.0 * Tensor.numel(outputs.get(0)) * a[a.length - 1];
            }
            CountingBackend.Tally tally = tallies.computeIfAbsent(kind,
                    k -> new CountingBackend.Tally());
            tally.calls++;
            tally.nanos += Math.round(number(event.get("dur")) * 1e3);
            tally.flops += flops;
        }
        return tallies;
    }

    private static String convKind(String op, long[] x, long[] w, long[] y, boolean byShape) {
        long stride = y[2] == 0 ? 1 : Math.max(1, Math.round((double) x[2] / y[2]));
        boolean depthwise = w[1] == 1 && x[1] > 1 && w[0] % x[1] == 0;
        String kind = op + ": " + CountingBackend.convClass(depthwise, w[2], w[3], stride > 1);
        return !byShape ? kind : kind + " " + Arrays.toString(x) + " -> " + w[0];
    }

    /** {@code [{"float": [25, 3, 128, 128]}, ...]} as the list of dimension arrays. */
    private static List<long[]> shapes(Object typeShapes) {
        if (!(typeShapes instanceof List<?> list)) {
            return List.of();
        }
        return list.stream().map(item -> {
            Object dims = ((Map<?, ?>) item).values().iterator().next();
            return ((List<?>) dims).stream().mapToLong(d -> (long) number(d)).toArray();
        }).toList();
    }

    private static double number(Object value) {
        return value instanceof Number n ? n.doubleValue() : Double.parseDouble(
                String.valueOf(value));
    }
}
