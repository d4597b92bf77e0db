package dev.lumbar.engine.io;

import dev.lumbar.engine.Limits;
import dev.lumbar.engine.tensor.DType;
import dev.lumbar.engine.tensor.Tensor;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * NumPy {@code .npy} files of float32 arrays, for fixtures and debug dumps.
 *
 * <p>The format: the magic {@code \x93NUMPY}, a major and minor version byte, the header
 * length (2 bytes little-endian in version 1.0, 4 bytes in 2.0 and 3.0), a header that is a
 * Python dict literal with exactly {@code descr}, {@code fortran_order} and {@code shape},
 * padded with spaces and a newline, then the elements in C order and nothing after them.
 * Versions 1.0 to 3.0 are read (3.0 only allows a UTF-8 header). Elements {@code <f4} load as
 * they are; {@code <f8} elements are rounded to float32, and a finite value beyond float32's
 * range is an error rather than a silent infinity. Files are written as version 1.0
 * {@code <f4}.
 */
public final class Npy {

    /**
     * Largest header accepted by default ({@link Limits#npyHeaderBytes()} is the one in force);
     * numpy itself refuses headers over 10 000 bytes by default.
     */
    public static final int MAX_HEADER_BYTES = Limits.DEFAULTS.npyHeaderBytes();

    private static final byte[] MAGIC = {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y'};
    private static final ValueLayout.OfFloat FLOAT =
            ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final int CHUNK_BYTES = 1 << 20;

    private Npy() {
    }

    /** Reads an {@code <f4} or {@code <f8} array, C order, as an owned F32 tensor. */
    public static Tensor read(Path file) throws IOException {
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
            long fileSize = channel.size();

            // magic, version and header length
            ByteBuffer preamble = ByteBuffer.allocate(12).order(ByteOrder.LITTLE_ENDIAN);
            if (fileSize < 10) {
                throw new NpyException(file, "file is " + fileSize + " bytes, too short for an "
                        + ".npy preamble");
            }
            preamble.limit(10);
            readFully(channel, preamble, 0, file);
            for (int i = 0; i < MAGIC.length; i++) {
                if (preamble.get(i) != MAGIC[i]) {
                    throw new NpyException(file, "not an .npy file (bad magic bytes)");
                }
            }
            int major = preamble.get(6);
            int minor = preamble.get(7);
            if (major < 1 || major > 3 || minor != 0) {
                throw new NpyException(file, "unsupported .npy format version " + major + "."
                        + minor + "; versions 1.0, 2.0 and 3.0 are read");
            }
            long headerLength;
            int headerStart;
            if (major == 1) {
                headerLength = Short.toUnsignedInt(preamble.getShort(8));
                headerStart = 10;
            } else {
                preamble.limit(12);
                if (fileSize < 12) {
                    throw new NpyException(file, "file ends inside the header length");
                }
                readFully(channel, preamble, 10, file);
                headerLength = Integer.toUnsignedLong(preamble.getInt(8));
                headerStart = 12;
            }
            int maxHeader = Limits.current().npyHeaderBytes();
            if (headerLength > maxHeader) {
                throw new NpyException(file, Limits.exceeded("header length in bytes",
                        headerLength, maxHeader, "npyHeaderBytes"));
            }
            if (headerStart + headerLength > fileSize) {
                throw new NpyException(file, "header length " + headerLength + " bytes is past"
                        + " the end of the file (" + fileSize + ")");
            }

            // header dict
            ByteBuffer headerBytes = ByteBuffer.allocate((int) headerLength);
            readFully(channel, headerBytes, headerStart, file);
            String header = new String(headerBytes.array(),
                    major == 3 ? StandardCharsets.UTF_8 : StandardCharsets.ISO_8859_1);
            Map<String, Object> fields = new HeaderParser(file, header).dict();
            DType dtype = dtypeOf(file, fields.get("descr"));
            if (!Boolean.FALSE.equals(fields.get("fortran_order"))) {
                // LIMITATION: Fortran-ordered arrays are refused; save with C order instead.
                throw new NpyException(file, "array is in Fortran order; only C order is read");
            }
            if (!(fields.get("shape") instanceof long[] shape)) {
                throw new NpyException(file, "'shape' is not a tuple of integers");
            }

            // element count against the bytes that are actually there
            long dataStart = headerStart + headerLength;
            long bytes;
            try {
                bytes = Math.multiplyExact(Tensor.numel(shape), (long) dtype.byteSize());
            } catch (ArithmeticException e) {
                throw new NpyException(file, "shape " + Arrays.toString(shape)
                        + " is too large");
            }
            if (fileSize - dataStart != bytes) {
                throw new NpyException(file, "shape " + Arrays.toString(shape) + " of "
                        + fields.get("descr") + " needs " + bytes + " data bytes but the file "
                        + "holds " + (fileSize - dataStart));
            }

            Tensor out = Tensor.allocate(DType.F32, shape);
            try {
                if (dtype == DType.F32) {
                    readFloats(channel, out.segment(), dataStart, file);
                } else {
                    readDoublesNarrowing(channel, out.segment(), dataStart, bytes, file);
                }
                return out;
            } catch (IOException | RuntimeException e) {
                out.close();
                throw e;
            }
        }
    }

    /** Writes an F32 CPU tensor as a version 1.0 {@code <f4} C-order file, atomically. */
    public static void write(Path file, Tensor tensor) throws IOException {
        if (tensor.dtype() != DType.F32 || !tensor.device().isCpu()) {
            throw new NpyException(file, "only F32 tensors on the CPU are written, got "
                    + tensor);
        }
        // Python's tuple syntax: (), (5,), (2, 3)
        StringBuilder shape = new StringBuilder("(");
        for (int i = 0; i < tensor.rank(); i++) {
            shape.append(i == 0 ? "" : ", ").append(tensor.dim(i));
        }
        if (tensor.rank() == 1) {
            shape.append(',');
        }
        shape.append(')');
        String dict = "{'descr': '<f4', 'fortran_order': False, 'shape': " + shape + ", }";
        // Preamble + header is padded to a multiple of 64 so the data is aligned.
        int unpadded = 10 + dict.length() + 1;
        int total = (unpadded + 63) / 64 * 64;
        String header = dict + " ".repeat(total - unpadded) + "\n";
        if (header.length() > 0xffff) {
            throw new NpyException(file, "header of " + header.length() + " bytes does not fit "
                    + "format version 1.0");
        }
        ByteBuffer preamble = ByteBuffer.allocate(10 + header.length())
                .order(ByteOrder.LITTLE_ENDIAN);
        preamble.put(MAGIC).put((byte) 1).put((byte) 0).putShort((short) header.length());
        preamble.put(header.getBytes(StandardCharsets.ISO_8859_1)).flip();

        MemorySegment data = tensor.segment();
        AtomicFile.write(file, channel -> {
            AtomicFile.writeFully(channel, preamble);
            for (long at = 0; at < data.byteSize(); at += CHUNK_BYTES) {
                long length = Math.min(CHUNK_BYTES, data.byteSize() - at);
                AtomicFile.writeFully(channel, data.asSlice(at, length).asByteBuffer());
            }
        });
    }

    private static DType dtypeOf(Path file, Object descr) throws NpyException {
        if ("<f4".equals(descr)) {
            return DType.F32;
        }
        if ("<f8".equals(descr)) {
            return DType.F64;
        }
        // LIMITATION: other dtypes, big-endian included, are refused; convert in numpy with
        // array.astype('<f4') first.
        throw new NpyException(file, "dtype " + (descr instanceof String s ? "'" + s + "'"
                : "of unexpected form") + " is not read; only little-endian float32 ('<f4') "
                + "and float64 ('<f8')");
    }

    private static void readFloats(FileChannel channel, MemorySegment target, long position,
            Path file) throws IOException {
        for (long at = 0; at < target.byteSize(); at += CHUNK_BYTES) {
            long length = Math.min(CHUNK_BYTES, target.byteSize() - at);
            readFully(channel, target.asSlice(at, length).asByteBuffer(), position + at, file);
        }
    }

    private static void readDoublesNarrowing(FileChannel channel, MemorySegment target,
            long position, long bytes, Path file) throws IOException {
        ByteBuffer chunk = ByteBuffer.allocate(CHUNK_BYTES).order(ByteOrder.LITTLE_ENDIAN);
        long index = 0;
        for (long at = 0; at < bytes; at += CHUNK_BYTES) {
            chunk.clear().limit((int) Math.min(CHUNK_BYTES, bytes - at));
            readFully(channel, chunk, position + at, file);
            chunk.flip();
            while (chunk.remaining() >= 8) {
                double value = chunk.getDouble();
                float narrowed = (float) value;
                if (Float.isInfinite(narrowed) && Double.isFinite(value)) {
                    throw new NpyException(file, "element " + index + " (" + value
                            + ") is beyond the range of float32");
                }
                target.setAtIndex(FLOAT, index++, narrowed);
            }
        }
    }

    private static void readFully(FileChannel channel, ByteBuffer buffer, long position,
            Path file) throws IOException {
        long at = position;
        while (buffer.hasRemaining()) {
            int read = channel.read(buffer, at);
            if (read < 0) {
                throw new NpyException(file, "file ended early");
            }
            at += read;
        }
    }

    /**
     * The header's Python dict literal: string keys; values a string, {@code True}/{@code False}
     * or a tuple of non-negative integers (returned as {@code long[]}). Nothing else is valid.
     */
    private static final class HeaderParser {
        private final Path file;
        private final String text;
        private int pos;

        HeaderParser(Path file, String text) {
            this.file = file;
            this.text = text;
        }

        Map<String, Object> dict() throws NpyException {
            Map<String, Object> fields = new LinkedHashMap<>();
            skipSpaces();
            expect('{');
            while (true) {
                skipSpaces();
                if (peek() == '}') {
                    pos++;
                    break;
                }
                String key = string();
                skipSpaces();
                expect(':');
                skipSpaces();
                if (fields.put(key, value()) != null) {
                    throw error("key '" + key + "' appears twice");
                }
                skipSpaces();
                if (peek() == ',') {
                    pos++;
                } else if (peek() != '}') {
                    throw error("expected ',' or '}'");
                }
            }
            if (!text.substring(pos).isBlank() || !text.endsWith("\n")) {
                throw error("unexpected text after the header dict");
            }
            if (!fields.keySet().equals(java.util.Set.of("descr", "fortran_order", "shape"))) {
                throw new NpyException(file, "header keys are " + fields.keySet()
                        + "; expected exactly descr, fortran_order and shape");
            }
            return fields;
        }

        private Object value() throws NpyException {
            char c = peek();
            if (c == '\'' || c == '"') {
                return string();
            }
            if (text.startsWith("True", pos)) {
                pos += 4;
                return Boolean.TRUE;
            }
            if (text.startsWith("False", pos)) {
                pos += 5;
                return Boolean.FALSE;
            }
            if (c == '(') {
                return tuple();
            }
            throw error("unexpected value");
        }

        private long[] tuple() throws NpyException {
            pos++;
            List<Long> dims = new ArrayList<>();
            while (true) {
                skipSpaces();
                if (peek() == ')') {
                    pos++;
                    break;
                }
                int start = pos;
                while (peek() >= '0' && peek() <= '9') {
                    pos++;
                }
                if (pos == start || pos - start > 18) {
                    throw error("expected a dimension");
                }
                dims.add(Long.parseLong(text.substring(start, pos)));
                skipSpaces();
                if (peek() == ',') {
                    pos++;
                } else if (peek() != ')') {
                    throw error("expected ',' or ')' in the shape");
                }
            }
            return dims.stream().mapToLong(Long::longValue).toArray();
        }

        private String string() throws NpyException {
            char quote = peek();
            if (quote != '\'' && quote != '"') {
                throw error("expected a quoted key");
            }
            int end = text.indexOf(quote, pos + 1);
            if (end < 0) {
                throw error("unterminated string");
            }
            String s = text.substring(pos + 1, end);
            pos = end + 1;
            return s;
        }

        private void skipSpaces() {
            while (pos < text.length() && (text.charAt(pos) == ' ' || text.charAt(pos) == '\t'
                    || text.charAt(pos) == '\n')) {
                pos++;
            }
        }

        private void expect(char c) throws NpyException {
            if (peek() != c) {
                throw error("expected '" + c + "'");
            }
            pos++;
        }

        private char peek() {
            return pos < text.length() ? text.charAt(pos) : '\0';
        }

        private NpyException error(String problem) {
            return new NpyException(file, "malformed header: " + problem + " at character "
                    + pos);
        }
    }
}
