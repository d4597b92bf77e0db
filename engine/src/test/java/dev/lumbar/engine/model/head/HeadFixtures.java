package dev.lumbar.engine.model.head;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import dev.lumbar.engine.tensor.Tensor;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads the fixtures {@code weights/tools/make_head_fixtures.py} writes: a {@code cases.txt}
 * and per case a folder of little-endian, C-order {@code .npy} arrays (float32, float64 or
 * int64).
 */
final class HeadFixtures {

    private static final Pattern DESCR = Pattern.compile("'descr':\\s*'([<|]?)(\\w+)'");
    private static final Pattern SHAPE = Pattern.compile("'shape':\\s*\\(([^)]*)\\)");

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

    /** A loaded array as doubles with its shape. */
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
        byte[] bytes;
        try (InputStream in = Files.newInputStream(file)) {
            bytes = in.readAllBytes();
        }
        ByteBuffer buffer = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        int major = bytes[6];
        int headerLength = major == 1 ? buffer.getShort(8) & 0xffff : buffer.getInt(8);
        int dataStart = (major == 1 ? 10 : 12) + headerLength;
        String header = new String(bytes, major == 1 ? 10 : 12, headerLength,
                StandardCharsets.ISO_8859_1);
        if (header.contains("'fortran_order': True")) {
            fail(file + ": Fortran-order arrays are not used by the fixtures");
        }
        Matcher descr = DESCR.matcher(header);
        Matcher shapeText = SHAPE.matcher(header);
        if (!descr.find() || !shapeText.find()) {
            fail(file + ": unreadable npy header " + header);
        }
        long[] shape = Arrays.stream(shapeText.group(1).split(","))
                .map(String::strip).filter(s -> !s.isEmpty()).mapToLong(Long::parseLong)
                .toArray();
        int count = Math.toIntExact(Tensor.numel(shape));
        double[] values = new double[count];
        buffer.position(dataStart);
        switch (descr.group(2)) {
            case "f4" -> {
                for (int i = 0; i < count; i++) {
                    values[i] = buffer.getFloat();
                }
            }
            case "f8" -> {
                for (int i = 0; i < count; i++) {
                    values[i] = buffer.getDouble();
                }
            }
            case "i8" -> {
                for (int i = 0; i < count; i++) {
                    values[i] = buffer.getLong();
                }
            }
            default -> fail(file + ": unexpected dtype " + descr.group(2));
        }
        return new Array(shape, values);
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
