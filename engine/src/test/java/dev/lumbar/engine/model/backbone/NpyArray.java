package dev.lumbar.engine.model.backbone;

import dev.lumbar.engine.tensor.Tensor;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A little-endian, C-ordered float32 or float64 {@code .npy} array (format 1.0), read whole for
 * golden tests: the values as doubles, so float64 references keep every bit.
 */
public record NpyArray(long[] shape, double[] values) {

    private static final Pattern DESCR = Pattern.compile("'descr':\\s*'([<|=]f[48])'");
    private static final Pattern SHAPE = Pattern.compile("'shape':\\s*\\(([^)]*)\\)");

    public static NpyArray read(Path file) throws IOException {
        ByteBuffer bytes = ByteBuffer.wrap(Files.readAllBytes(file)).order(ByteOrder.LITTLE_ENDIAN);
        if (bytes.get() != (byte) 0x93 || bytes.get() != 'N') {
            throw new IOException(file + ": not an npy file");
        }
        bytes.position(6);
        int major = bytes.get();
        bytes.get();
        int headerLength = major == 1 ? Short.toUnsignedInt(bytes.getShort()) : bytes.getInt();
        byte[] headerBytes = new byte[headerLength];
        bytes.get(headerBytes);
        String header = new String(headerBytes, StandardCharsets.ISO_8859_1);
        Matcher descr = DESCR.matcher(header);
        Matcher shapeMatch = SHAPE.matcher(header);
        if (!descr.find() || !shapeMatch.find() || header.contains("'fortran_order': True")) {
            throw new IOException(file + ": unsupported npy header " + header.trim());
        }
        long[] shape = Arrays.stream(shapeMatch.group(1).split(","))
                .map(String::trim).filter(s -> !s.isEmpty()).mapToLong(Long::parseLong).toArray();
        int count = Math.toIntExact(Tensor.numel(shape));
        double[] values = new double[count];
        boolean doubles = descr.group(1).endsWith("8");
        for (int i = 0; i < count; i++) {
            values[i] = doubles ? bytes.getDouble() : bytes.getFloat();
        }
        return new NpyArray(shape, values);
    }

    /** The values as a new F32 tensor. */
    public Tensor toTensor() {
        float[] floats = new float[values.length];
        for (int i = 0; i < floats.length; i++) {
            floats[i] = (float) values[i];
        }
        return Tensor.of(floats, shape);
    }

    /** ‖actual − this‖ / ‖this‖ over all elements. */
    public double relativeError(float[] actual) {
        if (actual.length != values.length) {
            throw new IllegalArgumentException("have " + actual.length + " values, reference has "
                    + values.length);
        }
        double diff = 0;
        double norm = 0;
        for (int i = 0; i < values.length; i++) {
            double d = actual[i] - values[i];
            diff += d * d;
            norm += values[i] * values[i];
        }
        return Math.sqrt(diff / norm);
    }
}
