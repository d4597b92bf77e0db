package dev.lumbar.engine.model.head;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import dev.lumbar.engine.io.Npy;
import dev.lumbar.engine.tensor.Tensor;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads the fixtures {@code weights/tools/make_head_fixtures.py} writes: a {@code cases.txt}
 * and per case a folder of {@code .npy} arrays. Expected values are float64 in the files and
 * arrive rounded to float32, far below the tolerance the tests allow.
 */
final class HeadFixtures {

    /** One line of cases.txt: name, head type, options. */
    record Case(String name, String type, Map<String, String> options) {

        int option(String key) {
            return Integer.parseInt(options.get(key));
        }

        @Override
        public String toString() {
            return name;
        }
    }

    /** A loaded array, widened to doubles, with its shape. */
    record Array(long[] shape, double[] values) {
    }

    private HeadFixtures() {
    }

    static Path root() {
        try {
            return Paths.get(HeadFixtures.class.getResource("/fixtures/heads/cases.txt").toURI())
                    .getParent();
        } catch (Exception e) {
            throw new IllegalStateException("head fixtures missing from the test classpath", e);
        }
    }

    static List<Case> cases(String type) {
        try {
            return Files.readAllLines(root().resolve("cases.txt")).stream()
                    .filter(line -> !line.isBlank())
                    .map(HeadFixtures::parseCase)
                    .filter(c -> c.type().equals(type))
                    .toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static Case parseCase(String line) {
        String[] parts = line.strip().split("\\s+");
        Map<String, String> options = new LinkedHashMap<>();
        for (int i = 2; i < parts.length; i++) {
            String[] kv = parts[i].split("=", 2);
            options.put(kv[0], kv[1]);
        }
        return new Case(parts[0], parts[1], options);
    }

    /** Every {@code .npy} in the case folder except inputs and expectations, as F32 tensors. */
    static Map<String, Tensor> weights(Case c) throws IOException {
        Map<String, Tensor> weights = new HashMap<>();
        try (var files = Files.list(root().resolve(c.name()))) {
            for (Path file : files.toList()) {
                String name = file.getFileName().toString().replaceFirst("\\.npy$", "");
                if (!name.equals("input") && !name.startsWith("expected_")) {
                    weights.put(name, tensor(read(file)));
                }
            }
        }
        return weights;
    }

    static Array array(Case c, String name) throws IOException {
        return read(root().resolve(c.name()).resolve(name + ".npy"));
    }

    static Tensor tensor(Array array) {
        float[] values = new float[array.values().length];
        for (int i = 0; i < values.length; i++) {
            values[i] = (float) array.values()[i];
        }
        return Tensor.of(values, array.shape());
    }

    static Array read(Path file) throws IOException {
        try (Tensor tensor = Npy.read(file)) {
            float[] values = tensor.toFloatArray();
            double[] widened = new double[values.length];
            for (int i = 0; i < values.length; i++) {
                widened[i] = values[i];
            }
            return new Array(tensor.shape(), widened);
        }
    }

    /** Asserts every element is within {@code tolerance} relative error (absolute near 0). */
    static void assertClose(String what, Array expected, float[] actual, double tolerance) {
        assertEquals(expected.values().length, actual.length, what + ": element count");
        double worst = 0;
        int worstAt = -1;
        for (int i = 0; i < actual.length; i++) {
            double want = expected.values()[i];
            double error = Math.abs(actual[i] - want) / Math.max(1.0, Math.abs(want));
            if (!(error <= worst)) {
                worst = error;
                worstAt = i;
            }
        }
        if (worst > tolerance) {
            fail(what + ": relative error " + worst + " at element " + worstAt + " (expected "
                    + expected.values()[worstAt] + ", got " + actual[worstAt] + ")");
        }
    }

    static float[] flatten(float[][] rows) {
        int width = rows.length == 0 ? 0 : rows[0].length;
        float[] flat = new float[rows.length * width];
        for (int r = 0; r < rows.length; r++) {
            System.arraycopy(rows[r], 0, flat, r * width, width);
        }
        return flat;
    }
}
